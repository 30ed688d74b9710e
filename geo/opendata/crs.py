"""Coordinate reference systems served by the open-data routes.

Places are stored in WGS-84 (EPSG:4326, lon/lat).  OGC API - Features Part 2
asks that coordinates be written in the *axis order of the CRS*: CRS84 and
EPSG:3857 are x/y (lon/lat, easting/northing), while EPSG:4326 and
EPSG:4490 (CGCS2000, China's geodetic system) are lat/lon.  CGCS2000 and
WGS-84 agree to within a few centimetres for points (PROJ uses a null
transformation), so EPSG:4490 is WGS-84 coordinates with the axes swapped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from geo.errors import InvalidInput

OGC_CRS = "http://www.opengis.net/def/crs/"
CRS84_URI = OGC_CRS + "OGC/1.3/CRS84"
# The largest latitude of the square Web Mercator world.
MERCATOR_MAX_LAT = 85.0511287798066
EARTH_RADIUS_M = 6378137.0
# Half the width of the square Web Mercator world, in metres.
MERCATOR_HALF_WORLD_M = math.pi * EARTH_RADIUS_M


@dataclass(frozen=True)
class ServedCRS:
    """One CRS the API can answer in.

    Attributes
    ----------
    uri
        Its OGC URI (what ``crs=`` and ``Content-Crs`` carry).
    srid
        The PostGIS SRID to transform to.
    lat_first
        True when the CRS's first axis is latitude (authority axis order).
    label
        Short name for pages.
    """

    uri: str
    srid: int
    lat_first: bool
    label: str


CRS84 = ServedCRS(CRS84_URI, 4326, False, "CRS84 (WGS 84 lon/lat)")
EPSG4326 = ServedCRS(OGC_CRS + "EPSG/0/4326", 4326, True, "EPSG:4326 (WGS 84 lat/lon)")
EPSG4490 = ServedCRS(OGC_CRS + "EPSG/0/4490", 4490, True, "EPSG:4490 (CGCS2000 lat/lon)")
EPSG3857 = ServedCRS(OGC_CRS + "EPSG/0/3857", 3857, False, "EPSG:3857 (Web Mercator, metres)")
SERVED: tuple[ServedCRS, ...] = (CRS84, EPSG4326, EPSG4490, EPSG3857)
_BY_KEY = {c.uri: c for c in SERVED} | {
    "CRS84": CRS84,
    "OGC:CRS84": CRS84,
    "EPSG:4326": EPSG4326,
    "EPSG:4490": EPSG4490,
    "EPSG:3857": EPSG3857,
}


def served_crs(text: str | None, *, field: str = "crs") -> ServedCRS:
    """Return the served CRS named by a URI, ``EPSG:n`` or ``[EPSG:n]``; CRS84 when absent.

    Raises
    ------
    InvalidInput
        For any other CRS, naming the parameter and listing those served.
    """
    if text is None or not text.strip():
        return CRS84
    key = text.strip()
    if key.startswith("[") and key.endswith("]"):
        key = key[1:-1]
    found = _BY_KEY.get(key) or _BY_KEY.get(key.upper())
    if found is None:
        listed = ", ".join(c.uri for c in SERVED)
        raise InvalidInput(
            f"{field} {text[:100]!r} is not served; use one of {listed}", field=field
        )
    return found


def lonlat_to_mercator(lon: float, lat: float) -> tuple[float, float]:
    """Return Web Mercator (EPSG:3857) metres of a WGS-84 lon/lat in degrees."""
    lat = max(-MERCATOR_MAX_LAT, min(MERCATOR_MAX_LAT, lat))
    x = math.radians(lon) * EARTH_RADIUS_M
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * EARTH_RADIUS_M
    return x, y


def mercator_to_lonlat(x: float, y: float) -> tuple[float, float]:
    """Return WGS-84 lon/lat degrees of Web Mercator (EPSG:3857) metres."""
    lon = math.degrees(x / EARTH_RADIUS_M)
    lat = math.degrees(2 * math.atan(math.exp(y / EARTH_RADIUS_M)) - math.pi / 2)
    return lon, lat


def to_lonlat_bbox(
    values: tuple[float, float, float, float], crs: ServedCRS
) -> tuple[float, float, float, float]:
    """Return a bbox written in ``crs`` as WGS-84 ``(west, south, east, north)`` degrees."""
    a, b, c, d = values
    if crs.srid == 3857:
        west, south = mercator_to_lonlat(a, b)
        east, north = mercator_to_lonlat(c, d)
        return west, south, east, north
    if crs.lat_first:
        return b, a, d, c
    return a, b, c, d
