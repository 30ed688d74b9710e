"""Workers' problem reports, confirmations and check-ins: the vocabulary and its rules.

A report has a *type* (closed during its hours, locked, an amenity missing,
...), a severity derived from the type (the moderation queue sorts by it),
and, depending on the type, an amenity, a proposed opening-hours text, a
proposed point or free text.  :func:`validate_report` turns raw values into a
:class:`ReportDraft` or raises :class:`~geo.errors.InvalidInput` naming the
field.  Words for people live in ``web/`` (translated); here are codes only.

Client addresses are never stored: :func:`client_hash` keys an HMAC with a
key that changes every day, so a day's hashes can collapse duplicates and
count a flood, and cannot be linked to the next day's.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import date

from geo.errors import InvalidInput
from geo.places.vocabulary import AMENITIES, CHINA_BBOX


@dataclass(frozen=True)
class ReportType:
    """One kind of problem a worker can report.

    Attributes
    ----------
    code : str
        Stable code (API and database).
    severity : int
        1 (a detail is wrong) .. 4 (the place is not there); the queue shows
        the most severe first.
    needs : str or None
        The extra value this type requires: ``"amenity"``, ``"hours"``,
        ``"point"``, ``"text"`` or None.
    """

    code: str
    severity: int
    needs: str | None = None


REPORT_TYPES: tuple[ReportType, ...] = (
    ReportType("closed_in_hours", 3),
    ReportType("locked", 3),
    ReportType("amenity_missing", 2, "amenity"),
    ReportType("first_aid", 2),
    ReportType("wrong_hours", 1, "hours"),
    ReportType("wrong_location", 1, "point"),
    ReportType("gone", 4),
    ReportType("other", 1, "text"),
)
REPORT_TYPE_CODES: tuple[str, ...] = tuple(t.code for t in REPORT_TYPES)
_TYPES = {t.code: t for t in REPORT_TYPES}

#: Report statuses: received (new), confirmed (a moderator agrees), fixed
#: (the problem is gone), rejected (with a public reason), duplicate (merged
#: into another report, whose status it then follows).
REPORT_STATUSES: tuple[str, ...] = ("received", "confirmed", "fixed", "rejected", "duplicate")
#: Statuses that keep a problem showing on the place page.
OPEN_STATUSES: tuple[str, ...] = ("received", "confirmed")

#: Moderator actions and the status each leaves.
MODERATION_ACTIONS: dict[str, str] = {
    "confirm": "confirmed",
    "reject": "rejected",
    "fix": "fixed",
    "merge": "duplicate",
}

#: Check-in purposes (optional; nothing else about the visit is kept).
CHECKIN_PURPOSES: tuple[str, ...] = (
    "rest",
    "water",
    "toilet",
    "charging",
    "meal",
    "warmth",
    "cooling",
    "other",
)

TEXT_MAX_CHARS = 500
HOURS_MAX_CHARS = 200
REASON_MAX_CHARS = 300
# Crockford's base32 without I, L, O, U: nothing to misread on a phone.
RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECEIPT_LENGTH = 10


def report_type(code: str) -> ReportType:
    """Return the report type with ``code``.

    Raises
    ------
    InvalidInput
        The code is not one of :data:`REPORT_TYPE_CODES`.
    """
    found = _TYPES.get(code)
    if found is None:
        raise InvalidInput(f"type must be one of {', '.join(REPORT_TYPE_CODES)}", field="type")
    return found


def fact_for_amenity(amenity: str) -> str:
    """Return the fact key of an amenity (``"amenity:hot_water"``)."""
    return f"amenity:{amenity}"


#: The facts of a place that confirmations keep fresh: it exists and is as
#: listed, its hours, and each listed amenity.
PLACE_FACTS: tuple[str, ...] = ("place", "hours")


def facts_of(amenities: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Return every fact key a place with ``amenities`` can have confirmed."""
    return (*PLACE_FACTS, *(fact_for_amenity(a) for a in amenities))


def check_fact(fact: str, amenities: tuple[str, ...] | list[str]) -> str:
    """Return ``fact`` if the place has it, else raise :class:`InvalidInput`."""
    if fact not in facts_of(amenities):
        raise InvalidInput(
            "fact must be 'place', 'hours' or 'amenity:<code>' for an amenity the place lists",
            field="facts",
        )
    return fact


@dataclass(frozen=True)
class ReportDraft:
    """A validated report, before it is stored.

    ``lon``/``lat`` are WGS-84 degrees of a proposed new position.
    """

    type: str
    severity: int
    amenity: str | None = None
    text: str | None = None
    proposed_hours: str | None = None
    lon: float | None = None
    lat: float | None = None

    @property
    def dedupe_key(self) -> str:
        """Reports with the same key say the same thing about the same place.

        Free-text reports say the same thing only when their words are the same.
        """
        if self.type == "other":
            return "other:" + hashlib.sha256((self.text or "").encode()).hexdigest()[:16]
        return f"{self.type}:{self.amenity or ''}"

    @property
    def merges_automatically(self) -> bool:
        """Whether a later report from someone else joins an open one as its duplicate."""
        return self.type != "other"


def _clean_text(value: str | None, *, limit: int, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field=field)
    if len(value) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters", field=field)
    # Control characters (other than line breaks) have no place in a report.
    cleaned = "".join(c for c in value if c in "\n\t" or c.isprintable()).strip()
    if len(cleaned) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters", field=field)
    return cleaned or None


def _coordinate(value: float | str | None, field: str, low: float, high: float) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} must be a number of degrees", field=field) from None
    if not math.isfinite(number) or not low <= number <= high:
        raise InvalidInput(
            f"{field} must be within {low}..{high} (WGS-84, inside China)", field=field
        )
    return number


def validate_report(
    *,
    type: str,
    place_amenities: tuple[str, ...] | list[str],  # noqa: A002
    amenity: str | None = None,
    text: str | None = None,
    proposed_hours: str | None = None,
    lon: float | str | None = None,
    lat: float | str | None = None,
) -> ReportDraft:
    """Check a report's values against its type and the place.

    Parameters
    ----------
    type : str
        One of :data:`REPORT_TYPE_CODES`.
    place_amenities : sequence of str
        Amenity codes the place lists (a missing amenity must be one of them).
    amenity : str, optional
        For ``amenity_missing``: the amenity code.
    text : str, optional
        Free text, at most 500 characters; required for ``other``.
    proposed_hours : str, optional
        For ``wrong_hours``: the hours as the worker writes them.
    lon, lat : float, optional
        For ``wrong_location``: the proposed point, WGS-84 degrees.

    Returns
    -------
    ReportDraft

    Raises
    ------
    InvalidInput
        Unknown type, missing or unexpected value, text too long.
    """
    kind = report_type(type)
    body = _clean_text(text, limit=TEXT_MAX_CHARS, field="text")
    hours = _clean_text(proposed_hours, limit=HOURS_MAX_CHARS, field="proposed_hours")
    draft_amenity = None
    point: tuple[float | None, float | None] = (None, None)
    if kind.needs == "amenity":
        if not amenity or amenity not in AMENITIES:
            raise InvalidInput("amenity must be an amenity code", field="amenity")
        if amenity not in place_amenities:
            raise InvalidInput("amenity must be one the place lists", field="amenity")
        draft_amenity = amenity
    elif kind.needs == "hours":
        if not hours:
            raise InvalidInput("proposed_hours is required for wrong_hours", field="proposed_hours")
    elif kind.needs == "point":
        west, south, east, north = CHINA_BBOX
        point = (_coordinate(lon, "lon", west, east), _coordinate(lat, "lat", south, north))
    elif kind.needs == "text" and not body:
        raise InvalidInput("text is required for type other", field="text")
    return ReportDraft(
        type=kind.code,
        severity=kind.severity,
        amenity=draft_amenity,
        text=body,
        proposed_hours=hours if kind.needs == "hours" else None,
        lon=point[0],
        lat=point[1],
    )


def check_reason(reason: str | None, *, required: bool) -> str | None:
    """Return a moderator's public reason, trimmed; raise when required and blank."""
    cleaned = _clean_text(reason, limit=REASON_MAX_CHARS, field="reason")
    if required and not cleaned:
        raise InvalidInput("a rejection needs a public reason", field="reason")
    return cleaned


def check_purpose(purpose: str | None) -> str:
    """Return a check-in purpose code ('' for none), or raise :class:`InvalidInput`."""
    if purpose in (None, ""):
        return ""
    if purpose not in CHECKIN_PURPOSES:
        raise InvalidInput(f"purpose must be one of {', '.join(CHECKIN_PURPOSES)}", field="purpose")
    return purpose


def new_receipt() -> str:
    """Return a fresh random receipt code, e.g. ``7K2M9QXP3D`` (50 bits)."""
    return "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_LENGTH))


def normalize_receipt(code: str) -> str:
    """Return a receipt code as stored (upper case, no spaces or dashes).

    Raises
    ------
    InvalidInput
        The code cannot be a receipt.
    """
    cleaned = code.replace("-", "").replace(" ", "").upper()
    if len(cleaned) != RECEIPT_LENGTH or any(c not in RECEIPT_ALPHABET for c in cleaned):
        raise InvalidInput("a receipt is 10 letters and digits", field="receipt")
    return cleaned


def day_key(secret: bytes, salt: bytes) -> bytes:
    """Return the day's hashing key: HMAC of the day's random salt under the app secret.

    The salt is random per day and deleted after two days, so once it is
    gone nobody (not even with the app secret) can test an address against
    an old hash.
    """
    return hmac.new(secret, b"yitu-trust-client|" + salt, hashlib.sha256).digest()


def client_hash(key: bytes, day: date, address: str) -> str:
    """Return the keyed hash of a client address for one day (hex, 32 characters).

    Parameters
    ----------
    key : bytes
        The day's key (:func:`day_key`).
    day : date
        The local day; part of the message, so days never collide.
    address : str
        The client address (IP text); used, never stored.
    """
    message = f"{day.isoformat()}|{address}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]
