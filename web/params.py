"""Parse and validate query parameters of the finder, API and embed routes.

Each parser takes the raw ``request.args`` (a ``MultiDict``) and either
returns a clean value or raises :class:`geo.errors.InvalidInput` whose
``field`` names the parameter and whose message says what was wrong and what
is expected; ``web/errors.py`` turns that into a 400 problem response.  No bad
input reaches SQL, and none becomes a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from geo.crs import validate_lonlat
from geo.errors import InvalidInput
from geo.places import AMENITIES, CHINA_BBOX, KINDS

__all__ = [
    "bbox_param",
    "bool_param",
    "codes_param",
    "cursor_param",
    "datetime_param",
    "encode_cursor",
    "float_param",
    "int_param",
    "lonlat_params",
    "text_param",
]

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


def _shown(raw: str, limit: int = 40) -> str:
    return raw if len(raw) <= limit else raw[: limit - 3] + "..."


def lonlat_params(args: MultiDict[str, str]) -> tuple[float, float]:
    """Return ``(lon, lat)`` WGS-84 degrees from ``lon`` and ``lat``, inside China."""
    return validate_lonlat(args.get("lon"), args.get("lat"), bbox=CHINA_BBOX)


def int_param(
    args: MultiDict[str, str], name: str, *, default: int | None, lo: int, hi: int
) -> int | None:
    """Return an integer parameter within ``lo..hi`` (inclusive), or ``default`` if absent."""
    raw = args.get(name)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not text.lstrip("+-").isdigit():
        raise InvalidInput(f"{name} {_shown(raw)!r} is not a whole number", field=name)
    value = int(text)
    if value < lo:
        raise InvalidInput(f"{name} {value} is less than {lo}; expected {lo}..{hi}", field=name)
    if value > hi:
        raise InvalidInput(f"{name} {value} is more than {hi}; expected {lo}..{hi}", field=name)
    return value


def float_param(
    args: MultiDict[str, str], name: str, *, lo: float, hi: float
) -> float | None:
    """Return a finite float parameter within ``lo..hi``, or None if absent."""
    raw = args.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"{name} {_shown(raw)!r} is not a number", field=name) from None
    if not math.isfinite(value):
        raise InvalidInput(f"{name} must be a finite number, got {raw!r}", field=name)
    if not lo <= value <= hi:
        raise InvalidInput(f"{name} {value:g} is outside {lo:g}..{hi:g}", field=name)
    return value


def bool_param(args: MultiDict[str, str], name: str) -> bool:
    """Return a yes/no parameter (``1/0``, ``true/false``); absent means no."""
    raw = args.get(name)
    if raw is None:
        return False
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise InvalidInput(f"{name} {_shown(raw)!r} is not a yes/no value; use 1 or 0", field=name)


def codes_param(
    args: MultiDict[str, str], name: str, *, allowed: Sequence[str]
) -> tuple[str, ...]:
    """Return codes from a repeated and/or comma-separated parameter, each from ``allowed``."""
    codes: list[str] = []
    for raw in args.getlist(name):
        for part in raw.split(","):
            code = part.strip()
            if not code:
                continue
            if code not in allowed:
                raise InvalidInput(
                    f"{name} {_shown(code)!r} is unknown; expected one of {', '.join(allowed)}",
                    field=name,
                )
            if code not in codes:
                codes.append(code)
    return tuple(codes)


def kinds_param(args: MultiDict[str, str], name: str = "kind") -> tuple[str, ...]:
    """Return place kinds (``geo.places.KINDS``) from ``kind``."""
    return codes_param(args, name, allowed=KINDS)


def amenities_param(args: MultiDict[str, str], name: str = "amenity") -> tuple[str, ...]:
    """Return amenity codes (``geo.places.AMENITIES``) from ``amenity``."""
    return codes_param(args, name, allowed=AMENITIES)


def bbox_param(
    args: MultiDict[str, str], name: str = "bbox", *, required: bool = False
) -> tuple[float, float, float, float] | None:
    """Return ``(min_lon, min_lat, max_lon, max_lat)`` WGS-84 degrees from ``bbox``.

    The box must be four finite numbers, west < east, south < north, inside
    -180..180 / -90..90; it is clipped to nothing else.
    """
    raw = args.get(name)
    if raw is None or raw.strip() == "":
        if required:
            raise InvalidInput(
                f"{name} is missing; expected min_lon,min_lat,max_lon,max_lat in WGS-84 degrees",
                field=name,
            )
        return None
    parts = raw.split(",")
    expected = "expected min_lon,min_lat,max_lon,max_lat in WGS-84 degrees"
    if len(parts) != 4:
        raise InvalidInput(
            f"{name} {_shown(raw)!r} has {len(parts)} values; {expected}", field=name
        )
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InvalidInput(f"{name} {_shown(raw)!r} is not four numbers; {expected}",
                           field=name) from None
    if not all(math.isfinite(v) for v in values):
        raise InvalidInput(f"{name} {_shown(raw)!r} holds a non-finite number", field=name)
    min_lon, min_lat, max_lon, max_lat = values
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise InvalidInput(f"{name} longitudes must be within -180..180", field=name)
    if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
        raise InvalidInput(f"{name} latitudes must be within -90..90; were lon and lat swapped?",
                           field=name)
    if min_lon >= max_lon or min_lat >= max_lat:
        raise InvalidInput(
            f"{name} is empty or inverted: need min_lon < max_lon and min_lat < max_lat", field=name
        )
    return (min_lon, min_lat, max_lon, max_lat)


def text_param(args: MultiDict[str, str], name: str, *, max_len: int = 100) -> str | None:
    """Return a trimmed free-text parameter of at most ``max_len`` characters, or None."""
    raw = args.get(name)
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if len(text) > max_len:
        raise InvalidInput(f"{name} is {len(text)} characters; at most {max_len}", field=name)
    if any(ord(c) < 32 for c in text):
        raise InvalidInput(f"{name} contains control characters", field=name)
    return text


def datetime_param(args: MultiDict[str, str], name: str) -> datetime | None:
    """Return an ISO 8601 instant; a time without offset is China time (UTC+8)."""
    raw = args.get(name)
    if raw is None or not raw.strip():
        return None
    text = raw.strip().replace(" ", "+") if "T" in raw else raw.strip()
    # ``+08:00`` in a query string arrives as `` 08:00`` when the client did
    # not percent-encode it; the replace above repairs that common mistake.
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{name} {_shown(raw)!r} is not an ISO 8601 date-time "
            "such as 2025-01-31T08:00:00+08:00",
            field=name,
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_TZ)
    if not 1970 <= value.year <= 2200:
        raise InvalidInput(f"{name} year {value.year} is outside 1970..2200", field=name)
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    """Return an opaque paging cursor for ``values`` (ints and ISO strings)."""
    payload = json.dumps(list(values), separators=(",", ":"), default=str)
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def cursor_param(args: MultiDict[str, str], name: str = "cursor") -> list[Any] | None:
    """Decode a cursor made by :func:`encode_cursor`, or None if absent."""
    raw = args.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        padded = raw.strip() + "=" * (-len(raw.strip()) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidInput(f"{name} is not a cursor this API gave out", field=name) from None
    if not isinstance(values, list):
        raise InvalidInput(f"{name} is not a cursor this API gave out", field=name)
    return values
