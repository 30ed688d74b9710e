"""Workers keep the map true: file a report, confirm, check in, follow up, moderate.

Framework-free use cases over :mod:`geo.db.trust`.  None commits: the caller
does, so a report, its details and its photo are written all or nothing.
Nothing here logs a worker's text, photo or address.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from geo.db import history
from geo.db import trust as store
from geo.errors import GeoError, InvalidInput, PlaceNotFound
from geo.places.hours_parse import parse_chinese_hours
from geo.places.timezone import SHANGHAI
from geo.trust.freshness import DEFAULT_STALE_AFTER_DAYS, PlaceFreshness, freshness
from geo.trust.photos import MAX_PHOTO_BYTES, clean_photo
from geo.trust.reports import (
    MODERATION_ACTIONS,
    OPEN_STATUSES,
    check_fact,
    check_purpose,
    check_reason,
    client_hash,
    day_key,
    facts_of,
    new_receipt,
    normalize_receipt,
    validate_report,
)

LOCAL_ZONE = SHANGHAI


class ReportNotFound(GeoError, LookupError):
    """No report has this receipt (or it is outside the moderator's districts)."""


@dataclass(frozen=True)
class Client:
    """An anonymous client for one day: a keyed hash of its address, never the address."""

    hash: str
    day: date


def client_for(
    session: Session, *, secret: bytes, address: str, now: datetime, zone: ZoneInfo = LOCAL_ZONE
) -> Client:
    """Return the day's anonymous identity of a client address.

    The key is derived from the app secret and a random salt kept for the
    local day (and deleted after two days), so hashes rotate daily.
    """
    day = now.astimezone(zone).date()
    key = day_key(secret, store.day_salt(session, day))
    return Client(client_hash(key, day, address or "unknown"), day)


def _place(session: Session, place_id: int) -> store.PlaceFacts:
    found = store.place_facts(session, place_id)
    if found is None:
        raise PlaceNotFound(f"no place has id {place_id}")
    return found


@dataclass(frozen=True)
class Filed:
    """The answer to a filed report: its receipt, status, and whether it is new."""

    receipt: str
    status: str
    new: bool


def file_report(
    session: Session,
    *,
    place_id: int,
    client: Client,
    type: str,  # noqa: A002
    amenity: str | None = None,
    text: str | None = None,
    proposed_hours: str | None = None,
    lon: float | str | None = None,
    lat: float | str | None = None,
    photo: bytes | None = None,
    max_photo_bytes: int = MAX_PHOTO_BYTES,
) -> Filed:
    """File a worker's problem report about a place.

    Everything is validated (and the photo cleaned) before anything is
    written.  The same report from the same client on the same day returns
    the first receipt and writes nothing; the same problem reported by
    someone else while one is open is stored as its duplicate (it follows
    the first report's status).

    Raises
    ------
    PlaceNotFound
        No visible place has ``place_id``.
    InvalidInput
        Unknown type, missing or unexpected value, text too long, not an image;
        :class:`geo.trust.photos.PhotoTooLarge` for a photo over the limit.
    """
    place = _place(session, place_id)
    draft = validate_report(
        type=type,
        place_amenities=place.amenities,
        amenity=amenity,
        text=text,
        proposed_hours=proposed_hours,
        lon=lon,
        lat=lat,
    )
    cleaned = clean_photo(photo, max_bytes=max_photo_bytes) if photo else None
    earlier = store.find_report_of_client(
        session, place.id, draft.dedupe_key, client.hash, client.day
    )
    if earlier:
        return Filed(earlier, receipt_status(session, earlier).status, new=False)
    primary = (
        store.open_primary(session, place.id, draft.dedupe_key)
        if draft.merges_automatically
        else None
    )
    receipt = new_receipt()
    report_id = store.insert_report(
        session,
        receipt=receipt,
        place_id=place.id,
        draft=draft,
        client_hash=client.hash,
        day=client.day,
        has_photo=cleaned is not None,
        duplicate_of=primary,
    )
    if report_id is None:  # the same client's same report landed a moment ago
        again = store.find_report_of_client(
            session, place.id, draft.dedupe_key, client.hash, client.day
        )
        assert again is not None  # noqa: S101 (the conflict says it exists)
        return Filed(again, receipt_status(session, again).status, new=False)
    store.insert_details(session, report_id, draft)
    if cleaned is not None:
        store.insert_photo(session, report_id, cleaned.data, cleaned.width, cleaned.height)
    if primary is None:  # a new open problem: copies following the changes feed see it
        store.touch_place(session, place.id)
    return Filed(receipt, "received", new=True)


def confirm(session: Session, *, place_id: int, client: Client, facts: Sequence[str]) -> int:
    """Confirm facts of a place (``"all"`` for "everything is as listed").

    Returns how many confirmations were new (one per fact per client per day).
    """
    place = _place(session, place_id)
    if not facts:
        raise InvalidInput("facts must name at least one fact, or 'all'", field="facts")
    if len(facts) > 40:
        raise InvalidInput("facts has too many entries", field="facts")
    wanted: list[str] = []
    for fact in facts:
        if not isinstance(fact, str):
            raise InvalidInput("facts must be a list of text", field="facts")
        wanted.extend(
            facts_of(place.amenities) if fact == "all" else [check_fact(fact, place.amenities)]
        )
    added = store.insert_confirmations(
        session, place.id, list(dict.fromkeys(wanted)), client.hash, client.day
    )
    if added and store.confirmations_today(session, place.id, client.day) == added:
        # The first confirmation of the day moves the facts' dates: tell the changes feed.
        store.touch_place(session, place.id)
    return added


def check_in(session: Session, *, place_id: int, now: datetime, purpose: str | None = None) -> None:
    """Count one visit to a place in the current hour (nothing about the visitor is kept)."""
    place = _place(session, place_id)
    hour = now.astimezone(LOCAL_ZONE).replace(minute=0, second=0, microsecond=0)
    store.add_checkin(session, place.id, hour, check_purpose(purpose))


def receipt_status(session: Session, receipt: str) -> store.ReportStatus:
    """Return a report's public status by its receipt code.

    Raises
    ------
    ReportNotFound
        No report has that receipt.
    """
    code = normalize_receipt(receipt)
    found = store.report_status(session, code)
    if found is None:
        raise ReportNotFound("no report has this receipt")
    return found


@dataclass(frozen=True)
class PlaceTrust:
    """What a place page shows about trust: fact freshness, open problems, recent visits."""

    freshness: PlaceFreshness
    problems: list[store.OpenProblem]
    visits_30d: int


def place_trust(
    session: Session,
    place_id: int,
    *,
    now: datetime,
    stale_after_days: int = DEFAULT_STALE_AFTER_DAYS,
) -> PlaceTrust:
    """Return a place's freshness, open problems and 30-day visit count."""
    place = _place(session, place_id)
    since = now - timedelta(days=stale_after_days)
    known = store.confirmed_facts(session, place.id, since=since)
    fresh = freshness(
        facts_of(place.amenities),
        known,
        now=now,
        stale_after_days=stale_after_days,
        created_at=place.created_at,
        inspected_at=(
            datetime.combine(place.last_verified, time(0), tzinfo=LOCAL_ZONE)
            if place.last_verified
            else None
        ),
    )
    return PlaceTrust(
        fresh,
        store.open_problems(session, place.id),
        store.checkin_total(session, place.id, since=now - timedelta(days=30)),
    )


# ---------------------------------------------------------------------------
# Moderation


@dataclass(frozen=True)
class Moderator:
    """Who moderates: an account name and id, and its districts (None: every district)."""

    name: str
    id: int | None = None
    districts: tuple[str, ...] | None = None


def moderation_queue(
    session: Session,
    moderator: Moderator,
    *,
    statuses: Sequence[str] = ("received",),
    limit: int = 100,
) -> list[store.QueueItem]:
    """Return the moderator's queue (most severe, then oldest) and audit the private read."""
    items = store.queue(session, districts=moderator.districts, statuses=statuses, limit=limit)
    private = [i.id for i in items if i.text or i.proposed_hours or i.has_photo]
    if private:
        store.log_action(
            session,
            report_id=None,
            actor=moderator.name,
            actor_id=moderator.id,
            action="view_private",
            detail={"reports": private},
        )
    return items


def private_photo(session: Session, moderator: Moderator, report_id: int) -> bytes:
    """Return a report's stored photo for a moderator, audited."""
    report = _report_in_scope(session, moderator, report_id)
    data = store.private_photo(session, report.id)
    if data is None:
        raise ReportNotFound("this report has no photo")
    store.log_action(
        session,
        report_id=report.id,
        actor=moderator.name,
        actor_id=moderator.id,
        action="view_private",
        detail={"photo": True},
    )
    return data


def _report_in_scope(session: Session, moderator: Moderator, report_id: int) -> store.TrustReport:
    report = store.report_for_update(session, report_id) if 0 < report_id < 2**63 else None
    if report is None:
        raise ReportNotFound("no report has this number")
    if moderator.districts is not None:
        place = store.place_facts(session, report.place_id)
        if place is None or place.adcode not in moderator.districts:
            raise ReportNotFound("no report has this number")
    return report


def _apply_proposal(
    session: Session, report: store.TrustReport, editor: history.Editor
) -> dict[str, Any]:
    note = f"worker report {report.receipt} confirmed"
    if report.type == "gone":
        place = store.place_facts(session, report.place_id)
        if place is not None and place.status != "closed":
            history.set_status(session, report.place_id, "close", editor, note=note)
            return {"status": "closed"}
        return {}
    detail = store.report_detail(session, report.id)
    if report.type == "wrong_hours" and detail is not None and detail.proposed_hours:
        parsed = parse_chinese_hours(detail.proposed_hours)
        if not parsed.ok or parsed.osm is None:
            raise InvalidInput(
                "the proposed hours cannot be read; edit the place by hand, "
                "then mark the report fixed",
                field="proposed_hours",
            )
        return history.apply_fields(
            session,
            report.place_id,
            {"opening_hours": parsed.osm, "opening_hours_text": detail.proposed_hours},
            editor,
            note=note,
        )
    if report.type == "wrong_location" and detail is not None and detail.proposed_geom is not None:
        lon, lat = store.point_of(session, report.id)
        return history.apply_fields(
            session, report.place_id, {"lon": lon, "lat": lat}, editor, note=note
        )
    return {}


def moderate(
    session: Session,
    moderator: Moderator,
    report_id: int,
    action: str,
    *,
    reason: str | None = None,
    publish_text: bool = False,
    publish_photo: bool = False,
    merge_into: str | None = None,
    now: datetime,
) -> str:
    """Act on a report: confirm, reject (with a public reason), mark fixed, or merge.

    Confirming applies the report's proposed change (new hours, new point, the
    place closed) through the place history.  Publishing makes the worker's
    text or photo public.  Each action writes an append-only audit row.
    Returns the report's new status.

    Raises
    ------
    ReportNotFound
        No such report in the moderator's districts.
    InvalidInput
        Unknown action, a rejection without reason, a bad merge target.
    """
    if action not in MODERATION_ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(MODERATION_ACTIONS)}", field="action")
    report = _report_in_scope(session, moderator, report_id)
    if report.status == "duplicate" and action != "merge":
        raise InvalidInput("this report is merged into another; act on that one", field="action")
    public_reason = check_reason(reason, required=action == "reject")
    status = MODERATION_ACTIONS[action]
    values: dict[str, Any] = {"status": status, "first_action_at": report.first_action_at or now}
    if public_reason:
        values["public_reason"] = public_reason
    detail: dict[str, Any] = {"from": report.status, "to": status}
    if action == "merge":
        target = _merge_target(session, report, merge_into)
        values["duplicate_of"] = target
        detail["into"] = target
    if action in ("reject", "fix"):
        values["resolved_at"] = now
    elif action == "confirm":
        values["resolved_at"] = None
        changed = _apply_proposal(session, report, history.Editor(moderator.name, moderator.id))
        if changed:
            detail["applied"] = sorted(changed)
    if publish_text:
        text = (store.report_detail(session, report.id) or store.ReportDetail()).text
        if text:
            values["public_text"] = text
            store.log_action(
                session,
                report_id=report.id,
                actor=moderator.name,
                actor_id=moderator.id,
                action="publish_text",
            )
    if publish_photo and store.publish_photo(session, report.id):
        store.log_action(
            session,
            report_id=report.id,
            actor=moderator.name,
            actor_id=moderator.id,
            action="publish_photo",
        )
    store.set_report_state(session, [report.id], **values)
    store.touch_place(session, report.place_id)
    store.log_action(
        session,
        report_id=report.id,
        actor=moderator.name,
        actor_id=moderator.id,
        action=action,
        public_reason=public_reason,
        detail=detail,
    )
    return status


def _merge_target(session: Session, report: store.TrustReport, receipt: str | None) -> int:
    if not receipt:
        raise InvalidInput("merge needs the receipt of the report to merge into", field="into")
    target = store.report_status(session, normalize_receipt(receipt))
    if target is None or target.place_id != report.place_id or target.receipt == report.receipt:
        raise InvalidInput("merge into another report about the same place", field="into")
    target_row = store.report_by_receipt(session, target.receipt)
    if target_row is None or target_row.status not in OPEN_STATUSES:
        raise InvalidInput("merge into an open report", field="into")
    return target_row.id
