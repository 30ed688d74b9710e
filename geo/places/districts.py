"""Locate points in official districts (county level) and look districts up by code."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import InvalidInput, InvalidLocation
from geo.places.boundaries import TABLE_COLUMNS, _default_path, read_boundary_file
from geo.places.district_names import _ADMIN_SUFFIXES, _clean, _forms, _label, _strip_suffix

#: Columns of :func:`assign_districts`, in order.
ASSIGN_COLUMNS: tuple[str, ...] = ("province", "city", "district", "adcode")


AreaLevel = Literal["province", "city", "district"]


CheckStatus = Literal["match", "zone", "mismatch", "missing", "outside"]


@dataclass(frozen=True)
class District:
    """One official county-level district.

    ``adcode`` is the 6-digit administrative code as a string;
    ``short_name`` is the common short form (``管城区`` for ``管城回族区``).
    """

    province: str
    city: str
    district: str
    adcode: str
    city_adcode: str
    province_adcode: str
    short_name: str


@dataclass(frozen=True)
class Area:
    """A province, city or district with its outline.

    ``geometry`` is a shapely (Multi)Polygon in WGS-84 (EPSG:4326) degrees.
    ``city`` is None for a province, ``district`` is None for a province or
    a city.
    """

    level: AreaLevel
    name: str
    adcode: str
    province: str
    city: str | None
    district: str | None
    geometry: BaseGeometry

    @property
    def label(self) -> str:
        """Full name from province down, without repeats (``青海省西宁市城中区``)."""
        return _label(self.province, self.city, self.district)


@dataclass(frozen=True)
class DistrictCheck:
    """The verdict on a district name written in a ledger.

    ``status`` is ``match`` (the written name is a form of the official one),
    ``zone`` (a development zone, not an official district), ``mismatch``
    (another or an unknown district), ``missing`` (nothing written) or
    ``outside`` (the location is in no district).  ``message`` is safe to
    show to users and names the official district whenever there is one.
    """

    status: CheckStatus
    written: str | None
    official: District | None
    message: str

    @property
    def ok(self) -> bool:
        """True when the written district agrees with the official one."""
        return self.status == "match"


# --------------------------------------------------------------------------
# The in-memory table, built once.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    frame: gpd.GeoDataFrame
    geoms: np.ndarray  # object array of prepared shapely geometries
    tree: shapely.STRtree
    districts: tuple[District, ...]
    by_adcode: dict[str, int]
    # Full and short names, longest first, by province / city adcode.
    province_forms: dict[str, tuple[str, ...]]
    city_forms: dict[str, tuple[str, ...]]
    by_city: dict[str, tuple[District, ...]]

    @cached_property
    def keys(self) -> dict[str, tuple[tuple[AreaLevel, str], ...]]:
        """Cleaned name or adcode -> the (level, adcode) pairs it can mean."""
        # Built on the first name lookup only: point assignment never needs it.
        keys: dict[str, set[tuple[AreaLevel, str]]] = {}

        def add(key: str, level: AreaLevel, adcode: str) -> None:
            if key:
                keys.setdefault(_clean(key), set()).add((level, adcode))

        for d in self.districts:
            for p in ("", *self.province_forms[d.province_adcode]):
                if p:
                    add(p, "province", d.province_adcode)
                for c in ("", *self.city_forms[d.city_adcode]):
                    if c and c == p:
                        continue  # 北京市北京市 is not a way anyone writes it
                    if c:
                        add(p + c, "city", d.city_adcode)
                    for name in self.district_forms(d):
                        add(p + c + name, "district", d.adcode)
            add(d.adcode, "district", d.adcode)
            add(d.city_adcode, "city", d.city_adcode)
            add(d.province_adcode, "province", d.province_adcode)
        return {k: tuple(sorted(v)) for k, v in keys.items()}

    @staticmethod
    def district_forms(d: District) -> tuple[str, ...]:
        """Full name, short name and stem (湟源县 -> 湟源) of a district."""
        stem = _strip_suffix(d.short_name, _ADMIN_SUFFIXES)
        # One-character stems (城 from 城区, 矿 from 矿区) would be noise.
        return _forms(d.district, d.short_name, stem if len(stem) >= 2 else "")

    @cached_property
    def labels(self) -> tuple[str, ...]:
        """Full names of every district, city and province, for suggestions."""
        labels: set[str] = set()
        for d in self.districts:
            labels.update(
                {
                    _label(d.province, d.city, d.district),
                    _label(d.city, None, d.district),
                    d.city,
                    d.province,
                }
            )
        return tuple(sorted(labels))


_lock = threading.Lock()


_cache: dict[str, _Table] = {}


def _table() -> _Table:
    path = str(_default_path())
    found = _cache.get(path)
    if found is not None:
        return found
    # Two requests arriving together on a fresh worker would otherwise both
    # decode the file (~0.5 s each); the lock makes the second one wait.
    with _lock:
        found = _cache.get(path)
        if found is None:
            found = _build_table(read_boundary_file(path))
            _cache.clear()
            _area.cache_clear()
            _cache[path] = found
    return found


def _build_table(frame: gpd.GeoDataFrame) -> _Table:
    geoms = np.asarray(frame.geometry.values, dtype=object)
    # Prepared geometries make each point-in-polygon test logarithmic
    # instead of linear in the number of vertices.
    shapely.prepare(geoms)
    districts: list[District] = []
    province_forms: dict[str, tuple[str, ...]] = {}
    city_forms: dict[str, tuple[str, ...]] = {}
    by_city: dict[str, list[District]] = {}
    for row in frame[list(TABLE_COLUMNS)].itertuples(index=False):
        d = District(
            province=row.province,
            city=row.city,
            district=row.district,
            adcode=row.adcode,
            city_adcode=row.city_adcode,
            province_adcode=row.province_adcode,
            short_name=row.short_name,
        )
        districts.append(d)
        province_forms[d.province_adcode] = _forms(row.province, row.province_short_name)
        city_forms[d.city_adcode] = _forms(row.city, row.city_short_name)
        by_city.setdefault(d.city_adcode, []).append(d)

    return _Table(
        frame=frame,
        geoms=geoms,
        tree=shapely.STRtree(geoms),
        districts=tuple(districts),
        by_adcode={d.adcode: i for i, d in enumerate(districts)},
        province_forms=province_forms,
        city_forms=city_forms,
        by_city={k: tuple(v) for k, v in by_city.items()},
    )


# --------------------------------------------------------------------------
# Point assignment.
# --------------------------------------------------------------------------


def _assign_indices(lon: Any, lat: Any) -> np.ndarray:
    """Return the row index of the district containing each point, or -1."""
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    if lon_a.shape != lat_a.shape:
        raise InvalidLocation(
            f"lon and lat must have the same shape, got {lon_a.shape} and {lat_a.shape}",
            field="lon",
        )
    lon_a = lon_a.ravel()
    lat_a = lat_a.ravel()
    table = _table()
    result = np.full(lon_a.size, -1, dtype=np.int64)
    finite = np.flatnonzero(np.isfinite(lon_a) & np.isfinite(lat_a))
    if finite.size == 0:
        return result
    points = shapely.points(lon_a[finite], lat_a[finite])
    # Bounding-box candidates from the tree, then an exact test against the
    # prepared polygons: this is several times faster than
    # ``tree.query(points, predicate=...)``, which cannot use the polygons'
    # preparation when the points are the query side.
    point_i, tree_i = table.tree.query(points)
    hit = shapely.intersects_xy(table.geoms[tree_i], lon_a[finite][point_i], lat_a[finite][point_i])
    point_i, tree_i = point_i[hit], tree_i[hit]
    # A point exactly on a shared edge touches two districts; take the one
    # with the lower adcode so the answer does not depend on tree order.
    order = np.lexsort((tree_i, point_i))
    point_i, tree_i = point_i[order], tree_i[order]
    first = np.unique(point_i, return_index=True)[1]
    result[finite[point_i[first]]] = tree_i[first]
    return result


def assign_districts(
    lon: np.ndarray | Sequence[float], lat: np.ndarray | Sequence[float]
) -> pd.DataFrame:
    """Find the official district that contains each point (vectorized).

    Parameters
    ----------
    lon, lat : array_like of float
        WGS-84 (EPSG:4326) longitudes and latitudes in degrees, same shape
        (flattened in C order).  Convert GCJ-02/BD-09 first with
        :func:`geo.places.crs.to_wgs84_arrays`.

    Returns
    -------
    pandas.DataFrame
        One row per point, in input order, columns ``province``, ``city``,
        ``district``, ``adcode`` (6-digit string); all None where no
        district contains the point (outside China, at sea, NaN input).
        A point on a shared border gets the district with the lower adcode.

    Raises
    ------
    geo.errors.InvalidLocation
        ``lon`` and ``lat`` have different shapes.
    """
    index = _assign_indices(lon, lat)
    frame = _table().frame
    out: dict[str, pd.Series] = {}
    found = index >= 0
    for column in ASSIGN_COLUMNS:
        values = np.full(index.size, None, dtype=object)
        values[found] = frame[column].to_numpy(dtype=object)[index[found]]
        # Object dtype keeps None as None (pandas 3 would infer a string
        # dtype and turn None into NaN).
        out[column] = pd.Series(values, dtype=object)
    return pd.DataFrame(out)


def district_of(lon: float, lat: float) -> District | None:
    """Return the official district containing one point, or None.

    Parameters
    ----------
    lon, lat : float
        WGS-84 (EPSG:4326) degrees.

    Returns
    -------
    District or None
        None outside every district (outside China, at sea).
    """
    index = int(_assign_indices([lon], [lat])[0])
    return _table().districts[index] if index >= 0 else None


def nearest_districts(
    lon: np.ndarray | Sequence[float], lat: np.ndarray | Sequence[float]
) -> tuple[list[District | None], np.ndarray]:
    """Find the district nearest to each point, and how far its boundary is.

    For points in no district (at sea, abroad, a typo in the longitude), so
    that a report can say where the place probably belongs.

    Parameters
    ----------
    lon, lat : array_like of float
        WGS-84 (EPSG:4326) degrees, same shape.

    Returns
    -------
    districts : list of District or None
        The nearest district per point (None for NaN input).  "Nearest" is
        measured in degrees by the index, which may pick a neighbour a few
        per cent farther away in metres; good enough to name a region.
    distance_m : numpy.ndarray
        Metres on the WGS-84 ellipsoid from the point to that district's
        boundary; 0 inside it, NaN for NaN input.
    """
    from pyproj import Geod

    lon_a = np.asarray(lon, dtype=np.float64).ravel()
    lat_a = np.asarray(lat, dtype=np.float64).ravel()
    table = _table()
    found: list[District | None] = [None] * lon_a.size
    distance_m = np.full(lon_a.size, np.nan)
    finite = np.flatnonzero(np.isfinite(lon_a) & np.isfinite(lat_a))
    if finite.size == 0:
        return found, distance_m
    points = shapely.points(lon_a[finite], lat_a[finite])
    point_i, tree_i = table.tree.query_nearest(points)
    first = np.unique(point_i, return_index=True)[1]  # one district per point on a tie
    point_i, tree_i = point_i[first], tree_i[first]
    lines = shapely.shortest_line(table.geoms[tree_i], points[point_i])
    coords = shapely.get_coordinates(lines).reshape(-1, 2, 2)
    _az, _back, metres = Geod(ellps="WGS84").inv(
        coords[:, 0, 0], coords[:, 0, 1], coords[:, 1, 0], coords[:, 1, 1]
    )
    distance_m[finite[point_i]] = np.asarray(metres, dtype=np.float64)
    for i, t in zip(finite[point_i], tree_i, strict=True):
        found[int(i)] = table.districts[int(t)]
    return found, distance_m


def district_by_adcode(adcode: str | int) -> District:
    """Return the district with a 6-digit adcode.

    Raises
    ------
    geo.errors.InvalidInput
        No district has this adcode.
    """
    table = _table()
    key = str(adcode).strip()
    if key not in table.by_adcode:
        raise InvalidInput(
            f"no district has adcode {key!r}; expected a 6-digit county-level code", field="adcode"
        )
    return table.districts[table.by_adcode[key]]


@lru_cache(maxsize=256)
def _area(level: AreaLevel, adcode: str) -> Area:
    table = _table()
    frame = table.frame
    if level == "district":
        i = table.by_adcode[adcode]
        d = table.districts[i]
        return Area("district", d.district, adcode, d.province, d.city, d.district, table.geoms[i])
    column = f"{level}_adcode"
    rows = frame.loc[frame[column] == adcode]
    # The districts tile their city and province without gaps or overlaps
    # (checked when the file is built), so a coverage union is exact and fast.
    geometry = shapely.coverage_union_all(rows.geometry.values)
    first = rows.iloc[0]
    if level == "city":
        return Area("city", first.city, adcode, first.province, first.city, None, geometry)
    return Area("province", first.province, adcode, first.province, None, None, geometry)
