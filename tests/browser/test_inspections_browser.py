"""The inspection cycle in headless Chromium on a 390x844 phone (issue 11).

1. an admin plans a month's visits in a district;
2. the inspector visits with emulated geolocation; the network is cut
   mid-visit, the draft waits on the phone and is sent when it returns;
3. the score is below the standard's pass mark: a yellow card;
4. a second visit fails a serious item: a red card;
5. the red card opens a removal proposal;
6. the admin confirms it;
7. the finder's API no longer lists the place, and its page says why and when.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from geo.db.engine import make_engine, session_factory
from geo.inspections.standards import shipped_standards
from geo.service import inspections as service
from tests.browser.conftest import LiveServer, Places, _app, screenshot
from tests.finder_fixtures import add_place
from tests.household_fixtures import PASSWORD, make_user

pytestmark = pytest.mark.browser
DISTRICT = "630105"  # 城北区, Xining
LON, LAT = 101.7702, 36.6671
NAME = "暗访测试驿站 <i>{{7*191}}</i>"


@dataclass
class Cycle:
    """The station, the admin and the inspector."""

    place_id: int
    admin: str
    inspector: str


@pytest.fixture(scope="module")
def cycle(browser_database: tuple[str, Places]) -> Cycle:
    engine = make_engine(browser_database[0])
    try:
        with session_factory(engine)() as db:
            for standard in shipped_standards():
                service.import_standard(db, standard, service.Who("test"))
            place_id = add_place(db, LON, LAT, name=NAME, adcode=DISTRICT, district="城北区")
            admin = make_user(db, "admin").username
            inspector = make_user(db, "inspector", districts=(DISTRICT,)).username
            db.commit()
    finally:
        engine.dispose()
    return Cycle(place_id, admin, inspector)


@pytest.fixture(scope="module")
def server(browser_database: tuple[str, Places], cycle: Cycle) -> Iterator[LiveServer]:
    live = LiveServer(_app(browser_database[0]))
    yield live
    live.stop()


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state("load")


def plan(admin: Any, base: str, inspector: str, month: str) -> None:
    admin.goto(f"{base}/admin/inspections/")
    form = "form[action$='/plans']"
    admin.fill(f"{form} input[name=district]", DISTRICT)
    admin.fill(f"{form} input[name=month]", month)
    admin.fill(f"{form} input[name=visits]", "20")
    admin.fill(f"{form} input[name=inspector]", inspector)
    with admin.expect_navigation():
        admin.click(f"{form} button[type=submit]")
    assert admin.locator(".flash-info").is_visible()


def open_planned_visit(page: Any, base: str) -> None:
    page.goto(f"{base}/inspect/")
    page.locator(".visit-list li", has_text="待检查").first.locator("a").click()
    page.wait_for_load_state("load")
    page.wait_for_function("document.querySelector('#inspect-form input[name=lat]').value !== ''")


def answer(page: Any, outcomes: dict[str, str]) -> None:
    for key, value in outcomes.items():
        page.check(f"input[name=item_{key}][value={value}]")


def test_plan_visit_offline_cards_removal(make_page: Any, server: LiveServer, cycle: Cycle) -> None:
    base = server.url
    items = [i.key for i in shipped_standards()[2].items]  # qinghai-six-haves
    admin, admin_audit = make_page(origins=(base,))
    log_in(admin, base, cycle.admin)
    # 1. The admin plans: the only station of the district is drawn, seed shown.
    plan(admin, base, cycle.inspector, "2026-12")
    assert NAME in admin.inner_text("section.plan")
    assert admin.locator("section.plan code").inner_text().isdigit()
    screenshot(admin, "inspections-admin-plan")
    # 2. The inspector, standing at the station (about 10 m away).
    phone, audit = make_page(
        origins=(base,),
        geolocation={"longitude": LON + 0.0001, "latitude": LAT},
        permissions=["geolocation"],
    )
    log_in(phone, base, cycle.inspector)
    assert phone.url.endswith("/inspect/")
    open_planned_visit(phone, base)
    assert "1337" not in phone.content()
    half = len(items) // 2
    answer(phone, dict.fromkeys(items[:half], "pass"))
    phone.fill("input[name=note_facilities]", "饮水机坏了")
    # The signal drops mid-visit: the rest is typed offline and sent.
    phone.context.set_offline(True)
    answer(phone, {k: "pass" for k in items[half:]})
    answer(phone, {"facilities": "fail", "functions": "fail", "layout": "fail", "rules": "fail"})
    phone.click("#inspect-form button[type=submit]")
    assert "没有网络" in phone.inner_text("#inspect-status")
    draft = phone.evaluate("Object.keys(localStorage).filter(k => k.startsWith('yitu-visit-'))")
    assert len(draft) == 1
    kept = phone.evaluate(f"JSON.parse(localStorage.getItem('{draft[0]}'))")
    assert kept["note_facilities"] == "饮水机坏了" and kept["item_rules"] == "fail"
    screenshot(phone, "inspections-phone-offline")
    # 3. The signal returns: the draft is sent by itself; 50 < 60, a yellow card.
    phone.context.set_offline(False)
    phone.wait_for_selector("#visit-result")
    assert "得分 50" in phone.inner_text("#visit-result")
    assert "黄牌" in phone.inner_text("#visit-result")
    assert "已标记" not in phone.inner_text("#visit-result")
    assert phone.evaluate("Object.keys(localStorage).length") == 0
    screenshot(phone, "inspections-phone-yellow")
    # 4. A second visit next month fails a serious item (medicine): a red card.
    plan(admin, base, cycle.inspector, "2027-01")
    open_planned_visit(phone, base)
    answer(phone, {**dict.fromkeys(items, "pass"), "medicine": "fail"})
    phone.click("#inspect-form button[type=submit]")
    phone.wait_for_selector("#visit-result")
    assert "红牌" in phone.inner_text("#visit-result")
    screenshot(phone, "inspections-phone-red")
    # 5-6. The removal proposal; the admin confirms it.
    admin.goto(f"{base}/admin/inspections/")
    proposal = admin.locator("section.removal", has_text="暗访测试驿站")
    assert "第二次黄牌" in proposal.inner_text()
    screenshot(admin, "inspections-admin-removal")
    proposal.locator("input[name=note]").fill("复查仍未整改")
    proposal.locator("button[value=confirm]").click()
    admin.wait_for_load_state("load")
    assert admin.locator("section.removal", has_text="暗访测试驿站").count() == 0
    # 7. Gone from the finder's lists; the page says why and when, never who inspected.
    near = phone.request.get(f"{base}/api/v1/places/nearest?lon={LON}&lat={LAT}&k=5").json()
    assert cycle.place_id not in [f["id"] for f in near["features"]]
    phone.goto(f"{base}/places/{cycle.place_id}")
    removed = phone.inner_text(".place-removed")
    assert "经检查后撤销" in removed and "严重项不合格（medicine）" in removed
    assert cycle.inspector not in phone.content()
    assert "最近检查" in phone.inner_text(".place-inspection")
    screenshot(phone, "inspections-place-removed")
    # The month's printable report and the district table count both visits.
    admin.goto(f"{base}/admin/inspections/report?district={DISTRICT}&month=2026-12")
    assert "暗访测试驿站" in admin.inner_text("article.monthly-report")
    screenshot(admin, "inspections-monthly-report")
    admin.goto(f"{base}/admin/inspections/")
    assert "2 / 2" in admin.inner_text(f"tr[data-district='{DISTRICT}']")
    assert audit.violations == [] and admin_audit.violations == []
    assert admin_audit.errors == []
    # The only console error allowed is the failed send while offline.
    assert [e for e in audit.errors if "ERR_INTERNET_DISCONNECTED" not in e] == []
