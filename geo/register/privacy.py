"""k-anonymous aggregation of sensitive points on H3 cells.

Hardship households (困难职工家庭) have exact home locations.  Caseworkers see
them; planners and anything public see them only through this module: counts
per H3 cell at one fixed resolution, with every cell holding fewer than ``k``
points suppressed (left out entirely, not shown as zero).

Why the rules are this strict (each closes a differencing attack):

- **One resolution.**  Counts at two resolutions can be subtracted: a parent
  cell of 12 whose shown child holds 11 puts exactly one household in the rest
  of the parent.  Callers expose a single configured resolution.
- **No filters, no polygons.**  The count of a cell over "all households"
  minus its count over "district A only" (or "illness only", or "inside this
  polygon") isolates the households outside the filter.  The aggregate is
  always over the whole register.
- **Suppressed cells are dropped, not zeroed**, and the number of suppressed
  points is never reported: with one suppressed cell, ``total - shown`` is that
  cell's exact count.

The module is pure: numpy and h3 in, dataclasses and GeoJSON dicts out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import h3
import numpy as np

from geo.errors import InvalidInput, InvalidLocation

#: Smallest count a published cell may hold.  Eleven follows the common
#: "fewer than 11 is suppressed" rule of official small-area statistics.
DEFAULT_K = 11

#: Default H3 resolution for household aggregates: resolution 8 cells average
#: about 0.74 km² (edge about 0.53 km), roughly a neighbourhood block.
DEFAULT_RESOLUTION = 8

#: Resolutions an operator may configure.  Finer than 9 (0.1 km²) gets close
#: to single buildings; coarser than 6 is useless for planning.
ALLOWED_RESOLUTIONS: tuple[int, ...] = (6, 7, 8, 9)

#: Nobody may configure k below this, whatever the settings say.
MIN_K = 5


@dataclass(frozen=True)
class CellCount:
    """One published H3 cell and how many points fall in it (``count >= k``)."""

    cell: str
    count: int


@dataclass(frozen=True)
class CellAggregate:
    """The k-anonymous aggregate of a set of points.

    Attributes
    ----------
    resolution : int
        H3 resolution of every cell.
    k : int
        Threshold used: every published cell holds at least ``k`` points.
    cells : tuple of CellCount
        Published cells, sorted by cell id so equal inputs give equal output.
    has_suppressed : bool
        Whether at least one non-empty cell was withheld.  Deliberately a
        flag and not a count (see the module docstring).
    """

    resolution: int
    k: int
    cells: tuple[CellCount, ...]
    has_suppressed: bool

    @property
    def published_total(self) -> int:
        """Return the number of points inside published cells."""
        return sum(c.count for c in self.cells)


def check_parameters(*, resolution: int, k: int) -> None:
    """Raise :class:`InvalidInput` unless ``resolution`` and ``k`` are allowed.

    Parameters
    ----------
    resolution : int
        H3 resolution; must be one of :data:`ALLOWED_RESOLUTIONS`.
    k : int
        Suppression threshold; must be at least :data:`MIN_K`.
    """
    if isinstance(resolution, bool) or not isinstance(resolution, int | np.integer):
        raise InvalidInput("resolution must be an integer", field="resolution")
    if int(resolution) not in ALLOWED_RESOLUTIONS:
        raise InvalidInput(
            f"resolution {resolution} is not allowed; use one of {list(ALLOWED_RESOLUTIONS)}",
            field="resolution",
        )
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise InvalidInput("k must be an integer", field="k")
    if int(k) < MIN_K:
        raise InvalidInput(f"k {k} is below the minimum of {MIN_K}", field="k")


def suppress_small_cells(
    counts: Iterable[tuple[str, int]], *, k: int = DEFAULT_K, resolution: int = DEFAULT_RESOLUTION
) -> CellAggregate:
    """Drop cells holding fewer than ``k`` points from precomputed counts.

    Parameters
    ----------
    counts : iterable of (str, int)
        H3 cell id and point count; a cell may appear more than once (its
        counts are summed first, so partial aggregates may be merged).
    k : int, keyword-only
        Suppression threshold (default :data:`DEFAULT_K`).
    resolution : int, keyword-only
        The resolution every cell must have.

    Returns
    -------
    CellAggregate
        Cells with ``count >= k`` only.

    Raises
    ------
    InvalidInput
        A cell id is not valid H3, has another resolution, or a count is negative.
    """
    check_parameters(resolution=resolution, k=k)
    total: Counter[str] = Counter()
    for cell, count in counts:
        if not h3.is_valid_cell(cell):
            raise InvalidInput(f"{cell!r} is not an H3 cell id", field="cell")
        if h3.get_resolution(cell) != resolution:
            raise InvalidInput(
                f"cell {cell} has resolution {h3.get_resolution(cell)}, expected {resolution}",
                field="cell",
            )
        if count < 0:
            raise InvalidInput(f"cell {cell} has a negative count", field="count")
        total[cell] += int(count)
    kept = tuple(CellCount(cell, n) for cell, n in sorted(total.items()) if n >= k)
    withheld = any(0 < n < k for n in total.values())
    return CellAggregate(resolution=int(resolution), k=int(k), cells=kept, has_suppressed=withheld)


def aggregate_points(
    lon: Sequence[float] | np.ndarray,
    lat: Sequence[float] | np.ndarray,
    *,
    resolution: int = DEFAULT_RESOLUTION,
    k: int = DEFAULT_K,
) -> CellAggregate:
    """Count points per H3 cell and suppress cells with fewer than ``k`` points.

    Parameters
    ----------
    lon, lat : array-like of float
        Point coordinates in WGS-84 degrees (EPSG:4326), same length.  Pairs
        where either value is NaN (a household without a known location) are
        skipped: they are on no map.
    resolution : int, keyword-only
        H3 resolution, one of :data:`ALLOWED_RESOLUTIONS` (default 8, about
        0.74 km² per cell).
    k : int, keyword-only
        Minimum points per published cell (default 11, never below
        :data:`MIN_K`).

    Returns
    -------
    CellAggregate

    Raises
    ------
    InvalidLocation
        The arrays differ in length, or a coordinate is infinite or outside
        -180..180 / -90..90.
    InvalidInput
        ``resolution`` or ``k`` is not allowed.
    """
    check_parameters(resolution=resolution, k=k)
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    if lon_a.shape != lat_a.shape or lon_a.ndim != 1:
        raise InvalidLocation("lon and lat must be one-dimensional and of equal length")
    located = ~(np.isnan(lon_a) | np.isnan(lat_a))
    lon_a, lat_a = lon_a[located], lat_a[located]
    if not np.all(np.isfinite(lon_a) & np.isfinite(lat_a)):
        raise InvalidLocation("coordinates must be finite numbers")
    if np.any(np.abs(lon_a) > 180) or np.any(np.abs(lat_a) > 90):
        raise InvalidLocation(
            "lon must be within -180..180 and lat within -90..90; were lon and lat swapped?"
        )
    # h3 has no vectorised latlng_to_cell in its Python API; a loop over the
    # register (thousands of households) takes milliseconds.
    cells = Counter(
        h3.latlng_to_cell(float(y), float(x), resolution) for x, y in zip(lon_a, lat_a, strict=True)
    )
    return suppress_small_cells(cells.items(), k=k, resolution=resolution)


def aggregate_geojson(aggregate: CellAggregate) -> dict[str, Any]:
    """Return the published cells as a GeoJSON FeatureCollection of hexagons.

    Parameters
    ----------
    aggregate : CellAggregate
        Output of :func:`aggregate_points` or :func:`suppress_small_cells`.

    Returns
    -------
    dict
        ``FeatureCollection`` in WGS-84 (lon, lat order), one ``Polygon`` per
        published cell with properties ``cell`` and ``count``; top-level
        ``k``, ``resolution`` and ``has_suppressed`` describe the rules.
    """
    features = []
    for item in aggregate.cells:
        ring = [[lng, lat] for lat, lng in h3.cell_to_boundary(item.cell)]
        ring.append(ring[0])
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"cell": item.cell, "count": item.count},
            }
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "k": aggregate.k,
        "resolution": aggregate.resolution,
        "has_suppressed": aggregate.has_suppressed,
    }
