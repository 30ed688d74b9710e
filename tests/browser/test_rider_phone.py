"""Issue 12: the finder on a rider's phone -- popups stay, the map follows the
list, a granted position is used at once, thumb-sized targets, a skip link."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import CENTRE, SPACING, LiveServer, Places, screenshot
from tests.browser.test_finder_browser import TIMEOUT_MS, VIEW, assert_clean, wait_ready, wait_until

pytestmark = pytest.mark.browser


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return dict(box)


def test_a_popup_opened_near_the_top_stays_open(
    make_page: Any, live_server: LiveServer, places: Places
) -> None:
    # The top row of the grid sits near the map's top edge at this view: the
    # popup has to pan the map, which used to reload the markers and close it.
    top_lat = CENTRE[1] + 1.5 * SPACING
    page, audit = make_page()
    page.goto(live_server.url + f"/?lon={CENTRE[0]}&lat={top_lat - 0.0036:.5f}&zoom=16")
    wait_ready(page)
    target = places.grid[13]  # row 3 (the top one), column 1
    page.locator(f".yitu-place-{target}").click()
    page.locator(".leaflet-popup").wait_for(timeout=TIMEOUT_MS)
    loads = page.evaluate("() => document.getElementById('finder').dataset.loads")
    page.wait_for_timeout(1200)  # longer than the reload that closed it
    assert page.locator(".leaflet-popup").count() == 1
    popup = _box(page, ".leaflet-popup-content-wrapper")
    zoom = _box(page, ".leaflet-control-zoom")
    # The popup was panned clear of the zoom buttons.
    assert popup["y"] >= zoom["y"] + zoom["height"] or popup["x"] >= zoom["x"] + zoom["width"]
    close = _box(page, ".leaflet-popup-close-button")
    assert close["width"] >= 44 and close["height"] >= 44
    page.locator(".leaflet-popup-close-button").click()
    # Closing brings the postponed reload.
    wait_until(page, "n => document.getElementById('finder').dataset.loads !== n", loads)
    assert_clean(audit)


def test_the_map_moves_to_show_the_nearest_result(
    make_page: Any, live_server: LiveServer, places: Places
) -> None:
    # A view with nothing in it, 3 km south of the grid: the list still finds
    # the nearest places; the map must follow so that the first one is drawn.
    page, audit = make_page()
    page.goto(live_server.url + f"/?lon={CENTRE[0]}&lat={CENTRE[1] - 0.03:.5f}&zoom=17")
    first = page.locator("#nearby-list li.nearby-item").first
    first.wait_for(timeout=TIMEOUT_MS)
    # The grid's bottom row (nearest from the south) ends up inside the view.
    wait_until(
        page,
        f"lat => window.yituMaps.finder.map.getBounds().contains([lat, {CENTRE[0]}])",
        CENTRE[1] - 1.5 * SPACING,
    )
    wait_until(page, "() => Number(document.getElementById('finder').dataset.markers) > 0")
    assert page.locator("#map-status").inner_text() == ""
    assert_clean(audit)


def test_a_granted_position_is_used_without_a_tap(
    make_page: Any, live_server: LiveServer, places: Places
) -> None:
    lon, lat = places.trap_origin
    page, audit = make_page(
        geolocation={"longitude": lon, "latitude": lat}, permissions=["geolocation"]
    )
    page.goto(live_server.url + "/")
    wait_until(page, "() => document.getElementById('list-origin').textContent === '您附近'")
    wait_until(page, "() => document.querySelector('#nearby-list li.nearby-item') !== null")
    ids = [
        int(i)
        for i in page.eval_on_selector_all(
            "#nearby-list li.nearby-item", "ns => ns.map(n => n.dataset.id)"
        )
    ]
    assert ids[:2] == [places.east, places.north]
    assert_clean(audit)


def test_targets_are_thumb_sized_and_the_card_is_one_link(
    make_page: Any, live_server: LiveServer, places: Places
) -> None:
    page, audit = make_page()
    page.goto(live_server.url + VIEW)
    wait_ready(page)
    page.locator("#nearby-list li.nearby-item").first.wait_for(timeout=TIMEOUT_MS)
    for selector in (
        ".leaflet-control-zoom-in",
        ".leaflet-control-zoom-out",
        ".yitu-place",
        "#locate",
        ".search-button",
    ):
        box = _box(page, selector)
        assert box["width"] >= 44 and box["height"] >= 44, (selector, box)
    card = page.locator("#nearby-list li.nearby-item").first
    card.scroll_into_view_if_needed()
    box = _box(page, "#nearby-list li.nearby-item")
    href = card.locator("a").get_attribute("href")
    # A tap in the card's bottom-right corner, far from the name, opens the place.
    with page.expect_navigation():
        page.mouse.click(box["x"] + box["width"] - 6, box["y"] + box["height"] - 6)
    assert page.url.endswith(str(href))
    assert_clean(audit)


def test_heading_skip_link_and_two_tabs_to_the_list(
    make_page: Any, live_server: LiveServer, places: Places
) -> None:
    page, audit = make_page(is_mobile=False, has_touch=False)
    page.goto(live_server.url + VIEW)
    wait_ready(page)
    page.locator("#nearby-list li.nearby-item").first.wait_for(timeout=TIMEOUT_MS)
    assert page.locator("h1").count() == 1
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => document.activeElement.closest('#nearby-list li.nearby-item') !== null"
    )
    assert focused, "the second Tab after the skip link reaches the first place"
    # Markers are named buttons for a screen reader.
    names = page.eval_on_selector_all(
        ".yitu-place, .leaflet-marker-icon", "ns => ns.map(n => n.getAttribute('aria-label'))"
    )
    assert names and all(names)
    screenshot(page, "finder-skip-link")
    assert_clean(audit)


def test_clusters_of_different_kinds_do_not_overlap(
    make_page: Any, live_server: LiveServer, places: Places
) -> None:
    page, audit = make_page()
    page.goto(live_server.url + f"/?lon={CENTRE[0]}&lat={CENTRE[1]}&zoom=12")
    wait_ready(page)
    boxes = page.eval_on_selector_all(
        ".leaflet-marker-icon",
        "ns => ns.map(n => { const r = n.getBoundingClientRect(); return [r.x, r.y, r.width]; })",
    )
    assert boxes
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = ((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5
            assert apart >= (a[2] + b[2]) / 2 - 1, (a, b)
    # Cluster figures are dark on white: readable whatever the kind's colour.
    colour = page.evaluate(
        "() => { const c = document.querySelector('.yitu-cluster');"
        " return c ? getComputedStyle(c).color : 'rgb(33, 37, 41)'; }"
    )
    assert colour == "rgb(33, 37, 41)"
    assert_clean(audit)


def test_place_page_routes_in_the_riders_app_and_shares(
    make_page: Any, live_server: LiveServer, places: Places
) -> None:
    lon, lat = places.trap_origin
    page, audit = make_page(
        geolocation={"longitude": lon, "latitude": lat},
        permissions=["geolocation", "clipboard-read", "clipboard-write"],
    )
    page.goto(live_server.url + f"/places/{places.east}")
    go = page.locator("#go")
    assert go.inner_text().startswith("去这里")
    assert go.get_attribute("href").startswith("https://uri.amap.com/navigation?")
    assert "mode=ride" in go.get_attribute("href")
    assert go.bounding_box()["height"] >= 44
    # Distance from the rider (permission granted): 923 m east.
    wait_until(page, "() => document.getElementById('from-you').textContent.includes('距您')")
    assert "9" in page.locator("#from-you").inner_text()
    # Walking instead of riding.
    page.locator("label:has(input[value='walk'])").click()
    assert "mode=walk" in go.get_attribute("href")
    # Choose Google in the menu: remembered for the next place (no navigation here).
    page.locator(".other-apps summary").click()
    page.evaluate("() => document.addEventListener('click', e => e.preventDefault(), true)")
    page.locator(".other-apps a.nav-google").click()
    page.goto(live_server.url + f"/places/{places.north}")
    href = page.locator("#go").get_attribute("href")
    assert href.startswith("https://www.google.com/maps/dir/?api=1")
    assert "travelmode=walking" in href
    # Share: no Web Share API in headless Chromium, so the link is copied.
    page.locator("#share").click()
    wait_until(page, "() => document.getElementById('share').textContent === '链接已复制'")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.endswith(f"/places/{places.north}")
    screenshot(page, "place-route-button")
    assert_clean(audit)


def test_without_location_say_how_and_search_a_district(
    make_page: Any, live_server: LiveServer, places: Places
) -> None:
    page, audit = make_page()  # no geolocation permission
    page.goto(live_server.url + "/")
    wait_ready(page)
    page.locator("#locate").click()
    help_box = page.locator("#locate-help")
    help_box.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert "允许本站使用位置" in help_box.inner_text()
    page.locator("#search-place").click()
    assert page.evaluate("() => document.activeElement.id") == "q"
    page.keyboard.type("金水区")
    page.keyboard.press("Enter")
    wait_until(
        page,
        "() => document.getElementById('list-origin').textContent.includes('郑州市金水区附近')",
    )
    page.locator("#nearby-list li.nearby-item").first.wait_for(timeout=TIMEOUT_MS)
    # The nearest from 金水区 are the test grid's places in Zhengzhou.
    first = int(page.locator("#nearby-list li.nearby-item").first.get_attribute("data-id") or 0)
    assert first in places.grid
    screenshot(page, "finder-searched-district")
    assert_clean(audit)


def test_installable_and_the_last_view_opens_offline(
    browser: Any, live_server: LiveServer, places: Places
) -> None:
    # A context of its own, without the network guard: Playwright's routing
    # would take the requests before the service worker sees them.  Requests
    # leaving 127.0.0.1 are checked by hand instead (tiles only, which fail).
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        service_workers="allow",
    )
    page = context.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda r: (
            None
            if r.url.startswith(live_server.url) or "tile.openstreetmap.org" in r.url
            else outside.append(r.url)
        ),
    )
    try:
        manifest = page.request.get(live_server.url + "/manifest.webmanifest").json()
        assert manifest["name"].startswith("驿图") and manifest["display"] == "standalone"
        assert {i["sizes"] for i in manifest["icons"]} == {"192x192", "512x512"}
        page.goto(live_server.url + VIEW)
        wait_ready(page)
        wait_until(page, "() => document.getElementById('finder').dataset.offlineReady === '1'")
        # The page, its map script and its API answers are in the worker's caches.
        wait_until(
            page,
            "async () => { const keys = (await (await caches.open('yitu-data-v1')).keys())"
            ".map(r => r.url); return [location.href, '/maps/finder.js', "
            "'/api/v1/places/nearest', '/api/v1/places/clusters']"
            ".every(part => keys.some(k => k.includes(part))); }",
        )
        first_ids = page.eval_on_selector_all(
            "#nearby-list li.nearby-item", "ns => ns.map(n => n.dataset.id)"
        )
        context.set_offline(True)
        page.reload()
        wait_ready(page)
        assert page.locator("h1").count() == 1
        again = page.eval_on_selector_all(
            "#nearby-list li.nearby-item", "ns => ns.map(n => n.dataset.id)"
        )
        assert again == first_ids and again
        # A filter tapped offline keeps the list shown, with a note.
        page.locator("label.chip:has(input[value='toilet'])").click()
        wait_until(page, "() => document.getElementById('map-status').textContent !== ''")
        assert page.locator("#nearby-list li.nearby-item").count() == len(first_ids)
        screenshot(page, "finder-offline")
        assert outside == []
    finally:
        context.close()
