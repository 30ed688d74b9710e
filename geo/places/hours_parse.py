"""Opening hours: Chinese ledger text -> OpenStreetMap ``opening_hours``, and "open at t".

Ledgers write hours as free Chinese text (``08:00-20:00``,
``周一至周五 09:00-17:00``, ``24小时``, ``工作日开放``).  :func:`parse_chinese_hours`
turns that text into the machine-readable OpenStreetMap ``opening_hours``
syntax (https://wiki.openstreetmap.org/wiki/Key:opening_hours/specification)
and every expression it produces is checked by the real parser of the
``opening-hours-py`` library before it is returned.

Evaluation (is it open now, when does it close, which hours today) is done by
``opening-hours-py`` too, never by hand-written rules.  Times are local China
time (Asia/Shanghai): naive datetimes are read as local wall-clock time, aware
ones are converted to Asia/Shanghai, and every datetime returned is aware, in
Asia/Shanghai.

Public holidays (``PH``) are evaluated with the library's Chinese calendar
(``country="CN"``), which is approximate: it holds one day per festival (in
2024: 01-01, 02-10, 05-01, 06-10, 09-17, 10-01), not the week-long breaks nor
Qingming, and it does not know the make-up working days (调休).  The parser
still writes ``PH`` faithfully; only its evaluation is approximate.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import opening_hours

from geo.errors import InvalidInput

__all__ = [
    "SHANGHAI",
    "HoursParse",
    "closes_at",
    "describe",
    "is_open",
    "next_change",
    "open_during",
    "open_share",
    "open_state",
    "parse_chinese_hours",
    "today_intervals",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Longest ledger text we try to read; longer text is kept verbatim, unparsed.
MAX_TEXT_CHARS = 500

# How far ahead closes_at()/describe() look for the next change.  A week plus
# a day covers every weekly schedule; beyond that "always open"/"not soon".
_HORIZON = timedelta(days=8)


# ==========================================================================
# Parsing Chinese ledger text
# ==========================================================================


@dataclass(frozen=True)
class HoursParse:
    """The result of reading one ledger opening-hours text.

    Attributes
    ----------
    osm : str or None
        The OpenStreetMap ``opening_hours`` expression, validated by
        ``opening-hours-py``; ``None`` when the text could not be read.
    original : str
        The ledger text exactly as given (kept for display and audit).
    ok : bool
        True when ``osm`` is a faithful translation of the text.
    reason : str or None
        When ``ok`` is False: why the text could not be read (English).  When
        ``ok`` is True: ``None``, or a caveat such as hours not being stated.
    """

    osm: str | None
    original: str
    ok: bool
    reason: str | None = None


class _Unreadable(Exception):
    """Internal: the text cannot be translated faithfully; carries the reason."""


_DAY_CODES = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_ALL_DAYS = frozenset(range(7))
_CN_DAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_DIGIT_DAY = {str(i): i - 1 for i in range(1, 8)}
_CN_NUM = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}

# Characters folded before tokenising.  NFKC already maps full-width ASCII
# (：，；～－（）０-９) to ASCII; these are the dashes and range words it keeps.
_FOLD = str.maketrans(
    {
        "—": "-",
        "–": "-",
        "―": "-",
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "−": "-",
        "〜": "-",
        "~": "-",
        "至": "-",
        "到": "-",
        "。": ";",
        "\n": ";",
        "\r": ";",
        "【": "(",
        "】": ")",
        "[": "(",
        "]": ")",
        "「": "(",
        "」": ")",
        "〔": "(",
        "〕": ")",
        "《": "(",
        "》": ")",
    }
)

_WEEK_PREFIX = r"(?:周|星期|礼拜)"
_CN_DAY_CHARS = "一二三四五六日天"
_DAY_ATOM = rf"{_WEEK_PREFIX}([{_CN_DAY_CHARS}1-7])"
# After a first weekday: a range end (周一-周五, 周一-五) or list items
# (周一、三、五 / 周六日 / 周六,周日).  Bare items must be Chinese numerals so
# that "周一至周五7:00-..." does not read the 7 as Sunday.
_DAY_RANGE_END = re.compile(rf"\s*-\s*(?:{_WEEK_PREFIX}([{_CN_DAY_CHARS}1-7])|([{_CN_DAY_CHARS}]))")
_DAY_LIST_ITEM = re.compile(
    rf"\s*[、,/和及与]?\s*(?:{_WEEK_PREFIX}([{_CN_DAY_CHARS}1-7])|([{_CN_DAY_CHARS}]))"
)

_PREFIX = r"早上|早晨|清晨|早|上午|中午|正午|午|下午|傍晚|晚上|夜间|夜里|夜晚|晚|凌晨"
_CN_HOUR = r"[零一二两三四五六七八九十]{1,3}"


def _time_atom(p: str) -> str:
    """Regex for one clock time, its groups prefixed with ``p``.

    An optional 早/上午/下午/晚上 prefix, an hour (digits, or Chinese numerals
    before 点/时), then ``:MM``, ``.MM``, or 点/时 with optional minutes or 半,
    and an optional am/pm.
    """
    return (
        rf"(?:(?P<{p}pre>{_PREFIX})\s*)?"
        rf"(?:(?P<{p}h>\d{{1,2}})|(?P<{p}cnh>{_CN_HOUR})(?=[点时]))"
        rf"(?:(?P<{p}colon>:)(?P<{p}cm>\d{{2}})"
        rf"|\.(?P<{p}dm>\d{{2}})(?!\d)"
        rf"|(?P<{p}dian>[点时])(?:钟)?"
        rf"(?:(?P<{p}half>半)|(?P<{p}zm>\d{{2}}(?![\d:.])|\d{{1,2}}(?=分)|{_CN_HOUR})分?)?"
        rf")?"
        rf"(?:\s*(?P<{p}ampm>am|pm))?"
    )


_TIME_RANGE = re.compile(_time_atom("s") + r"\s*-\s*" + _time_atom("e"))

_ALWAYS = re.compile(r"24\s*/\s*7|24\s*(?:小时|h|hrs|hr|hours|时)|二十四小时|全天候|全天|通宵")

# Words naming days (checked before the "closed" words: 休息日 is a day).
_DAY_WORDS: tuple[tuple[re.Pattern[str], frozenset[int], bool], ...] = (
    (re.compile(r"工作日"), frozenset(range(5)), False),
    (re.compile(r"周末|双休日|休息日|公休日"), frozenset({5, 6}), False),
    (re.compile(r"(?:国家)?(?:法定)?(?:节假日|节日|假日|假期)"), frozenset(), True),
    (
        re.compile(r"全年无休|每天|每日|天天|全周|全年|常年|一周七天|每周七天|7\s*天"),
        _ALL_DAYS,
        False,
    ),
)

# "Closed" words.  除外 ("except") applies to the word right before it only;
# the others to the whole run of day words before them (周六、周日休息).
_EXCEPT = re.compile(r"除外")
_CLOSED = re.compile(
    r"不对外开放|暂停开放|暂停服务|不开放|不营业|停止服务|休息|闭馆|休馆|闭店|关闭|停业|歇业|不上班|休"
)

# Holidays following the normal schedule: nothing to add.
_SAME_AS_USUAL = re.compile(
    r"(?:国家)?(?:法定)?(?:节假日|节日|假日)(?:期间)?(?:照常|正常|不休息?|无休)(?:开放|营业|服务)?"
)

# Words that carry no schedule information.
_FILLER = re.compile(
    r"(?:营业|开放|服务|办公|工作|上班|接待)时间|时间|对外开放|开放|营业|服务|开门|办公|接待|"
    r"照常|正常|均|每周|全部|都"
)
_CONNECTOR = re.compile(r"[\s,、和及与/&+]+")
_BREAK = re.compile(r"[():]")


@dataclass
class _DayToken:
    """Days named by one day word, and where the word is in the clause."""

    days: frozenset[int]
    ph: bool
    start: int
    end: int


@dataclass
class _Rule:
    """A rule being assembled: day words, then times, 24 hours or nothing."""

    day_tokens: list[_DayToken] = field(default_factory=list)
    run_start: int = 0  # index in day_tokens where the current run of day words began
    times: list[tuple[int, int]] = field(default_factory=list)
    always: bool = False
    spans: list[tuple[int, int]] = field(default_factory=list)  # times, fillers

    def has_schedule(self) -> bool:
        return bool(self.times) or self.always

    def empty(self) -> bool:
        return not self.day_tokens and not self.has_schedule()

    def span(self) -> tuple[int, int] | None:
        pieces = [(t.start, t.end) for t in self.day_tokens] + self.spans
        if not pieces:
            return None
        return min(p[0] for p in pieces), max(p[1] for p in pieces)


@dataclass(frozen=True)
class _Done:
    days: frozenset[int]
    ph: bool
    kind: str  # "open" | "always" | "off" | "unknown"
    times: tuple[tuple[int, int], ...] = ()
    comment: str = ""
    explicit_days: bool = True


def _cn_number(text: str) -> int:
    """Read a Chinese numeral from 0 to 99 (八, 十二, 二十, 二十四)."""
    if "十" in text:
        tens, _, ones = text.partition("十")
        if len(text.split("十")) > 2:
            raise _Unreadable(f"cannot read the number {text!r}")
        return (_CN_NUM.get(tens, -100) if tens else 1) * 10 + (
            _CN_NUM.get(ones, -100) if ones else 0
        )
    if len(text) != 1:
        raise _Unreadable(f"cannot read the number {text!r}")
    return _CN_NUM[text]


def _atom(match: re.Match[str], p: str) -> tuple[str | None, int, int, bool]:
    """Return (prefix, hour, minute, marked) for one side of a time range.

    ``marked`` says the text itself shows it is a clock time (a colon, 点, a
    prefix or am/pm); a bare number is only accepted beside a marked one.
    """
    pre = match.group(f"{p}pre")
    ampm = match.group(f"{p}ampm")
    if match.group(f"{p}h") is not None:
        hour = int(match.group(f"{p}h"))
    else:
        hour = _cn_number(match.group(f"{p}cnh"))
    minute = 0
    if match.group(f"{p}cm") is not None:
        minute = int(match.group(f"{p}cm"))
    elif match.group(f"{p}dm") is not None:
        minute = int(match.group(f"{p}dm"))
    elif match.group(f"{p}half"):
        minute = 30
    elif match.group(f"{p}zm") is not None:
        zm = match.group(f"{p}zm")
        minute = int(zm) if zm.isdigit() else _cn_number(zm)
    marked = bool(
        pre
        or ampm
        or match.group(f"{p}colon")
        or match.group(f"{p}dm") is not None
        or match.group(f"{p}dian")
    )
    if ampm == "am" and hour == 12:
        hour = 0  # 12am is midnight
    if ampm:
        pre = "下午" if ampm == "pm" else "上午"
    if not 0 <= hour <= 24 or not 0 <= minute <= 59 or (hour == 24 and minute):
        raise _Unreadable(f"{match.group(0)!r} is not a valid time of day")
    return pre, hour, minute, marked


_PM = {"下午", "傍晚", "晚上", "夜间", "夜里", "夜晚", "晚"}
_AM = {"早上", "早晨", "清晨", "早", "上午", "凌晨"}
_NOON = {"中午", "正午", "午"}


def _to_24h(pre: str | None, hour: int, text: str) -> int:
    """Apply a 上午/下午-style prefix to a 12-hour clock hour."""
    if pre in _PM:
        if hour == 12:
            return 24 if pre != "下午" else 12  # 晚上12点 is midnight
        return hour + 12 if hour < 12 else hour
    if pre in _NOON:
        return hour + 12 if 1 <= hour <= 5 else hour  # 中午1点 is 13:00
    if pre in _AM:
        if hour > 12:
            raise _Unreadable(f"{text!r}: {pre} with hour {hour} is contradictory")
        return 0 if (hour == 12 and pre == "凌晨") else hour
    return hour


def _time_range(match: re.Match[str]) -> tuple[int, int]:
    """Turn a matched time range into (start, end) minutes after midnight."""
    text = match.group(0)
    s_pre, s_h, s_m, s_marked = _atom(match, "s")
    e_pre, e_h, e_m, e_marked = _atom(match, "e")
    if not (s_marked or e_marked):
        raise _Unreadable(f"{text!r} has no clock marks (':' or 点); cannot tell it is a time")
    start_h = _to_24h(s_pre, s_h, text)
    end_h = _to_24h(e_pre, e_h, text)
    # 下午2点-6点: the end inherits the afternoon from the start.
    if s_pre in _PM | _NOON and e_pre is None and e_h < 12 and start_h >= 12:
        end_h = e_h + 12
    # 2-6pm: a bare start inherits "pm" when that keeps the order.  Only for
    # am/pm: in Chinese 8点-晚9点 means 08:00-21:00, not 20:00-21:00.
    if match.group("eampm") == "pm" and s_pre is None and s_h < 12 and s_h + 12 < end_h:
        start_h = s_h + 12
    start = start_h * 60 + s_m
    end = end_h * 60 + e_m
    if start >= 24 * 60:
        raise _Unreadable(f"{text!r} starts at 24:00 or later")
    if end == start:
        raise _Unreadable(f"{text!r} starts and ends at the same time")
    # Across midnight only when it reads like a night shift (evening to morning);
    # 08:00-06:00 is more likely a typo for 18:00 than a 22-hour day.
    if end < start and not (start >= 12 * 60 and end <= 12 * 60):
        raise _Unreadable(f"{text!r} ends before it starts; is 下午/晚 missing?")
    return start, end


def _fmt_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _read_day_atom(ch: str) -> int:
    return _DIGIT_DAY[ch] if ch.isdigit() else _CN_DAY[ch]


def _match_weekdays(clause: str, pos: int) -> tuple[frozenset[int], int] | None:
    """Match 周一 / 周一至周五 / 周一、三、五 / 周六日 at ``pos``."""
    first = re.compile(_DAY_ATOM).match(clause, pos)
    if first is None:
        return None
    start_day = _read_day_atom(first.group(1))
    days = {start_day}
    end = first.end()
    rng = _DAY_RANGE_END.match(clause, end)
    if rng is not None:
        last = _read_day_atom(rng.group(1) or rng.group(2))
        day = start_day
        while day != last:  # 周五至周一 wraps over the weekend
            day = (day + 1) % 7
            days.add(day)
        end = rng.end()
    while True:
        item = _DAY_LIST_ITEM.match(clause, end)
        if item is None:
            break
        day = _read_day_atom(item.group(1) or item.group(2))
        days.add(day)
        end = item.end()
        more = _DAY_RANGE_END.match(clause, end)  # 周一、周三至周五
        if more is not None:
            last = _read_day_atom(more.group(1) or more.group(2))
            while day != last:
                day = (day + 1) % 7
                days.add(day)
            end = more.end()
    return frozenset(days), end


def _format_days(days: frozenset[int], ph: bool) -> str:
    """OSM weekday selector: Mo-Fr, Sa,Su, Mo,We,Fr, plus PH; '' for every day."""
    if days == _ALL_DAYS:
        return ""  # a rule without a selector applies to every day, holidays too
    parts: list[str] = []
    ordered = sorted(days)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{_DAY_CODES[ordered[i]]}-{_DAY_CODES[ordered[j]]}")
        else:
            parts.extend(_DAY_CODES[d] for d in ordered[i : j + 1])
        i = j + 1
    if ph:
        parts.append("PH")
    return ",".join(parts)


def _comment(text: str) -> str:
    # OSM comments are double-quoted and cannot contain a double quote.
    cleaned = re.sub(r"[\"\\]", "", text).strip(" ,;、:()")
    return cleaned[:60]


def _union(tokens: list[_DayToken]) -> tuple[frozenset[int], bool]:
    days: set[int] = set()
    ph = False
    for token in tokens:
        days |= token.days
        ph = ph or token.ph
    return frozenset(days), ph


def _finish(rule: _Rule, source: Callable[[int, int], str], out: list[_Done]) -> None:
    """Close the rule being assembled and append it to ``out``."""
    if rule.empty():
        return
    days, ph = _union(rule.day_tokens)
    if not rule.day_tokens:
        days = _ALL_DAYS
    explicit = bool(rule.day_tokens)
    if rule.always:
        out.append(_Done(days, ph, "always", explicit_days=explicit))
    elif rule.times:
        times = tuple(dict.fromkeys(rule.times))  # drop repeats, keep the order
        out.append(_Done(days, ph, "open", times, explicit_days=explicit))
    elif out and out[-1].kind in ("open", "always") and not out[-1].explicit_days:
        # Days written after the times (08:00-20:00（周一至周五）) belong to them.
        last = out[-1]
        out[-1] = _Done(days, ph, last.kind, last.times)
    else:
        span = rule.span()
        text = source(*span) if span else ""
        out.append(_Done(days, ph, "unknown", comment=_comment(text)))


def _parse_clause(clause: str, source: Callable[[int, int], str]) -> list[_Done]:
    """Read one rule clause (normalised text between ';') into finished rules.

    ``source(start, end)`` returns the original ledger text behind
    ``clause[start:end]``, for OSM comments.
    """
    done: list[_Done] = []
    rule = _Rule()
    pos = 0
    # The previous meaningful token: "day", "filler" or "other".  A run of day
    # words joined by connectors (周六、周日及节假日) is one group for 休息.
    prev = "other"
    while pos < len(clause):
        m = _CONNECTOR.match(clause, pos)
        if m:
            pos = m.end()
            continue
        m = _BREAK.match(clause, pos)
        if m:
            pos = m.end()
            prev = "other"
            continue
        m = _SAME_AS_USUAL.match(clause, pos)
        if m:
            pos = m.end()
            prev = "other"
            continue
        m = _ALWAYS.match(clause, pos)
        if m:
            if rule.times:
                raise _Unreadable(f"{m.group(0)!r} next to clock times is contradictory")
            rule.always = True
            rule.spans.append((m.start(), m.end()))
            pos = m.end()
            prev = "other"
            continue
        days_match = _match_day_words(clause, pos)
        if days_match is not None:
            days, ph, end = days_match
            # A new rule starts after times (周一至周五 9-17，周六 9-12) or after
            # a statement such as 工作日开放，周末 10:00-16:00.
            if rule.has_schedule() or (rule.day_tokens and prev == "filler"):
                _finish(rule, source, done)
                rule = _Rule()
            if prev != "day":
                rule.run_start = len(rule.day_tokens)
            rule.day_tokens.append(_DayToken(days, ph, pos, end))
            pos = end
            prev = "day"
            continue
        m = _EXCEPT.match(clause, pos) or _CLOSED.match(clause, pos)
        if m:
            if not rule.day_tokens or rule.has_schedule() or prev != "day":
                raise _Unreadable(f"cannot tell which days {m.group(0)!r} applies to")
            # 除外 takes the one day word before it (周一至周五（节假日除外）),
            # 休息 the whole run (周六、周日及节假日休息).
            cut = len(rule.day_tokens) - 1 if m.re is _EXCEPT else rule.run_start
            off_days, off_ph = _union(rule.day_tokens[cut:])
            del rule.day_tokens[cut:]
            done.append(_Done(off_days, off_ph, "off"))
            rule.run_start = len(rule.day_tokens)
            if not rule.day_tokens:
                rule.spans.clear()
            pos = m.end()
            prev = "other"
            continue
        m = _TIME_RANGE.match(clause, pos)
        if m:
            if rule.always:
                raise _Unreadable(f"{m.group(0)!r} next to 24小时 is contradictory")
            rule.times.append(_time_range(m))
            rule.spans.append((m.start(), m.end()))
            pos = m.end()
            prev = "other"
            continue
        m = _FILLER.match(clause, pos)
        if m:
            if not rule.empty():
                rule.spans.append((m.start(), m.end()))
            pos = m.end()
            prev = "filler"
            continue
        rest = clause[pos : pos + 12]
        raise _Unreadable(f"unrecognised text at {rest!r}")
    _finish(rule, source, done)
    return done


def _match_day_words(clause: str, pos: int) -> tuple[frozenset[int], bool, int] | None:
    weekdays = _match_weekdays(clause, pos)
    if weekdays is not None:
        return weekdays[0], False, weekdays[1]
    for pattern, days, ph in _DAY_WORDS:
        m = pattern.match(clause, pos)
        if m:
            return days, ph, m.end()
    return None


def _render(rules: list[_Done]) -> str:
    """Write finished rules as one OSM expression; closing rules go last."""
    parts: list[str] = []
    for rule in [r for r in rules if r.kind != "off"] + [r for r in rules if r.kind == "off"]:
        selector = _format_days(rule.days, rule.ph)
        whole_day = rule.kind == "open" and rule.times == ((0, 24 * 60),)
        if rule.kind == "always" or whole_day:
            body = "24/7" if not selector else f"{selector} 00:00-24:00"
        elif rule.kind == "open":
            times = ",".join(f"{_fmt_minutes(s)}-{_fmt_minutes(e)}" for s, e in rule.times)
            body = f"{selector} {times}".strip()
        elif rule.kind == "off":
            body = f"{selector or 'Mo-Su'} off"
        else:
            comment = f' "{rule.comment}"' if rule.comment else ""
            body = f"{selector or 'Mo-Su'} unknown{comment}"
        parts.append(body)
    return "; ".join(parts)


def _normalise(text: str) -> tuple[str, list[int]]:
    """Fold width, case, dashes and range words; map each output char to its source.

    Character by character so that OSM comments can quote the ledger's own
    words (周一至周五, not the folded 周一-周五).
    """
    parts: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = unicodedata.normalize("NFKC", char).lower().translate(_FOLD)
        parts.append(folded)
        origin.extend([index] * len(folded))
    return "".join(parts), origin


# Ledgers repeat a handful of hour texts thousands of times; results are immutable.
@lru_cache(maxsize=8192)
def parse_chinese_hours(text: str) -> HoursParse:
    """Translate ledger opening-hours text into an OSM ``opening_hours`` expression.

    Understood: clock ranges (``08:00-20:00``, ``8:00至20:00``, ``8点半-17点``,
    ``早8点-晚8点``, ``上午8:00-12:00 下午2:00-6:00``), several ranges a day
    (``08:30-12:00,13:00-17:30``), weekdays and ranges of them (``周一至周五``,
    ``星期一到星期五``, ``周一、三、五``, ``周六日``, ``周末``, ``工作日``,
    ``每天``, ``全年无休``, ``周一至周日``), public holidays (``节假日`` ->
    ``PH``), closed days (``周一闭馆`` -> ``Mo off``, ``节假日除外`` ->
    ``PH off``), round the clock (``24小时``, ``全天``, ``24h`` -> ``24/7``),
    full-width punctuation, and several rules separated by ``；``/``;``/``。``.

    **Days without hours** (``工作日开放``): the text says the place opens on
    those days but not when.  OSM ``Mo-Fr`` alone would claim it is open all
    24 hours, and inventing ``09:00-17:00`` would be worse, so it becomes
    ``Mo-Fr unknown "工作日开放"``: *unknown* on workdays, closed otherwise,
    the ledger words kept as the OSM comment.  :func:`is_open` is False in the
    unknown state; :func:`open_state` and :func:`describe` tell it apart.

    Ambiguous text is not guessed: ``8点-6点`` (no 下午/晚), bare numbers such
    as ``9-17``, or anything unrecognised gives ``ok=False``.

    Parameters
    ----------
    text : str
        Ledger text, kept verbatim in the result.

    Returns
    -------
    HoursParse
        ``ok=True`` with ``osm`` validated by ``opening-hours-py``; or
        ``ok=False``, ``osm=None`` and an English ``reason``.  Never raises on
        any text.
    """
    if not isinstance(text, str):
        return HoursParse(None, "" if text is None else str(text), False, "no text given")
    original = text
    try:
        if not text.strip():
            return HoursParse(None, original, False, "the text is empty")
        if len(text) > MAX_TEXT_CHARS:
            return HoursParse(
                None, original, False, f"the text is longer than {MAX_TEXT_CHARS} characters"
            )
        normal, origin = _normalise(text)
        rules: list[_Done] = []
        for found in re.finditer(r"[^;]+", normal):
            base = found.start()

            def source(start: int, end: int, base: int = base) -> str:
                return text[origin[base + start] : origin[base + end - 1] + 1]

            rules.extend(_parse_clause(found.group(0), source))
        if not any(rule.kind != "off" for rule in rules):
            return HoursParse(None, original, False, "no opening days or times found")
        osm = _render(rules)
    except _Unreadable as err:
        return HoursParse(None, original, False, str(err))
    except Exception as err:  # noqa: BLE001 - never raise on user text; tests assert unreached
        return HoursParse(None, original, False, f"internal parser error: {type(err).__name__}")
    try:
        opening_hours.OpeningHours(osm)
    except Exception as err:  # noqa: BLE001 - the library raises ParserError/SyntaxError
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return HoursParse(
            None, original, False, f"produced {osm!r} but opening_hours rejects it: {first_line}"
        )
    note = None
    if any(rule.kind == "unknown" for rule in rules):
        note = "days are given but not the hours; those days are marked unknown"
    return HoursParse(osm, original, True, note)


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
