"""How fresh each fact of a place is: who confirmed it, how long ago, and whether it is stale.

Only positive confirmations (and inspections) make a fact fresh, never a
problem report: a report of "no hot water" says nothing good about the
hours.  Results are structured data (counts and whole days); the web layer
says them in words ("2 人 3 天前确认有热水", "营业时间 120 天未确认").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

DEFAULT_STALE_AFTER_DAYS = 90


@dataclass(frozen=True)
class Confirmed:
    """What the database knows about one fact: confirmations in the window, the latest."""

    people: int
    last_at: datetime | None


@dataclass(frozen=True)
class FactFreshness:
    """One fact of a place and how fresh it is.

    Attributes
    ----------
    fact : str
        ``"place"``, ``"hours"`` or ``"amenity:<code>"``.
    people : int
        Distinct confirmations within the freshness window.
    days_ago : int or None
        Whole days since the latest confirmation; None when never confirmed.
    stale : bool
        Never confirmed, or not within ``stale_after_days``.
    inspected : bool
        The latest check was the union's inspection, not a worker.
    """

    fact: str
    people: int
    days_ago: int | None
    stale: bool
    inspected: bool = False


@dataclass(frozen=True)
class PlaceFreshness:
    """Every fact of a place, and whether the place as a whole is stale."""

    facts: tuple[FactFreshness, ...]
    stale: bool
    oldest_days: int | None

    def fact(self, key: str) -> FactFreshness | None:
        """Return one fact by key, or None."""
        return next((f for f in self.facts if f.fact == key), None)


def days_between(earlier: datetime, later: datetime) -> int:
    """Return whole days from ``earlier`` to ``later`` (both time-zone aware), at least 0."""
    return max(0, (later - earlier).days)


def freshness(
    facts: Sequence[str],
    known: Mapping[str, Confirmed],
    *,
    now: datetime,
    stale_after_days: int = DEFAULT_STALE_AFTER_DAYS,
    created_at: datetime | None = None,
    inspected_at: datetime | None = None,
) -> PlaceFreshness:
    """Say how fresh each fact is.

    Parameters
    ----------
    facts : sequence of str
        The place's fact keys, in display order.
    known : mapping
        Fact key -> :class:`Confirmed`; facts absent were never confirmed.
    now : datetime
        The present, time-zone aware.
    stale_after_days : int, keyword-only
        A fact unconfirmed for longer than this is stale.
    created_at : datetime, optional
        When the place entered the map; a place younger than the window is
        not stale merely because nobody confirmed it yet.
    inspected_at : datetime, optional
        The union's last inspection (an admin's "verify"): it confirms every
        fact, like a worker's confirmation, and is said as an inspection.

    Returns
    -------
    PlaceFreshness
        The place is stale when its existence ("place") or its hours are
        stale, the facts a worker relies on before walking there.
    """
    if stale_after_days < 1:
        raise ValueError("stale_after_days must be at least 1")
    young = created_at is not None and days_between(created_at, now) <= stale_after_days
    out = []
    for key in facts:
        seen = known.get(key, Confirmed(0, None))
        last = seen.last_at
        inspected = inspected_at is not None and (last is None or inspected_at > last)
        if inspected:
            last = inspected_at
        days = days_between(last, now) if last else None
        stale = (days is None and not young) or (days is not None and days > stale_after_days)
        out.append(FactFreshness(key, seen.people, days, stale, inspected))
    core = [f for f in out if f.fact in ("place", "hours")]
    ages = [f.days_ago for f in core if f.days_ago is not None]
    return PlaceFreshness(
        tuple(out),
        any(f.stale for f in core),
        max(ages) if ages and len(ages) == len(core) else None,
    )
