"""Rider activity aggregates in PostGIS: tables and every query on them.

Two tables (migration ``0002_activity``):

- ``activity_datasets``: one row per imported dataset (name, city, source
  CRS, H3 resolution, demo flag, totals, created time).
- ``activity_cells``: per dataset, H3 cell (as BIGINT, the usual 64-bit H3
  index) and hour of week (0..167, Monday 00:00 Asia/Shanghai = 0): points,
  weight, distinct riders, city, and the cell centre as
  ``geometry(Point, 4326)`` with a GiST index.

Only aggregates are stored: no raw point, no rider id (not even hashed).
An import replaces a dataset of the same name atomically: delete and insert
run in the caller's transaction, rows arrive by ``COPY``, so a crash or
``kill -9`` leaves the previous version untouched.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    Text,
    bindparam,
    delete,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from geo.activity.cells import cell_centroids
from geo.db.models import Base
from geo.db.queries import MARKER_COLUMNS, PlaceQuery, list_places
from geo.errors import InvalidInput
from geo.places.vocabulary import CHINA_BBOX

__all__ = [
    "ActivityCell",
    "ActivityDataset",
    "DatasetInfo",
    "delete_dataset",
    "get_dataset",
    "list_datasets",
    "load_cells",
    "load_stations",
    "replace_dataset",
]


class ActivityDataset(Base):
    """One imported activity dataset (its cells are in ``activity_cells``)."""

    __tablename__ = "activity_datasets"
    __table_args__ = (
        Index("idx_activity_datasets_city", "city"),
        CheckConstraint("btrim(name) <> ''", name="activity_name_not_blank"),
        CheckConstraint("btrim(city) <> ''", name="activity_city_not_blank"),
        CheckConstraint("resolution BETWEEN 0 AND 15", name="activity_resolution_h3"),
        CheckConstraint("points >= 0 AND weight >= 0", name="activity_totals_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    city: Mapped[str] = mapped_column(Text)
    source_crs: Mapped[str] = mapped_column(Text)
    resolution: Mapped[int] = mapped_column(SmallInteger)
    is_demo: Mapped[bool] = mapped_column(Boolean, server_default="false")
    has_riders: Mapped[bool] = mapped_column(Boolean, server_default="false")
    points: Mapped[int] = mapped_column(BigInteger, server_default="0")
    weight: Mapped[float] = mapped_column(Double, server_default="0")
    cells: Mapped[int] = mapped_column(Integer, server_default="0")
    source_name: Mapped[str | None] = mapped_column(Text)
    report: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ActivityCell(Base):
    """Activity of one H3 cell in one hour of the week, for one dataset."""

    __tablename__ = "activity_cells"
    __table_args__ = (
        Index("idx_activity_cells_city_hour", "city", "hour_of_week"),
        CheckConstraint("hour_of_week BETWEEN 0 AND 167", name="activity_hour_of_week"),
        CheckConstraint(
            "points >= 0 AND weight >= 0 AND (riders IS NULL OR riders >= 0)",
            name="activity_counts_not_negative",
        ),
        CheckConstraint("NOT ST_IsEmpty(geom) AND ST_IsValid(geom)", name="activity_geom_valid"),
        CheckConstraint(
            f"ST_X(geom) BETWEEN {CHINA_BBOX[0]} AND {CHINA_BBOX[2]} AND "
            f"ST_Y(geom) BETWEEN {CHINA_BBOX[1]} AND {CHINA_BBOX[3]}",
            name="activity_geom_in_china",
        ),
    )

    dataset_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("activity_datasets.id", ondelete="CASCADE"), primary_key=True
    )
    cell: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hour_of_week: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    city: Mapped[str] = mapped_column(Text)
    points: Mapped[int] = mapped_column(BigInteger)
    weight: Mapped[float] = mapped_column(Double)
    riders: Mapped[int | None] = mapped_column(Integer)
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=True))


DatasetInfo = dict[str, Any]

_DATASET_COLUMNS = (
    "id",
    "name",
    "city",
    "source_crs",
    "resolution",
    "is_demo",
    "has_riders",
    "points",
    "weight",
    "cells",
    "source_name",
    "created_at",
)


def replace_dataset(
    session: Session,
    cells: pd.DataFrame,
    *,
    name: str,
    city: str,
    source_crs: str,
    resolution: int,
    is_demo: bool = False,
    has_riders: bool = False,
    source_name: str | None = None,
    report: dict[str, Any] | None = None,
) -> int:
    """Store a dataset's cell aggregates, replacing any dataset of that name.

    Runs in the session's transaction and does not commit: the caller
    commits once, so the old version stays until the new one is complete.

    Parameters
    ----------
    session : Session
    cells : pandas.DataFrame
        :func:`geo.activity.cells.finalize` output: ``cell`` (int64 H3),
        ``hour_of_week``, ``points``, ``weight``, ``riders`` (nullable).
    name, city, source_crs, resolution, is_demo, has_riders, source_name
        Dataset metadata (``source_name`` is a file name, never a path).
    report : dict, optional
        Import summary kept with the dataset (counts and row numbers only).

    Returns
    -------
    int
        The new dataset id.
    """
    if not name or not name.strip():
        raise InvalidInput("a dataset needs a name", field="dataset")
    if not city or not city.strip():
        raise InvalidInput("say which city the activity belongs to (--city)", field="city")
    if cells.empty:
        raise InvalidInput("no activity cells to store", field="dataset")
    # Two imports of one name at once would interleave delete and insert;
    # a transaction-scoped advisory lock keyed on the name serialises them.
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": "yitu activity " + name}
    )
    session.execute(delete(ActivityDataset).where(ActivityDataset.name == bindparam("name", name)))
    dataset = ActivityDataset(
        name=name.strip(),
        city=city.strip(),
        source_crs=source_crs,
        resolution=int(resolution),
        is_demo=bool(is_demo),
        has_riders=bool(has_riders),
        points=int(cells["points"].sum()),
        weight=float(cells["weight"].sum()),
        cells=int(cells["cell"].nunique()),
        source_name=source_name,
        report=json.loads(json.dumps(report or {}, default=str)),
    )
    session.add(dataset)
    session.flush()
    _copy_cells(session, dataset.id, city.strip(), cells)
    return int(dataset.id)


def _copy_cells(session: Session, dataset_id: int, city: str, cells: pd.DataFrame) -> None:
    """Stream the cells into ``activity_cells`` with COPY (fast, one statement)."""
    unique = cells["cell"].unique()
    lon_u, lat_u = cell_centroids(unique)
    centre = pd.DataFrame({"cell": unique, "lon": lon_u, "lat": lat_u})
    frame = cells.merge(centre, on="cell", how="left")
    riders = frame["riders"].astype("Int64")
    raw = session.connection().connection.driver_connection
    assert raw is not None, "a live psycopg connection"  # narrows the type for COPY
    with (
        raw.cursor() as cursor,
        cursor.copy(
            "COPY activity_cells (dataset_id, cell, hour_of_week, city, points, weight, riders, "
            "geom) FROM STDIN"
        ) as copy,
    ):
        for start in range(0, len(frame), 100_000):
            part = frame.iloc[start : start + 100_000]
            buffer = io.StringIO()
            # .tolist() gives Python numbers, whose repr is plain text (numpy 2's
            # repr would write "np.float64(5.0)").
            for cell, how, pts, wgt, rid, x, y in zip(
                part["cell"].to_numpy(np.int64).tolist(),
                part["hour_of_week"].to_numpy(np.int64).tolist(),
                part["points"].to_numpy(np.int64).tolist(),
                part["weight"].to_numpy(np.float64).tolist(),
                riders.iloc[start : start + 100_000].tolist(),
                part["lon"].to_numpy(float).tolist(),
                part["lat"].to_numpy(float).tolist(),
                strict=True,
            ):
                rider_text = "\\N" if rid is pd.NA or rid is None else str(int(rid))
                # COPY text format: tabs separate, \N is NULL; the city is
                # escaped for backslash, tab and newline.
                buffer.write(
                    f"{dataset_id}\t{cell}\t{how}\t{_copy_text(city)}\t{pts}\t"
                    f"{wgt!r}\t{rider_text}\tSRID=4326;POINT({x!r} {y!r})\n"
                )
            copy.write(buffer.getvalue())


def _copy_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def list_datasets(session: Session, *, city: str | None = None) -> list[DatasetInfo]:
    """Return the stored datasets (newest first), optionally of one city."""
    table = ActivityDataset.__table__
    stmt = select(*(table.c[c] for c in _DATASET_COLUMNS)).order_by(
        table.c.created_at.desc(), table.c.id.desc()
    )
    if city:
        stmt = stmt.where(table.c.city == bindparam("city", city))
    return [dict(row._mapping) for row in session.execute(stmt)]


def get_dataset(session: Session, name: str) -> DatasetInfo | None:
    """Return one dataset's metadata (with its import report), or None."""
    table = ActivityDataset.__table__
    row = session.execute(select(table).where(table.c.name == bindparam("name", name))).first()
    return dict(row._mapping) if row else None


def delete_dataset(session: Session, name: str) -> bool:
    """Delete a dataset and its cells; return whether it existed (no commit)."""
    deleted = session.execute(
        delete(ActivityDataset)
        .where(ActivityDataset.name == bindparam("name", name))
        .returning(ActivityDataset.id)
    )
    return deleted.first() is not None


def _choose_datasets(
    session: Session, *, datasets: Sequence[str] | None, city: str | None
) -> list[DatasetInfo]:
    found = (
        list_datasets(session, city=city)
        if not datasets
        else [d for d in list_datasets(session) if d["name"] in set(datasets)]
    )
    if datasets:
        missing = sorted(set(datasets) - {d["name"] for d in found})
        if missing:
            raise InvalidInput(
                f"no activity dataset named {', '.join(missing)}; "
                "list them with `yitu analyze datasets`",
                field="dataset",
            )
    if not found:
        where = f" for {city}" if city else ""
        raise InvalidInput(
            f"no rider activity stored{where}; import some with `yitu import activity`",
            field="city",
        )
    resolutions = sorted({d["resolution"] for d in found})
    if len(resolutions) > 1:
        listing = ", ".join(f"{d['name']}: {d['resolution']}" for d in found)
        raise InvalidInput(
            f"the datasets use different H3 resolutions ({listing}); "
            "choose datasets of one resolution with --dataset",
            field="dataset",
        )
    return found


def load_cells(
    session: Session,
    *,
    datasets: Sequence[str] | None = None,
    city: str | None = None,
    hours: Sequence[int] | np.ndarray | None = None,
    area_wkt: str | None = None,
) -> tuple[pd.DataFrame, list[DatasetInfo]]:
    """Sum stored activity per cell over hours of week, inside an area.

    Parameters
    ----------
    session : Session
    datasets : sequence of str, optional
        Dataset names; by default every dataset of ``city``.
    city : str, optional
        City label given at import.
    hours : sequence of int, optional
        Hours of week to include (a window's :meth:`hours_of_week`); all when
        None.
    area_wkt : str, optional
        WGS-84 polygon (WKT) the cell centres must fall in.

    Returns
    -------
    (pandas.DataFrame, list of dict)
        Cells with ``cell`` (int64), ``lon``, ``lat`` (WGS-84 centre),
        ``points``, ``weight``, ``rider_hours`` (nullable: sum of distinct
        riders per hour), and the datasets used.
    """
    chosen = _choose_datasets(session, datasets=datasets, city=city)
    cell_table = ActivityCell.__table__
    stmt = (
        select(
            cell_table.c.cell,
            func.min(func.ST_X(cell_table.c.geom)).label("lon"),
            func.min(func.ST_Y(cell_table.c.geom)).label("lat"),
            func.sum(cell_table.c.points).label("points"),
            func.sum(cell_table.c.weight).label("weight"),
            func.sum(cell_table.c.riders).label("rider_hours"),
        )
        .where(
            cell_table.c.dataset_id.in_(bindparam("ids", [d["id"] for d in chosen], expanding=True))
        )
        .group_by(cell_table.c.cell)
        .order_by(cell_table.c.cell)
    )
    if city and not datasets:
        stmt = stmt.where(cell_table.c.city == bindparam("city", city))
    if hours is not None:
        stmt = stmt.where(
            cell_table.c.hour_of_week.in_(
                bindparam("hours", [int(h) for h in hours], expanding=True)
            )
        )
    if area_wkt is not None:
        area = func.ST_GeomFromText(bindparam("area", area_wkt), 4326)
        stmt = stmt.where(func.ST_Intersects(cell_table.c.geom, area))
    rows = session.execute(stmt).all()
    frame = pd.DataFrame(rows, columns=["cell", "lon", "lat", "points", "weight", "rider_hours"])
    frame = frame.astype(
        {"cell": np.int64, "lon": float, "lat": float, "points": np.int64, "weight": float}
    )
    frame["rider_hours"] = frame["rider_hours"].astype("Int64")
    return frame, chosen


def load_stations(
    session: Session,
    *,
    bbox: tuple[float, float, float, float],
    kinds: Sequence[str] = (),
    amenities: Sequence[str] = (),
    limit: int = 1_000_000,
) -> pd.DataFrame:
    """Return active places inside a WGS-84 bbox as a coverage supply table.

    Parameters
    ----------
    bbox : tuple
        ``(min_lon, min_lat, max_lon, max_lat)``; callers pad the activity
        extent by the service radius so stations just outside still count.
    kinds, amenities
        Filters applied in SQL (same semantics as the finder).

    Returns
    -------
    pandas.DataFrame
        ``id``, ``name``, ``kind``, ``status``, ``amenities``,
        ``opening_hours``, ``lon``, ``lat``, ``is_demo``.
    """
    rows = list_places(
        session,
        bbox=bbox,
        where=PlaceQuery(kinds=tuple(kinds), amenities=tuple(amenities)),
        limit=limit,
        columns=MARKER_COLUMNS,
    )
    columns = [
        "id",
        "name",
        "kind",
        "status",
        "amenities",
        "opening_hours",
        "lon",
        "lat",
        "is_demo",
    ]
    frame = pd.DataFrame(rows)
    for column in columns:
        if column not in frame:
            frame[column] = pd.Series(dtype=object)
    return frame[columns]
