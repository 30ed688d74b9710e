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
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from werkzeug.datastructures import MultiDict

from geo.errors import InvalidInput, InvalidLocation
from geo.places.crs import validate_lonlat
from geo.places.timezone import SHANGHAI
from geo.places.vocabulary import AMENITIES, CHINA_BBOX, KINDS

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
    "parse_float",
    "parse_int",
    "text_param",
]

LOCAL_TZ = SHANGHAI
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})
# ASCII only, written out: ``\d``, ``str.isdigit`` and ``float()`` also take
# full-width digits, superscripts, circled numbers and ``1_000``.
INTEGER = re.compile(r"[+-]?[0-9]{1,20}")
DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
MAX_DECIMAL_CHARS = 40


def _shown(raw: str, limit: int = 40) -> str:
    return raw if len(raw) <= limit else raw[: limit - 3] + "..."


def single(args: MultiDict[str, str], name: str) -> str | None:
    """Return the one value of a single-valued parameter (None if absent).

    A parameter given twice (``lon=1&lon=2``) is refused rather than
    silently read as its first value: the two cannot both be meant.
    """
    values = args.getlist(name)
    if len(values) > 1:
        raise InvalidInput(f"{name} is given {len(values)} times; give it once", field=name)
    return values[0] if values else None


def lonlat_params(args: MultiDict[str, str]) -> tuple[float, float]:
    """Return ``(lon, lat)`` WGS-84 degrees from ``lon`` and ``lat``, inside China."""
    lon, lat = (_coordinate(single(args, name), name) for name in ("lon", "lat"))
    return validate_lonlat(lon, lat, bbox=CHINA_BBOX)


def _coordinate(raw: str | None, name: str) -> float | None:
    # Absent stays None, so that validate_lonlat says it is missing.
    if raw is None or not raw.strip():
        return None
    value = _decimal(raw)
    if value is None:
        raise InvalidLocation(
            f"{name} {_shown(raw)!r} is not a finite decimal number; expected WGS-84 degrees",
            field=name,
        )
    return value


def parse_int(raw: str, name: str, *, lo: int, hi: int) -> int:
    """Return ``raw`` (ASCII ``[+-]?[0-9]+``, spaces around allowed) as an int in ``lo..hi``.

    Raises :class:`InvalidInput` naming ``name`` and the expected range otherwise.
    """
    text = raw.strip()
    expected = f"expected a whole number {lo}..{hi}"
    if not INTEGER.fullmatch(text):
        raise InvalidInput(f"{name} {_shown(raw)!r} is not a whole number; {expected}", field=name)
    value = int(text)
    if not lo <= value <= hi:
        raise InvalidInput(f"{name} {_shown(text)} is out of range; {expected}", field=name)
    return value


def _decimal(raw: str) -> float | None:
    """Return the finite float that ASCII ``raw`` spells (spaces around allowed), else None."""
    text = raw.strip()
    if len(text) > MAX_DECIMAL_CHARS or not DECIMAL.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def parse_float(raw: str, name: str, *, lo: float, hi: float) -> float:
    """Return ``raw`` (an ASCII decimal such as ``-12.5`` or ``2e3``) as a float in ``lo..hi``.

    NaN, infinities, overflowing exponents, ``1_0`` and non-ASCII digits are
    refused with :class:`InvalidInput` naming ``name`` and the expected range.
    """
    expected = f"expected a number {lo:g}..{hi:g}"
    value = _decimal(raw)
    if value is None:
        raise InvalidInput(
            f"{name} {_shown(raw)!r} is not a finite decimal number; {expected}", field=name
        )
    if not lo <= value <= hi:
        raise InvalidInput(f"{name} {value:g} is out of range; {expected}", field=name)
    return value


def int_param(
    args: MultiDict[str, str], name: str, *, default: int | None, lo: int, hi: int
) -> int | None:
    """Return an integer parameter within ``lo..hi`` (inclusive), or ``default`` if absent."""
    raw = single(args, name)
    if raw is None or raw.strip() == "":
        return default
    return parse_int(raw, name, lo=lo, hi=hi)


def float_param(args: MultiDict[str, str], name: str, *, lo: float, hi: float) -> float | None:
    """Return a finite float parameter within ``lo..hi``, or None if absent."""
    raw = single(args, name)
    if raw is None or raw.strip() == "":
        return None
    return parse_float(raw, name, lo=lo, hi=hi)


def bool_param(args: MultiDict[str, str], name: str) -> bool:
    """Return a yes/no parameter (``1/0``, ``true/false``); absent means no."""
    raw = single(args, name)
    if raw is None:
        return False
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise InvalidInput(f"{name} {_shown(raw)!r} is not a yes/no value; use 1 or 0", field=name)


def codes_param(args: MultiDict[str, str], name: str, *, allowed: Sequence[str]) -> tuple[str, ...]:
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

    The box must be four finite numbers, west <= east, south <= north, inside
    -180..180 / -90..90; it is clipped to nothing else.  Given twice or
    given empty, it is refused.
    """
    raw = single(args, name)
    if raw is None:
        if required:
            raise InvalidInput(
                f"{name} is missing; expected min_lon,min_lat,max_lon,max_lat in WGS-84 degrees",
                field=name,
            )
        return None
    if raw.strip() == "":
        # Present but empty is not "everywhere" (leave it out for that): the
        # schema's pattern refuses it, and so does the parser.
        raise InvalidInput(
            f"{name} is empty; expected min_lon,min_lat,max_lon,max_lat in WGS-84 degrees "
            "(leave it out for everywhere)",
            field=name,
        )
    parts = raw.split(",")
    expected = "expected min_lon,min_lat,max_lon,max_lat in WGS-84 degrees"
    if len(parts) != 4:
        raise InvalidInput(
            f"{name} {_shown(raw)!r} has {len(parts)} values; {expected}", field=name
        )
    values = [v for v in map(_decimal, parts) if v is not None]
    if len(values) != 4:
        raise InvalidInput(
            f"{name} {_shown(raw)!r} is not four finite decimal numbers; {expected}", field=name
        )
    min_lon, min_lat, max_lon, max_lat = values
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise InvalidInput(f"{name} longitudes must be within -180..180", field=name)
    if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
        raise InvalidInput(
            f"{name} latitudes must be within -90..90; were lon and lat swapped?", field=name
        )
    # A box of zero width or height (bbox=0,0,0,0) is a box: it holds the
    # places exactly on it.  An inverted one is refused -- the one rule the
    # OpenAPI schema cannot state.
    if min_lon > max_lon or min_lat > max_lat:
        raise InvalidInput(
            f"{name} is inverted: need min_lon <= max_lon and min_lat <= max_lat", field=name
        )
    return (min_lon, min_lat, max_lon, max_lat)


def text_param(args: MultiDict[str, str], name: str, *, max_len: int = 100) -> str | None:
    """Return a trimmed free-text parameter of at most ``max_len`` characters, or None."""
    raw = single(args, name)
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
    raw = single(args, name)
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
    raw = single(args, name)
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
