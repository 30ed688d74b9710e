"""What the finder and the embed share: views, the maps' cache, boot data for finder.js.

Neither blueprint imports the other; both import this module.  Coordinates
are WGS-84 degrees (lon, lat).
"""

from __future__ import annotations

import functools
import json
import time
from typing import Any

from flask import (
    current_app,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from geo.db import queries
from geo.places.vocabulary import (
    CHINA_BBOX,
    KIND_TERMS,
    KINDS,
)
from web import maps
from web.db import session
from web.params import (
    bbox_param,
    int_param,
    lonlat_params,
)
from web.templating import label

# Chips shown first on a phone; the rest sit behind "more".  The four
# difficulties of the unions' reports (eat, drink, rest, toilet) plus power.
MAIN_AMENITIES: tuple[str, ...] = (
    "water",
    "toilet",
    "charging",
    "microwave",
    "seating",
    "hot_water",
    "cooling",
    "heating",
)
NEARBY_K = 10
EXTENT_TTL_S = 600.0
SCRIPT_MAX_AGE_S = 3600
LANG_COOKIE_MAX_AGE_S = 365 * 24 * 3600


def place_url(place_id: int) -> str:
    """URL of a place's page."""
    return url_for("finder.place", place_id=place_id)


def tile_source() -> maps.TileSource:
    """Return the configured tile source (built once per app)."""
    cached = current_app.extensions.get("yitu.tile_source")
    if cached is None:
        cached = maps.TileSource.from_config(current_app.config)
        current_app.extensions["yitu.tile_source"] = cached
    return cached


def static_url(path: str) -> str:
    """URL of a file under ``web/static/``."""
    return url_for("static", filename=path)


def lang() -> str:
    """The request's language code (``zh`` or ``en``)."""
    return str(get_locale())


def kind_labels() -> dict[str, str]:
    """Kind labels in the request's language."""
    return {k: label(KIND_TERMS, k) for k in KINDS}


def data_extent() -> tuple[float, float, float, float]:
    """The extent of the active places (cached a few minutes), or all of China."""
    cached = current_app.extensions.get("yitu.extent")
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    extent = queries.place_extent(session()) or CHINA_BBOX
    current_app.extensions["yitu.extent"] = (time.monotonic() + EXTENT_TTL_S, extent)
    return extent


def view_from_args() -> dict[str, Any]:
    """Parse the initial view: ``bbox``, or ``lon``+``lat``(+``zoom``), or the data extent."""
    args = request.args
    zoom = int_param(args, "zoom", default=None, lo=3, hi=19)
    bbox = bbox_param(args)
    if "lon" in args or "lat" in args:
        lon, lat = lonlat_params(args)
        return {"lon": lon, "lat": lat, "zoom": zoom or 15}
    if bbox is not None:
        return {"bbox": bbox}
    return {"bbox": data_extent()}


def view_query(view: dict[str, Any]) -> dict[str, Any]:
    """Return a view as query parameters of the map script."""
    if "bbox" in view:
        return {"bbox": ",".join(f"{v:.6f}" for v in view["bbox"])}
    return {"lon": f"{view['lon']:.6f}", "lat": f"{view['lat']:.6f}", "zoom": view["zoom"]}


def build_map(map_id: str, view: dict[str, Any], *, zoom_control: bool = True) -> Any:
    """Build the (empty) folium map of a finder or embed page."""
    tiles = tile_source()
    if "bbox" in view:
        bbox = view["bbox"]
        return maps.base_map(
            tiles=tiles,
            map_id=map_id,
            bounds=bbox,
            center=((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2),
            kind_labels=kind_labels(),
            asset_url=static_url,
            zoom_control=zoom_control,
        )
    return maps.base_map(
        tiles=tiles,
        map_id=map_id,
        center=(view["lon"], view["lat"]),
        zoom=view["zoom"],
        kind_labels=kind_labels(),
        asset_url=static_url,
        zoom_control=zoom_control,
    )


class MapCache:
    """Rendered maps of one app, memoised.

    Rendering a folium map costs tens of milliseconds; its output depends only
    on the map id, the view, the language and the app's configuration, so
    each combination is rendered once per process.  Per app (not module-level)
    so that apps with other tiles or another database never share entries.
    """

    def __init__(self) -> None:
        self.script = functools.lru_cache(maxsize=512)(self._script)
        self.page = functools.lru_cache(maxsize=32)(self._page)
        self.place_script = functools.lru_cache(maxsize=1024)(self._place_script)

    @staticmethod
    def _script(map_id: str, view_key: tuple[Any, ...], language: str) -> str:
        del language  # part of the key: kind labels are translated
        m = build_map(map_id, dict(view_key), zoom_control=map_id != "embed")
        return maps.render_parts(m).script

    @staticmethod
    def _page(map_id: str, language: str) -> maps.MapParts:
        # Asset links and the <div> do not depend on the view.
        del language
        m = build_map(map_id, {"lon": 113.0, "lat": 34.0, "zoom": 10})
        parts = maps.render_parts(m)
        return maps.MapParts(
            css=parts.css, js=parts.js, html=parts.html, script="", map_name=parts.map_name
        )

    @staticmethod
    def _place_script(place: tuple[tuple[str, Any], ...], language: str) -> str:
        del language
        return maps.render_parts(place_map(dict(place))).script


def map_cache() -> MapCache:
    """This app's :class:`MapCache`."""
    cache = current_app.extensions.get("yitu.map_cache")
    if cache is None:
        cache = current_app.extensions.setdefault("yitu.map_cache", MapCache())
    return cache


def view_key(view: dict[str, Any]) -> tuple[Any, ...]:
    """A hashable form of a view, for the map cache."""
    return tuple(
        sorted((k, tuple(v) if isinstance(v, list | tuple) else v) for k, v in view.items())
    )


def page_parts(map_id: str) -> maps.MapParts:
    """Asset links and ``<div>`` of a map page (no script: that is served separately)."""
    return map_cache().page(map_id, lang())


def map_script_text(map_id: str, view: dict[str, Any]) -> str:
    """The JavaScript of a map for ``view``."""
    return map_cache().script(map_id, view_key(view), lang())


def js_strings() -> dict[str, Any]:
    """Texts the page script shows, translated; ``{n}`` etc. are filled in by the script."""
    return {
        "open": _("Open"),
        "closed": _("Closed"),
        "hours_unknown": _("Hours unknown"),
        "open_24_7": _("Open 24 hours"),
        "closes_at": _("closes at {time}"),
        "opens_at": _("opens {time}"),
        "walk": _("{min} min walk"),
        "ride": _("{min} min ride"),
        "metres": _("{n} m"),
        "km": _("{n} km"),
        "details": _("Details"),
        "zoom_in": _("{n} places here: zoom in"),
        "places_here": _("{n} places"),
        "no_places": _("No places match these filters here."),
        "loading": _("Loading…"),
        "load_failed": _("Could not load places. Check the connection and try again."),
        "near_you": _("near you"),
        "near_centre": _("near the map centre"),
        "you_are_here": _("You are here"),
        "locate_failed": _("Your position is not available; showing places near the map centre."),
        "search_results": _("Search results"),
        "no_results": _("Nothing found."),
        "demo": _("demo"),
        "nearest": _("Nearest places"),
        "kinds": kind_labels(),
        "near_place": _("near {place} (searched)"),
        "tomorrow": _("tomorrow"),
        # Sunday first: JavaScript's Date.getUTCDay() numbering.
        "weekdays": [
            _("Sunday"),
            _("Monday"),
            _("Tuesday"),
            _("Wednesday"),
            _("Thursday"),
            _("Friday"),
            _("Saturday"),
        ],
    }


def route_strings() -> dict[str, str]:
    """Texts web/static/js/place.js shows on a place page."""
    return {
        "from_you": _("{dist} from you"),
        "walk": _("{min} min walk"),
        "ride": _("{min} min ride"),
        "metres": _("{n} m"),
        "km": _("{n} km"),
        "copied": _("Link copied"),
    }


def boot_context(view: dict[str, Any]) -> dict[str, Any]:
    """What ``finder-boot.js`` needs to ask for the first view before Leaflet runs."""
    plain = {k: list(v) if isinstance(v, tuple) else v for k, v in view.items()}
    tiles = tile_source()
    return {"view_json": json.dumps(plain), "tile_crs": tiles.crs, "max_zoom": tiles.max_zoom}


def kinds_info() -> list[dict[str, str]]:
    """Kinds with label and marker colour, for the legend."""
    return [
        {"code": k, "label": label(KIND_TERMS, k), "colour": maps.KIND_COLOURS[k]} for k in KINDS
    ]


def place_map(row: dict[str, Any]) -> Any:
    return maps.places_map(
        [row],
        tiles=tile_source(),
        map_id="place",
        zoom=16,
        kind_labels=kind_labels(),
        asset_url=static_url,
    )
