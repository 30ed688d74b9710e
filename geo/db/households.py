"""The hardship-household register in PostGIS (schema ``households``).

Personal fields are stored only as AES-GCM ciphertext (:mod:`geo.register.crypto`),
each bound to its table, column and row id; exact-match search uses keyed
blind indexes.  Locations are kept as ``geometry(Point, 4326)`` for
caseworkers and never leave this module except to a caseworker of the
household's district or as k-anonymous H3 aggregates (:mod:`geo.register.privacy`).

Every function that reads or changes households takes an
:class:`~geo.db.audit.Actor` and writes audit rows in the caller's
transaction, so an audit row exists exactly when the work is committed.

District scoping: ``districts`` is a tuple of 6-digit adcodes the caller
may see; rows outside it are invisible (a household elsewhere is "not found",
never "forbidden").  The web layer passes the caseworker's own districts.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from geoalchemy2 import Geometry
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    Select,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from geo.db.audit import Actor
from geo.db.audit import record as audit
from geo.db.models import Base
from geo.errors import HouseholdNotFound, InvalidInput
from geo.places.ledger import Limits, Report, read_rows
from geo.register import privacy
from geo.register.crypto import FieldCipher
from geo.register.households import (
    CATEGORIES,
    HOUSEHOLD_STATUSES,
    SUPPORT_KINDS,
    HouseholdImportOptions,
    HouseholdRecord,
    check_day,
    check_id_number,
    check_note,
    check_phone,
    finish_households,
    normalize_name,
)
from geo.register.households import parse_households as parse_household_rows

SCHEMA = "households"
TABLE = "households"

# Columns sealed with the cipher: (record attribute, database column).
SEALED: tuple[tuple[str, str], ...] = (
    ("name", "name_ct"),
    ("id_number", "id_number_ct"),
    ("phone", "phone_ct"),
    ("address", "address_ct"),
    ("employer", "employer_ct"),
)


class Household(Base):
    """One register entry; personal fields only as ciphertext."""

    __tablename__ = TABLE
    __table_args__ = (
        Index("idx_households_name_bidx", "name_bidx"),
        Index("idx_households_id_number_bidx", "id_number_bidx"),
        Index("idx_households_phone_bidx", "phone_bidx"),
        Index("idx_households_adcode", "adcode", "household_no"),
        UniqueConstraint("source", "household_no", name="households_natural_key"),
        CheckConstraint("adcode ~ '^[0-9]{6}$'", name="household_adcode_six_digits"),
        CheckConstraint(
            f"category IN ({', '.join(repr(c) for c in CATEGORIES)})",
            name="household_category_known",
        ),
        CheckConstraint(
            f"status IN ({', '.join(repr(s) for s in HOUSEHOLD_STATUSES)})",
            name="household_status_known",
        ),
        {"schema": SCHEMA},
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    household_no: Mapped[str] = mapped_column(Text)
    name_ct: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    address_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    employer_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    name_bidx: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_bidx: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_bidx: Mapped[bytes | None] = mapped_column(LargeBinary)
    personal_digest: Mapped[bytes] = mapped_column(LargeBinary)
    adcode: Mapped[str] = mapped_column(Text)
    district: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any | None] = mapped_column(Geometry("POINT", srid=4326, spatial_index=True))
    category: Mapped[str] = mapped_column(Text)
    members: Mapped[int | None] = mapped_column(Integer)
    registered_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Text, server_default="active")
    is_synthetic: Mapped[bool] = mapped_column(Boolean, server_default="false")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Visit(Base):
    """A caseworker's visit to a household; notes sealed."""

    __tablename__ = "visits"
    __table_args__ = (Index("idx_visits_household", "household_id"), {"schema": SCHEMA})

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.{TABLE}.id"))
    visited_on: Mapped[date] = mapped_column(Date)
    caseworker: Mapped[str] = mapped_column(Text)
    notes_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Support(Base):
    """Support given to a household (送温暖 and others), with an amount in yuan."""

    __tablename__ = "support"
    __table_args__ = (
        Index("idx_support_household", "household_id"),
        CheckConstraint(
            f"kind IN ({', '.join(repr(k) for k in SUPPORT_KINDS)})", name="support_kind_known"
        ),
        CheckConstraint("amount_yuan >= 0 AND amount_yuan < 1000000", name="support_amount_range"),
        {"schema": SCHEMA},
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SCHEMA}.{TABLE}.id"))
    given_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(Text)
    amount_yuan: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    caseworker: Mapped[str] = mapped_column(Text)
    notes_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# ---------------------------------------------------------------------------
# Values handed to the web layer (plain text, only after an audited read)


@dataclass(frozen=True)
class HouseholdSummary:
    """A list row: the head's name, district, category; no contact details."""

    id: uuid.UUID
    household_no: str
    name: str
    adcode: str
    district: str | None
    category: str
    members: int | None
    status: str
    is_synthetic: bool
    located: bool


@dataclass(frozen=True)
class VisitRow:
    """One visit as shown on a household page."""

    id: uuid.UUID
    visited_on: date
    caseworker: str
    notes: str | None


@dataclass(frozen=True)
class SupportRow:
    """One support record as shown on a household page."""

    id: uuid.UUID
    given_on: date
    kind: str
    amount_yuan: Decimal
    caseworker: str
    notes: str | None


@dataclass(frozen=True)
class HouseholdDetail:
    """Everything a caseworker sees on one household's page."""

    summary: HouseholdSummary
    source: str
    id_number: str | None
    phone: str | None
    address: str | None
    employer: str | None
    lon: float | None
    lat: float | None
    registered_on: date | None
    visits: tuple[VisitRow, ...] = field(default_factory=tuple)
    support: tuple[SupportRow, ...] = field(default_factory=tuple)

    @property
    def support_total_yuan(self) -> Decimal:
        """Return the sum of all support amounts, in yuan."""
        return sum((s.amount_yuan for s in self.support), Decimal("0"))


@dataclass(frozen=True)
class HouseholdPoint:
    """A household location for a caseworker's map (no personal text)."""

    id: uuid.UUID
    household_no: str
    lon: float
    lat: float
    category: str
    is_synthetic: bool


# ---------------------------------------------------------------------------
# Sealing


def _blind_indexes(cipher: FieldCipher, record: HouseholdRecord) -> dict[str, bytes | None]:
    return _indexes_of(cipher, {attr: getattr(record, attr) for attr, _ in SEALED})


def _indexes_of(cipher: FieldCipher, personal: dict[str, str | None]) -> dict[str, bytes | None]:
    """Blind indexes and the personal digest of plaintext personal fields (by record attribute)."""
    return {
        "name_bidx": cipher.blind_index(normalize_name(personal["name"] or ""), column="name"),
        "id_number_bidx": cipher.blind_index(personal["id_number"], column="id_number"),
        "phone_bidx": cipher.blind_index(personal["phone"], column="phone"),
        # One keyed digest over every personal field, so a re-import can tell
        # "unchanged" without decrypting and without re-sealing (new nonces
        # would otherwise rewrite every row on every import).
        "personal_digest": cipher.blind_index(
            json.dumps([personal[a] for a, _ in SEALED], ensure_ascii=False),
            column="personal_digest",
        ),
    }


def seal(cipher: FieldCipher, record: HouseholdRecord, row_id: uuid.UUID) -> dict[str, Any]:
    """Return the column values of a validated record, personal fields sealed."""
    values: dict[str, Any] = {
        column: cipher.encrypt(
            getattr(record, attr), table=f"{SCHEMA}.{TABLE}", column=column, row_id=str(row_id)
        )
        for attr, column in SEALED
    }
    values.update(_blind_indexes(cipher, record))
    values.update(
        id=row_id,
        source=record.source,
        household_no=record.household_no,
        adcode=record.adcode,
        district=record.district,
        category=record.category,
        members=record.members,
        registered_on=record.registered_on,
        status=record.status,
        is_synthetic=record.is_synthetic,
    )
    return values


def _open(cipher: FieldCipher, household: Household, column: str) -> str | None:
    return cipher.decrypt(
        getattr(household, column),
        table=f"{SCHEMA}.{TABLE}",
        column=column,
        row_id=str(household.id),
    )


def _in_scope(stmt: Select[Any], districts: Sequence[str] | None) -> Select[Any]:
    if districts is None:
        return stmt
    return stmt.where(Household.adcode.in_(list(districts)))


def _summary(cipher: FieldCipher, h: Household) -> HouseholdSummary:
    return HouseholdSummary(
        h.id,
        h.household_no,
        _open(cipher, h, "name_ct") or "",
        h.adcode,
        h.district,
        h.category,
        h.members,
        h.status,
        h.is_synthetic,
        h.geom is not None,
    )


# ---------------------------------------------------------------------------
# Import


STAGING_DDL = """
CREATE TEMP TABLE household_staging (LIKE households.households INCLUDING DEFAULTS)
ON COMMIT DROP
"""

UPSERT = """
INSERT INTO households.households AS h
SELECT * FROM household_staging
ON CONFLICT (source, household_no) DO UPDATE SET
    name_ct = EXCLUDED.name_ct, id_number_ct = EXCLUDED.id_number_ct,
    phone_ct = EXCLUDED.phone_ct, address_ct = EXCLUDED.address_ct,
    employer_ct = EXCLUDED.employer_ct, name_bidx = EXCLUDED.name_bidx,
    id_number_bidx = EXCLUDED.id_number_bidx, phone_bidx = EXCLUDED.phone_bidx,
    personal_digest = EXCLUDED.personal_digest, adcode = EXCLUDED.adcode,
    district = EXCLUDED.district, geom = EXCLUDED.geom, category = EXCLUDED.category,
    members = EXCLUDED.members, registered_on = EXCLUDED.registered_on,
    status = EXCLUDED.status, is_synthetic = EXCLUDED.is_synthetic, updated_at = now()
WHERE h.personal_digest IS DISTINCT FROM EXCLUDED.personal_digest
   OR h.adcode IS DISTINCT FROM EXCLUDED.adcode OR h.district IS DISTINCT FROM EXCLUDED.district
   OR h.geom IS DISTINCT FROM EXCLUDED.geom
   OR h.category IS DISTINCT FROM EXCLUDED.category
   OR h.members IS DISTINCT FROM EXCLUDED.members
   OR h.registered_on IS DISTINCT FROM EXCLUDED.registered_on
   OR h.status IS DISTINCT FROM EXCLUDED.status
   OR h.is_synthetic IS DISTINCT FROM EXCLUDED.is_synthetic
RETURNING h.id, (xmax = 0) AS inserted
"""


def write_households(
    session: Session,
    cipher: FieldCipher,
    rows: Sequence[tuple[int, HouseholdRecord]],
    report: Report,
    actor: Actor,
    *,
    dry_run: bool = False,
) -> dict[str, int]:
    """Seal and upsert validated records in the caller's transaction; audit each change.

    Existing entries keep their id (so their ciphertexts stay bound to the
    same row); an entry is rewritten only when a field changed.  The caller
    commits, or rolls back for a dry run.

    Returns
    -------
    dict
        ``{"inserted": n, "updated": n, "unchanged": n}``, also put in
        ``report.counts``.
    """
    if not rows:
        report.counts = {"inserted": 0, "updated": 0, "unchanged": 0}
        return report.counts
    keys = [(r.source, r.household_no) for _, r in rows]
    existing = {
        (source, number): row_id
        for row_id, source, number in session.execute(
            select(Household.id, Household.source, Household.household_no).where(
                Household.source.in_({s for s, _ in keys}),
                Household.household_no.in_([n for _, n in keys]),
            )
        )
    }
    session.execute(text(STAGING_DDL))
    staged = []
    for _, record in rows:
        row_id = existing.get((record.source, record.household_no)) or uuid.uuid4()
        values = seal(cipher, record, row_id)
        values["geom"] = (
            None if record.lon is None else f"SRID=4326;POINT({record.lon!r} {record.lat!r})"
        )
        staged.append(values)
    columns = [
        c.name for c in Household.__table__.columns if c.name not in ("created_at", "updated_at")
    ]
    raw = session.connection().connection.driver_connection
    assert raw is not None  # noqa: S101  (a live psycopg connection inside the transaction)
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY household_staging ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for values in staged:
            copy.write_row([values.get(c) for c in columns])
    changed = session.execute(text(UPSERT)).all()
    # ON COMMIT DROP alone is not enough: a second write in the same
    # transaction (tests, the demo command) must find no leftover table.
    session.execute(text("DROP TABLE household_staging"))
    inserted = sum(1 for r in changed if r.inserted)
    counts = {
        "inserted": inserted,
        "updated": len(changed) - inserted,
        "unchanged": len(rows) - len(changed),
    }
    if changed:
        audit(
            session,
            actor,
            "import",
            households=[r.id for r in changed],
            detail={"source": rows[0][1].source, "dry_run": dry_run},
        )
    report.counts = counts
    report.dry_run = dry_run
    return counts


def import_ledger(
    session: Session,
    cipher: FieldCipher,
    path: Path,
    options: HouseholdImportOptions,
    actor: Actor,
    *,
    dry_run: bool = False,
    limits: Limits | None = None,
) -> Report:
    """Read, validate and write a household ledger, all or nothing.

    When any row has an error nothing is written (the report says which rows
    and why); the caller then rolls back.  Warnings do not stop an import.
    """
    report = Report(source=str(path), dry_run=dry_run)
    parsed = parse_household_rows(read_rows(path, limits=limits), options, report)
    finished = finish_households(parsed, options, report)
    if report.rejected_rows:
        report.counts = {"inserted": 0, "updated": 0, "unchanged": 0}
        return report
    write_households(session, cipher, finished, report, actor, dry_run=dry_run)
    return report


# ---------------------------------------------------------------------------
# Audited reads


def list_households(
    session: Session,
    cipher: FieldCipher,
    actor: Actor,
    *,
    districts: Sequence[str] | None,
    category: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[HouseholdSummary], int]:
    """Return one page of households (names decrypted) and the total; audit each shown row."""
    if category is not None and category not in CATEGORIES:
        raise InvalidInput(f"category must be one of {', '.join(CATEGORIES)}", field="category")
    if status is not None and status not in HOUSEHOLD_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(HOUSEHOLD_STATUSES)}", field="status")
    stmt = _in_scope(select(Household), districts)
    count = _in_scope(select(func.count(Household.id)), districts)
    for column, value in ((Household.category, category), (Household.status, status)):
        if value is not None:
            stmt, count = stmt.where(column == value), count.where(column == value)
    page = list(
        session.scalars(
            stmt.order_by(Household.adcode, Household.household_no).limit(limit).offset(offset)
        )
    )
    rows = [_summary(cipher, h) for h in page]
    audit(
        session,
        actor,
        "list",
        households=[h.id for h in page],
        detail={"category": category, "status": status, "offset": offset},
    )
    return rows, session.scalar(count) or 0


def search_households(
    session: Session,
    cipher: FieldCipher,
    actor: Actor,
    *,
    districts: Sequence[str] | None,
    name: str | None = None,
    id_number: str | None = None,
    phone: str | None = None,
    household_no: str | None = None,
) -> list[HouseholdSummary]:
    """Find households by exact name, ID number, phone or household number.

    Matching uses blind indexes, so nothing is decrypted to search.  The
    audit rows say *which kind* of term was searched, never the term.
    """
    stmt = _in_scope(select(Household), districts)
    used: list[str] = []
    if name and name.strip():
        stmt = stmt.where(
            Household.name_bidx.in_(cipher.blind_indexes(normalize_name(name), column="name"))
        )
        used.append("name")
    if id_number and id_number.strip():
        stmt = stmt.where(
            Household.id_number_bidx.in_(
                cipher.blind_indexes(check_id_number(id_number), column="id_number")
            )
        )
        used.append("id_number")
    if phone and phone.strip():
        stmt = stmt.where(
            Household.phone_bidx.in_(cipher.blind_indexes(check_phone(phone), column="phone"))
        )
        used.append("phone")
    if household_no and household_no.strip():
        stmt = stmt.where(Household.household_no == household_no.strip())
        used.append("household_no")
    if not used:
        raise InvalidInput("give a name, ID number, phone or household number to search", field="q")
    found = list(session.scalars(stmt.order_by(Household.household_no).limit(100)))
    audit(
        session,
        actor,
        "search",
        households=[h.id for h in found] or [None],
        detail={"by": used, "results": len(found)},
    )
    return [_summary(cipher, h) for h in found]


def _load(
    session: Session, household_id: uuid.UUID | str, districts: Sequence[str] | None
) -> Household:
    try:
        key = household_id if isinstance(household_id, uuid.UUID) else uuid.UUID(str(household_id))
    except ValueError:
        raise HouseholdNotFound("no such household") from None
    found: Household | None = session.scalar(
        _in_scope(select(Household).where(Household.id == key), districts)
    )
    if found is None:
        raise HouseholdNotFound("no such household in your districts")
    return found


def get_household(
    session: Session,
    cipher: FieldCipher,
    household_id: uuid.UUID | str,
    actor: Actor,
    *,
    districts: Sequence[str] | None,
) -> HouseholdDetail:
    """Return one household with every field decrypted, its visits and support; audit it.

    Raises
    ------
    HouseholdNotFound
        No such id, or not in ``districts``.
    """
    h = _load(session, household_id, districts)
    lonlat = session.execute(
        select(func.ST_X(Household.geom), func.ST_Y(Household.geom)).where(Household.id == h.id)
    ).one()
    visits = tuple(
        VisitRow(
            v.id,
            v.visited_on,
            v.caseworker,
            cipher.decrypt(
                v.notes_ct, table=f"{SCHEMA}.visits", column="notes_ct", row_id=str(v.id)
            ),
        )
        for v in session.scalars(
            select(Visit)
            .where(Visit.household_id == h.id)
            .order_by(Visit.visited_on.desc(), Visit.created_at.desc())
        )
    )
    support = tuple(
        SupportRow(
            s.id,
            s.given_on,
            s.kind,
            s.amount_yuan,
            s.caseworker,
            cipher.decrypt(
                s.notes_ct, table=f"{SCHEMA}.support", column="notes_ct", row_id=str(s.id)
            ),
        )
        for s in session.scalars(
            select(Support)
            .where(Support.household_id == h.id)
            .order_by(Support.given_on.desc(), Support.created_at.desc())
        )
    )
    audit(
        session,
        actor,
        "view",
        households=[h.id],
        detail={
            "fields": [
                "name",
                "id_number",
                "phone",
                "address",
                "employer",
                "location",
                "visits",
                "support",
            ]
        },
    )
    return HouseholdDetail(
        summary=_summary(cipher, h),
        source=h.source,
        id_number=_open(cipher, h, "id_number_ct"),
        phone=_open(cipher, h, "phone_ct"),
        address=_open(cipher, h, "address_ct"),
        employer=_open(cipher, h, "employer_ct"),
        lon=lonlat[0],
        lat=lonlat[1],
        registered_on=h.registered_on,
        visits=visits,
        support=support,
    )


def map_points(
    session: Session, actor: Actor, *, districts: Sequence[str] | None
) -> list[HouseholdPoint]:
    """Return located households for a caseworker's map (WGS-84); audit each one."""
    stmt = _in_scope(
        select(
            Household.id,
            Household.household_no,
            func.ST_X(Household.geom),
            func.ST_Y(Household.geom),
            Household.category,
            Household.is_synthetic,
        ).where(Household.geom.is_not(None), Household.status == "active"),
        districts,
    )
    points = [
        HouseholdPoint(*row) for row in session.execute(stmt.order_by(Household.household_no))
    ]
    audit(
        session,
        actor,
        "map",
        households=[p.id for p in points] or [None],
        detail={"points": len(points)},
    )
    return points


EXPORT_COLUMNS: tuple[str, ...] = (
    "household_no",
    "name",
    "id_number",
    "phone",
    "address",
    "employer",
    "adcode",
    "district",
    "category",
    "members",
    "registered_on",
    "status",
    "lon",
    "lat",
    "visits",
    "support_total_yuan",
    "is_synthetic",
)


def export_rows(
    session: Session,
    cipher: FieldCipher,
    actor: Actor,
    *,
    districts: Sequence[str] | None,
    fmt: str,
) -> Iterator[dict[str, Any]]:
    """Yield every in-scope household decrypted, for CSV/XLSX export; audit each one first.

    The audit rows are written before the first row is yielded, so an
    export that is interrupted half-way is still fully on record.
    """
    visits = (
        select(Visit.household_id, func.count().label("n")).group_by(Visit.household_id).subquery()
    )
    support = (
        select(Support.household_id, func.sum(Support.amount_yuan).label("total"))
        .group_by(Support.household_id)
        .subquery()
    )
    stmt = _in_scope(
        select(
            Household,
            func.ST_X(Household.geom),
            func.ST_Y(Household.geom),
            visits.c.n,
            support.c.total,
        )
        .outerjoin(visits, visits.c.household_id == Household.id)
        .outerjoin(support, support.c.household_id == Household.id),
        districts,
    )
    found = session.execute(stmt.order_by(Household.adcode, Household.household_no)).all()
    audit(
        session,
        actor,
        "export",
        households=[h.id for h, *_ in found] or [None],
        detail={"format": fmt, "rows": len(found)},
    )

    def rows() -> Iterator[dict[str, Any]]:
        for h, lon, lat, n_visits, total in found:
            yield {
                "household_no": h.household_no,
                "name": _open(cipher, h, "name_ct"),
                "id_number": _open(cipher, h, "id_number_ct"),
                "phone": _open(cipher, h, "phone_ct"),
                "address": _open(cipher, h, "address_ct"),
                "employer": _open(cipher, h, "employer_ct"),
                "adcode": h.adcode,
                "district": h.district,
                "category": h.category,
                "members": h.members,
                "registered_on": h.registered_on,
                "status": h.status,
                "lon": lon,
                "lat": lat,
                "visits": n_visits or 0,
                "support_total_yuan": float(total or 0),
                "is_synthetic": h.is_synthetic,
            }

    return rows()


# ---------------------------------------------------------------------------
# Visits and support


def add_visit(
    session: Session,
    cipher: FieldCipher,
    household_id: uuid.UUID | str,
    actor: Actor,
    *,
    districts: Sequence[str] | None,
    visited_on: date,
    notes: str | None,
    today: date,
) -> uuid.UUID:
    """Record a visit (notes sealed) to a household in scope; audit it."""
    h = _load(session, household_id, districts)
    check_day(visited_on, "visited_on", today)
    row_id = uuid.uuid4()
    session.add(
        Visit(
            id=row_id,
            household_id=h.id,
            visited_on=visited_on,
            caseworker=actor.name,
            notes_ct=cipher.encrypt(
                check_note(notes), table=f"{SCHEMA}.visits", column="notes_ct", row_id=str(row_id)
            ),
        )
    )
    session.flush()
    audit(session, actor, "visit", households=[h.id], detail={"visit": str(row_id)})
    return row_id


def add_support(
    session: Session,
    cipher: FieldCipher,
    household_id: uuid.UUID | str,
    actor: Actor,
    *,
    districts: Sequence[str] | None,
    given_on: date,
    kind: str,
    amount_yuan: Decimal,
    notes: str | None,
    today: date,
) -> uuid.UUID:
    """Record support given to a household in scope (notes sealed); audit it."""
    h = _load(session, household_id, districts)
    if kind not in SUPPORT_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(SUPPORT_KINDS)}", field="kind")
    check_day(given_on, "given_on", today)
    row_id = uuid.uuid4()
    session.add(
        Support(
            id=row_id,
            household_id=h.id,
            given_on=given_on,
            kind=kind,
            amount_yuan=amount_yuan,
            caseworker=actor.name,
            notes_ct=cipher.encrypt(
                check_note(notes), table=f"{SCHEMA}.support", column="notes_ct", row_id=str(row_id)
            ),
        )
    )
    session.flush()
    audit(
        session,
        actor,
        "support",
        households=[h.id],
        detail={"support": str(row_id), "kind": kind, "amount_yuan": str(amount_yuan)},
    )
    return row_id


# ---------------------------------------------------------------------------
# Planner view: k-anonymous aggregates only


def aggregate(session: Session, actor: Actor, *, resolution: int, k: int) -> privacy.CellAggregate:
    """Return the k-anonymous H3 aggregate of every active located household.

    Always over the whole register -- no district, category or polygon
    filter -- because filtered counts can be subtracted from unfiltered ones
    (see :mod:`geo.register.privacy`).  One audit row records the request.
    """
    privacy.check_parameters(resolution=resolution, k=k)
    rows = session.execute(
        select(func.ST_X(Household.geom), func.ST_Y(Household.geom)).where(
            Household.geom.is_not(None), Household.status == "active"
        )
    ).all()
    result = privacy.aggregate_points(
        [r[0] for r in rows], [r[1] for r in rows], resolution=resolution, k=k
    )
    audit(
        session,
        actor,
        "aggregate",
        detail={"resolution": resolution, "k": k, "cells": len(result.cells)},
    )
    return result


# ---------------------------------------------------------------------------
# Key rotation: re-seal every personal field under the active key


#: Sealed columns outside ``households.households``: (table, model) with ``notes_ct``.
NOTE_TABLES: tuple[tuple[str, type[Visit] | type[Support]], ...] = (
    ("visits", Visit),
    ("support", Support),
)


def _sealed_elsewhere(column: Any, key_id: bytes) -> Any:
    """SQL: the sealed value in ``column`` carries a key id other than ``key_id``."""
    return func.substring(column, 2, 8) != key_id


def rekey_remaining(session: Session, cipher: FieldCipher) -> dict[str, int]:
    """Return how many rows per table still hold values sealed under another key."""
    key_id = cipher.active_key_id
    remaining = {
        TABLE: session.scalar(
            select(func.count())
            .select_from(Household)
            .where(_sealed_elsewhere(Household.name_ct, key_id))
        )
        or 0
    }
    for table, model in NOTE_TABLES:
        remaining[table] = (
            session.scalar(
                select(func.count())
                .select_from(model)
                .where(model.notes_ct.is_not(None), _sealed_elsewhere(model.notes_ct, key_id))
            )
            or 0
        )
    return remaining


def rekey_batch(
    session: Session, cipher: FieldCipher, actor: Actor, *, batch_size: int
) -> dict[str, int]:
    """Re-seal up to ``batch_size`` rows per table under the cipher's active key; audit them.

    Rows are chosen by their sealed key id, so the work resumes where a
    killed run stopped: a row is either wholly rewritten in a committed batch
    or untouched.  Household rows get new blind indexes and a new personal
    digest under the active key in the same UPDATE.  Rows are locked
    (``FOR UPDATE``) so a caseworker's concurrent edit waits instead of being
    overwritten.  The caller commits.

    Returns
    -------
    dict
        Rows rewritten per table in this batch.

    Raises
    ------
    DecryptionFailed
        A value was sealed with a key that is not configured.
    """
    if batch_size < 1:
        raise InvalidInput("batch size must be at least 1", field="batch_size")
    key_id = cipher.active_key_id
    table = f"{SCHEMA}.{TABLE}"
    households = list(
        session.scalars(
            select(Household)
            .where(_sealed_elsewhere(Household.name_ct, key_id))
            .order_by(Household.id)
            .limit(batch_size)
            .with_for_update()
        )
    )
    for h in households:
        plain = {attr: _open(cipher, h, column) for attr, column in SEALED}
        for attr, column in SEALED:
            setattr(
                h, column, cipher.encrypt(plain[attr], table=table, column=column, row_id=str(h.id))
            )
        for column, value in _indexes_of(cipher, plain).items():
            setattr(h, column, value)
    done = {TABLE: len(households)}
    touched = {h.id for h in households}
    for name, model in NOTE_TABLES:
        rows = cast(
            list[Visit | Support],
            list(
                session.scalars(
                    select(model)
                    .where(model.notes_ct.is_not(None), _sealed_elsewhere(model.notes_ct, key_id))
                    .order_by(model.id)
                    .limit(batch_size)
                    .with_for_update()
                )
            ),
        )
        for row in rows:
            where = {"table": f"{SCHEMA}.{name}", "column": "notes_ct", "row_id": str(row.id)}
            row.notes_ct = cipher.encrypt(cipher.decrypt(row.notes_ct, **where), **where)
            touched.add(row.household_id)
        done[name] = len(rows)
    session.flush()
    if touched:
        audit(
            session,
            actor,
            "update",
            households=sorted(touched, key=str),
            detail={"operation": "rekey", "key_id": cipher.key_id, "rows": done},
        )
    return done
