"""Places deleted outright leave tombstones (a trigger), and the changes feed carries them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.db.opendata import tombstones_since
from geo.db.queries import changes_since
from tests.finder_fixtures import add_place


def delete(db: Session, place_id: int, *, ago: timedelta = timedelta(0)) -> None:
    db.execute(text("DELETE FROM places WHERE id = :i"), {"i": place_id})
    if ago:
        db.execute(
            text("UPDATE place_tombstones SET deleted_at = now() - :ago WHERE id = :i"),
            {"ago": ago, "i": place_id},
        )


def test_deleting_a_place_leaves_a_tombstone(db: Session) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    kept = add_place(db, 101.78, 36.62)
    gone = add_place(db, 101.79, 36.63, kind="reading_nook")
    delete(db, gone)
    stones = tombstones_since(db, before)
    assert [(s["id"], s["kind"]) for s in stones] == [(gone, "reading_nook")]
    assert stones[0]["deleted_at"] >= before
    assert tombstones_since(db, before, until=before) == []
    assert tombstones_since(db, stones[0]["deleted_at"]) == []
    assert kept != gone


def test_changes_since_carries_deletions_in_order(db: Session) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    a = add_place(db, 101.78, 36.62)
    b = add_place(db, 101.79, 36.63, kind="driver_home")
    c = add_place(db, 101.80, 36.64)
    db.execute(
        text("UPDATE places SET updated_at = now() - interval '30 minutes' WHERE id = :i"), {"i": a}
    )
    delete(db, b, ago=timedelta(minutes=20))
    rows = changes_since(db, start, limit=10)
    assert [r["id"] for r in rows] == [a, b, c]
    stone = rows[1]
    assert stone["deleted"] is True and stone["status"] == "closed"
    assert stone["kind"] == "driver_home" and (stone["lon"], stone["lat"]) == (101.79, 36.63)
    assert "deleted" not in rows[0] and "deleted" not in rows[2]
    # Keyset paging runs through the tombstones like through places.
    first = changes_since(db, start, limit=2)
    rest = changes_since(db, start, limit=2, after=(first[-1]["updated_at"], first[-1]["id"]))
    assert [r["id"] for r in first + rest] == [a, b, c]


def test_the_api_feed_tells_a_copy_that_a_place_is_gone(client: FlaskClient, db: Session) -> None:
    gone = add_place(db, 101.79, 36.63, name="<img src=x onerror=alert(1)>")
    delete(db, gone, ago=timedelta(minutes=10))  # the feed stops 5 minutes short of now
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    body = client.get("/api/v1/places/changes", query_string={"since": since}).get_json()
    [feature] = [f for f in body["features"] if f["id"] == gone]
    assert feature["properties"]["deleted"] is True
    assert feature["properties"]["status"] == "closed"
    assert feature["properties"]["name"] == ""  # a deleted place's name is not repeated
    assert feature["geometry"]["coordinates"] == [101.79, 36.63]
