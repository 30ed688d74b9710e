"""District names as ledgers write them: suffixes, stems, development zones."""

from __future__ import annotations

import re
import unicodedata


def _forms(*names: str) -> tuple[str, ...]:
    return tuple(sorted({n for n in names if n}, key=len, reverse=True))


# --------------------------------------------------------------------------
# Names as ledgers write them.
# --------------------------------------------------------------------------

# Ledger separators and spaces between province, city and district.
_SEPARATORS = re.compile(r"[\s/\\|,，、·\-－—_]+")


# Endings of county-level names, longest first so 自治县 wins over 县.
_ADMIN_SUFFIXES = ("自治县", "自治旗", "新区", "林区", "特区", "区", "县", "市", "旗")


# One or more ethnic-group words, as in 回族土族 (大通回族土族自治县).
_ETHNIC_RUN = re.compile(r"^(?:[\u4e00-\u9fff]{1,5}?族)+$")


# Words that mark a development or functional zone (开发区, 高新区, 新区,
# 航空港区 ...): these areas have no county-level status.  Official names that
# contain them (浦东新区, 滨海新区) are recognized first, so they never get here.
_ZONE_WORDS = (
    "高新",
    "经开",
    "开发区",
    "园区",
    "新区",
    "港区",
    "示范区",
    "试验区",
    "实验区",
    "保税区",
    "自贸区",
    "综保区",
    "管委会",
    "集聚区",
    "功能区",
    "片区",
    "合作区",
)


def _clean(text: str) -> str:
    """NFKC-normalize and drop spaces and separators."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).strip()


def _strip_suffix(name: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _stems(name: str) -> set[str]:
    """Forms of a county-level name without its administrative ending."""
    stems = {name}
    for suffix in _ADMIN_SUFFIXES:
        # One-character stems (城 of 城区, 矿 of 矿区) would match nearly anything.
        if name.endswith(suffix) and len(name) >= len(suffix) + 2:
            stems.add(name[: -len(suffix)])
    return stems


def is_development_zone(written: str) -> bool:
    """Tell whether a name looks like a development or functional zone (高新区, 经开区, 航空港区).

    Official districts whose names contain such words (``浦东新区``) are
    only recognized as official by :func:`check_written_district`, which
    compares with the city's real districts first.
    """
    text = _clean(written)
    return any(word in text for word in _ZONE_WORDS)


# --------------------------------------------------------------------------
# Areas for the planner.
# --------------------------------------------------------------------------


def _label(province: str, city: str | None, district: str | None) -> str:
    parts = [province]
    if city and city != province:
        parts.append(city)
    if district and district != city:
        parts.append(district)
    return "".join(parts)
