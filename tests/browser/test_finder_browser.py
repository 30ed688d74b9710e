"""The finder in headless Chromium, as a rider's phone would show it."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from geo.places.crs import from_wgs84
from tests.browser.conftest import CENTRE, LiveServer, Places, screenshot
from tests.finder_fixtures import HOSTILE_NAMES

pytestmark = pytest.mark.browser
TIMEOUT_MS = 15_000
VIEW = f"/?lon={CENTRE[0]}&lat={CENTRE[1]}&zoom=15"


def wait_ready(page: Any) -> None:
    page.wait_for_selector("body[data-ready='1']", timeout=TIMEOUT_MS)


def wait_until(page: Any, expression: str, arg: Any = None) -> None:
    """Poll ``expression`` in the page until it is truthy.

    Not ``page.wait_for_function``: its polling compiles the expression with
    eval, which the page's CSP (``script-src 'self'``) rightly refuses.
    ``page.evaluate`` goes through the DevTools protocol instead.
    """
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {TIMEOUT_MS} ms: {expression}")
        page.wait_for_timeout(50)


def shown_ids(page: Any) -> set[int]:
    """Ids of the single-place markers drawn on the map (SVG paths)."""
    classes = page.eval_on_selector_all(
        ".yitu-place", "nodes => nodes.map(n => n.getAttribute('class'))"
    )
    return {int(m.group(1)) for c in classes for m in [re.search(r"yitu-place-(\d+)", c)] if m}


def assert_clean(audit: Any) -> None:
    assert audit.violations == [], "requests left 127.0.0.1: " + ", ".join(audit.violations)
    assert audit.errors == []
    assert audit.dialogs == []


def test_map_renders_with_markers_and_records_tiles(
    make_page: Any, live_server: LiveServer, places: Places
) -> None:
    page, audit = make_page()
    page.goto(live_server.url + VIEW)
    wait_ready(page)

    assert shown_ids(page) == set(places.grid)
    assert page.title().startswith("找驿站")
    # No tile server is reachable: the page says so and still works.
    page.wait_for_selector("#tiles-down:not([hidden])", timeout=TIMEOUT_MS)
    assert audit.tile_requests, "the map asked for no tiles"
    assert all(u.startswith("https://tile.openstreetmap.org/15/") for u in audit.tile_requests)
    screenshot(page, "finder-phone-zh")
    assert_clean(audit)


def test_amenity_filter_and_kind_layers_change_what_is_shown(
    make_page: Any, live_server: LiveServer, places: Places
) -> None:
    page, audit = make_page()
    page.goto(live_server.url + VIEW)
    wait_ready(page)
    assert shown_ids(page) == set(places.grid)

    with page.expect_response(
        lambda r: "/api/v1/places/clusters" in r.url and "amenity=toilet" in r.url
    ):
        page.locator("label.chip", has=page.locator("input[value='toilet']")).click()
    wait_until(
        page, "n => document.querySelectorAll('.yitu-place').length === n", len(places.with_toilet)
    )
    assert shown_ids(page) == set(places.with_toilet)
    assert "amenity=toilet" in page.url  # the view can be shared
    screenshot(page, "finder-phone-filter-toilet")

    # Kinds are layers: hide the reading nooks.
    page.locator(".leaflet-control-layers").hover()
    page.locator(".leaflet-control-layers-overlays label", has_text="职工书屋").click()
    expected = set(places.with_toilet) - set(places.nooks)
    wait_until(page, "n => document.querySelectorAll('.yitu-place').length === n", len(expected))
    assert shown_ids(page) == expected
    assert_clean(audit)


PAN_TO = """id => { const reg = window.yituMaps.finder; let moved = false;
  Object.values(reg.layers).forEach(l => l.eachLayer(m => {
    if (m.feature && m.feature.id === id) {
      const before = reg.map.getCenter();
      reg.map.panTo(m.getLatLng(), {animate: false});
      moved = !before.equals(reg.map.getCenter()); } }));
  return moved; }"""


def _click_marker(page: Any, place_id: int) -> str:
    # Bring the marker to the middle first, clear of the buttons over the map;
    # a move reloads the markers, so wait for that before clicking.
    loads = int(page.get_attribute("#finder", "data-loads") or 0)
    if page.evaluate(PAN_TO, place_id):
        wait_until(page, "n => Number(document.getElementById('finder').dataset.loads) > n", loads)
    page.locator(f".yitu-place-{place_id}").click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=TIMEOUT_MS)
    text = popup.inner_text()
    page.evaluate("window.yituMaps.finder.map.closePopup()")
    page.wait_for_selector(".leaflet-popup", state="detached", timeout=TIMEOUT_MS)
    return text


def test_marker_popups_and_tooltips_are_escaped(
    make_page: Any, live_server: LiveServer, places: Places
) -> None:
    page, audit = make_page()
    page.goto(live_server.url + VIEW)
    wait_ready(page)
    title = page.title()

    for name, place_id in places.hostile.items():
        text = _click_marker(page, place_id)
        assert name in text  # shown as text, exactly as stored
    page.locator(f".yitu-place-{places.hostile[HOSTILE_NAMES[1]]}").hover()
    tooltip = page.get_by_role("tooltip", name=HOSTILE_NAMES[1], exact=True)
    tooltip.wait_for(timeout=TIMEOUT_MS)
    assert tooltip.inner_text() == HOSTILE_NAMES[1]

    assert page.title() == title
    assert "PWNED" not in page.title()
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("svg[onload]").count() == 0
    screenshot(page, "finder-phone-hostile-popup")
    assert_clean(audit)


def test_place_page_popup_from_folium_is_escaped(
    make_page: Any, live_server: LiveServer, places: Places
) -> None:
    page, audit = make_page()
    for name, place_id in places.hostile.items():
        page.goto(f"{live_server.url}/places/{place_id}")
        page.wait_for_selector("#map_place.leaflet-container", timeout=TIMEOUT_MS)
        title = page.title()
        box = page.locator("#map_place").bounding_box()
        # The single marker is drawn on the canvas at the map's centre.
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(timeout=TIMEOUT_MS)
        assert name in popup.inner_text()
        # The title holds the name as text; an executed payload would replace it.
        assert page.title() == title == f"{name} · 驿图"
        assert page.locator("h1").inner_text().strip() == name
    screenshot(page, "place-phone-hostile")
    assert page.locator("img[src='x']").count() == 0
    assert_clean(audit)


def test_list_shows_the_nearest_place_first(
    make_page: Any, live_server: LiveServer, places: Places
) -> None:
    lon, lat = places.trap_origin
    page, audit = make_page(
        geolocation={"longitude": lon, "latitude": lat}, permissions=["geolocation"]
    )
    page.goto(live_server.url + VIEW)
    wait_ready(page)
    with page.expect_response(
        lambda r: "/api/v1/places/nearest" in r.url and f"lon={lon:.6f}" in r.url
    ):
        page.locator("#locate").click()
    first = page.locator("#nearby-list li.nearby-item").first
    first.wait_for(timeout=TIMEOUT_MS)
    # Near 34 N the east place (923 m) is nearer than the north one (998 m),
    # though a degree-based KNN would rank them the other way round.
    ids = [
        int(i)
        for i in page.eval_on_selector_all(
            "#nearby-list li.nearby-item", "ns => ns.map(n => n.dataset.id)"
        )
    ]
    assert ids[:2] == [places.east, places.north]
    text = first.inner_text()
    assert "东边 923 米" in text
    assert re.search(r"9[12]0 米", text)  # rounded to 10 m
    assert "步行 12 分钟" in text and "骑行 4 分钟" in text
    assert "24小时营业" in text
    assert page.locator("#list-origin").inner_text() == "您附近"
    screenshot(page, "finder-phone-nearest")
    assert_clean(audit)


def test_search_box_finds_by_name_or_address(
    make_page: Any, live_server: LiveServer, places: Places
) -> None:
    page, audit = make_page()
    page.goto(live_server.url + VIEW)
    wait_ready(page)
    page.fill("#q", "测试市第 5 号")
    with page.expect_response(lambda r: "/api/v1/places?" in r.url and "q=" in r.url):
        page.press("#q", "Enter")
    wait_until(page, "() => document.querySelectorAll('#nearby-list li.nearby-item').length === 1")
    assert page.locator("#list-title").inner_text() == "搜索结果"
    assert_clean(audit)


def test_english_page(make_page: Any, live_server: LiveServer) -> None:
    page, audit = make_page(locale="en-GB")
    page.goto(live_server.url + VIEW)
    wait_ready(page)
    assert page.title().startswith("Find a station")
    assert "min walk" in page.locator("#nearby-list").inner_text()
    screenshot(page, "finder-phone-en")
    assert_clean(audit)


def test_gcj02_tiles_draw_shifted_markers(
    make_page: Any, live_server_gcj02: LiveServer, places: Places
) -> None:
    page, audit = make_page(origins=(live_server_gcj02.url,))
    page.goto(live_server_gcj02.url + VIEW)
    wait_ready(page)
    place_id = places.grid[5]
    drawn = page.evaluate(
        """id => { const reg = window.yituMaps.finder; let out = null;
             Object.values(reg.layers).forEach(l => l.eachLayer(m => {
               if (m.feature && m.feature.id === id) { const p = m.getLatLng();
                 out = [p.lng, p.lat, m.feature.geometry.coordinates]; } }));
             return out; }""",
        place_id,
    )
    assert drawn is not None
    lon, lat, (w_lon, w_lat) = drawn[0], drawn[1], drawn[2]
    g_lon, g_lat = from_wgs84(w_lon, w_lat, crs="gcj02")
    # The browser (gcoord) and the server (geo.places.crs) shift alike, to ~1 cm.
    assert abs(lon - g_lon) < 1e-7 and abs(lat - g_lat) < 1e-7
    assert abs(lon - w_lon) > 1e-3  # and it did shift (~500 m here)
    assert audit.tile_requests and all("autonavi.com" in u for u in audit.tile_requests)
    assert_clean(audit)


def test_embed_inside_an_iframe_of_another_origin(
    make_page: Any, live_server: LiveServer, partner_site: LiveServer, places: Places
) -> None:
    page, audit = make_page(origins=(partner_site.url,))
    page.goto(partner_site.url + "/")
    frame = page.frame_locator("iframe#yitu")
    frame.locator("body[data-ready='1']").wait_for(timeout=TIMEOUT_MS)
    count = frame.locator(".yitu-place, .yitu-cluster").count()
    assert count > 0
    assert frame.locator(".topbar").count() == 0
    inner = next(f for f in page.frames if f.url.startswith(live_server.url))
    assert inner.evaluate("window.top !== window.self")
    screenshot(page, "embed-in-partner-page")
    assert_clean(audit)


@pytest.mark.parametrize(
    "view",
    [VIEW, "/?bbox=113.640,34.740,113.680,34.780", "/?bbox=113.2,34.5,114.1,35.0&amenity=water"],
)
def test_first_view_is_asked_for_once(make_page: Any, live_server: LiveServer, view: str) -> None:
    # finder-boot.js asks for the first view before Leaflet runs; finder.js
    # must find that answer usable (same zoom, filters, a box containing its
    # own) rather than asking again.
    page, audit = make_page()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/v1/places/" in r.url else None)
    page.goto(live_server.url + view)
    wait_ready(page)
    clusters = [u for u in asked if "/places/clusters" in u]
    nearest = [u for u in asked if "/places/nearest" in u]
    assert len(clusters) == 1, clusters
    assert len(nearest) == 1, nearest
    assert int(page.get_attribute("#finder", "data-markers")) > 0
    assert_clean(audit)
