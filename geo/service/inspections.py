"""Inspections: import a standard, plan visits, record a visit, cards, decide a removal.

Framework-free use cases over :mod:`geo.db.inspections` and the pure rules of
:mod:`geo.inspections`.  None commits: the caller does, so a visit, its card,
its removal proposal and their events are written all or nothing.  Every step
appends an ``inspection_events`` row naming who did it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from geo.db import accounts, history
from geo.db import inspections as store
from geo.db import trust as trust_store
from geo.errors import GeoError, InvalidInput
from geo.inspections.draw import FAR_LIMIT_M, distance_m, draw_visits
from geo.inspections.scoring import card_for, score_visit, stars
from geo.inspections.standards import Standard

MAX_NOTE_CHARS = 1000
_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


class VisitNotFound(GeoError, LookupError):
    """No visit has this id among the caller's assignments."""


@dataclass(frozen=True)
class Who:
    """Who acts: an account (``districts`` None for admins: every district) or the CLI."""

    name: str
    id: int | None = None
    role: str | None = None
    districts: tuple[str, ...] | None = None


def _log(
    session: Session,
    who: Who,
    action: str,
    *,
    place_id: int | None = None,
    visit_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    store.log_event(
        session,
        actor=who.name,
        actor_id=who.id,
        actor_role=who.role,
        action=action,
        place_id=place_id,
        visit_id=visit_id,
        detail=detail,
    )


def import_standard(session: Session, standard: Standard, who: Who) -> tuple[int, bool]:
    """Store a standard version; return ``(id, created)`` (see :func:`store.save_standard`)."""
    standard_id, created = store.save_standard(session, standard, by=who.name)
    if created:
        _log(
            session,
            who,
            "import_standard",
            detail={"code": standard.code, "version": standard.version},
        )
    return standard_id, created


# ---------------------------------------------------------------------------
# Plans


@dataclass(frozen=True)
class PlanResult:
    """A stored plan: its id, the recorded seed and the drawn visits."""

    plan_id: int
    seed: int
    drawn: tuple[tuple[int, str], ...]


def plan_visits(
    session: Session,
    who: Who,
    *,
    adcode: str,
    month: str,
    visits: int,
    seed: int | None = None,
    inspector: Who | None = None,
) -> PlanResult:
    """Draw and store a month's visits in a district (seeded, stratified; see ``draw``).

    Strata: places with open problem reports (from the workers' reports), the
    places inspected longest ago, then a random share of the rest.  A new seed
    is drawn unless one is given; either way it is stored with the plan.
    """
    adcode = adcode.strip()
    if len(adcode) != 6 or not adcode.isdigit():
        raise InvalidInput("district must be a 6-digit adcode", field="district")
    if not _MONTH.match(month.strip()):
        raise InvalidInput("month must be written YYYY-MM, e.g. 2026-12", field="month")
    if (
        inspector is not None
        and inspector.districts is not None
        and adcode not in inspector.districts
    ):
        raise InvalidInput(
            f"inspector {inspector.name} does not work in district {adcode}", field="inspector"
        )
    seed = secrets.randbits(62) if seed is None else seed
    if not 0 <= seed < 2**63:
        raise InvalidInput("seed must be a whole number from 0 to 2^63-1", field="seed")
    ids = store.place_ids_of(session, adcode)
    reports = (
        {pid: len(types) for pid, types in trust_store.open_problem_counts(session, ids).items()}
        if ids
        else {}
    )
    drawn = draw_visits(store.candidates(session, adcode, reports), visits, seed)
    if not drawn:
        raise InvalidInput(
            f"district {adcode} has no active or suspended place to visit", field="district"
        )
    assigned = (inspector.id, inspector.name) if inspector and inspector.id else None
    plan_id = store.insert_plan(
        session,
        adcode=adcode,
        month=month.strip(),
        seed=seed,
        visits=visits,
        inspector=assigned,
        by=who.name,
        drawn=drawn,
    )
    _log(
        session,
        who,
        "plan",
        detail={
            "plan_id": plan_id,
            "district": adcode,
            "month": month,
            "seed": seed,
            "visits": len(drawn),
            "inspector": inspector.name if inspector else None,
        },
    )
    return PlanResult(plan_id, seed, tuple(drawn))


# ---------------------------------------------------------------------------
# Visits


def visible_visit(session: Session, who: Who, visit_id: int) -> store.VisitRow:
    """Return a visit the caller may see: their own assignment (admins: any)."""
    row = store.visit_row(session, visit_id)
    if row is None or (who.role != "admin" and row.inspector_id != who.id):
        raise VisitNotFound(f"no visit {visit_id} is assigned to you")
    return row


def standard_of_place(session: Session, place_id: int) -> tuple[int, Standard]:
    """Return the standard a place is judged against (its union's, else the default)."""
    found = store.standard_for_union(session, store.managing_union(session, place_id))
    if found is None:
        raise InvalidInput(
            "no inspection standard is imported yet (yitu inspections import-standard --shipped)",
            field="standard",
        )
    return found


@dataclass(frozen=True)
class VisitResult:
    """What recording a visit decided."""

    visit_id: int
    score: int
    card: str | None
    reasons: tuple[str, ...]
    far: bool
    distance_m: float | None
    removal_id: int | None
    already: bool = False
    lifted: bool = False


def _coordinate(value: float | None, low: float, high: float, field: str) -> float | None:
    if value is None:
        return None
    if not low <= value <= high:
        raise InvalidInput(f"{field} must be a number from {low} to {high}", field=field)
    return value


def record_visit(
    session: Session,
    who: Who,
    visit_id: int,
    *,
    outcomes: Mapping[str, str],
    notes: Mapping[str, str],
    visited_at: datetime,
    now: datetime,
    lon: float | None,
    lat: float | None,
) -> VisitResult:
    """Score a visit, flag it when far or without a position, issue its card.

    Sending the same draft again after a success returns the stored result
    (``already``), so a phone that lost the answer can clear its draft.

    Raises
    ------
    VisitNotFound
        Not one of the caller's visits.
    InvalidInput
        A place outside the inspector's districts, an unknown item, an
        outcome other than pass/fail/na, a note too long, a bad position or time.
    """
    row = visible_visit(session, who, visit_id)
    if who.districts is not None and row.adcode not in who.districts:
        raise InvalidInput("this place is outside your districts", field="visit")
    visit = store.lock_visit(session, visit_id)
    assert visit is not None  # noqa: S101  (just read)
    if visit.status == "done":
        assert visit.score is not None  # noqa: S101
        return VisitResult(
            visit_id,
            visit.score,
            visit.card,
            tuple(visit.reasons),
            bool(visit.far),
            visit.distance_m,
            None,
            already=True,
        )
    for key, text in notes.items():
        if len(text) > MAX_NOTE_CHARS:
            raise InvalidInput(
                f"the note on {key} is longer than {MAX_NOTE_CHARS} characters", field=f"note_{key}"
            )
    if visited_at > now + timedelta(minutes=10) or visited_at < now - timedelta(days=14):
        raise InvalidInput("the visit time must be within the last 14 days", field="visited_at")
    lon = _coordinate(lon, -180, 180, "lon")
    lat = _coordinate(lat, -90, 90, "lat")
    if (lon is None) != (lat is None):
        raise InvalidInput("a position needs both lon and lat", field="lon")
    standard_id, standard = standard_of_place(session, row.place_id)
    result = score_visit(standard, outcomes)
    metres = None if lon is None or lat is None else distance_m(lon, lat, row.lon, row.lat)
    # No position is flagged like a far one: never silently accepted.
    far = metres is None or metres > FAR_LIMIT_M
    decision = card_for(
        standard,
        result,
        visited_at=visited_at,
        past=store.past_visits(session, row.place_id, before_id=visit_id),
    )
    store.finish_visit(
        session,
        visit,
        {
            "standard_id": standard_id,
            "visited_at": visited_at,
            "phone_lon": lon,
            "phone_lat": lat,
            "distance_m": metres,
            "far": far,
            "outcomes": dict(outcomes),
            "notes": {k: v.strip() for k, v in notes.items() if v.strip()},
            "score": result.score,
            "card": decision.card,
            "reasons": list(decision.reasons),
        },
    )
    _log(
        session,
        who,
        "visit",
        place_id=row.place_id,
        visit_id=visit_id,
        detail={
            "score": result.score,
            "failed": list(result.failed),
            "far": far,
            "distance_m": None if metres is None else round(metres, 1),
            "standard": f"{standard.code} v{standard.version}",
        },
    )
    removal_id = None
    if decision.card:
        _log(
            session,
            who,
            "card",
            place_id=row.place_id,
            visit_id=visit_id,
            detail={"card": decision.card, "reasons": list(decision.reasons)},
        )
    if decision.lifts:
        # 已整改: the re-inspection passed, the open cards are lifted (recorded).
        _log(
            session,
            who,
            "card",
            place_id=row.place_id,
            visit_id=visit_id,
            detail={"card": "lifted", "score": result.score},
        )
    if decision.card == "red":
        reason = "red card: " + ", ".join(decision.reasons)
        removal_id = store.open_removal(session, row.place_id, visit_id, reason)
        _log(
            session,
            who,
            "propose_removal",
            place_id=row.place_id,
            visit_id=visit_id,
            detail={"removal_id": removal_id, "reason": reason},
        )
    return VisitResult(
        visit_id,
        result.score,
        decision.card,
        decision.reasons,
        far,
        metres,
        removal_id,
        lifted=decision.lifts,
    )


# ---------------------------------------------------------------------------
# Removals and the public facts

DECISIONS = {"confirm": "confirmed", "reject": "rejected"}


def decide_removal(
    session: Session, who: Who, removal_id: int, decision: str, *, note: str | None = None
) -> str:
    """An admin confirms (the place is closed, with a history row) or rejects a proposal."""
    if who.role not in ("admin", None):
        raise InvalidInput("only an admin decides a removal", field="decision")
    if decision not in DECISIONS:
        raise InvalidInput("decision must be confirm or reject", field="decision")
    note = (note or "").strip() or None
    if note and len(note) > MAX_NOTE_CHARS:
        raise InvalidInput(f"the note is longer than {MAX_NOTE_CHARS} characters", field="note")
    removal = store.lock_removal(session, removal_id)
    if removal is None:
        raise VisitNotFound(f"no removal proposal has id {removal_id}")
    if removal.status != "proposed":
        raise InvalidInput(f"this proposal is already {removal.status}", field="decision")
    status = DECISIONS[decision]
    store.decide_removal(session, removal, status=status, by=who.name, note=note)
    if status == "confirmed":
        place = history.snapshot(session, removal.place_id)
        if place["status"] != "closed":
            history.set_status(
                session,
                removal.place_id,
                "close",
                history.Editor(who.name, who.id),
                note=f"Removed after inspection ({removal.reason})" + (f": {note}" if note else ""),
            )
    _log(
        session,
        who,
        f"{decision}_removal",
        place_id=removal.place_id,
        detail={"removal_id": removal_id, "reason": removal.reason, "note": note},
    )
    return status


@dataclass(frozen=True)
class PublicFacts:
    """The public place page's inspection facts; never the inspector."""

    stars: int | None
    last_inspected: str | None
    removed_on: str | None
    removed_reason: str | None


def public_facts(session: Session, place_id: int) -> PublicFacts:
    """Return stars (by the standard of the latest visit), last visit date, removal."""
    summary = store.public_summary(session, place_id)
    rating = None
    if summary.standard_id is not None:
        rating = stars(
            store.standard_by_id(session, summary.standard_id), summary.scores_newest_first
        )
    return PublicFacts(
        rating,
        summary.last_inspected.isoformat() if summary.last_inspected else None,
        summary.removed_at.date().isoformat() if summary.removed_at else None,
        summary.removed_reason,
    )


def inspector_named(session: Session, username: str) -> Who:
    """Return the active inspector account with this username, or raise naming the field."""
    name = username.strip().lower()
    for account in accounts.list_accounts(session):
        if account.username == name and account.role == "inspector" and account.is_active:
            return Who(account.username, account.id, account.role, account.districts)
    raise InvalidInput(f"{username!r} is not an active inspector account", field="inspector")


@dataclass(frozen=True)
class DistrictSummary:
    """A district's inspection figures for the dashboard."""

    adcode: str
    stars: dict[int, int]
    open_cards: int
    planned: int
    done: int
    median_days_since_visit: float | None


def dashboard(session: Session, *, now: datetime) -> list[DistrictSummary]:
    """Places by star rating, open cards, visits done against planned, median days since a visit.

    A place's card is open while its latest visit carries one (a clean
    re-inspection lifts it).
    """
    standards: dict[int, Standard] = {}
    by_district: dict[str, list[store.PlaceVisits]] = {}
    for place in store.place_visits(session):
        by_district.setdefault(place.adcode or "", []).append(place)
    counts = store.visit_counts(session)
    out = []
    for adcode in sorted(set(by_district) | set(counts)):
        places = by_district.get(adcode, [])
        rating: dict[int, int] = dict.fromkeys(range(5, 0, -1), 0)
        for place in places:
            if place.standard_id not in standards:
                standards[place.standard_id] = store.standard_by_id(session, place.standard_id)
            n = stars(standards[place.standard_id], place.scores)
            if n is not None:
                rating[n] += 1
        days = sorted((now - p.last_visit).total_seconds() / 86400 for p in places)
        median = None
        if days:
            mid = len(days) // 2
            median = days[mid] if len(days) % 2 else (days[mid - 1] + days[mid]) / 2
        planned, done = counts.get(adcode, (0, 0))
        out.append(
            DistrictSummary(
                adcode, rating, sum(1 for p in places if p.last_card), planned, done, median
            )
        )
    return out


@dataclass(frozen=True)
class MonthlyReport:
    """What a district union sends upward for a month: its figures and the month's visits."""

    adcode: str
    month: str
    summary: DistrictSummary | None
    visits: list[store.VisitRow]


def monthly_report(session: Session, *, adcode: str, month: str, now: datetime) -> MonthlyReport:
    """Return a district's monthly report (field-named errors for a bad district or month)."""
    if len(adcode) != 6 or not adcode.isdigit():
        raise InvalidInput("district must be a 6-digit adcode", field="district")
    if not _MONTH.match(month):
        raise InvalidInput("month must be written YYYY-MM, e.g. 2026-12", field="month")
    summary = next((d for d in dashboard(session, now=now) if d.adcode == adcode), None)
    return MonthlyReport(adcode, month, summary, store.visits_of_month(session, adcode, month))
