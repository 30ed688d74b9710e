"""Inspections' tables and SQL: standards, plans, visits, removal proposals, events (issue 11).

- ``inspection_standards``: each imported version of a standard, its whole
  definition as JSON.  A version is never changed; a visit points at the
  version it was scored with, so editing a standard never rewrites a score.
- ``inspection_plans``: one seeded draw (district, month, seed, count).
- ``inspection_visits``: a planned visit and, once done, its evidence (time,
  the phone's WGS-84 point, metres to the place, the far flag), each item's
  outcome and note, the score and the card.
- ``inspection_removals``: a removal proposal opened by a red card and the
  admin's decision.
- ``inspection_events``: append-only record of every step (who, what, why).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    any_,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.orm import Mapped, Session, mapped_column

from geo.db.models import Base, Place
from geo.errors import InvalidInput
from geo.inspections.draw import Candidate
from geo.inspections.scoring import PastVisit
from geo.inspections.standards import Standard, parse_standard
from geo.places.timezone import SHANGHAI

VISIT_STATUSES: tuple[str, ...] = ("planned", "done")
STRATA: tuple[str, ...] = ("reported", "stale", "random")
CARDS: tuple[str, ...] = ("yellow", "red")
REMOVAL_STATUSES: tuple[str, ...] = ("proposed", "confirmed", "rejected")
EVENT_ACTIONS: tuple[str, ...] = (
    "import_standard",
    "plan",
    "visit",
    "card",
    "propose_removal",
    "confirm_removal",
    "reject_removal",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class StandardVersion(Base):
    """One imported version of a standard."""

    __tablename__ = "inspection_standards"
    __table_args__ = (UniqueConstraint("code", "version", name="inspection_standard_version"),)

    id: Mapped[int] = mapped_column(Integer, Identity(always=True), primary_key=True)
    code: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    is_default: Mapped[bool] = mapped_column(Boolean, server_default="false")
    unions: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    imported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    imported_by: Mapped[str] = mapped_column(Text)


class Plan(Base):
    """One seeded draw of places to visit in a district and month."""

    __tablename__ = "inspection_plans"
    __table_args__ = (
        CheckConstraint("adcode ~ '^[0-9]{6}$'", name="inspection_plan_adcode"),
        CheckConstraint("month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'", name="inspection_plan_month"),
        CheckConstraint("visits_requested BETWEEN 1 AND 500", name="inspection_plan_visits"),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(always=True), primary_key=True)
    adcode: Mapped[str] = mapped_column(Text)
    month: Mapped[str] = mapped_column(Text)
    seed: Mapped[int] = mapped_column(BigInteger)
    visits_requested: Mapped[int] = mapped_column(Integer)
    inspector_id: Mapped[int | None] = mapped_column(Integer)
    inspector: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str] = mapped_column(Text)


class Visit(Base):
    """A planned visit and, once done, its evidence and result."""

    __tablename__ = "inspection_visits"
    __table_args__ = (
        Index("idx_inspection_visits_place", "place_id", "visited_at"),
        Index("idx_inspection_visits_inspector", "inspector_id", "status"),
        Index("idx_inspection_visits_plan", "plan_id"),
        CheckConstraint(_in("status", VISIT_STATUSES), name="inspection_visit_status"),
        CheckConstraint(_in("stratum", STRATA), name="inspection_visit_stratum"),
        CheckConstraint(f"card IS NULL OR {_in('card', CARDS)}", name="inspection_visit_card"),
        CheckConstraint("score IS NULL OR score BETWEEN 0 AND 100", name="inspection_visit_score"),
        CheckConstraint(
            "status = 'planned' OR (visited_at IS NOT NULL AND score IS NOT NULL "
            "AND standard_id IS NOT NULL)",
            name="inspection_visit_done_complete",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("inspection_plans.id"))
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id"))
    stratum: Mapped[str] = mapped_column(Text)
    inspector_id: Mapped[int | None] = mapped_column(Integer)
    inspector: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="planned")
    standard_id: Mapped[int | None] = mapped_column(ForeignKey("inspection_standards.id"))
    visited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    phone_lon: Mapped[float | None] = mapped_column(Double)
    phone_lat: Mapped[float | None] = mapped_column(Double)
    distance_m: Mapped[float | None] = mapped_column(Double)
    far: Mapped[bool | None] = mapped_column(Boolean)
    outcomes: Mapped[dict[str, str]] = mapped_column(JSONB, server_default="{}")
    notes: Mapped[dict[str, str]] = mapped_column(JSONB, server_default="{}")
    score: Mapped[int | None] = mapped_column(Integer)
    card: Mapped[str | None] = mapped_column(Text)
    reasons: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")


class Removal(Base):
    """A removal proposal opened by a red card, and the admin's decision."""

    __tablename__ = "inspection_removals"
    __table_args__ = (
        Index("idx_inspection_removals_place", "place_id"),
        Index(
            "idx_inspection_removals_open",
            "proposed_at",
            postgresql_where=text("status = 'proposed'"),
        ),
        CheckConstraint(_in("status", REMOVAL_STATUSES), name="inspection_removal_status"),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(always=True), primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id"))
    visit_id: Mapped[int] = mapped_column(ForeignKey("inspection_visits.id"))
    status: Mapped[str] = mapped_column(Text, server_default="proposed")
    reason: Mapped[str] = mapped_column(Text)
    proposed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)


class Event(Base):
    """One step of the inspection cycle (append-only)."""

    __tablename__ = "inspection_events"
    __table_args__ = (
        Index("idx_inspection_events_place", "place_id", "id"),
        CheckConstraint(_in("action", EVENT_ACTIONS), name="inspection_event_action"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(Text)
    actor_role: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    place_id: Mapped[int | None] = mapped_column(BigInteger)
    visit_id: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")


# ---------------------------------------------------------------------------
# Standards


def save_standard(session: Session, standard: Standard, *, by: str) -> tuple[int, bool]:
    """Store a standard version; return ``(id, created)``.

    Re-importing an identical version is a no-op; a different definition under
    an existing version is refused (bump ``version``), so no past score changes.
    """
    found = session.execute(
        select(StandardVersion).where(
            StandardVersion.code == standard.code, StandardVersion.version == standard.version
        )
    ).scalar_one_or_none()
    if found is not None:
        if found.definition != standard.to_dict():
            raise InvalidInput(
                f"{standard.code} v{standard.version} is already imported with a "
                "different definition: raise its version",
                field="version",
            )
        return found.id, False
    row = StandardVersion(
        code=standard.code,
        version=standard.version,
        definition=standard.to_dict(),
        is_default=standard.default,
        unions=list(standard.unions),
        imported_by=by,
    )
    session.add(row)
    session.flush()
    return row.id, True


def standard_by_id(session: Session, standard_id: int) -> Standard:
    """Return the stored version with this id."""
    row = session.get(StandardVersion, standard_id)
    if row is None:
        raise LookupError(f"no standard has id {standard_id}")
    return parse_standard(row.definition)


def standard_for_union(session: Session, union: str | None) -> tuple[int, Standard] | None:
    """Return the latest version of the union's standard (else the default one), or None."""
    latest = (
        select(StandardVersion.id, StandardVersion.definition)
        .order_by(StandardVersion.version.desc(), StandardVersion.id.desc())
        .limit(1)
    )
    row = None
    if union:
        row = session.execute(
            latest.where(literal(union, Text) == any_(StandardVersion.unions))
        ).first()
    if row is None:
        row = session.execute(latest.where(StandardVersion.is_default)).first()
    return (row.id, parse_standard(row.definition)) if row else None


# ---------------------------------------------------------------------------
# Plans


def candidates(session: Session, adcode: str, open_reports: dict[int, int]) -> list[Candidate]:
    """Return the district's active and suspended places with their last inspection date."""
    last = (
        select(func.max(Visit.visited_at))
        .where(Visit.place_id == Place.id, Visit.status == "done")
        .scalar_subquery()
    )
    rows = session.execute(
        select(Place.id, last).where(
            Place.adcode == adcode, Place.status.in_(("active", "suspended"))
        )
    )
    return [Candidate(pid, open_reports.get(pid, 0), at.date() if at else None) for pid, at in rows]


def place_ids_of(session: Session, adcode: str) -> list[int]:
    """Return the ids of a district's active and suspended places."""
    return list(
        session.scalars(
            select(Place.id).where(
                Place.adcode == adcode, Place.status.in_(("active", "suspended"))
            )
        )
    )


def insert_plan(
    session: Session,
    *,
    adcode: str,
    month: str,
    seed: int,
    visits: int,
    inspector: tuple[int, str] | None,
    by: str,
    drawn: Sequence[tuple[int, str]],
) -> int:
    """Store a plan and its planned visits; return the plan id."""
    plan = Plan(
        adcode=adcode,
        month=month,
        seed=seed,
        visits_requested=visits,
        inspector_id=inspector[0] if inspector else None,
        inspector=inspector[1] if inspector else None,
        created_by=by,
    )
    session.add(plan)
    session.flush()
    for place_id, stratum in drawn:
        session.add(
            Visit(
                plan_id=plan.id,
                place_id=place_id,
                stratum=stratum,
                inspector_id=plan.inspector_id,
                inspector=plan.inspector,
            )
        )
    session.flush()
    return plan.id


@dataclass(frozen=True)
class VisitRow:
    """A visit as the inspector's and admin's pages show it."""

    id: int
    plan_id: int
    place_id: int
    place_name: str
    adcode: str | None
    lon: float
    lat: float
    stratum: str
    status: str
    inspector: str | None
    inspector_id: int | None
    visited_at: datetime | None
    score: int | None
    card: str | None
    far: bool | None
    distance_m: float | None


def _visit_rows(session: Session, *where: Any) -> list[VisitRow]:
    stmt = (
        select(
            Visit.id,
            Visit.plan_id,
            Visit.place_id,
            Place.name,
            Place.adcode,
            func.ST_X(Place.geom),
            func.ST_Y(Place.geom),
            Visit.stratum,
            Visit.status,
            Visit.inspector,
            Visit.inspector_id,
            Visit.visited_at,
            Visit.score,
            Visit.card,
            Visit.far,
            Visit.distance_m,
        )
        .join(Place, Place.id == Visit.place_id)
        .where(*where)
        .order_by(Visit.status, Visit.id)
    )
    return [VisitRow(*row) for row in session.execute(stmt)]


def visits_of_inspector(session: Session, inspector_id: int) -> list[VisitRow]:
    """Return the visits assigned to one inspector (planned first)."""
    return _visit_rows(session, Visit.inspector_id == inspector_id)


def visits_of_plan(session: Session, plan_id: int) -> list[VisitRow]:
    """Return a plan's visits."""
    return _visit_rows(session, Visit.plan_id == plan_id)


def visit_row(session: Session, visit_id: int) -> VisitRow | None:
    """Return one visit, or None."""
    rows = _visit_rows(session, Visit.id == visit_id)
    return rows[0] if rows else None


def recent_plans(session: Session, *, limit: int = 20) -> list[Plan]:
    """Return the newest plans."""
    return list(session.scalars(select(Plan).order_by(Plan.id.desc()).limit(limit)))


def lock_visit(session: Session, visit_id: int) -> Visit | None:
    """Return a visit locked for update (two submits of one draft serialise)."""
    return session.execute(
        select(Visit).where(Visit.id == visit_id).with_for_update()
    ).scalar_one_or_none()


def managing_union(session: Session, place_id: int) -> str | None:
    """Return the place's managing union."""
    return session.scalar(select(Place.managing_union).where(Place.id == place_id))


def past_visits(session: Session, place_id: int, *, before_id: int) -> list[PastVisit]:
    """Return the place's earlier done visits, as the card rules need them."""
    rows = session.execute(
        select(
            Visit.visited_at,
            Visit.card,
            Visit.reasons,
            Visit.outcomes,
            Visit.standard_id,
            StandardVersion.definition,
        )
        .join(StandardVersion, StandardVersion.id == Visit.standard_id)
        .where(Visit.place_id == place_id, Visit.status == "done", Visit.id != before_id)
    )
    out = []
    for at, card, _reasons, outcomes, _sid, definition in rows:
        hours_item = definition.get("hours_item")
        out.append(PastVisit(at, card, bool(hours_item) and outcomes.get(hours_item) == "fail"))
    return out


def finish_visit(session: Session, visit: Visit, values: dict[str, Any]) -> None:
    """Write a visit's evidence and result."""
    for key, value in values.items():
        setattr(visit, key, value)
    visit.status = "done"
    visit.recorded_at = session.scalar(select(func.clock_timestamp()))
    session.flush()


# ---------------------------------------------------------------------------
# Removals, events, the public summary


def open_removal(session: Session, place_id: int, visit_id: int, reason: str) -> int:
    """Open a removal proposal; return its id (an open one for the place is reused)."""
    found = session.scalar(
        select(Removal.id).where(Removal.place_id == place_id, Removal.status == "proposed")
    )
    if found is not None:
        return found
    row = Removal(place_id=place_id, visit_id=visit_id, reason=reason)
    session.add(row)
    session.flush()
    return row.id


def lock_removal(session: Session, removal_id: int) -> Removal | None:
    """Return a removal proposal locked for update, or None."""
    return session.execute(
        select(Removal).where(Removal.id == removal_id).with_for_update()
    ).scalar_one_or_none()


def decide_removal(
    session: Session, removal: Removal, *, status: str, by: str, note: str | None
) -> None:
    """Record the admin's decision."""
    session.execute(
        update(Removal)
        .where(Removal.id == removal.id)
        .values(status=status, decided_by=by, note=note, decided_at=func.now())
    )
    session.flush()


@dataclass(frozen=True)
class RemovalRow:
    """A removal proposal as the admin page shows it."""

    id: int
    place_id: int
    place_name: str
    status: str
    reason: str
    proposed_at: datetime
    decided_at: datetime | None


def removals(session: Session, *, statuses: Sequence[str] = ("proposed",)) -> list[RemovalRow]:
    """Return removal proposals with these statuses, oldest first."""
    stmt = (
        select(
            Removal.id,
            Removal.place_id,
            Place.name,
            Removal.status,
            Removal.reason,
            Removal.proposed_at,
            Removal.decided_at,
        )
        .join(Place, Place.id == Removal.place_id)
        .where(Removal.status.in_(list(statuses)))
        .order_by(Removal.id)
    )
    return [RemovalRow(*row) for row in session.execute(stmt)]


def log_event(
    session: Session,
    *,
    actor: str,
    actor_id: int | None,
    actor_role: str | None,
    action: str,
    place_id: int | None = None,
    visit_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one event."""
    session.add(
        Event(
            actor=actor,
            actor_id=actor_id,
            actor_role=actor_role,
            action=action,
            place_id=place_id,
            visit_id=visit_id,
            detail=detail or {},
        )
    )
    session.flush()


def events_of_place(session: Session, place_id: int) -> list[Event]:
    """Return a place's inspection events, newest first."""
    return list(
        session.scalars(select(Event).where(Event.place_id == place_id).order_by(Event.id.desc()))
    )


@dataclass(frozen=True)
class PublicSummary:
    """What the public place page shows: stars, last inspection date, removal. No inspector."""

    last_inspected: date | None
    scores_newest_first: tuple[int, ...]
    standard_id: int | None
    removed_at: datetime | None
    removed_reason: str | None


def public_summary(session: Session, place_id: int) -> PublicSummary:
    """Return the public inspection facts of a place."""
    rows = session.execute(
        select(Visit.visited_at, Visit.score, Visit.standard_id)
        .where(Visit.place_id == place_id, Visit.status == "done")
        .order_by(Visit.visited_at.desc())
        .limit(20)
    ).all()
    removal = session.execute(
        select(Removal.decided_at, Removal.reason)
        .where(Removal.place_id == place_id, Removal.status == "confirmed")
        .order_by(Removal.id.desc())
        .limit(1)
    ).first()
    last = rows[0][0] if rows else None
    return PublicSummary(
        last.astimezone(SHANGHAI).date() if last else None,
        tuple(int(r[1] or 0) for r in rows),
        rows[0][2] if rows else None,
        removal[0] if removal else None,
        removal[1] if removal else None,
    )


@dataclass(frozen=True)
class PlaceVisits:
    """A place's done visits, newest first, for the dashboard."""

    place_id: int
    adcode: str | None
    standard_id: int
    scores: tuple[int, ...]
    last_visit: datetime
    last_card: str | None


def place_visits(session: Session) -> list[PlaceVisits]:
    """Return every visited place with its scores (newest first) and latest card."""
    ordered = Visit.visited_at.desc()
    stmt = (
        select(
            Visit.place_id,
            Place.adcode,
            func.array_agg(aggregate_order_by(Visit.standard_id, ordered)),
            func.array_agg(aggregate_order_by(Visit.score, ordered)),
            func.max(Visit.visited_at),
            func.array_agg(aggregate_order_by(Visit.card, ordered)),
        )
        .join(Place, Place.id == Visit.place_id)
        .where(Visit.status == "done")
        .group_by(Visit.place_id, Place.adcode)
    )
    out = []
    for pid, adcode, standards, scores, last, cards in session.execute(stmt):
        # Done visits always have a standard, a score and a time (CHECK constraint).
        assert last is not None  # noqa: S101
        out.append(
            PlaceVisits(
                pid,
                adcode,
                int(standards[0] or 0),
                tuple(int(x or 0) for x in scores),
                last,
                cards[0],
            )
        )
    return out


def visit_counts(session: Session) -> dict[str, tuple[int, int]]:
    """Return ``{adcode: (visits planned, visits done)}`` over every plan."""
    stmt = (
        select(
            Plan.adcode, func.count(Visit.id), func.count(Visit.id).filter(Visit.status == "done")
        )
        .join(Visit, Visit.plan_id == Plan.id)
        .group_by(Plan.adcode)
    )
    return {adcode: (int(planned), int(done)) for adcode, planned, done in session.execute(stmt)}


def all_visits(session: Session) -> list[VisitRow]:
    """Return every visit (planned and done), for the export."""
    return _visit_rows(session)


def visits_of_month(session: Session, adcode: str, month: str) -> list[VisitRow]:
    """Return the visits planned for a district and month (``YYYY-MM``)."""
    plans = select(Plan.id).where(Plan.adcode == adcode, Plan.month == month)
    return _visit_rows(session, Visit.plan_id.in_(plans.scalar_subquery()))
