"""Opening hours in words for people, in Chinese or English."""

from __future__ import annotations

from datetime import date, datetime, time

from geo.errors import InvalidInput
from geo.places.hours_open import (
    _HORIZON,
    _compiled,
    _intervals,
    _local,
    closes_at,
    open_state,
    today_intervals,
)

# ==========================================================================
# Describing the hours to a person
# ==========================================================================

_ZH_WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


_EN_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _clock(value: time) -> str:
    return "24:00" if value == time.max else value.strftime("%H:%M")


def _ranges(intervals: list[tuple[time, time]], en: bool) -> str:
    joined = (", " if en else "、").join(f"{_clock(a)}–{_clock(b)}" for a, b in intervals)
    return joined


def _day_word(target: date, today: date, en: bool) -> str:
    delta = (target - today).days
    if delta == 0:
        return "today" if en else "今天"
    if delta == 1:
        return "tomorrow" if en else "明天"
    if delta < 7:
        return _EN_WEEKDAYS[target.weekday()] if en else _ZH_WEEKDAYS[target.weekday()]
    return f"{target.day} {target.strftime('%b')}" if en else f"{target.month}月{target.day}日"


def describe(osm: str | None, original: str | None, at: datetime, *, lang: str = "zh") -> str:
    """Say in one line whether a place is open and when it opens or closes.

    Examples: ``"今天 08:00–20:00，营业中"``, ``"Today 08:00–20:00, open now"``,
    ``"已打烊，明天 08:00 开门"``, ``"24小时营业"``.  When ``osm`` is missing or
    invalid the ledger text is shown as written.

    The result is plain text that may contain ledger text: escape it before
    putting it into HTML or a map popup (``web.escape.safe_text``).

    Parameters
    ----------
    osm : str or None
        OSM ``opening_hours`` expression, if the ledger text could be read.
    original : str or None
        The ledger text as written.
    at : datetime.datetime
        "Now"; naive means Asia/Shanghai local time.
    lang : str, optional
        ``"zh"`` (default) or ``"en"``; any tag starting with ``en`` gives
        English, anything else Chinese.

    Returns
    -------
    str
    """
    en = lang.lower().startswith("en")
    if osm:
        try:
            _compiled(osm)
        except InvalidInput:
            osm = None
    if not osm:
        shown = (original or "").strip()
        if not shown:
            return "Opening hours unknown" if en else "营业时间未知"
        if en:
            return f"Hours: {shown} (cannot tell if open now)"
        return f"营业时间：{shown}（无法判断当前是否营业）"

    local = _local(at)
    today = local.date()
    state = open_state(osm, local)
    intervals = today_intervals(osm, today)
    whole_day = intervals == [(time(0, 0), time.max)]

    if state == "open":
        if closes_at(osm, local) is None:
            return "Open 24 hours" if en else "24小时营业"
        if whole_day:
            return "Open all day today" if en else "今天全天营业"
        return (
            f"Today {_ranges(intervals, en)}, open now"
            if en
            else f"今天 {_ranges(intervals, en)}，营业中"
        )

    if state == "unknown":
        _state, note = _compiled(osm).state(local)
        note = note or (original or "").strip()
        if en:
            return f"Hours not stated ({note})" if note else "Hours not stated"
        return f"{note}（具体时间未注明）" if note else "营业时间未注明"

    # Closed: find the next period that is open (or unknown).
    upcoming = None
    for i_start, _i_end, i_state, i_text in _intervals(osm, local, local + _HORIZON):
        if i_state != "closed":
            upcoming = (i_start, i_state, i_text)
            break
    if upcoming is None:
        return "Not open in the next 7 days" if en else "近期不营业"
    opens, up_state, up_text = upcoming
    open_day = opens.date()
    later_today = open_day == today
    if up_state == "unknown":
        note = up_text or (original or "").strip()
        rest = later_today or bool(intervals)
        if en:
            closed = "Closed now" if rest else "Closed today"
            return f"{closed}; {note} (hours not stated)" if note else closed
        closed = "已打烊" if rest else "今天休息"
        return f"{closed}；{note}（具体时间未注明）" if note else closed
    when = _day_word(open_day, today, en)
    clock = opens.strftime("%H:%M")
    if later_today:
        if en:
            return f"Today {_ranges(intervals, en)}, closed now, opens at {clock}"
        return f"今天 {_ranges(intervals, en)}，现在休息，{clock} 开门"
    if not intervals:
        return f"Closed today, opens {when} at {clock}" if en else f"今天休息，{when} {clock} 开门"
    return f"Closed, opens {when} at {clock}" if en else f"已打烊，{when} {clock} 开门"
