"""Caseworker and planner pages of the household register, through the browser's eyes."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.db.audit import AuditEntry
from tests.household_fixtures import (
    CHENGXI,
    CHENGZHONG,
    KEY_TEXT,
    add_households,
    csrf_from,
    login,
    make_user,
    record,
)


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {**app_config, "HOUSEHOLD_KEY": KEY_TEXT}


@pytest.fixture
def caseworker(client: FlaskClient, db: Session) -> FlaskClient:
    user = make_user(db, "caseworker", districts=(CHENGZHONG,), username="case-zhong")
    login(client, user.username)
    return client


def audit_count(db: Session, action: str) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == action, AuditEntry.actor == "case-zhong")
        )
        or 0
    )


def test_list_shows_own_district_names_only(caseworker: FlaskClient, db: Session) -> None:
    mine, theirs = record(adcode=CHENGZHONG), record(adcode=CHENGXI)
    add_households(db, [mine, theirs])
    page = caseworker.get("/cases/").get_data(as_text=True)
    assert mine.name in page and mine.household_no in page
    assert theirs.name not in page and theirs.household_no not in page
    assert audit_count(db, "list") == 1


def test_household_page_decrypts_and_is_audited(caseworker: FlaskClient, db: Session) -> None:
    rec = record()
    [hid] = add_households(db, [rec])
    response = caseworker.get(f"/cases/households/{hid}")
    page = response.get_data(as_text=True)
    for value in (rec.name, rec.id_number, rec.phone, rec.address):
        assert value in page
    assert response.headers["Cache-Control"] == "no-store"
    assert audit_count(db, "view") == 1


def test_another_districts_household_is_not_found(caseworker: FlaskClient, db: Session) -> None:
    [hid] = add_households(db, [record(adcode=CHENGXI)])
    response = caseworker.get(f"/cases/households/{hid}")
    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)


def test_search_by_exact_phone(caseworker: FlaskClient, db: Session) -> None:
    rec = record()
    add_households(db, [rec, record()])
    token = csrf_from(caseworker.get("/cases/search").get_data(as_text=True))
    page = caseworker.post(
        "/cases/search", data={"phone": rec.phone, "csrf_token": token}
    ).get_data(as_text=True)
    assert rec.name in page
    bad = caseworker.post("/cases/search", data={"id_number": "123", "csrf_token": token})
    assert bad.status_code == 400
    # Terms in a URL are ignored: they would leak into history, Referer and proxy logs.
    assert rec.name not in caseworker.get(
        "/cases/search", query_string={"phone": rec.phone}
    ).get_data(as_text=True)


def test_visits_and_support_through_the_forms(caseworker: FlaskClient, db: Session) -> None:
    [hid] = add_households(db, [record()])
    url = f"/cases/households/{hid}"
    token = csrf_from(caseworker.get(url).get_data(as_text=True))
    today = date.today().isoformat()
    assert (
        caseworker.post(
            f"{url}/visits", data={"visited_on": today, "notes": "入户走访", "csrf_token": token}
        ).status_code
        == 302
    )
    assert (
        caseworker.post(
            f"{url}/support",
            data={
                "given_on": today,
                "kind": "warmth",
                "amount_yuan": "600",
                "notes": "送温暖",
                "csrf_token": token,
            },
        ).status_code
        == 302
    )
    page = caseworker.get(url).get_data(as_text=True)
    assert "入户走访" in page and "600.00" in page
    bad = caseworker.post(
        f"{url}/support",
        data={"given_on": today, "kind": "warmth", "amount_yuan": "-5", "csrf_token": token},
    )
    assert bad.status_code == 400
    no_token = caseworker.post(f"{url}/visits", data={"visited_on": today})
    assert no_token.status_code == 400


def test_map_script_carries_own_points_and_is_audited(caseworker: FlaskClient, db: Session) -> None:
    mine = record(adcode=CHENGZHONG, lon=101.7791, lat=36.6182)
    theirs = record(adcode=CHENGXI, lon=101.7312, lat=36.6333)
    add_households(db, [mine, theirs])
    page = caseworker.get("/cases/map")
    assert page.status_code == 200 and "<script>" not in page.get_data(as_text=True)
    script = caseworker.get("/cases/map.js")
    body = script.get_data(as_text=True)
    assert script.mimetype == "application/javascript"
    assert mine.household_no in body and "36.6182" in body
    assert theirs.household_no not in body and "36.6333" not in body
    # Names stay on the household page (looked for as text and as a script's \uXXXX escapes).
    assert mine.name not in body and json.dumps(mine.name)[1:-1] not in body
    assert audit_count(db, "map") == 1


def test_csv_export_escapes_formulas_and_is_audited(caseworker: FlaskClient, db: Session) -> None:
    hostile = record(
        address='=HYPERLINK("http://evil.example","x")', employer="@SUM(1+1)*cmd|' /C calc'!A0"
    )
    add_households(db, [hostile, record(adcode=CHENGXI)])
    response = caseworker.get("/cases/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["household_no"] for r in rows] == [hostile.household_no]
    assert rows[0]["address"].startswith("'=") and rows[0]["employer"].startswith("'@")
    assert rows[0]["name"] == hostile.name
    assert audit_count(db, "export") == 1


def test_xlsx_export_has_no_live_formula(caseworker: FlaskClient, db: Session) -> None:
    add_households(db, [record(address="=1+2")])
    response = caseworker.get("/cases/export.xlsx")
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True).worksheets[0]
    values = [cell for row in sheet.iter_rows(values_only=True) for cell in row]
    assert "'=1+2" in values and "=1+2" not in values
    assert caseworker.get("/cases/export.pdf").status_code == 400


def test_planner_sees_only_k_anonymous_cells(client: FlaskClient, db: Session) -> None:
    dense = [record(lon=101.7780 + i * 1e-5, lat=36.6170) for i in range(12)]
    sparse = [record(lon=101.8300, lat=36.6500) for _ in range(2)]
    add_households(db, dense + sparse)
    user = make_user(db, "planner")
    login(client, user.username)
    assert client.get("/cases/").status_code == 403
    doc = client.get("/households/cells.geojson").get_json()
    assert [f["properties"]["count"] for f in doc["features"]] == [12]
    assert doc["k"] == 11 and doc["has_suppressed"] is True
    text = str(doc)
    assert "101.83" not in text and all(r.household_no not in text for r in dense + sparse)
    assert client.get("/households/cells").status_code == 200
    assert "12" in client.get("/households/cells.js").get_data(as_text=True)


def test_caseworkers_cannot_open_the_aggregate_or_admin(caseworker: FlaskClient) -> None:
    assert caseworker.get("/households/cells").status_code == 403
    assert caseworker.get("/audit/").status_code == 403


def test_without_a_key_the_register_answers_503(app_config: dict[str, object], db: Session) -> None:
    from web import create_app

    config = {k: v for k, v in app_config.items() if k != "HOUSEHOLD_KEY"}
    client = create_app(config).test_client()
    user = make_user(db, "caseworker", districts=(CHENGZHONG,))
    login(client, user.username)
    response = client.get("/cases/")
    assert response.status_code == 503
    assert "Retry-After" in response.headers
