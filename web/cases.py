"""Caseworker pages for the hardship-household register, and the planners' aggregate view.

Caseworkers see the households of their own districts only: a list, an
exact-match search, one household's page with its visits and support
(送温暖, amounts), a map, and CSV/XLSX exports with spreadsheet formulas
neutralised.  Every read goes through :mod:`geo.db.households`, which writes
the audit rows; the view commits them with the request.

Planners (and admins) see households only as k-anonymous H3 cells over the
whole register: no filters and no polygons, so counts cannot be subtracted
from one another to isolate a household (see :mod:`geo.register.privacy`).

Everything here uses the private session (role ``yitu_app``).
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import folium
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import Markup

from geo.db import households as register
from geo.errors import InvalidInput
from geo.export import write_csv, write_xlsx
from geo.register import privacy
from geo.register.households import (
    CATEGORIES,
    CATEGORY_TERMS,
    HOUSEHOLD_STATUSES,
    SUPPORT_TERMS,
    parse_amount,
)
from web import private_db
from web.auth import actor, current_user, login_required_role
from web.escape import safe_text
from web.maps import base_map, draw, render_parts
from web.params import int_param
from web.templating import label
from web.tile_source import TileSource

bp = Blueprint("cases", __name__)
caseworker_required = login_required_role("caseworker")
# Not planner_required: PLANNER_PUBLIC opens planning pages, never households.
aggregate_required = login_required_role("planner", "admin")
PER_PAGE = 50
MAP_ID = "households"
CELLS_MAP_ID = "household_cells"


def _districts() -> tuple[str, ...]:
    """The logged-in caseworker's districts; an empty scope sees nothing."""
    return tuple(current_user.districts)


def _today() -> date:
    return date.today()


def _choice(name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.args.get(name) or None
    if value is not None and value not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}", field=name)
    return value


def _date(name: str) -> date:
    raw = (request.form.get(name) or "").strip()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a date YYYY-MM-DD", field=name) from None


def _asset_url(path: str) -> str:
    return url_for("static", filename=path)


@bp.context_processor
def labels() -> dict[str, Any]:
    """Vocabulary labels for the household templates."""
    return {
        "category_label": lambda c: label(CATEGORY_TERMS, c),
        "support_label": lambda c: label(SUPPORT_TERMS, c),
    }


@bp.after_request
def never_cache(response: Response) -> Response:
    """Household pages and files must not be kept by browsers or proxies."""
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------------------
# Caseworkers


@bp.get("/cases/")
@caseworker_required
def index() -> ResponseReturnValue:
    """List the households of the caseworker's districts, 50 to a page."""
    category = _choice("category", CATEGORIES)
    status = _choice("status", HOUSEHOLD_STATUSES)
    page = int_param(request.args, "page", default=1, lo=1, hi=100_000) or 1
    db = private_db.private_session()
    rows, total = register.list_households(
        db,
        private_db.cipher(),
        actor(),
        districts=_districts(),
        category=category,
        status=status,
        limit=PER_PAGE,
        offset=(page - 1) * PER_PAGE,
    )
    db.commit()  # the audit rows
    return render_template(
        "cases/index.html",
        rows=rows,
        total=total,
        page=page,
        per_page=PER_PAGE,
        category=category,
        status=status,
        categories=CATEGORIES,
        statuses=HOUSEHOLD_STATUSES,
        any_synthetic=any(r.is_synthetic for r in rows),
    )


@bp.route("/cases/search", methods=["GET", "POST"])
@caseworker_required
def search() -> ResponseReturnValue:
    """Find households by exact name, ID number, phone or household number.

    Terms come only in a POST body: in a URL they would reach browser
    history, Referer headers and proxy logs.
    """
    terms = {
        k: (request.form.get(k) or "").strip()[:64]
        for k in ("name", "id_number", "phone", "household_no")
    }
    rows = None
    if any(terms.values()):
        db = private_db.private_session()
        rows = register.search_households(
            db, private_db.cipher(), actor(), districts=_districts(), **terms
        )
        db.commit()
    return render_template(
        "cases/search.html",
        rows=rows,
        terms=terms,
        any_synthetic=any(r.is_synthetic for r in rows or ()),
    )


@bp.get("/cases/households/<household_id>")
@caseworker_required
def household(household_id: str) -> ResponseReturnValue:
    """Show one household: contact details, location, visits and support."""
    db = private_db.private_session()
    detail = register.get_household(
        db, private_db.cipher(), household_id, actor(), districts=_districts()
    )
    db.commit()
    return render_template(
        "cases/household.html",
        h=detail,
        today=_today().isoformat(),
        support_kinds=[t.code for t in SUPPORT_TERMS],
        any_synthetic=detail.summary.is_synthetic,
    )


@bp.post("/cases/households/<household_id>/visits")
@caseworker_required
def add_visit(household_id: str) -> ResponseReturnValue:
    """Record a visit to a household."""
    db = private_db.private_session()
    register.add_visit(
        db,
        private_db.cipher(),
        household_id,
        actor(),
        districts=_districts(),
        visited_on=_date("visited_on"),
        notes=request.form.get("notes"),
        today=_today(),
    )
    db.commit()
    flash(_("Visit recorded."), "info")
    return redirect(url_for("cases.household", household_id=household_id))


@bp.post("/cases/households/<household_id>/support")
@caseworker_required
def add_support(household_id: str) -> ResponseReturnValue:
    """Record support given to a household (kind and amount in yuan)."""
    db = private_db.private_session()
    register.add_support(
        db,
        private_db.cipher(),
        household_id,
        actor(),
        districts=_districts(),
        given_on=_date("given_on"),
        kind=request.form.get("kind", ""),
        amount_yuan=parse_amount(request.form.get("amount_yuan", "")),
        notes=request.form.get("notes"),
        today=_today(),
    )
    db.commit()
    flash(_("Support recorded."), "info")
    return redirect(url_for("cases.household", household_id=household_id))


def _household_map(points: list[register.HouseholdPoint] | None) -> folium.Map:
    tiles = TileSource.from_config(current_app.config)
    m = base_map(tiles=tiles, map_id=MAP_ID, asset_url=_asset_url)
    if not points:
        return m
    lons = [p.lon for p in points]
    lats = [p.lat for p in points]
    m = base_map(
        tiles=tiles,
        map_id=MAP_ID,
        asset_url=_asset_url,
        bounds=(min(lons), min(lats), max(lons), max(lats)) if len(points) > 1 else None,
        center=(lons[0], lats[0]),
        zoom=15,
    )
    display_lon, display_lat = tiles.to_display(lons, lats)
    for point, lon, lat in zip(points, display_lon, display_lat, strict=True):
        link = url_for("cases.household", household_id=str(point.id))
        html = Markup('<a href="{}">{}</a>').format(safe_text(link), safe_text(point.household_no))
        # Only the household number travels to the browser as text; names
        # stay on the household's own page.
        draw(
            m,
            "circleMarker",
            (float(lat), float(lon)),
            popup=html,
            tooltip=safe_text(point.household_no),
            options={
                "radius": 7,
                "color": "#ffffff",
                "weight": 2,
                "fill": True,
                "fillColor": "#7048e8" if point.is_synthetic else "#c92a2a",
                "fillOpacity": 0.9,
            },
        )
    return m


@bp.get("/cases/map")
@caseworker_required
def map_page() -> ResponseReturnValue:
    """The map of the caseworker's districts (points load with the map script)."""
    parts = render_parts(_household_map(None), registry_key=MAP_ID)
    return render_template(
        "cases/map.html", parts=parts, script_url=url_for("cases.map_js"), districts=_districts()
    )


@bp.get("/cases/map.js")
@caseworker_required
def map_js() -> ResponseReturnValue:
    """The map's script with the household points (audited as a map read)."""
    db = private_db.private_session()
    points = register.map_points(db, actor(), districts=_districts())
    db.commit()
    script = render_parts(_household_map(points), registry_key=MAP_ID).script
    return Response(script, mimetype="application/javascript")


@bp.get("/cases/export.<fmt>")
@caseworker_required
def export(fmt: str) -> ResponseReturnValue:
    """Export the caseworker's households as CSV or XLSX (formulas neutralised)."""
    if fmt not in ("csv", "xlsx"):
        raise InvalidInput("format must be csv or xlsx", field="fmt")
    db = private_db.private_session()
    rows = register.export_rows(db, private_db.cipher(), actor(), districts=_districts(), fmt=fmt)
    db.commit()  # the audit rows go in before any byte is sent
    stamp = _today().strftime("%Y%m%d")
    if fmt == "csv":
        buffer = io.StringIO()
        write_csv(rows, register.EXPORT_COLUMNS, buffer)
        data = io.BytesIO(buffer.getvalue().encode("utf-8"))
        return send_file(
            data,
            mimetype="text/csv; charset=utf-8",
            as_attachment=True,
            download_name=f"households-{stamp}.csv",
        )
    return _xlsx_response(rows, stamp)


def _xlsx_response(rows: Iterator[dict[str, Any]], stamp: str) -> Response:
    # openpyxl's streaming writer needs a file; it is read back and deleted at once.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.xlsx"
        write_xlsx(rows, register.EXPORT_COLUMNS, path)
        data = io.BytesIO(path.read_bytes())
    return send_file(
        data,
        as_attachment=True,
        download_name=f"households-{stamp}.xlsx",
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


# ---------------------------------------------------------------------------
# Planners: k-anonymous aggregates only


def _aggregate() -> privacy.CellAggregate:
    db = private_db.private_session()
    result = register.aggregate(
        db,
        actor(),
        resolution=int(current_app.config["HOUSEHOLD_H3_RESOLUTION"]),
        k=int(current_app.config["HOUSEHOLD_K"]),
    )
    db.commit()
    return result


def _cells_map(result: privacy.CellAggregate | None) -> folium.Map:
    tiles = TileSource.from_config(current_app.config)
    features = privacy.aggregate_geojson(result)["features"] if result else []
    if not features:
        return base_map(
            tiles=tiles, map_id=CELLS_MAP_ID, asset_url=_asset_url, zoom=4, center=(104.0, 35.0)
        )
    ring_lons = [x for f in features for x, _ in f["geometry"]["coordinates"][0]]
    ring_lats = [y for f in features for _, y in f["geometry"]["coordinates"][0]]
    m = base_map(
        tiles=tiles,
        map_id=CELLS_MAP_ID,
        asset_url=_asset_url,
        bounds=(min(ring_lons), min(ring_lats), max(ring_lons), max(ring_lats)),
    )
    top = max(f["properties"]["count"] for f in features)
    for feature in features:
        ring = feature["geometry"]["coordinates"][0]
        lons, lats = tiles.to_display([x for x, _ in ring], [y for _, y in ring])
        count = int(feature["properties"]["count"])
        draw(
            m,
            "polygon",
            [(float(y), float(x)) for x, y in zip(lons, lats, strict=True)],
            options={
                "color": "#862e9c",
                "weight": 1,
                "fill": True,
                "fillColor": "#862e9c",
                "fillOpacity": 0.15 + 0.6 * count / top,
            },
            tooltip=safe_text(_("%(n)d households", n=count)),
        )
    return m


@bp.get("/households/cells")
@aggregate_required
def cells_page() -> ResponseReturnValue:
    """Households as k-anonymous H3 cells (planners, admins)."""
    parts = render_parts(_cells_map(None), registry_key=CELLS_MAP_ID)
    return render_template(
        "cases/cells.html",
        parts=parts,
        script_url=url_for("cases.cells_js"),
        k=current_app.config["HOUSEHOLD_K"],
        resolution=current_app.config["HOUSEHOLD_H3_RESOLUTION"],
    )


@bp.get("/households/cells.js")
@aggregate_required
def cells_js() -> ResponseReturnValue:
    """The aggregate map's script."""
    script = render_parts(_cells_map(_aggregate()), registry_key=CELLS_MAP_ID).script
    return Response(script, mimetype="application/javascript")


@bp.get("/households/cells.geojson")
@aggregate_required
def cells_geojson() -> ResponseReturnValue:
    """The aggregate as GeoJSON hexagons (WGS-84), cells under k left out."""
    return Response(privacy_json(_aggregate()), mimetype="application/geo+json")


def privacy_json(result: privacy.CellAggregate) -> str:
    """Serialise an aggregate as GeoJSON text."""
    return json.dumps(privacy.aggregate_geojson(result), ensure_ascii=False)


@bp.record_once
def _on_register(state: Any) -> None:
    private_db.init_app(state.app)
