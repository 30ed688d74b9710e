"""Opening hours in words for people, in the reader's language (Flask-Babel).

:func:`geo.places.hours_open.summarise` says what is true (open now, opens
at, today's intervals); this module only says it.  English msgids, Chinese in
``web/translations``.  The result is plain text that may contain ledger text:
escape it before it reaches HTML or a map (``web.escape.safe_text``).
"""

from __future__ import annotations

from datetime import date, datetime, time

from flask_babel import gettext as _
from flask_babel import lazy_gettext, pgettext

from geo.places.hours_open import HoursSummary, summarise

_WEEKDAYS = (
    lazy_gettext("Monday"),
    lazy_gettext("Tuesday"),
    lazy_gettext("Wednesday"),
    lazy_gettext("Thursday"),
    lazy_gettext("Friday"),
    lazy_gettext("Saturday"),
    lazy_gettext("Sunday"),
)


def _clock(value: time) -> str:
    return "24:00" if value == time.max else value.strftime("%H:%M")


def _ranges(intervals: tuple[tuple[time, time], ...]) -> str:
    return pgettext("list separator", ", ").join(f"{_clock(a)}–{_clock(b)}" for a, b in intervals)


def _day_word(target: date, today: date) -> str:
    delta = (target - today).days
    if delta == 0:
        return _("today")
    if delta == 1:
        return _("tomorrow")
    if delta < 7:
        return str(_WEEKDAYS[target.weekday()])
    return _("%(month)d/%(day)d", month=target.month, day=target.day)


def hours_in_words(summary: HoursSummary) -> str:
    """Say ``summary`` in one line, e.g. ``今天 08:00–20:00，营业中`` or ``Open 24 hours``."""
    state, ranges = summary.state, _ranges(summary.today)
    if state == "no_hours":
        return _("Opening hours unknown")
    if state == "as_written":
        return _("Hours: %(text)s (cannot tell if open now)", text=summary.note)
    if state == "always":
        return _("Open 24 hours")
    if state == "all_day":
        return _("Open all day today")
    if state == "open":
        return _("Today %(ranges)s, open now", ranges=ranges)
    if state == "unstated":
        return (
            _("Hours not stated (%(note)s)", note=summary.note)
            if summary.note
            else _("Hours not stated")
        )
    if state == "not_soon":
        return _("Not open in the next 7 days")
    if state == "closed_unstated":
        closed = _("Closed now") if summary.opens_today else _("Closed today")
        return (
            _("%(closed)s; %(note)s (hours not stated)", closed=closed, note=summary.note)
            if summary.note
            else closed
        )
    assert summary.opens_at is not None  # the remaining states all have an opening
    clock = summary.opens_at.strftime("%H:%M")
    when = _day_word(summary.opens_at.date(), summary.day)
    if state == "later_today":
        return _("Today %(ranges)s, closed now, opens at %(clock)s", ranges=ranges, clock=clock)
    if state == "closed_today":
        return _("Closed today, opens %(when)s at %(clock)s", when=when, clock=clock)
    return _("Closed, opens %(when)s at %(clock)s", when=when, clock=clock)


def describe(osm: str | None, original: str | None, at: datetime) -> str:
    """Say whether a place is open at ``at`` (naive: Asia/Shanghai) and when that changes."""
    return hours_in_words(summarise(osm, original, at))
