"""JSON request logs (request id, route, status, latency), /metrics behind an allow-list,
and logs that hold no household field, rider id, report text or client address."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.finder_fixtures import add_place
from tests.household_fixtures import KEY_TEXT, add_households, login, make_user, record

CLIENT = "203.0.113.77"  # a documentation address, recognisable in any log


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {
        **app_config,
        "HOUSEHOLD_KEY": KEY_TEXT,
        "LOGIN_RATE_LIMIT": "100 per minute",
        "TRUST_RATE_LIMIT_CLIENT": "1000 per minute",
    }


def access_lines(err: str) -> list[dict[str, object]]:
    lines = []
    for line in err.splitlines():
        if line.startswith("{") and '"logger": "yitu.access"' in line:
            lines.append(json.loads(line))
    return lines


def test_each_request_logs_one_json_line_with_its_route_not_its_path(
    client: FlaskClient, db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    place = add_place(db, 101.778, 36.617, city="西宁市")
    capsys.readouterr()
    response = client.get(
        f"/places/{place}?lon=101.77812&lat=36.61734",
        headers={"X-Request-ID": "abc12345-from-proxy"},
    )
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "abc12345-from-proxy"
    [line] = access_lines(capsys.readouterr().err)
    assert line["request_id"] == "abc12345-from-proxy"
    assert line["route"] == "/places/<int:place_id>"
    assert line["method"] == "GET" and line["status"] == 200
    assert isinstance(line["latency_ms"], float) and line["latency_ms"] >= 0
    assert "101.778" not in json.dumps(line)

    forged = client.get("/healthz", headers={"X-Request-ID": 'bad id {"status": 500}'})
    new_id = forged.headers["X-Request-ID"]
    assert new_id != "bad id" and len(new_id) == 16
    [line] = access_lines(capsys.readouterr().err)
    assert line["request_id"] == new_id and line["status"] == 200


def test_metrics_count_requests_by_route_for_allowed_scrapers_only(
    client: FlaskClient, db: Session
) -> None:
    place = add_place(db, 101.778, 36.617, city="西宁市")
    for _ in range(3):
        assert client.get(f"/places/{place}").status_code == 200
    assert client.get("/no/such/page").status_code == 404
    scraped = client.get("/metrics")
    assert scraped.status_code == 200
    text = scraped.get_data(as_text=True)
    assert (
        'yitu_http_requests_total{method="GET",route="/places/<int:place_id>",status="200"}' in text
    )
    assert 'route="<unmatched>",status="404"' in text
    assert "yitu_http_request_duration_seconds_bucket" in text
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": CLIENT})
    assert outside.status_code == 404


def test_logs_hold_no_household_field_rider_id_report_text_or_client_address(
    app: Flask, db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [record() for _ in range(3)]
    ids = add_households(db, records)
    place = add_place(db, 101.778, 36.617, city="西宁市")
    caseworker = make_user(db, "caseworker", districts=(records[0].adcode,))
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = CLIENT
    capsys.readouterr()
    login(client, caseworker.username)
    for household in ids:
        assert client.get(f"/cases/households/{household}").status_code == 200
    from tests.household_fixtures import post_form

    post_form(client, "/cases/search", "/cases/search", {"name": records[1].name})
    assert client.get("/cases/export.csv").status_code == 200
    report_text = "门锁坏了，隔壁骑手 R-778812 说的"
    reported = client.post(
        f"/api/v1/places/{place}/reports", json={"type": "other", "text": report_text}
    )
    assert reported.status_code in (201, 202), reported.get_data(as_text=True)
    client.get(f"/api/v1/places/nearest?lon={101.77812}&lat={36.61734}&rider=R-778812")
    out = capsys.readouterr()
    logged = out.err + out.out
    assert access_lines(out.err), "the requests were logged"
    secrets_ = [CLIENT, report_text, "R-778812", "36.61734", *ids]
    for r in records:
        secrets_ += [r.name, r.phone, r.id_number, r.address, r.employer, r.household_no]
    leaked = [s for s in secrets_ if s and s in logged]
    assert leaked == []
