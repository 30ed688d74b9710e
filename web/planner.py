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

The analysis itself lives in :mod:`geo.service.planning` (``run_coverage``,
``run_siting``, ``analyse``); the CLI (``yitu analyze``) and job workers call
the same functions.  This module parses requests and renders answers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from geo.activity.windows import parse_window
from geo.db import activity
from geo.db import trust as trust_store
from geo.errors import InvalidInput
from geo.export import escape_formula
from geo.places.timezone import SHANGHAI
from geo.places.vocabulary import AMENITIES, AMENITY_TERMS, KIND_TERMS, KINDS
from geo.planning.coverage import coverage_change
from geo.planning.coverage_export import write_coverage_csv, write_coverage_geojson
from geo.planning.metric import DEFAULT_RADIUS_M
from geo.planning.siting import DEFAULT_SITE_COST, SitingResult
from geo.planning.siting_export import write_sites_csv, write_sites_geojson
from geo.service.planning import (
    CoverageAnswer,
    PlannerQuery,
    ResultCache,
    SitingRequest,
    analyse,
    load_network,
)
from web.auth import planner_required
from web.db import session
from web.maps import render_parts
from web.params import float_param, int_param, parse_float, text_param
from web.planner_curves import curve_image
from web.planner_maps import MAP_ID, planner_map
from web.planner_report import report_pdf
from web.planner_words import method_in_words, proof_in_words, window_in_words
from web.templating import label
from web.tile_source import TileSource

bp = Blueprint("planner", __name__, url_prefix="/planner")

#: The access check of every planner view.  Planners and admins log in (the
#: accounts issue); PLANNER_PUBLIC opens the pages to anyone.
gate = planner_required

#: Largest p a page may ask for.
MAX_P = 200
#: What-if stations per request, at most.
MAX_WHAT_IF = 20


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
            raise InvalidInput(f"add {raw[:40]!r}: expected LON,LAT in WGS-84 degrees", field="add")
        lon = parse_float(lon_text, "add", lo=-180, hi=180)
        lat = parse_float(lat_text, "add", lo=-90, hi=90)
        out.append(validate_lonlat(lon, lat, bbox=CHINA_BBOX))
    return tuple(out)


def _codes(args: MultiDict[str, str], name: str, allowed: Sequence[str]) -> tuple[str, ...]:
    values = [v for raw in args.getlist(name) for v in raw.split(",") if v.strip()]
    bad = [v for v in values if v.strip() not in allowed]
    if bad:
        raise InvalidInput(f"{name} {bad[0][:40]!r} is not one of {', '.join(allowed)}", field=name)
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


#: Days of check-ins the planner's export covers.
CHECKIN_DAYS = 90


@dataclass(frozen=True)
class SitingParams:
    """What the page asked of siting (None: no siting)."""

    p: int | None
    budget: float | None
    cost: float
    candidates: str | None
    target: float | None = None  # percent of activity to reach with the fewest new stations
    min_share: float | None = None  # percent every district must reach (with p or a budget)

    @property
    def wanted(self) -> bool:
        """Return whether siting was asked for."""
        return self.p is not None or self.budget is not None or self.target is not None


def siting_from_args(args: MultiDict[str, str]) -> SitingParams:
    """Parse ``p``, ``budget``, ``cost`` and ``candidates`` (a configured file name)."""
    p = int_param(args, "p", default=None, lo=1, hi=MAX_P)
    budget = float_param(args, "budget", lo=1, hi=1e10)
    cost = float_param(args, "cost", lo=1, hi=1e9)
    target = float_param(args, "target", lo=0.1, hi=100)
    min_share = float_param(args, "min_share", lo=0.1, hi=100)
    if min_share is not None and p is None and budget is None:
        raise InvalidInput(
            _("A minimum share per district needs a number of stations or a budget."),
            field="min_share",
        )
    if sum(x is not None for x in (p, budget, target)) > 1:
        raise InvalidInput(
            _("Give one of: a number of stations, a budget, or a share to reach."), field="p"
        )
    name = text_param(args, "candidates", max_len=60)
    if name and name not in _candidate_files():
        raise InvalidInput(
            f"candidates {name!r} is not a configured candidate file", field="candidates"
        )
    return SitingParams(
        p=p,
        budget=budget,
        cost=cost or DEFAULT_SITE_COST,
        candidates=name,
        target=target,
        min_share=min_share,
    )


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


_CACHE = ResultCache()


def _analysis(
    args: MultiDict[str, str],
) -> tuple[PlannerQuery, CoverageAnswer, SitingResult | None, SitingParams]:
    query = query_from_args(args)
    if not (query.city or query.datasets):
        raise InvalidInput(_("Choose a city or a dataset to analyse."), field="city")
    params = siting_from_args(args)
    network_name, network = _network_from_args(args)
    request_ = SitingRequest(
        p=params.p,
        budget=params.budget,
        target_share=params.target / 100 if params.target is not None else None,
        min_district_share=params.min_share / 100 if params.min_share is not None else None,
        cost=params.cost,
        candidates=(
            (params.candidates, _candidate_files()[params.candidates])
            if params.candidates
            else None
        ),
    )
    answer, siting = analyse(
        session(),
        query,
        request_,
        network_name=network_name,
        network=network,
        time_limit_s=float(current_app.config.get("PLANNER_TIME_LIMIT_S", 20.0)),
        cache=_CACHE,
        reuse=not current_app.testing,
    )
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
        "windows": (
            "weekday-lunch",
            "weekday-dinner",
            "lunch",
            "dinner",
            "night",
            "early-morning",
            "all",
        ),
        "kinds": [(k, label(KIND_TERMS, k)) for k in KINDS],
        "amenities": [(a, label(AMENITY_TERMS, a)) for a in AMENITIES],
        "networks": sorted(_networks()),
        "window_in_words": window_in_words,
        "method_in_words": method_in_words,
        "candidate_files": sorted(_candidate_files()),
    }


@bp.get("/")
@gate
def index() -> ResponseReturnValue:
    """The planner page: form, coverage, gaps, sites, curve and downloads."""
    context = _form_context()
    args = request.args
    if not (args.get("city") or args.get("dataset")):
        parts = render_parts(
            planner_map(None, tiles=_tiles(), asset_url=_asset_url), registry_key=MAP_ID
        )
        return render_template(
            "planner/index.html",
            parts=parts,
            answer=None,
            query=None,
            siting=None,
            params=None,
            script_url=None,
            **context,
        )
    query, answer, siting, params = _analysis(args)
    parts = render_parts(
        planner_map(
            answer.result,
            tiles=_tiles(),
            siting=siting,
            service_lines=answer.service_lines,
            added=query.add,
            asset_url=_asset_url,
        ),
        registry_key=MAP_ID,
    )
    qs = request.query_string.decode("ascii", "replace")
    return render_template(
        "planner/index.html",
        parts=parts,
        answer=answer,
        query=query,
        siting=siting,
        params=params,
        qs=qs,
        script_url=url_for("planner.map_js") + "?" + qs,
        summary=answer.result.summary(),
        before=answer.before.summary() if answer.before is not None else None,
        change=(
            coverage_change(answer.before, answer.result).to_dict("records")
            if answer.before is not None
            else []
        ),
        gaps=answer.result.gaps.head(50).to_dict("records"),
        uncovered=answer.result.uncovered(top=50).to_dict("records"),
        districts=answer.result.districts.to_dict("records"),
        stations=answer.result.stations.head(200).to_dict("records"),
        sites=siting.sites.to_dict("records") if siting is not None else [],
        siting_summary=siting.summary() if siting is not None else None,
        siting_proof=proof_in_words(siting.summary()) if siting is not None else None,
        any_demo=answer.is_demo,
        **context,
    )


@bp.get("/map.js")
@gate
def map_js() -> ResponseReturnValue:
    """The planner map's script (same parameters as the page)."""
    if not (request.args.get("city") or request.args.get("dataset")):
        m = planner_map(None, tiles=_tiles(), asset_url=_asset_url)
        return Response(
            render_parts(m, registry_key=MAP_ID).script, mimetype="application/javascript"
        )
    query, answer, siting, _params = _analysis(request.args)
    m = planner_map(
        answer.result,
        tiles=_tiles(),
        siting=siting,
        service_lines=answer.service_lines,
        added=query.add,
        asset_url=_asset_url,
    )
    return Response(render_parts(m, registry_key=MAP_ID).script, mimetype="application/javascript")


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


@bp.get("/report.pdf")
@gate
def report() -> ResponseReturnValue:
    """The printable A4 report of this analysis (and its sites, when asked for)."""
    query, answer, siting, params = _analysis(request.args)
    body = report_pdf(answer, siting, inputs=_inputs_in_words(query, params))
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = 'inline; filename="yitu-plan.pdf"'
    return response


def _inputs_in_words(query: PlannerQuery, params: SitingParams) -> list[tuple[str, str]]:
    rows = [
        (_("City"), query.city or ""),
        (_("Datasets"), ", ".join(query.datasets) or _("all of the city")),
        (_("District"), query.district or _("whole city")),
        (_("Time window"), window_in_words(query.window)),
        (_("Kinds counted"), ", ".join(label(KIND_TERMS, k) for k in query.kinds)),
        (
            _("Required amenities"),
            ", ".join(label(AMENITY_TERMS, a) for a in query.amenities) or "-",
        ),
        (_("Service distance"), f"{query.radius_m:.0f} m"),
    ]
    if query.add or query.remove:
        rows.append((_("What-if"), f"+{len(query.add)} / -{len(query.remove)}"))
    if params.p is not None:
        rows.append((_("Number of new stations (p)"), str(params.p)))
    if params.budget is not None:
        rows.append((_("Budget (yuan)"), f"{params.budget:,.0f}"))
    if params.target is not None:
        rows.append((_("Share to reach"), f"{params.target:g} %"))
    if params.min_share is not None:
        rows.append((_("Every district at least"), f"{params.min_share:g} %"))
    if params.wanted:
        rows.append((_("Cost per station (yuan)"), f"{params.cost:,.0f}"))
        rows.append((_("Candidate hosts"), params.candidates or _("uncovered cells only")))
    return rows


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
    rows = trust_store.checkin_rows(
        session(), since=since, city=text_param(request.args, "city", max_len=60)
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["place_id", "name", "station_no", "city", "district", "hour", "purpose", "visits"]
    )
    for r in rows:
        writer.writerow(
            [
                r["place_id"],
                escape_formula(r["name"]),
                escape_formula(r["station_no"] or ""),
                escape_formula(r["city"] or ""),
                escape_formula(r["district"] or ""),
                r["hour"].astimezone(SHANGHAI).strftime("%Y-%m-%d %H:00"),
                r["purpose"],
                r["visits"],
            ]
        )
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
