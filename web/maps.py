"""folium map builders: places in, ``folium.Map`` out, with no CDN and no live user text.

Three rules hold for every map built here:

* **Vendored assets only.**  Each map's ``default_js``/``default_css`` point at
  ``web/static/vendor/`` (Leaflet only; folium's jQuery, Bootstrap,
  awesome-markers and Font Awesome are dropped because nothing here uses
  them).  A rendered page names no ``http(s)`` asset besides the tile URL.
* **User text is data, never template source.**  branca compiles the output
  of every folium macro as a new, unsandboxed Jinja2 template, so a station
  named ``{{7*191}}`` drawn with ``folium.Tooltip`` would be evaluated on the
  server (SECURITY.md, point 11).  Markers, shapes, tooltips and popups are
  therefore never folium elements: :func:`draw` records them as plain data on
  the map, and :func:`render_parts` appends them to the rendered script as one
  JSON literal, after branca is done, for ``web/static/js/map-data.js`` to
  draw.  Their text is HTML built only from :func:`web.escape.safe_text`
  pieces (which also escapes ``{`` and ``}``, a second wall).
* **Drawn in the tiles' system.**  Places are stored in WGS-84.  When the tile
  source is GCJ-02 (Amap, Tencent), everything drawn -- markers, the centre,
  the bounds -- is shifted to GCJ-02 with :func:`geo.places.crs.from_wgs84_arrays`,
  or it would sit 100-700 m off the streets.  The browser does the same for
  what it loads later (``web/static/js/finder.js`` with the vendored
  ``gcoord``).

Pages keep a strict CSP (``script-src 'self'``): :func:`render_parts` splits a
rendered map into asset URLs, the map ``<div>`` and the map's JavaScript, which
a view serves from a same-origin ``.js`` route instead of an inline script.
Ids are made deterministic so the same map renders byte-identically (and the
script route can answer ``304 Not Modified``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import folium
import numpy as np
from branca.element import CssLink, Element, JavascriptLink
from folium.template import Template
from markupsafe import Markup

from geo.places.vocabulary import KINDS
from web.escape import safe_text
from web.tile_source import TileSource

__all__ = [
    "GCOORD_DIR",
    "ICONS_DIR",
    "KIND_COLOURS",
    "LEAFLET_DIR",
    "DataLayer",
    "MapParts",
    "add_places",
    "base_map",
    "data_layers",
    "default_asset_url",
    "draw",
    "places_map",
    "place_popup_html",
    "render_parts",
]

# Vendored asset folders under web/static/ (see web/static/vendor/README.md).
LEAFLET_DIR = "vendor/leaflet-1.9.4"
GCOORD_DIR = "vendor/gcoord-1.0.7"
ICONS_DIR = "vendor/tabler-icons-3.51.0"


# One colour per kind, also used by finder.js and the CSS legend (kept in
# sync by tests/web/test_maps.py).  Chosen to stay distinguishable for the
# common colour-vision deficiencies and readable in bright sunlight.
KIND_COLOURS: dict[str, str] = {
    "station": "#d9480f",
    "reading_nook": "#1864ab",
    "breakfast_point": "#2b8a3e",
    "driver_home": "#6741d9",
}


def default_asset_url(path: str) -> str:
    """Return the URL of a file under ``web/static/`` outside a request."""
    return "/static/" + path


class DataLayer(folium.FeatureGroup):
    """A toggleable overlay whose shapes arrive as JSON data (see :func:`draw`).

    Parameters
    ----------
    key
        Stable name the data refers to (a place kind, or a planner layer).
    label
        Translated name shown in the layer control.
    show
        Whether the overlay is on when the map opens.
    """

    def __init__(self, key: str, *, label: str, show: bool = True) -> None:
        # Leaflet's layer control writes the name with innerHTML.
        super().__init__(name=str(safe_text(label)), show=show)
        self.key = key


Shape = Literal["circleMarker", "circle", "polygon", "polyline"]


def draw(
    m: folium.Map,
    shape: Shape,
    at: Sequence[float] | Sequence[Sequence[float]],
    *,
    options: Mapping[str, Any],
    layer: str | None = None,
    tooltip: Markup | str | None = None,
    popup: Markup | str | None = None,
    popup_max_width_px: int = 280,
) -> None:
    """Record one Leaflet shape on ``m``, drawn in the browser from JSON data.

    Parameters
    ----------
    m
        A map from :func:`base_map`.
    shape
        Leaflet factory: ``circleMarker`` (radius in screen pixels),
        ``circle`` (``options["radius"]`` in metres), ``polygon``, ``polyline``.
    at
        ``[lat, lon]`` of a point, or a list of them for a polygon or line, in
        the tiles' system (callers shift with :meth:`TileSource.to_display`).
    options
        Leaflet path options (camelCase: ``fillColor``, ``fillOpacity``...).
    layer
        Key of a :class:`DataLayer` of ``m``; None draws on the map itself.
    tooltip, popup
        HTML from :func:`web.escape.safe_text` pieces.  A plain ``str`` is
        escaped here rather than trusted.
    popup_max_width_px
        Widest popup, in CSS pixels.
    """
    feature: dict[str, Any] = {"shape": shape, "at": _rounded(at), "options": dict(options)}
    if layer is not None:
        feature["layer"] = layer
    if tooltip is not None:
        feature["tooltip"] = str(safe_text(tooltip))
    if popup is not None:
        feature["popup"] = str(safe_text(popup))
        feature["popupMaxWidth"] = popup_max_width_px
    m.__dict__.setdefault("_yitu_features", []).append(feature)


def _rounded(at: Any) -> Any:
    # 1e-7 degrees is about 1 cm: plenty on a map, and it keeps scripts small.
    if isinstance(at, (int, float, np.floating, np.integer)):
        return round(float(at), 7)
    return [_rounded(v) for v in at]


def _data_script(key: str, features: list[dict[str, Any]]) -> str:
    """Return the call that draws ``features``; the data is a JSON literal, never a template.

    ``<``, ``>`` and ``&`` are written as ``\\u`` escapes so the literal
    cannot end a ``<script>`` element even if the script is ever inlined.
    """
    payload = json.dumps({"features": features}, ensure_ascii=False, separators=(",", ":"))
    for char in "<>&\u2028\u2029":
        payload = payload.replace(char, f"\\u{ord(char):04x}")
    return f"\nwindow.yituDrawData({json.dumps(key)}, {payload});\n"


class _Registry(folium.MacroElement):
    """Publish the map, its tile layer and kind layers as ``window.yituMaps[key]``.

    The page's own script (``finder.js``) picks the map up from there, instead
    of guessing folium's generated variable names.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (window.yituMaps = window.yituMaps || {})[{{ this.key|tojson }}] = {
                map: {{ this._parent.get_name() }},
                tiles: {{ this.tile_layer.get_name() if this.tile_layer else "null" }},
                tileCrs: {{ this.tile_crs|tojson }},
                layers: {
                {%- for kind, layer in this.layers.items() %}
                    {{ kind|tojson }}: {{ layer.get_name() }},
                {%- endfor %}
                }
            };
        {% endmacro %}
        """
    )

    def __init__(
        self,
        key: str,
        *,
        tile_layer: folium.TileLayer | None,
        tile_crs: str,
        layers: Mapping[str, DataLayer],
    ) -> None:
        super().__init__()
        self._name = "YituRegistry"
        self.key = key
        self.tile_layer = tile_layer
        self.tile_crs = tile_crs
        self.layers = dict(layers)


def _vendor_links(asset_url: Callable[[str], str]) -> tuple[list[tuple[str, str]], ...]:
    js = [
        ("leaflet", asset_url(f"{LEAFLET_DIR}/leaflet.js")),
        ("yitu_map_data", asset_url("js/map-data.js")),
    ]
    css = [("leaflet_css", asset_url(f"{LEAFLET_DIR}/leaflet.css"))]
    return js, css


def base_map(
    *,
    tiles: TileSource,
    center: tuple[float, float] = (113.6654, 34.7579),
    zoom: int = 12,
    bounds: tuple[float, float, float, float] | None = None,
    map_id: str = "map",
    kind_labels: Mapping[str, str] | None = None,
    asset_url: Callable[[str], str] = default_asset_url,
    min_zoom: int = 3,
    zoom_control: bool = True,
) -> folium.Map:
    """Build an empty map with the configured tiles, vendored assets and kind layers.

    Parameters
    ----------
    tiles
        The tile source; its ``crs`` decides how ``center`` and ``bounds`` are
        shifted before drawing.
    center
        ``(lon, lat)`` WGS-84 degrees of the initial view.
    zoom
        Initial zoom level (ignored when ``bounds`` is given).
    bounds
        ``(min_lon, min_lat, max_lon, max_lat)`` WGS-84 degrees to fit, or None.
    map_id
        Stable id: the map ``<div>`` is ``map_<map_id>`` and the page script
        finds the map as ``window.yituMaps[map_id]``.
    kind_labels
        ``{kind: translated label}``; one toggleable overlay per kind, in
        ``geo.places.KINDS`` order.  None or empty: no kind layers.
    asset_url
        Turns a path under ``web/static/`` into a URL (``url_for`` in a view).
    min_zoom
        Lowest zoom the user can reach (3 shows all of China on a phone).
    zoom_control
        Whether to show Leaflet's +/- buttons.

    Returns
    -------
    folium.Map
        A map that loads no CDN asset.
    """
    lon, lat = tiles.to_display([center[0]], [center[1]])
    m = folium.Map(
        location=(float(lat[0]), float(lon[0])),
        zoom_start=zoom,
        tiles=None,
        min_zoom=min_zoom,
        max_zoom=tiles.max_zoom,
        control_scale=True,
        prefer_canvas=True,  # thousands of circle markers stay smooth on a phone
        zoom_control=zoom_control,
    )
    # Instance attributes, not in-place edits: folium's add_js_link mutates the
    # class-level list shared by every Map.
    m.default_js, m.default_css = _vendor_links(asset_url)
    m._id = map_id
    if bounds is not None:
        # Before the tile layer and without animation: Leaflet would otherwise
        # fetch the tiles (and the page its markers) of the provisional
        # centre/zoom first, then those of the fitted view.
        fit = folium.FitBounds(_display_bounds(tiles, bounds))
        fit.options["animate"] = False
        m.add_child(fit)
    tile_layer = folium.TileLayer(
        tiles=tiles.url,
        attr=tiles.attribution,
        name="base",
        max_zoom=tiles.max_zoom,
        max_native_zoom=min(tiles.max_zoom, 18),
        subdomains=tiles.subdomains,
        control=False,
        # crossOrigin stays off: tiles are plain <img>, no CORS needed.
    )
    tile_layer.add_to(m)
    m._yitu_tile_layer = tile_layer
    m._yitu_tiles = tiles
    for kind in KINDS:
        if kind_labels and kind in kind_labels:
            DataLayer(kind, label=kind_labels[kind]).add_to(m)
    return m


def _display_bounds(
    tiles: TileSource, bounds: tuple[float, float, float, float]
) -> list[list[float]]:
    min_lon, min_lat, max_lon, max_lat = bounds
    lons, lats = tiles.to_display([min_lon, max_lon], [min_lat, max_lat])
    return [[float(lats[0]), float(lons[0])], [float(lats[1]), float(lons[1])]]


def data_layers(m: folium.Map) -> dict[str, DataLayer]:
    """Return the map's overlays by key (kind layers and planner layers alike)."""
    return {child.key: child for child in m._children.values() if isinstance(child, DataLayer)}


def place_popup_html(
    place: Mapping[str, Any],
    *,
    kind_labels: Mapping[str, str] | None = None,
    place_url: Callable[[Any], str] | None = None,
    details_label: str = "Details",
) -> Markup:
    """Return a popup's HTML for one place; every value goes through ``safe_text``.

    Parameters
    ----------
    place
        Mapping with at least ``name``; optional ``kind``, ``address``, ``id``.
    kind_labels
        ``{kind: translated label}``.
    place_url
        Builds the place page URL from ``place["id"]``; no link when None.
    details_label
        Translated text of the link.
    """
    parts = [Markup("<strong>{}</strong>").format(safe_text(place.get("name")))]
    kind = place.get("kind")
    if kind:
        label = (kind_labels or {}).get(kind, kind)
        parts.append(Markup('<span class="kind">{}</span>').format(safe_text(label)))
    if place.get("address"):
        parts.append(Markup('<span class="address">{}</span>').format(safe_text(place["address"])))
    if place_url is not None and place.get("id") is not None:
        parts.append(
            Markup('<a href="{}">{}</a>').format(
                safe_text(place_url(place["id"])), safe_text(details_label)
            )
        )
    return Markup('<div class="yitu-popup">') + Markup("<br>").join(parts) + Markup("</div>")


def _records(places: Any) -> list[dict[str, Any]]:
    """Normalise a GeoDataFrame or an iterable of mappings to dicts with lon/lat."""
    if hasattr(places, "geometry") and hasattr(places, "crs"):
        if places.crs is None or places.crs.to_epsg() != 4326:
            raise ValueError(
                f"places must be in WGS-84 (EPSG:4326), got {places.crs}; use to_crs(4326)"
            )
        frame = places.drop(columns=places.geometry.name)
        rows = frame.to_dict(orient="records")
        for row, geom in zip(rows, places.geometry, strict=True):
            row["lon"], row["lat"] = float(geom.x), float(geom.y)
        return rows
    return [dict(p) for p in places]


def add_places(
    m: folium.Map,
    places: Any,
    *,
    popup: Callable[[Mapping[str, Any]], Markup] | None = place_popup_html,
    tooltip: bool = True,
    radius_px: int = 8,
) -> folium.Map:
    """Draw places as circle markers, into their kind's layer when the map has one.

    Parameters
    ----------
    m
        A map from :func:`base_map`.
    places
        A GeoDataFrame of points in EPSG:4326, or an iterable of mappings with
        ``lon``/``lat`` (WGS-84 degrees), ``name``, ``kind`` and optionally
        ``id`` and ``address``.
    popup
        Builds the escaped popup HTML of one place, or None for no popup.
    tooltip
        Whether hovering shows the (escaped) name.
    radius_px
        Marker radius in screen pixels.

    Returns
    -------
    folium.Map
        ``m``, for chaining.
    """
    rows = _records(places)
    if not rows:
        return m
    tiles: TileSource = m._yitu_tiles
    lons, lats = tiles.to_display([r["lon"] for r in rows], [r["lat"] for r in rows])
    layers = data_layers(m)
    for row, lon, lat in zip(rows, lons, lats, strict=True):
        kind = str(row.get("kind"))
        draw(
            m,
            "circleMarker",
            (float(lat), float(lon)),
            options={
                "radius": radius_px,
                "color": "#ffffff",
                "weight": 2,
                "fill": True,
                "fillColor": KIND_COLOURS.get(kind, "#495057"),
                "fillOpacity": 0.95,
            },
            layer=kind if kind in layers else None,
            tooltip=safe_text(row.get("name")) if tooltip else None,
            popup=popup(row) if popup is not None else None,
        )
    return m


def places_map(
    places: Any,
    *,
    tiles: TileSource,
    kind_labels: Mapping[str, str] | None = None,
    popup: Callable[[Mapping[str, Any]], Markup] | None = place_popup_html,
    map_id: str = "map",
    zoom: int = 16,
    asset_url: Callable[[str], str] = default_asset_url,
) -> folium.Map:
    """Build a map showing ``places``, centred on one or fitted to several.

    Parameters are those of :func:`base_map` and :func:`add_places`; the
    view is centred on the single place at ``zoom``, or fitted to all.
    """
    rows = _records(places)
    if not rows:
        raise ValueError("places_map needs at least one place")
    lons = [r["lon"] for r in rows]
    lats = [r["lat"] for r in rows]
    single = len(rows) == 1
    if popup is place_popup_html:
        popup = functools.partial(place_popup_html, kind_labels=kind_labels)
    m = base_map(
        tiles=tiles,
        center=(lons[0], lats[0]),
        zoom=zoom,
        bounds=None if single else (min(lons), min(lats), max(lons), max(lats)),
        map_id=map_id,
        kind_labels=kind_labels,
        asset_url=asset_url,
    )
    return add_places(m, rows, popup=popup)


@dataclass(frozen=True)
class MapParts:
    """A rendered map split for a page with a strict CSP.

    Attributes
    ----------
    css, js
        Asset URLs, in load order (all same-origin for maps built here).
    html
        The map ``<div>``.
    script
        The map's JavaScript, to be served as ``application/javascript`` from
        a same-origin route and loaded after the vendored scripts.
    map_name
        The id of the map ``<div>`` (``map_<map_id>``).
    """

    css: tuple[str, ...]
    js: tuple[str, ...]
    html: Markup
    script: str
    map_name: str


def _stable_ids(element: Element, prefix: str, counter: list[int]) -> None:
    # folium names JS variables from a random uuid per element; numbering them
    # in tree order makes two renders of the same map identical.
    for child in list(element._children.values()):
        counter[0] += 1
        child._id = f"{prefix}_{counter[0]}"
        _stable_ids(child, prefix, counter)


def render_parts(m: folium.Map, *, registry_key: str | None = None) -> MapParts:
    """Render ``m`` and split it into assets, ``<div>`` and script.

    Parameters
    ----------
    m
        A map from :func:`base_map`.
    registry_key
        Key under which the page script finds the map (``window.yituMaps``);
        defaults to the map id.

    Returns
    -------
    MapParts
        Pieces that need no inline script and no inline style.
    """
    layers = data_layers(m)
    if layers and not any(isinstance(c, folium.LayerControl) for c in m._children.values()):
        folium.LayerControl(collapsed=True, position="topright").add_to(m)
    registry = next((c for c in m._children.values() if isinstance(c, _Registry)), None)
    if registry is None:
        registry = _Registry(
            registry_key or m._id,
            tile_layer=getattr(m, "_yitu_tile_layer", None),
            tile_crs=m._yitu_tiles.crs,
            layers=layers,
        )
        registry.add_to(m)
    _stable_ids(m, m._id, [0])
    figure = m.get_root()
    figure.render()
    css = tuple(c.url for c in figure.header._children.values() if isinstance(c, CssLink))
    js = tuple(c.url for c in figure.header._children.values() if isinstance(c, JavascriptLink))
    return MapParts(
        css=css,
        js=js,
        # folium's own <div> markup; ids are ours, no user text in it.
        html=Markup(figure.html.render()),  # noqa: S704
        # The data joins the script after branca has compiled and rendered
        # it: user text never passes through a template compiler.
        script=figure.script.render()
        + _data_script(registry.key, m.__dict__.get("_yitu_features", [])),
        map_name=m.get_name(),
    )
