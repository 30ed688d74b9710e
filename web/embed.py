"""Embeds: ``/embed`` for partner sites' ``<iframe>``, and a builder that prints the snippet.

``/embed`` is the only page other origins may frame.  It declares that with
:func:`web.security.frameable` (an attribute on the view), and the global
header hook in :mod:`web.security` then sends ``frame-ancestors`` from
``EMBED_FRAME_ANCESTORS`` (default ``*``) instead of ``'none'`` and leaves out
``X-Frame-Options``.  Everything else, the builder included, stays
unframeable.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import escape

from geo.db import queries
from geo.errors import InvalidInput
from geo.places.vocabulary import AMENITIES, KINDS
from web import maps
from web.db import session
from web.mapview import (
    boot_context,
    js_strings,
    kinds_info,
    lang,
    page_parts,
    static_url,
    view_from_args,
    view_query,
)
from web.params import amenities_param, int_param, kinds_param, text_param
from web.security import frameable

bp = Blueprint("embed", __name__)

# Parameters an embed URL may carry, in the order the builder writes them.
EMBED_PARAMS = ("city", "bbox", "lon", "lat", "zoom", "kind", "amenity", "open_now", "lang")
MAX_CITIES = 400


def city_view(city: str, zoom: int | None) -> dict[str, Any]:
    """Return the view of a city's places, trying the name with and without 市."""
    for name in dict.fromkeys((city, city.removesuffix("市"), city + "市")):
        extent = queries.place_extent(session(), where=queries.PlaceQuery(city=name))
        if extent is not None:
            if zoom is not None:
                return {
                    "lon": (extent[0] + extent[2]) / 2,
                    "lat": (extent[1] + extent[3]) / 2,
                    "zoom": zoom,
                }
            return {"bbox": _pad(extent)}
    known = [c for c, _n in queries.cities(session())][:8]
    raise InvalidInput(
        f"city {city!r} has no places; expected a city name as stored"
        + (f", e.g. {', '.join(known)}" if known else ""),
        field="city",
    )


def _pad(extent: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    # A single station has a zero-size extent; give the view some room.
    min_lon, min_lat, max_lon, max_lat = extent
    pad = 0.005
    return (min_lon - pad, min_lat - pad, max_lon + pad, max_lat + pad)


def embed_view() -> dict[str, Any]:
    """Parse the embed's view from ``city``, ``bbox`` or ``lon``/``lat``/``zoom``."""
    city = text_param(request.args, "city", max_len=40)
    zoom = int_param(request.args, "zoom", default=None, lo=3, hi=19)
    if city:
        return city_view(city, zoom)
    return view_from_args()


@bp.get("/embed")
@frameable
def embed() -> ResponseReturnValue:
    """A bare map for other sites' frames, set up entirely by URL parameters."""
    view = embed_view()
    kinds = kinds_param(request.args)
    amenities = amenities_param(request.args)
    parts = page_parts("embed")
    script_args = {"lang": lang(), **view_query(view)}
    full_args = {k: v for k, v in request.args.items(multi=False) if k in EMBED_PARAMS}
    return render_template(
        "embed/index.html",
        parts=parts,
        map_src=url_for("finder.map_script", map_id="embed", **script_args),
        selected_kinds=kinds or KINDS,
        amenities=amenities,
        open_now=request.args.get("open_now") in ("1", "true"),
        kinds=kinds_info(),
        strings=js_strings(),
        icons=static_url(f"{maps.ICONS_DIR}/icons.svg"),
        gcoord=static_url(f"{maps.GCOORD_DIR}/gcoord.js"),
        full_url=url_for(
            "finder.index",
            _external=True,
            **{k: v for k, v in full_args.items() if k not in ("city",)},
        ),
        **boot_context(view),
    )


@bp.get("/embed/builder")
def builder() -> ResponseReturnValue:
    """Pick a city or area, kinds and amenities; preview the embed and copy its snippet."""
    args = request.args
    city = text_param(args, "city", max_len=40)
    kinds = kinds_param(args)
    amenities = amenities_param(args)
    zoom = int_param(args, "zoom", default=None, lo=3, hi=19)
    chosen_lang = args.get("embed_lang") if args.get("embed_lang") in ("zh", "en") else lang()
    height = int_param(args, "height", default=480, lo=200, hi=1200)
    params: list[tuple[str, str]] = []
    if city:
        city_view(city, zoom)  # 400 now, in the builder, rather than in the partner's page
        params.append(("city", city))
    if zoom is not None:
        params.append(("zoom", str(zoom)))
    params += [("kind", k) for k in kinds] + [("amenity", a) for a in amenities]
    if args.get("open_now") in ("1", "true"):
        params.append(("open_now", "1"))
    params.append(("lang", chosen_lang))
    src = url_for("embed.embed", _external=True) + "?" + urlencode(params)
    title = escape(_("Map of outdoor workers' stations"))
    snippet = (
        f'<iframe src="{escape(src)}" width="100%" height="{height}" style="border:0" '
        f'loading="lazy" allow="geolocation" referrerpolicy="strict-origin-when-cross-origin" '
        f'title="{title}"></iframe>'
    )
    return render_template(
        "embed/builder.html",
        cities=queries.cities(session())[:MAX_CITIES],
        city=city or "",
        kinds=kinds_info(),
        chosen_kinds=kinds,
        all_amenities=AMENITIES,
        chosen_amenities=amenities,
        zoom=zoom,
        open_now=args.get("open_now") in ("1", "true"),
        embed_lang=chosen_lang,
        height=height,
        src=src,
        snippet=snippet,
    )
