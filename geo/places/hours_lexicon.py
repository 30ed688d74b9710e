"""Words, numbers and patterns of Chinese opening-hours text, and the parse result."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Longest ledger text we try to read; longer text is kept verbatim, unparsed.
MAX_TEXT_CHARS = 500


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
