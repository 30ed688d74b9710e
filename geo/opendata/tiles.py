"""XYZ vector tiles of places: tile math and the attributes a map needs.

Tiles are Web Mercator (EPSG:3857) XYZ tiles, ``y`` counted from the north,
in the Mapbox Vector Tile format with one layer, ``places``.  Below
``POINTS_MIN_ZOOM`` places are grouped into cells of ``CLUSTER_CELL_PX``
screen pixels (a 256-pixel tile); a cell holding one place is that place.

Feature attributes (and nothing more):

- ``kind``: the place's kind (for a cluster, its most common kind);
- ``status``: ``active``, ``suspended`` or ``planned`` (closed places are
  not drawn);
- ``open24``: 1 when the opening hours are ``24/7``, else 0;
- ``amenities``: a bitmask, bit ``i`` set when the place offers
  ``AMENITY_BITS[i]`` (see :func:`amenity_mask`);
- ``count``: how many places the feature stands for (1 for a place).

A single place carries its id as the MVT feature id.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

from geo.errors import InvalidInput
from geo.opendata.crs import MERCATOR_MAX_LAT
from geo.places.vocabulary import AMENITIES, CHINA_BBOX

LAYER = "places"
EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22
# From this zoom on, every place is its own feature.
POINTS_MIN_ZOOM = 13
# Below it, places are grouped into cells of this many screen pixels.
CLUSTER_CELL_PX = 8
# Amenity codes in bit order (bit 0 first).  Append only: a deployed map
# reads the same bits forever.
AMENITY_BITS: tuple[str, ...] = AMENITIES
# Statuses drawn on the map (closed places are gone from it).
DRAWN_STATUSES: tuple[str, ...] = ("active", "suspended", "planned")
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"


def amenity_mask(amenities: Iterable[str]) -> int:
    """Return the bitmask of amenity codes (bit ``i`` for ``AMENITY_BITS[i]``)."""
    mask = 0
    for code in amenities:
        mask |= 1 << AMENITY_BITS.index(code)
    return mask


def amenities_of(mask: int) -> tuple[str, ...]:
    """Return the amenity codes set in a bitmask, in bit order."""
    return tuple(code for i, code in enumerate(AMENITY_BITS) if mask >> i & 1)


def check_tile(z: int, x: int, y: int) -> None:
    """Raise ``InvalidInput`` unless ``z/x/y`` names a tile (0 <= x, y < 2**z <= 2**22)."""
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidInput(f"z {z} is outside 0..{MAX_ZOOM}", field="z")
    side = 2**z
    if not 0 <= x < side:
        raise InvalidInput(f"x {x} is outside 0..{side - 1} at zoom {z}", field="x")
    if not 0 <= y < side:
        raise InvalidInput(f"y {y} is outside 0..{side - 1} at zoom {z}", field="y")


def tile_lonlat_bounds(
    z: int, x: int, y: int, *, buffer_frac: float = 0.0
) -> tuple[float, float, float, float]:
    """Return WGS-84 ``(west, south, east, north)`` degrees of tile ``z/x/y``.

    ``buffer_frac`` widens the box by that fraction of the tile on each side
    (for the MVT buffer), clipped to the Mercator world.
    """
    side = 2**z
    west = (x - buffer_frac) / side * 360.0 - 180.0
    east = (x + 1 + buffer_frac) / side * 360.0 - 180.0
    north = _lat_of_row(max(0.0, y - buffer_frac) / side)
    south = _lat_of_row(min(float(side), y + 1 + buffer_frac) / side)
    return max(-180.0, west), south, min(180.0, east), north


def _lat_of_row(fraction: float) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * fraction))))


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """Return the ``(x, y)`` of the zoom-``z`` tile holding WGS-84 ``lon``/``lat``."""
    lat = max(-MERCATOR_MAX_LAT, min(MERCATOR_MAX_LAT, lat))
    side = 2**z
    x = int((lon + 180.0) / 360.0 * side)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * side)
    return min(max(x, 0), side - 1), min(max(y, 0), side - 1)


def tiles_covering(
    bbox: tuple[float, float, float, float], z: int
) -> Iterator[tuple[int, int, int]]:
    """Yield every ``(z, x, y)`` tile meeting a WGS-84 bbox, row by row."""
    x0, y0 = tile_of(bbox[0], bbox[3], z)
    x1, y1 = tile_of(bbox[2], bbox[1], z)
    for y in range(y0, y1 + 1):
        for x in range(x0, x1 + 1):
            yield z, x, y


def cell_units(z: int) -> int:
    """Return the cluster cell size in tile units at zoom ``z`` (0: no clustering)."""
    return 0 if z >= POINTS_MIN_ZOOM else EXTENT // 256 * CLUSTER_CELL_PX


# The first national view: a 1280 x 800 screen shows mainland China at zoom 4.
NATIONAL_VIEW_ZOOM = 4
NATIONAL_VIEW_BBOX: tuple[float, float, float, float] = (CHINA_BBOX[0], 18.0, 135.0, CHINA_BBOX[3])
