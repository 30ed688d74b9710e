"""Places deleted outright leave tombstones (a trigger), for the changes feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.db.opendata import tombstones_since
from tests.finder_fixtures import add_place


def test_deleting_a_place_leaves_a_tombstone(db: Session) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    kept = add_place(db, 101.78, 36.62)
    gone = add_place(db, 101.79, 36.63, kind="reading_nook")
    db.execute(text("DELETE FROM places WHERE id = :i"), {"i": gone})
    stones = tombstones_since(db, before)
    assert [(s["id"], s["kind"]) for s in stones] == [(gone, "reading_nook")]
    assert stones[0]["deleted_at"] >= before
    assert tombstones_since(db, before, until=before) == []
    assert tombstones_since(db, stones[0]["deleted_at"]) == []
    assert kept != gone
