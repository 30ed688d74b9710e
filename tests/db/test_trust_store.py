"""Reports, confirmations, check-ins and moderation against a real PostGIS (issue 10)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.orm import Session

from geo.db import history
from geo.db import trust as store
from geo.db.models import Place
from geo.errors import InvalidInput, PlaceNotFound
from geo.places.vocabulary import AMENITIES
from geo.service import trust
from geo.trust.reports import REPORT_TYPE_CODES
from tests.finder_fixtures import add_place
from tests.household_fixtures import as_role

NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)
SECRET = b"test-secret"
ADMIN = trust.Moderator("wang.admin", 1)


def client(db: Session, address: str = "203.0.113.7", now: datetime = NOW) -> trust.Client:
    return trust.client_for(db, secret=SECRET, address=address, now=now)


def station(db: Session, **fields: object) -> int:
    values = {
        "amenities": ["water", "hot_water", "toilet"],
        "adcode": "630103",
        "district": "城中区",
        "station_no": "XN-T-01",
        **fields,
    }
    return add_place(db, 101.778, 36.617, **values)


def gps_jpeg() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = {1: "N", 2: (36.0, 37.0, 1.0), 3: "E", 4: (101.0, 46.0, 40.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_client_hash_is_keyed_daily_and_never_the_address(db: Session) -> None:
    a = client(db)
    assert a == client(db)
    assert "203.0.113.7" not in a.hash and len(a.hash) == 32
    assert client(db, "203.0.113.8").hash != a.hash
    tomorrow = client(db, now=NOW + timedelta(days=1))
    assert tomorrow.day != a.day and tomorrow.hash != a.hash
    # Salts older than yesterday are forgotten: old hashes cannot be recomputed.
    client(db, now=NOW + timedelta(days=3))
    days = db.scalars(select(store.DaySalt.day)).all()
    assert a.day not in days


def test_report_receipt_status_and_private_text(db: Session) -> None:
    place = station(db)
    filed = trust.file_report(
        db,
        place_id=place,
        client=client(db),
        type="other",
        text="<img src=x onerror=alert(1)> 门锁着",
    )
    assert filed.new and filed.status == "received" and len(filed.receipt) == 10
    status = trust.receipt_status(db, filed.receipt.lower())
    assert status.status == "received" and status.public_text is None
    assert store.report_detail(db, store.report_by_receipt(db, filed.receipt).id).text.endswith(
        "门锁着"
    )
    with pytest.raises(trust.ReportNotFound):
        trust.receipt_status(db, "0000000000")


def test_same_client_same_day_collapses_other_clients_become_duplicates(db: Session) -> None:
    place = station(db)
    first = trust.file_report(
        db, place_id=place, client=client(db), type="amenity_missing", amenity="hot_water"
    )
    again = trust.file_report(
        db, place_id=place, client=client(db), type="amenity_missing", amenity="hot_water"
    )
    assert again.receipt == first.receipt and not again.new
    other = trust.file_report(
        db,
        place_id=place,
        client=client(db, "198.51.100.1"),
        type="amenity_missing",
        amenity="hot_water",
    )
    assert other.new and other.receipt != first.receipt
    rows = db.scalars(select(store.TrustReport).where(store.TrustReport.place_id == place)).all()
    assert len(rows) == 2
    problems = store.open_problems(db, place)
    assert [(p.type, p.amenity, p.reports) for p in problems] == [
        ("amenity_missing", "hot_water", 2)
    ]
    # The duplicate follows its primary.
    primary = store.report_by_receipt(db, first.receipt)
    trust.moderate(db, ADMIN, primary.id, "fix", now=NOW)
    assert trust.receipt_status(db, other.receipt).status == "fixed"
    assert store.open_problems(db, place) == []


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"type": "nonsense"}, "type"),
        ({"type": "other"}, "text"),
        ({"type": "other", "text": "x" * 501}, "text"),
        ({"type": "amenity_missing", "amenity": "shower"}, "amenity"),
        ({"type": "amenity_missing"}, "amenity"),
        ({"type": "wrong_hours"}, "proposed_hours"),
        ({"type": "wrong_location", "lon": "nan", "lat": 36.6}, "lon"),
        ({"type": "wrong_location", "lon": 101.7, "lat": 95}, "lat"),
    ],
)
def test_bad_reports_name_the_field_and_write_nothing(
    db: Session, values: dict, field: str
) -> None:
    place = station(db)
    with pytest.raises(InvalidInput) as err:
        trust.file_report(db, place_id=place, client=client(db), **values)
    assert err.value.field == field
    assert db.scalar(select(store.TrustReport.id)) is None


def test_unknown_or_planned_place(db: Session) -> None:
    planned = station(db, status="planned")
    for place_id in (planned, 2**62):
        with pytest.raises(PlaceNotFound):
            trust.file_report(db, place_id=place_id, client=client(db), type="gone")


def test_photo_is_stored_without_exif_and_private(db: Session) -> None:
    place = station(db)
    photo = gps_jpeg()
    assert Image.open(io.BytesIO(photo)).getexif().get(0x8825)
    filed = trust.file_report(
        db,
        place_id=place,
        client=client(db),
        type="amenity_missing",
        amenity="hot_water",
        photo=photo,
    )
    report = store.report_by_receipt(db, filed.receipt)
    stored = store.private_photo(db, report.id)
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG" and not image.getexif() and "exif" not in image.info
    assert b"PhoneMaker" not in stored and b"Exif" not in stored
    assert store.public_photo(db, filed.receipt) is None
    trust.moderate(db, ADMIN, report.id, "confirm", publish_photo=True, now=NOW)
    assert store.public_photo(db, filed.receipt) == stored


def test_confirmations_make_facts_fresh_reports_do_not(db: Session) -> None:
    place = station(db)
    old = NOW - timedelta(days=120)
    db.execute(text("UPDATE places SET created_at = :t WHERE id = :id"), {"t": old, "id": place})
    trust.file_report(
        db, place_id=place, client=client(db), type="amenity_missing", amenity="toilet"
    )
    state = trust.place_trust(db, place, now=NOW)
    assert state.freshness.stale and state.freshness.fact("hours").days_ago is None
    assert trust.confirm(db, place_id=place, client=client(db), facts=["all"]) == 5
    assert trust.confirm(db, place_id=place, client=client(db), facts=["all"]) == 0
    trust.confirm(
        db, place_id=place, client=client(db, "198.51.100.9"), facts=["amenity:hot_water"]
    )
    # Confirmations carry the database's clock: count days from the latest one.
    last = db.scalar(select(func.max(store.Confirmation.confirmed_at)))
    state = trust.place_trust(db, place, now=last + timedelta(days=3))
    hot = state.freshness.fact("amenity:hot_water")
    assert (hot.people, hot.days_ago, hot.stale) == (2, 3, False)
    assert not state.freshness.stale
    assert [p.type for p in state.problems] == ["amenity_missing"]
    with pytest.raises(InvalidInput):
        trust.confirm(db, place_id=place, client=client(db), facts=["amenity:shower"])
    later = trust.place_trust(db, place, now=last + timedelta(days=91))
    assert later.freshness.stale
    stale = store.stale_places(db, before=NOW + timedelta(days=1) - timedelta(days=90))
    assert place not in [row[0] for row in stale]


def test_checkins_count_per_hour_nothing_personal(db: Session) -> None:
    place = station(db)
    for purpose in ("water", "water", None):
        trust.check_in(db, place_id=place, now=NOW, purpose=purpose)
    with pytest.raises(InvalidInput):
        trust.check_in(db, place_id=place, now=NOW, purpose="spy")
    rows = db.execute(
        select(store.Checkin.purpose, store.Checkin.visits)
        .where(store.Checkin.place_id == place)
        .order_by(store.Checkin.purpose)
    ).all()
    assert [tuple(r) for r in rows] == [("", 1), ("water", 2)]
    assert store.checkins_by_hour(db, place, since=NOW - timedelta(hours=1)) == [
        (NOW.replace(minute=0), 3)
    ]


def test_confirming_proposals_goes_through_place_history(db: Session) -> None:
    place = station(db)
    hours = trust.file_report(
        db,
        place_id=place,
        client=client(db),
        type="wrong_hours",
        proposed_hours="周一至周五 09:00-17:00",
    )
    moved = trust.file_report(
        db, place_id=place, client=client(db), type="wrong_location", lon=101.779, lat=36.618
    )
    gone = trust.file_report(db, place_id=place, client=client(db), type="gone")
    for filed in (hours, moved, gone):
        report = store.report_by_receipt(db, filed.receipt)
        assert trust.moderate(db, ADMIN, report.id, "confirm", now=NOW) == "confirmed"
    row = db.execute(
        select(Place.opening_hours, Place.status, Place.geom.ST_X()).where(Place.id == place)
    ).one()
    assert row[0] == "Mo-Fr 09:00-17:00" and row[1] == "closed"
    assert abs(row[2] - 101.779) < 1e-9
    changes = history.history(db, place)
    assert [c.action for c in changes] == ["close", "edit", "edit"]
    assert all(c.actor == "wang.admin" for c in changes)
    assert "opening_hours" in changes[2].after and changes[2].note.startswith("worker report")


def test_reject_needs_public_reason_and_every_action_is_audited(db: Session) -> None:
    place = station(db)
    filed = trust.file_report(
        db, place_id=place, client=client(db), type="other", text="secret words"
    )
    report = store.report_by_receipt(db, filed.receipt)
    items = trust.moderation_queue(db, ADMIN)
    assert [i.text for i in items if i.id == report.id] == ["secret words"]
    with pytest.raises(InvalidInput):
        trust.moderate(db, ADMIN, report.id, "reject", now=NOW)
    trust.moderate(db, ADMIN, report.id, "reject", reason="站点已核实开放", now=NOW)
    status = trust.receipt_status(db, filed.receipt)
    assert (status.status, status.public_reason, status.public_text) == (
        "rejected",
        "站点已核实开放",
        None,
    )
    actions = [
        a.action for a in db.scalars(select(store.TrustAction).order_by(store.TrustAction.id))
    ]
    assert actions == ["view_private", "reject"]
    with pytest.raises(DBAPIError), db.begin_nested():
        db.execute(text("DELETE FROM trust_actions"))
    scoped = trust.Moderator("zhao", 2, districts=("630104",))
    with pytest.raises(trust.ReportNotFound):
        trust.moderate(db, scoped, report.id, "fix", now=NOW)
    assert trust.moderation_queue(db, scoped) == []


def test_merge_and_median_time_to_first_action(db: Session) -> None:
    place = station(db)
    a = trust.file_report(db, place_id=place, client=client(db), type="locked")
    b = trust.file_report(db, place_id=place, client=client(db, "198.51.100.2"), type="gone")
    rb = store.report_by_receipt(db, b.receipt)
    with pytest.raises(InvalidInput):
        trust.moderate(db, ADMIN, rb.id, "merge", merge_into=b.receipt, now=NOW)
    assert (
        trust.moderate(
            db, ADMIN, rb.id, "merge", merge_into=a.receipt, now=NOW + timedelta(hours=3)
        )
        == "duplicate"
    )
    assert trust.receipt_status(db, b.receipt).status == "received"
    medians = store.median_first_action(db)
    assert medians and medians[0][0] == "630103" and medians[0][3] == 1


def test_public_role_can_insert_reports_but_never_read_them(database_url: str) -> None:
    from geo.db.engine import make_engine

    engine = make_engine(as_role(database_url, "yitu_public"))
    try:
        with engine.connect() as conn:
            tx = conn.begin()
            session = Session(bind=conn)
            place = station(session)
            filed = trust.file_report(
                session,
                place_id=place,
                client=client(session),
                type="other",
                text="私密",
                photo=gps_jpeg(),
            )
            assert trust.receipt_status(session, filed.receipt).status == "received"
            for table in ("trust_private.report_details", "trust_private.report_photos"):
                with (
                    pytest.raises(ProgrammingError, match="permission denied"),
                    session.begin_nested(),
                ):
                    session.execute(text(f"SELECT * FROM {table}"))
            with pytest.raises(ProgrammingError, match="permission denied"), session.begin_nested():
                session.execute(text("UPDATE trust_actions SET actor = 'x'"))
            tx.rollback()
    finally:
        engine.dispose()


def test_migration_vocabularies_match_the_code(db: Session) -> None:
    checks = dict(
        db.execute(
            text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'trust_reports'::regclass"
            )
        ).all()
    )
    assert all(f"'{a}'" in checks["trust_amenity_known"] for a in AMENITIES)
    assert all(f"'{t}'" in checks["trust_type_known"] for t in REPORT_TYPE_CODES)


def test_trust_changes_move_the_place_in_the_changes_feed(db: Session) -> None:
    place = station(db)
    db.execute(
        text("UPDATE places SET updated_at = now() - interval '1 day' WHERE id = :i"), {"i": place}
    )

    def updated() -> datetime:
        return db.scalar(select(Place.updated_at).where(Place.id == place))

    first = updated()
    trust.confirm(db, place_id=place, client=client(db), facts=["hours"])
    second = updated()
    assert second > first
    filed = trust.file_report(db, place_id=place, client=client(db), type="locked")
    flags = store.trust_flags(db, [place])[place]
    assert flags["open_reports"] == ["locked"] and "hours" in flags["confirmed"]
    trust.moderate(db, ADMIN, store.report_by_receipt(db, filed.receipt).id, "fix", now=NOW)
    assert store.trust_flags(db, [place])[place]["open_reports"] == []
