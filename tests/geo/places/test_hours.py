"""geo.places.hours_parse and hours_open: Chinese ledger hours -> OSM opening_hours, and evaluation with opening-hours-py."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import opening_hours
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.errors import InvalidInput
from geo.places.hours_lexicon import HoursParse
from geo.places.hours_open import (
    closes_at,
    is_open,
    next_change,
    open_during,
    open_share,
    open_state,
    summarise,
    today_intervals,
)
from geo.places.hours_parse import parse_chinese_hours
from geo.places.timezone import SHANGHAI

# Reference days (Asia/Shanghai): 2024-10-08 is a Tuesday, 10-12 a Saturday,
# 10-13 a Sunday, 10-14 a Monday; 2024-10-01 (National Day) is a public holiday
# in opening-hours-py's Chinese calendar.
TUE = date(2024, 10, 8)
SAT = date(2024, 10, 12)
SUN = date(2024, 10, 13)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    """A naive local (Asia/Shanghai) datetime."""
    return datetime.combine(day, time(hh, mm))


def osm_of(text: str) -> str:
    result = parse_chinese_hours(text)
    assert result.ok, result
    assert result.original == text
    return result.osm


# --------------------------------------------------------------------------
# Parsing: each format from the ledgers
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # plain daily hours
        ("08:00-20:00", "08:00-20:00"),
        ("8:00-20:00", "08:00-20:00"),
        ("08:00 - 20:00", "08:00-20:00"),
        # weekday ranges
        ("周一至周五 09:00-17:00", "Mo-Fr 09:00-17:00"),
        ("周一到周五 9:00至17:00", "Mo-Fr 09:00-17:00"),
        ("星期一至星期五 8:00-18:00", "Mo-Fr 08:00-18:00"),
        ("周一至五 9:00-17:00", "Mo-Fr 09:00-17:00"),
        ("周一、三、五 9:00-12:00", "Mo,We,Fr 09:00-12:00"),
        ("周一至周六 9:00-17:00", "Mo-Sa 09:00-17:00"),
        # lunch break: several ranges a day
        ("周一至周五 08:30-12:00,13:00-17:30", "Mo-Fr 08:30-12:00,13:00-17:30"),
        ("周一至周五 08:30-12:00，13:00-17:30", "Mo-Fr 08:30-12:00,13:00-17:30"),
        ("周一至周五 08:30-12:00、13:00-17:30", "Mo-Fr 08:30-12:00,13:00-17:30"),
        # round the clock
        ("24小时", "24/7"),
        ("24小时营业", "24/7"),
        ("全天", "24/7"),
        ("全天开放", "24/7"),
        ("24h", "24/7"),
        ("24H", "24/7"),
        ("00:00-24:00", "24/7"),
        ("周一至周五24小时", "Mo-Fr 00:00-24:00"),
        # weekends and holidays
        ("周六日 10:00-16:00", "Sa,Su 10:00-16:00"),
        ("周六、周日 10:00-16:00", "Sa,Su 10:00-16:00"),
        ("周末 10:00-16:00", "Sa,Su 10:00-16:00"),
        ("节假日 10:00-16:00", "PH 10:00-16:00"),
        ("法定节假日 10:00-16:00", "PH 10:00-16:00"),
        # every day
        ("周一至周日 08:00-20:00", "08:00-20:00"),
        ("每天 08:00-20:00", "08:00-20:00"),
        ("全年无休 08:00-20:00", "08:00-20:00"),
        ("全年无休，24小时开放", "24/7"),
        # full-width punctuation and dashes
        ("周一至周五 ０９：００－１７：００", "Mo-Fr 09:00-17:00"),
        ("8：00～20：00", "08:00-20:00"),
        ("8:00~20:00", "08:00-20:00"),
        ("周一至周五 9:00—17:00", "Mo-Fr 09:00-17:00"),
        ("周一至周五 9:00–17:00", "Mo-Fr 09:00-17:00"),
        ("营业时间：周一至周五 9:00-17:00", "Mo-Fr 09:00-17:00"),
        # spoken times
        ("早8点-晚8点", "08:00-20:00"),
        ("早上8点半至下午5点半", "08:30-17:30"),
        ("上午8:00-12:00 下午2:00-6:00", "08:00-12:00,14:00-18:00"),
        ("上午8:00-12:00，下午14:00-18:00", "08:00-12:00,14:00-18:00"),
        ("周一至周五上午9点-12点，下午2点-5点", "Mo-Fr 09:00-12:00,14:00-17:00"),
        ("8点-晚9点", "08:00-21:00"),
        ("9-17点", "09:00-17:00"),
        ("8点30分-17点", "08:30-17:00"),
        ("八点-十七点半", "08:00-17:30"),
        ("8am-8pm", "08:00-20:00"),
        # across midnight, evening to morning
        ("22:00-06:00", "22:00-06:00"),
        ("晚8点-早6点", "20:00-06:00"),
        # several rules
        ("周一至周五 09:00-17:00；周六 09:00-12:00", "Mo-Fr 09:00-17:00; Sa 09:00-12:00"),
        ("周一至周五 09:00-17:00;周六 09:00-12:00", "Mo-Fr 09:00-17:00; Sa 09:00-12:00"),
        ("周一至周五 09:00-17:00，周六 09:00-12:00", "Mo-Fr 09:00-17:00; Sa 09:00-12:00"),
        ("周一至周五 9:00-17:00；周末 10:00-16:00", "Mo-Fr 09:00-17:00; Sa,Su 10:00-16:00"),
        # closed days and exceptions
        ("08:00-20:00（周一闭馆）", "08:00-20:00; Mo off"),
        ("周一至周五 09:00-17:00;周末休息", "Mo-Fr 09:00-17:00; Sa,Su off"),
        ("周一至周五 9:00-17:00，节假日除外", "Mo-Fr 09:00-17:00; PH off"),
        ("周一至周五(节假日除外) 9:00-17:00", "Mo-Fr 09:00-17:00; PH off"),
        ("周一至周五 9:00-17:00，周六、周日及节假日休息", "Mo-Fr 09:00-17:00; Sa,Su,PH off"),
        ("08:00-20:00，节假日照常开放", "08:00-20:00"),
        # days written after the hours belong to them
        ("08:00-20:00（周一至周五）", "Mo-Fr 08:00-20:00"),
        ("9:00-17:00 周一至周五", "Mo-Fr 09:00-17:00"),
    ],
)
def test_parse_formats(text, expected):
    result = parse_chinese_hours(text)
    assert result == HoursParse(expected, text, True, None)
    assert opening_hours.validate(result.osm)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("工作日开放", 'Mo-Fr unknown "工作日开放"'),
        ("全年无休", 'Mo-Su unknown "全年无休"'),
        ("周末开放", 'Sa,Su unknown "周末开放"'),
        ("工作日开放，周末 10:00-16:00", 'Mo-Fr unknown "工作日开放"; Sa,Su 10:00-16:00'),
    ],
)
def test_days_without_hours_are_unknown_not_invented(text, expected):
    result = parse_chinese_hours(text)
    assert result.ok and result.osm == expected
    assert "not the hours" in result.reason
    assert opening_hours.validate(result.osm)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("看情况，有人就开", "unrecognised"),
        ("暂无", "unrecognised"),
        ("8:00-20:00 夏季", "unrecognised"),
        ("8点-6点", "ends before it starts"),  # 下午/晚 missing: ambiguous
        ("08:00-06:00", "ends before it starts"),  # a typo for 18:00, not a 22-hour day
        ("9-17", "no clock marks"),
        ("25:00-26:00", "not a valid time"),
        ("08:00-08:00", "same time"),
        ("周一闭馆", "no opening days or times"),
        ("休息", "which days"),
        ("   ", "empty"),
        ("", "empty"),
        ("早" * 600, "longer than"),
    ],
)
def test_unparseable_text_is_kept_verbatim(text, words):
    result = parse_chinese_hours(text)
    assert result.ok is False
    assert result.osm is None
    assert result.original == text
    assert words in result.reason


def test_parse_does_not_raise_on_non_text():
    assert parse_chinese_hours(None).ok is False  # type: ignore[arg-type]
    assert parse_chinese_hours(42).original == "42"  # type: ignore[arg-type]


def test_comment_quotes_the_ledger_words():
    # The OSM comment keeps the ledger's own 至, not the folded dash.
    result = parse_chinese_hours("周一至周五开放；周六 9:00-12:00")
    assert result.osm == 'Mo-Fr unknown "周一至周五开放"; Sa 09:00-12:00'


def test_result_is_frozen():
    result = parse_chinese_hours("08:00-20:00")
    with pytest.raises(AttributeError):
        result.osm = "24/7"  # type: ignore[misc]


# --------------------------------------------------------------------------
# Real ledger strings (Zhengzhou union stations)
# --------------------------------------------------------------------------

ZHENGZHOU_EXPECTED = {
    "08:00-20:00": "08:00-20:00",
    "周一至周五 09:00-17:00": "Mo-Fr 09:00-17:00",
    "07:30-22:30": "07:30-22:30",
    "工作日开放": 'Mo-Fr unknown "工作日开放"',
    "24小时": "24/7",
    "周一至周五 08:30-12:00,13:00-17:30": "Mo-Fr 08:30-12:00,13:00-17:30",
    "周一至周五 08:00-12:00,14:00-18:00": "Mo-Fr 08:00-12:00,14:00-18:00",
    "08:00-22:00": "08:00-22:00",
    "08:00-18:30": "08:00-18:30",
    "周一至周五 09:00-20:00": "Mo-Fr 09:00-20:00",
    "08:30-19:30": "08:30-19:30",
    "09:00-20:00": "09:00-20:00",
    "08:00-12:00,14:00-16:00": "08:00-12:00,14:00-16:00",
    "08:30-12:00,14:00-17:30": "08:30-12:00,14:00-17:30",
    "05:00-17:30": "05:00-17:30",
    "08:45-23:45": "08:45-23:45",
    "08:30-18:00": "08:30-18:00",
}


@pytest.fixture(scope="module")
def zhengzhou_hours(shared_data: Path) -> list[str]:
    path = shared_data / "zhengzhou-stations" / "stations.json"
    with path.open(encoding="utf-8") as fh:
        stations = json.load(fh)
    return [station["open_hours"] for station in stations]


def test_every_zhengzhou_value_parses(zhengzhou_hours):
    distinct = sorted(set(zhengzhou_hours))
    results = {text: parse_chinese_hours(text) for text in distinct}
    parsed = sum(result.ok for result in results.values())
    assert len(distinct) == 17
    assert parsed == 17, [r for r in results.values() if not r.ok]
    assert {text: r.osm for text, r in results.items()} == ZHENGZHOU_EXPECTED
    assert len(zhengzhou_hours) == 82
    assert all(parse_chinese_hours(text).ok for text in zhengzhou_hours)


# --------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------

LUNCH = "Mo-Fr 08:30-12:00,13:00-17:30"


def test_weekday_versus_weekend():
    osm = osm_of("周一至周五 09:00-17:00")
    assert is_open(osm, at(TUE, 10))
    assert not is_open(osm, at(SAT, 10))
    assert not is_open(osm, at(SUN, 10))


def test_lunch_break_gap():
    assert is_open(LUNCH, at(TUE, 11, 59))
    assert not is_open(LUNCH, at(TUE, 12, 0))
    assert not is_open(LUNCH, at(TUE, 12, 30))
    assert is_open(LUNCH, at(TUE, 13, 0))
    assert next_change(LUNCH, at(TUE, 12, 30)) == datetime(2024, 10, 8, 13, 0, tzinfo=SHANGHAI)


def test_just_before_and_after_closing():
    osm = "08:00-20:00"
    assert not is_open(osm, at(TUE, 7, 59))
    assert is_open(osm, at(TUE, 8, 0))
    assert is_open(osm, at(TUE, 19, 59))
    assert not is_open(osm, at(TUE, 20, 0))  # the end time is exclusive
    assert closes_at(osm, at(TUE, 19, 59)) == datetime(2024, 10, 8, 20, 0, tzinfo=SHANGHAI)
    assert closes_at(osm, at(TUE, 20, 1)) is None


def test_always_open():
    assert is_open("24/7", at(SUN, 3))
    assert next_change("24/7", at(SUN, 3)) is None
    assert closes_at("24/7", at(SUN, 3)) is None
    assert today_intervals("24/7", SUN) == [(time(0, 0), time.max)]


def test_across_midnight_closes_next_morning():
    osm = "22:00-06:00"
    assert is_open(osm, at(TUE, 23))
    assert is_open(osm, at(TUE, 5, 59))
    assert not is_open(osm, at(TUE, 12))
    assert closes_at(osm, at(TUE, 23)) == datetime(2024, 10, 9, 6, 0, tzinfo=SHANGHAI)
    assert today_intervals(osm, TUE) == [(time(0, 0), time(6, 0)), (time(22, 0), time.max)]


def test_workday_only_closes_at_the_weekend():
    osm = "Mo-Fr 00:00-24:00"
    assert closes_at(osm, at(TUE, 12)) == datetime(2024, 10, 12, 0, 0, tzinfo=SHANGHAI)


def test_unknown_state_is_not_open():
    osm = osm_of("工作日开放")
    assert not is_open(osm, at(TUE, 10))
    assert open_state(osm, at(TUE, 10)) == "unknown"
    assert open_state(osm, at(SAT, 10)) == "closed"
    assert open_state("08:00-20:00", at(SAT, 10)) == "open"


def test_public_holiday_closed():
    osm = osm_of("周一至周五 09:00-17:00，节假日除外")
    assert not is_open(osm, datetime(2024, 10, 1, 10, 0))  # National Day, a Tuesday
    assert is_open(osm, at(TUE, 10))


def test_aware_datetimes_are_converted_to_shanghai():
    osm = "08:00-20:00"
    # 00:30 UTC is 08:30 in Shanghai; 23:30 UTC is 07:30 the next morning there.
    assert is_open(osm, datetime(2024, 10, 8, 0, 30, tzinfo=UTC))
    assert not is_open(osm, datetime(2024, 10, 7, 23, 30, tzinfo=UTC))
    change = next_change(osm, datetime(2024, 10, 8, 0, 30, tzinfo=UTC))
    assert change == datetime(2024, 10, 8, 12, 0, tzinfo=UTC)
    assert change.tzinfo == SHANGHAI


def test_open_share_and_open_during():
    # 11:00-14:00 over a 12:00-13:00 lunch break: open 2 of 3 hours.
    assert open_share(LUNCH, start=at(TUE, 11), end=at(TUE, 14)) == pytest.approx(2 / 3)
    assert open_share(LUNCH, start=at(TUE, 9), end=at(TUE, 11)) == 1.0
    assert open_share(LUNCH, start=at(SAT, 9), end=at(SAT, 11)) == 0.0
    assert not open_during(LUNCH, start=at(TUE, 12, 10), end=at(TUE, 12, 50))
    assert open_during(LUNCH, start=at(TUE, 11, 50), end=at(TUE, 12, 10))
    # A whole week of 24/7.
    assert open_share("24/7", start=at(TUE, 0), end=at(TUE, 0) + timedelta(days=7)) == 1.0
    with pytest.raises(InvalidInput):
        open_share(LUNCH, start=at(TUE, 12), end=at(TUE, 11))


def test_today_intervals():
    assert today_intervals(LUNCH, TUE) == [
        (time(8, 30), time(12, 0)),
        (time(13, 0), time(17, 30)),
    ]
    assert today_intervals(LUNCH, SAT) == []
    assert today_intervals(osm_of("工作日开放"), TUE) == []  # unknown is not open


def test_invalid_expression_raises_invalid_input():
    with pytest.raises(InvalidInput) as info:
        is_open("Mo-Fr 25:00-26:00 nonsense", at(TUE, 10))
    assert info.value.field == "opening_hours"


# --------------------------------------------------------------------------
# summarise(): what is true now, as data (words are web/hours_text.py's)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("osm", "moment", "state", "opens_at"),
    [
        ("08:00-20:00", at(TUE, 12), "open", None),
        ("08:00-20:00", at(TUE, 21), "closed", at(date(2024, 10, 9), 8)),
        ("08:00-20:00", at(TUE, 7), "later_today", at(TUE, 8)),
        (LUNCH, at(SAT, 10), "closed_today", at(date(2024, 10, 14), 8, 30)),
        ("24/7", at(SUN, 3), "always", None),
        ("Mo-Fr 00:00-24:00", at(TUE, 3), "all_day", None),
        ('Mo-Fr unknown "工作日开放"', at(TUE, 10), "unstated", None),
        ('Mo-Fr unknown "工作日开放"', at(SAT, 10), "closed_unstated", None),
        ("2020 Jan 01 10:00-12:00", at(TUE, 10), "not_soon", None),
    ],
)
def test_summarise(osm, moment, state, opens_at):
    summary = summarise(osm, None, moment)
    assert summary.state == state and summary.day == moment.date()
    got = summary.opens_at.replace(tzinfo=None) if summary.opens_at else None
    assert got == opens_at


def test_summarise_falls_back_to_the_ledger_text():
    assert summarise(None, " 看情况 ", at(TUE, 10)).state == "as_written"
    assert summarise("not hours", "早八晚八", at(TUE, 10)).note == "早八晚八"
    assert summarise(None, None, at(TUE, 10)).state == "no_hours"
    assert summarise(LUNCH, None, at(TUE, 12, 30)).today == (
        (time(8, 30), time(12)),
        (time(13), time(17, 30)),
    )


# --------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------

_LEDGER_PIECES = st.sampled_from(
    [
        "周一至周五",
        "周一",
        "至",
        "到",
        "周六日",
        "周末",
        "工作日",
        "节假日",
        "除外",
        "休息",
        "闭馆",
        "开放",
        "营业",
        "每天",
        "全年无休",
        "24小时",
        "全天",
        "08:00-20:00",
        "9:00",
        "-",
        "17:00",
        "早8点",
        "晚8点",
        "下午",
        "半",
        "，",
        "、",
        "；",
        ";",
        " ",
        "（",
        "）",
        "：",
        "－",
        "～",
        "—",
        "8",
        "12",
        "点",
        "时",
        "分",
        '"',
        "\\",
        "\x00",
        "am",
        "pm",
        "八",
        "十",
        "天",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80) | st.lists(_LEDGER_PIECES, max_size=20).map("".join))
def test_parse_never_raises(text):
    result = parse_chinese_hours(text)
    assert isinstance(result, HoursParse)
    assert result.original == text
    if result.ok:
        assert result.osm and opening_hours.validate(result.osm)
        is_open(result.osm, at(TUE, 12))  # and it evaluates
    else:
        assert result.osm is None and result.reason
    # The catch-all for internal errors and the validator's veto are never needed.
    assert not (result.reason or "").startswith(("internal parser error", "produced"))
