"""Weekly time windows of rider activity (Asia/Shanghai local time): parse and describe them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time as dtime

import numpy as np

from geo.errors import InvalidInput

#: Hours in a week; hour of week runs 0..167 with Monday 00:00 = 0.
HOURS_PER_WEEK = 168


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
        hours = [(day * 24 + h) % HOURS_PER_WEEK for day in self.days for h in range(first, last)]
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
