"""Writing validated place records to PostGIS, all or nothing.

The whole ledger goes through one transaction: rows are COPYed into a
temporary staging table, checked against places already stored (probable
duplicates within 30 m under another key), then upserted on the natural key
``(source, external_id)`` in one statement.  A crash or ``kill -9`` before the
commit leaves the table as it was; a dry run rolls the same work back, so its
counts are exact.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.errors import QueryCanceled
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from geo.errors import StatementTimeout
from geo.places.ledger import Limits, Report, Row, read_rows
from geo.places.rows import ImportOptions, finish_places, parse_places
from geo.places.vocabulary import PlaceRecord

# Columns written from a record, in COPY order (geometry is built from lon/lat).
RECORD_COLUMNS: tuple[str, ...] = (
    "kind",
    "name",
    "name_en",
    "address",
    "province",
    "city",
    "district",
    "adcode",
    "ledger_district",
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
    "six_haves",
    "source",
    "external_id",
    "source_crs",
    "is_demo",
    "last_verified",
)
# Columns an import may change on an existing row.
UPDATABLE = tuple(c for c in RECORD_COLUMNS if c not in ("source", "external_id")) + ("geom",)

STAGING_DDL = """
CREATE TEMP TABLE place_staging (
    row_number integer NOT NULL,
    lon double precision NOT NULL,
    lat double precision NOT NULL,
    kind text, name text, name_en text, address text, province text, city text,
    district text, adcode text, ledger_district text, amenities text[],
    opening_hours text, opening_hours_text text, status text, host_type text,
    build_mode text, capacity integer, phone text, managing_union text,
    station_no text, six_haves jsonb, source text, external_id text,
    source_crs text, is_demo boolean, last_verified date
) ON COMMIT DROP
"""

NEAR_EXISTING = """
SELECT DISTINCT ON (s.row_number) s.row_number, s.name, p.id, p.name AS other,
       ST_Distance(p.geog, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326)::geography) AS metres
FROM place_staging s
JOIN places p
  ON ST_DWithin(p.geog, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326)::geography, :radius_m)
 AND NOT (p.source = s.source AND p.external_id = s.external_id)
ORDER BY s.row_number, metres
"""


def upsert_sql() -> str:
    """Return the INSERT ... ON CONFLICT statement that reports inserts vs updates.

    ``xmax = 0`` is true for a freshly inserted row and false for an updated
    one (PostgreSQL's documented idiom); rows whose values did not change are
    skipped by the WHERE clause and so not returned at all.
    """
    columns = ", ".join((*RECORD_COLUMNS, "geom"))
    values = ", ".join((*RECORD_COLUMNS, "ST_SetSRID(ST_MakePoint(lon, lat), 4326)"))
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in UPDATABLE)
    changed = " OR ".join(f"places.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in UPDATABLE)
    # Column names are this module's constants; no value is ever formatted in.
    return (
        f"INSERT INTO places ({columns}) SELECT {values} FROM place_staging "  # noqa: S608
        f"ON CONFLICT (source, external_id) DO UPDATE SET {assignments}, updated_at = now() "
        f"WHERE {changed} RETURNING (xmax = 0) AS inserted"
    )


@dataclass(frozen=True)
class ImportCounts:
    """How many staged rows were inserted, updated or left unchanged."""

    inserted: int
    updated: int
    unchanged: int

    def as_dict(self) -> dict[str, int]:
        """Return the counts as a plain dict for reports."""
        return {"inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged}


def copy_row(number: int, record: PlaceRecord) -> tuple[object, ...]:
    """Return the staging-table tuple for one record."""
    values = {c: getattr(record, c) for c in RECORD_COLUMNS}
    values["amenities"] = list(record.amenities)
    values["six_haves"] = json.dumps(record.six_haves)
    return (number, record.lon, record.lat, *(values[c] for c in RECORD_COLUMNS))


def stage(
    session: Session,
    rows: Sequence[tuple[int, PlaceRecord]],
    progress: Callable[[int], None] | None = None,
) -> None:
    """COPY the records into the transaction's staging table."""
    # Two imports in one transaction (tests, or a caller batching ledgers) reuse the name.
    session.execute(text("DROP TABLE IF EXISTS pg_temp.place_staging"))
    session.execute(text(STAGING_DDL))
    raw = session.connection().connection.driver_connection
    assert raw is not None, "a live psycopg connection"  # narrows the type for COPY
    columns = ", ".join(("row_number", "lon", "lat", *RECORD_COLUMNS))
    with raw.cursor() as cursor, cursor.copy(f"COPY place_staging ({columns}) FROM STDIN") as copy:
        for i, (number, record) in enumerate(rows, start=1):
            copy.write_row(copy_row(number, record))
            if progress and i % 1000 == 0:
                progress(1000)
    if progress:
        progress(len(rows) % 1000)


def warn_near_existing(session: Session, report: Report, *, radius_m: float = 30.0) -> None:
    """Warn about staged rows within ``radius_m`` of a stored place under another key."""
    for row in session.execute(text(NEAR_EXISTING), {"radius_m": radius_m}):
        report.warn(
            row.row_number,
            "probable_duplicate",
            f"{row.metres:.0f} m from stored place #{row.id} ({row.other}); probably the same place",
            name=row.name,
        )


def write_places(
    session: Session,
    rows: Sequence[tuple[int, PlaceRecord]],
    report: Report,
    *,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportCounts:
    """Upsert ``rows`` in the session's transaction and fill ``report.counts``.

    The caller owns the transaction: commit to keep the rows, roll back (as a
    dry run does) to leave the database untouched.
    """
    stage(session, rows, progress)
    warn_near_existing(session, report)
    flags = [r.inserted for r in session.execute(text(upsert_sql()))]
    inserted = sum(flags)
    counts = ImportCounts(inserted, len(flags) - inserted, len(rows) - len(flags))
    report.counts = counts.as_dict()
    report.dry_run = dry_run
    return counts


def import_ledger(
    session: Session,
    path: Path,
    options: ImportOptions,
    *,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    limits: Limits | None = None,
) -> Report:
    """Read, validate and write one ledger inside the session's transaction.

    Rejected rows are reported, never written; the caller commits, or rolls
    back for a dry run.  After ``limits.max_rejected`` rejected rows reading
    stops and nothing is written (``report.stopped`` says so).  ``progress``
    receives the number of rows handled since its last call (read, then written).
    """
    limits = limits or Limits()
    report = Report(source=str(path), dry_run=dry_run)
    rows = counted(read_rows(path, limits=limits, detected=report.detected), progress)
    parsed = parse_places(rows, options, report, max_rejected=limits.max_rejected)
    if not report.stopped:
        try:
            write_places(
                session, finish_places(parsed, report), report, dry_run=dry_run, progress=progress
            )
        except (DBAPIError, psycopg.Error) as exc:  # COPY raises psycopg's own errors
            if not isinstance(getattr(exc, "orig", exc), QueryCanceled):
                raise
            raise StatementTimeout(
                f"{path.name}: the database cancelled the import because one statement ran past "
                "its statement timeout; nothing was written. Import the ledger in smaller files, "
                "or ask the operator to allow imports a longer statement timeout"
            ) from None
    return report


def counted(rows: Iterable[Row], progress: Callable[[int], None] | None) -> Iterator[Row]:
    """Pass rows through, telling ``progress`` every 1,000 rows."""
    count = 0
    for count, row in enumerate(rows, start=1):
        if progress and count % 1000 == 0:
            progress(1000)
        yield row
    if progress:
        progress(count % 1000)
