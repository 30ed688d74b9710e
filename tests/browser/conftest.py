"""Browser tests: the real app on 127.0.0.1 in a thread, headless Chromium via Playwright.

The app serves a database of its own (``yitu_browser_<random>``), created,
migrated and filled with committed rows for the session, then dropped: the
server thread cannot share the rolled-back connection of the other tests.

Every page gets the same network guard: requests to the test servers on
127.0.0.1 go through; tile requests are recorded and aborted (there is no
network here, and the page must stay usable without tiles); anything else is
recorded as a violation and aborted.  Tests assert the violations are empty.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from geo.db.engine import database_url as configured_url
from geo.db.engine import make_engine
from geo.db.migrate import create_database, drop_database, upgrade
from geo.db.models import Place
from tests.finder_fixtures import HOSTILE_NAMES, place_values
from web import create_app
from web.tile_source import TileSource

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
CENTRE = (113.66, 34.76)  # WGS-84, Zhengzhou
SPACING = 0.004  # degrees between grid places: distinct cells from zoom 15 on
AMAP_URL = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
    "&x={x}&y={y}&z={z}"
)

pytestmark = pytest.mark.browser


@dataclass
class Places:
    """Ids of the places the browser database holds, by role."""

    grid: list[int] = field(default_factory=list)
    with_toilet: list[int] = field(default_factory=list)
    nooks: list[int] = field(default_factory=list)
    hostile: dict[str, int] = field(default_factory=dict)
    east: int = 0
    north: int = 0
    trap_origin: tuple[float, float] = (0.0, 0.0)


def _grid_rows() -> list[dict[str, Any]]:
    rows = []
    for i in range(16):
        col, row = i % 4, i // 4
        lon = CENTRE[0] + (col - 1.5) * SPACING
        lat = CENTRE[1] + (row - 1.5) * SPACING
        fields: dict[str, Any] = {
            "kind": "reading_nook" if i % 4 == 3 else "station",
            "amenities": ["water", "toilet"] if i % 3 == 0 else ["water"],
            "city": "测试市",
            "opening_hours": "24/7" if i % 2 == 0 else "Mo-Su 08:00-20:00",
            "address": f"测试市第 {i} 号",
        }
        if i < len(HOSTILE_NAMES):
            fields["name"] = HOSTILE_NAMES[i]
        rows.append({"lon": lon, "lat": lat, **fields})
    return rows


@pytest.fixture(scope="session")
def browser_database() -> Iterator[tuple[str, Places]]:
    """A migrated database with committed places for the live server."""
    base = make_url(configured_url(os.environ.get("YITU_TEST_DATABASE_URL")))
    url = base.set(database=f"yitu_browser_{secrets.token_hex(4)}").render_as_string(
        hide_password=False
    )
    create_database(url)
    engine = make_engine(url)
    places = Places()
    try:
        upgrade(url)
        with engine.begin() as conn:

            def add(lon: float, lat: float, **fields: Any) -> int:
                values = place_values(lon, lat, **fields)
                return int(
                    conn.execute(insert(Place).values(**values).returning(Place.id)).scalar_one()
                )

            for row in _grid_rows():
                lon, lat = row.pop("lon"), row.pop("lat")
                place_id = add(lon, lat, **row)
                places.grid.append(place_id)
                if "toilet" in row["amenities"]:
                    places.with_toilet.append(place_id)
                if row["kind"] == "reading_nook":
                    places.nooks.append(place_id)
                if row.get("name") in HOSTILE_NAMES:
                    places.hostile[row["name"]] = place_id
            # Near 34 N, far from the grid: east is nearer in metres, north in degrees.
            origin = (113.90, 34.00)
            places.trap_origin = origin
            places.east = add(origin[0] + 0.010, origin[1], name="东边 923 米", city="陷阱市")
            places.north = add(origin[0], origin[1] + 0.009, name="北边 998 米", city="陷阱市")
            conn.execute(text("ANALYZE places"))
        yield url, places
    finally:
        engine.dispose()
        drop_database(url)


class LiveServer:
    """A WSGI app served on 127.0.0.1 by werkzeug in a daemon thread."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        database = getattr(self.app, "extensions", {}).get("yitu.db")
        if database is not None and database.engine is not None:
            database.engine.dispose()


def _app(url: str, **extra: Any) -> Any:
    return create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "browser-tests",
            "TESTING": True,
            "SESSION_COOKIE_SECURE": False,
            **extra,
        }
    )


@pytest.fixture(scope="session")
def live_server(browser_database: tuple[str, Places]) -> Iterator[LiveServer]:
    """The app with OpenStreetMap tiles (WGS-84)."""
    server = LiveServer(_app(browser_database[0]))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_server_gcj02(browser_database: tuple[str, Places]) -> Iterator[LiveServer]:
    """The app configured with Amap tiles (GCJ-02)."""
    server = LiveServer(
        _app(browser_database[0], TILE_URL=AMAP_URL, TILE_CRS="gcj02", TILE_SUBDOMAINS="1234")
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def places(browser_database: tuple[str, Places]) -> Places:
    """Ids of the stored places."""
    return browser_database[1]


@pytest.fixture(scope="session")
def partner_site(live_server: LiveServer) -> Iterator[LiveServer]:
    """Another origin (another port on 127.0.0.1) whose page frames the embed."""
    embed = f"{live_server.url}/embed?city=%E6%B5%8B%E8%AF%95%E5%B8%82&lang=zh&zoom=15"
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Partner</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'></head>"
        "<body><h1>Partner union site</h1>"
        f"<iframe id='yitu' src='{embed}' width='370' height='560' title='map'"
        " allow='geolocation'></iframe></body></html>"
    ).encode()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [page]

    server = LiveServer(app)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Audit:
    """What a page asked the network for, and what went wrong in it."""

    allowed_origins: tuple[str, ...]
    tiles: list[TileSource]
    tile_requests: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(tuple(o + "/" for o in self.allowed_origins)):
            route.continue_()
            return
        if any(t.matches(url) for t in self.tiles):
            self.tile_requests.append(url)
        else:
            self.violations.append(url)
        route.abort()


@pytest.fixture
def make_page(
    browser: Any, live_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """Return ``make(**context_options) -> (page, audit)`` with the network guard on."""
    contexts = []

    def make(*, origins: tuple[str, ...] = (), **options: Any) -> tuple[Any, Audit]:
        settings = {
            "viewport": PHONE,
            "device_scale_factor": 2,
            "is_mobile": True,
            "has_touch": True,
            "locale": "zh-CN",
            "timezone_id": "Asia/Shanghai",
            **options,
        }
        context = browser.new_context(**settings)
        contexts.append(context)
        audit = Audit(
            allowed_origins=(live_server.url, *origins),
            tiles=[TileSource(), TileSource(url=AMAP_URL, crs="gcj02", subdomains="1234")],
        )
        context.route("**/*", audit.route)
        page = context.new_page()
        page.on("pageerror", lambda err: audit.errors.append(f"pageerror: {err}"))
        page.on(
            "console",
            lambda msg: (
                audit.errors.append(f"console: {msg.text}")
                if msg.type == "error" and "net::ERR_FAILED" not in msg.text
                else None
            ),
        )
        page.on("dialog", lambda dialog: (audit.dialogs.append(dialog.message), dialog.dismiss()))
        return page, audit

    yield make
    for context in contexts:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a phone-sized screenshot under test-output/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
