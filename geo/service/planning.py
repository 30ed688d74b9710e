"""Planning use cases: coverage of rider activity, siting of new stations, shared answers.

Framework-free: the planner's pages (``web/planner.py``), the CLI
(``yitu analyze``) and background job workers call these functions with a
database session and plain values.  Coordinates are WGS-84 degrees
(lon, lat); distances are metres.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from geo.activity.windows import parse_window
from geo.db import activity
from geo.db import trust as trust_store
from geo.errors import InvalidInput
from geo.planning.candidates import read_candidates
from geo.planning.coverage import CoverageResult, analyze_coverage, what_if
from geo.planning.mclp import DEFAULT_TIME_LIMIT_S
from geo.planning.metric import DEFAULT_RADIUS_M, project
from geo.planning.siting import DEFAULT_SITE_COST, SitingResult, candidates_from_cells, plan_sites
from geo.planning.stations import StationFilter

#: Uncovered cells offered as candidate sites at most (the heaviest first).
MAX_CELL_CANDIDATES = 3000
#: How long a computed answer is reused (by a page's map, curve and exports).
CACHE_TTL_S = 300.0
#: Answers kept at most.
CACHE_SIZE = 16
#: Notes are plain text here (the CLI prints them); pages translate them.
NOTE_NO_RIDERS = "Some datasets have no rider ids: rider-hours are left blank."
NOTE_REPORTED_CLOSED = (
    "Places with an open workers' report that they are closed, locked or gone are left out."
)


# --------------------------------------------------------------------------- #
# The question and its answer (shared with the CLI)
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class PlannerQuery:
    """A coverage question: where, when, which places count, how far.

    Attributes
    ----------
    city : str or None
        City label given at import (``yitu import activity --city``).
    datasets : tuple of str
        Dataset names; empty = every dataset of ``city``.
    district : str or None
        Limit to one district (its official boundary).
    polygon_wkt : str or None
        Limit to a polygon (WGS-84 WKT).
    window : str
        Time window (:func:`geo.demand.parse_window`).
    kinds, amenities : tuple of str
        Which places count.
    radius_m : float
        Service distance in metres.
    min_open_share : float
        Share of the window a place must be open to count.
    unknown_hours_open : bool
        Count places without opening hours as open.
    add : tuple of (lon, lat)
        What-if stations (WGS-84).
    remove : tuple of str
        What-if: ids of stations taken away.
    skip_reported_closed : bool
        Leave out places with an open workers' report that they are closed,
        locked or gone (issue 10).
    """

    city: str | None = None
    datasets: tuple[str, ...] = ()
    district: str | None = None
    polygon_wkt: str | None = None
    window: str = "weekday-lunch"
    kinds: tuple[str, ...] = ("station",)
    amenities: tuple[str, ...] = ()
    radius_m: float = DEFAULT_RADIUS_M
    min_open_share: float = 0.5
    unknown_hours_open: bool = True
    add: tuple[tuple[float, float], ...] = ()
    remove: tuple[str, ...] = ()
    skip_reported_closed: bool = False

    def key(self) -> str:
        """Return a stable cache key of the question."""
        return hashlib.sha256(
            json.dumps(asdict(self), sort_keys=True, default=str).encode()
        ).hexdigest()


@dataclass
class CoverageAnswer:
    """Coverage with and without the what-if changes, plus what was read."""

    result: CoverageResult
    before: CoverageResult | None
    datasets: list[dict[str, Any]]
    service_lines: list[list[tuple[float, float]]] | None = None
    is_demo: bool = False
    notes: list[str] = field(default_factory=list)


def area_wkt(query: PlannerQuery) -> str | None:
    """Return the WGS-84 area of the question as WKT (district or polygon), or None."""
    if query.polygon_wkt:
        return query.polygon_wkt
    if query.district:
        from geo.places.areas import find_area

        try:  # "西宁市 城中区" settles which 城中区; a demo city label may not be official
            found = find_area(f"{query.city} {query.district}" if query.city else query.district)
        except InvalidInput:
            found = find_area(query.district)
        return str(found.geometry.wkt)
    return None


def _pad_bbox(cells: pd.DataFrame, radius_m: float) -> tuple[float, float, float, float]:
    """Bbox of the cells padded by the radius, so stations just outside still count."""
    lat_mid = float(cells["lat"].median())
    dlat = radius_m * 1.2 / 111_000.0
    dlon = dlat / max(math.cos(math.radians(lat_mid)), 0.1)
    return (
        float(cells["lon"].min()) - dlon,
        float(cells["lat"].min()) - dlat,
        float(cells["lon"].max()) + dlon,
        float(cells["lat"].max()) + dlat,
    )


def run_coverage(db: Session, query: PlannerQuery, *, network: Any = None) -> CoverageAnswer:
    """Answer a coverage question from the stored aggregates.

    Parameters
    ----------
    db : Session
    query : PlannerQuery
    network : geo.planning.network.RoadNetwork, optional
        Measure along roads.

    Raises
    ------
    InvalidInput
        Nothing to analyse (no dataset, no activity in the area/window) or
        a bad parameter.
    """
    window = parse_window(query.window)
    cells, datasets = activity.load_cells(
        db,
        datasets=query.datasets or None,
        city=query.city,
        hours=window.hours_of_week(),
        area_wkt=area_wkt(query),
    )
    if cells.empty:
        raise InvalidInput(
            f"no rider activity in this area during {window.describe()}; "
            "try another window or area",
            field="window",
        )
    if network is not None:
        from geo.planning.network import check_network_area

        check_network_area(network, cells["lon"].to_numpy(), cells["lat"].to_numpy())
    stations = activity.load_stations(
        db, bbox=_pad_bbox(cells, query.radius_m), kinds=query.kinds, amenities=query.amenities
    )
    notes = []
    if query.skip_reported_closed and not stations.empty:
        closed = trust_store.places_reported_closed(db, stations["id"].astype(int).tolist())
        if closed:
            stations = stations[~stations["id"].astype(int).isin(closed)].reset_index(drop=True)
            notes.append(NOTE_REPORTED_CLOSED)
    selection = StationFilter(
        kinds=query.kinds,
        amenities=query.amenities,
        window=window,
        unknown_hours_open=query.unknown_hours_open,
        min_open_share=query.min_open_share,
    )
    label_text = window.describe()
    before = analyze_coverage(
        cells,
        stations,
        radius_m=query.radius_m,
        selection=selection,
        window_label=label_text,
        network=network,
    )
    result, baseline = before, None
    if query.add or query.remove:
        baseline = before
        result = what_if(
            before, add=query.add, remove=query.remove, selection=selection, network=network
        )
    lines = None
    if network is not None:
        from geo.planning.network import service_area_lines

        xy = project(
            result.stations["lon"].to_numpy(float),
            result.stations["lat"].to_numpy(float),
            crs=network.crs,
        )
        lines = service_area_lines(network, xy, radius_m=query.radius_m)
    if any(not d["has_riders"] for d in datasets):
        notes.append(NOTE_NO_RIDERS)
    return CoverageAnswer(
        result=result,
        before=baseline,
        datasets=datasets,
        service_lines=lines,
        is_demo=any(d["is_demo"] for d in datasets),
        notes=notes,
    )


def run_siting(
    answer: CoverageAnswer,
    *,
    p: int | None = None,
    budget: float | None = None,
    target_share: float | None = None,
    min_district_share: float | None = None,
    cost: float = DEFAULT_SITE_COST,
    candidates: pd.DataFrame | None = None,
    from_cells: bool = True,
    max_cell_candidates: int = MAX_CELL_CANDIDATES,
    network: Any = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> SitingResult:
    """Propose new sites for a coverage answer (existing stations held fixed).

    Parameters
    ----------
    answer : CoverageAnswer
        From :func:`run_coverage`; its counted stations are held fixed.
    p, budget, cost
        At most ``p`` sites, or a budget in yuan with ``cost`` per site
        (candidates may carry their own ``cost``).
    target_share : float, optional
        Or: the fewest new sites bringing coverage to this share (0..1].
    min_district_share : float, optional
        With ``p`` or ``budget``: a covered share every district must reach (0..1].
    candidates : pandas.DataFrame, optional
        Host candidates (:func:`geo.siting.read_candidates`).
    from_cells : bool
        Also offer the centres of uncovered cells.
    max_cell_candidates : int
        At most this many uncovered cells (the heaviest).
    network, time_limit_s
        As for :func:`geo.siting.plan_sites`.
    """
    result = answer.result
    pool = []
    if candidates is not None and len(candidates):
        pool.append(candidates)
    if from_cells:
        pool.append(candidates_from_cells(result.cells, limit=max_cell_candidates))
    frame = pd.concat(pool, ignore_index=True) if pool else pd.DataFrame()
    if frame.empty:
        raise InvalidInput(
            "no candidate sites: every cell is covered and no candidate file was given",
            field="candidates",
        )
    return plan_sites(
        result.cells,
        frame,
        existing=result.stations,
        radius_m=result.radius_m,
        p=p,
        budget=budget,
        target_share=target_share,
        min_district_share=min_district_share,
        default_cost=cost,
        network=network,
        time_limit_s=time_limit_s,
    )


@lru_cache(maxsize=4)
def load_network(path: str, directed: bool = False) -> Any:
    """Load (once per process) a road network named in ``PLANNER_NETWORKS``."""
    from geo.planning.network import load_graphml

    return load_graphml(Path(path), directed=directed)


class ResultCache:
    """Answers of recent questions, reused for ``ttl_s`` seconds (thread-safe, LRU).

    The planner's page, its map script, curve and exports ask the same
    question one after another; this keeps them to one computation.
    """

    def __init__(self, *, ttl_s: float = CACHE_TTL_S, size: int = CACHE_SIZE) -> None:
        self.ttl_s, self.size = ttl_s, size
        self._items: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, key: str, compute: Callable[[], Any], *, reuse: bool = True) -> Any:
        """Return the cached value of ``key``, or compute and keep it.

        ``reuse=False`` always computes (tests, where data changes between calls).
        """
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit and hit[0] > now and reuse:
                self._items.move_to_end(key)
                return hit[1]
        value = compute()
        with self._lock:
            self._items[key] = (now + self.ttl_s, value)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


@dataclass(frozen=True)
class SitingRequest:
    """What was asked of siting: at most ``p`` sites or a ``budget`` in yuan.

    ``candidates`` is a configured candidate file (``{"path", "crs"}``) and
    its name, or None to use uncovered cells only.
    """

    p: int | None = None
    budget: float | None = None
    cost: float = DEFAULT_SITE_COST
    candidates: tuple[str, dict[str, str]] | None = None
    target_share: float | None = None
    min_district_share: float | None = None

    @property
    def wanted(self) -> bool:
        """Return whether siting was asked for."""
        return self.p is not None or self.budget is not None or self.target_share is not None


def analyse(
    db: Session,
    query: PlannerQuery,
    siting: SitingRequest,
    *,
    network_name: str | None = None,
    network: Any = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    cache: ResultCache | None = None,
    reuse: bool = True,
) -> tuple[CoverageAnswer, SitingResult | None]:
    """Answer a coverage question and, when asked, propose sites; reuse a recent answer.

    The cache key covers the question, the siting request, the network and
    the datasets' creation times, so a new import is never answered from
    an old result.
    """
    stamp = tuple((d["name"], str(d["created_at"])) for d in activity.list_datasets(db))
    key = hashlib.sha256(f"{query.key()}|{siting}|{network_name}|{stamp}".encode()).hexdigest()

    def compute() -> tuple[CoverageAnswer, SitingResult | None]:
        answer = run_coverage(db, query, network=network)
        if not siting.wanted:
            return answer, None
        candidates = None
        if siting.candidates:
            name, spec = siting.candidates
            candidates = read_candidates(spec["path"], crs=spec.get("crs", "wgs84"), source=name)
        return answer, run_siting(
            answer,
            p=siting.p,
            budget=siting.budget,
            cost=siting.cost,
            target_share=siting.target_share,
            min_district_share=siting.min_district_share,
            candidates=candidates,
            network=network,
            time_limit_s=time_limit_s,
        )

    if cache is None:
        return compute()
    answer: tuple[CoverageAnswer, SitingResult | None] = cache.get_or_compute(
        key, compute, reuse=reuse
    )
    return answer
