"""The append-only audit log of the household register (``households.audit_log``).

Every read, list, search, map, export or decryption of a household, and every
change to one, writes a row here in the same transaction as the work it
records.  The database refuses UPDATE, DELETE and TRUNCATE on the table twice
over: the application roles are never granted those privileges, and a
trigger raises even for the table's owner (see migration ``0003_accounts``).

Rows never hold personal values: ``detail`` carries counts, filters by
*kind* (never the searched name or number), export formats and the like.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Identity,
    Index,
    Integer,
    Text,
    Uuid,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from geo.db.models import Base
from geo.errors import InvalidInput

SCHEMA = "households"

#: What can be audited.  Reads: view, list, search, map, export, decrypt,
#: aggregate.  Writes: create, update, import, visit, support.  Accounts:
#: login, login_failed, logout.
ACTIONS: tuple[str, ...] = (
    "view",
    "list",
    "search",
    "map",
    "export",
    "decrypt",
    "aggregate",
    "create",
    "update",
    "import",
    "visit",
    "support",
    "login",
    "login_failed",
    "logout",
)


class AuditEntry(Base):
    """One audited action; never updated, never deleted."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("idx_audit_household", "household_id", "id"),
        Index("idx_audit_actor", "actor", "id"),
        Index("idx_audit_at", "at"),
        CheckConstraint(f"action IN ({', '.join(repr(a) for a in ACTIONS)})", name="action_known"),
        {"schema": SCHEMA},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    # clock_timestamp(), not now(): rows of one transaction keep their order.
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(Text)
    actor_role: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    household_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    remote_addr: Mapped[str | None] = mapped_column(Text)


@dataclass(frozen=True)
class Actor:
    """Who did it: an account, or a command-line user (``actor_id`` None)."""

    name: str
    role: str | None = None
    id: int | None = None
    remote_addr: str | None = None


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    households: Iterable[uuid.UUID | None] = (None,),
    detail: Mapping[str, Any] | None = None,
) -> int:
    """Write one audit row per household (one row with no household by default).

    Parameters
    ----------
    session : Session
        The session doing the audited work, so the rows commit or roll back with it.
    actor : Actor
        Who acts.
    action : str
        One of :data:`ACTIONS`.
    households : iterable of UUID or None, keyword-only
        Households touched; one row each, in one INSERT statement.
    detail : mapping, keyword-only
        JSON-able context without personal values.

    Returns
    -------
    int
        Rows written.
    """
    if action not in ACTIONS:
        raise InvalidInput(f"audit action {action!r} is unknown", field="action")
    rows = [
        {
            "actor_id": actor.id,
            "actor": actor.name,
            "actor_role": actor.role,
            "action": action,
            "household_id": household,
            "detail": dict(detail or {}),
            "remote_addr": actor.remote_addr,
        }
        for household in households
    ]
    if rows:
        session.execute(insert(AuditEntry), rows)
    return len(rows)


@dataclass(frozen=True)
class AuditRow:
    """An audit row as the auditor page shows it."""

    id: int
    at: datetime
    actor: str
    actor_role: str | None
    action: str
    household_id: uuid.UUID | None
    detail: dict[str, Any]
    remote_addr: str | None


def browse(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    household_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditRow]:
    """Return audit rows newest first, filtered, paged by id (keyset pagination).

    Parameters
    ----------
    before_id : int, keyword-only
        Return rows with a smaller id (the next page after the last row seen).
    limit : int, keyword-only
        At most this many rows, 1..1000.
    """
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be within 1..1000", field="limit")
    if action is not None and action not in ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}", field="action")
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if household_id:
        stmt = stmt.where(AuditEntry.household_id == household_id)
    if since:
        stmt = stmt.where(AuditEntry.at >= since)
    if until:
        stmt = stmt.where(AuditEntry.at < until)
    if before_id:
        stmt = stmt.where(AuditEntry.id < before_id)
    return [
        AuditRow(
            e.id,
            e.at,
            e.actor,
            e.actor_role,
            e.action,
            e.household_id,
            dict(e.detail or {}),
            e.remote_addr,
        )
        for e in session.scalars(stmt)
    ]


def count_by_action(
    session: Session,
    *,
    household_ids: Sequence[uuid.UUID] | None = None,
) -> dict[str, int]:
    """Return how many rows each action has (optionally only for some households)."""
    stmt = select(AuditEntry.action, func.count()).group_by(AuditEntry.action)
    if household_ids is not None:
        stmt = stmt.where(AuditEntry.household_id.in_(list(household_ids)))
    return {action: n for action, n in session.execute(stmt)}


#: Columns of an audit export, in order.
EXPORT_COLUMNS: tuple[str, ...] = (
    "id",
    "at",
    "actor",
    "actor_role",
    "action",
    "household_id",
    "detail",
    "remote_addr",
)


def export_rows(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    batch: int = 5000,
) -> Iterator[AuditRow]:
    """Yield every audit row in ``[since, until)`` oldest first, read in keyset batches.

    For auditors' archives and PIPL requests: the rows hold no personal
    values, so the export holds none either.
    """
    after = 0
    while True:
        stmt = select(AuditEntry).where(AuditEntry.id > after).order_by(AuditEntry.id).limit(batch)
        if since:
            stmt = stmt.where(AuditEntry.at >= since)
        if until:
            stmt = stmt.where(AuditEntry.at < until)
        page = list(session.scalars(stmt))
        if not page:
            return
        for e in page:
            yield AuditRow(
                e.id,
                e.at,
                e.actor,
                e.actor_role,
                e.action,
                e.household_id,
                dict(e.detail or {}),
                e.remote_addr,
            )
        after = page[-1].id
