"""A flood from one client gets 429s while others' reports still land (real Redis, issue 10)."""

from __future__ import annotations

import secrets
from collections import Counter

import pytest
import redis
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.db import trust as store
from tests.finder_fixtures import add_place

REDIS_URL = "redis://127.0.0.1:6379/0"
FLOOD = 1000
OTHERS = 20


@pytest.fixture
def prefix() -> str:
    return f"yitu-trust-test-{secrets.token_hex(4)}"


@pytest.fixture
def app_config(app_config: dict[str, object], prefix: str):  # noqa: ANN201
    keys = redis.Redis.from_url(REDIS_URL)
    yield {**app_config, "RATELIMIT_STORAGE_URI": REDIS_URL, "TRUST_RATELIMIT_PREFIX": prefix}
    for key in keys.scan_iter(f"*{prefix}*"):
        keys.delete(key)
    keys.close()


def test_flood_from_one_client_gets_429_others_land(
    client: FlaskClient, db: Session, prefix: str
) -> None:
    place = add_place(db, 101.778, 36.617, amenities=["water", "hot_water"])
    flood = Counter()
    others = Counter()
    for i in range(FLOOD):
        answer = client.post(
            f"/api/v1/places/{place}/reports",
            json={"type": "other", "text": "刷屏 flood"},
            environ_base={"REMOTE_ADDR": "203.0.113.66"},
        )
        flood[answer.status_code] += 1
        if answer.status_code == 429:
            assert int(answer.headers["Retry-After"]) > 0
            assert answer.mimetype == "application/problem+json"
        if i % (FLOOD // OTHERS) == 0:
            valid = client.post(
                f"/api/v1/places/{place}/reports",
                json={"type": "amenity_missing", "amenity": "hot_water"},
                environ_base={"REMOTE_ADDR": f"198.51.100.{i // 50 + 1}"},
            )
            others[valid.status_code] += 1
    print(f"flood: {dict(flood)}; others: {dict(others)}")
    assert flood[201] == 1 and flood[200] == 19 and flood[429] == FLOOD - 20
    assert others == Counter({201: OTHERS})
    rows = db.scalar(select(func.count()).select_from(store.TrustReport))
    assert rows == 1 + OTHERS
    # Nothing half-written: every report that has words has its private row.
    with_text = db.scalar(
        select(func.count()).select_from(store.TrustReport).where(store.TrustReport.has_text)
    )
    details = db.scalar(select(func.count()).select_from(store.ReportDetail))
    assert with_text == details == 1
    counters = list(redis.Redis.from_url(REDIS_URL).scan_iter(f"*{prefix}*"))
    assert counters, "the limiter kept its counters in Redis"


def test_per_place_limit_counts_every_client(app, client: FlaskClient, db: Session) -> None:
    app.config["TRUST_RATE_LIMIT_PLACE"] = "5 per minute"
    place = add_place(db, 101.778, 36.617)
    other = add_place(db, 101.779, 36.617)
    codes = [
        client.post(
            f"/api/v1/places/{place}/checkins",
            json={},
            environ_base={"REMOTE_ADDR": f"198.51.100.{i}"},
        ).status_code
        for i in range(1, 8)
    ]
    assert codes == [201] * 5 + [429] * 2
    assert (
        client.post(
            f"/api/v1/places/{other}/checkins",
            json={},
            environ_base={"REMOTE_ADDR": "198.51.100.9"},
        ).status_code
        == 201
    )
    visits = db.scalar(select(func.sum(store.Checkin.visits)))
    assert visits == 6
