"""Raw rows to clean WGS-84 points with hours of week and hashed rider ids, and the import report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from geo.activity.columns import ColumnPlan, PointColumns
from geo.activity.riders import hash_rider_ids
from geo.activity.sources import RawChunk
from geo.activity.times import TimeOptions, hours_of_week
from geo.errors import InvalidInput, InvalidLocation
from geo.places.crs_points import points_to_wgs84
from geo.places.vocabulary import CHINA_BBOX

# --------------------------------------------------------------------------- #
# From raw chunks to points
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class PointChunk:
    """Activity points after parsing: WGS-84, hour of week, weight, hashed rider.

    Attributes
    ----------
    lon, lat : numpy.ndarray of float64
        WGS-84 degrees.
    hour_of_week : numpy.ndarray of int16
        0..167, Asia/Shanghai local time, Monday 00:00 = 0.
    weight : numpy.ndarray of float64
        Weight of each point (1.0 unless a weight column says otherwise).
    rider : numpy.ndarray of uint64 or None
        Keyed hash of the rider id (0 = unknown), or None when the source has
        no rider ids at all.
    """

    lon: np.ndarray
    lat: np.ndarray
    hour_of_week: np.ndarray
    weight: np.ndarray
    rider: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.lon)

    @staticmethod
    def concat(chunks: Sequence[PointChunk]) -> PointChunk:
        """Join chunks (they must all have rider hashes or none)."""
        riders = [c.rider for c in chunks]
        has = all(r is not None for r in riders) and bool(chunks)
        return PointChunk(
            lon=np.concatenate([c.lon for c in chunks]) if chunks else np.empty(0),
            lat=np.concatenate([c.lat for c in chunks]) if chunks else np.empty(0),
            hour_of_week=(
                np.concatenate([c.hour_of_week for c in chunks])
                if chunks
                else np.empty(0, np.int16)
            ),
            weight=np.concatenate([c.weight for c in chunks]) if chunks else np.empty(0),
            rider=np.concatenate(riders) if has else None,  # type: ignore[arg-type]
        )


@dataclass
class ActivityReport:
    """What happened while reading one activity source.

    ``skipped`` counts points left out by reason; ``examples`` keeps up to five
    row numbers per reason so a person can look them up.  Nothing here holds
    a coordinate or a rider id.
    """

    source: str
    kind: str = ""
    row_label: str = "row"
    crs: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    rows_read: int = 0
    points: int = 0
    weight: float = 0.0
    skipped: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[int]] = field(default_factory=dict)
    has_riders: bool = False
    notes: list[str] = field(default_factory=list)

    def skip(self, reason: str, rows: np.ndarray) -> None:
        """Count ``rows`` as skipped for ``reason``."""
        if len(rows) == 0:
            return
        self.skipped[reason] = self.skipped.get(reason, 0) + int(len(rows))
        seen = self.examples.setdefault(reason, [])
        seen.extend(int(r) for r in rows[: max(0, 5 - len(seen))])

    def merge(self, other: ActivityReport) -> None:
        """Add another report's counts (for parallel or multi-file reads)."""
        self.rows_read += other.rows_read
        self.points += other.points
        self.weight += other.weight
        for reason, count in other.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + count
            seen = self.examples.setdefault(reason, [])
            seen.extend(other.examples.get(reason, [])[: max(0, 5 - len(seen))])
        self.has_riders = self.has_riders or other.has_riders
        self.notes.extend(n for n in other.notes if n not in self.notes)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary."""
        return {
            "source": self.source,
            "kind": self.kind,
            "crs": self.crs,
            "columns": self.columns,
            "rows_read": self.rows_read,
            "points": self.points,
            "weight": self.weight,
            "skipped": self.skipped,
            "examples": {k: v for k, v in self.examples.items()},
            "row_label": self.row_label,
            "has_riders": self.has_riders,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Area:
    """Where points may lie (WGS-84): a polygon or the China extent.

    ``name`` is used in messages (``Shanghai``, ``the polygon``).
    """

    name: str = "China"
    geometry: Any = None  # shapely Polygon/MultiPolygon in WGS-84, or None for the bbox

    def contains(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Return a mask of points inside the area (boundary counts as inside)."""
        if self.geometry is None:
            west, south, east, north = CHINA_BBOX
            return (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
        shapely.prepare(self.geometry)
        return np.asarray(shapely.intersects_xy(self.geometry, lon, lat), dtype=bool)


def _numbers(
    values: pd.Series, *, column: str, rows: np.ndarray, row_label: str, field_name: str
) -> np.ndarray:
    """Parse a numeric column: blanks give NaN, anything else non-numeric fails."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        return np.asarray(values.to_numpy(dtype="float64", na_value=np.nan))
    text = values.astype("string").str.strip()
    number = pd.to_numeric(text, errors="coerce").astype("float64")
    bad = number.isna() & text.notna() & (text != "")
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise InvalidInput(
            f"{row_label} {rows[position]}, column {column!r}: {values.iloc[position]!r} is not a "
            f"number; expected {field_name} as a decimal number",
            field=field_name,
        )
    return np.asarray(number.to_numpy(dtype="float64", na_value=np.nan))


@dataclass(frozen=True)
class ReadOptions:
    """Everything :func:`parse_chunk` needs besides the data.

    Attributes
    ----------
    crs : str
        CRS of the coordinates (``wgs84``, ``gcj02``, ``bd09`` or an EPSG
        code); converted to WGS-84 with :func:`geo.places.crs.to_wgs84_arrays`.
    salt : bytes
        Secret for rider-id hashing.
    times : TimeOptions
        Year and weekday for incomplete times.
    area : Area
        Points outside are dropped and counted.
    """

    crs: str
    salt: bytes
    times: TimeOptions = field(default_factory=TimeOptions)
    area: Area = field(default_factory=Area)


def parse_chunk(
    raw: RawChunk,
    *,
    plan: ColumnPlan,
    options: ReadOptions,
    row_label: str = "row",
    report: ActivityReport | None = None,
) -> PointChunk:
    """Turn one raw chunk into WGS-84 points with hours of week.

    Blank coordinates or times skip the point (counted in ``report``); text
    that is not a number or a time raises :class:`InvalidInput` naming the row
    and column; out-of-range coordinates raise :class:`InvalidLocation`.
    This is the per-partition function of the Dask path as well.
    """
    report = report if report is not None else ActivityReport(source="")
    frame, rows = raw.frame, raw.rows
    report.rows_read += len(frame)
    main_time = plan.points[0].time
    rider_all = (
        hash_rider_ids(frame[plan.rider], salt=options.salt) if plan.rider is not None else None
    )
    if plan.weight is not None:
        weight_all = _numbers(
            frame[plan.weight],
            column=plan.weight,
            rows=rows,
            row_label=row_label,
            field_name="weight",
        )
        negative = weight_all < 0
        if np.any(negative):
            position = int(np.flatnonzero(negative)[0])
            raise InvalidInput(
                f"{row_label} {rows[position]}, column {plan.weight!r}: weight "
                f"{weight_all[position]} is negative; expected a count of 0 or more",
                field="weight",
            )
        weight_all = np.where(np.isnan(weight_all), 1.0, weight_all)
    else:
        weight_all = np.ones(len(frame))
    parts: list[PointChunk] = []
    for number, pc in enumerate(plan.points):
        lon = _numbers(
            frame[pc.lon], column=pc.lon, rows=rows, row_label=row_label, field_name="lon"
        )
        lat = _numbers(
            frame[pc.lat], column=pc.lat, rows=rows, row_label=row_label, field_name="lat"
        )
        time_column = pc.time or main_time
        assert time_column is not None  # the main point set always has a time
        how = hours_of_week(
            frame[time_column],
            options=options.times,
            column=time_column,
            rows=rows,
            row_label=row_label,
        )
        prefix = "" if number == 0 else f"points#{number + 1}: "
        blank_xy = np.isnan(lon) | np.isnan(lat)
        report.skip(prefix + "blank coordinates", rows[blank_xy])
        blank_t = (how < 0) & ~blank_xy
        report.skip(prefix + "blank time", rows[blank_t])
        keep = ~(blank_xy | blank_t)
        lon, lat, how, kept_rows = lon[keep], lat[keep], how[keep], rows[keep]
        _check_ranges(lon, lat, kept_rows, row_label, pc)
        if len(lon):
            lon, lat = points_to_wgs84(lon, lat, crs=options.crs)
        inside = options.area.contains(lon, lat)
        report.skip(prefix + f"outside {options.area.name}", kept_rows[~inside])
        parts.append(
            PointChunk(
                lon=lon[inside],
                lat=lat[inside],
                hour_of_week=how[inside],
                weight=weight_all[keep][inside],
                rider=None if rider_all is None else rider_all[keep][inside],
            )
        )
    chunk = PointChunk.concat(parts)
    report.points += len(chunk)
    report.weight += float(chunk.weight.sum())
    report.has_riders = report.has_riders or chunk.rider is not None
    return chunk


def _check_ranges(
    lon: np.ndarray, lat: np.ndarray, rows: np.ndarray, row_label: str, pc: PointColumns
) -> None:
    bad_lat = np.abs(lat) > 90
    bad_lon = np.abs(lon) > 180
    if bad_lat.any() or bad_lon.any():
        position = int(np.flatnonzero(bad_lat | bad_lon)[0])
        swapped = bad_lat[position] and abs(lat[position]) <= 180
        hint = "; were lon and lat swapped?" if swapped else ""
        raise InvalidLocation(
            f"{row_label} {rows[position]}: lon {lon[position]} / lat {lat[position]} (columns "
            f"{pc.lon!r}, {pc.lat!r}) is outside -180..180 / -90..90{hint}",
            field="lat" if bad_lat[position] else "lon",
        )


def check_not_all_outside(report: ActivityReport, area: Area) -> None:
    """Raise when rows were read but no point survived the area filter."""
    if report.points:
        return
    outside = sum(v for k, v in report.skipped.items() if "outside" in k)
    if outside:
        raise InvalidInput(
            f"all {outside} points fall outside {area.name}; check --crs, the lon/lat columns "
            "(swapped?) and --city",
            field="area",
        )
    raise InvalidInput(
        f"{report.source}: no usable points "
        f"({', '.join(f'{k}: {v}' for k, v in report.skipped.items())})",
        field="lon",
    )
