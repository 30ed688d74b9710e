"""A planner in headless Chromium: the form submits with its defaults, with a budget, with a target."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import h3
import pandas as pd
import pytest

from geo.db.activity import replace_dataset
from geo.db.engine import make_engine, session_factory
from tests.browser.conftest import SCREENSHOTS, LiveServer, _app

CITY = "上海市"
LON, LAT = 121.4737, 31.2304


@pytest.fixture(scope="module")
def planner_server(browser_database: tuple[str, Any]) -> Iterator[LiveServer]:
    """The app with the planner open and a small committed activity dataset in Shanghai."""
    url = browser_database[0]
    engine = make_engine(url)
    near = h3.latlng_to_cell(LAT, LON, 9)
    cells = [near, *sorted(h3.grid_ring(near, 8))[:3]]
    frame = pd.DataFrame(
        {
            "cell": [h3.str_to_int(c) for c in cells],
            "hour_of_week": [12] * len(cells),
            "points": [10, 8, 6, 4],
            "weight": [10.0, 8.0, 6.0, 4.0],
            "riders": pd.array([3, 2, 2, 1], dtype="Int64"),
        }
    )
    with session_factory(engine)() as session:
        replace_dataset(
            session,
            frame,
            name="browser-planner",
            city=CITY,
            source_crs="wgs84",
            resolution=9,
            has_riders=True,
        )
        session.commit()
    server = LiveServer(_app(url, PLANNER_PUBLIC=True))
    yield server
    server.stop()
    engine.dispose()


def open_planner(browser: Any, server: LiveServer) -> Any:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = context.new_page()
    page.goto(server.url + "/planner/", wait_until="domcontentloaded")
    page.select_option("select[name=city]", CITY)
    return page


@pytest.mark.parametrize(
    ("fields", "proof"),
    [
        ({"p": "2"}, "已证明最优"),
        ({"budget": "100000"}, "已证明最优"),  # with the default cost of 30000 per station
        ({"target": "90"}, "已证明：新增站点更少的方案都达不到活动量的 90 %。"),
    ],
)
def test_the_form_submits_and_shows_a_proven_plan(
    browser: Any, planner_server: LiveServer, fields: dict[str, str], proof: str
) -> None:
    page = open_planner(browser, planner_server)
    for name, value in fields.items():
        page.fill(f"input[name={name}]", value)
    # The browser's own validation must not block the defaults (cost 30000 and such).
    assert page.evaluate("document.querySelector('form').checkValidity()") is True
    page.click("button[type=submit]")
    page.wait_for_selector("#sites-title", timeout=60_000)
    text = page.inner_text("body")
    assert proof in text
    assert "工作日午餐 11:00–13:30" in text
    rows = page.locator("section[aria-labelledby=sites-title] tbody tr")
    assert rows.count() >= 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"planner-{'-'.join(fields)}.png"), full_page=True)
    report = page.request.get(page.url.replace("/planner/?", "/planner/report.pdf?"))
    assert report.ok and report.body().startswith(b"%PDF")
    page.context.close()
