"""The workers' loop in headless Chromium on a phone (issue 10).

1. decode the QR code of a station's poster (rendered by Chromium, read by zbar) and open it;
2. confirm in one tap; report "no hot water" with a photo carrying EXIF GPS;
3. get a receipt;
4. an admin confirms the report in the moderation queue and publishes the photo;
5. the place page shows hot water as reported missing, and the stored photo has no EXIF;
6. the receipt page says "confirmed".
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image
from pyzbar.pyzbar import decode

from geo.db.engine import make_engine, session_factory
from tests.browser.conftest import LiveServer, Places, _app, screenshot
from tests.finder_fixtures import add_place
from tests.household_fixtures import PASSWORD, make_user

pytestmark = pytest.mark.browser
STATION_NO = "XN-QR-0917"


@dataclass
class Loop:
    """What the loop works on: a station with hot water, and an admin account."""

    place_id: int
    admin: str


@pytest.fixture(scope="module")
def loop(browser_database: tuple[str, Places]) -> Loop:
    engine = make_engine(browser_database[0])
    try:
        with session_factory(engine)() as db:
            place_id = add_place(
                db,
                113.70,
                34.80,
                name="二维码测试驿站 <b>{{7*191}}</b>",
                station_no=STATION_NO,
                adcode="410105",
                district="金水区",
                amenities=["water", "hot_water", "toilet", "charging"],
            )
            admin = make_user(db, "admin").username
            db.commit()
    finally:
        engine.dispose()
    return Loop(place_id, admin)


@pytest.fixture(scope="module")
def trust_server(browser_database: tuple[str, Places], loop: Loop) -> Iterator[LiveServer]:
    server = LiveServer(_app(browser_database[0]))
    yield server
    server.stop()


def gps_jpeg() -> bytes:
    image = Image.new("RGB", (640, 480), (40, 90, 160))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (34.0, 48.0, 1.0), 3: "E", 4: (113.0, 42.0, 0.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def assert_clean(audit: Any) -> None:
    assert audit.violations == [], audit.violations
    assert audit.errors == [], audit.errors
    assert audit.dialogs == []


def test_scan_report_moderate_follow_up(
    make_page: Any, trust_server: LiveServer, loop: Loop
) -> None:
    base = trust_server.url
    worker, audit = make_page(origins=(base,))
    # 1. The poster, as Chromium draws it; zbar reads its QR code.
    worker.goto(f"{base}/places/{loop.place_id}/poster.svg?size=A5")
    poster = screenshot(worker, "trust-poster-a5")
    found = decode(Image.open(poster))
    assert [d.type for d in found] == ["QRCODE"]
    url = found[0].data.decode()
    assert url == f"{base}/s/{STATION_NO}"
    worker.goto(url)
    assert worker.url.endswith(f"/places/{loop.place_id}?via=qr#trust")
    assert worker.locator("#trust .trust-note").is_visible()
    assert worker.title().startswith("二维码测试驿站 <b>{{7*191}}</b>")
    assert "1337" not in worker.content()
    screenshot(worker, "trust-place-scanned")
    # One tap: everything is as listed.
    worker.click("form.trust-confirm button")
    worker.wait_for_load_state("load")
    assert worker.locator(".trust-thanks").is_visible()
    assert "1 人 今天确认有热水" in worker.inner_text(".trust-facts")
    # 2. Report "no hot water" with a photo that carries GPS.
    worker.click("a.trust-report")
    worker.wait_for_load_state("load")
    worker.check("input[name=type][value=amenity_missing]")
    assert worker.locator("#amenity").is_visible()
    assert not worker.locator("#proposed_hours").is_visible()
    worker.select_option("#amenity", "hot_water")
    worker.fill("#text", "热水器不出热水 <script>alert(1)</script>")
    worker.set_input_files(
        "#photo", files=[{"name": "door.jpg", "mimeType": "image/jpeg", "buffer": gps_jpeg()}]
    )
    screenshot(worker, "trust-report-form")
    worker.click("#report-form button[type=submit]")
    worker.wait_for_load_state("load")
    # 3. The receipt.
    receipt = worker.inner_text(".receipt-code").strip()
    assert len(receipt) == 10
    assert worker.get_attribute("[data-status]", "data-status") == "received"
    screenshot(worker, "trust-receipt-received")
    # 4. An admin confirms it in the queue and publishes the photo.
    admin, admin_audit = make_page(origins=(base,))
    admin.goto(f"{base}/auth/login")
    admin.fill("input[name=username]", loop.admin)
    admin.fill("input[name=password]", PASSWORD)
    admin.click("form.stack button[type=submit]")
    admin.wait_for_load_state("load")
    admin.goto(f"{base}/admin/trust/")
    item = admin.locator(f"section.queue-item[data-receipt='{receipt}']")
    assert "热水器不出热水 <script>alert(1)</script>" in item.inner_text()
    assert item.locator("img.trust-photo").evaluate("img => img.naturalWidth") > 0
    item.locator("input[name=action][value=confirm]").check()
    item.locator("input[name=publish_photo]").check()
    screenshot(admin, "trust-queue")
    item.locator("button[type=submit]").click()
    admin.wait_for_load_state("load")
    assert admin.locator(".flash-info").is_visible()
    assert admin.locator(f"section.queue-item[data-receipt='{receipt}']").count() == 1
    assert_clean(admin_audit)
    # 5. The place page shows hot water as reported missing; the photo has no EXIF.
    worker.goto(f"{base}/places/{loop.place_id}")
    hot = worker.locator("li.amenity[data-amenity=hot_water]")
    assert "reported-missing" in (hot.get_attribute("class") or "")
    assert "有人报告缺失" in hot.inner_text()
    assert "已核实：热水缺失或损坏" in worker.inner_text(".trust-problems")
    photo = worker.request.get(f"{base}/reports/{receipt}/photo.jpg")
    assert photo.status == 200
    stored = Image.open(io.BytesIO(photo.body()))
    assert stored.format == "JPEG" and not stored.getexif() and b"PhoneMaker" not in photo.body()
    screenshot(worker, "trust-place-after")
    # 6. The receipt says confirmed.
    worker.goto(f"{base}/reports/{receipt}")
    assert worker.get_attribute("[data-status]", "data-status") == "confirmed"
    assert "审核员已核实" in worker.inner_text(".trust-status")
    screenshot(worker, "trust-receipt-confirmed")
    # English, same page.
    worker.goto(f"{base}/reports/{receipt}?lang=en")
    assert "Confirmed by a moderator" in worker.inner_text(".trust-status")
    screenshot(worker, "trust-receipt-confirmed-en")
    assert_clean(audit)
