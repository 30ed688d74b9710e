"""Rider activity: reading pings and order points, hashing ids, H3 aggregation.

What comes in
-------------
GPS pings or order points from CSV, XLSX or (Geo)Parquet files, streamed in
chunks so memory stays bounded whatever the file size.  Columns are found by
name (English and Chinese synonyms) or mapped explicitly (``--map
COLUMN=field``).  The fields are ``lon``, ``lat``, ``time``, ``rider`` and
``weight``; only ``lon``, ``lat`` and ``time`` are required.

Times
-----
Every time is turned into an *hour of week* in Asia/Shanghai local time
(UTC+8 all year: China has no daylight saving), Monday 00:00-00:59 being
hour 0 and Sunday 23:00-23:59 hour 167.  Accepted forms:

- ISO 8601 and the usual Chinese layouts (``2026-05-01 08:00:00``,
  ``2026/05/01 08:00``, ``2026年05月01日 08:00``); text without an offset is
  local time, text with an offset (``+08:00``, ``Z``) is converted;
- numbers: Unix epoch seconds, or milliseconds when above 1e11;
- spreadsheet and Parquet timestamps (naive = local, aware = converted);
- ``MM-DD HH:MM[:SS]`` with no year, as in the LaDe dataset: the caller must
  say which year (``year=``, ``--year``) because the weekday depends on it;
- ``HH:MM[:SS]`` with no date at all, as in the Shanghai 2016 orders: the
  points are placed on one weekday, ``time_only_weekday`` (Monday by default).

Several points per row
----------------------
A row may carry more than one position (LaDe has the order location
``lng``/``lat``, the courier's fix at pickup ``pickup_gps_*`` and at
acceptance ``accept_gps_*``).  By default exactly one point per row counts:
the columns mapped to ``lon``/``lat`` at the time mapped to ``time``.  For
LaDe that is the order location at ``pickup_time``, which is always filled
and is where the courier actually stops; ``pickup_gps_*`` is the same event
seen by the phone (counting it too would count the stop twice) and is mostly
empty.  Further positions that are separate events (e.g. ``accept_gps_*`` at
``accept_time``) can be added with :class:`PointColumns` through
``extra_points`` (``--also-points LON,LAT[,TIME]``); their blank cells are
skipped and counted.

Privacy
-------
Rider ids are replaced at the door by HMAC-SHA-256 under a secret salt
(truncated to 64 bits, enough to count distinct riders in a cell-hour).  Raw
ids are never stored, returned or logged, and raw points never leave this
module: callers get cell aggregates only.

Aggregates
----------
For each (H3 cell, hour of week): ``points`` (rows), ``weight`` (sum of the
weight column, e.g. parcels per order; equals ``points`` when there is none)
and ``riders`` (distinct hashed riders seen in that cell in that hour, or
missing when the file has no rider ids).  Distinct riders cannot be summed
across hours exactly (a rider active for three hours counts three times), so
merged windows report *rider-hours*; we say so wherever the sum is shown
rather than keep a sketch per cell.

Memory is bounded by the number of distinct (cell, hour, rider) triples, 24
bytes each, not by the number of rows; the raw chunk (``chunk_rows`` rows,
200,000 by default) is dropped after each step.
"""

from __future__ import annotations

import codecs
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time as dtime
from pathlib import Path
from typing import Any

import h3.api.numpy_int as h3i
import numpy as np
import pandas as pd
import shapely

from geo.crs import to_wgs84_arrays
from geo.errors import InvalidInput, InvalidLocation, LedgerError
from geo.ledger import Limits as LedgerLimits
from geo.ledger import check_zip_inflation, normalize_header
from geo.places import CHINA_BBOX, SOURCE_CRSES

#: H3 resolution used when none is given: resolution 9 cells average about
#: 0.105 km² (edge about 200 m), fine enough for a 500 m service radius.
DEFAULT_RESOLUTION = 9

#: Hours in a week; hour of week runs 0..167 with Monday 00:00 = 0.
HOURS_PER_WEEK = 168

#: Asia/Shanghai is UTC+8 all year (no daylight saving since 1991).
SHANGHAI_OFFSET = pd.Timedelta(hours=8)

#: Rows read per chunk; about 50-100 MB of text in memory at most.
DEFAULT_CHUNK_ROWS = 200_000

#: Shortest accepted salt for rider-id hashing, in bytes.
MIN_SALT_BYTES = 16

FIELDS: tuple[str, ...] = ("lon", "lat", "time", "rider", "weight")
REQUIRED_FIELDS: tuple[str, ...] = ("lon", "lat", "time")

#: Names each field goes by, compared after :func:`geo.ledger.normalize_header`
#: folding (case, spaces, underscores and brackets ignored).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "lon": ("lon", "lng", "longitude", "long", "x", "经度", "gps_lng", "gps_lon", "gpslongitude"),
    "lat": ("lat", "latitude", "y", "纬度", "gps_lat", "gpslatitude"),
    "time": ("time", "timestamp", "datetime", "ts", "gps_time", "event_time", "pickup_time",
             "时间", "定位时间", "上报时间", "取件时间"),
    "rider": ("rider_id", "rider", "courier_id", "courier", "driver_id", "worker_id", "user_id",
              "骑手id", "骑手", "快递员", "快递员id", "配送员"),
    "weight": ("weight", "num", "count", "orders", "数量", "单量", "件数"),
}

_FILE_KINDS = {".csv": "csv", ".txt": "csv", ".gz": "csv", ".xlsx": "xlsx",
               ".parquet": "parquet", ".geoparquet": "parquet", ".pq": "parquet"}

# Regular expressions for the time layouts that pandas cannot parse alone.
_RE_MONTH_DAY = re.compile(r"^\s*(\d{1,2})-(\d{1,2})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")
_RE_TIME_ONLY = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")
_RE_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})\s*$")
_FALLBACK_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y%m%d%H%M%S", "%Y%m%d %H:%M:%S",
                     "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y.%m.%d %H:%M:%S")
_EXPECTED_TIMES = ("ISO 8601 such as 2026-05-01 08:00:00, 2026/05/01 08:00, epoch seconds, "
                   "MM-DD HH:MM:SS with --year, or HH:MM")


# --------------------------------------------------------------------------- #
# Time windows
# --------------------------------------------------------------------------- #

_DAY_CODES = ("mo", "tu", "we", "th", "fr", "sa", "su")


@dataclass(frozen=True)
class TimeWindow:
    """A weekly time window in Asia/Shanghai local time.

    Attributes
    ----------
    name : str
        Label shown to people (``weekday-lunch`` or the text given).
    days : tuple of int
        Days the window *starts* on, 0 = Monday .. 6 = Sunday.
    start, end : datetime.time
        Local start and end; ``end <= start`` means the window runs past
        midnight into the next day (``22:00-05:00``).
    """

    name: str
    days: tuple[int, ...]
    start: dtime
    end: dtime

    @property
    def crosses_midnight(self) -> bool:
        """Return True when the window ends on the day after it starts."""
        return (self.end.hour, self.end.minute) <= (self.start.hour, self.start.minute)

    def hours_of_week(self) -> np.ndarray:
        """Return the hours of week (0..167) the window overlaps, sorted.

        Aggregates are hourly, so an hour counts when the window overlaps any
        part of it: 11:00-13:30 takes hours 11, 12 and 13.
        """
        start_min = self.start.hour * 60 + self.start.minute
        end_min = self.end.hour * 60 + self.end.minute
        if self.crosses_midnight:
            end_min += 24 * 60
        first = start_min // 60
        last = -(-end_min // 60)  # ceiling: a partial last hour still counts
        hours = [
            (day * 24 + h) % HOURS_PER_WEEK for day in self.days for h in range(first, last)
        ]
        return np.unique(np.asarray(hours, dtype=np.int16))

    def day_ranges(self) -> list[tuple[int, int, int]]:
        """Return ``(day, start_minute, end_minute)`` spans, end exclusive.

        Spans crossing midnight are split, so each lies within one day; minutes
        count from that day's 00:00 local time.
        """
        start_min = self.start.hour * 60 + self.start.minute
        end_min = self.end.hour * 60 + self.end.minute
        spans: list[tuple[int, int, int]] = []
        for day in self.days:
            if self.crosses_midnight:
                spans.append((day, start_min, 24 * 60))
                if end_min:
                    spans.append(((day + 1) % 7, 0, end_min))
            else:
                spans.append((day, start_min, end_min))
        return spans

    def describe(self) -> str:
        """Return the window as ``Mo-Fr 11:00-13:30`` style text."""
        return f"{_days_text(self.days)} {self.start:%H:%M}-{self.end:%H:%M}"


def _days_text(days: Sequence[int]) -> str:
    names = [d.capitalize() for d in _DAY_CODES]
    ordered = sorted(set(days))
    if ordered == list(range(7)):
        return "Mo-Su"
    if ordered == list(range(5)):
        return "Mo-Fr"
    return ",".join(names[d] for d in ordered)


#: Named windows.  Lunch and dinner follow the delivery peaks; night covers
#: riders still out after dinner; early morning is when sanitation workers
#: start their shift and breakfast points open.
WINDOWS: dict[str, tuple[str, str]] = {
    "weekday-lunch": ("11:00-13:30", "Mo-Fr"),
    "weekday-dinner": ("17:00-20:00", "Mo-Fr"),
    "lunch": ("11:00-13:30", "Mo-Su"),
    "dinner": ("17:00-20:00", "Mo-Su"),
    "night": ("22:00-05:00", "Mo-Su"),
    "early-morning": ("05:00-08:00", "Mo-Su"),
    "all": ("00:00-24:00", "Mo-Su"),
}


def _parse_days(text: str) -> tuple[int, ...]:
    folded = text.strip().casefold()
    if folded in ("weekday", "weekdays", "工作日"):
        return (0, 1, 2, 3, 4)
    if folded in ("weekend", "weekends", "周末"):
        return (5, 6)
    if folded in ("daily", "all", "every day", "每天"):
        return tuple(range(7))
    days: set[int] = set()
    for part in folded.replace(" ", "").split(","):
        if not part:
            continue
        first, sep, last = part.partition("-")
        if first not in _DAY_CODES or (sep and last not in _DAY_CODES):
            raise InvalidInput(
                f"window days {text!r}: expected day codes like Mo-Fr, Sa,Su, weekday or weekend",
                field="window",
            )
        a = _DAY_CODES.index(first)
        b = _DAY_CODES.index(last) if sep else a
        span = range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)]
        days.update(span)
    if not days:
        raise InvalidInput("window has no days; expected e.g. Mo-Fr", field="window")
    return tuple(sorted(days))


def _parse_clock(text: str, *, end: bool) -> dtime:
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text)
    if not match:
        raise InvalidInput(f"window time {text!r}: expected HH:MM", field="window")
    hour, minute = int(match[1]), int(match[2])
    if end and hour == 24 and minute == 0:
        return dtime(0, 0)
    if hour > 23 or minute > 59:
        raise InvalidInput(f"window time {text!r} is not a time of day", field="window")
    return dtime(hour, minute)


def parse_window(text: str) -> TimeWindow:
    """Parse a named window or ``HH:MM-HH:MM[,days]`` into a :class:`TimeWindow`.

    Parameters
    ----------
    text : str
        ``weekday-lunch``, ``weekday-dinner``, ``lunch``, ``dinner``,
        ``night``, ``early-morning``, ``all``, or e.g. ``11:00-13:30``,
        ``11:00-13:30,Mo-Fr``, ``22:00-05:00,Sa,Su``.  Times are local
        (Asia/Shanghai); without days the window applies every day.

    Raises
    ------
    InvalidInput
        The text is neither a known name nor a valid time range.
    """
    raw = (text or "").strip()
    if raw.casefold() in WINDOWS:
        span, days_text = WINDOWS[raw.casefold()]
        name = raw.casefold()
    else:
        span, _, days_text = raw.partition(",")
        days_text = days_text or "Mo-Su"
        name = raw
        if "-" not in span:
            raise InvalidInput(
                f"window {text!r}: expected one of {', '.join(WINDOWS)} or HH:MM-HH:MM[,days]",
                field="window",
            )
    start_text, _, end_text = span.partition("-")
    start = _parse_clock(start_text, end=False)
    end = _parse_clock(end_text, end=True)
    if start == end and end_text.strip() != "24:00":
        raise InvalidInput(f"window {text!r} is empty: start equals end", field="window")
    return TimeWindow(name=name, days=_parse_days(days_text), start=start, end=end)


# --------------------------------------------------------------------------- #
# Column mapping
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class PointColumns:
    """Columns that give one point per row: longitude, latitude and time.

    ``time`` may be None for an extra point set, in which case the main time
    column is used.
    """

    lon: str
    lat: str
    time: str | None = None


@dataclass(frozen=True)
class ColumnPlan:
    """Which file columns feed which fields."""

    points: tuple[PointColumns, ...]
    rider: str | None
    weight: str | None

    @property
    def needed(self) -> list[str]:
        """Return the file columns to read, each once, in a stable order."""
        names: list[str] = []
        for pc in self.points:
            names.extend(n for n in (pc.lon, pc.lat, pc.time) if n)
        names.extend(n for n in (self.rider, self.weight) if n)
        return list(dict.fromkeys(names))

    def describe(self) -> dict[str, str]:
        """Return ``{field: column}`` for the report (main point set only)."""
        main = self.points[0]
        out = {"lon": main.lon, "lat": main.lat, "time": main.time or ""}
        if self.rider:
            out["rider"] = self.rider
        if self.weight:
            out["weight"] = self.weight
        for number, pc in enumerate(self.points[1:], start=2):
            out[f"points#{number}"] = f"{pc.lon},{pc.lat},{pc.time or main.time}"
        return out


def plan_columns(
    headers: Sequence[str],
    *,
    mapping: Mapping[str, str] | None = None,
    extra_points: Sequence[PointColumns] = (),
) -> ColumnPlan:
    """Match file headers to the activity fields.

    Parameters
    ----------
    headers : sequence of str
        Column names as found in the file.
    mapping : mapping of str to str, optional
        ``{column: field}`` given by the user (``--map COLUMN=field``); it
        wins over the synonyms.
    extra_points : sequence of PointColumns
        Further positions per row that count as separate points.

    Raises
    ------
    InvalidInput
        A required field has no column, or a mapped/extra column is missing;
        the message lists the columns found and the names expected.
    """
    headers = [str(h) for h in headers]
    found = ", ".join(headers) if headers else "(none)"
    explicit = dict(mapping or {})
    chosen: dict[str, str] = {}
    for column, target in explicit.items():
        if target not in FIELDS:
            raise InvalidInput(
                f"--map {column}={target}: unknown field {target!r}; "
                f"fields are {', '.join(FIELDS)}",
                field=target,
            )
        if column not in headers:
            raise InvalidInput(
                f"--map {column}={target}: the file has no column {column!r}; its columns are: "
                f"{found}",
                field=target,
            )
        chosen[target] = column
    folded = {normalize_header(h): h for h in reversed(headers)}  # first header wins
    for target in FIELDS:
        if target in chosen:
            continue
        for name in (target, *SYNONYMS[target]):
            header = folded.get(normalize_header(name))
            if header is not None and header not in chosen.values():
                chosen[target] = header
                break
    missing = [f for f in REQUIRED_FIELDS if f not in chosen]
    if missing:
        expected = "; ".join(f"{f}: {', '.join((f, *SYNONYMS[f][:6]))}" for f in missing)
        raise InvalidInput(
            f"no column for {', '.join(missing)}. Columns found: {found}. Expected names "
            f"({expected}), or map a column with --map COLUMN={missing[0]}",
            field=missing[0],
        )
    for pc in extra_points:
        for column in (pc.lon, pc.lat, pc.time):
            if column and column not in headers:
                raise InvalidInput(
                    f"extra points: the file has no column {column!r}; its columns are: {found}",
                    field="extra_points",
                )
    main = PointColumns(chosen["lon"], chosen["lat"], chosen["time"])
    return ColumnPlan(points=(main, *extra_points), rider=chosen.get("rider"),
                      weight=chosen.get("weight"))


def parse_point_columns(text: str) -> PointColumns:
    """Parse ``LON,LAT[,TIME]`` column names (the ``--also-points`` option)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidInput(
            f"--also-points {text!r}: expected LONCOLUMN,LATCOLUMN[,TIMECOLUMN]",
            field="extra_points",
        )
    return PointColumns(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


# --------------------------------------------------------------------------- #
# Rider ids
# --------------------------------------------------------------------------- #


def _id_text(value: Any) -> str:
    """Normalise an id so 317, 317.0 and "317" hash the same in every format."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def hash_rider_ids(values: Sequence[Any] | pd.Series, *, salt: bytes) -> np.ndarray:
    """Replace rider ids with 64-bit keyed hashes (HMAC-SHA-256, truncated).

    Parameters
    ----------
    values : sequence
        Raw rider ids; blanks (None, NaN, empty text) give 0, "unknown".
    salt : bytes
        Secret key of at least :data:`MIN_SALT_BYTES` bytes.  The same salt
        gives the same hash, so counts merge across files of one deployment;
        without it the hashes cannot be linked back to ids.

    Returns
    -------
    numpy.ndarray of uint64
        One hash per value; 0 for blanks.
    """
    check_salt(salt)
    series = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    # Hash each distinct id once: riders are far fewer than pings.
    keyed = np.zeros(len(uniques) + 1, dtype=np.uint64)
    for position, value in enumerate(uniques):
        text = _id_text(value)
        if not text:
            continue
        digest = hmac.new(salt, text.encode("utf-8"), hashlib.sha256).digest()
        keyed[position] = int.from_bytes(digest[:8], "big") or 1
    return keyed[np.where(codes < 0, len(uniques), codes)]


def check_salt(salt: bytes) -> None:
    """Raise :class:`InvalidInput` unless ``salt`` is long enough to be secret."""
    if not isinstance(salt, bytes | bytearray) or len(salt) < MIN_SALT_BYTES:
        raise InvalidInput(
            f"the rider-id salt must be at least {MIN_SALT_BYTES} bytes of secret text; "
            "set YITU_RIDER_ID_SALT",
            field="salt",
        )


# --------------------------------------------------------------------------- #
# Times
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class TimeOptions:
    """How to read times that are incomplete.

    Attributes
    ----------
    year : int or None
        Year for ``MM-DD HH:MM:SS`` times; None refuses such times.
    time_only_weekday : int
        Weekday (0 = Monday) given to times with no date at all.
    """

    year: int | None = None
    time_only_weekday: int = 0

    def __post_init__(self) -> None:
        if self.year is not None and not 1970 <= self.year <= 2100:
            raise InvalidInput(f"year {self.year} is outside 1970..2100", field="year")
        if not 0 <= self.time_only_weekday <= 6:
            raise InvalidInput("weekday must be 0 (Monday) .. 6 (Sunday)", field="weekday")


def _hour_of_week(local: pd.Series) -> np.ndarray:
    """Return hour of week from naive local datetimes (NaT -> -1)."""
    how = local.dt.day_of_week * 24 + local.dt.hour
    return how.fillna(-1).to_numpy(dtype=np.int16)


def hours_of_week(values: pd.Series, *, options: TimeOptions, column: str = "time",
                  rows: np.ndarray | None = None, row_label: str = "row") -> np.ndarray:
    """Convert a column of times to hours of week in Asia/Shanghai local time.

    Parameters
    ----------
    values : pandas.Series
        Times as text, numbers or datetimes (see the module docstring).
    options : TimeOptions
        Year for year-less dates; weekday for date-less times.
    column, rows, row_label
        Used to name the offending cell in error messages.

    Returns
    -------
    numpy.ndarray of int16
        Hour of week 0..167, or -1 where the value is blank.

    Raises
    ------
    InvalidInput
        A non-blank value is not a recognised time, or times carry no year
        and ``options.year`` is None.
    """
    blank = values.isna()
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        text = values.astype("string").str.strip()
        blank = blank | (text == "").fillna(True)
        out = _hours_from_text(text, blank.to_numpy(), options, column)
    elif pd.api.types.is_numeric_dtype(values.dtype):
        seconds = values.astype("float64")
        seconds = seconds.where(seconds < 1e11, seconds / 1000.0)
        utc = pd.to_datetime(seconds, unit="s", errors="coerce")
        out = _hour_of_week(utc + SHANGHAI_OFFSET)
    else:
        out = _hour_of_week(_to_local(pd.to_datetime(values, errors="coerce")))
    bad = (out < 0) & ~blank.to_numpy()
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        where = f"{row_label} {rows[position]}" if rows is not None else f"value #{position + 1}"
        raise InvalidInput(
            f"{where}, column {column!r}: {values.iloc[position]!r} is not a time; expected "
            f"{_EXPECTED_TIMES}",
            field="time",
        )
    return out


def _to_local(parsed: pd.Series) -> pd.Series:
    """Convert aware datetimes to naive Asia/Shanghai local time."""
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        return parsed.dt.tz_convert("UTC").dt.tz_localize(None) + SHANGHAI_OFFSET
    return parsed


def _hours_from_text(text: pd.Series, blank: np.ndarray, options: TimeOptions,
                     column: str) -> np.ndarray:
    sample = text[~blank].head(50)
    out = np.full(len(text), -1, dtype=np.int16)
    if sample.empty:
        return out
    if sample.str.match(_RE_MONTH_DAY).all():
        if options.year is None:
            raise InvalidInput(
                f"column {column!r}: times such as {sample.iloc[0]!r} carry no year; pass --year "
                "(e.g. --year 2022) so that weekdays can be worked out",
                field="year",
            )
        parts = text.str.extract(_RE_MONTH_DAY).astype("float64")
        stamp = pd.to_datetime(
            pd.DataFrame({"year": options.year, "month": parts[0], "day": parts[1],
                          "hour": parts[2], "minute": parts[3]}),
            errors="coerce",
        )
        hour_ok = (parts[2] < 24) & (parts[3] < 60) & (parts[4].fillna(0) < 60)
        return _hour_of_week(stamp.where(hour_ok))
    if sample.str.match(_RE_TIME_ONLY).all():
        parts = text.str.extract(_RE_TIME_ONLY).astype("float64")
        hour = parts[0].where((parts[0] < 24) & (parts[1] < 60) & (parts[2].fillna(0) < 60))
        how = options.time_only_weekday * 24 + hour
        return how.fillna(-1).to_numpy(dtype=np.int16)
    utc = bool(sample.str.contains(_RE_OFFSET).any())
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=utc)
    missing = parsed.isna().to_numpy() & ~blank
    for fmt in _FALLBACK_FORMATS:
        if not missing.any():
            break
        retry = pd.to_datetime(text[missing], format=fmt, errors="coerce")
        if utc:
            retry = retry.dt.tz_localize("Asia/Shanghai")
        parsed[missing] = retry
        missing = parsed.isna().to_numpy() & ~blank
    return _hour_of_week(_to_local(parsed))


# --------------------------------------------------------------------------- #
# Reading files in chunks
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class RawChunk:
    """A slice of an input file: the needed columns plus human row numbers."""

    frame: pd.DataFrame
    rows: np.ndarray  # what a person sees: CSV line / Excel row / Parquet record
    done: int  # progress so far, in the unit of ``ActivitySource.total``


@dataclass
class ActivitySource:
    """An opened activity file: its kind, headers and a chunk iterator factory.

    Attributes
    ----------
    path : Path
    kind : str
        ``csv``, ``xlsx`` or ``parquet``.
    headers : list of str
        Column names in file order.
    row_label : str
        ``line`` (CSV), ``row`` (XLSX) or ``record`` (Parquet), for messages.
    total : int
        Progress total: bytes for CSV, rows for XLSX and Parquet.
    file_crs : str or None
        CRS declared by GeoParquet metadata (``EPSG:4326`` style), if any.
    geometry_column : str or None
        GeoParquet primary geometry column, read as point lon/lat.
    """

    path: Path
    kind: str
    headers: list[str]
    row_label: str
    total: int
    file_crs: str | None = None
    geometry_column: str | None = None
    encoding: str = "utf-8"

    def chunks(self, columns: Sequence[str], *, chunk_rows: int = DEFAULT_CHUNK_ROWS,
               text_columns: Sequence[str] = ()) -> Iterator[RawChunk]:
        """Yield the given columns in chunks of at most ``chunk_rows`` rows."""
        if self.kind == "csv":
            yield from _csv_chunks(self, columns, chunk_rows, text_columns)
        elif self.kind == "xlsx":
            yield from _xlsx_chunks(self, columns, chunk_rows)
        else:
            yield from _parquet_chunks(self, columns, chunk_rows)


# Synthetic column names for GeoParquet point geometry.
GEOMETRY_LON = "__geometry_lon__"
GEOMETRY_LAT = "__geometry_lat__"


def open_activity(path: str | Path) -> ActivitySource:
    """Open an activity file and read its header.

    Parameters
    ----------
    path : str or Path
        ``.csv`` (UTF-8 or GB18030, optionally ``.csv.gz``), ``.xlsx`` or
        ``.parquet``/``.geoparquet``.

    Raises
    ------
    LedgerError
        Missing, empty, unknown type, not readable, or an XLSX that inflates
        like an XML bomb.
    """
    path = Path(path)
    if not path.is_file():
        raise LedgerError(f"{path}: no such file")
    suffix = path.suffix.lower()
    kind = _FILE_KINDS.get(suffix)
    if kind is None:
        raise LedgerError(
            f"{path.name}: unknown file type {suffix or '(none)'}; expected .csv, .xlsx or .parquet"
        )
    if path.stat().st_size == 0:
        raise LedgerError(f"{path.name} is empty; expected a header row and data rows")
    if kind == "csv":
        return _open_csv(path)
    if kind == "xlsx":
        return _open_xlsx(path)
    return _open_parquet(path)


def _sniff_encoding(path: Path) -> str:
    import gzip

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as handle:
        head = handle.read(1 << 16)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)  # a character cut at the end is fine
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "gb18030"  # what Excel on Chinese Windows writes (superset of GBK)


def _open_csv(path: Path) -> ActivitySource:
    encoding = _sniff_encoding(path)
    try:
        header = pd.read_csv(path, nrows=0, encoding=encoding, sep=None, engine="python")
    except pd.errors.EmptyDataError:
        raise LedgerError(f"{path.name} is empty; expected a header row and data rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise LedgerError(f"{path.name}: not a readable CSV file ({type(exc).__name__})") from None
    headers = [str(c).strip() for c in header.columns]
    if not headers or all(h.startswith("Unnamed") for h in headers):
        raise LedgerError(f"{path.name} has no header row; expected lon, lat and time columns")
    return ActivitySource(path=path, kind="csv", headers=headers, row_label="line",
                          total=path.stat().st_size, encoding=encoding)


def _csv_chunks(source: ActivitySource, columns: Sequence[str], chunk_rows: int,
                text_columns: Sequence[str]) -> Iterator[RawChunk]:
    import gzip

    opener = gzip.open if source.path.suffix.lower() == ".gz" else open
    dtypes = {c: "string" for c in text_columns}
    with opener(source.path, "rb") as raw:
        reader = pd.read_csv(
            raw, usecols=lambda c: str(c).strip() in set(columns), chunksize=chunk_rows,
            encoding=source.encoding, dtype=dtypes, skipinitialspace=True, sep=None,
            engine="python",
        ) if _needs_sniff(source) else pd.read_csv(
            raw, usecols=lambda c: str(c).strip() in set(columns), chunksize=chunk_rows,
            encoding=source.encoding, dtype=dtypes, skipinitialspace=True, low_memory=False,
        )
        first_line = 2  # the header is line 1
        with reader:
            for frame in reader:
                frame.columns = [str(c).strip() for c in frame.columns]
                rows = np.arange(first_line, first_line + len(frame))
                first_line += len(frame)
                position = raw.fileobj.tell() if hasattr(raw, "fileobj") else raw.tell()
                yield RawChunk(frame, rows, int(position))


def _needs_sniff(source: ActivitySource) -> bool:
    """Use the slow sniffing parser only when the file is not comma-separated."""
    with open(source.path, "rb") as handle:
        head = handle.read(4096)
    if source.path.suffix.lower() == ".gz":
        return False
    first = head.split(b"\n", 1)[0]
    return b"," not in first and (b";" in first or b"\t" in first or b"|" in first)


def _open_xlsx(path: Path) -> ActivitySource:
    import defusedxml  # noqa: F401  (openpyxl parses with defusedxml when importable)
    from openpyxl import load_workbook

    # Activity workbooks are legitimately bigger than ledgers; the ratio check
    # is what stops an XML bomb.
    check_zip_inflation(path, LedgerLimits(max_xlsx_inflated_bytes=4 * 1024**3))
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        total = int(sheet.max_row or 0)
        header = next(sheet.iter_rows(values_only=True, max_row=1), None)
    finally:
        workbook.close()
    headers = [str(v).strip() for v in header or () if v is not None and str(v).strip()]
    if not headers:
        raise LedgerError(f"{path.name}: the first sheet is empty; expected a header row")
    return ActivitySource(path=path, kind="xlsx", headers=headers, row_label="row", total=total)


def _xlsx_chunks(source: ActivitySource, columns: Sequence[str],
                 chunk_rows: int) -> Iterator[RawChunk]:
    from openpyxl import load_workbook

    workbook = load_workbook(source.path, read_only=True, data_only=True)
    try:
        values = workbook.worksheets[0].iter_rows(values_only=True)
        header = [str(v).strip() if v is not None else "" for v in next(values)]
        positions = [header.index(c) for c in columns]
        batch: list[tuple[Any, ...]] = []
        numbers: list[int] = []
        for number, row in enumerate(values, start=2):
            if not any(v is not None and str(v).strip() for v in row):
                continue
            batch.append(tuple(row[p] if p < len(row) else None for p in positions))
            numbers.append(number)
            if len(batch) >= chunk_rows:
                yield RawChunk(pd.DataFrame(batch, columns=list(columns), dtype=object),
                               np.asarray(numbers), number)
                batch, numbers = [], []
        if batch:
            yield RawChunk(pd.DataFrame(batch, columns=list(columns), dtype=object),
                           np.asarray(numbers), source.total)
    finally:
        workbook.close()


def _open_parquet(path: Path) -> ActivitySource:
    import json

    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several unrelated types for junk
        raise LedgerError(
            f"{path.name}: not a readable Parquet file ({type(exc).__name__})") from None
    headers = list(meta.schema_arrow.names)
    file_crs = geometry = None
    geo_meta = (meta.schema_arrow.metadata or {}).get(b"geo")
    if geo_meta:
        info = json.loads(geo_meta)
        geometry = info.get("primary_column")
        column = info.get("columns", {}).get(geometry, {})
        crs = column.get("crs", "OGC:CRS84")  # GeoParquet: absent means CRS84
        file_crs = _crs_text(crs)
        headers = [h for h in headers if h != geometry] + [GEOMETRY_LON, GEOMETRY_LAT]
    return ActivitySource(path=path, kind="parquet", headers=headers, row_label="record",
                          total=int(meta.metadata.num_rows), file_crs=file_crs,
                          geometry_column=geometry)


def _crs_text(crs: Any) -> str | None:
    """Turn GeoParquet PROJJSON (or None) into an authority string."""
    if crs is None:
        return None
    from pyproj import CRS

    found = CRS.from_user_input(crs)
    authority = found.to_authority()
    text = ":".join(authority) if authority else found.to_string()
    return "EPSG:4326" if text in ("OGC:CRS84", "EPSG:4326") else text


def _parquet_chunks(source: ActivitySource, columns: Sequence[str],
                    chunk_rows: int) -> Iterator[RawChunk]:
    import pyarrow.parquet as pq

    wanted = [c for c in columns if c not in (GEOMETRY_LON, GEOMETRY_LAT)]
    use_geometry = GEOMETRY_LON in columns or GEOMETRY_LAT in columns
    if use_geometry and source.geometry_column:
        wanted.append(source.geometry_column)
    done = 0
    with pq.ParquetFile(source.path) as handle:
        for batch in handle.iter_batches(batch_size=chunk_rows, columns=wanted):
            frame = batch.to_pandas()
            if use_geometry and source.geometry_column:
                geoms = shapely.from_wkb(frame.pop(source.geometry_column).to_numpy())
                kinds = shapely.get_type_id(geoms)
                if np.any((kinds != 0) & (kinds != -1)):
                    raise InvalidInput(
                        f"{source.path.name}: geometry column {source.geometry_column!r} holds "
                        "non-point geometries; activity must be points",
                        field="geometry",
                    )
                frame[GEOMETRY_LON] = shapely.get_x(geoms)
                frame[GEOMETRY_LAT] = shapely.get_y(geoms)
            rows = np.arange(done + 1, done + len(frame) + 1)
            done += len(frame)
            yield RawChunk(frame, rows, done)


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
            hour_of_week=(np.concatenate([c.hour_of_week for c in chunks]) if chunks
                          else np.empty(0, np.int16)),
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
            "source": self.source, "kind": self.kind, "crs": self.crs, "columns": self.columns,
            "rows_read": self.rows_read, "points": self.points, "weight": self.weight,
            "skipped": self.skipped, "examples": {k: v for k, v in self.examples.items()},
            "row_label": self.row_label, "has_riders": self.has_riders, "notes": self.notes,
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
        return shapely.intersects_xy(self.geometry, lon, lat)


def _numbers(values: pd.Series, *, column: str, rows: np.ndarray, row_label: str,
             field_name: str) -> np.ndarray:
    """Parse a numeric column: blanks give NaN, anything else non-numeric fails."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype="float64", na_value=np.nan)
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
    return number.to_numpy(dtype="float64", na_value=np.nan)


@dataclass(frozen=True)
class ReadOptions:
    """Everything :func:`parse_chunk` needs besides the data.

    Attributes
    ----------
    crs : str
        CRS of the coordinates (``wgs84``, ``gcj02``, ``bd09`` or an EPSG
        code); converted to WGS-84 with :func:`geo.crs.to_wgs84_arrays`.
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


def parse_chunk(raw: RawChunk, *, plan: ColumnPlan, options: ReadOptions,
                row_label: str = "row", report: ActivityReport | None = None) -> PointChunk:
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
    rider_all = (hash_rider_ids(frame[plan.rider], salt=options.salt)
                 if plan.rider is not None else None)
    if plan.weight is not None:
        weight_all = _numbers(frame[plan.weight], column=plan.weight, rows=rows,
                              row_label=row_label, field_name="weight")
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
        lon = _numbers(frame[pc.lon], column=pc.lon, rows=rows, row_label=row_label,
                       field_name="lon")
        lat = _numbers(frame[pc.lat], column=pc.lat, rows=rows, row_label=row_label,
                       field_name="lat")
        time_column = pc.time or main_time
        assert time_column is not None  # the main point set always has a time
        how = hours_of_week(frame[time_column], options=options.times, column=time_column,
                            rows=rows, row_label=row_label)
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
        parts.append(PointChunk(
            lon=lon[inside], lat=lat[inside], hour_of_week=how[inside],
            weight=weight_all[keep][inside],
            rider=None if rider_all is None else rider_all[keep][inside],
        ))
    chunk = PointChunk.concat(parts)
    report.points += len(chunk)
    report.weight += float(chunk.weight.sum())
    report.has_riders = report.has_riders or chunk.rider is not None
    return chunk


def points_to_wgs84(lon: np.ndarray, lat: np.ndarray, *,
                    crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert points to WGS-84 from a Chinese datum or an EPSG CRS.

    Parameters
    ----------
    lon, lat : numpy.ndarray
        Coordinates in ``crs`` (degrees, or the CRS's units for EPSG codes).
    crs : str
        ``wgs84``, ``gcj02``, ``bd09`` (via :func:`geo.crs.to_wgs84_arrays`)
        or anything pyproj reads (``EPSG:4326``, ``EPSG:32650``, ...).

    Returns
    -------
    tuple of numpy.ndarray
        WGS-84 lon, lat in degrees.
    """
    text = str(crs).strip()
    if text.lower() in SOURCE_CRSES:
        return to_wgs84_arrays(lon, lat, crs=text.lower())
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        source = CRS.from_user_input(text)
    except CRSError:
        raise InvalidInput(
            f"crs {crs!r} is not known; expected wgs84, gcj02, bd09 or an EPSG code",
            field="crs") from None
    if source.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    transformer = Transformer.from_crs(source, 4326, always_xy=True)
    out_lon, out_lat = transformer.transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(out_lon), np.asarray(out_lat)


def _check_ranges(lon: np.ndarray, lat: np.ndarray, rows: np.ndarray, row_label: str,
                  pc: PointColumns) -> None:
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


def read_activity(
    path: str | Path,
    *,
    crs: str | None,
    salt: bytes,
    mapping: Mapping[str, str] | None = None,
    extra_points: Sequence[PointColumns] = (),
    times: TimeOptions | None = None,
    area: Area | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    report: ActivityReport | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[PointChunk]:
    """Stream an activity file as parsed point chunks.

    Parameters
    ----------
    path : str or Path
        CSV, XLSX or (Geo)Parquet file.
    crs : str or None
        Source CRS of the coordinates: ``wgs84``, ``gcj02``, ``bd09`` or an
        EPSG code.  None is allowed only for GeoParquet with a declared CRS.
    salt : bytes
        Secret for rider-id hashing (see :func:`hash_rider_ids`).
    mapping : mapping, optional
        ``{column: field}`` overrides (``--map``).
    extra_points : sequence of PointColumns
        Further positions per row counted as separate points.
    times : TimeOptions, optional
        Year for year-less dates, weekday for date-less times.
    area : Area, optional
        Where points may lie; the China extent by default.
    chunk_rows : int
        Rows per chunk; bounds the memory of one step.
    report : ActivityReport, optional
        Filled with counts as the file is read.
    progress : callable, optional
        Called as ``progress(done, total)`` after each chunk.

    Yields
    ------
    PointChunk
        WGS-84 points with hour of week, weight and hashed rider.

    Raises
    ------
    LedgerError
        The file cannot be read or is empty.
    InvalidInput
        Unknown columns, bad values (naming row and column), missing year,
        or every point outside the area.
    """
    check_salt(salt)
    source = open_activity(path)
    report = report if report is not None else ActivityReport(source=Path(path).name)
    report.kind, report.row_label = source.kind, source.row_label
    if source.geometry_column and not (mapping and {"lon", "lat"} & set(mapping.values())):
        mapping = {**(mapping or {}), GEOMETRY_LON: "lon", GEOMETRY_LAT: "lat"}
    plan = plan_columns(source.headers, mapping=mapping, extra_points=extra_points)
    chosen_crs = crs or source.file_crs
    if not chosen_crs:
        raise InvalidInput(
            "say which coordinate system the points are in (--crs wgs84|gcj02|bd09); "
            "Chinese apps and ledgers usually use gcj02",
            field="crs",
        )
    report.crs, report.columns = chosen_crs, plan.describe()
    options = ReadOptions(crs=chosen_crs, salt=salt, times=times or TimeOptions(),
                          area=area or Area())
    text_columns = [c for c in (plan.rider, *(p.time for p in plan.points)) if c]
    any_rows = False
    for raw in source.chunks(plan.needed, chunk_rows=chunk_rows, text_columns=text_columns):
        any_rows = any_rows or len(raw.frame) > 0
        chunk = parse_chunk(raw, plan=plan, options=options, row_label=source.row_label,
                            report=report)
        if progress is not None:
            progress(raw.done, source.total)
        if len(chunk):
            yield chunk
    if not any_rows:
        raise LedgerError(f"{Path(path).name} has a header but no data rows")
    check_not_all_outside(report, options.area)


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


# --------------------------------------------------------------------------- #
# Shanghai 2016 orders (several files joined by ids)
# --------------------------------------------------------------------------- #

#: Working day of the 2016 Cainiao last-mile competition: parcels go out from
#: depots at 08:00 and must be delivered by 20:00.  Parcel orders carry no
#: time, so they are spread over these hours (see :func:`read_shanghai_orders`).
PARCEL_HOURS: tuple[int, int] = (8, 20)

SHANGHAI_FILES = ("new_1.csv", "new_2.csv", "new_3.csv", "new_4.csv", "new_5.csv")


def read_shanghai_orders(
    folder: str | Path,
    *,
    crs: str = "gcj02",
    times: TimeOptions | None = None,
    area: Area | None = None,
    include_parcels: bool = True,
    report: ActivityReport | None = None,
) -> PointChunk:
    """Read the Shanghai 2016 order files as weighted activity points.

    Takeaway orders (``new_5.csv``) give two points each: the pickup at the
    shop (``new_3.csv``) at ``Pickup_time`` and the drop-off at the delivery
    spot (``new_2.csv``) at ``Delivery_time``, both weighted by ``Num``.
    Parcel orders (``new_4.csv``) give one point at the delivery spot
    weighted by ``Num``; they carry no time, so each order is given an hour
    in 08:00-19:59 (:data:`PARCEL_HOURS`) by its id, spreading them evenly and
    reproducibly over the competition's working day.  The files have no
    dates, so all points fall on ``times.time_only_weekday`` (Monday by
    default), and no rider ids, so ``riders`` stays unknown.

    Parameters
    ----------
    folder : str or Path
        Folder with ``new_1.csv`` .. ``new_5.csv``.
    crs : str
        Coordinate system of the files; GCJ-02 is the likely one (undocumented
        by the source), so it is the default and reported.
    times, area, report
        As for :func:`read_activity`.
    include_parcels : bool
        Whether parcel deliveries count as rider activity.

    Raises
    ------
    LedgerError
        A file is missing or lacks its columns.
    InvalidInput
        Orders refer to unknown shop or spot ids.
    """
    folder = Path(folder)
    times = times or TimeOptions()
    area = area or Area()
    report = report if report is not None else ActivityReport(source=folder.name)
    report.kind, report.row_label, report.crs = "shanghai-orders", "line", crs
    frames = {}
    expected = {
        "new_2.csv": ("Spot_id", "Lng", "Lat"), "new_3.csv": ("Shop_id", "Lng", "Lat"),
        "new_4.csv": ("Order_id", "Spot_id", "Site_id", "Num"),
        "new_5.csv": ("Order_id", "Spot_id", "Shop_id", "Pickup_time", "Delivery_time", "Num"),
    }
    for name, columns in expected.items():
        path = folder / name
        if not path.is_file():
            raise LedgerError(
                f"{folder}: missing {name}; expected the files {', '.join(SHANGHAI_FILES)}")
        frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
        frame.columns = [c.strip() for c in frame.columns]
        lacking = [c for c in columns if c not in frame.columns]
        if lacking:
            raise LedgerError(
                f"{name}: no column {', '.join(lacking)}; found {', '.join(frame.columns)}")
        frames[name] = frame
    spots = frames["new_2.csv"].set_index("Spot_id")
    shops = frames["new_3.csv"].set_index("Shop_id")
    takeaway, parcels = frames["new_5.csv"], frames["new_4.csv"]
    report.rows_read = len(takeaway) + (len(parcels) if include_parcels else 0)
    report.columns = {"pickups": "new_5.Shop_id -> new_3 Lng/Lat @ Pickup_time",
                      "drop-offs": "new_5.Spot_id -> new_2 Lng/Lat @ Delivery_time",
                      "weight": "Num"}
    lines = np.arange(2, len(takeaway) + 2)

    def lookup(table: pd.DataFrame, ids: pd.Series, what: str, file: str) -> tuple[np.ndarray, ...]:
        found = ids.isin(table.index).to_numpy()
        if not found.all():
            position = int(np.flatnonzero(~found)[0])
            raise InvalidInput(
                f"{file} line {position + 2}: {what} {ids.iloc[position]!r} is not in the "
                f"{what} file", field=what)
        rows = table.loc[ids]
        return (pd.to_numeric(rows["Lng"]).to_numpy(float),
                pd.to_numeric(rows["Lat"]).to_numpy(float))

    weights = pd.to_numeric(takeaway["Num"], errors="raise").to_numpy(float)
    shop_lon, shop_lat = lookup(shops, takeaway["Shop_id"], "Shop_id", "new_5.csv")
    spot_lon, spot_lat = lookup(spots, takeaway["Spot_id"], "Spot_id", "new_5.csv")
    pick_how = hours_of_week(takeaway["Pickup_time"], options=times, column="Pickup_time",
                             rows=lines, row_label="new_5.csv line")
    drop_how = hours_of_week(takeaway["Delivery_time"], options=times, column="Delivery_time",
                             rows=lines, row_label="new_5.csv line")
    parts = [("new_5.csv pickups", shop_lon, shop_lat, pick_how, weights, lines),
             ("new_5.csv drop-offs", spot_lon, spot_lat, drop_how, weights, lines)]
    if include_parcels:
        p_lon, p_lat = lookup(spots, parcels["Spot_id"], "Spot_id", "new_4.csv")
        first, last = PARCEL_HOURS
        # A stable hash of the order id, not Python's randomised hash(), so a
        # re-import gives identical aggregates.
        spread = np.array([int(hashlib.sha256(o.encode()).hexdigest()[:8], 16) % (last - first)
                           for o in parcels["Order_id"]], dtype=np.int16)
        parts.append(("new_4.csv parcels", p_lon, p_lat,
                      (times.time_only_weekday * 24 + first + spread).astype(np.int16),
                      pd.to_numeric(parcels["Num"], errors="raise").to_numpy(float),
                      np.arange(2, len(parcels) + 2)))
        report.notes.append(
            f"parcel orders have no time; spread over {first:02d}:00-{last:02d}:00 by order id")
    day_names = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    report.notes.append(
        f"no dates in the files: all points placed on {day_names[times.time_only_weekday]}")
    report.notes.append(f"coordinates read as {crs} (the source does not say; GCJ-02 is likely)")
    kept = []
    for label, lon, lat, how, weight, numbers in parts:
        lon, lat = points_to_wgs84(lon, lat, crs=crs)
        inside = area.contains(lon, lat)
        report.skip(f"{label} outside {area.name}", numbers[~inside])
        kept.append(PointChunk(lon=lon[inside], lat=lat[inside], hour_of_week=how[inside],
                               weight=weight[inside], rider=None))
    chunk = PointChunk.concat(kept)
    report.points += len(chunk)
    report.weight += float(chunk.weight.sum())
    check_not_all_outside(report, area)
    return chunk


# --------------------------------------------------------------------------- #
# Aggregation to H3 cells by hour of week
# --------------------------------------------------------------------------- #


def latlng_to_cells(lon: np.ndarray, lat: np.ndarray, *, resolution: int) -> np.ndarray:
    """Return the H3 cell (as int64) of each WGS-84 point.

    Parameters
    ----------
    lon, lat : numpy.ndarray
        WGS-84 degrees.
    resolution : int
        H3 resolution 0..15.
    """
    check_resolution(resolution)
    # h3-py 4 has no vectorised call; a comprehension costs about 0.7 us a
    # point, cheaper than pulling in another H3 binding.
    return np.fromiter(
        (h3i.latlng_to_cell(y, x, resolution) for x, y in zip(lon.tolist(), lat.tolist(),
                                                             strict=True)),
        dtype=np.int64, count=len(lon),
    )


def check_resolution(resolution: int) -> None:
    """Raise :class:`InvalidInput` unless ``resolution`` is an H3 resolution."""
    if isinstance(resolution, bool) or not isinstance(resolution, int | np.integer) or not (
        0 <= int(resolution) <= 15
    ):
        raise InvalidInput(f"H3 resolution {resolution!r} must be an integer 0..15",
                           field="resolution")


def cell_centroids(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return WGS-84 lon, lat of the centres of H3 cells given as int64."""
    pairs = [h3i.cell_to_latlng(int(c)) for c in np.asarray(cells, dtype=np.int64)]
    lat = np.fromiter((p[0] for p in pairs), dtype=float, count=len(pairs))
    lon = np.fromiter((p[1] for p in pairs), dtype=float, count=len(pairs))
    return lon, lat


def cell_text(cells: np.ndarray) -> list[str]:
    """Return the usual hexadecimal H3 text of int64 cells."""
    return [h3i.int_to_str(int(c)) for c in np.asarray(cells, dtype=np.int64)]


@dataclass
class Partial:
    """Partial aggregates that can be merged: sums plus distinct triples.

    ``sums`` has columns cell, hour_of_week, points, weight; ``triples`` holds
    distinct (cell, hour_of_week, rider) rows, rider being the keyed hash.
    """

    sums: pd.DataFrame
    triples: pd.DataFrame | None

    @staticmethod
    def empty(*, has_riders: bool) -> Partial:
        """Return an empty partial."""
        sums = pd.DataFrame({"cell": pd.Series(dtype=np.int64),
                             "hour_of_week": pd.Series(dtype=np.int16),
                             "points": pd.Series(dtype=np.int64),
                             "weight": pd.Series(dtype=np.float64)})
        triples = (pd.DataFrame({"cell": pd.Series(dtype=np.int64),
                                 "hour_of_week": pd.Series(dtype=np.int16),
                                 "rider": pd.Series(dtype=np.uint64)}) if has_riders else None)
        return Partial(sums, triples)


def partial_aggregate(chunk: PointChunk, *, resolution: int = DEFAULT_RESOLUTION) -> Partial:
    """Aggregate one chunk of points to (cell, hour) sums and rider triples.

    This is the function applied to each chunk of a file and to each
    partition on Dask; :func:`combine_partials` merges the results.
    """
    cells = latlng_to_cells(chunk.lon, chunk.lat, resolution=resolution)
    frame = pd.DataFrame({"cell": cells, "hour_of_week": chunk.hour_of_week.astype(np.int16),
                          "weight": chunk.weight.astype(np.float64)})
    sums = (frame.groupby(["cell", "hour_of_week"], sort=False)
            .agg(points=("weight", "size"), weight=("weight", "sum")).reset_index())
    sums["points"] = sums["points"].astype(np.int64)
    triples = None
    if chunk.rider is not None:
        frame["rider"] = chunk.rider
        known = frame[frame["rider"] != 0]
        triples = known[["cell", "hour_of_week", "rider"]].drop_duplicates(ignore_index=True)
    return Partial(sums, triples)


def combine_partials(partials: Iterable[Partial]) -> Partial:
    """Merge partial aggregates (sums add up, triples are de-duplicated)."""
    parts = list(partials)
    if not parts:
        return Partial.empty(has_riders=False)
    sums = (pd.concat([p.sums for p in parts], ignore_index=True)
            .groupby(["cell", "hour_of_week"], sort=False)[["points", "weight"]].sum()
            .reset_index())
    triples_list = [p.triples for p in parts if p.triples is not None]
    triples = (pd.concat(triples_list, ignore_index=True).drop_duplicates(ignore_index=True)
               if triples_list else None)
    return Partial(sums, triples)


def finalize(partial: Partial) -> pd.DataFrame:
    """Turn a partial into the cell table stored in the database.

    Returns
    -------
    pandas.DataFrame
        Columns ``cell`` (int64 H3), ``hour_of_week`` (int16), ``points``
        (int64), ``weight`` (float64), ``riders`` (nullable Int64: distinct
        hashed riders in that cell-hour, missing without rider ids), sorted
        by cell then hour.
    """
    out = partial.sums.copy()
    if partial.triples is not None:
        riders = partial.triples.groupby(["cell", "hour_of_week"]).size().rename("riders")
        out = out.merge(riders.reset_index(), on=["cell", "hour_of_week"], how="left")
        out["riders"] = out["riders"].fillna(0).astype("Int64")
    else:
        out["riders"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["hour_of_week"] = out["hour_of_week"].astype(np.int16)
    return out.sort_values(["cell", "hour_of_week"], ignore_index=True)


class Aggregator:
    """Accumulate point chunks into cell-hour aggregates with bounded memory.

    Parameters
    ----------
    resolution : int
        H3 resolution (default 9).
    compact_rows : int
        Merge buffered partials when they hold more rows than this.
    """

    def __init__(self, *, resolution: int = DEFAULT_RESOLUTION,
                 compact_rows: int = 2_000_000) -> None:
        check_resolution(resolution)
        self.resolution = resolution
        self.compact_rows = compact_rows
        self._parts: list[Partial] = []
        self._rows = 0

    def add(self, chunk: PointChunk) -> None:
        """Aggregate one chunk and keep the partial result."""
        if not len(chunk):
            return
        part = partial_aggregate(chunk, resolution=self.resolution)
        self._parts.append(part)
        self._rows += len(part.sums) + (0 if part.triples is None else len(part.triples))
        if self._rows > self.compact_rows:
            merged = combine_partials(self._parts)
            self._parts = [merged]
            self._rows = len(merged.sums) + (0 if merged.triples is None else len(merged.triples))

    def result(self) -> pd.DataFrame:
        """Return the final cell table (see :func:`finalize`)."""
        return finalize(combine_partials(self._parts))


def aggregate_points(chunks: Iterable[PointChunk], *,
                     resolution: int = DEFAULT_RESOLUTION) -> pd.DataFrame:
    """Aggregate point chunks to H3 cells by hour of week.

    Parameters
    ----------
    chunks : iterable of PointChunk
        WGS-84 points with hours of week.
    resolution : int
        H3 resolution (default 9, cells of about 0.1 km²).

    Returns
    -------
    pandas.DataFrame
        See :func:`finalize`.
    """
    aggregator = Aggregator(resolution=resolution)
    for chunk in chunks:
        aggregator.add(chunk)
    return aggregator.result()


def window_totals(cells: pd.DataFrame, *, window: TimeWindow | None = None) -> pd.DataFrame:
    """Sum cell-hour aggregates over the hours of a window.

    Parameters
    ----------
    cells : pandas.DataFrame
        Output of :func:`finalize` (or the same columns from the database).
    window : TimeWindow, optional
        Hours to keep; all hours when None.

    Returns
    -------
    pandas.DataFrame
        One row per cell: ``cell``, ``lon``, ``lat`` (WGS-84 centre),
        ``points``, ``weight``, ``rider_hours`` (sum over hours of distinct
        riders per hour: a rider seen in three hours counts three times;
        missing without rider ids).
    """
    frame = cells
    if window is not None:
        frame = frame[frame["hour_of_week"].isin(window.hours_of_week())]
    grouped = frame.groupby("cell", sort=True).agg(
        points=("points", "sum"), weight=("weight", "sum"),
        rider_hours=("riders", lambda s: s.sum(min_count=1)),
    ).reset_index()
    grouped["rider_hours"] = grouped["rider_hours"].astype("Int64")
    lon, lat = cell_centroids(grouped["cell"].to_numpy())
    grouped.insert(1, "lon", lon)
    grouped.insert(2, "lat", lat)
    return grouped


# --------------------------------------------------------------------------- #
# Beyond one machine: the same functions per Dask partition
# --------------------------------------------------------------------------- #


def _dask_frame(source: ActivitySource, plan: ColumnPlan, *, blocksize: str) -> Any:
    """Open ``source`` as a Dask DataFrame of the planned columns."""
    import dask.dataframe as dd

    text_columns = {c: "string" for c in (plan.rider, *(p.time for p in plan.points)) if c}
    if source.kind == "csv":
        return dd.read_csv(str(source.path), usecols=plan.needed, dtype=text_columns,
                           blocksize=None if source.path.suffix.lower() == ".gz" else blocksize,
                           encoding=source.encoding, skipinitialspace=True)
    if source.kind == "parquet":
        if source.geometry_column:
            import dask_geopandas

            frame = dask_geopandas.read_parquet(str(source.path))

            def unpack(part: Any) -> pd.DataFrame:
                out = pd.DataFrame(part.drop(columns=part.geometry.name))
                out[GEOMETRY_LON] = part.geometry.x.to_numpy()
                out[GEOMETRY_LAT] = part.geometry.y.to_numpy()
                return out[plan.needed]

            meta = pd.DataFrame({c: pd.Series(dtype=float if c in (GEOMETRY_LON, GEOMETRY_LAT)
                                              else object) for c in plan.needed})
            return frame.map_partitions(unpack, meta=meta)
        return dd.read_parquet(str(source.path), columns=plan.needed)
    raise InvalidInput(
        f"{source.path.name}: XLSX cannot be split across workers; save it as CSV or Parquet "
        "to use --scheduler", field="scheduler")


def _partition_job(frame: pd.DataFrame, number: int, plan: ColumnPlan, options: ReadOptions,
                   resolution: int, source_name: str) -> tuple[Partial, ActivityReport]:
    """Parse and aggregate one partition: the per-chunk functions, unchanged."""
    report = ActivityReport(source=source_name)
    rows = np.arange(1, len(frame) + 1)
    chunk = parse_chunk(RawChunk(frame.reset_index(drop=True), rows, 0), plan=plan,
                        options=options, row_label=f"partition {number + 1}, record",
                        report=report)
    return partial_aggregate(chunk, resolution=resolution), report


def aggregate_activity_dask(
    path: str | Path,
    *,
    scheduler: Any,
    crs: str | None,
    salt: bytes,
    mapping: Mapping[str, str] | None = None,
    extra_points: Sequence[PointColumns] = (),
    times: TimeOptions | None = None,
    area: Area | None = None,
    resolution: int = DEFAULT_RESOLUTION,
    blocksize: str = "64MB",
) -> tuple[pd.DataFrame, ActivityReport]:
    """Aggregate a CSV or (Geo)Parquet file on a Dask cluster.

    Each partition goes through :func:`parse_chunk` and
    :func:`partial_aggregate` on a worker; the partials are merged with
    :func:`combine_partials`, so the result equals the single-machine
    :func:`aggregate_points` of :func:`read_activity`.  Error messages name
    the partition and the record within it (absolute line numbers are not
    known to a worker).

    Parameters
    ----------
    path : str or Path
        CSV (not gzipped for splitting) or Parquet/GeoParquet.
    scheduler : str or distributed.Client
        Scheduler address (``tcp://host:8786``) or a connected client.
    crs, salt, mapping, extra_points, times, area
        As for :func:`read_activity`.
    resolution : int
        H3 resolution.
    blocksize : str
        Target CSV partition size.

    Returns
    -------
    (pandas.DataFrame, ActivityReport)
        See :func:`finalize`.
    """
    import dask
    from distributed import Client

    check_salt(salt)
    check_resolution(resolution)
    source = open_activity(path)
    if source.geometry_column and not (mapping and {"lon", "lat"} & set(mapping.values())):
        mapping = {**(mapping or {}), GEOMETRY_LON: "lon", GEOMETRY_LAT: "lat"}
    plan = plan_columns(source.headers, mapping=mapping, extra_points=extra_points)
    chosen_crs = crs or source.file_crs
    if not chosen_crs:
        raise InvalidInput("say which coordinate system the points are in (--crs)", field="crs")
    options = ReadOptions(crs=chosen_crs, salt=salt, times=times or TimeOptions(),
                          area=area or Area())
    frame = _dask_frame(source, plan, blocksize=blocksize)
    jobs = [dask.delayed(_partition_job)(part, number, plan, options, resolution, source.path.name)
            for number, part in enumerate(frame.to_delayed())]
    own_client = not isinstance(scheduler, Client)
    client = Client(scheduler) if own_client else scheduler
    try:
        results = client.gather(client.compute(jobs))
    finally:
        if own_client:
            client.close()
    report = ActivityReport(source=source.path.name, kind=source.kind, row_label="record",
                            crs=chosen_crs, columns=plan.describe())
    for _, part_report in results:
        report.merge(part_report)
    if not report.rows_read:
        raise LedgerError(f"{source.path.name} has a header but no data rows")
    check_not_all_outside(report, options.area)
    report.notes.append(f"aggregated on Dask in {len(jobs)} partitions")
    return finalize(combine_partials(p for p, _ in results)), report
