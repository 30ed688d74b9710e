"""Station management with a change history: every admin change to a place is kept.

Admins create, edit, suspend, close and verify places and keep the six-haves
checklist with notes.  Each change goes through a function here, which writes
the change and a ``place_history`` row (who, when, the changed fields before
and after) in the same transaction.  ``place_history`` is append-only: the
application roles may only INSERT and SELECT it, and a trigger refuses UPDATE
and DELETE (migration ``0003_accounts``).

Form input is validated by the same row parser as ledger imports
(:mod:`geo.places.rows`), so a place typed into a form obeys exactly the rules
of a place read from a spreadsheet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from geo.db.catalog import EXPORT_COLUMNS
from geo.db.imports import write_places
from geo.db.models import Base, Place
from geo.errors import InvalidInput, PlaceNotFound
from geo.places.ledger import Report
from geo.places.vocabulary import SIX_HAVE_KEYS, PlaceRecord

#: Kinds of change, as shown in a place's history.
CHANGE_ACTIONS: tuple[str, ...] = (
    "create",
    "edit",
    "suspend",
    "close",
    "reopen",
    "verify",
    "checklist",
)


# Columns copied from a validated record onto an existing place by an edit.
_EDITABLE_COLUMNS: tuple[str, ...] = (
    "kind",
    "name",
    "name_en",
    "address",
    "province",
    "city",
    "district",
    "adcode",
    "amenities",
    "opening_hours",
    "opening_hours_text",
    "status",
    "host_type",
    "build_mode",
    "capacity",
    "phone",
    "managing_union",
    "station_no",
)
_STATUS_ACTIONS = {"suspend": "suspended", "close": "closed", "reopen": "active"}


class PlaceChange(Base):
    """One change to one place: who, when, which fields, before and after."""

    __tablename__ = "place_history"
    __table_args__ = (
        Index("idx_place_history_place", "place_id", "id"),
        CheckConstraint(
            f"action IN ({', '.join(repr(a) for a in CHANGE_ACTIONS)})",
            name="place_history_action_known",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id"))
    changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    before: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    after: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    note: Mapped[str | None] = mapped_column(Text)


class PlaceChecklist(Base):
    """Free-text notes on each of a place's six haves (the booleans stay on ``places``)."""

    __tablename__ = "place_checklist"
    __table_args__ = (
        CheckConstraint("jsonb_typeof(notes) = 'object'", name="checklist_notes_object"),
    )

    place_id: Mapped[int] = mapped_column(ForeignKey("places.id"), primary_key=True)
    notes: Mapped[dict[str, str]] = mapped_column(JSONB, server_default="{}")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by: Mapped[str | None] = mapped_column(Text)


@dataclass(frozen=True)
class Editor:
    """Who makes a change (an admin account, or ``cli:<user>``)."""

    name: str
    id: int | None = None


@dataclass(frozen=True)
class HistoryEntry:
    """A place change as the history page shows it."""

    id: int
    changed_at: datetime
    actor: str
    action: str
    before: dict[str, Any]
    after: dict[str, Any]
    note: str | None


def _jsonable(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def snapshot(session: Session, place_id: int, *, lock: bool = False) -> dict[str, Any]:
    """Return a place's stored fields as JSON-ready values (WGS-84 ``lon``/``lat``).

    Raises
    ------
    PlaceNotFound
        No place has that id.
    """
    stmt = select(Place, func.ST_X(Place.geom), func.ST_Y(Place.geom)).where(Place.id == place_id)
    if lock:
        # FOR UPDATE: two admins saving the same place serialise, so each
        # history row's "before" is what the other one left.
        stmt = stmt.with_for_update(of=Place)
    found = session.execute(stmt).first()
    if found is None:
        raise PlaceNotFound(f"no place has id {place_id}")
    place, lon, lat = found
    row = {c: _jsonable(getattr(place, c)) for c in EXPORT_COLUMNS if c not in ("lon", "lat")}
    row.update(lon=lon, lat=lat)
    return row


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        # 1e-7 degrees is about 1 cm: a coordinate shown and saved back unchanged
        # must not count as a move because of float round-tripping.
        return abs(a - b) < 1e-7
    return bool(a == b)


def _diff(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in after if not _same(before.get(k), after.get(k)) and k != "updated_at"]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def _log(
    session: Session,
    place_id: int,
    editor: Editor,
    action: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    note: str | None,
) -> None:
    session.add(
        PlaceChange(
            place_id=place_id,
            actor_id=editor.id,
            actor=editor.name,
            action=action,
            before=dict(before),
            after=dict(after),
            note=(note or "").strip() or None,
        )
    )
    session.flush()


def create_place(
    session: Session, record: PlaceRecord, editor: Editor, *, note: str | None = None
) -> int:
    """Insert a validated place (WGS-84) and its ``create`` history row; return its id."""
    report = Report(source=record.source)
    write_places(session, [(1, record)], report)
    # geo.db.imports stages into a temp table dropped only at commit; drop it
    # now so a second create in the same transaction can stage again.
    session.execute(text("DROP TABLE IF EXISTS place_staging"))
    place_id = session.scalar(
        select(Place.id).where(
            Place.source == record.source, Place.external_id == record.external_id
        )
    )
    assert place_id is not None  # noqa: S101  (just upserted in this transaction)
    _log(session, place_id, editor, "create", {}, snapshot(session, place_id), note)
    return place_id


def edit_place(
    session: Session, place_id: int, record: PlaceRecord, editor: Editor, *, note: str | None = None
) -> dict[str, Any]:
    """Apply a validated record's editable fields to a place; return the changed fields.

    The place keeps its source and natural key.  Nothing is written (no
    history row either) when no field changes.
    """
    before = snapshot(session, place_id, lock=True)
    values: dict[str, Any] = {c: getattr(record, c) for c in _EDITABLE_COLUMNS}
    values["amenities"] = list(record.amenities)
    candidate = {
        **before,
        **{k: _jsonable(v) for k, v in values.items()},
        "lon": record.lon,
        "lat": record.lat,
    }
    old, new = _diff(before, candidate)
    if not new:
        return {}
    session.execute(
        update(Place)
        .where(Place.id == place_id)
        .values(
            **values,
            geom=func.ST_SetSRID(func.ST_MakePoint(record.lon, record.lat), 4326),
            updated_at=func.now(),
        )
    )
    after = snapshot(session, place_id)
    old, new = _diff(before, after)
    _log(session, place_id, editor, "edit", old, new, note)
    return new


def set_status(
    session: Session, place_id: int, action: str, editor: Editor, *, note: str | None = None
) -> None:
    """Suspend, close or reopen a place (``action`` is the verb), with a history row."""
    if action not in _STATUS_ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(_STATUS_ACTIONS)}", field="action")
    before = snapshot(session, place_id, lock=True)
    status = _STATUS_ACTIONS[action]
    if before["status"] == status:
        raise InvalidInput(f"the place is already {status}", field="status")
    session.execute(
        update(Place).where(Place.id == place_id).values(status=status, updated_at=func.now())
    )
    _log(session, place_id, editor, action, {"status": before["status"]}, {"status": status}, note)


def mark_verified(
    session: Session,
    place_id: int,
    editor: Editor,
    *,
    on: date | None = None,
    note: str | None = None,
) -> date:
    """Stamp ``last_verified`` (today in the database's clock unless ``on`` is given)."""
    before = snapshot(session, place_id, lock=True)
    stamp = on or session.scalar(select(func.current_date()))
    assert stamp is not None  # noqa: S101
    session.execute(
        update(Place).where(Place.id == place_id).values(last_verified=stamp, updated_at=func.now())
    )
    _log(
        session,
        place_id,
        editor,
        "verify",
        {"last_verified": before["last_verified"]},
        {"last_verified": stamp.isoformat()},
        note,
    )
    return stamp


def checklist(session: Session, place_id: int) -> dict[str, dict[str, Any]]:
    """Return ``{key: {"ok": bool|None, "note": str}}`` for the six haves, in order."""
    haves = snapshot(session, place_id)["six_haves"] or {}
    notes = (
        session.scalar(select(PlaceChecklist.notes).where(PlaceChecklist.place_id == place_id))
        or {}
    )
    return {k: {"ok": haves.get(k), "note": notes.get(k, "")} for k in SIX_HAVE_KEYS}


def save_checklist(
    session: Session,
    place_id: int,
    items: Mapping[str, tuple[bool, str]],
    editor: Editor,
    *,
    note: str | None = None,
) -> bool:
    """Save the six-haves booleans and notes; return whether anything changed.

    Parameters
    ----------
    items : mapping
        ``{key: (ok, note)}`` for keys of :data:`geo.places.SIX_HAVE_KEYS`;
        missing keys keep their values.
    """
    unknown = set(items) - set(SIX_HAVE_KEYS)
    if unknown:
        raise InvalidInput(
            f"unknown six-haves item(s): {', '.join(sorted(unknown))}", field="six_haves"
        )
    for key, (_, note_text) in items.items():
        if len(note_text) > 1000:
            raise InvalidInput(
                f"the note on {key} is longer than 1000 characters", field="six_haves"
            )
    snapshot(session, place_id, lock=True)
    current = checklist(session, place_id)
    merged = {
        k: {"ok": items[k][0], "note": items[k][1].strip()} if k in items else current[k]
        for k in SIX_HAVE_KEYS
    }
    old, new = _diff(current, merged)
    if not new:
        return False
    haves = {k: bool(v["ok"]) for k, v in merged.items() if v["ok"] is not None}
    notes: dict[str, str] = {k: str(v["note"]) for k, v in merged.items() if v["note"]}
    session.execute(
        update(Place).where(Place.id == place_id).values(six_haves=haves, updated_at=func.now())
    )
    row = session.get(PlaceChecklist, place_id)
    if row is None:
        session.add(PlaceChecklist(place_id=place_id, notes=notes, updated_by=editor.name))
    else:
        row.notes = notes
        row.updated_by = editor.name
        row.updated_at = datetime.now().astimezone()
    session.flush()
    _log(session, place_id, editor, "checklist", old, new, note)
    return True


def history(session: Session, place_id: int, *, limit: int = 200) -> list[HistoryEntry]:
    """Return a place's changes, newest first."""
    stmt = (
        select(PlaceChange)
        .where(PlaceChange.place_id == place_id)
        .order_by(PlaceChange.id.desc())
        .limit(limit)
    )
    return [
        HistoryEntry(c.id, c.changed_at, c.actor, c.action, dict(c.before), dict(c.after), c.note)
        for c in session.scalars(stmt)
    ]


#: Fields :func:`apply_fields` may change (a moderated worker report's proposals).
APPLICABLE_FIELDS: tuple[str, ...] = ("opening_hours", "opening_hours_text", "lon", "lat")


def apply_fields(
    session: Session,
    place_id: int,
    values: Mapping[str, Any],
    editor: Editor,
    *,
    note: str | None = None,
) -> dict[str, Any]:
    """Apply already-validated values to a place with an ``edit`` history row.

    For changes that do not come from a whole form, such as a worker's report
    confirmed by a moderator: new opening hours (OSM expression and the text
    it was read from) or a new point (WGS-84 ``lon``/``lat``, both or neither).
    Returns the changed fields; nothing is written when none changes.
    """
    unknown = set(values) - set(APPLICABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"cannot apply field(s) {', '.join(sorted(unknown))}", field="fields")
    if ("lon" in values) != ("lat" in values):
        raise InvalidInput("a new point needs both lon and lat", field="lon")
    before = snapshot(session, place_id, lock=True)
    columns = {k: v for k, v in values.items() if k not in ("lon", "lat")}
    if "lon" in values:
        columns["geom"] = func.ST_SetSRID(func.ST_MakePoint(values["lon"], values["lat"]), 4326)
    session.execute(
        update(Place).where(Place.id == place_id).values(**columns, updated_at=func.now())
    )
    old, new = _diff(before, snapshot(session, place_id))
    if new:
        _log(session, place_id, editor, "edit", old, new, note)
    return new


def existing_external_ids(session: Session, source: str) -> set[str]:
    """Return the external ids already stored for ``source``."""
    return {
        external_id
        for external_id in session.scalars(select(Place.external_id).where(Place.source == source))
        if external_id is not None
    }
