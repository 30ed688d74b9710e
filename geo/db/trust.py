"""SQL of workers' reports, confirmations, check-ins and moderation (migration ``0004_trust``).

The worker's own words, proposed changes and photos go to the
``trust_private`` schema, which the public database role may INSERT into but
never read: every write there is a plain INSERT without RETURNING.  What a
page may show (type, status, the moderator's public reason, approved text
and photos) is in ``public.trust_reports`` / ``public.trust_photos``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    Text,
    UniqueConstraint,
    and_,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from geo.db.models import Base, Place
from geo.trust.freshness import Confirmed
from geo.trust.reports import OPEN_STATUSES, ReportDraft

PRIVATE = "trust_private"


class TrustReport(Base):
    """One problem report (the parts a page may show, plus moderation state)."""

    __tablename__ = "trust_reports"
    __table_args__ = (
        UniqueConstraint(
            "place_id", "dedupe_key", "client_hash", "day", name="trust_one_report_per_client_day"
        ),
        Index(
            "idx_trust_reports_open",
            "place_id",
            postgresql_where=text("status IN ('received', 'confirmed')"),
        ),
        Index(
            "idx_trust_reports_queue",
            text("severity DESC"),
            "created_at",
            postgresql_where=text("status = 'received'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    receipt: Mapped[str] = mapped_column(Text, unique=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id"))
    type: Mapped[str] = mapped_column(Text)
    amenity: Mapped[str | None] = mapped_column(Text)
    severity: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(Text, server_default="received")
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("trust_reports.id"))
    dedupe_key: Mapped[str] = mapped_column(Text)
    client_hash: Mapped[str] = mapped_column(Text)
    day: Mapped[date] = mapped_column(Date)
    has_text: Mapped[bool] = mapped_column(Boolean, server_default="false")
    has_photo: Mapped[bool] = mapped_column(Boolean, server_default="false")
    has_proposal: Mapped[bool] = mapped_column(Boolean, server_default="false")
    public_text: Mapped[str | None] = mapped_column(Text)
    photo_public: Mapped[bool] = mapped_column(Boolean, server_default="false")
    public_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )
    first_action_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )


class ReportDetail(Base):
    """What the worker wrote or proposed (private until a moderator publishes text)."""

    __tablename__ = "report_details"
    __table_args__ = ({"schema": PRIVATE},)

    report_id: Mapped[int] = mapped_column(ForeignKey("trust_reports.id"), primary_key=True)
    text: Mapped[str | None] = mapped_column(Text)
    proposed_hours: Mapped[str | None] = mapped_column(Text)
    proposed_geom: Mapped[Any] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False), nullable=True
    )


class ReportPhoto(Base):
    """A report's photo, re-encoded without metadata (private until approved)."""

    __tablename__ = "report_photos"
    __table_args__ = ({"schema": PRIVATE},)

    report_id: Mapped[int] = mapped_column(ForeignKey("trust_reports.id"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)


class PublicPhoto(Base):
    """A photo a moderator approved for the place page."""

    __tablename__ = "trust_photos"

    report_id: Mapped[int] = mapped_column(ForeignKey("trust_reports.id"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)


class TrustAction(Base):
    """One moderator action or private read (append-only)."""

    __tablename__ = "trust_actions"
    __table_args__ = (Index("idx_trust_actions_report", "report_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("trust_reports.id"))
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    public_reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")


class Confirmation(Base):
    """One fact of a place confirmed by one client on one day."""

    __tablename__ = "trust_confirmations"
    __table_args__ = (
        UniqueConstraint(
            "place_id", "fact", "client_hash", "day", name="one_confirmation_per_client_day"
        ),
        Index("idx_trust_confirmations_fact", "place_id", "fact", text("confirmed_at DESC")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id"))
    fact: Mapped[str] = mapped_column(Text)
    client_hash: Mapped[str] = mapped_column(Text)
    day: Mapped[date] = mapped_column(Date)
    confirmed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )


class Checkin(Base):
    """Visits to a place in one hour for one purpose (a count, nothing personal)."""

    __tablename__ = "trust_checkins"

    place_id: Mapped[int] = mapped_column(ForeignKey("places.id"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    purpose: Mapped[str] = mapped_column(Text, primary_key=True, server_default="")
    visits: Mapped[int] = mapped_column(Integer)


class DaySalt(Base):
    """The random salt of one day's client hashes (deleted after two days)."""

    __tablename__ = "trust_day_salts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary)


# ---------------------------------------------------------------------------
# Places


@dataclass(frozen=True)
class PlaceFacts:
    """What the trust rules need to know about a place."""

    id: int
    name: str
    amenities: tuple[str, ...]
    status: str
    adcode: str | None
    district: str | None
    station_no: str | None
    created_at: datetime
    last_verified: date | None = None


def place_facts(session: Session, place_id: int) -> PlaceFacts | None:
    """Return a visible (not planned) place's facts, or None."""
    if not 0 < place_id < 2**63:
        return None
    row = session.execute(
        select(
            Place.id,
            Place.name,
            Place.amenities,
            Place.status,
            Place.adcode,
            Place.district,
            Place.station_no,
            Place.created_at,
            Place.last_verified,
        ).where(Place.id == place_id, Place.status != "planned")
    ).first()
    if row is None:
        return None
    return PlaceFacts(
        row.id,
        row.name,
        tuple(row.amenities or ()),
        row.status,
        row.adcode,
        row.district,
        row.station_no,
        row.created_at,
        row.last_verified,
    )


def place_by_station_no(session: Session, station_no: str) -> int | None:
    """Return the id of the place with a station number (the oldest if several), or None."""
    return session.scalar(
        select(Place.id)
        .where(Place.station_no == station_no, Place.status != "planned")
        .order_by(Place.id)
        .limit(1)
    )


def places_of_district(session: Session, adcode: str) -> list[PlaceFacts]:
    """Return the stations and other visible places of a district, by station number."""
    rows = session.execute(
        select(
            Place.id,
            Place.name,
            Place.amenities,
            Place.status,
            Place.adcode,
            Place.district,
            Place.station_no,
            Place.created_at,
        )
        .where(Place.adcode == adcode, Place.status.in_(("active", "suspended")))
        .order_by(Place.station_no.nulls_last(), Place.id)
    ).all()
    return [
        PlaceFacts(
            r.id,
            r.name,
            tuple(r.amenities or ()),
            r.status,
            r.adcode,
            r.district,
            r.station_no,
            r.created_at,
        )
        for r in rows
    ]


# ---------------------------------------------------------------------------
# Day salts


# Salts already read, by database and day: a day's salt never changes once written.
_SALTS: dict[tuple[str, date], bytes] = {}


def day_salt(session: Session, day: date) -> bytes:
    """Return the salt of ``day``, creating it once; forget salts older than yesterday."""
    where = (repr(session.get_bind().engine.url), day)
    if where in _SALTS:
        return _SALTS[where]
    found = session.scalar(select(DaySalt.salt).where(DaySalt.day == day))
    if found is not None:
        if len(_SALTS) > 64:
            _SALTS.clear()
        _SALTS[where] = bytes(found)
        return bytes(found)
    session.execute(
        pg_insert(DaySalt)
        .values(day=day, salt=secrets.token_bytes(32))
        .on_conflict_do_nothing(index_elements=["day"])
    )
    session.execute(delete(DaySalt).where(DaySalt.day < day - timedelta(days=1)))
    return bytes(session.scalar(select(DaySalt.salt).where(DaySalt.day == day)) or b"")


# ---------------------------------------------------------------------------
# Reports


def find_report_of_client(
    session: Session, place_id: int, dedupe_key: str, client_hash: str, day: date
) -> str | None:
    """Return the receipt of this client's same report today, or None."""
    return session.scalar(
        select(TrustReport.receipt).where(
            TrustReport.place_id == place_id,
            TrustReport.dedupe_key == dedupe_key,
            TrustReport.client_hash == client_hash,
            TrustReport.day == day,
        )
    )


def open_primary(session: Session, place_id: int, dedupe_key: str) -> int | None:
    """Return the oldest open, unmerged report saying the same thing about a place."""
    return session.scalar(
        select(TrustReport.id)
        .where(
            TrustReport.place_id == place_id,
            TrustReport.dedupe_key == dedupe_key,
            TrustReport.status.in_(OPEN_STATUSES),
        )
        .order_by(TrustReport.id)
        .limit(1)
    )


def insert_report(
    session: Session,
    *,
    receipt: str,
    place_id: int,
    draft: ReportDraft,
    client_hash: str,
    day: date,
    has_photo: bool,
    duplicate_of: int | None,
) -> int | None:
    """Insert a report; return its id, or None when this client already sent it today."""
    has_proposal = draft.proposed_hours is not None or draft.lon is not None
    stmt = (
        pg_insert(TrustReport)
        .values(
            receipt=receipt,
            place_id=place_id,
            type=draft.type,
            amenity=draft.amenity,
            severity=draft.severity,
            dedupe_key=draft.dedupe_key,
            client_hash=client_hash,
            day=day,
            has_text=draft.text is not None,
            has_photo=has_photo,
            has_proposal=has_proposal,
            status="duplicate" if duplicate_of else "received",
            duplicate_of=duplicate_of,
        )
        .on_conflict_do_nothing(constraint="trust_one_report_per_client_day")
        .returning(TrustReport.id)
    )
    return session.scalar(stmt)


def insert_details(session: Session, report_id: int, draft: ReportDraft) -> None:
    """Store the worker's text and proposal (INSERT only: the public role cannot read them)."""
    if draft.text is None and draft.proposed_hours is None and draft.lon is None:
        return
    geom = (
        func.ST_SetSRID(func.ST_MakePoint(draft.lon, draft.lat), 4326)
        if draft.lon is not None
        else None
    )
    session.execute(
        insert(ReportDetail).values(
            report_id=report_id,
            text=draft.text,
            proposed_hours=draft.proposed_hours,
            proposed_geom=geom,
        )
    )


def insert_photo(session: Session, report_id: int, data: bytes, width: int, height: int) -> None:
    """Store a cleaned photo (INSERT only)."""
    session.execute(
        insert(ReportPhoto).values(report_id=report_id, data=data, width=width, height=height)
    )


@dataclass(frozen=True)
class ReportStatus:
    """What a receipt page shows: nothing private, only what moderators published."""

    receipt: str
    place_id: int
    place_name: str
    type: str
    amenity: str | None
    status: str
    public_reason: str | None
    public_text: str | None
    photo_public: bool
    created_at: datetime
    updated_at: datetime


def report_status(session: Session, receipt: str) -> ReportStatus | None:
    """Return a report's public status by receipt; a merged report shows its primary's status."""
    primary = TrustReport.__table__.alias("primary_report")
    row = session.execute(
        select(
            TrustReport.receipt,
            TrustReport.place_id,
            Place.name,
            TrustReport.type,
            TrustReport.amenity,
            func.coalesce(primary.c.status, TrustReport.status).label("status"),
            func.coalesce(TrustReport.public_reason, primary.c.public_reason).label("reason"),
            TrustReport.public_text,
            TrustReport.photo_public,
            TrustReport.created_at,
            func.greatest(
                TrustReport.updated_at, func.coalesce(primary.c.updated_at, TrustReport.updated_at)
            ).label("updated_at"),
        )
        .join(Place, Place.id == TrustReport.place_id)
        .outerjoin(primary, primary.c.id == TrustReport.duplicate_of)
        .where(TrustReport.receipt == receipt)
    ).first()
    if row is None:
        return None
    return ReportStatus(
        row.receipt,
        row.place_id,
        row.name,
        row.type,
        row.amenity,
        row.status,
        row.reason,
        row.public_text,
        row.photo_public,
        row.created_at,
        row.updated_at,
    )


@dataclass(frozen=True)
class OpenProblem:
    """An open problem on a place page: type, amenity, how many reported it, since when."""

    type: str
    amenity: str | None
    status: str
    reports: int
    since: datetime
    public_texts: tuple[str, ...]
    photo_receipts: tuple[str, ...]


def open_problems(session: Session, place_id: int) -> list[OpenProblem]:
    """Return a place's open problems, the most severe first (duplicates counted in)."""
    rows = session.execute(
        select(
            TrustReport.type,
            TrustReport.amenity,
            func.min(TrustReport.status).filter(TrustReport.status != "duplicate").label("status"),
            func.count().label("reports"),
            func.min(TrustReport.created_at).label("since"),
            func.max(TrustReport.severity).label("severity"),
            func.array_remove(func.array_agg(TrustReport.public_text), None).label("texts"),
            func.array_agg(TrustReport.receipt).filter(TrustReport.photo_public).label("photos"),
        )
        .where(
            TrustReport.place_id == place_id,
            or_(
                TrustReport.status.in_(OPEN_STATUSES),
                and_(
                    TrustReport.status == "duplicate",
                    TrustReport.duplicate_of.in_(
                        select(TrustReport.id).where(
                            TrustReport.place_id == place_id, TrustReport.status.in_(OPEN_STATUSES)
                        )
                    ),
                ),
            ),
        )
        .group_by(TrustReport.type, TrustReport.amenity)
        .order_by(literal_column("severity").desc(), literal_column("since"))
    ).all()
    # "confirmed" sorts before "received": min() says confirmed when any is.
    return [
        OpenProblem(
            r.type,
            r.amenity,
            r.status or "received",
            r.reports,
            r.since,
            tuple(r.texts or ()),
            tuple(r.photos or ()),
        )
        for r in rows
    ]


def open_problem_counts(session: Session, place_ids: Sequence[int]) -> dict[int, list[str]]:
    """Return ``{place_id: [type or 'amenity_missing:<code>', ...]}`` of open problems."""
    if not place_ids:
        return {}
    rows = session.execute(
        select(TrustReport.place_id, TrustReport.type, TrustReport.amenity)
        .where(TrustReport.place_id.in_(list(place_ids)), TrustReport.status.in_(OPEN_STATUSES))
        .group_by(TrustReport.place_id, TrustReport.type, TrustReport.amenity)
    ).all()
    out: dict[int, list[str]] = {}
    for place_id, kind, amenity in rows:
        out.setdefault(place_id, []).append(f"{kind}:{amenity}" if amenity else kind)
    return out


# ---------------------------------------------------------------------------
# Confirmations and check-ins


def insert_confirmations(
    session: Session, place_id: int, facts: Sequence[str], client_hash: str, day: date
) -> int:
    """Store confirmations; one per fact per client per day. Return how many were new."""
    if not facts:
        return 0
    stmt = (
        pg_insert(Confirmation)
        .values(
            [
                {"place_id": place_id, "fact": f, "client_hash": client_hash, "day": day}
                for f in facts
            ]
        )
        .on_conflict_do_nothing(constraint="one_confirmation_per_client_day")
        .returning(Confirmation.id)
    )
    return len(session.scalars(stmt).all())


def confirmed_facts(session: Session, place_id: int, *, since: datetime) -> dict[str, Confirmed]:
    """Return fact -> (confirmations since ``since``, latest confirmation ever)."""
    rows = session.execute(
        select(
            Confirmation.fact,
            func.count().filter(Confirmation.confirmed_at >= since).label("people"),
            func.max(Confirmation.confirmed_at).label("last_at"),
        )
        .where(Confirmation.place_id == place_id)
        .group_by(Confirmation.fact)
    ).all()
    return {r.fact: Confirmed(int(r.people), r.last_at) for r in rows}


def add_checkin(session: Session, place_id: int, hour: datetime, purpose: str) -> None:
    """Count one visit in ``hour`` (an upsert: concurrent check-ins add up)."""
    stmt = pg_insert(Checkin).values(place_id=place_id, hour=hour, purpose=purpose, visits=1)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["place_id", "hour", "purpose"], set_={"visits": Checkin.visits + 1}
        )
    )


def checkins_by_hour(
    session: Session, place_id: int, *, since: datetime
) -> list[tuple[datetime, int]]:
    """Return ``(hour, visits)`` of a place since an instant, oldest first."""
    rows = session.execute(
        select(Checkin.hour, func.sum(Checkin.visits))
        .where(Checkin.place_id == place_id, Checkin.hour >= since)
        .group_by(Checkin.hour)
        .order_by(Checkin.hour)
    ).all()
    return [(h, int(v)) for h, v in rows]


def checkin_total(session: Session, place_id: int, *, since: datetime) -> int:
    """Return visits to a place since an instant."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Checkin.visits), 0)).where(
                Checkin.place_id == place_id, Checkin.hour >= since
            )
        )
        or 0
    )


# ---------------------------------------------------------------------------
# Moderation


@dataclass(frozen=True)
class QueueItem:
    """A report waiting for a moderator, with its private content (moderators only)."""

    id: int
    receipt: str
    place_id: int
    place_name: str
    district: str | None
    adcode: str | None
    type: str
    amenity: str | None
    severity: int
    status: str
    created_at: datetime
    duplicates: int
    text: str | None
    proposed_hours: str | None
    proposed_lon: float | None
    proposed_lat: float | None
    has_photo: bool


def queue(
    session: Session,
    *,
    districts: Sequence[str] | None = None,
    statuses: Sequence[str] = ("received",),
    limit: int = 100,
) -> list[QueueItem]:
    """Return reports to act on, most severe first, then oldest (private session only)."""
    dup_alias = TrustReport.__table__.alias("dup")
    dupes = (
        select(func.count())
        .select_from(dup_alias)
        .where(dup_alias.c.duplicate_of == TrustReport.id)
        .scalar_subquery()
    )
    stmt = (
        select(
            TrustReport.id,
            TrustReport.receipt,
            TrustReport.place_id,
            Place.name,
            Place.district,
            Place.adcode,
            TrustReport.type,
            TrustReport.amenity,
            TrustReport.severity,
            TrustReport.status,
            TrustReport.created_at,
            dupes.label("duplicates"),
            ReportDetail.text,
            ReportDetail.proposed_hours,
            func.ST_X(ReportDetail.proposed_geom).label("lon"),
            func.ST_Y(ReportDetail.proposed_geom).label("lat"),
            TrustReport.has_photo,
        )
        .join(Place, Place.id == TrustReport.place_id)
        .outerjoin(ReportDetail, ReportDetail.report_id == TrustReport.id)
        .where(TrustReport.status.in_(list(statuses)))
        .order_by(TrustReport.severity.desc(), TrustReport.created_at, TrustReport.id)
        .limit(limit)
    )
    if districts is not None:
        stmt = stmt.where(Place.adcode.in_(list(districts)))
    return [
        QueueItem(
            r.id,
            r.receipt,
            r.place_id,
            r.name,
            r.district,
            r.adcode,
            r.type,
            r.amenity,
            r.severity,
            r.status,
            r.created_at,
            int(r.duplicates),
            r.text,
            r.proposed_hours,
            r.lon,
            r.lat,
            r.has_photo,
        )
        for r in session.execute(stmt)
    ]


def report_for_update(session: Session, report_id: int) -> TrustReport | None:
    """Return a report locked for a moderator's action."""
    return session.scalar(select(TrustReport).where(TrustReport.id == report_id).with_for_update())


def report_detail(session: Session, report_id: int) -> ReportDetail | None:
    """Return a report's private detail (private session only)."""
    return session.get(ReportDetail, report_id)


def private_photo(session: Session, report_id: int) -> bytes | None:
    """Return a report's stored photo (private session only)."""
    found = session.scalar(select(ReportPhoto.data).where(ReportPhoto.report_id == report_id))
    return bytes(found) if found is not None else None


def public_photo(session: Session, receipt: str) -> bytes | None:
    """Return an approved photo by its report's receipt, or None."""
    found = session.scalar(
        select(PublicPhoto.data)
        .join(TrustReport, TrustReport.id == PublicPhoto.report_id)
        .where(TrustReport.receipt == receipt, TrustReport.photo_public)
    )
    return bytes(found) if found is not None else None


def publish_photo(session: Session, report_id: int) -> bool:
    """Copy a report's photo to the public table; return whether there was one."""
    row = session.get(ReportPhoto, report_id)
    if row is None:
        return False
    session.execute(
        pg_insert(PublicPhoto)
        .values(report_id=report_id, data=row.data, width=row.width, height=row.height)
        .on_conflict_do_nothing(index_elements=["report_id"])
    )
    session.execute(
        update(TrustReport).where(TrustReport.id == report_id).values(photo_public=True)
    )
    return True


def set_report_state(session: Session, report_ids: Sequence[int], **values: Any) -> None:
    """Update reports' moderation columns (status, reason, public text, times)."""
    session.execute(
        update(TrustReport)
        .where(TrustReport.id.in_(list(report_ids)))
        .values(updated_at=func.clock_timestamp(), **values)
    )


def duplicates_of(session: Session, report_id: int) -> list[int]:
    """Return the ids of reports merged into ``report_id``."""
    return list(
        session.scalars(select(TrustReport.id).where(TrustReport.duplicate_of == report_id))
    )


def log_action(
    session: Session,
    *,
    report_id: int | None,
    actor: str,
    actor_id: int | None,
    action: str,
    public_reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one moderation (or private read) row."""
    session.execute(
        insert(TrustAction).values(
            report_id=report_id,
            actor=actor,
            actor_id=actor_id,
            action=action,
            public_reason=public_reason,
            detail=detail or {},
        )
    )


def actions_of(session: Session, report_id: int) -> list[TrustAction]:
    """Return a report's action rows, oldest first."""
    return list(
        session.scalars(
            select(TrustAction).where(TrustAction.report_id == report_id).order_by(TrustAction.id)
        )
    )


def median_first_action(session: Session) -> list[tuple[str | None, str | None, float, int]]:
    """Return ``(adcode, district, median hours to first action, reports acted on)``."""
    hours = func.extract("epoch", TrustReport.first_action_at - TrustReport.created_at) / 3600.0
    rows = session.execute(
        select(
            Place.adcode,
            Place.district,
            func.percentile_cont(0.5).within_group(hours).label("median_h"),
            func.count().label("n"),
        )
        .join(Place, Place.id == TrustReport.place_id)
        .where(TrustReport.first_action_at.is_not(None))
        .group_by(Place.adcode, Place.district)
        .order_by(Place.adcode)
    ).all()
    return [(r.adcode, r.district, float(r.median_h), int(r.n)) for r in rows]


def stale_places(
    session: Session, *, before: datetime, districts: Sequence[str] | None = None, limit: int = 100
) -> list[tuple[int, str, str | None, datetime | None]]:
    """Return places whose existence or hours were last confirmed before ``before``.

    Oldest first; never-confirmed places count from when they entered the map.
    Rows: ``(place_id, name, district, last confirmation or None)``.
    """
    # The older of the two core facts (it exists, its hours) decides.
    place_last = (
        select(func.max(Confirmation.confirmed_at))
        .where(Confirmation.place_id == Place.id, Confirmation.fact == "place")
        .scalar_subquery()
    )
    hours_last = (
        select(func.max(Confirmation.confirmed_at))
        .where(Confirmation.place_id == Place.id, Confirmation.fact == "hours")
        .scalar_subquery()
    )
    oldest = func.least(
        func.coalesce(place_last, Place.created_at), func.coalesce(hours_last, Place.created_at)
    )
    stmt = (
        select(
            Place.id,
            Place.name,
            Place.district,
            func.least(place_last, hours_last).label("last"),
            oldest.label("oldest"),
        )
        .where(Place.status == "active", oldest < before)
        .order_by(oldest, Place.id)
        .limit(limit)
    )
    if districts is not None:
        stmt = stmt.where(Place.adcode.in_(list(districts)))
    return [(r.id, r.name, r.district, r.last) for r in session.execute(stmt)]


def report_by_receipt(session: Session, receipt: str) -> TrustReport | None:
    """Return a report row by its receipt."""
    return session.scalar(select(TrustReport).where(TrustReport.receipt == receipt))


def point_of(session: Session, report_id: int) -> tuple[float, float]:
    """Return the proposed point of a report as WGS-84 ``(lon, lat)``."""
    row = session.execute(
        select(func.ST_X(ReportDetail.proposed_geom), func.ST_Y(ReportDetail.proposed_geom)).where(
            ReportDetail.report_id == report_id
        )
    ).one()
    return float(row[0]), float(row[1])


#: Report types that say a place cannot be used (the planner may leave such places out).
CLOSURE_TYPES: tuple[str, ...] = ("closed_in_hours", "locked", "gone")


def places_reported_closed(session: Session, place_ids: Sequence[int]) -> set[int]:
    """Return which of ``place_ids`` have an open report that they are closed, locked or gone."""
    if not place_ids:
        return set()
    return set(
        session.scalars(
            select(TrustReport.place_id)
            .distinct()
            .where(
                TrustReport.place_id.in_([int(i) for i in place_ids]),
                TrustReport.type.in_(CLOSURE_TYPES),
                TrustReport.status.in_(OPEN_STATUSES),
            )
        )
    )


def checkin_rows(
    session: Session, *, since: datetime, city: str | None = None, limit: int = 200_000
) -> list[dict[str, Any]]:
    """Return visits per place, hour and purpose since an instant (for planners' exports)."""
    stmt = (
        select(
            Checkin.place_id,
            Place.name,
            Place.station_no,
            Place.city,
            Place.district,
            Checkin.hour,
            Checkin.purpose,
            Checkin.visits,
        )
        .join(Place, Place.id == Checkin.place_id)
        .where(Checkin.hour >= since)
        .order_by(Checkin.place_id, Checkin.hour, Checkin.purpose)
        .limit(limit)
    )
    if city:
        stmt = stmt.where(Place.city == city)
    return [dict(r._mapping) for r in session.execute(stmt)]


def touch_place(session: Session, place_id: int) -> None:
    """Move a place's ``updated_at`` so copies polling the changes feed see new trust facts."""
    session.execute(update(Place).where(Place.id == place_id).values(updated_at=func.now()))


def confirmations_today(session: Session, place_id: int, day: date) -> int:
    """Return how many confirmations a place got on ``day`` (all clients)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Confirmation)
            .where(Confirmation.place_id == place_id, Confirmation.day == day)
        )
        or 0
    )


def trust_flags(session: Session, place_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Return, per place, its open problems and the date each fact was last confirmed.

    ``{place_id: {"open_reports": ["closed_in_hours", "amenity_missing:hot_water"],
    "confirmed": {"hours": "2026-11-28", ...}}}`` (dates in UTC).
    """
    if not place_ids:
        return {}
    ids = [int(i) for i in place_ids]
    out: dict[int, dict[str, Any]] = {i: {"open_reports": [], "confirmed": {}} for i in ids}
    for place_id, codes in open_problem_counts(session, ids).items():
        out[place_id]["open_reports"] = sorted(codes)
    rows = session.execute(
        select(Confirmation.place_id, Confirmation.fact, func.max(Confirmation.confirmed_at))
        .where(Confirmation.place_id.in_(ids))
        .group_by(Confirmation.place_id, Confirmation.fact)
    )
    for place_id, fact, last in rows:
        out[place_id]["confirmed"][fact] = last.date().isoformat()
    return out
