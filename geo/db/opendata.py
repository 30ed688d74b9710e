"""SQL of the open data: OGC feature pages, collection extents, snapshot rows, tombstones.

Plain dicts out, bind parameters in.  Coordinates come back as ``x``/``y``
in the SRID asked for (PostGIS order: lon/lat for geographic CRSs); the
caller writes them in the CRS's axis order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    Index,
    Text,
    any_,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY as PG_ARRAY
from sqlalchemy.orm import Mapped, Session, mapped_column

from geo.db.models import PUBLIC_COLUMNS, Base, Place

TEXT_ARRAY = PG_ARRAY(Text)


class PlaceTombstone(Base):
    """A place deleted outright: written by a trigger (migration 0005_opendata), read only."""

    __tablename__ = "place_tombstones"
    __table_args__ = (Index("place_tombstones_deleted_at", "deleted_at", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    deleted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


TOMBSTONES = PlaceTombstone.__table__
# Columns of an OGC feature and of the bulk files (besides the geometry):
# what the public API shows, no more.
FEATURE_COLUMNS: tuple[str, ...] = PUBLIC_COLUMNS


@dataclass(frozen=True)
class FeatureFilter:
    """Which places an OGC items request selects; every field optional.

    Parameters
    ----------
    kinds, statuses
        Keep places of any of these (empty: all).
    amenities
        Keep places offering all of these.
    bbox
        WGS-84 ``(west, south, east, north)`` degrees.
    updated_from, updated_to
        Inclusive bounds on ``updated_at`` (aware instants).
    """

    kinds: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    amenities: tuple[str, ...] = ()
    bbox: tuple[float, float, float, float] | None = None
    updated_from: datetime | None = None
    updated_to: datetime | None = None

    def apply(self, stmt: Any) -> tuple[Any, dict[str, Any]]:
        """Return ``stmt`` with this filter's WHERE clauses, and their bind values."""
        params: dict[str, Any] = {}
        if self.kinds:
            stmt = stmt.where(Place.kind == any_(bindparam("kinds", type_=TEXT_ARRAY)))
            params["kinds"] = list(self.kinds)
        if self.statuses:
            stmt = stmt.where(Place.status == any_(bindparam("statuses", type_=TEXT_ARRAY)))
            params["statuses"] = list(self.statuses)
        if self.amenities:
            stmt = stmt.where(Place.amenities.op("@>")(bindparam("amenities", type_=TEXT_ARRAY)))
            params["amenities"] = list(self.amenities)
        if self.bbox is not None:
            envelope = func.ST_MakeEnvelope(
                *(bindparam(k, type_=Float) for k in ("west", "south", "east", "north")), 4326
            )
            # && on the GiST index, then the exact test (a point on the edge counts).
            stmt = stmt.where(
                Place.geom.op("&&")(envelope), func.ST_Intersects(Place.geom, envelope)
            )
            params.update(
                zip(("west", "south", "east", "north"), map(float, self.bbox), strict=True)
            )
        if self.updated_from is not None:
            stmt = stmt.where(Place.updated_at >= bindparam("updated_from"))
            params["updated_from"] = self.updated_from
        if self.updated_to is not None:
            stmt = stmt.where(Place.updated_at <= bindparam("updated_to"))
            params["updated_to"] = self.updated_to
        return stmt, params


def _xy(srid: int) -> list[Any]:
    geom = Place.geom if srid == 4326 else func.ST_Transform(Place.geom, srid)
    return [func.ST_X(geom).label("x"), func.ST_Y(geom).label("y")]


def _rows(session: Session, stmt: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in session.connection().execute(stmt, params)]


def feature_page(
    session: Session,
    where: FeatureFilter,
    *,
    srid: int = 4326,
    limit: int = 100,
    after_id: int | None = None,
    before_id: int | None = None,
) -> list[dict[str, Any]]:
    """Return one page of places by ascending id (keyset paging both ways).

    Parameters
    ----------
    srid
        SRID of the returned ``x``/``y`` (4326, 4490 or 3857).
    after_id
        Next page: places with a larger id.
    before_id
        Previous page: the ``limit`` places just below this id.

    Returns
    -------
    list of dict
        ``FEATURE_COLUMNS`` plus ``x``/``y`` (PostGIS axis order), by id.
    """
    table = Place.__table__
    stmt = select(*(table.c[c] for c in FEATURE_COLUMNS), *_xy(srid))
    stmt, params = where.apply(stmt)
    if after_id is not None:
        stmt = stmt.where(Place.id > bindparam("after_id"))
        params["after_id"] = int(after_id)
    if before_id is not None:
        stmt = stmt.where(Place.id < bindparam("before_id")).order_by(Place.id.desc())
        params["before_id"] = int(before_id)
    else:
        stmt = stmt.order_by(Place.id)
    params["limit"] = int(limit)
    rows = _rows(session, stmt.limit(bindparam("limit")), params)
    return sorted(rows, key=lambda r: r["id"]) if before_id is not None else rows


def count_features(session: Session, where: FeatureFilter) -> int:
    """Return how many places match ``where`` (OGC ``numberMatched``)."""
    stmt, params = where.apply(select(func.count()).select_from(Place))
    return int(session.connection().execute(stmt, params).scalar_one())


def has_before(session: Session, where: FeatureFilter, first_id: int) -> bool:
    """Return whether a place matching ``where`` has an id below ``first_id``."""
    stmt, params = where.apply(select(Place.id).where(Place.id < bindparam("first_id")))
    params["first_id"] = int(first_id)
    return session.connection().execute(stmt.limit(1), params).first() is not None


def get_feature(session: Session, place_id: int, *, srid: int = 4326) -> dict[str, Any] | None:
    """Return one place (any status) with ``x``/``y`` in ``srid``, or None."""
    table = Place.__table__
    stmt = select(*(table.c[c] for c in FEATURE_COLUMNS), *_xy(srid)).where(
        Place.id == bindparam("place_id")
    )
    rows = _rows(session, stmt, {"place_id": int(place_id)})
    return rows[0] if rows else None


def extents_by_kind(session: Session) -> dict[str, dict[str, Any]]:
    """Return, per kind, the WGS-84 extent and the first and last ``updated_at``.

    One scan of the table: ``{kind: {"bbox": (w, s, e, n), "start": t0, "end": t1,
    "count": n}}``.
    """
    box = func.ST_Extent(Place.geom)
    stmt = select(
        Place.kind,
        func.count().label("n"),
        func.ST_XMin(box).label("w"),
        func.ST_YMin(box).label("s"),
        func.ST_XMax(box).label("e"),
        func.ST_YMax(box).label("n_"),
        func.min(Place.updated_at).label("t0"),
        func.max(Place.updated_at).label("t1"),
    ).group_by(Place.kind)
    out: dict[str, dict[str, Any]] = {}
    for r in _rows(session, stmt, {}):
        out[r["kind"]] = {
            "bbox": (r["w"], r["s"], r["e"], r["n_"]),
            "start": r["t0"],
            "end": r["t1"],
            "count": int(r["n"]),
        }
    return out


def iter_snapshot_rows(session: Session, *, batch: int = 5000) -> Iterator[dict[str, Any]]:
    """Yield every place (every status) by id with WGS-84 ``lon``/``lat``, streamed."""
    table = Place.__table__
    stmt = select(
        *(table.c[c] for c in FEATURE_COLUMNS),
        func.ST_X(Place.geom).label("lon"),
        func.ST_Y(Place.geom).label("lat"),
    ).order_by(Place.id)
    result = session.connection().execute(stmt, execution_options={"yield_per": batch})
    for row in result:
        yield dict(row._mapping)


TOMBSTONES_SQL = text("""
SELECT id, kind, deleted_at FROM place_tombstones
WHERE deleted_at > :since AND (CAST(:until AS timestamptz) IS NULL OR deleted_at <= :until)
ORDER BY deleted_at, id LIMIT :limit
""")


def tombstones_since(
    session: Session, since: datetime, *, until: datetime | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """Return places deleted after ``since`` (and up to ``until``): id, kind, deleted_at."""
    return _rows(session, TOMBSTONES_SQL, {"since": since, "until": until, "limit": int(limit)})
