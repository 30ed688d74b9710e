"""Opening hours in words (web/hours_text.py), in Chinese and English through Flask-Babel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time

import pytest
from flask import Flask

from web.hours_text import describe

TUE = date(2024, 10, 8)
SAT = date(2024, 10, 12)
SUN = date(2024, 10, 13)
LUNCH = "Mo-Fr 08:30-12:00,13:00-17:30"


def at(day: date, hh: int, mm: int = 0) -> datetime:
    """A naive local (Asia/Shanghai) datetime."""
    return datetime.combine(day, time(hh, mm))


@pytest.fixture
def say(app: Flask) -> Callable[..., str]:
    """``describe`` as a request in ``lang`` would run it."""

    def run(osm: str | None, original: str | None, moment: datetime, *, lang: str = "zh") -> str:
        with app.test_request_context(f"/?lang={lang}"):
            return describe(osm, original, moment)

    return run


# --------------------------------------------------------------------------
# describe() in the reader's language
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("osm", "moment", "zh", "en"),
    [
        ("08:00-20:00", at(TUE, 12), "今天 08:00–20:00，营业中", "Today 08:00–20:00, open now"),
        ("08:00-20:00", at(TUE, 21), "已打烊，明天 08:00 开门", "Closed, opens tomorrow at 08:00"),
        (
            "08:00-20:00",
            at(TUE, 7),
            "今天 08:00–20:00，现在休息，08:00 开门",
            "Today 08:00–20:00, closed now, opens at 08:00",
        ),
        (
            LUNCH,
            at(TUE, 12, 30),
            "今天 08:30–12:00、13:00–17:30，现在休息，13:00 开门",
            "Today 08:30–12:00, 13:00–17:30, closed now, opens at 13:00",
        ),
        (LUNCH, at(SAT, 10), "今天休息，周一 08:30 开门", "Closed today, opens Monday at 08:30"),
        (
            LUNCH,
            at(date(2024, 10, 11), 18),
            "已打烊，周一 08:30 开门",
            "Closed, opens Monday at 08:30",
        ),
        ("24/7", at(SUN, 3), "24小时营业", "Open 24 hours"),
        ("Mo-Fr 00:00-24:00", at(TUE, 3), "今天全天营业", "Open all day today"),
        (
            'Mo-Fr unknown "工作日开放"',
            at(TUE, 10),
            "工作日开放（具体时间未注明）",
            "Hours not stated (工作日开放)",
        ),
        (
            'Mo-Fr unknown "工作日开放"',
            at(SAT, 10),
            "今天休息；工作日开放（具体时间未注明）",
            "Closed today; 工作日开放 (hours not stated)",
        ),
        ("2020 Jan 01 10:00-12:00", at(TUE, 10), "近期不营业", "Not open in the next 7 days"),
    ],
)
def test_describe(say, osm, moment, zh, en):
    assert say(osm, None, moment) == zh
    assert say(osm, None, moment, lang="en") == en


def test_describe_unparsed_shows_the_ledger_text(say):
    text = "看情况，有人就开"
    assert say(None, text, at(TUE, 10)) == f"营业时间：{text}（无法判断当前是否营业）"
    assert say(None, text, at(TUE, 10), lang="en") == (f"Hours: {text} (cannot tell if open now)")
    assert say(None, None, at(TUE, 10)) == "营业时间未知"
    assert say(None, "  ", at(TUE, 10), lang="en") == "Opening hours unknown"
    # An invalid stored expression falls back to the ledger text instead of failing.
    assert say("not hours", "早八晚八", at(TUE, 10)).startswith("营业时间：早八晚八")


def test_describe_days_ahead_beyond_tomorrow(say):
    # Closed on Tuesday evening, next open on Saturday: named by weekday.
    osm = "Sa 10:00-16:00"
    assert say(osm, None, at(TUE, 20)) == "今天休息，周六 10:00 开门"
    assert say(osm, None, at(TUE, 20), lang="en") == ("Closed today, opens Saturday at 10:00")


def test_the_day_after_next_week_is_a_date(say):
    osm = "2024 Oct 15 10:00-12:00"
    assert say(osm, None, at(TUE, 10)) == "今天休息，10月15日 10:00 开门"
    assert say(osm, None, at(TUE, 10), lang="en") == "Closed today, opens 10/15 at 10:00"
