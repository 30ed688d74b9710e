"""Turn Chinese opening-hours text into OpenStreetMap ``opening_hours``.

One thing, the clause parser, which is why it is longer than most modules."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

import opening_hours

from geo.places.hours_lexicon import (
    _ALL_DAYS,
    _ALWAYS,
    _BREAK,
    _CLOSED,
    _CN_DAY,
    _CN_NUM,
    _CONNECTOR,
    _DAY_ATOM,
    _DAY_CODES,
    _DAY_LIST_ITEM,
    _DAY_RANGE_END,
    _DAY_WORDS,
    _DIGIT_DAY,
    _EXCEPT,
    _FILLER,
    _FOLD,
    _SAME_AS_USUAL,
    _TIME_RANGE,
    MAX_TEXT_CHARS,
    HoursParse,
    _DayToken,
    _Done,
    _Rule,
    _Unreadable,
)


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
