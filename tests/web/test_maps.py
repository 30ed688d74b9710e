"""web.maps: vendored assets only, escaped text, GCJ-02 shifting, CSP-friendly split."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point

from geo.places.crs import from_wgs84
from tests.finder_fixtures import HOSTILE_NAMES
from tests.map_data import map_features, shown_text
from web.maps import (
    KIND_COLOURS,
    add_places,
    base_map,
    places_map,
    render_parts,
)
from web.tile_source import TileSource

ROOT = Path(__file__).resolve().parents[2]
OSM = TileSource()
AMAP = TileSource(
    url="https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
    "&x={x}&y={y}&z={z}",
    attribution="&copy; 高德地图",
    crs="gcj02",
    subdomains="1234",
)
KIND_LABELS = {
    "station": "驿站",
    "reading_nook": "书屋",
    "breakfast_point": "早餐",
    "driver_home": "司机之家",
}
ASSET_URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def sample(n: int = 3) -> list[dict[str, object]]:
    return [
        {
            "id": i + 1,
            "name": HOSTILE_NAMES[i % len(HOSTILE_NAMES)],
            "kind": "station",
            "address": "郑州市 ${x} `y` 路",
            "lon": 113.66 + i * 0.01,
            "lat": 34.75,
        }
        for i in range(n)
    ]


def test_rendered_page_loads_no_cdn_asset() -> None:
    m = places_map(sample(), tiles=OSM, kind_labels=KIND_LABELS)
    page = m.get_root().render()
    urls = ASSET_URL.findall(page)
    assert urls, "expected asset links"
    external = [u for u in urls if u.startswith(("http:", "https:", "//"))]
    assert external == []
    # The only absolute URL the page talks to is the tile template (and the
    # attribution links, which are anchors, not assets).
    scripts = re.findall(r"https?://[^\s\"'\\]+", page)
    assert {
        s for s in scripts if "openstreetmap.org" not in s and "leafletjs.com" not in s
    } == set()
    for name in ("jquery", "bootstrap", "awesome", "fontawesome", "cdn.", "cdnjs", "unpkg"):
        assert name not in page.lower()


def test_every_vendored_url_exists() -> None:
    parts = render_parts(places_map(sample(), tiles=OSM, kind_labels=KIND_LABELS))
    for url in (*parts.css, *parts.js):
        assert url.startswith("/static/")
        assert (ROOT / "web" / url.removeprefix("/")).is_file(), url


def test_text_is_escaped_in_popups_tooltips_and_layer_names() -> None:
    labels = {**KIND_LABELS, "station": "<b>${evil}</b>"}
    parts = render_parts(places_map(sample(4), tiles=OSM, kind_labels=labels))
    script = parts.script
    for raw in ("<img", "${document", "`;document", "<svg", "${x}", "`y`", "${evil}", "<b>"):
        assert raw not in script, raw
    features = map_features(script)
    # What a person sees is the literal text, whatever it contains.
    assert [shown_text(f["tooltip"]) for f in features] == [p["name"] for p in sample(4)]
    assert all("郑州市 ${x} `y` 路" in shown_text(f["popup"]) for f in features)


def test_template_syntax_in_user_text_is_never_compiled() -> None:
    names = ["SSTI {{7*191}} end", "{% raw %}x{% endraw %}", "{# c #}", "{{ 'q' }} \"dq\""]
    places = [
        {"id": i, "name": n, "kind": "station", "address": n, "lon": 113.6, "lat": 34.7}
        for i, n in enumerate(names, 1)
    ]
    script = render_parts(places_map(places, tiles=OSM, kind_labels=KIND_LABELS)).script
    assert "1337" not in script
    features = map_features(script)
    assert [shown_text(f["tooltip"]) for f in features] == names
    assert [shown_text(f["popup"]).count(n) for f, n in zip(features, names)] == [2] * 4


def test_default_folium_lists_are_left_alone() -> None:
    import folium

    before = list(folium.Map.default_js)
    base_map(tiles=OSM)
    assert folium.Map.default_js == before


def test_gcj02_tiles_shift_markers_and_centre() -> None:
    lon, lat = 113.66, 34.75
    wgs = render_parts(
        places_map([{"id": 1, "name": "a", "kind": "station", "lon": lon, "lat": lat}], tiles=OSM)
    ).script
    gcj = render_parts(
        places_map([{"id": 1, "name": "a", "kind": "station", "lon": lon, "lat": lat}], tiles=AMAP)
    ).script
    g_lon, g_lat = from_wgs84(lon, lat, crs="gcj02")
    assert map_features(wgs)[0]["at"] == [lat, lon]
    assert map_features(gcj)[0]["at"] == pytest.approx([g_lat, g_lon], abs=1e-7)
    assert f"[{g_lat}, {g_lon}]" in gcj  # the centre
    assert '"gcj02"' in gcj and '"wgs84"' in wgs


def test_geodataframe_input() -> None:
    frame = gpd.GeoDataFrame(
        {"id": [1, 2], "name": ["甲", "乙"], "kind": ["station", "driver_home"]},
        geometry=[Point(113.6, 34.7), Point(113.7, 34.8)],
        crs=4326,
    )
    script = render_parts(places_map(frame, tiles=OSM, kind_labels=KIND_LABELS)).script
    features = map_features(script)
    assert [f["shape"] for f in features] == ["circleMarker", "circleMarker"]
    assert [f["layer"] for f in features] == ["station", "driver_home"]
    assert features[1]["options"]["fillColor"] == KIND_COLOURS["driver_home"]
    with pytest.raises(ValueError, match="EPSG:4326"):
        places_map(frame.to_crs(3857), tiles=OSM)


def test_render_parts_is_deterministic_and_needs_no_inline_code() -> None:
    first = render_parts(places_map(sample(), tiles=OSM, kind_labels=KIND_LABELS))
    second = render_parts(places_map(sample(), tiles=OSM, kind_labels=KIND_LABELS))
    assert first.script == second.script
    assert first.map_name == "map_map"
    assert 'id="map_map"' in first.html
    assert "<script" not in first.html and "<style" not in first.html
    assert "window.yituMaps" in first.script


def test_layers_per_kind_and_registry() -> None:
    m = base_map(tiles=OSM, kind_labels=KIND_LABELS, map_id="finder")
    add_places(m, sample(2))
    script = render_parts(m).script
    assert script.count("L.featureGroup(") == 4
    assert '"station": feature_group_finder_' in script
    assert "L.control.layers(" in script


def test_tile_source_origins_and_matching() -> None:
    assert OSM.origins() == ("https://tile.openstreetmap.org",)
    assert AMAP.origins() == tuple(f"https://webrd0{i}.is.autonavi.com" for i in range(1, 5))
    assert OSM.matches("https://tile.openstreetmap.org/12/3339/1626.png")
    assert not OSM.matches("https://tile.openstreetmap.org.evil.example/1/2/3.png")
    assert AMAP.matches(
        "https://webrd03.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x=1&y=2&z=3"
    )
    assert TileSource(url="/tiles/{z}/{x}/{y}.png").origins() == ()
    with pytest.raises(ValueError):
        TileSource(crs="bd09")
    with pytest.raises(ValueError):
        TileSource(url="javascript:alert(1)")


def test_kind_colours_match_the_css() -> None:
    css = (ROOT / "web/static/css/finder.css").read_text()
    for kind, colour in KIND_COLOURS.items():
        assert re.search(rf"\.kind-{kind}\s*{{\s*background:\s*{colour};", css), kind
