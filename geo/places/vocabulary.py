"""Place kinds and the controlled vocabularies a place is described with.

This module is the single source of every vocabulary: the database CHECK
constraints, the importer's synonym tables, the API's validation and the
pages' labels are all built from the tuples below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class Kind(StrEnum):
    """What kind of service point a place is."""

    STATION = "station"  # 户外劳动者服务站点 / 工会驿站 / 暖心驿站
    READING_NOOK = "reading_nook"  # 职工书屋 / 阅读点
    BREAKFAST_POINT = "breakfast_point"  # 暖心早餐 指定饭馆
    DRIVER_HOME = "driver_home"  # 司机之家


class Status(StrEnum):
    """Life-cycle status of a place; only ``active`` places serve workers."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"
    PLANNED = "planned"


class BuildMode(StrEnum):
    """Whether the union built the place itself or with a host."""

    SELF_BUILT = "self_built"  # 自建
    CO_BUILT = "co_built"  # 共建


class SourceCRS(StrEnum):
    """Coordinate systems a ledger may be written in."""

    WGS84 = "wgs84"  # GPS, OpenStreetMap
    GCJ02 = "gcj02"  # Amap/Gaode, Tencent, most Chinese ledgers
    BD09 = "bd09"  # Baidu


@dataclass(frozen=True)
class Term:
    """One word of a controlled vocabulary, with its labels and synonyms."""

    code: str
    zh: str
    en: str
    synonyms: tuple[str, ...] = ()


KIND_TERMS: tuple[Term, ...] = (
    Term(
        "station",
        "户外劳动者服务站点",
        "Outdoor workers' station",
        ("驿站", "工会驿站", "暖心驿站", "爱心驿站", "劳动者港湾", "服务站点", "站点"),
    ),
    Term("reading_nook", "职工书屋", "Workers' reading nook", ("书屋", "阅读点", "城市书房")),
    Term("breakfast_point", "暖心早餐点", "Breakfast point", ("暖心早餐", "爱心早餐", "早餐点")),
    Term("driver_home", "司机之家", "Drivers' home", ("司机之家",)),
)

AMENITY_TERMS: tuple[Term, ...] = (
    Term("water", "饮用水", "Drinking water", ("drink", "drinking_water", "饮水", "喝水", "茶水")),
    Term("hot_water", "热水", "Hot water", ("热水", "开水")),
    Term("microwave", "微波炉", "Microwave", ("热饭", "加热", "meal_heating")),
    Term("charging", "手机充电", "Phone charging", ("充电", "phone_charging", "插座")),
    Term("toilet", "卫生间", "Toilet", ("厕所", "如厕", "wc", "toilets")),
    Term("seating", "休息座椅", "Seats", ("seat", "seats", "rest", "休息", "座椅", "桌椅")),
    Term("heating", "取暖", "Heating", ("暖气", "供暖")),
    Term("cooling", "空调降温", "Cooling", ("ac", "air_conditioning", "空调", "降温")),
    Term("shower", "淋浴", "Shower", ("洗浴",)),
    Term("first_aid", "急救药箱", "First-aid kit", ("药箱", "医药箱", "急救", "medicine")),
    Term("wifi", "无线网络", "Wi-Fi", ("wi-fi", "无线", "网络")),
    Term("reading", "书报阅读", "Books and newspapers", ("books", "书报", "阅读", "图书")),
    Term("umbrella", "爱心雨伞", "Umbrellas", ("雨伞", "伞")),
    Term("battery_swap", "电瓶充换电", "E-bike battery charging", ("电瓶", "换电", "电动车充电")),
    Term("women_room", "温馨小屋", "Women's rest room", ("母婴", "女职工休息室")),
    Term("meals", "餐食", "Meals", ("早餐", "餐饮", "breakfast", "用餐")),
    Term("fridge", "冰箱", "Fridge", ("fridge", "冰柜")),
    Term("repair", "维修工具", "Repair tools", ("打气", "维修", "打气筒", "tools")),
    Term("legal_aid", "法律援助", "Legal aid", ("法律", "维权")),
    Term("job_notices", "就业信息", "Job notices", ("招聘", "就业")),
)

STATUS_TERMS: tuple[Term, ...] = (
    Term("active", "开放", "Open", ("open", "正常", "运营", "开放中", "在用")),
    Term("suspended", "暂停", "Suspended", ("暂停服务", "停用")),
    Term("closed", "已关闭", "Closed", ("关闭", "撤销", "removed")),
    Term("planned", "筹建中", "Planned", ("规划", "在建", "筹建")),
)

HOST_TERMS: tuple[Term, ...] = (
    Term("union", "工会阵地", "Union premises", ("工会", "职工之家", "工人文化宫")),
    Term("community", "社区服务中心", "Community centre", ("社区", "街道", "村委会")),
    Term(
        "government", "政务服务大厅", "Government service hall", ("政务", "便民服务大厅", "办事处")
    ),
    Term("bank", "银行网点", "Bank branch", ("银行", "信用社")),
    Term("pharmacy", "药店", "Pharmacy", ("药房",)),
    Term("shop", "商铺", "Shop", ("超市", "便利店", "商场")),
    Term("restaurant", "餐馆", "Restaurant", ("饭馆", "餐厅", "饭店")),
    Term("transport", "交通场站", "Bus or coach station", ("公交", "车站", "客运站")),
    Term("petrol_station", "加油站", "Petrol station", ("加油", "中石化", "中石油")),
    Term("enterprise", "企业", "Company premises", ("公司", "园区")),
    Term("sanitation", "环卫站点", "Sanitation depot", ("环卫",)),
    Term("mobile", "流动站点", "Mobile unit", ("流动",)),
    Term("other", "其他", "Other", ()),
)

SIX_HAVES: tuple[Term, ...] = (
    Term("sign", "有统一的标识名称", "Unified sign and name"),
    Term("layout", "有合理的站点布局", "Reasonable site layout"),
    Term("facilities", "有健全的服务设施", "Sound facilities"),
    Term("functions", "有完善的服务功能", "Complete service functions"),
    Term("management", "有规范的管理制度", "Standard management rules"),
    Term("on_map", "有地图可查", "Can be found on a map"),
)

KINDS: tuple[str, ...] = tuple(k.value for k in Kind)
STATUSES: tuple[str, ...] = tuple(s.value for s in Status)
BUILD_MODES: tuple[str, ...] = tuple(b.value for b in BuildMode)
SOURCE_CRSES: tuple[str, ...] = tuple(c.value for c in SourceCRS)
AMENITIES: tuple[str, ...] = tuple(t.code for t in AMENITY_TERMS)
HOST_TYPES: tuple[str, ...] = tuple(t.code for t in HOST_TERMS)
SIX_HAVE_KEYS: tuple[str, ...] = tuple(t.code for t in SIX_HAVES)

# The plausible extent of places (WGS-84 degrees): mainland China and its
# islands with a margin.  The database enforces the same box.
CHINA_BBOX: tuple[float, float, float, float] = (73.0, 3.0, 136.0, 54.0)


def term_index(terms: tuple[Term, ...]) -> dict[str, str]:
    """Map every code, label and synonym (case-folded) of a vocabulary to its code."""
    out: dict[str, str] = {}
    for term in terms:
        for word in (term.code, term.zh, term.en, *term.synonyms):
            out[word.strip().casefold()] = term.code
    return out


_AMENITY_INDEX = term_index(AMENITY_TERMS)
_STATUS_INDEX = term_index(STATUS_TERMS)
_KIND_INDEX = term_index(KIND_TERMS)
_HOST_INDEX = term_index(HOST_TERMS)


def normalize_amenity(word: str) -> str | None:
    """Return the amenity code for a ledger word (any language), or None."""
    return _AMENITY_INDEX.get(word.strip().casefold())


def normalize_status(word: str) -> str | None:
    """Return the status code for a ledger word, or None if unknown."""
    return _STATUS_INDEX.get(word.strip().casefold())


def normalize_kind(word: str) -> str | None:
    """Return the kind code for a ledger word, or None if unknown."""
    return _KIND_INDEX.get(word.strip().casefold())


def _host_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    """One alternation over every host word, longest first, and word -> code."""
    words = {w.casefold(): t.code for t in reversed(HOST_TERMS) for w in (t.zh, *t.synonyms)}
    ordered = sorted(words, key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in ordered)), words


_HOST_PATTERN, _HOST_WORDS = _host_pattern()


def guess_host_type(text: str) -> str | None:
    """Guess the host type from a name or address by its telltale words."""
    folded = text.casefold()
    exact = _HOST_INDEX.get(folded.strip())
    if exact:
        return exact
    found = _HOST_PATTERN.search(folded)
    return _HOST_WORDS[found.group()] if found else None


def term(terms: tuple[Term, ...], code: str) -> Term:
    """Return the term with ``code`` from a vocabulary (KeyError if absent)."""
    for candidate in terms:
        if candidate.code == code:
            return candidate
    raise KeyError(code)


@dataclass(frozen=True)
class PlaceRecord:
    """One place as the importer produces it, already in WGS-84.

    ``lon``/``lat`` are WGS-84 degrees.  ``external_id`` is the natural key
    within ``source``: re-importing a ledger updates rows with the same key.
    """

    source: str
    external_id: str
    kind: str
    name: str
    lon: float
    lat: float
    source_crs: str
    name_en: str | None = None
    address: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    adcode: str | None = None
    ledger_district: str | None = None
    amenities: tuple[str, ...] = ()
    opening_hours: str | None = None
    opening_hours_text: str | None = None
    status: str = Status.ACTIVE.value
    host_type: str | None = None
    build_mode: str | None = None
    capacity: int | None = None
    phone: str | None = None
    managing_union: str | None = None
    station_no: str | None = None
    six_haves: dict[str, bool] = field(default_factory=dict)
    last_verified: date | None = None
    is_demo: bool = False
