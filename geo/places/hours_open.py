"""Evaluate OpenStreetMap ``opening_hours``: open now, next change, closing time, share of a window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import opening_hours

from geo.errors import InvalidInput
from geo.places.timezone import SHANGHAI

# How far ahead closes_at()/describe() look for the next change.  A week plus
# a day covers every weekly schedule; beyond that "always open"/"not soon".
_HORIZON = timedelta(days=8)


# ==========================================================================
# Evaluation with opening-hours-py
# ==========================================================================


@lru_cache(maxsize=4096)
def _compiled(osm: str) -> opening_hours.OpeningHours:
    # Parsing with the holiday calendar costs ~70 us; stations share a few
    # dozen distinct expressions, so cache the parsed objects.
    try:
        return opening_hours.OpeningHours(osm, timezone=SHANGHAI, country="CN")
    except Exception as err:  # noqa: BLE001 - ParserError/SyntaxError from the library
        raise InvalidInput(
            f"opening_hours {osm[:80]!r} is not a valid OpenStreetMap expression",
            field="opening_hours",
        ) from err


def _local(at: datetime) -> datetime:
    """Return ``at`` as naive Asia/Shanghai wall-clock time for the library."""
    if at.tzinfo is None:
        return at
    return at.astimezone(SHANGHAI).replace(tzinfo=None)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=SHANGHAI)
    return moment.astimezone(SHANGHAI)


def open_state(osm: str, at: datetime) -> str:
    """Return ``"open"``, ``"closed"`` or ``"unknown"`` at a moment.

    Parameters
    ----------
    osm : str
        OSM ``opening_hours`` expression.
    at : datetime.datetime
        The moment; naive means Asia/Shanghai local time.

    Returns
    -------
    str
        ``"unknown"`` where the expression says so (e.g. days without hours).

    Raises
    ------
    geo.errors.InvalidInput
        ``osm`` is not a valid expression.
    """
    state, _comment_text = _compiled(osm).state(_local(at))
    if state == opening_hours.State.OPEN:
        return "open"
    if state == opening_hours.State.CLOSED:
        return "closed"
    return "unknown"


def is_open(osm: str, at: datetime) -> bool:
    """Return True when the place is certainly open at ``at``.

    Parameters
    ----------
    osm : str
        OSM ``opening_hours`` expression.
    at : datetime.datetime
        The moment; naive means Asia/Shanghai local time, aware is converted.

    Returns
    -------
    bool
        False when closed or unknown.

    Raises
    ------
    geo.errors.InvalidInput
        ``osm`` is not a valid expression.
    """
    return bool(_compiled(osm).is_open(_local(at)))


def next_change(osm: str, at: datetime) -> datetime | None:
    """Return the next moment the state (or its comment) changes after ``at``.

    Parameters
    ----------
    osm : str
        OSM ``opening_hours`` expression.
    at : datetime.datetime
        The moment; naive means Asia/Shanghai local time.

    Returns
    -------
    datetime.datetime or None
        Aware, Asia/Shanghai; None when it never changes (``24/7``).
    """
    change = _compiled(osm).next_change(_local(at))
    return None if change is None else _aware(change)


def _intervals(
    osm: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, str, str]]:
    """Library intervals between two local times as (start, end, state, comment)."""
    names = {opening_hours.State.OPEN: "open", opening_hours.State.CLOSED: "closed"}
    out = []
    for i_start, i_end, state, comment_text in _compiled(osm).intervals(start, end):
        out.append((_aware(i_start), _aware(i_end), names.get(state, "unknown"), comment_text))
    return out


def closes_at(osm: str, at: datetime) -> datetime | None:
    """Return when the place closes, if it is open at ``at``.

    Parameters
    ----------
    osm : str
        OSM ``opening_hours`` expression.
    at : datetime.datetime
        The moment; naive means Asia/Shanghai local time.

    Returns
    -------
    datetime.datetime or None
        Aware, Asia/Shanghai: the end of the open stretch containing ``at``
        (open intervals back to back are joined, so 22:00-24:00 followed by
        00:00-06:00 closes at 06:00).  None when closed or unknown at ``at``,
        or open for the whole next 8 days (``24/7``).
    """
    local = _local(at)
    horizon = local + _HORIZON
    current_end: datetime | None = None
    for i_start, i_end, state, _text in _intervals(osm, local, horizon):
        if state != "open":
            break
        if current_end is not None and i_start != current_end:
            break
        current_end = i_end
    if current_end is None or current_end >= _aware(horizon):
        return None
    return current_end


def open_share(osm: str, *, start: datetime, end: datetime) -> float:
    """Return the fraction of the window ``[start, end)`` during which the place is open.

    Parameters
    ----------
    osm : str
        OSM ``opening_hours`` expression.
    start, end : datetime.datetime
        The window; naive means Asia/Shanghai local time.

    Returns
    -------
    float
        0.0 (closed or unknown throughout) to 1.0 (open throughout).

    Raises
    ------
    geo.errors.InvalidInput
        ``end`` is not after ``start``, or ``osm`` is invalid.
    """
    local_start, local_end = _local(start), _local(end)
    total = (local_end - local_start).total_seconds()
    if total <= 0:
        raise InvalidInput("the time window must end after it starts", field="end")
    open_seconds = 0.0
    for i_start, i_end, state, _text in _intervals(osm, local_start, local_end):
        if state == "open":
            lo = max(i_start, _aware(local_start))
            hi = min(i_end, _aware(local_end))
            open_seconds += max((hi - lo).total_seconds(), 0.0)
    return min(open_seconds / total, 1.0)


def open_during(osm: str, *, start: datetime, end: datetime) -> bool:
    """Return True when the place is open for at least part of ``[start, end)``.

    "Any part" is what a planner filtering stations for a time window (e.g.
    the 11:00-13:30 lunch peak) needs; use :func:`open_share` for "how much"
    (``open_share(...) == 1.0`` means open for the whole window).

    Parameters
    ----------
    osm : str
        OSM ``opening_hours`` expression.
    start, end : datetime.datetime
        The window; naive means Asia/Shanghai local time.

    Returns
    -------
    bool
    """
    return open_share(osm, start=start, end=end) > 0.0


def today_intervals(osm: str, day: date) -> list[tuple[time, time]]:
    """Return the open intervals of one local calendar day.

    Parameters
    ----------
    osm : str
        OSM ``opening_hours`` expression.
    day : datetime.date
        The day, in Asia/Shanghai.

    Returns
    -------
    list of (datetime.time, datetime.time)
        Open intervals in order, clipped to the day.  An interval that runs
        to midnight ends at ``datetime.time.max`` (shown as 24:00), so a
        whole open day is ``[(time(0, 0), time.max)]``.  Unknown periods are
        not included.
    """
    day_start = datetime.combine(day, time(0, 0))
    day_end = day_start + timedelta(days=1)
    merged: list[list[datetime]] = []
    for i_start, i_end, state, _text in _intervals(osm, day_start, day_end):
        if state != "open":
            continue
        if merged and merged[-1][1] == i_start:
            merged[-1][1] = i_end
        else:
            merged.append([i_start, i_end])
    out: list[tuple[time, time]] = []
    for i_start, i_end in merged:
        local_end = i_end.replace(tzinfo=None)
        end_time = time.max if local_end >= day_end else local_end.time()
        out.append((i_start.replace(tzinfo=None).time(), end_time))
    return out


@dataclass(frozen=True)
class HoursSummary:
    """Whether a place is open at one moment and when that changes: data for words.

    ``web/hours_text.py`` turns it into a sentence in the reader's language.

    Attributes
    ----------
    day : date
        The local date of the moment summarised.
    state : str
        ``no_hours`` (nothing known), ``as_written`` (only the ledger's text,
        in ``note``), ``always`` (24/7), ``all_day`` (open the whole day),
        ``open`` (open now), ``unstated`` (the ledger gives no times now),
        ``not_soon`` (not open within 8 days), ``closed_unstated`` (closed; the
        next period has no times), ``later_today`` (closed now, opens later
        today), ``closed_today`` (not open today; opens ``opens_at``) or
        ``closed`` (done for today; opens ``opens_at``).
    today : tuple of (time, time)
        Today's open intervals, local time (``time.max`` is midnight at the end).
    opens_at : datetime or None
        Next opening, aware, Asia/Shanghai.
    note : str
        The ledger's text or the expression's comment, for ``as_written``,
        ``unstated`` and ``closed_unstated``.
    opens_today : bool
        For ``closed_unstated``: whether the place has been or will be open today.
    """

    day: date
    state: str
    today: tuple[tuple[time, time], ...] = ()
    opens_at: datetime | None = None
    note: str = ""
    opens_today: bool = False


def summarise(osm: str | None, original: str | None, at: datetime) -> HoursSummary:
    """Summarise a place's hours at ``at`` (naive means Asia/Shanghai local time).

    An invalid ``osm`` falls back to the ledger text ``original``.
    """
    if osm:
        try:
            _compiled(osm)
        except InvalidInput:
            osm = None
    written = (original or "").strip()
    local = _local(at)
    today = local.date()
    if not osm:
        return (
            HoursSummary(today, "as_written", note=written)
            if written
            else HoursSummary(today, "no_hours")
        )
    state = open_state(osm, local)
    intervals = tuple(today_intervals(osm, today))
    if state == "open":
        if closes_at(osm, local) is None:
            return HoursSummary(today, "always")
        whole_day = intervals == ((time(0, 0), time.max),)
        return HoursSummary(today, "all_day" if whole_day else "open", today=intervals)
    if state == "unknown":
        return HoursSummary(today, "unstated", note=_compiled(osm).state(local)[1] or written)
    upcoming = next(
        (
            (start, kind, text)
            for start, _end, kind, text in _intervals(osm, local, local + _HORIZON)
            if kind != "closed"
        ),
        None,
    )
    if upcoming is None:
        return HoursSummary(today, "not_soon")
    opens, kind, text = upcoming
    later_today = opens.date() == today
    if kind == "unknown":
        return HoursSummary(
            today,
            "closed_unstated",
            note=text or written,
            opens_today=later_today or bool(intervals),
        )
    if later_today:
        return HoursSummary(today, "later_today", today=intervals, opens_at=opens)
    return HoursSummary(
        today, "closed" if intervals else "closed_today", today=intervals, opens_at=opens
    )
