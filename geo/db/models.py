"""Tables for places (stations, reading nooks, breakfast points, driver homes).

Geometry is stored as ``geometry(Point, 4326)`` (WGS-84 lon/lat degrees) and
mirrored by a generated ``geography`` column, so nearest queries can rank by
metres on the ellipsoid with a GiST index.  The CHECK constraints repeat the
vocabularies of :mod:`geo.places.vocabulary`, so the database rejects bad rows even when
the application is bypassed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geography, Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Identity,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from geo.places.vocabulary import (
    AMENITIES,
    BUILD_MODES,
    CHINA_BBOX,
    HOST_TYPES,
    KINDS,
    SIX_HAVE_KEYS,
    SOURCE_CRSES,
    STATUSES,
)


class Base(DeclarativeBase):
    """Declarative base shared by every table of the project."""


def sql_list(values: tuple[str, ...]) -> str:
    """Render a vocabulary as a SQL literal list; values are our own constants."""
    return ", ".join(f"'{v}'" for v in values)


def in_vocabulary(column: str, values: tuple[str, ...], *, nullable: bool = False) -> str:
    """Return a CHECK expression keeping ``column`` inside a vocabulary."""
    check = f"{column} IN ({sql_list(values)})"
    return f"({column} IS NULL OR {check})" if nullable else check


def place_checks() -> tuple[CheckConstraint, ...]:
    """Return the CHECK constraints of the ``places`` table."""
    west, south, east, north = CHINA_BBOX
    return (
        CheckConstraint(in_vocabulary("kind", KINDS), name="kind_known"),
        CheckConstraint(in_vocabulary("status", STATUSES), name="status_known"),
        CheckConstraint(in_vocabulary("source_crs", SOURCE_CRSES), name="source_crs_known"),
        CheckConstraint(
            in_vocabulary("build_mode", BUILD_MODES, nullable=True), name="build_mode_known"
        ),
        CheckConstraint(
            in_vocabulary("host_type", HOST_TYPES, nullable=True), name="host_type_known"
        ),
        CheckConstraint(
            f"amenities <@ ARRAY[{sql_list(AMENITIES)}]::text[]", name="amenities_known"
        ),
        CheckConstraint(
            f"jsonb_typeof(six_haves) = 'object' AND six_haves - ARRAY[{sql_list(SIX_HAVE_KEYS)}] = '{{}}'::jsonb",
            name="six_haves_known",
        ),
        CheckConstraint("btrim(name) <> ''", name="name_not_blank"),
        CheckConstraint("btrim(external_id) <> ''", name="external_id_not_blank"),
        CheckConstraint("adcode IS NULL OR adcode ~ '^[0-9]{6}$'", name="adcode_six_digits"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
        CheckConstraint("NOT ST_IsEmpty(geom) AND ST_IsValid(geom)", name="geom_valid"),
        CheckConstraint(
            f"ST_X(geom) BETWEEN {west} AND {east} AND ST_Y(geom) BETWEEN {south} AND {north}",
            name="geom_in_china",
        ),
    )


# Columns a member of the public may see (everything but bookkeeping of the
# import: source, external_id, source_crs, created_at).
PUBLIC_COLUMNS: tuple[str, ...] = (
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
    "is_demo",
    "updated_at",
)


class Place(Base):
    """One service point that outdoor workers can use."""

    __tablename__ = "places"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="places_natural_key"),
        *place_checks(),
        # Indexes the migrations create (declared so the drift test sees them).
        Index("idx_places_kind_status", "kind", "status"),
        Index("idx_places_amenities", "amenities", postgresql_using="gin"),
        Index("idx_places_updated_at", "updated_at"),
        Index(
            "idx_places_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ),
        Index(
            "idx_places_address_trgm",
            "address",
            postgresql_using="gin",
            postgresql_ops={"address": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    province: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(Text)
    district: Mapped[str | None] = mapped_column(Text)
    adcode: Mapped[str | None] = mapped_column(Text)
    ledger_district: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=True))
    geog: Mapped[Any] = mapped_column(
        Geography("POINT", srid=4326, spatial_index=True),
        Computed("geom::geography", persisted=True),
    )
    amenities: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    opening_hours: Mapped[str | None] = mapped_column(Text)
    opening_hours_text: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="active")
    host_type: Mapped[str | None] = mapped_column(Text)
    build_mode: Mapped[str | None] = mapped_column(Text)
    capacity: Mapped[int | None] = mapped_column(Integer)
    phone: Mapped[str | None] = mapped_column(Text)
    managing_union: Mapped[str | None] = mapped_column(Text)
    station_no: Mapped[str | None] = mapped_column(Text)
    six_haves: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    source: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str] = mapped_column(Text)
    source_crs: Mapped[str] = mapped_column(Text)
    is_demo: Mapped[bool] = mapped_column(Boolean, server_default="false")
    last_verified: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
