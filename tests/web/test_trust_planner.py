"""Planners see workers' check-ins and can leave places reported closed out of coverage."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.web.test_planner import CITY, seed


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {**app_config, "PLANNER_PUBLIC": True, "RIDER_ID_SALT": "test-rider-salt-0123456789"}


def test_reported_closed_places_can_be_left_out(client: FlaskClient, db: Session) -> None:
    station = seed(db, station_name='=HYPERLINK("x") 驿站')
    args = {"city": CITY, "window": "weekday-lunch"}
    headline = "<span>{}</span><strong>{}</strong>"
    before = client.get("/planner/", query_string=args).get_data(as_text=True)
    assert headline.format("已覆盖的活动量", "50.0%") in before
    assert (
        client.post(
            f"/api/v1/places/{station}/reports", json={"type": "closed_in_hours"}
        ).status_code
        == 201
    )
    kept = client.get("/planner/", query_string=args).get_data(as_text=True)
    assert headline.format("已覆盖的活动量", "50.0%") in kept
    left_out = client.get("/planner/", query_string={**args, "reported_closed": "skip"})
    html = left_out.get_data(as_text=True)
    assert headline.format("已覆盖的活动量", "0.0%") in html
    assert "已关闭、锁门或撤销" in html


def test_checkins_per_station_and_hour_csv(client: FlaskClient, db: Session) -> None:
    station = seed(db, station_name='=HYPERLINK("x") 驿站')
    for purpose in ("water", "water", None):
        assert (
            client.post(f"/api/v1/places/{station}/checkins", json={"purpose": purpose}).status_code
            == 201
        )
    csv = client.get("/planner/checkins.csv", query_string={"city": CITY})
    assert csv.status_code == 200 and "attachment" in csv.headers["Content-Disposition"]
    lines = csv.get_data(as_text=True).strip().splitlines()
    assert lines[0] == "place_id,name,station_no,city,district,hour,purpose,visits"
    visits = sorted(line.rsplit(",", 2)[1:] for line in lines[1:])
    assert visits == [["", "1"], ["water", "2"]]
    assert "'=HYPERLINK" in lines[1]  # formula injection defused
