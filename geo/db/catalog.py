"""Reading places back out: listings for pages, and rows for exports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVarTuple

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from geo.db.models import Place

EXPORT_COLUMNS: tuple[str, ...] = (
    "id",
    "kind",
    "name",
    "name_en",
    "status",
    "address",
    "province",
    "city",
    "district",
    "adcode",
    "lon",
    "lat",
    "amenities",
    "opening_hours",
    "opening_hours_text",
    "host_type",
    "build_mode",
    "capacity",
    "phone",
    "managing_union",
    "station_no",
    "six_haves",
    "last_verified",
    "source",
    "external_id",
    "source_crs",
    "is_demo",
    "updated_at",
)
#: Export columns holding timestamps (written as Asia/Shanghai local time).
EXPORT_LOCAL_TIMES: tuple[str, ...] = ("updated_at",)

#: The columns of a select statement (:meth:`PlaceFilter.apply` keeps them).
Columns = TypeVarTuple("Columns")


@dataclass(frozen=True)
class PlaceFilter:
    """Which places to list; every field optional."""

    kind: str | None = None
    status: str | None = None
    city: str | None = None
    district: str | None = None
    demo: bool | None = None

    def apply(self, stmt: Select[*Columns]) -> Select[*Columns]:
        """Add this filter's WHERE clauses to ``stmt``."""
        for column, value in (
            (Place.kind, self.kind),
            (Place.status, self.status),
            (Place.city, self.city),
            (Place.district, self.district),
            (Place.is_demo, self.demo),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        return stmt


def place_row(place: Place, lon: float, lat: float) -> dict[str, Any]:
    """Return a place as a flat dict with WGS-84 ``lon``/``lat`` degrees."""
    row = {c: getattr(place, c) for c in EXPORT_COLUMNS if c not in ("lon", "lat")}
    row.update(lon=lon, lat=lat)
    return row


def list_places(
    session: Session, where: PlaceFilter, *, limit: int = 100, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Return one page of places ordered by city, district, kind, name, plus the total."""
    stmt = where.apply(select(Place, func.ST_X(Place.geom), func.ST_Y(Place.geom)))
    stmt = stmt.order_by(Place.city, Place.district, Place.kind, Place.name, Place.id)
    total = session.scalar(where.apply(select(func.count(Place.id)))) or 0
    rows = [place_row(p, x, y) for p, x, y in session.execute(stmt.limit(limit).offset(offset))]
    return rows, total


def iter_places(
    session: Session, where: PlaceFilter, *, batch: int = 2000
) -> Iterator[dict[str, Any]]:
    """Yield every matching place as a flat dict, streaming in batches."""
    stmt = where.apply(select(Place, func.ST_X(Place.geom), func.ST_Y(Place.geom))).order_by(
        Place.id
    )
    for place, lon, lat in session.execute(stmt.execution_options(yield_per=batch)):
        yield place_row(place, lon, lat)


def count_places(session: Session) -> int:
    """Return how many places are stored."""
    return session.scalar(select(func.count(Place.id))) or 0


def district_summary(
    session: Session, where: PlaceFilter
) -> list[tuple[str | None, str | None, int]]:
    """Return ``(city, district, count)`` for the matching places."""
    stmt = (
        where.apply(select(Place.city, Place.district, func.count(Place.id)))
        .group_by(Place.city, Place.district)
        .order_by(Place.city, Place.district)
    )
    return [(r[0], r[1], int(r[2])) for r in session.execute(stmt)]
