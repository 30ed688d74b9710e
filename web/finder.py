"""The worker's finder: the map page ``/``, place pages, and the maps' scripts.

Pages keep ``script-src 'self'``: a folium map is rendered twice from the same
parameters -- once for its ``<div>`` and asset links in the page, once as
JavaScript served by :func:`map_script` / :func:`place_map_script` (see
:func:`web.maps.render_parts`).  Markers of the map page are not in the HTML at
all: ``static/js/finder.js`` loads them per view from
``/api/v1/places/clusters``, so 110,000 stations never reach one page.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from geo.db import queries
from geo.errors import InvalidInput, PlaceNotFound
from geo.places.areas import find_area
from geo.places.vocabulary import (
    AMENITIES,
    AMENITY_TERMS,
    KINDS,
    SIX_HAVES,
)
from web import maps
from web.db import session
from web.hours_text import describe
from web.i18n import LANG_COOKIE
from web.mapview import (
    LANG_COOKIE_MAX_AGE_S,
    MAIN_AMENITIES,
    SCRIPT_MAX_AGE_S,
    boot_context,
    js_strings,
    kinds_info,
    lang,
    map_cache,
    map_script_text,
    page_parts,
    place_url,
    route_strings,
    static_url,
    view_from_args,
    view_query,
)
from web.params import (
    amenities_param,
    bool_param,
    kinds_param,
    text_param,
)
from web.placeview import dial_number, feature, hours_now, nav_links, now
from web.templating import label
from web.trustview import place_panel

bp = Blueprint("finder", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    """The mobile map page: map, filters, search and the nearest places."""
    view = view_from_args()
    kinds = kinds_param(request.args)
    amenities = amenities_param(request.args)
    open_now = bool_param(request.args, "open_now")
    q = text_param(request.args, "q")
    parts = page_parts("finder")
    results = None
    if q:
        # Server-side search: the page works without JavaScript too.
        rows = queries.list_places(
            session(), where=queries.PlaceQuery(q=q, kinds=kinds, amenities=amenities), limit=20
        )
        at = now()
        results = [feature(r, at=at, place_url=place_url) for r in rows]
    return render_template(
        "finder/index.html",
        parts=parts,
        map_src=url_for("finder.map_script", map_id="finder", lang=lang(), **view_query(view)),
        kinds=kinds_info(),
        selected_kinds=kinds or KINDS,
        main_amenities=MAIN_AMENITIES,
        more_amenities=[a for a in AMENITIES if a not in MAIN_AMENITIES],
        amenities=amenities,
        open_now=open_now,
        q=q or "",
        results=results,
        strings=js_strings(),
        icons=static_url(f"{maps.ICONS_DIR}/icons.svg"),
        gcoord=static_url(f"{maps.GCOORD_DIR}/gcoord.js"),
        view=view,
        embed=False,
        **boot_context(view),
    )


@bp.get("/where.json")
def where() -> ResponseReturnValue:
    """A Chinese province, city or district by name: the point the list is measured from.

    For a rider without location: "search a place" finds any district of
    the project's boundaries (``geo.places.areas.find_area``).  400 when no
    area has the name or several do (the search then looks at place names).
    """
    q = text_param(request.args, "q")
    if not q:
        raise InvalidInput("q is required: a district, city or province name", field="q")
    try:
        area = find_area(q)
    except InvalidInput as exc:
        # Not a district: a valid answer to a search (the page then looks
        # at place names), so 200 with found=false, not an error in the console.
        return jsonify(found=False, message=str(exc))
    point = area.geometry.representative_point()
    west, south, east, north = area.geometry.bounds
    response = jsonify(
        found=True,
        name=area.name,
        # "成都市武侯区": a district's name alone can be ambiguous to a reader.
        label=f"{area.city or ''}{area.name}" if area.level == "district" else area.name,
        level=area.level,
        adcode=area.adcode,
        lon=round(point.x, 6),
        lat=round(point.y, 6),
        bbox=[round(v, 6) for v in (west, south, east, north)],
    )
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


# The app shell a service worker keeps for offline use (issue 12): pages'
# own files; the map's assets come from page_parts.
SHELL_FILES = (
    "css/yitu.css",
    "css/finder.css",
    "js/finder-boot.js",
    "js/finder.js",
    "js/place.js",
    "icons/icon-192.png",
)


@bp.get("/sw.js")
def service_worker() -> ResponseReturnValue:
    """The service worker, at the root so that its scope is the whole site."""
    parts = page_parts("finder")
    precache = [
        url_for("finder.index"),
        *[url_for("static", filename=f) for f in SHELL_FILES],
        static_url(f"{maps.ICONS_DIR}/icons.svg"),
        *parts.css,
        *parts.js,
    ]
    version = hashlib.sha256("\n".join(precache).encode()).hexdigest()[:12]
    script = render_template("finder/sw.js", precache=precache, version=version)
    response = current_app.response_class(script, mimetype="text/javascript")
    # Browsers check for a new worker on each visit: never cache it for long.
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/manifest.webmanifest")
def manifest() -> ResponseReturnValue:
    """The web app manifest: installable as 驿图 on a phone's home screen."""
    body = {
        "name": _("Yitu · outdoor workers' stations"),
        "short_name": _("Yitu"),
        "lang": "zh-CN" if lang() == "zh" else "en",
        "start_url": url_for("finder.index"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#fafafa",
        "theme_color": "#c0392b",
        "icons": [
            {
                "src": url_for("static", filename=f"icons/icon-{n}.png"),
                "sizes": f"{n}x{n}",
                "type": "image/png",
                "purpose": "any maskable",
            }
            for n in (192, 512)
        ],
    }
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json"
    )
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def script_response(script: str) -> Response:
    """Serve a map script with an ETag and a public cache lifetime."""
    response = current_app.response_class(script, mimetype="text/javascript")
    response.headers["Cache-Control"] = f"public, max-age={SCRIPT_MAX_AGE_S}"
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/maps/<any(finder, embed):map_id>.js")
def map_script(map_id: str) -> ResponseReturnValue:
    """The JavaScript of a finder or embed map (same parameters as its page)."""
    return script_response(map_script_text(map_id, view_from_args()))


def _place_or_404(place_id: int) -> dict[str, Any]:
    row = queries.get_place(session(), place_id) if 0 < place_id < 2**63 else None
    if row is None or row["status"] == "planned":
        raise PlaceNotFound(_("No place has the number %(id)s.", id=place_id))
    return row


@bp.get("/places/<int:place_id>")
def place(place_id: int) -> ResponseReturnValue:
    """Everything about one place: amenities, hours in words, checks, navigation."""
    row = _place_or_404(place_id)
    state = hours_now(row.get("opening_hours"), now())
    parts = page_parts("place")
    six = row.get("six_haves") or {}
    return render_template(
        "finder/place.html",
        place=row,
        hours=hours_words(row),
        state=state,
        amenities=[(a, label(AMENITY_TERMS, a)) for a in row.get("amenities") or []],
        six_haves=[(t.code, label(SIX_HAVES, t.code), six.get(t.code)) for t in SIX_HAVES],
        links=nav_links(
            row,
            labels={
                "amap": _("Amap"),
                "tencent": _("Tencent Maps"),
                "baidu": _("Baidu Maps"),
                "osm": _("OpenStreetMap"),
                "apple": _("Apple Maps"),
                "google": _("Google Maps"),
                "geo": _("Other map app (geo:)"),
            },
        ),
        tel=dial_number(row.get("phone")),
        route_strings=route_strings(),
        parts=parts,
        map_src=url_for("finder.place_map_script", place_id=place_id, lang=lang()),
        icons=static_url(f"{maps.ICONS_DIR}/icons.svg"),
        any_demo=row.get("is_demo"),
        kind_colour=maps.KIND_COLOURS.get(row["kind"], "#495057"),
        **place_panel(row),
    )


@bp.get("/places/<int:place_id>/map.js")
def place_map_script(place_id: int) -> ResponseReturnValue:
    """The JavaScript of a place page's small map."""
    row = _place_or_404(place_id)
    drawn = tuple((k, row.get(k)) for k in ("id", "name", "kind", "address", "lon", "lat"))
    return script_response(map_cache().place_script(drawn, lang()))


def hours_words(row: dict[str, Any]) -> str:
    """Say the opening hours in words, e.g. ``今天 08:00–20:00，营业中`` (plain text)."""
    return describe(row.get("opening_hours"), row.get("opening_hours_text"), now())


@bp.after_app_request
def remember_language(response: Response) -> Response:
    """Keep the language chosen with ``?lang=`` in a cookie; vary HTML on language."""
    chosen = request.args.get("lang")
    languages = current_app.config["LANGUAGES"]
    if (
        chosen in languages
        and request.cookies.get(LANG_COOKIE) != chosen
        and not request.path.startswith(("/api/", "/embed", "/static/"))
    ):
        response.set_cookie(
            LANG_COOKIE,
            chosen,
            max_age=LANG_COOKIE_MAX_AGE_S,
            samesite="Lax",
            httponly=True,
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        )
    if response.mimetype == "text/html":
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
    return response
