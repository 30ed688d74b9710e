"""Times of activity rows to hours of week (0..167, Monday 00:00 Asia/Shanghai = 0)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.errors import InvalidInput
from geo.places.timezone import TZ_NAME, UTC_OFFSET

#: Asia/Shanghai is UTC+8 all year (no daylight saving since 1991).
SHANGHAI_OFFSET = pd.Timedelta(UTC_OFFSET)


# Regular expressions for the time layouts that pandas cannot parse alone.
_RE_MONTH_DAY = re.compile(r"^\s*(\d{1,2})-(\d{1,2})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


_RE_TIME_ONLY = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


_RE_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})\s*$")


_FALLBACK_FORMATS = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y%m%d%H%M%S",
    "%Y%m%d %H:%M:%S",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y.%m.%d %H:%M:%S",
)


_EXPECTED_TIMES = (
    "ISO 8601 such as 2026-05-01 08:00:00, 2026/05/01 08:00, epoch seconds, "
    "MM-DD HH:MM:SS with --year, or HH:MM"
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
    return np.asarray(how.fillna(-1).to_numpy(dtype=np.int16))


def hours_of_week(
    values: pd.Series,
    *,
    options: TimeOptions,
    column: str = "time",
    rows: np.ndarray | None = None,
    row_label: str = "row",
) -> np.ndarray:
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


def _hours_from_text(
    text: pd.Series, blank: np.ndarray, options: TimeOptions, column: str
) -> np.ndarray:
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
            pd.DataFrame(
                {
                    "year": options.year,
                    "month": parts[0],
                    "day": parts[1],
                    "hour": parts[2],
                    "minute": parts[3],
                }
            ),
            errors="coerce",
        )
        hour_ok = (parts[2] < 24) & (parts[3] < 60) & (parts[4].fillna(0) < 60)
        return _hour_of_week(stamp.where(hour_ok))
    if sample.str.match(_RE_TIME_ONLY).all():
        parts = text.str.extract(_RE_TIME_ONLY).astype("float64")
        hour = parts[0].where((parts[0] < 24) & (parts[1] < 60) & (parts[2].fillna(0) < 60))
        how = options.time_only_weekday * 24 + hour
        return np.asarray(how.fillna(-1).to_numpy(dtype=np.int16))
    utc = bool(sample.str.contains(_RE_OFFSET).any())
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=utc)
    missing = parsed.isna().to_numpy() & ~blank
    for fmt in _FALLBACK_FORMATS:
        if not missing.any():
            break
        retry = pd.to_datetime(text[missing], format=fmt, errors="coerce")
        if utc:
            retry = retry.dt.tz_localize(TZ_NAME)
        parsed[missing] = retry
        missing = parsed.isna().to_numpy() & ~blank
    return _hour_of_week(_to_local(parsed))
