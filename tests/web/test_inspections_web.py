"""The inspection pages through the test client: CSRF, field-named errors, scope, the public page."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.db import inspections as store
from geo.inspections.standards import shipped_standards
from geo.service import inspections as service
from tests.finder_fixtures import add_place
from tests.household_fixtures import CHENGZHONG, csrf_from, login, make_user

ITEMS = [i.key for i in shipped_standards()[2].items]


def setup(db: Session, client: FlaskClient) -> tuple[int, int, str]:
    for standard in shipped_standards():
        service.import_standard(db, standard, service.Who("test"))
    place = add_place(db, 101.778, 36.617, adcode=CHENGZHONG, name="检查页驿站")
    inspector = make_user(db, "inspector", districts=(CHENGZHONG,))
    admin = make_user(db, "admin")
    login(client, admin.username)
    page = client.get("/admin/inspections/").get_data(as_text=True)
    response = client.post(
        "/admin/inspections/plans",
        data={
            "district": CHENGZHONG,
            "month": "2026-12",
            "visits": "3",
            "seed": "11",
            "inspector": inspector.username,
            "csrf_token": csrf_from(page),
        },
    )
    assert response.status_code == 302
    [visit] = db.scalars(select(store.Visit.id).where(store.Visit.place_id == place)).all()
    client.post("/auth/logout", data={"csrf_token": csrf_from(page)})
    login(client, inspector.username)
    return place, visit, inspector.username


def test_plan_errors_name_the_field(client: FlaskClient, db: Session) -> None:
    admin = make_user(db, "admin")
    login(client, admin.username)
    token = csrf_from(client.get("/admin/inspections/").get_data(as_text=True))
    response = client.post(
        "/admin/inspections/plans",
        data={
            "district": CHENGZHONG,
            "month": "12/2026",
            "inspector": "nobody",
            "csrf_token": token,
        },
    )
    assert response.status_code == 400
    assert "inspector" in response.get_data(as_text=True)


def test_a_visit_without_its_csrf_token_is_refused(client: FlaskClient, db: Session) -> None:
    _, visit, _ = setup(db, client)
    data = dict.fromkeys((f"item_{k}" for k in ITEMS), "pass")
    assert client.post(f"/inspect/visits/{visit}", data=data).status_code == 400
    assert db.scalar(select(store.Visit.status).where(store.Visit.id == visit)) == "planned"


def test_the_phone_gets_field_named_json_errors_then_sends(
    client: FlaskClient, db: Session
) -> None:
    place, visit, inspector = setup(db, client)
    page = client.get(f"/inspect/visits/{visit}").get_data(as_text=True)
    assert 'data-draft-key="yitu-visit-' in page
    token = csrf_from(page)
    headers = {"Accept": "application/json"}
    base = {
        **{f"item_{k}": "pass" for k in ITEMS},
        "csrf_token": token,
        "lon": "101.778",
        "lat": "36.617",
    }
    cases = [
        ({"item_wifi": "pass"}, "item_wifi"),
        ({"item_clean": "maybe"}, "item_clean"),
        ({"lat": "north"}, "lat"),
        ({"visited_at": "yesterday"}, "visited_at"),
    ]
    for extra, field in cases:
        response = client.post(f"/inspect/visits/{visit}", data={**base, **extra}, headers=headers)
        assert response.status_code == 400, extra
        assert response.get_json()["field"] == field
    done = client.post(
        f"/inspect/visits/{visit}", data={**base, "item_clean": "fail"}, headers=headers
    )
    assert done.status_code == 200 and done.get_json()["score"] == 95
    assert done.get_json()["far"] is False
    # The public page: stars and the date, never the inspector.
    public = client.get(f"/places/{place}").get_data(as_text=True)
    assert "place-inspection" in public and "★★★★★" in public
    assert inspector not in public


def test_another_district_s_inspector_cannot_see_the_visit(
    client: FlaskClient, db: Session
) -> None:
    _, visit, _ = setup(db, client)
    other = make_user(db, "inspector", districts=("630104",))
    second = client.application.test_client()
    login(second, other.username)
    assert second.get(f"/inspect/visits/{visit}").status_code == 404
    assert "检查页驿站" not in second.get("/inspect/").get_data(as_text=True)


def test_the_visits_export_is_formula_safe(client: FlaskClient, db: Session) -> None:
    for standard in shipped_standards():
        service.import_standard(db, standard, service.Who("test"))
    add_place(db, 101.778, 36.617, adcode=CHENGZHONG, name='=HYPERLINK("http://x")')
    service.plan_visits(db, service.Who("t"), adcode=CHENGZHONG, month="2026-12", visits=1, seed=3)
    login(client, make_user(db, "admin").username)
    response = client.get("/admin/inspections/visits.csv")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert text.splitlines()[0].startswith("\ufeffid,plan_id,place_id,place_name")
    assert "'=HYPERLINK" in text and ",stale," in text


def test_the_monthly_report_lists_the_month_and_names_bad_fields(
    client: FlaskClient, db: Session
) -> None:
    place, visit, _ = setup(db, client)
    token = csrf_from(client.get(f"/inspect/visits/{visit}").get_data(as_text=True))
    client.post(
        f"/inspect/visits/{visit}",
        data={**{f"item_{k}": "pass" for k in ITEMS}, "csrf_token": token},
    )
    admin = client.application.test_client()
    login(admin, make_user(db, "admin").username)
    page = admin.get(f"/admin/inspections/report?district={CHENGZHONG}&month=2026-12")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "检查页驿站" in html and "1 / 1" in html
    empty = admin.get(f"/admin/inspections/report?district={CHENGZHONG}&month=2027-01")
    assert "检查页驿站" not in empty.get_data(as_text=True)
    bad = admin.get(f"/admin/inspections/report?district={CHENGZHONG}&month=2027-1")
    assert bad.status_code == 400 and "month" in bad.get_data(as_text=True)
