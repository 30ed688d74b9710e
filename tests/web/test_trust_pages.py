"""Workers' reports, confirmations, check-ins, receipts, moderation and posters over HTTP (issue 10)."""

from __future__ import annotations

import io
import os
import re

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.db import trust as store
from tests.finder_fixtures import add_place
from tests.household_fixtures import csrf_from, login, make_user

HOSTILE_TEXTS = (
    "<img src=x onerror=alert(1)>",
    "${document.title='PWNED'}",
    "{{7*191}}",
    "{% raw %}x{% endraw %}",
)


def station(db: Session, **fields: object) -> int:
    values = {
        "amenities": ["water", "hot_water", "toilet"],
        "adcode": "630103",
        "district": "城中区",
        "station_no": "XN-W-01",
        "name": "城中暖心驿站",
        **fields,
    }
    return add_place(db, 101.778, 36.617, **values)


def gps_jpeg(size: tuple[int, int] = (80, 60)) -> bytes:
    image = Image.new("RGB", size, (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (36.0, 37.0, 1.0), 3: "E", 4: (101.0, 46.0, 40.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def count(db: Session, model: type) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_one_tap_confirm_from_the_place_page(client: FlaskClient, db: Session) -> None:
    place = station(db)
    page = client.get(f"/places/{place}").get_data(as_text=True)
    assert 'id="trust"' in page and "信息准确" in page or "as listed" in page
    token = csrf_from(page)
    assert client.post(f"/places/{place}/confirm", data={"facts": "all"}).status_code == 400
    response = client.post(f"/places/{place}/confirm", data={"facts": "all", "csrf_token": token})
    assert response.status_code == 302 and "done=confirmed" in response.location
    after = client.get(response.location, headers={"Accept-Language": "zh-CN"})
    html = after.get_data(as_text=True)
    assert "1 人 今天确认有热水" in html
    assert "1 人 今天确认营业时间" in html
    assert count(db, store.Confirmation) == 5
    en = client.get(f"/places/{place}?lang=en").get_data(as_text=True)
    assert "1 confirmed has hot water today" not in en
    assert "1 confirmed hot water today" in en


def test_stale_words_in_both_languages(client: FlaskClient, db: Session) -> None:
    from sqlalchemy import text

    place = station(db)
    db.execute(
        text("UPDATE places SET created_at = now() - interval '200 days' WHERE id = :i"),
        {"i": place},
    )
    db.execute(
        text(
            "INSERT INTO trust_confirmations (place_id, fact, client_hash, day, "
            "confirmed_at) VALUES (:i, 'hours', repeat('a', 32), current_date - 120, "
            "now() - interval '120 days')"
        ),
        {"i": place},
    )
    zh = client.get(f"/places/{place}?lang=zh").get_data(as_text=True)
    assert "营业时间 120 天未确认" in zh and "尚无人确认：信息、饮用水、热水、卫生间" in zh
    en = client.get(f"/places/{place}?lang=en").get_data(as_text=True)
    assert "The opening hours: not confirmed for 120 days" in en


def test_checkin_form_counts_without_keeping_anything_personal(
    client: FlaskClient, db: Session
) -> None:
    place = station(db)
    token = csrf_from(client.get(f"/places/{place}").get_data(as_text=True))
    response = client.post(
        f"/places/{place}/checkin",
        data={"purpose": "water", "csrf_token": token},
        environ_base={"REMOTE_ADDR": "198.51.100.77"},
    )
    assert response.status_code == 302
    rows = db.execute(select(store.Checkin.purpose, store.Checkin.visits)).all()
    assert [tuple(r) for r in rows] == [("water", 1)]
    assert "198.51.100.77" not in repr(db.execute(select(store.Checkin)).all())


def test_report_form_with_photo_gives_a_receipt_page(client: FlaskClient, db: Session) -> None:
    place = station(db)
    page = client.get(f"/places/{place}/report").get_data(as_text=True)
    response = client.post(
        f"/places/{place}/report",
        data={
            "csrf_token": csrf_from(page),
            "type": "amenity_missing",
            "amenity": "hot_water",
            "text": "热水器坏了",
            "photo": (io.BytesIO(gps_jpeg()), "p.jpg", "image/jpeg"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    receipt = response.location.rsplit("/", 1)[-1]
    page = client.get(f"/reports/{receipt}").get_data(as_text=True)
    assert receipt in page and 'data-status="received"' in page
    assert "热水器坏了" not in page  # private until published
    place_page = client.get(f"/places/{place}").get_data(as_text=True)
    assert "有人报告：热水缺失或损坏" in place_page
    assert "热水器坏了" not in place_page


def test_report_form_errors_stay_on_the_form(client: FlaskClient, db: Session) -> None:
    place = station(db)
    page = client.get(f"/places/{place}/report").get_data(as_text=True)
    response = client.post(
        f"/places/{place}/report", data={"csrf_token": csrf_from(page), "type": "other", "text": ""}
    )
    assert response.status_code == 400
    assert 'data-field="text"' in response.get_data(as_text=True)
    assert count(db, store.TrustReport) == 0


def test_api_report_receipt_and_problem_details(client: FlaskClient, db: Session) -> None:
    place = station(db)
    response = client.post(f"/api/v1/places/{place}/reports", json={"type": "closed_in_hours"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "received" and response.headers["Location"].endswith(body["receipt"])
    again = client.post(f"/api/v1/places/{place}/reports", json={"type": "closed_in_hours"})
    assert again.status_code == 200 and again.get_json()["receipt"] == body["receipt"]
    status = client.get(f"/api/v1/reports/{body['receipt']}")
    assert status.status_code == 200 and status.get_json()["type"] == "closed_in_hours"
    cases = [
        (f"/api/v1/places/{2**60}/reports", {"type": "gone"}, 404, None),
        (f"/api/v1/places/{place}/reports", {"type": "nope"}, 400, "type"),
        (f"/api/v1/places/{place}/reports", {"type": "other", "text": "x" * 501}, 400, "text"),
        (f"/api/v1/places/{place}/reports", ["not", "an", "object"], 400, "body"),
        (f"/api/v1/places/{place}/confirmations", {"facts": ["amenity:shower"]}, 400, "facts"),
        (f"/api/v1/places/{place}/checkins", {"purpose": "spying"}, 400, "purpose"),
    ]
    for url, payload, code, field in cases:
        answer = client.post(url, json=payload)
        assert answer.status_code == code, (url, payload, answer.get_data(as_text=True))
        assert answer.mimetype == "application/problem+json"
        assert answer.get_json().get("field") == field
    missing = client.get("/api/v1/reports/0000000000")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert client.get("/api/v1/reports/bad").status_code == 400


def test_api_photo_too_big_is_413_and_not_an_image_is_400(
    app, client: FlaskClient, db: Session
) -> None:
    place = station(db)
    app.config["TRUST_MAX_PHOTO_BYTES"] = 50_000
    noise = Image.frombytes("RGB", (400, 400), os.urandom(400 * 400 * 3))
    out = io.BytesIO()
    noise.save(out, format="PNG")
    assert len(out.getvalue()) > 50_000
    too_big = client.post(
        f"/api/v1/places/{place}/reports",
        data={"type": "gone", "photo": (io.BytesIO(out.getvalue()), "big.png", "image/png")},
        content_type="multipart/form-data",
    )
    assert too_big.status_code == 413 and too_big.mimetype == "application/problem+json"
    not_image = client.post(
        f"/api/v1/places/{place}/reports",
        data={"type": "gone", "photo": (io.BytesIO(b"%PDF-1.4 hello"), "x.jpg", "image/jpeg")},
        content_type="multipart/form-data",
    )
    assert not_image.status_code == 400 and not_image.get_json()["field"] == "photo"
    assert count(db, store.TrustReport) == 0


def test_honeypot_answers_like_success_and_stores_nothing(client: FlaskClient, db: Session) -> None:
    place = station(db)
    response = client.post(
        f"/api/v1/places/{place}/reports", json={"type": "gone", "website": "http://spam.example"}
    )
    assert response.status_code == 201
    assert count(db, store.TrustReport) == 0
    assert client.get(f"/api/v1/reports/{response.get_json()['receipt']}").status_code == 404


def test_moderator_confirms_and_publishes_hostile_text_inert(
    client: FlaskClient, db: Session
) -> None:
    place = station(db)
    receipts = []
    for i, hostile in enumerate(HOSTILE_TEXTS):
        answer = client.post(
            f"/api/v1/places/{place}/reports",
            json={"type": "other", "text": f"{hostile} 门锁着"},
            environ_base={"REMOTE_ADDR": f"198.51.100.{i + 1}"},
        )
        receipts.append(answer.get_json()["receipt"])
    assert client.get("/admin/trust/").status_code == 302  # anonymous: to the login page
    planner = make_user(db, "planner")
    login(client, planner.username)
    assert client.get("/admin/trust/").status_code == 403
    client.post(
        "/auth/logout",
        data={"csrf_token": csrf_from(client.get("/auth/account").get_data(as_text=True))},
    )
    admin = make_user(db, "admin")
    login(client, admin.username)
    queue = client.get("/admin/trust/").get_data(as_text=True)
    for receipt in receipts:
        assert receipt in queue
    ids = [store.report_by_receipt(db, r).id for r in receipts]
    token = csrf_from(queue)
    for report_id in ids:
        done = client.post(
            f"/admin/trust/reports/{report_id}",
            data={"csrf_token": token, "action": "confirm", "publish_text": "1"},
        )
        assert done.status_code == 302, done.get_data(as_text=True)[:300]
    pages = [
        client.get(f"/places/{place}").get_data(as_text=True),
        client.get("/admin/trust/?district=630103").get_data(as_text=True),
    ]
    pages += [client.get(f"/reports/{r}").get_data(as_text=True) for r in receipts]
    for page in pages:
        assert "<img src=x" not in page and "${document" not in page
        assert "1337" not in page and "{% raw %}" not in page
    assert "&lt;img src=x onerror=alert(1)&gt; 门锁着" in pages[0]
    assert 'data-status="confirmed"' in pages[2]
    actions = db.scalars(select(store.TrustAction.action)).all()
    assert actions.count("confirm") == 4 and actions.count("publish_text") == 4
    assert "view_private" in actions


def test_reject_with_public_reason_and_csrf(client: FlaskClient, db: Session) -> None:
    place = station(db)
    receipt = client.post(f"/api/v1/places/{place}/reports", json={"type": "locked"}).get_json()[
        "receipt"
    ]
    report_id = store.report_by_receipt(db, receipt).id
    admin = make_user(db, "admin")
    login(client, admin.username)
    assert (
        client.post(
            f"/admin/trust/reports/{report_id}", data={"action": "reject", "reason": "x"}
        ).status_code
        == 400
    )
    token = csrf_from(client.get("/admin/trust/").get_data(as_text=True))
    no_reason = client.post(
        f"/admin/trust/reports/{report_id}", data={"csrf_token": token, "action": "reject"}
    )
    assert no_reason.status_code == 400
    client.post(
        f"/admin/trust/reports/{report_id}",
        data={"csrf_token": token, "action": "reject", "reason": "<b>站点</b>白天开放，已核实"},
    )
    page = client.get(f"/reports/{receipt}?lang=zh").get_data(as_text=True)
    assert 'data-status="rejected"' in page and "&lt;b&gt;站点&lt;/b&gt;白天开放" in page
    assert client.get(f"/api/v1/reports/{receipt}").get_json()["public_reason"].endswith("已核实")


def test_private_photo_only_for_admins_public_after_approval(
    client: FlaskClient, db: Session
) -> None:
    place = station(db)
    answer = client.post(
        f"/api/v1/places/{place}/reports",
        data={
            "type": "amenity_missing",
            "amenity": "toilet",
            "photo": (io.BytesIO(gps_jpeg()), "p.jpg", "image/jpeg"),
        },
        content_type="multipart/form-data",
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    receipt = answer.get_json()["receipt"]
    report_id = store.report_by_receipt(db, receipt).id
    assert client.get(f"/reports/{receipt}/photo.jpg").status_code == 404
    assert client.get(f"/admin/trust/reports/{report_id}/photo.jpg").status_code == 302
    admin = make_user(db, "admin")
    login(client, admin.username)
    private = client.get(f"/admin/trust/reports/{report_id}/photo.jpg")
    assert private.status_code == 200 and private.headers["Cache-Control"] == "no-store"
    image = Image.open(io.BytesIO(private.data))
    assert not image.getexif() and b"PhoneMaker" not in private.data
    token = csrf_from(client.get("/admin/trust/").get_data(as_text=True))
    client.post(
        f"/admin/trust/reports/{report_id}",
        data={"csrf_token": token, "action": "confirm", "publish_photo": "1"},
    )
    public = client.get(f"/reports/{receipt}/photo.jpg")
    assert public.status_code == 200 and public.data == private.data
    page = client.get(f"/places/{place}").get_data(as_text=True)
    assert f"/reports/{receipt}/photo.jpg" in page
    assert 'data-amenity="toilet"' in page and "reported-missing" in page


def test_short_link_and_posters(client: FlaskClient, db: Session) -> None:
    from pyzbar.pyzbar import decode

    from geo.trust.posters import qr_png

    place = station(db, station_no="XN-Q/7")
    link = client.get("/s/XN-Q%2F7")
    assert link.status_code == 302 and link.location.endswith(f"/places/{place}?via=qr#trust")
    assert client.get("/s/NOPE").status_code == 404
    svg = client.get(f"/places/{place}/poster.svg?size=A5")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    text = svg.get_data(as_text=True)
    assert "http://localhost/s/XN-Q%2F7" in text and "城中暖心驿站" in text
    pdf = client.get(f"/places/{place}/poster.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.get(f"/places/{place}/poster.pdf?size=B0").status_code == 400
    decoded = decode(Image.open(io.BytesIO(qr_png("http://localhost/s/XN-Q%2F7"))))
    assert [d.data.decode() for d in decoded] == ["http://localhost/s/XN-Q%2F7"]
    assert client.get("/admin/trust/posters/630103.pdf").status_code == 302
    admin = make_user(db, "admin")
    login(client, admin.username)
    bulk = client.get("/admin/trust/posters/630103.pdf?size=A5")
    assert bulk.status_code == 200 and bulk.data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type /Page\b", bulk.data)) >= 1
    assert client.get("/admin/trust/posters/999999.pdf").status_code == 404


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_and_receipt_pages_in_both_languages(
    client: FlaskClient, db: Session, lang: str
) -> None:
    place = station(db)
    form = client.get(f"/places/{place}/report?lang={lang}").get_data(as_text=True)
    assert ("报告问题" if lang == "zh" else "Report a problem") in form
    assert 'name="website"' in form and "csrf_token" in form
    missing = client.get(f"/reports/ABCDEFGHJK?lang={lang}")
    assert missing.status_code == 404


def test_cli_prints_a_districts_posters(runner, yitu_cli, db: Session, tmp_path) -> None:  # noqa: ANN001
    station(db)
    station(db, station_no="XN-W-02", name="第二驿站")
    out = tmp_path / "posters.pdf"
    result = runner.invoke(
        yitu_cli,
        [
            "trust",
            "posters",
            "--district",
            "630103",
            "--size",
            "A5",
            "--out",
            str(out),
            "--base-url",
            "https://yitu.example.cn",
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    assert len(re.findall(rb"/Type /Page\b(?!s)", out.read_bytes())) == 2
    refused = runner.invoke(
        yitu_cli, ["trust", "posters", "--district", "630103", "--out", str(out)]
    )
    assert refused.exit_code != 0 and "--base-url" in refused.output


def test_open_problems_badge_in_the_directory(client: FlaskClient, db: Session) -> None:
    place = station(db)
    quiet = station(db, station_no="XN-W-09", name="安静驿站")
    client.post(f"/api/v1/places/{place}/reports", json={"type": "closed_in_hours"})
    html = client.get("/places?lang=zh").get_data(as_text=True)
    item = html.split(f'href="/places/{place}"')[1].split("</li>")[0]
    assert "有人报告：开放时间内关闭" in item
    assert "problem-badge" not in html.split(f'href="/places/{quiet}"')[1].split("</li>")[0]


def test_moderators_act_only_in_their_districts(client: FlaskClient, db: Session) -> None:
    mine = station(db)
    theirs = station(db, adcode="630104", district="城西区", station_no="XN-X-01", name="城西驿站")
    receipts = {
        p: client.post(f"/api/v1/places/{p}/reports", json={"type": "gone"}).get_json()["receipt"]
        for p in (mine, theirs)
    }
    moderator = make_user(db, "moderator", districts=("630103",))
    login(client, moderator.username)
    assert client.get("/auth/login").location.endswith("/admin/trust/")
    queue = client.get("/admin/trust/").get_data(as_text=True)
    assert receipts[mine] in queue and receipts[theirs] not in queue
    assert client.get("/admin/trust/?district=630104").status_code == 403
    token = csrf_from(queue)
    other_id = store.report_by_receipt(db, receipts[theirs]).id
    assert (
        client.post(
            f"/admin/trust/reports/{other_id}", data={"csrf_token": token, "action": "fix"}
        ).status_code
        == 404
    )
    own_id = store.report_by_receipt(db, receipts[mine]).id
    assert (
        client.post(
            f"/admin/trust/reports/{own_id}", data={"csrf_token": token, "action": "fix"}
        ).status_code
        == 302
    )
    assert client.get("/admin/trust/posters/630104.pdf").status_code == 403
    assert client.get("/admin/trust/posters/630103.pdf").status_code == 200
    assert client.get("/admin/").status_code == 403  # not a station admin
    with pytest.raises(Exception, match="district"):
        make_user(db, "moderator")


@pytest.mark.parametrize(
    "body",
    [
        {"type": "gone", "website": 5},
        {"type": "gone", "lon": True},
        {"type": "wrong_location", "lon": "NaN", "lat": 36.6},
        {"type": 7},
        {"facts": "all"},
    ],
)
def test_odd_json_never_500(client: FlaskClient, db: Session, body: dict) -> None:
    place = station(db)
    for path in ("reports", "confirmations", "checkins"):
        answer = client.post(f"/api/v1/places/{place}/{path}", json=body)
        assert answer.status_code in (200, 201, 400), (path, body, answer.status_code)
    nan = client.post(
        f"/api/v1/places/{place}/reports",
        data='{"type": "wrong_location", "lon": NaN, "lat": 36.6}',
        content_type="application/json",
    )
    assert nan.status_code == 400 and nan.get_json()["field"] == "lon"


def test_an_inspection_counts_as_fresh_in_words(client: FlaskClient, db: Session) -> None:
    from sqlalchemy import text

    place = station(db)
    db.execute(
        text(
            "UPDATE places SET created_at = now() - interval '300 days', "
            "last_verified = current_date - 5 WHERE id = :i"
        ),
        {"i": place},
    )
    zh = client.get(f"/places/{place}?lang=zh").get_data(as_text=True)
    assert "营业时间：工会 5 天前核查过" in zh and "最近没有人确认过" not in zh
