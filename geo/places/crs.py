"""Coordinate reference systems of China: WGS-84, GCJ-02, BD-09 and metric CRSs.

Chinese ledgers and map apps write coordinates in GCJ-02 (Amap/Gaode,
Tencent) or BD-09 (Baidu); GPS and OpenStreetMap use WGS-84.  The offset
between them is 100-700 m, the size of a station's whole service area, so
everything is stored in WGS-84 and converted on the way in and out.

Conversions use the published formulas as implemented by the maintained
library ``prcoords`` (CC0/GPLv3, the same formulas as ``eviltransform``).  The
inverse conversions (GCJ-02 -> WGS-84, BD-09 -> WGS-84) use prcoords' exact
iterative inverses (``gcj_wgs_bored``, ``bd_wgs_bored``), accurate to well
under a millimetre, not the metre-level one-step approximations.

**Outside China** GCJ-02 is not applied: a point outside prcoords' sanity box
(``prcoords.sanity_in_china_p``: lat 0.8293..55.8271, lon 72.004..137.8347,
tested on the WGS-84 point going out and on the GCJ-02 point coming in)
keeps its coordinates through the GCJ-02 step, exactly as prcoords does.  The
BD-09 step (GCJ-02 <-> BD-09) is a plain formula that prcoords applies
everywhere, and so do we.  Every point of ``geo.places.CHINA_BBOX`` lies at
least 0.8 degrees inside prcoords' box, far more than the < 0.01 degree
shift, so round trips inside the box are exact to the iteration tolerance.

All functions take and return ``lon, lat`` in that order (prcoords itself
uses ``lat, lon``; the swap happens only in this module).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import prcoords
import pyproj

from geo.errors import CRSMismatch, InvalidInput, InvalidLocation
from geo.places.vocabulary import CHINA_BBOX, SOURCE_CRSES

__all__ = [
    "from_wgs84",
    "from_wgs84_arrays",
    "local_metric_crs",
    "require_same_crs",
    "to_wgs84",
    "to_wgs84_arrays",
    "validate_lonlat",
]

WGS84 = "wgs84"
GCJ02 = "gcj02"
BD09 = "bd09"

# prcoords' constants, re-read from the library so the vectorized code below
# cannot drift from the scalar one.
_GCJ_A: float = float(prcoords.GCJ_A)
_GCJ_EE: float = float(prcoords.GCJ_EE)
_PRC_EPS: float = float(prcoords.PRC_EPS)
_BD_DLAT: float = float(prcoords.BD_DLAT)
_BD_DLON: float = float(prcoords.BD_DLON)
_MAX_ITER = 10  # prcoords' _bored() gives up after 10 fixed-point steps
# Arrays are converted in chunks of this many points so the formulas'
# temporaries stay in the CPU cache (65,536 points: 7.5 s for 10 million
# GCJ-02 -> WGS-84 conversions against 13 s unchunked) and memory stays bounded.
_CHUNK = 1 << 16


def _check_crs(crs: str) -> str:
    """Return ``crs`` as a plain string or raise InvalidInput naming the choices."""
    value = str(crs).strip().lower() if crs is not None else ""
    if value not in SOURCE_CRSES:
        raise InvalidInput(
            f"crs {crs!r} is not supported; expected one of {', '.join(SOURCE_CRSES)}",
            field="crs",
        )
    return value


# --------------------------------------------------------------------------
# Scalar conversions: prcoords itself.
# --------------------------------------------------------------------------


def _in_china(lat: float, lon: float) -> bool:
    return bool(prcoords.sanity_in_china_p(prcoords.Coords(lat, lon)))


def to_wgs84(lon: float, lat: float, *, crs: str) -> tuple[float, float]:
    """Convert one point from ``crs`` to WGS-84.

    Parameters
    ----------
    lon, lat : float
        Longitude and latitude in degrees, in the system named by ``crs``.
    crs : {"wgs84", "gcj02", "bd09"}
        The system the point is written in (``geo.places.SOURCE_CRSES``).

    Returns
    -------
    tuple of float
        ``(lon, lat)`` in WGS-84 (EPSG:4326) degrees.  Points outside China
        are not GCJ-02-shifted (see the module docstring); NaN stays NaN.

    Raises
    ------
    geo.errors.InvalidInput
        ``crs`` is not one of the supported systems.
    """
    system = _check_crs(crs)
    lon, lat = float(lon), float(lat)
    if system == WGS84:
        return lon, lat
    if system == GCJ02:
        if not _in_china(lat, lon):
            return lon, lat
        out = prcoords.gcj_wgs_bored((lat, lon))
        return float(out.lon), float(out.lat)
    # BD-09: prcoords decides "in China" on the GCJ-02 point bd_gcj(bd).
    gcj = prcoords.bd_gcj((lat, lon))
    if _in_china(gcj.lat, gcj.lon):
        out = prcoords.bd_wgs_bored((lat, lon))
    else:
        out = prcoords.bd_gcj_bored((lat, lon))
    return float(out.lon), float(out.lat)


def from_wgs84(lon: float, lat: float, *, crs: str) -> tuple[float, float]:
    """Convert one WGS-84 point to ``crs`` (for navigation links into Amap or Baidu).

    Parameters
    ----------
    lon, lat : float
        WGS-84 (EPSG:4326) longitude and latitude in degrees.
    crs : {"wgs84", "gcj02", "bd09"}
        The target system.

    Returns
    -------
    tuple of float
        ``(lon, lat)`` in degrees in the target system.  Outside China the
        GCJ-02 step is the identity; BD-09's own offset is always applied.

    Raises
    ------
    geo.errors.InvalidInput
        ``crs`` is not one of the supported systems.
    """
    system = _check_crs(crs)
    lon, lat = float(lon), float(lat)
    if system == WGS84:
        return lon, lat
    # check_china=False because we checked: prcoords would warn, and the test
    # suite turns warnings into errors.
    inside = _in_china(lat, lon)
    gcj = prcoords.wgs_gcj((lat, lon), False) if inside else prcoords.Coords(lat, lon)
    if system == GCJ02:
        return float(gcj.lon), float(gcj.lat)
    bd = prcoords.gcj_bd(gcj)
    return float(bd.lon), float(bd.lat)


# --------------------------------------------------------------------------
# Array conversions.
#
# Why hand-written: prcoords has no array API, and a Python loop over it costs
# 9-36 microseconds a point (27 us for the exact GCJ-02 inverse), i.e. 1.5 to
# 6 minutes for the 10 million rider pings a city produces in a day.  This
# numpy version is 13-19x faster (tests/benchmarks/bench_crs.py prints it).
# The functions below are the same published formulas as prcoords' wgs_gcj,
# gcj_bd and bd_gcj and the same fixed-point iteration with the same stopping
# rule as prcoords._bored, written with numpy; tests/geo/test_crs.py checks
# them against prcoords to 1e-9 degrees on random points.
# --------------------------------------------------------------------------


def _np_in_china(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    # Same bounds as prcoords.sanity_in_china_p; NaN compares False -> outside.
    return (lat >= 0.8293) & (lat <= 55.8271) & (lon >= 72.004) & (lon <= 137.8347)


def _np_wgs_gcj(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """prcoords.wgs_gcj without the China check, on arrays; returns (lat, lon)."""
    x = lon - 105.0
    y = lat - 35.0
    pi = math.pi
    sx6 = np.sin(x * 6 * pi)
    sx2 = np.sin(x * 2 * pi)
    sqrt_abs_x = np.sqrt(np.abs(x))
    d_lat_m = (
        -100
        + 2 * x
        + 3 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * sqrt_abs_x
        + (
            2 * sx6
            + 2 * sx2
            + 2 * np.sin(y * pi)
            + 4 * np.sin(y / 3 * pi)
            + 16 * np.sin(y / 12 * pi)
            + 32 * np.sin(y / 30 * pi)
        )
        * 20
        / 3
    )
    d_lon_m = (
        300
        + x
        + 2 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * sqrt_abs_x
        + (
            2 * sx6
            + 2 * sx2
            + 2 * np.sin(x * pi)
            + 4 * np.sin(x / 3 * pi)
            + 15 * np.sin(x / 12 * pi)
            + 30 * np.sin(x / 30 * pi)
        )
        * 20
        / 3
    )
    rad_lat = np.radians(lat)
    magic = 1 - _GCJ_EE * np.power(np.sin(rad_lat), 2)
    lat_deg_arclen = np.radians((_GCJ_A * (1 - _GCJ_EE)) / np.power(magic, 1.5))
    lon_deg_arclen = np.radians(_GCJ_A * np.cos(rad_lat) / np.sqrt(magic))
    return lat + d_lat_m / lat_deg_arclen, lon + d_lon_m / lon_deg_arclen


def _np_gcj_bd(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """prcoords.gcj_bd on arrays; returns (lat, lon)."""
    r = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(np.radians(lat) * 3000)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(np.radians(lon) * 3000)
    return r * np.sin(theta) + _BD_DLAT, r * np.cos(theta) + _BD_DLON


def _np_bd_gcj(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """prcoords.bd_gcj (one-step inverse) on arrays; returns (lat, lon)."""
    x = lon - _BD_DLON
    y = lat - _BD_DLAT
    r = np.sqrt(x * x + y * y) - 0.00002 * np.sin(np.radians(y) * 3000)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(np.radians(x) * 3000)
    return r * np.sin(theta), r * np.cos(theta)


def _np_wgs_bd(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _np_gcj_bd(*_np_wgs_gcj(lat, lon))


def _np_bored(
    fwd: Any,
    bad_lat: np.ndarray,
    bad_lon: np.ndarray,
    guess_lat: np.ndarray,
    guess_lon: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """prcoords._bored's fixed-point inverse of ``fwd``, per element.

    Each element stops on its own when its last correction was <= PRC_EPS
    (hypot in degrees) or after 10 steps, exactly as the scalar loop does, so
    the result equals prcoords' to floating-point noise.
    """
    lat = guess_lat.copy()
    lon = guess_lon.copy()
    active = np.arange(lat.size)
    for _ in range(_MAX_ITER):
        if active.size == 0:
            break
        f_lat, f_lon = fwd(lat[active], lon[active])
        d_lat = f_lat - bad_lat[active]
        d_lon = f_lon - bad_lon[active]
        lat[active] -= d_lat
        lon[active] -= d_lon
        active = active[np.hypot(d_lat, d_lon) > _PRC_EPS]
    return lat, lon


def _as_float_arrays(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    if lon_a.shape != lat_a.shape:
        raise InvalidInput(
            f"lon and lat must have the same shape, got {lon_a.shape} and {lat_a.shape}",
            field="lon",
        )
    return lon_a.ravel(), lat_a.ravel(), lon_a.shape


def to_wgs84_arrays(
    lon: np.ndarray | Sequence[float], lat: np.ndarray | Sequence[float], *, crs: str
) -> tuple[np.ndarray, np.ndarray]:
    """Convert many points from ``crs`` to WGS-84 at once (vectorized).

    Gives the same result as :func:`to_wgs84` point by point (to 1e-9
    degrees) at numpy speed, for millions of rider pings.

    Parameters
    ----------
    lon, lat : array_like of float
        Longitudes and latitudes in degrees in the system ``crs``; same shape.
    crs : {"wgs84", "gcj02", "bd09"}
        The system the points are written in.

    Returns
    -------
    tuple of numpy.ndarray
        New float64 arrays ``(lon, lat)`` in WGS-84 degrees, in the input's
        shape.  The inputs are not modified.  NaN stays NaN; points outside
        China are not GCJ-02-shifted.

    Raises
    ------
    geo.errors.InvalidInput
        Unknown ``crs`` or ``lon`` and ``lat`` of different shapes.
    """
    system = _check_crs(crs)
    lon_a, lat_a, shape = _as_float_arrays(lon, lat)
    out_lon = lon_a.copy()
    out_lat = lat_a.copy()
    if system != WGS84:
        for start in range(0, lon_a.size, _CHUNK):
            part = slice(start, start + _CHUNK)
            out_lon[part], out_lat[part] = _to_wgs84_chunk(system, lon_a[part], lat_a[part])
    return out_lon.reshape(shape), out_lat.reshape(shape)


def _to_wgs84_chunk(system: str, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convert one chunk of GCJ-02 or BD-09 points to WGS-84; returns (lon, lat)."""
    out_lon = lon.copy()
    out_lat = lat.copy()
    if system == GCJ02:
        inside = np.flatnonzero(_np_in_china(lat, lon))
        g_lat, g_lon = lat[inside], lon[inside]
        # prcoords.gcj_wgs: the one-step rough inverse is the starting guess.
        s_lat, s_lon = _np_wgs_gcj(g_lat, g_lon)
        w_lat, w_lon = _np_bored(
            _np_wgs_gcj, g_lat, g_lon, g_lat - (s_lat - g_lat), g_lon - (s_lon - g_lon)
        )
        out_lat[inside], out_lon[inside] = w_lat, w_lon
        return out_lon, out_lat
    gcj_lat, gcj_lon = _np_bd_gcj(lat, lon)
    in_mask = _np_in_china(gcj_lat, gcj_lon)
    inside = np.flatnonzero(in_mask)
    outside = np.flatnonzero(~in_mask)
    # Inside: prcoords.bd_wgs_bored (start from bd_wgs = gcj_wgs(bd_gcj(bd))).
    c_lat, c_lon = gcj_lat[inside], gcj_lon[inside]
    s_lat, s_lon = _np_wgs_gcj(c_lat, c_lon)
    w_lat, w_lon = _np_bored(
        _np_wgs_bd, lat[inside], lon[inside], c_lat - (s_lat - c_lat), c_lon - (s_lon - c_lon)
    )
    out_lat[inside], out_lon[inside] = w_lat, w_lon
    # Outside: only the BD-09 step, prcoords.bd_gcj_bored.
    w_lat, w_lon = _np_bored(
        _np_gcj_bd, lat[outside], lon[outside], gcj_lat[outside], gcj_lon[outside]
    )
    out_lat[outside], out_lon[outside] = w_lat, w_lon
    return out_lon, out_lat


def from_wgs84_arrays(
    lon: np.ndarray | Sequence[float], lat: np.ndarray | Sequence[float], *, crs: str
) -> tuple[np.ndarray, np.ndarray]:
    """Convert many WGS-84 points to ``crs`` at once (vectorized).

    Parameters
    ----------
    lon, lat : array_like of float
        WGS-84 (EPSG:4326) longitudes and latitudes in degrees; same shape.
    crs : {"wgs84", "gcj02", "bd09"}
        The target system.

    Returns
    -------
    tuple of numpy.ndarray
        New float64 arrays ``(lon, lat)`` in degrees in the target system, in
        the input's shape; equal to :func:`from_wgs84` point by point.

    Raises
    ------
    geo.errors.InvalidInput
        Unknown ``crs`` or ``lon`` and ``lat`` of different shapes.
    """
    system = _check_crs(crs)
    lon_a, lat_a, shape = _as_float_arrays(lon, lat)
    out_lon = lon_a.copy()
    out_lat = lat_a.copy()
    if system == WGS84:
        return out_lon.reshape(shape), out_lat.reshape(shape)
    for start in range(0, lon_a.size, _CHUNK):
        part = slice(start, start + _CHUNK)
        c_lon, c_lat = lon_a[part], lat_a[part]
        g_lon, g_lat = c_lon.copy(), c_lat.copy()
        inside = np.flatnonzero(_np_in_china(c_lat, c_lon))
        g_lat[inside], g_lon[inside] = _np_wgs_gcj(c_lat[inside], c_lon[inside])
        if system == BD09:
            g_lat, g_lon = _np_gcj_bd(g_lat, g_lon)
        out_lon[part], out_lat[part] = g_lon, g_lat
    return out_lon.reshape(shape), out_lat.reshape(shape)


# --------------------------------------------------------------------------
# Metric CRS and CRS checks.
# --------------------------------------------------------------------------


@lru_cache(maxsize=128)
def _crs_from_epsg(code: int) -> pyproj.CRS:
    return pyproj.CRS.from_epsg(code)


def local_metric_crs(lon: float, lat: float) -> pyproj.CRS:
    """Return the WGS-84 UTM zone CRS for a point, for buffering and measuring.

    The zone is computed with the standard UTM formula (6-degree zones from
    180 degrees W; the equator splits north and south).  This is what
    ``pyproj.database.query_utm_crs_info`` returns for the point (the tests
    check it), without its ~100 ms database query per call.  The Norway and
    Svalbard zone exceptions do not apply anywhere near China and are ignored.

    Parameters
    ----------
    lon, lat : float
        WGS-84 (EPSG:4326) longitude and latitude in degrees.

    Returns
    -------
    pyproj.CRS
        ``EPSG:326zz`` (north) or ``EPSG:327zz`` (south); units are metres.

    Raises
    ------
    geo.errors.InvalidLocation
        The point is not a finite position on Earth.
    """
    lon, lat = validate_lonlat(lon, lat, bbox=None)
    zone = min(int(math.floor((lon + 180.0) / 6.0)) + 1, 60)
    return _crs_from_epsg((32600 if lat >= 0 else 32700) + zone)


def _crs_of(obj: Any) -> pyproj.CRS | None:
    crs = obj.crs if hasattr(obj, "crs") else obj
    if crs is None:
        return None
    return pyproj.CRS.from_user_input(crs)


def _crs_label(crs: pyproj.CRS | None) -> str:
    if crs is None:
        return "no CRS"
    authority = crs.to_authority(min_confidence=70)
    if authority:
        return f"{authority[0]}:{authority[1]} ({crs.name})"
    return crs.name


def require_same_crs(a: Any, b: Any) -> pyproj.CRS:
    """Check that two geo objects share one CRS before an overlay or distance.

    Parameters
    ----------
    a, b : GeoDataFrame, GeoSeries, pyproj.CRS or CRS-like
        Objects with a ``.crs`` attribute (geopandas), or CRSs themselves
        (anything ``pyproj.CRS.from_user_input`` accepts).

    Returns
    -------
    pyproj.CRS
        The shared CRS.

    Raises
    ------
    geo.errors.CRSMismatch
        Either has no CRS, or the CRSs differ; the message names both.
    """
    crs_a, crs_b = _crs_of(a), _crs_of(b)
    if crs_a is None or crs_b is None:
        raise CRSMismatch(
            f"both inputs need a CRS, got {_crs_label(crs_a)} and {_crs_label(crs_b)}; "
            "set one with .set_crs() (stored data is EPSG:4326)"
        )
    if crs_a != crs_b:
        raise CRSMismatch(
            f"CRS mismatch: {_crs_label(crs_a)} vs {_crs_label(crs_b)}; "
            "reproject one with .to_crs() first"
        )
    return crs_a


# --------------------------------------------------------------------------
# Validation of user-supplied coordinates.
# --------------------------------------------------------------------------


def _fmt(value: float) -> str:
    return f"{value:.10g}"


def _to_float(value: Any, name: str) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidLocation(
            f"{name} is missing; expected WGS-84 degrees "
            f"({'-180..180' if name == 'lon' else '-90..90'})",
            field=name,
        )
    if isinstance(value, bool):
        raise InvalidLocation(f"{name} must be a number, got {value!r}", field=name)
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        shown = str(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise InvalidLocation(f"{name} {shown!r} is not a number", field=name) from None
    if not math.isfinite(number):
        raise InvalidLocation(f"{name} must be a finite number, got {number}", field=name)
    return number


def _in_bbox(lon: float, lat: float, bbox: tuple[float, float, float, float]) -> bool:
    min_lon, min_lat, max_lon, max_lat = bbox
    return min_lon <= lon <= max_lon and min_lat <= lat <= max_lat


def validate_lonlat(
    lon: Any,
    lat: Any,
    *,
    bbox: tuple[float, float, float, float] | None = CHINA_BBOX,
) -> tuple[float, float]:
    """Check a user-supplied WGS-84 point and return it as floats.

    Parameters
    ----------
    lon, lat : float, int, str or None
        Longitude and latitude in WGS-84 degrees, possibly as request strings.
    bbox : tuple of float or None, optional
        ``(min_lon, min_lat, max_lon, max_lat)`` in WGS-84 degrees the point
        must lie in; defaults to ``geo.places.CHINA_BBOX``.  ``None`` only
        checks the ranges -180..180 and -90..90.

    Returns
    -------
    tuple of float
        ``(lon, lat)`` in WGS-84 degrees.

    Raises
    ------
    geo.errors.InvalidLocation
        Missing, not a number, NaN or infinite, out of range, apparently
        swapped, or outside ``bbox``.  ``err.field`` is ``"lon"`` or ``"lat"``
        and the English message names it, e.g.
        ``"lat 113.6 is outside -90..90; were lon and lat swapped?"``.
    """
    x = _to_float(lon, "lon")
    y = _to_float(lat, "lat")
    swapped_fits = bbox is not None and _in_bbox(y, x, bbox)
    hint = "; were lon and lat swapped?" if swapped_fits else ""
    if not -90.0 <= y <= 90.0:
        raise InvalidLocation(f"lat {_fmt(y)} is outside -90..90{hint}", field="lat")
    if not -180.0 <= x <= 180.0:
        raise InvalidLocation(f"lon {_fmt(x)} is outside -180..180{hint}", field="lon")
    if bbox is not None and not _in_bbox(x, y, bbox):
        min_lon, min_lat, max_lon, max_lat = bbox
        field = "lon" if not min_lon <= x <= max_lon else "lat"
        raise InvalidLocation(
            f"{field} {_fmt(x if field == 'lon' else y)} puts the point "
            f"(lon {_fmt(x)}, lat {_fmt(y)}) outside China "
            f"(lon {_fmt(min_lon)}..{_fmt(max_lon)}, lat {_fmt(min_lat)}..{_fmt(max_lat)})"
            f"{hint}",
            field=field,
        )
    return x, y
