"""Each role does its work in headless Chromium: admin, caseworker, planner, auditor.

A live server of its own (same browser database, plus the household key)
serves committed accounts and synthetic households.  Every page must load with
no request leaving 127.0.0.1, no script error and no CSP violation.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from geo.db import households as register
from geo.db.audit import Actor
from geo.db.engine import make_engine, session_factory
from tests.browser.conftest import LiveServer, Places, _app, screenshot
from tests.finder_fixtures import add_place
from tests.household_fixtures import (
    CHENGZHONG,
    KEY_TEXT,
    PASSWORD,
    add_households,
    cipher,
    make_user,
    record,
)

pytestmark = pytest.mark.browser
TIMEOUT_MS = 15_000


@dataclass
class Staff:
    """Usernames of the committed accounts and the ids the tests work on."""

    users: dict[str, str]
    households: list[str]
    place_id: int
    first_name: str


@pytest.fixture(scope="module")
def staff(browser_database: tuple[str, Places]) -> Staff:
    url = browser_database[0]
    engine = make_engine(url)
    try:
        with session_factory(engine)() as db:
            users = {
                role: make_user(
                    db, role, districts=(CHENGZHONG,) if role == "caseworker" else ()
                ).username
                for role in ("admin", "planner", "caseworker", "auditor")
            }
            records = [
                record(adcode=CHENGZHONG, lon=101.7780 + i * 2e-4, lat=36.6170, is_synthetic=True)
                for i in range(12)
            ]
            ids = add_households(db, records)
            place_id = add_place(db, 101.7790, 36.6160, name="浏览器测试驿站", city="西宁市")
            # A caseworker's read, so the auditor's page has something to show even
            # when the tests run in another order or on another xdist worker.
            register.list_households(
                db, cipher(), Actor(users["caseworker"], "caseworker"), districts=(CHENGZHONG,)
            )
            db.commit()
    finally:
        engine.dispose()
    return Staff(users, ids, place_id, records[0].name)


@pytest.fixture(scope="module")
def staff_server(browser_database: tuple[str, Places], staff: Staff) -> Iterator[LiveServer]:
    server = LiveServer(_app(browser_database[0], HOUSEHOLD_KEY=KEY_TEXT))
    yield server
    server.stop()


def assert_clean(audit: Any) -> None:
    assert audit.violations == [], audit.violations
    assert audit.errors == [], audit.errors
    assert audit.dialogs == []


def log_in(page: Any, server: LiveServer, username: str) -> None:
    page.goto(server.url + "/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state("load")


def count_layers(page: Any, key: str, kind: str) -> int:
    """How many Leaflet layers of a kind (CircleMarker, Polygon) a registered map holds."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not page.evaluate(f"() => !!(window.yituMaps && window.yituMaps[{key!r}])"):
        if time.monotonic() > deadline:
            raise AssertionError(f"map {key} never registered")
        page.wait_for_timeout(50)
    return page.evaluate(
        f"""() => {{ let n = 0; window.yituMaps[{key!r}].map.eachLayer(
            l => {{ if (l instanceof L.{kind}) n++; }}); return n; }}"""
    )


def test_admin_verifies_and_checks_a_station(
    make_page: Any, staff_server: LiveServer, staff: Staff
) -> None:
    page, audit = make_page(origins=(staff_server.url,))
    log_in(page, staff_server, staff.users["admin"])
    assert page.url.endswith("/admin/")
    page.goto(f"{staff_server.url}/admin/places/{staff.place_id}")
    page.click("form[action$='/verify'] button")
    page.wait_for_load_state("load")
    page.check("input[name=ok_sign]")
    page.fill("input[name=note_facilities]", "饮水机已更换")
    page.click("form[action$='/checklist'] button")
    page.wait_for_load_state("load")
    history = page.inner_text("table#history")
    assert "verify" in history and "checklist" in history and "饮水机已更换" in history
    assert page.is_checked("input[name=ok_sign]")
    screenshot(page, "admin-place")
    assert_clean(audit)


def test_caseworker_records_a_visit_and_sees_the_map(
    make_page: Any, staff_server: LiveServer, staff: Staff
) -> None:
    page, audit = make_page(origins=(staff_server.url,))
    log_in(page, staff_server, staff.users["caseworker"])
    assert page.url.endswith("/cases/")
    assert staff.first_name in page.content()
    assert page.locator(".synthetic-notice").count() == 1
    page.goto(f"{staff_server.url}/cases/households/{staff.households[0]}")
    page.fill("form[action$='/visits'] input[name=notes]", "入户走访，已送米面油")
    page.click("form[action$='/visits'] button")
    page.wait_for_load_state("load")
    assert "入户走访，已送米面油" in page.content()
    screenshot(page, "caseworker-household")
    page.goto(f"{staff_server.url}/cases/map")
    assert count_layers(page, "households", "CircleMarker") == 12
    screenshot(page, "caseworker-map")
    assert_clean(audit)


def test_planner_sees_one_aggregate_cell(
    make_page: Any, staff_server: LiveServer, staff: Staff
) -> None:
    page, audit = make_page(origins=(staff_server.url,))
    log_in(page, staff_server, staff.users["planner"])
    page.goto(f"{staff_server.url}/households/cells")
    assert count_layers(page, "household_cells", "Polygon") == 1
    assert staff.first_name not in page.content()
    screenshot(page, "planner-cells")
    assert_clean(audit)


def test_auditor_sees_the_caseworkers_reads_and_logs_out(
    make_page: Any, staff_server: LiveServer, staff: Staff
) -> None:
    page, audit = make_page(origins=(staff_server.url,))
    log_in(page, staff_server, staff.users["auditor"])
    assert page.url.endswith("/audit/")
    page.goto(f"{staff_server.url}/audit/?actor={staff.users['caseworker']}")
    table = page.inner_text("table.grid")
    assert "list" in table
    assert staff.first_name not in page.content()
    screenshot(page, "auditor-log")
    page.click("form.inline button")
    page.wait_for_load_state("load")
    assert page.url.endswith("/auth/login")
    page.goto(f"{staff_server.url}/audit/")
    assert page.url.split("?")[0].endswith("/auth/login")
    assert_clean(audit)
