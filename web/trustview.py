"""What place pages and lists show of workers' reports: words, freshness, badges.

Shared by the trust blueprint (:mod:`web.trust`), the place page
(:mod:`web.finder`) and the place list (:mod:`web.directory`), which must not
import one another.  Words for people are rendered here, with Babel
("2 人 3 天前确认有热水"); the rules behind them are in :mod:`geo.trust`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from geo.db import trust as store
from geo.places.vocabulary import AMENITY_TERMS
from geo.service import trust as service
from geo.trust.freshness import FactFreshness
from geo.trust.photos import MAX_PHOTO_BYTES
from geo.trust.reports import CHECKIN_PURPOSES
from web.db import session
from web.templating import label

#: Settings of this area (``YITU_TRUST_*``), with their defaults.
DEFAULTS: dict[str, Any] = {
    # Facts unconfirmed for longer than this many days make a place stale.
    "TRUST_STALE_AFTER_DAYS": 90,
    # Reports, confirmations and check-ins allowed per client address, and
    # per place (all clients together); Flask-Limiter syntax.
    "TRUST_RATE_LIMIT_CLIENT": "20 per minute;200 per day",
    "TRUST_RATE_LIMIT_PLACE": "120 per minute",
    # Key prefix of the limiter's counters (in RATELIMIT_STORAGE_URI).
    "TRUST_RATELIMIT_PREFIX": "yitu-trust",
    # Largest photo accepted, in bytes.
    "TRUST_MAX_PHOTO_BYTES": MAX_PHOTO_BYTES,
    # Public base URL printed in station QR codes (e.g. https://yitu.example.cn);
    # unset: the URL the request came in on.
    "TRUST_PUBLIC_URL": None,
}

TYPE_LABELS: dict[str, Any] = {
    "closed_in_hours": lazy_gettext("Closed during its listed hours"),
    "locked": lazy_gettext("Locked, or nobody there"),
    "amenity_missing": lazy_gettext("A facility is missing or broken"),
    "first_aid": lazy_gettext("First-aid kit empty or medicine out of date"),
    "wrong_hours": lazy_gettext("Wrong opening hours"),
    "wrong_location": lazy_gettext("Wrong location on the map"),
    "gone": lazy_gettext("The place is gone or never existed"),
    "other": lazy_gettext("Something else"),
}
STATUS_LABELS: dict[str, Any] = {
    "received": lazy_gettext("Received, waiting for a moderator"),
    "confirmed": lazy_gettext("Confirmed by a moderator"),
    "fixed": lazy_gettext("Fixed"),
    "rejected": lazy_gettext("Rejected"),
    "duplicate": lazy_gettext("Merged with an earlier report"),
}
PURPOSE_LABELS: dict[str, Any] = {
    "rest": lazy_gettext("Rest"),
    "water": lazy_gettext("Water"),
    "toilet": lazy_gettext("Toilet"),
    "charging": lazy_gettext("Charging"),
    "meal": lazy_gettext("Heating a meal"),
    "warmth": lazy_gettext("Warming up"),
    "cooling": lazy_gettext("Cooling down"),
    "other": lazy_gettext("Something else"),
}


# ---------------------------------------------------------------------------
# Words for people


def problem_words(kind: str, amenity: str | None) -> str:
    """Name a reported problem, e.g. ``热水缺失或损坏``."""
    if kind == "amenity_missing" and amenity:
        return _("%(amenity)s missing or broken", amenity=label(AMENITY_TERMS, amenity))
    return str(TYPE_LABELS.get(kind, kind))


def when_words(days: int) -> str:
    """Say how many days ago: today, yesterday, N days ago."""
    if days == 0:
        return _("today")
    if days == 1:
        return _("yesterday")
    return _("%(days)s days ago", days=days)


def fact_label(fact: str) -> str:
    """Name a fact: an amenity's label, the opening hours, the listing."""
    if fact.startswith("amenity:"):
        return label(AMENITY_TERMS, fact.split(":", 1)[1])
    return _("Opening hours") if fact == "hours" else _("The listing")


def fact_words(fact: FactFreshness) -> str:
    """Say a fact's freshness: ``2 人 3 天前确认有热水``, ``营业时间 120 天未确认``."""
    amenity = fact.fact.split(":", 1)[1] if fact.fact.startswith("amenity:") else None
    if amenity:
        thing = label(AMENITY_TERMS, amenity)
        thing = thing[:1].lower() + thing[1:]  # mid-sentence in English; no-op in Chinese
    elif fact.fact == "hours":
        thing = _("the opening hours")
    else:
        thing = _("the listing")
    if fact.days_ago is None:
        words = _("%(fact)s: nobody has confirmed yet", fact=thing)
    elif fact.inspected and not fact.stale:
        words = _(
            "%(fact)s: checked by the union %(when)s", fact=thing, when=when_words(fact.days_ago)
        )
    elif fact.stale or fact.people == 0:
        words = _("%(fact)s: not confirmed for %(days)s days", fact=thing, days=fact.days_ago)
    elif amenity:
        words = _(
            "%(n)s confirmed %(thing)s %(when)s",
            n=fact.people,
            thing=thing,
            when=when_words(fact.days_ago),
        )
    else:
        what = thing if fact.fact == "hours" else _("the listing is accurate")
        words = _(
            "%(n)s confirmed %(fact)s %(when)s",
            n=fact.people,
            fact=what,
            when=when_words(fact.days_ago),
        )
    return words[:1].upper() + words[1:]


def settings(name: str) -> Any:
    """Return one of this area's settings."""
    return current_app.config.get(name, DEFAULTS[name])


def now() -> datetime:
    """The present (UTC)."""
    return datetime.now(UTC)


def place_panel(row: dict[str, Any]) -> dict[str, Any]:
    """Template values of the trust panel on a place page (used by ``web.finder.place``)."""
    state = service.place_trust(
        session(),
        int(row["id"]),
        now=now(),
        stale_after_days=int(settings("TRUST_STALE_AFTER_DAYS")),
    )
    facts = [
        {"key": f.fact, "words": fact_words(f), "stale": f.stale}
        for f in state.freshness.facts
        if f.days_ago is not None
    ]
    never = [fact_label(f.fact) for f in state.freshness.facts if f.days_ago is None]
    problems = [
        {
            "words": problem_words(p.type, p.amenity),
            "status": p.status,
            "reports": p.reports,
            "texts": p.public_texts,
            "photos": [url_for("trust.public_photo", receipt=r) for r in p.photo_receipts],
            "amenity": p.amenity,
        }
        for p in state.problems
    ]
    return {
        "trust": {
            "facts": facts,
            "problems": problems,
            "never": _("Nobody has confirmed yet: %(facts)s", facts=_(", ").join(never))
            if never
            else None,
            "stale": state.freshness.stale,
            "visits_30d": state.visits_30d,
            "missing": {p.amenity for p in state.problems if p.amenity},
            "purposes": [(p, PURPOSE_LABELS[p]) for p in CHECKIN_PURPOSES],
            "done": request.args.get("done"),
            "via_qr": request.args.get("via") == "qr",
        }
    }


def problem_badges(place_ids: list[int]) -> dict[int, list[str]]:
    """Return the open problems of listed places in words, for badges in lists."""
    found = store.open_problem_counts(session(), place_ids)
    return {
        pid: [
            problem_words(*(code.split(":", 1) if ":" in code else (code, None)))
            for code in sorted(codes)
        ]
        for pid, codes in found.items()
    }


def add_trust_flags(features: list[dict[str, Any]]) -> None:
    """Add each place's open problems and fact dates to changes-feed features (in place).

    ``properties.trust = {"open_reports": [...], "confirmed": {"hours": "2026-11-28"}}``;
    tombstones (deleted places) get none.
    """
    ids = [f["properties"]["id"] for f in features if not f["properties"].get("deleted")]
    flags = store.trust_flags(session(), ids)
    for f in features:
        place_id = f["properties"]["id"]
        if place_id in flags:
            f["properties"]["trust"] = flags[place_id]
