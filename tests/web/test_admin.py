"""Station management by admins: create, edit, suspend/close, verify, six haves, history."""

from __future__ import annotations

from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from geo.db import history
from geo.db.models import Place
from tests.finder_fixtures import HOSTILE_NAMES, add_place
from tests.household_fixtures import KEY_TEXT, csrf_from, login, make_user, post_form


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {**app_config, "HOUSEHOLD_KEY": KEY_TEXT}


@pytest.fixture
def admin(client: FlaskClient, db: Session) -> FlaskClient:
    login(client, make_user(db, "admin", username="admin-one").username)
    return client


def changes(db: Session, place_id: int) -> list[history.HistoryEntry]:
    return history.history(db, place_id)


def new_place_form(**overrides: str) -> dict[str, str]:
    form = {
        "name": "城中区环卫驿站",
        "kind": "station",
        "crs": "gcj02",
        "lon": "101.784260",
        "lat": "36.618655",
        "address": "西宁市城中区南大街1号",
        "opening_hours_text": "周一至周五 09:00-17:00",
        "status": "active",
        "note": "new station opened",
    }
    form.update(overrides)
    return form


def test_create_converts_gcj02_and_records_history(admin: FlaskClient, db: Session) -> None:
    data = new_place_form()
    token = csrf_from(admin.get("/admin/places/new").get_data(as_text=True))
    response = admin.post(
        "/admin/places/new", data={**data, "csrf_token": token, "amenities": ["water", "toilet"]}
    )
    assert response.status_code == 302
    place_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    place = db.get(Place, place_id)
    lon, lat = db.execute(
        select(func.ST_X(Place.geom), func.ST_Y(Place.geom)).where(Place.id == place_id)
    ).one()
    # GCJ-02 is 100-700 m off WGS-84 in China: the stored point moved by that much.
    moved_m = 111_320 * ((101.784260 - lon) ** 2 * 0.64 + (36.618655 - lat) ** 2) ** 0.5
    assert 100 < moved_m < 700
    assert place.source == "admin" and place.amenities == ["water", "toilet"]
    assert place.opening_hours == "Mo-Fr 09:00-17:00"
    [created] = changes(db, place_id)
    assert (created.action, created.actor, created.note) == (
        "create",
        "admin-one",
        "new station opened",
    )
    assert created.after["name"] == "城中区环卫驿站" and created.before == {}
    page = admin.get(f"/admin/places/{place_id}").get_data(as_text=True)
    assert "城中区环卫驿站" in page and "admin-one" in page


def test_invalid_form_shows_the_reasons(admin: FlaskClient, db: Session) -> None:
    token = csrf_from(admin.get("/admin/places/new").get_data(as_text=True))
    response = admin.post(
        "/admin/places/new", data={**new_place_form(name="", lat="136.6"), "csrf_token": token}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "name is missing" in page and "lat" in page
    assert db.scalar(select(func.count()).select_from(Place).where(Place.source == "admin")) == 0


def test_edit_keeps_before_and_after(admin: FlaskClient, db: Session) -> None:
    place_id = add_place(db, 101.778, 36.617, name="旧名称", amenities=["water"])
    edit_url = f"/admin/places/{place_id}/edit"
    page = admin.get(edit_url).get_data(as_text=True)
    assert "旧名称" in page
    form = {
        "name": "新名称",
        "kind": "station",
        "crs": "wgs84",
        "lon": "101.778",
        "lat": "36.617",
        "amenities": ["water", "charging"],
        "note": "renamed",
        "csrf_token": csrf_from(page),
    }
    assert admin.post(edit_url, data=form).status_code == 302
    [edit] = changes(db, place_id)
    assert edit.action == "edit"
    assert edit.before["name"] == "旧名称" and edit.after["name"] == "新名称"
    assert edit.after["amenities"] == ["water", "charging"]
    assert "lon" not in edit.after  # the point did not move
    # Saving again without changes writes no history row.
    form["csrf_token"] = csrf_from(admin.get(edit_url).get_data(as_text=True))
    assert admin.post(edit_url, data=form).status_code == 302
    assert len(changes(db, place_id)) == 1


def test_suspend_close_reopen(admin: FlaskClient, db: Session) -> None:
    place_id = add_place(db, 101.778, 36.617)
    page_url = f"/admin/places/{place_id}"
    for action, status in (("suspend", "suspended"), ("close", "closed"), ("reopen", "active")):
        response = post_form(
            admin, page_url, f"{page_url}/status", {"action": action, "note": f"{action} it"}
        )
        assert response.status_code == 302
        assert db.get(Place, place_id).status == status
    assert [c.action for c in changes(db, place_id)] == ["reopen", "close", "suspend"]
    again = post_form(admin, page_url, f"{page_url}/status", {"action": "reopen"})
    assert again.status_code == 400
    bad = post_form(admin, page_url, f"{page_url}/status", {"action": "delete"})
    assert bad.status_code == 400


def test_verify_stamps_last_verified(admin: FlaskClient, db: Session) -> None:
    place_id = add_place(db, 101.778, 36.617)
    page_url = f"/admin/places/{place_id}"
    assert post_form(admin, page_url, f"{page_url}/verify", {"note": "暗访"}).status_code == 302
    db.expire_all()
    stamped = db.get(Place, place_id).last_verified
    today = db.scalar(text("SELECT current_date"))
    assert stamped == today and isinstance(stamped, date)
    [verify] = changes(db, place_id)
    assert verify.after == {"last_verified": today.isoformat()} and verify.note == "暗访"


def test_six_haves_checklist_with_notes(admin: FlaskClient, db: Session) -> None:
    place_id = add_place(db, 101.778, 36.617)
    page_url = f"/admin/places/{place_id}"
    response = post_form(
        admin,
        page_url,
        f"{page_url}/checklist",
        {"ok_sign": "1", "note_sign": "新标牌", "ok_on_map": "1", "note_facilities": "微波炉坏了"},
    )
    assert response.status_code == 302
    db.expire_all()
    assert db.get(Place, place_id).six_haves == {
        "sign": True,
        "layout": False,
        "facilities": False,
        "functions": False,
        "management": False,
        "on_map": True,
    }
    items = history.checklist(db, place_id)
    assert items["facilities"] == {"ok": False, "note": "微波炉坏了"}
    [entry] = changes(db, place_id)
    assert entry.action == "checklist" and entry.after["sign"] == {"ok": True, "note": "新标牌"}
    page = admin.get(page_url).get_data(as_text=True)
    assert "微波炉坏了" in page


def test_hostile_names_are_escaped_in_admin_pages(admin: FlaskClient, db: Session) -> None:
    ids = [
        add_place(db, 101.77 + i * 0.001, 36.61, name=name) for i, name in enumerate(HOSTILE_NAMES)
    ]
    for url in [
        "/admin/",
        *(f"/admin/places/{i}" for i in ids),
        *(f"/admin/places/{i}/edit" for i in ids),
    ]:
        page = admin.get(url).get_data(as_text=True)
        assert "<img src=x" not in page and "${document" not in page, url
        assert "<svg onload" not in page, url


def test_accounts_can_be_disabled_but_not_ones_own(admin: FlaskClient, db: Session, app) -> None:  # noqa: ANN001
    other = make_user(db, "planner", username="planner-two")
    other_client = app.test_client()
    login(other_client, other.username)
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "planner-two" in page and "admin-one" in page
    response = post_form(admin, "/admin/users", f"/admin/users/{other.id}/active", {"active": "0"})
    assert response.status_code == 302
    assert other_client.get("/auth/account").status_code == 302  # its session ended
    me = next(
        u
        for u in __import__("geo.db.accounts", fromlist=["x"]).list_accounts(db)
        if u.username == "admin-one"
    )
    assert (
        post_form(
            admin, "/admin/users", f"/admin/users/{me.id}/active", {"active": "0"}
        ).status_code
        == 400
    )
