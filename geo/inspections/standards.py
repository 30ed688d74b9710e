"""A standard as data: items with a weight and a "serious" flag, thresholds, stars, window.

A union writes its standard as a YAML (or JSON) file, see
``data/standards/qinghai-six-haves.yaml``; :func:`parse_standard` checks it
and names the field at fault.  A standard is identified by ``code`` and
``version``: an edited file is imported under a new version, and a visit keeps
the version it was scored with, so changing a standard never rewrites a past
score.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from geo.errors import InvalidInput

#: Where the shipped standards live (Qinghai six haves, eight haves, complaints).
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "data" / "standards"
#: Largest standard file read, in bytes.
MAX_FILE_BYTES = 256 * 1024
#: Outcomes of one item on a visit.
OUTCOMES: tuple[str, ...] = ("pass", "fail", "na")


@dataclass(frozen=True)
class Item:
    """One thing inspected: a key, its names, its weight and whether failing it is serious."""

    key: str
    name: str
    name_en: str
    weight: int
    serious: bool


@dataclass(frozen=True)
class StarRule:
    """A mean score of at least ``min_score`` (0-100) earns ``stars`` (1-5)."""

    min_score: int
    stars: int


@dataclass(frozen=True)
class Standard:
    """A versioned standard; see the module docstring."""

    code: str
    version: int
    name: str
    name_en: str
    items: tuple[Item, ...]
    pass_score: int
    window_days: int
    hours_item: str | None
    star_visits: int
    stars: tuple[StarRule, ...]
    default: bool = False
    unions: tuple[str, ...] = ()

    def item(self, key: str) -> Item:
        """Return the item with this key, or raise :class:`InvalidInput` naming it."""
        for item in self.items:
            if item.key == key:
                return item
        raise InvalidInput(
            f"unknown item {key!r} for standard {self.code} v{self.version}", field=f"item_{key}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the definition as JSON-ready data (what is stored with each version)."""
        return {
            "code": self.code,
            "version": self.version,
            "name": self.name,
            "name_en": self.name_en,
            "default": self.default,
            "unions": list(self.unions),
            "items": [
                {
                    "key": i.key,
                    "name": i.name,
                    "name_en": i.name_en,
                    "weight": i.weight,
                    "serious": i.serious,
                }
                for i in self.items
            ],
            "pass_score": self.pass_score,
            "window_days": self.window_days,
            "hours_item": self.hours_item,
            "star_visits": self.star_visits,
            "stars": [{"min_score": r.min_score, "stars": r.stars} for r in self.stars],
        }


def _int(data: Mapping[str, Any], key: str, low: int, high: int, field: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{field} must be a whole number from {low} to {high}", field=field)
    return value


def _text(data: Mapping[str, Any], key: str, field: str, *, required: bool = True) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > 200:
        raise InvalidInput(f"{field} must be a text of 1-200 characters", field=field)
    return value.strip()


def parse_standard(data: Any) -> Standard:
    """Check a standard's definition (a mapping read from YAML/JSON) and return it.

    Raises
    ------
    InvalidInput
        With ``field`` naming the first wrong field (``items[2].weight``...).
    """
    if not isinstance(data, Mapping):
        raise InvalidInput("a standard must be a mapping of fields", field="standard")
    code = _text(data, "code", "code")
    if not all(c.isascii() and (c.isalnum() or c in "-_") for c in code) or len(code) > 40:
        raise InvalidInput("code must be 1-40 letters, digits, '-' or '_'", field="code")
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items or len(raw_items) > 50:
        raise InvalidInput("items must be a list of 1-50 items", field="items")
    items: list[Item] = []
    for n, raw in enumerate(raw_items):
        where = f"items[{n}]"
        if not isinstance(raw, Mapping):
            raise InvalidInput(f"{where} must be a mapping", field=where)
        key = _text(raw, "key", f"{where}.key")
        if not all(c.isascii() and (c.isalnum() or c == "_") for c in key) or len(key) > 40:
            raise InvalidInput(f"{where}.key must be letters, digits or '_'", field=f"{where}.key")
        if any(i.key == key for i in items):
            raise InvalidInput(f"{where}.key {key!r} is repeated", field=f"{where}.key")
        serious = raw.get("serious", False)
        if not isinstance(serious, bool):
            raise InvalidInput(f"{where}.serious must be true or false", field=f"{where}.serious")
        items.append(
            Item(
                key,
                _text(raw, "name", f"{where}.name"),
                _text(raw, "name_en", f"{where}.name_en", required=False),
                _int(raw, "weight", 1, 100, f"{where}.weight"),
                serious,
            )
        )
    hours_item = data.get("hours_item")
    if hours_item is not None and hours_item not in {i.key for i in items}:
        raise InvalidInput("hours_item must be the key of one of the items", field="hours_item")
    raw_stars = data.get("stars")
    if not isinstance(raw_stars, list) or not raw_stars:
        raise InvalidInput("stars must be a list of {min_score, stars} rules", field="stars")
    stars = []
    for n, raw in enumerate(raw_stars):
        if not isinstance(raw, Mapping):
            raise InvalidInput(f"stars[{n}] must be a mapping", field=f"stars[{n}]")
        stars.append(
            StarRule(
                _int(raw, "min_score", 0, 100, f"stars[{n}].min_score"),
                _int(raw, "stars", 1, 5, f"stars[{n}].stars"),
            )
        )
    stars.sort(key=lambda r: -r.min_score)
    if stars[-1].min_score != 0:
        raise InvalidInput("stars must include a rule with min_score 0", field="stars")
    if any(a.stars < b.stars for a, b in zip(stars, stars[1:], strict=False)):
        raise InvalidInput("a higher min_score must never give fewer stars", field="stars")
    unions = data.get("unions") or []
    if not isinstance(unions, list) or not all(isinstance(u, str) for u in unions):
        raise InvalidInput("unions must be a list of managing-union names", field="unions")
    default = data.get("default", False)
    if not isinstance(default, bool):
        raise InvalidInput("default must be true or false", field="default")
    return Standard(
        code=code,
        version=_int(data, "version", 1, 10_000, "version"),
        name=_text(data, "name", "name"),
        name_en=_text(data, "name_en", "name_en", required=False),
        items=tuple(items),
        pass_score=_int(data, "pass_score", 0, 100, "pass_score"),
        window_days=_int(data, "window_days", 1, 3660, "window_days"),
        hours_item=hours_item,
        star_visits=_int(data, "star_visits", 1, 20, "star_visits"),
        stars=tuple(stars),
        default=default,
        unions=tuple(u.strip() for u in unions if u.strip()),
    )


def read_standard(path: Path) -> Standard:
    """Read and check a standard file (``.yaml``, ``.yml`` or ``.json``)."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InvalidInput(f"{path.name} is larger than {MAX_FILE_BYTES} bytes", field="file")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as err:
        raise InvalidInput(f"{path.name} is not valid YAML/JSON: {err}", field="file") from err
    return parse_standard(data)


def shipped_standards() -> list[Standard]:
    """Return the standards shipped in ``data/standards``, by file name."""
    files = sorted(SHIPPED_DIR.glob("*.yaml"))
    if not files:
        # data/ is in the source tree, not in an installed wheel: give the files instead.
        raise InvalidInput(
            f"no shipped standards in {SHIPPED_DIR}; give the YAML files "
            "(data/standards/*.yaml in the source tree)",
            field="file",
        )
    return [read_standard(p) for p in files]
