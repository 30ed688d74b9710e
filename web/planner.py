"""The planner: where rider activity goes uncovered and where new stations should go.

Pages (all GET: they compute, they change nothing, so links can be shared
and no CSRF token is needed):

- ``/planner/``: the form, the coverage summary, the map (density, service
  areas, gaps, proposed sites), tables (gaps, uncovered cells, districts,
  proposed sites with marginal gains), the coverage curve and downloads.
- ``/planner/map.js``: the map's script (strict CSP: no inline script).
- ``/planner/curve.<png|svg>``: the coverage curve of the siting answer.
- ``/planner/<gaps|uncovered|cells|districts>.<geojson|csv>`` and
  ``/planner/sites.<geojson|csv>``: exports (WGS-84; CSV formula-escaped).

What-if: ``add=LON,LAT`` (repeatable) adds a station, ``remove=ID`` removes
one; the page shows coverage before and after, recomputed at once from the
stored aggregates.

Access: :func:`web.auth.planner_required` (planners and admins, or anyone
when ``PLANNER_PUBLIC`` is on).  The gate is the one name ``gate`` below.

The analysis functions (:func:`run_coverage`, :func:`run_siting`) take a
session and a :class:`PlannerQuery`; the CLI (``yitu analyze``) calls the
same functions.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from geo.activity.windows import parse_window
from geo.db import activity
from geo.db import trust as trust_store
from geo.errors import InvalidInput
from geo.export import escape_formula
from geo.places.vocabulary import AMENITIES, AMENITY_TERMS, KIND_TERMS, KINDS
from geo.planning.candidates import read_candidates
from geo.planning.coverage import CoverageResult, analyze_coverage, what_if
from geo.planning.coverage_export import write_coverage_csv, write_coverage_geojson
from geo.planning.mclp import DEFAULT_TIME_LIMIT_S
from geo.planning.metric import DEFAULT_RADIUS_M, project
from geo.planning.siting import DEFAULT_SITE_COST, SitingResult, candidates_from_cells, plan_sites
from geo.planning.siting_export import write_sites_csv, write_sites_geojson
from geo.planning.stations import StationFilter
from web.auth import planner_required
from web.db import session
from web.maps import TileSource, render_parts
from web.params import float_param, int_param, parse_float, text_param
from web.planner_curves import curve_image
from web.planner_maps import MAP_ID, planner_map
from web.templating import label

bp = Blueprint("planner", __name__, url_prefix="/planner")

#: The access check of every planner view.  Planners and admins log in (the
#: accounts issue); PLANNER_PUBLIC opens the pages to anyone.
gate = planner_required

#: Uncovered cells offered as candidate sites at most (the heaviest first).
MAX_CELL_CANDIDATES = 3000
#: Largest p a page may ask for.
MAX_P = 200
#: What-if stations per request, at most.
MAX_WHAT_IF = 20
#: How long a computed answer is reused by the page's map, curve and exports.
CACHE_TTL_S = 300.0
#: Notes are plain text here (the CLI prints them); pages translate them.
NOTE_NO_RIDERS = "Some datasets have no rider ids: rider-hours are left blank."
NOTE_REPORTED_CLOSED = ("Places with an open workers' report that they are closed, locked or "
                        "gone are left out.")
#: Days of check-ins the planner's export covers.
CHECKIN_DAYS = 90
CACHE_SIZE = 16


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
        Time window (:func:`geo.activity.windows.parse_window`).
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
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True,
                                         default=str).encode()).hexdigest()


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
        return found.geometry.wkt
    return None


def _pad_bbox(cells: pd.DataFrame, radius_m: float) -> tuple[float, float, float, float]:
    """Bbox of the cells padded by the radius, so stations just outside still count."""
    lat_mid = float(cells["lat"].median())
    dlat = radius_m * 1.2 / 111_000.0
    dlon = dlat / max(math.cos(math.radians(lat_mid)), 0.1)
    return (float(cells["lon"].min()) - dlon, float(cells["lat"].min()) - dlat,
            float(cells["lon"].max()) + dlon, float(cells["lat"].max()) + dlat)


def run_coverage(db: Session, query: PlannerQuery, *,
                 network: Any = None) -> CoverageAnswer:
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
    cells, datasets = activity.load_cells(db, datasets=query.datasets or None, city=query.city,
                                          hours=window.hours_of_week(),
                                          area_wkt=area_wkt(query))
    if cells.empty:
        raise InvalidInput(
            f"no rider activity in this area during {window.describe()}; "
            "try another window or area", field="window")
    if network is not None:
        from geo.planning.network import check_network_area

        check_network_area(network, cells["lon"].to_numpy(), cells["lat"].to_numpy())
    stations = activity.load_stations(db, bbox=_pad_bbox(cells, query.radius_m),
                                      kinds=query.kinds, amenities=query.amenities)
    notes = []
    if query.skip_reported_closed and not stations.empty:
        closed = trust_store.places_reported_closed(db, stations["id"].astype(int).tolist())
        if closed:
            stations = stations[~stations["id"].astype(int).isin(closed)].reset_index(drop=True)
            notes.append(NOTE_REPORTED_CLOSED)
    selection = StationFilter(kinds=query.kinds, amenities=query.amenities, window=window,
                                  unknown_hours_open=query.unknown_hours_open,
                                  min_open_share=query.min_open_share)
    label_text = window.describe()
    before = analyze_coverage(cells, stations, radius_m=query.radius_m, selection=selection,
                                  window_label=label_text, network=network)
    result, baseline = before, None
    if query.add or query.remove:
        baseline = before
        result = what_if(before, add=query.add, remove=query.remove,
                             selection=selection, network=network)
    lines = None
    if network is not None:
        from geo.planning.network import service_area_lines

        xy = project(result.stations["lon"].to_numpy(float),
                         result.stations["lat"].to_numpy(float), crs=network.crs)
        lines = service_area_lines(network, xy, radius_m=query.radius_m)
    if any(not d["has_riders"] for d in datasets):
        notes.append(NOTE_NO_RIDERS)
    return CoverageAnswer(result=result, before=baseline, datasets=datasets,
                          service_lines=lines, is_demo=any(d["is_demo"] for d in datasets),
                          notes=notes)


def run_siting(
    answer: CoverageAnswer,
    *,
    p: int | None = None,
    budget: float | None = None,
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
    candidates : pandas.DataFrame, optional
        Host candidates (:func:`geo.planning.candidates.read_candidates`).
    from_cells : bool
        Also offer the centres of uncovered cells.
    max_cell_candidates : int
        At most this many uncovered cells (the heaviest).
    network, time_limit_s
        As for :func:`geo.planning.siting.plan_sites`.
    """
    result = answer.result
    pool = []
    if candidates is not None and len(candidates):
        pool.append(candidates)
    if from_cells:
        pool.append(candidates_from_cells(result.cells, limit=max_cell_candidates))
    frame = pd.concat(pool, ignore_index=True) if pool else pd.DataFrame()
    if frame.empty:
        raise InvalidInput("no candidate sites: every cell is covered and no candidate file "
                           "was given", field="candidates")
    return plan_sites(result.cells, frame, existing=result.stations,
                          radius_m=result.radius_m, p=p, budget=budget, default_cost=cost,
                          network=network, time_limit_s=time_limit_s)


@lru_cache(maxsize=4)
def load_network(path: str, directed: bool = False) -> Any:
    """Load (once per process) a road network named in ``PLANNER_NETWORKS``."""
    from geo.planning.network import load_graphml

    return load_graphml(Path(path), directed=directed)


# --------------------------------------------------------------------------- #
# Request parsing
# --------------------------------------------------------------------------- #


def _lonlat_list(values: Sequence[str]) -> tuple[tuple[float, float], ...]:
    from geo.places.crs import validate_lonlat
    from geo.places.vocabulary import CHINA_BBOX

    out = []
    for raw in [v for v in values if v.strip()][:MAX_WHAT_IF]:
        lon_text, sep, lat_text = raw.partition(",")
        if not sep:
            raise InvalidInput(f"add {raw[:40]!r}: expected LON,LAT in WGS-84 degrees",
                               field="add")
        lon = parse_float(lon_text, "add", lo=-180, hi=180)
        lat = parse_float(lat_text, "add", lo=-90, hi=90)
        out.append(validate_lonlat(lon, lat, bbox=CHINA_BBOX))
    return tuple(out)


def _codes(args: MultiDict[str, str], name: str, allowed: Sequence[str]) -> tuple[str, ...]:
    values = [v for raw in args.getlist(name) for v in raw.split(",") if v.strip()]
    bad = [v for v in values if v.strip() not in allowed]
    if bad:
        raise InvalidInput(f"{name} {bad[0][:40]!r} is not one of {', '.join(allowed)}",
                           field=name)
    return tuple(dict.fromkeys(v.strip() for v in values))


def query_from_args(args: MultiDict[str, str]) -> PlannerQuery:
    """Parse the planner's query string into a :class:`PlannerQuery` (400 on bad input)."""
    window = text_param(args, "window", max_len=40) or "weekday-lunch"
    parse_window(window)  # validate early, with the window's own message
    radius = float_param(args, "radius_m", lo=50, hi=5000)
    share = float_param(args, "min_open_share", lo=0, hi=1)
    kinds = _codes(args, "kind", KINDS) if "kind" in args else ("station",)
    return PlannerQuery(
        city=text_param(args, "city", max_len=60),
        datasets=tuple(d[:100] for d in args.getlist("dataset") if d.strip())[:10],
        district=text_param(args, "district", max_len=60),
        window=window,
        kinds=kinds,
        amenities=_codes(args, "amenity", AMENITIES),
        radius_m=radius if radius is not None else DEFAULT_RADIUS_M,
        min_open_share=share if share is not None else 0.5,
        unknown_hours_open=args.get("unknown_hours", "open") != "closed",
        add=_lonlat_list(args.getlist("add")),
        remove=tuple(r.strip()[:40] for r in args.getlist("remove") if r.strip())[:MAX_WHAT_IF],
        skip_reported_closed=args.get("reported_closed") == "skip",
    )


@dataclass(frozen=True)
class SitingParams:
    """What the page asked of siting (None: no siting)."""

    p: int | None
    budget: float | None
    cost: float
    candidates: str | None

    @property
    def wanted(self) -> bool:
        """Return whether siting was asked for."""
        return self.p is not None or self.budget is not None


def siting_from_args(args: MultiDict[str, str]) -> SitingParams:
    """Parse ``p``, ``budget``, ``cost`` and ``candidates`` (a configured file name)."""
    p = int_param(args, "p", default=None, lo=1, hi=MAX_P)
    budget = float_param(args, "budget", lo=1, hi=1e10)
    cost = float_param(args, "cost", lo=1, hi=1e9)
    if p is not None and budget is not None:
        raise InvalidInput("give either p or a budget, not both", field="p")
    name = text_param(args, "candidates", max_len=60)
    if name and name not in _candidate_files():
        raise InvalidInput(f"candidates {name!r} is not a configured candidate file",
                           field="candidates")
    return SitingParams(p=p, budget=budget, cost=cost or DEFAULT_SITE_COST, candidates=name)


def _candidate_files() -> dict[str, dict[str, str]]:
    return dict(current_app.config.get("PLANNER_CANDIDATES") or {})


def _networks() -> dict[str, str]:
    return dict(current_app.config.get("PLANNER_NETWORKS") or {})


def _network_from_args(args: MultiDict[str, str]) -> tuple[str | None, Any]:
    name = text_param(args, "network", max_len=60)
    if not name:
        return None, None
    networks = _networks()
    if name not in networks:
        raise InvalidInput(f"network {name!r} is not configured", field="network")
    return name, load_network(networks[name])


# --------------------------------------------------------------------------- #
# A small cache: the page, its map script, curve and exports share one answer
# --------------------------------------------------------------------------- #

_cache: OrderedDict[str, tuple[float, Any]] = OrderedDict()
_cache_lock = threading.Lock()


def _cached(key: str, compute: Callable[[], Any]) -> Any:
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit and hit[0] > now and not current_app.testing:
            _cache.move_to_end(key)
            return hit[1]
    value = compute()
    with _cache_lock:
        _cache[key] = (now + CACHE_TTL_S, value)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return value


def _analysis(args: MultiDict[str, str]) -> tuple[PlannerQuery, CoverageAnswer,
                                                   SitingResult | None, SitingParams]:
    query = query_from_args(args)
    if not (query.city or query.datasets):
        raise InvalidInput(_("Choose a city or a dataset to analyse."), field="city")
    params = siting_from_args(args)
    network_name, network = _network_from_args(args)
    db = session()
    stamp = tuple((d["name"], str(d["created_at"])) for d in activity.list_datasets(db))
    key = hashlib.sha256(f"{query.key()}|{params}|{network_name}|{stamp}".encode()).hexdigest()

    def compute() -> tuple[CoverageAnswer, SitingResult | None]:
        answer = run_coverage(db, query, network=network)
        siting = None
        if params.wanted:
            candidates = None
            if params.candidates:
                spec = _candidate_files()[params.candidates]
                candidates = read_candidates(spec["path"], crs=spec.get("crs", "wgs84"),
                                                 source=params.candidates)
            siting = run_siting(answer, p=params.p, budget=params.budget, cost=params.cost,
                                candidates=candidates, network=network,
                                time_limit_s=float(current_app.config.get(
                                    "PLANNER_TIME_LIMIT_S", 20.0)))
        return answer, siting

    answer, siting = _cached(key, compute)
    return query, answer, siting, params


# --------------------------------------------------------------------------- #
# Views
# --------------------------------------------------------------------------- #


def _tiles() -> TileSource:
    return TileSource.from_config(current_app.config)


def _asset_url(path: str) -> str:
    return url_for("static", filename=path)


def _form_context() -> dict[str, Any]:
    datasets = activity.list_datasets(session())
    return {
        "datasets": datasets,
        "cities": sorted({d["city"] for d in datasets}),
        "windows": ("weekday-lunch", "weekday-dinner", "lunch", "dinner", "night",
                    "early-morning", "all"),
        "kinds": [(k, label(KIND_TERMS, k)) for k in KINDS],
        "amenities": [(a, label(AMENITY_TERMS, a)) for a in AMENITIES],
        "networks": sorted(_networks()),
        "candidate_files": sorted(_candidate_files()),
    }


@bp.get("/")
@gate
def index() -> ResponseReturnValue:
    """The planner page: form, coverage, gaps, sites, curve and downloads."""
    context = _form_context()
    args = request.args
    if not (args.get("city") or args.get("dataset")):
        parts = render_parts(planner_map(None, tiles=_tiles(), asset_url=_asset_url),
                             registry_key=MAP_ID)
        return render_template("planner/index.html", parts=parts, answer=None, query=None,
                               siting=None, params=None, script_url=None, **context)
    query, answer, siting, params = _analysis(args)
    parts = render_parts(planner_map(answer.result, tiles=_tiles(), siting=siting,
                                     service_lines=answer.service_lines, added=query.add,
                                     asset_url=_asset_url), registry_key=MAP_ID)
    qs = request.query_string.decode("ascii", "replace")
    return render_template(
        "planner/index.html", parts=parts, answer=answer, query=query, siting=siting,
        params=params, qs=qs, script_url=url_for("planner.map_js") + "?" + qs,
        summary=answer.result.summary(),
        before=answer.before.summary() if answer.before is not None else None,
        gaps=answer.result.gaps.head(50).to_dict("records"),
        uncovered=answer.result.uncovered(top=50).to_dict("records"),
        districts=answer.result.districts.to_dict("records"),
        stations=answer.result.stations.head(200).to_dict("records"),
        sites=siting.sites.to_dict("records") if siting is not None else [],
        siting_summary=siting.summary() if siting is not None else None,
        any_demo=answer.is_demo, **context,
    )


@bp.get("/map.js")
@gate
def map_js() -> ResponseReturnValue:
    """The planner map's script (same parameters as the page)."""
    if not (request.args.get("city") or request.args.get("dataset")):
        m = planner_map(None, tiles=_tiles(), asset_url=_asset_url)
        return Response(render_parts(m, registry_key=MAP_ID).script,
                        mimetype="application/javascript")
    query, answer, siting, _params = _analysis(request.args)
    m = planner_map(answer.result, tiles=_tiles(), siting=siting,
                    service_lines=answer.service_lines, added=query.add, asset_url=_asset_url)
    return Response(render_parts(m, registry_key=MAP_ID).script,
                    mimetype="application/javascript")


@bp.get("/curve.<any(png, svg):fmt>")
@gate
def curve(fmt: str) -> ResponseReturnValue:
    """The coverage curve of the siting answer (covered share against new stations)."""
    _query, _answer, siting, params = _analysis(request.args)
    if siting is None:
        raise InvalidInput("ask for sites first: give p or a budget", field="p")
    mimetype = "image/png" if fmt == "png" else "image/svg+xml"
    return Response(curve_image(siting, fmt=fmt), mimetype=mimetype)


_COVERAGE_LAYERS = ("gaps", "uncovered", "cells", "districts")


@bp.get("/<any(gaps, uncovered, cells, districts):layer>.<any(geojson, csv):fmt>")
@gate
def coverage_export(layer: str, fmt: str) -> ResponseReturnValue:
    """Coverage exports: gaps, uncovered cells, all cells or districts (WGS-84)."""
    _query, answer, _siting, _params = _analysis(request.args)
    buffer = io.StringIO()
    if fmt == "csv":
        write_coverage_csv(answer.result, buffer, layer=layer)
        return _download(buffer.getvalue(), f"coverage-{layer}.csv", "text/csv; charset=utf-8")
    if layer == "districts":
        raise InvalidInput("the district table is CSV only", field="fmt")
    write_coverage_geojson(answer.result, buffer, layer=layer)
    return _download(buffer.getvalue(), f"coverage-{layer}.geojson", "application/geo+json")


@bp.get("/checkins.csv")
@gate
def checkins_export() -> ResponseReturnValue:
    """Workers' check-ins per station, hour (China time) and purpose, last 90 days, as CSV."""
    since = datetime.now(UTC) - timedelta(days=CHECKIN_DAYS)
    rows = trust_store.checkin_rows(session(), since=since,
                                    city=text_param(request.args, "city", max_len=60))
    zone = ZoneInfo("Asia/Shanghai")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["place_id", "name", "station_no", "city", "district", "hour", "purpose",
                     "visits"])
    for r in rows:
        writer.writerow([r["place_id"], escape_formula(r["name"]),
                         escape_formula(r["station_no"] or ""), escape_formula(r["city"] or ""),
                         escape_formula(r["district"] or ""),
                         r["hour"].astimezone(zone).strftime("%Y-%m-%d %H:00"), r["purpose"],
                         r["visits"]])
    return _download(out.getvalue(), "checkins.csv", "text/csv")


@bp.get("/sites.<any(geojson, csv):fmt>")
@gate
def sites_export(fmt: str) -> ResponseReturnValue:
    """The proposed sites, in order with their marginal gains."""
    _query, _answer, siting, _params = _analysis(request.args)
    if siting is None:
        raise InvalidInput("ask for sites first: give p or a budget", field="p")
    buffer = io.StringIO()
    if fmt == "csv":
        write_sites_csv(siting, buffer)
        return _download(buffer.getvalue(), "sites.csv", "text/csv; charset=utf-8")
    write_sites_geojson(siting, buffer)
    return _download(buffer.getvalue(), "sites.geojson", "application/geo+json")


def _download(body: str, name: str, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def with_args(**changes: Any) -> str:
    """Return the current query string with parameters replaced (for what-if links)."""
    args = MultiDict(request.args)
    for name, value in changes.items():
        if value is None:
            args.poplist(name)
        elif isinstance(value, list | tuple):
            args.setlist(name, [str(v) for v in value])
        else:
            args.setlist(name, [str(value)])
    from urllib.parse import urlencode

    return url_for("planner.index") + "?" + urlencode(list(args.items(multi=True)))


@bp.app_template_global("planner_link")
def planner_link(**changes: Any) -> str:
    """Template helper: the planner URL with some parameters changed."""
    return with_args(**changes)
