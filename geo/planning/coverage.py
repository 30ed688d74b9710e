"""Service coverage: which rider activity lies within reach of an open station.

Two layers, as in spopt:

- a **numeric core** on metric coordinates (:func:`covered_within`,
  :func:`nearest_station`, :func:`gap_clusters`), small enough to check by
  hand;
- **adapters** that take WGS-84 tables (H3 cell aggregates from
  :mod:`geo.demand`, stations from the database) or GeoDataFrames, project
  them to a local metric CRS (:func:`geo.crs.local_metric_crs`, a UTM zone),
  and delegate (:func:`analyze_coverage`, :func:`coverage_frame`).

Distances are straight lines in metres in that metric CRS unless a road
network is given (:mod:`geo.network`), in which case they are shortest paths
along the roads plus the straight snap from each point to its nearest node.
A demand point counts as covered when its distance to the nearest counted
station is at most ``radius_m`` (boundary included).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import IO, TYPE_CHECKING, Any

import h3.api.numpy_int as h3i
import numpy as np
import pandas as pd
import pyproj
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from geo.crs import local_metric_crs, require_same_crs
from geo.demand import TimeWindow, cell_text
from geo.errors import CRSMismatch, InvalidInput
from geo.export import write_csv, write_geojson

if TYPE_CHECKING:  # imported for annotations only; geopandas is heavy
    import geopandas as gpd

    from geo.network import RoadNetwork

#: Service distance used when none is given, in metres: about a 6-minute
#: walk, or 2 minutes by e-bike.
DEFAULT_RADIUS_M = 500.0

#: Largest service distance accepted, in metres.
MAX_RADIUS_M = 20_000.0

#: Points per block of the vectorised coverage test (bounds temporaries to
#: about 40 MB a block whatever the number of points).
_BLOCK = 1 << 20

#: Upper bound on raster cells in the coverage prefilter (int8: 30 MB).
_MAX_GRID_CELLS = 30_000_000

# Absolute tolerance of the raster classification, in metres: far above the
# rounding error of coordinates (~1e-11 m) and far below anything measurable.
_EPS_M = 1e-6


# --------------------------------------------------------------------------- #
# Numeric core (metric coordinates)
# --------------------------------------------------------------------------- #


def check_radius(radius_m: float) -> float:
    """Return ``radius_m`` as a float or raise :class:`InvalidInput`."""
    try:
        value = float(radius_m)
    except (TypeError, ValueError):
        raise InvalidInput(f"radius {radius_m!r} is not a number of metres",
                           field="radius_m") from None
    if not math.isfinite(value) or value <= 0 or value > MAX_RADIUS_M:
        raise InvalidInput(
            f"radius {radius_m!r} m is outside (0, {MAX_RADIUS_M:.0f}] metres", field="radius_m")
    return value


def _as_xy(xy: Any, name: str) -> np.ndarray:
    array = np.asarray(xy, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2:
        raise InvalidInput(f"{name} must be an (n, 2) array of x, y metres", field=name)
    return array


@dataclass(frozen=True)
class _Raster:
    """Coarse grid marking cells surely covered (2), maybe covered (1) or not (0)."""

    grid: np.ndarray  # int8, shape (ny, nx): row = y, column = x
    x0: float
    y0: float
    size_m: float


def _raster(station_xy: np.ndarray, radius_m: float) -> _Raster:
    """Rasterise the union of service discs into a three-state grid.

    Hand-written because no maintained library answers "is each of 10 million
    points within r of any of 3,000 points" within the 3 s budget on two
    cores: a k-d tree alone takes 3-9 s here.  The grid settles every point
    whose cell lies wholly inside or wholly outside the union of discs with
    one array lookup; only points in cells straddling a disc edge go to the
    exact k-d tree test, so the answer is the k-d tree's answer.

    Each disc is drawn row by row as two chords: the chord at the row edge
    nearest the centre bounds the cells it may touch, the chord at the
    farthest edge bounds the cells wholly inside it.  Chords become +1/-1
    marks in a difference array whose running sum along x gives the union.
    """
    lo = station_xy.min(axis=0) - radius_m
    hi = station_xy.max(axis=0) + radius_m
    extent = hi - lo
    size = radius_m / 25.0  # cell edge r/25: ~5% of points near an edge need the exact test
    cells = (extent[0] / size + 2) * (extent[1] / size + 2)
    if cells > _MAX_GRID_CELLS:
        size *= math.sqrt(cells / _MAX_GRID_CELLS)
    nx = int(extent[0] / size) + 2
    ny = int(extent[1] / size) + 2
    sx = station_xy[:, 0:1] - lo[0]
    sy = station_xy[:, 1:2] - lo[1]
    rows_each = int(math.ceil(2 * radius_m / size)) + 2
    iy = np.floor((sy - radius_m) / size).astype(np.int64) + np.arange(rows_each)
    y_low = iy * size
    y_high = y_low + size
    near = np.maximum(np.maximum(y_low - sy, sy - y_high), 0.0)
    far = np.maximum(np.abs(y_low - sy), np.abs(y_high - sy))
    grid = np.zeros(ny * nx, dtype=np.int8)
    for state, dy, pad in ((1, near, _EPS_M), (2, far, -_EPS_M)):
        reach = radius_m + pad
        ok = (dy <= reach) & (iy >= 0) & (iy < ny)
        half = np.sqrt(np.maximum(reach * reach - dy * dy, 0.0))
        if state == 1:  # every cell the chord touches
            first = np.floor((sx - half) / size)
            last = np.floor((sx + half) / size)
        else:  # only cells wholly inside the chord
            first = np.ceil((sx - half) / size)
            last = np.floor((sx + half) / size) - 1
        first = np.clip(first, 0, nx).astype(np.int64)
        last = np.clip(last, -1, nx - 1).astype(np.int64)
        ok &= last >= first
        marks = np.zeros((ny, nx + 1), dtype=np.int32)
        np.add.at(marks, (iy[ok], first[ok]), 1)
        np.add.at(marks, (iy[ok], last[ok] + 1), -1)
        inside = np.cumsum(marks[:, :nx], axis=1, dtype=np.int32).reshape(-1) > 0
        del marks
        grid[inside] = state  # state 2 is written last, so it wins over 1
    return _Raster(grid=grid.reshape(ny, nx), x0=float(lo[0]), y0=float(lo[1]),
                   size_m=float(size))


def covered_within(demand_xy: Any, station_xy: Any, *, radius_m: float,
                   workers: int | None = None) -> np.ndarray:
    """Return which demand points lie within ``radius_m`` of any station.

    Parameters
    ----------
    demand_xy : array_like, shape (n, 2)
        Demand points, x and y in metres of a projected (metric) CRS.
    station_xy : array_like, shape (m, 2)
        Stations in the same CRS.
    radius_m : float
        Service distance in metres; a point exactly at ``radius_m`` is
        covered.
    workers : int, optional
        Threads to use (default: all cores).

    Returns
    -------
    numpy.ndarray of bool, shape (n,)
        True where the straight-line distance to the nearest station is at
        most ``radius_m``.  Equal to a k-d tree test on every point.
    """
    radius_m = check_radius(radius_m)
    demand = _as_xy(demand_xy, "demand_xy")
    stations = _as_xy(station_xy, "station_xy")
    out = np.zeros(len(demand), dtype=bool)
    if not len(stations) or not len(demand):
        return out
    raster = _raster(stations, radius_m)
    tree = cKDTree(stations)
    bound = np.nextafter(radius_m, np.inf)  # cKDTree's bound is exclusive; ours is inclusive
    ny, nx = raster.grid.shape
    # One extra cell of state 0 at the end: points off the grid look it up.
    flat = np.append(raster.grid.reshape(-1), np.int8(0))
    off_grid = nx * ny
    inverse = 1.0 / raster.size_m

    def cell_index(values: np.ndarray, origin: float, count: int) -> np.ndarray:
        scaled = values - origin
        scaled *= inverse
        # Clip before the integer cast (no overflow), then truncate: a point just
        # below the origin lands in cell 0, which is never "surely covered" (the
        # grid has a margin of r), so at worst it gets the exact test.
        np.clip(scaled, -1.0, float(count), out=scaled)
        return scaled.astype(np.int32)

    def block(start: int) -> None:
        part = demand[start:start + _BLOCK]
        ix = cell_index(part[:, 0], raster.x0, nx)
        iy = cell_index(part[:, 1], raster.y0, ny)
        valid = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
        key = iy.astype(np.int64)
        key *= nx
        key += ix
        key[~valid] = off_grid
        state = flat[key]
        result = state == 2
        unsure = np.flatnonzero(state == 1)
        if len(unsure):
            dist, _ = tree.query(part[unsure], k=1, distance_upper_bound=bound)
            result[unsure] = dist <= radius_m
        out[start:start + len(part)] = result

    starts = range(0, len(demand), _BLOCK)
    threads = workers or _cores()
    if threads > 1 and len(demand) > _BLOCK:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(block, starts))
    else:
        for start in starts:
            block(start)
    return out


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def nearest_within(demand_xy: Any, station_xy: Any, *, radius_m: float,
                   network: RoadNetwork | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return distance (m) to, and index of, each demand point's nearest station.

    Along the road network when ``network`` is given, else in a straight line;
    both in the same metric CRS.  Beyond ``radius_m`` the distance may be
    ``inf`` and the index meaningless.
    """
    if network is not None:
        from geo.network import network_nearest

        return network_nearest(network, demand_xy, station_xy, cutoff_m=radius_m)
    return nearest_station(demand_xy, station_xy, max_m=radius_m)


def nearest_station(demand_xy: Any, station_xy: Any, *,
                    max_m: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return the distance to, and index of, each demand point's nearest station.

    Parameters
    ----------
    demand_xy, station_xy : array_like, shape (n, 2) and (m, 2)
        Points in metres of one projected CRS.
    max_m : float, optional
        Do not look further than this (metres); beyond it the distance is
        ``inf`` and the index -1.

    Returns
    -------
    (numpy.ndarray of float, numpy.ndarray of int)
        Distance in metres and station index per demand point.
    """
    demand = _as_xy(demand_xy, "demand_xy")
    stations = _as_xy(station_xy, "station_xy")
    if not len(stations):
        return np.full(len(demand), np.inf), np.full(len(demand), -1, dtype=np.int64)
    tree = cKDTree(stations)
    bound = np.inf if max_m is None else np.nextafter(float(max_m), np.inf)
    dist, idx = tree.query(demand, k=1, distance_upper_bound=bound, workers=-1)
    idx = np.where(np.isfinite(dist), idx, -1).astype(np.int64)
    return dist, idx


def covered_weight(covered: np.ndarray, weight: np.ndarray) -> tuple[float, float, float]:
    """Return (covered weight, total weight, covered share 0..1; NaN if no weight)."""
    total = float(np.sum(weight))
    done = float(np.sum(weight[covered]))
    return done, total, (done / total if total > 0 else float("nan"))


def gap_clusters(cells: np.ndarray, uncovered: np.ndarray) -> np.ndarray:
    """Group uncovered H3 cells into contiguous clusters.

    Parameters
    ----------
    cells : numpy.ndarray of int64
        H3 cells (one resolution).
    uncovered : numpy.ndarray of bool
        Which cells are uncovered.

    Returns
    -------
    numpy.ndarray of int64
        Cluster label per cell (0, 1, ...), -1 for covered cells.  Two
        uncovered cells are in one cluster when a chain of uncovered cells
        with activity, each sharing an edge with the next, joins them; an
        empty cell (no activity) does not bridge a gap.
    """
    cells = np.asarray(cells, dtype=np.int64)
    labels = np.full(len(cells), -1, dtype=np.int64)
    where = np.flatnonzero(uncovered)
    if not len(where):
        return labels
    position = {int(c): i for i, c in enumerate(cells[where])}
    rows: list[int] = []
    cols: list[int] = []
    for i, cell in enumerate(cells[where]):
        for neighbour in h3i.grid_ring(int(cell), 1):
            j = position.get(int(neighbour))
            if j is not None:
                rows.append(i)
                cols.append(j)
    graph = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(where), len(where)))
    _, found = connected_components(graph, directed=False)
    labels[where] = found
    return labels


# --------------------------------------------------------------------------- #
# Projection helpers
# --------------------------------------------------------------------------- #


def metric_crs_for(lon: np.ndarray, lat: np.ndarray) -> pyproj.CRS:
    """Return the UTM zone CRS at the median of WGS-84 points."""
    if not len(lon):
        raise InvalidInput("no points to choose a metric CRS for", field="lon")
    return local_metric_crs(float(np.nanmedian(lon)), float(np.nanmedian(lat)))


def project(lon: np.ndarray, lat: np.ndarray, *, crs: pyproj.CRS) -> np.ndarray:
    """Project WGS-84 lon/lat degrees to an (n, 2) array in ``crs`` metres."""
    transformer = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    x, y = transformer.transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.column_stack([x, y])


# --------------------------------------------------------------------------- #
# Station selection
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class StationFilter:
    """Which places count as supply.

    Attributes
    ----------
    kinds : tuple of str
        Place kinds that count (``geo.places.KINDS``); empty = all kinds.
    amenities : tuple of str
        Amenities every counted place must offer.
    window : TimeWindow or None
        Places must be open during the window (by their opening hours) for
        at least ``min_open_share`` of it.
    unknown_hours_open : bool
        Whether a place with no opening hours on record counts as open.
        True by default: most ledgers lack hours and leaving those stations
        out would invent gaps; the result reports how many there were.
    """

    kinds: tuple[str, ...] = ("station",)
    amenities: tuple[str, ...] = ()
    window: TimeWindow | None = None
    unknown_hours_open: bool = True
    min_open_share: float = 0.5


def select_stations(stations: pd.DataFrame,
                    selection: StationFilter) -> tuple[pd.DataFrame, dict[str, int]]:
    """Return the active stations that count under ``selection`` and the counts dropped.

    Parameters
    ----------
    stations : pandas.DataFrame
        Columns ``id``, ``name``, ``kind``, ``lon``, ``lat`` (WGS-84), and
        optionally ``status``, ``amenities`` (sequence of codes) and
        ``opening_hours`` (OSM syntax or None).
    selection : StationFilter

    Returns
    -------
    (pandas.DataFrame, dict)
        The stations kept, and ``{reason: count}`` of those left out.
    """
    frame = stations.reset_index(drop=True)
    dropped: dict[str, int] = {}
    keep = np.ones(len(frame), dtype=bool)

    def drop(mask: np.ndarray, reason: str) -> None:
        nonlocal keep
        newly = keep & ~mask
        if newly.any():
            dropped[reason] = int(newly.sum())
        keep &= mask

    if "status" in frame:
        drop((frame["status"].fillna("active") == "active").to_numpy(), "not active")
    if selection.kinds:
        drop(frame["kind"].isin(selection.kinds).to_numpy(), "other kind")
    if selection.amenities and len(frame):
        have = frame.get("amenities", pd.Series([()] * len(frame)))
        wanted = set(selection.amenities)
        drop(np.array([wanted <= set(a or ()) for a in have], dtype=bool), "missing amenity")
    if selection.window is not None and len(frame):
        hours = frame.get("opening_hours", pd.Series([None] * len(frame)))
        open_mask, unknown = open_during_window(hours.tolist(), selection.window,
                                                unknown_open=selection.unknown_hours_open,
                                                min_open_share=selection.min_open_share)
        if unknown.any():
            dropped["hours unknown (counted as open)" if selection.unknown_hours_open
                    else "hours unknown"] = int((unknown & keep).sum())
        drop(open_mask, f"closed during {selection.window.name}")
    return frame[keep].reset_index(drop=True), dropped


#: A reference week with no Chinese public holiday (Monday 4 March 2024), on
#: which weekly windows are evaluated against opening hours.
REFERENCE_MONDAY = date(2024, 3, 4)


def window_open_share(osm: str, window: TimeWindow) -> float:
    """Return the share (0..1) of a weekly window during which a place is open.

    The window's day spans are laid on :data:`REFERENCE_MONDAY`'s week and
    measured with :func:`geo.hours.open_share` (Asia/Shanghai local time).
    """
    from geo.hours import open_share

    spans = window.day_ranges()
    total = sum(end - start for _, start, end in spans)
    if total <= 0:
        return 0.0
    opened = 0.0
    for day, start_min, end_min in spans:
        midnight = datetime.combine(REFERENCE_MONDAY + timedelta(days=day), dtime(0, 0))
        opened += (end_min - start_min) * open_share(
            osm, start=midnight + timedelta(minutes=start_min),
            end=midnight + timedelta(minutes=end_min))
    return opened / total


def open_during_window(opening_hours: Sequence[str | None], window: TimeWindow, *,
                       unknown_open: bool = True,
                       min_open_share: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Return (open during ``window``, hours unknown) per place.

    A place counts as open when it is open for at least ``min_open_share``
    of the window (summed over the window's days): a station open 12:00-
    13:30 serves most of the 11:00-13:30 lunch peak, one open only at 13:00
    does not.  Hours that cannot be evaluated count as unknown.
    """
    from geo.errors import GeoError

    opened = np.zeros(len(opening_hours), dtype=bool)
    unknown = np.zeros(len(opening_hours), dtype=bool)
    cache: dict[str, float | None] = {}
    for i, text in enumerate(opening_hours):
        key = "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(
            text).strip()
        if key and key not in cache:
            try:
                cache[key] = window_open_share(key, window)
            except GeoError:
                cache[key] = None  # unreadable hours are as good as none
        share = cache.get(key) if key else None
        if share is None:
            unknown[i] = True
            opened[i] = unknown_open
        else:
            opened[i] = share >= min_open_share - 1e-9
    return opened, unknown


# --------------------------------------------------------------------------- #
# Analysis of cell aggregates
# --------------------------------------------------------------------------- #


@dataclass
class CoverageResult:
    """Everything a planner sees about one coverage question.

    Attributes
    ----------
    cells : pandas.DataFrame
        One row per H3 cell with activity: ``cell`` (int64), ``h3`` (text),
        ``lon``, ``lat`` (WGS-84 centre), ``points``, ``weight``,
        ``rider_hours``, ``covered`` (bool), ``distance_m`` (to the nearest
        counted station; inf when none within reach), ``station_id``
        (nearest counted station or missing), ``district``, ``gap_id``
        (-1 when covered), ``rank`` (1 = heaviest uncovered cell).
    stations : pandas.DataFrame
        The stations that counted.
    gaps : pandas.DataFrame
        One row per gap cluster, heaviest first: ``gap_id``, ``name``,
        ``district``, ``cells``, ``points``, ``weight``, ``rider_hours``,
        ``share`` (of all activity), ``lon``, ``lat`` (weighted centre).
    districts : pandas.DataFrame
        Per district: ``district``, ``cells``, ``weight``,
        ``covered_weight``, ``covered_share``, ``uncovered_cells``,
        ``gaps``.
    radius_m : float
    method : str
        ``straight line`` or ``road network``.
    metric_crs : str
        The CRS distances were measured in.
    window : str
        The time window, as text.
    dropped_stations : dict
        Stations left out, by reason.
    """

    cells: pd.DataFrame
    stations: pd.DataFrame
    gaps: pd.DataFrame
    districts: pd.DataFrame
    radius_m: float
    method: str
    metric_crs: str
    window: str
    dropped_stations: dict[str, int] = field(default_factory=dict)

    @property
    def total_weight(self) -> float:
        """Return the total activity weight in the area and window."""
        return float(self.cells["weight"].sum())

    @property
    def covered_weight(self) -> float:
        """Return the activity weight within reach of a counted station."""
        return float(self.cells.loc[self.cells["covered"], "weight"].sum())

    @property
    def covered_share(self) -> float:
        """Return the covered share of activity, 0..1 (NaN without activity)."""
        total = self.total_weight
        return self.covered_weight / total if total > 0 else float("nan")

    def uncovered(self, *, top: int | None = None) -> pd.DataFrame:
        """Return uncovered cells, heaviest first."""
        frame = self.cells[~self.cells["covered"]].sort_values("rank")
        return frame if top is None else frame.head(top)

    def summary(self) -> dict[str, Any]:
        """Return headline figures as a JSON-ready dict."""
        return {
            "covered_share": (None if math.isnan(self.covered_share)
                              else round(self.covered_share, 6)),
            "covered_weight": self.covered_weight, "total_weight": self.total_weight,
            "cells": int(len(self.cells)), "uncovered_cells": int((~self.cells["covered"]).sum()),
            "gaps": int(len(self.gaps)), "stations": int(len(self.stations)),
            "radius_m": self.radius_m, "method": self.method, "metric_crs": self.metric_crs,
            "window": self.window, "dropped_stations": self.dropped_stations,
        }


def analyze_coverage(
    cells: pd.DataFrame,
    stations: pd.DataFrame,
    *,
    radius_m: float = DEFAULT_RADIUS_M,
    selection: StationFilter | None = None,
    window_label: str = "",
    network: RoadNetwork | None = None,
    districts: Sequence[str | None] | np.ndarray | None = None,
) -> CoverageResult:
    """Mark activity cells covered or not and summarise the gaps.

    Parameters
    ----------
    cells : pandas.DataFrame
        One row per H3 cell: ``cell`` (int64), ``lon``, ``lat`` (WGS-84
        centre), ``weight``, and optionally ``points``, ``rider_hours``
        (as from :func:`geo.demand.window_totals` or the database).
    stations : pandas.DataFrame
        Candidate supply (see :func:`select_stations`), WGS-84.
    radius_m : float
        Service distance in metres.
    selection : StationFilter, optional
        Which stations count; by default active stations of kind ``station``.
    window_label : str
        Label of the time window the cells were summed over.
    network : geo.network.RoadNetwork, optional
        Measure along roads instead of straight lines.
    districts : sequence of str, optional
        District of each cell; looked up with
        :func:`geo.districts.assign_districts` when None.

    Returns
    -------
    CoverageResult

    Raises
    ------
    InvalidInput
        No activity cells, or a bad radius.
    """
    radius_m = check_radius(radius_m)
    if cells is None or not len(cells):
        raise InvalidInput("no rider activity in this area and time window; "
                           "import activity or widen the window", field="window")
    selection = selection or StationFilter(window=None)
    counted, dropped = select_stations(stations, selection)
    frame = cells.reset_index(drop=True).copy()
    for column, default in (("points", 0), ("rider_hours", pd.NA)):
        if column not in frame:
            frame[column] = default
    lon = frame["lon"].to_numpy(float)
    lat = frame["lat"].to_numpy(float)
    crs = network.crs if network is not None else metric_crs_for(lon, lat)
    demand_xy = project(lon, lat, crs=crs)
    station_xy = project(counted["lon"].to_numpy(float), counted["lat"].to_numpy(float), crs=crs)
    distance, index = nearest_within(demand_xy, station_xy, radius_m=radius_m, network=network)
    covered = distance <= radius_m
    frame["covered"] = covered
    frame["distance_m"] = distance
    ids = counted["id"].to_numpy() if "id" in counted else np.arange(len(counted))
    frame["station_id"] = pd.array([ids[i] if i >= 0 else pd.NA for i in index], dtype=object)
    frame["h3"] = cell_text(frame["cell"].to_numpy())
    if districts is None:
        districts = lookup_districts(lon, lat)
    frame["district"] = [d if isinstance(d, str) and d else "(outside known districts)"
                         for d in districts]
    frame["gap_id"] = gap_clusters(frame["cell"].to_numpy(), ~covered)
    order = frame["weight"].where(~frame["covered"], -np.inf).rank(ascending=False, method="first")
    frame["rank"] = np.where(frame["covered"], 0, order).astype(np.int64)
    gaps = _gap_table(frame)
    frame = frame.merge(gaps[["gap_id", "name"]].rename(columns={"name": "gap"}), on="gap_id",
                        how="left")
    return CoverageResult(
        cells=frame, stations=counted, gaps=gaps, districts=_district_table(frame, gaps),
        radius_m=radius_m, method="road network" if network is not None else "straight line",
        metric_crs=crs.to_string(), window=window_label, dropped_stations=dropped,
    )


def what_if(base: CoverageResult, *,
            add: Sequence[tuple[float, float]] = (), remove: Sequence[Any] = (),
            selection: StationFilter | None = None,
            network: RoadNetwork | None = None) -> CoverageResult:
    """Recompute coverage with stations added or removed, from the same cells.

    Parameters
    ----------
    base : CoverageResult
        The coverage before the change (its cells, districts and counted
        stations are reused: nothing is read again).
    add : sequence of (lon, lat)
        New stations, WGS-84 degrees; they always count (open, all required
        amenities).
    remove : sequence
        Ids of counted stations to take away.
    selection : StationFilter, optional
        Used for the kind and amenities of added stations.
    network : geo.network.RoadNetwork, optional
        Measure along roads, as for ``base``.

    Raises
    ------
    InvalidInput
        A removed id is not among the counted stations.
    """
    counted = base.stations
    ids = counted["id"].astype(str) if "id" in counted else pd.Series([], dtype=str)
    unknown = [str(r) for r in remove if str(r) not in set(ids)]
    if unknown:
        raise InvalidInput(
            f"station {unknown[0]} is not among the {len(counted)} stations counted here",
            field="remove")
    kept = counted[~ids.isin([str(r) for r in remove])]
    selection = selection or StationFilter()
    added = pd.DataFrame({
        "id": [f"what-if-{i + 1}" for i in range(len(add))],
        "name": [f"what-if {i + 1}" for i in range(len(add))],
        "kind": (selection.kinds or ("station",))[0],
        "status": "active",
        "amenities": [tuple(selection.amenities)] * len(add),
        "opening_hours": "24/7",
        "lon": [float(a[0]) for a in add],
        "lat": [float(a[1]) for a in add],
    })
    frame = pd.concat([kept, added], ignore_index=True) if len(added) else kept
    cells = base.cells[["cell", "lon", "lat", "points", "weight", "rider_hours"]]
    after = analyze_coverage(cells, frame, radius_m=base.radius_m,
                             selection=StationFilter(kinds=(), amenities=(), window=None),
                             window_label=base.window, network=network,
                             districts=base.cells["district"].tolist())
    after.dropped_stations = dict(base.dropped_stations)
    if remove:
        after.dropped_stations["removed (what-if)"] = len(remove)
    return after


def lookup_districts(lon: np.ndarray, lat: np.ndarray) -> list[str | None]:
    """Return the district name of each WGS-84 point (None outside all districts)."""
    from geo.districts import assign_districts  # boundary data: loaded only when needed

    found = assign_districts(np.asarray(lon, float), np.asarray(lat, float))
    names = found["district"] if isinstance(found, pd.DataFrame) else found
    return [d if isinstance(d, str) and d else None for d in names]


def _gap_table(frame: pd.DataFrame) -> pd.DataFrame:
    columns = ["gap_id", "name", "district", "cells", "points", "weight", "rider_hours",
               "share", "lon", "lat"]
    gaps = frame[frame["gap_id"] >= 0]
    if gaps.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    total = float(frame["weight"].sum())
    rows = []
    for gap_id, part in gaps.groupby("gap_id"):
        w = part["weight"].to_numpy(float)
        by_district = part.groupby("district")["weight"].sum().sort_values(ascending=False)
        centre_w = w if w.sum() > 0 else np.ones(len(w))
        rows.append({
            "gap_id": int(gap_id), "district": str(by_district.index[0]), "cells": len(part),
            "points": int(part["points"].sum()), "weight": float(w.sum()),
            "rider_hours": part["rider_hours"].astype("Int64").sum(min_count=1),
            "share": float(w.sum() / total) if total > 0 else float("nan"),
            "lon": float(np.average(part["lon"], weights=centre_w)),
            "lat": float(np.average(part["lat"], weights=centre_w)),
        })
    table = pd.DataFrame(rows).sort_values(["weight", "gap_id"], ascending=[False, True])
    # Name each gap after its district, numbered by weight within it.
    table["name"] = [f"{d} #{n}" for d, n in zip(
        table["district"], table.groupby("district").cumcount() + 1, strict=True)]
    return table[columns].reset_index(drop=True)


def _district_table(frame: pd.DataFrame, gaps: pd.DataFrame) -> pd.DataFrame:
    grouped = frame.assign(covered_weight=frame["weight"].where(frame["covered"], 0.0),
                           uncovered=~frame["covered"])
    table = grouped.groupby("district").agg(
        cells=("cell", "size"), weight=("weight", "sum"),
        covered_weight=("covered_weight", "sum"), uncovered_cells=("uncovered", "sum"),
    ).reset_index()
    table["covered_share"] = np.where(table["weight"] > 0,
                                      table["covered_weight"] / table["weight"].where(
                                          table["weight"] > 0, 1.0), np.nan)
    gap_counts = gaps.groupby("district").size() if len(gaps) else pd.Series(dtype=int)
    table["gaps"] = table["district"].map(gap_counts).fillna(0).astype(int)
    return table.sort_values("weight", ascending=False, ignore_index=True)


# --------------------------------------------------------------------------- #
# GeoDataFrame adapter
# --------------------------------------------------------------------------- #


def coverage_frame(demand: gpd.GeoDataFrame, stations: gpd.GeoDataFrame, *,
                   radius_m: float = DEFAULT_RADIUS_M) -> gpd.GeoDataFrame:
    """Add ``covered`` and ``distance_m`` columns to a point GeoDataFrame.

    Parameters
    ----------
    demand, stations : geopandas.GeoDataFrame
        Points in one CRS.  A geographic CRS (degrees) is projected to the
        local UTM zone first; a projected CRS must be in metres.
    radius_m : float
        Service distance in metres.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``demand`` with ``covered`` (bool) and ``distance_m``
        (metres, inf beyond ``radius_m``).

    Raises
    ------
    CRSMismatch
        The two frames have different or missing CRSs, or a projected CRS
        not in metres.
    """
    crs = require_same_crs(demand, stations)
    radius_m = check_radius(radius_m)
    if crs.is_geographic:
        wgs_d = demand.to_crs(4326)
        metric = metric_crs_for(wgs_d.geometry.x.to_numpy(), wgs_d.geometry.y.to_numpy())
        demand_m, stations_m = demand.to_crs(metric), stations.to_crs(metric)
    else:
        unit = crs.axis_info[0].unit_name if crs.axis_info else ""
        if unit not in ("metre", "meter"):
            raise CRSMismatch(f"the CRS is in {unit or 'unknown units'}; use a metric CRS")
        demand_m, stations_m = demand, stations
    demand_xy = np.column_stack([demand_m.geometry.x, demand_m.geometry.y])
    station_xy = np.column_stack([stations_m.geometry.x, stations_m.geometry.y])
    distance, _ = nearest_station(demand_xy, station_xy, max_m=radius_m)
    out = demand.copy()
    out["covered"] = distance <= radius_m
    out["distance_m"] = distance
    return out


# --------------------------------------------------------------------------- #
# Exports
# --------------------------------------------------------------------------- #


def cell_polygon(cell: int) -> list[list[float]]:
    """Return the closed GeoJSON ring (lon, lat) of an H3 cell."""
    ring = [[round(lng, 7), round(lat, 7)] for lat, lng in h3i.cell_to_boundary(int(cell))]
    return [*ring, ring[0]]


def _clean(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def gap_features(result: CoverageResult) -> Iterable[dict[str, Any]]:
    """Yield one GeoJSON MultiPolygon feature per gap cluster (WGS-84)."""
    cells = result.cells
    for row in result.gaps.itertuples(index=False):
        members = cells.loc[cells["gap_id"] == row.gap_id, "cell"].to_numpy()
        shape = h3i.cells_to_h3shape([int(c) for c in members])
        yield {
            "type": "Feature",
            "geometry": shape.__geo_interface__,
            "properties": {k: _clean(getattr(row, k)) for k in
                           ("gap_id", "name", "district", "cells", "points", "weight",
                            "rider_hours", "share")},
        }


_CELL_COLUMNS = ("h3", "lon", "lat", "points", "weight", "rider_hours", "covered", "distance_m",
                 "station_id", "district", "gap", "rank")


def cell_features(result: CoverageResult, *,
                  uncovered_only: bool = False) -> Iterable[dict[str, Any]]:
    """Yield one GeoJSON Polygon feature per activity cell (WGS-84)."""
    frame = result.uncovered() if uncovered_only else result.cells
    for row in frame.to_dict("records"):
        yield {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [cell_polygon(row["cell"])]},
            "properties": {k: _clean(row.get(k)) for k in _CELL_COLUMNS},
        }


def write_coverage_geojson(result: CoverageResult, out: IO[str], *, layer: str = "gaps") -> int:
    """Write gaps (``layer="gaps"``), uncovered cells or all cells as GeoJSON.

    Returns the number of features written.  Coordinates are WGS-84.
    """
    if layer == "gaps":
        features = gap_features(result)
    elif layer in ("cells", "uncovered"):
        features = cell_features(result, uncovered_only=layer == "uncovered")
    else:
        raise InvalidInput(f"layer {layer!r}: expected gaps, uncovered or cells", field="layer")
    return write_geojson(features, out, name=f"yitu coverage {layer}",
                         summary={k: _clean(v) if not isinstance(v, dict) else v
                                  for k, v in result.summary().items()})


def write_coverage_csv(result: CoverageResult, out: IO[str], *, layer: str = "uncovered") -> int:
    """Write uncovered cells, all cells, gaps or the district table as CSV.

    Text cells that a spreadsheet would run as a formula are escaped
    (:func:`geo.export.escape_formula`).  Returns the rows written.
    """
    if layer == "gaps":
        frame, columns = result.gaps, list(result.gaps.columns)
    elif layer == "districts":
        frame, columns = result.districts, list(result.districts.columns)
    elif layer in ("cells", "uncovered"):
        frame = result.uncovered() if layer == "uncovered" else result.cells
        columns = list(_CELL_COLUMNS)
    else:
        raise InvalidInput(f"layer {layer!r}: expected uncovered, cells, gaps or districts",
                           field="layer")
    rows = ({k: _clean(v) for k, v in row.items()} for row in frame.to_dict("records"))
    return write_csv(rows, columns, out)


# --------------------------------------------------------------------------- #
# Raw points on Dask
# --------------------------------------------------------------------------- #


def _partition_coverage(frame: pd.DataFrame, station_xy: np.ndarray, radius_m: float,
                        x: str, y: str, weight: str | None) -> pd.DataFrame:
    """Covered and total weight of one partition (the same :func:`covered_within`)."""
    xy = np.column_stack([frame[x].to_numpy(float), frame[y].to_numpy(float)])
    w = frame[weight].to_numpy(float) if weight else np.ones(len(frame))
    covered = covered_within(xy, station_xy, radius_m=radius_m, workers=1)
    return pd.DataFrame({"covered": [float(w[covered].sum())], "total": [float(w.sum())],
                         "points": [len(frame)], "covered_points": [int(covered.sum())]})


def point_coverage_dask(points: Any, station_xy: Any, *, radius_m: float, scheduler: Any,
                        x: str = "x", y: str = "y",
                        weight: str | None = None) -> dict[str, float]:
    """Covered share of raw points held in a Dask (Geo)DataFrame, on a cluster.

    Parameters
    ----------
    points : dask.dataframe.DataFrame
        Points with metric ``x``/``y`` columns (metres, the CRS of
        ``station_xy``) and optionally a ``weight`` column.
    station_xy : array_like, shape (m, 2)
        Stations in the same metric CRS.
    radius_m : float
        Service distance in metres.
    scheduler : str or distributed.Client
        Scheduler address or a connected client.

    Returns
    -------
    dict
        ``covered``, ``total`` (weights), ``covered_share``, ``points``,
        ``covered_points``; equal to :func:`covered_within` on all points.
    """
    from distributed import Client

    radius_m = check_radius(radius_m)
    stations = _as_xy(station_xy, "station_xy")
    meta = pd.DataFrame({"covered": pd.Series(dtype=float), "total": pd.Series(dtype=float),
                         "points": pd.Series(dtype=np.int64),
                         "covered_points": pd.Series(dtype=np.int64)})
    parts = points.map_partitions(_partition_coverage, stations, radius_m, x, y, weight,
                                  meta=meta)
    own = not isinstance(scheduler, Client)
    client = Client(scheduler) if own else scheduler
    try:
        sums = client.compute(parts.sum()).result()
    finally:
        if own:
            client.close()
    total = float(sums["total"])
    return {"covered": float(sums["covered"]), "total": total,
            "covered_share": float(sums["covered"]) / total if total > 0 else float("nan"),
            "points": int(sums["points"]), "covered_points": int(sums["covered_points"])}


# --------------------------------------------------------------------------- #
# Areas
# --------------------------------------------------------------------------- #

#: Largest polygon file read, in bytes.
MAX_POLYGON_BYTES = 20 * 1024 * 1024


def read_polygon(path: Any, *, crs: str = "wgs84") -> Any:
    """Read a GeoJSON polygon (geometry, Feature or FeatureCollection) as WGS-84.

    Parameters
    ----------
    path : str or Path
        GeoJSON file; every Polygon/MultiPolygon in it is merged into one area.
    crs : str
        CRS of its coordinates (``wgs84``, ``gcj02``, ``bd09`` or EPSG);
        converted to WGS-84.

    Returns
    -------
    shapely Polygon or MultiPolygon, WGS-84 degrees.

    Raises
    ------
    InvalidInput
        Unreadable, too large, or without a valid polygon.
    """
    import json
    from pathlib import Path

    import shapely
    from shapely.geometry import shape

    from geo.demand import points_to_wgs84

    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"{path}: no such polygon file", field="polygon")
    if path.stat().st_size > MAX_POLYGON_BYTES:
        raise InvalidInput(f"{path.name} is larger than {MAX_POLYGON_BYTES // 2**20} MB",
                           field="polygon")
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidInput(f"{path.name} is not GeoJSON text", field="polygon") from None
    if not isinstance(document, dict):
        raise InvalidInput(f"{path.name}: expected a GeoJSON object", field="polygon")
    if document.get("type") == "FeatureCollection":
        geometries = [f.get("geometry") for f in document.get("features") or []]
    elif document.get("type") == "Feature":
        geometries = [document.get("geometry")]
    else:
        geometries = [document]
    shapes = []
    for geometry in geometries:
        if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon",
                                                                         "MultiPolygon"):
            continue
        try:
            shapes.append(shape(geometry))
        except (ValueError, TypeError, AttributeError):
            raise InvalidInput(f"{path.name}: a polygon has malformed coordinates",
                               field="polygon") from None
    if not shapes:
        raise InvalidInput(f"{path.name} holds no Polygon or MultiPolygon", field="polygon")
    area = shapely.union_all([shapely.make_valid(s) for s in shapes])

    def convert(coords: np.ndarray) -> np.ndarray:
        lon, lat = points_to_wgs84(coords[:, 0], coords[:, 1], crs=crs)
        return np.column_stack([lon, lat])

    area = shapely.transform(area, convert)
    if area.is_empty or area.area == 0:
        raise InvalidInput(f"{path.name}: the polygon is empty", field="polygon")
    return area
