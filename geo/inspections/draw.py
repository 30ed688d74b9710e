"""Which places to visit: a seeded, stratified random draw, and the 200 m evidence check.

The draw is repeatable: the same candidates, count and seed give the same
visits, so an auditor can re-run it from the recorded seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from geo.errors import InvalidInput

#: Strata, in the order they are filled.
STRATA: tuple[str, ...] = ("reported", "stale", "random")
#: Shares of the visits for the first two strata (the rest is random).
REPORTED_SHARE = 0.4
STALE_SHARE = 0.3
#: A visit recorded farther than this from the place is flagged.
FAR_LIMIT_M = 200.0
_EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Candidate:
    """A place that may be drawn: open problem reports and its last inspection date."""

    place_id: int
    open_reports: int
    last_inspected: date | None


def draw_visits(candidates: Sequence[Candidate], visits: int, seed: int) -> list[tuple[int, str]]:
    """Return ``(place_id, stratum)`` pairs: reported first, then stalest, then random.

    Up to ``REPORTED_SHARE`` of the visits go to places with open problem
    reports (drawn at random among them), up to ``STALE_SHARE`` to the places
    inspected longest ago (never inspected first; ties broken at random), and
    the rest to a random draw of the remaining places.  Unfilled shares pass
    to the next stratum.  A place is drawn at most once.
    """
    if visits < 1 or visits > 500:
        raise InvalidInput("visits must be from 1 to 500", field="visits")
    rng = random.Random(seed)  # noqa: S311  (repeatable from the recorded seed, by design)
    pool = sorted(candidates, key=lambda c: c.place_id)
    chosen: list[tuple[int, str]] = []
    taken: set[int] = set()

    def take(ordered: Sequence[Candidate], n: int, stratum: str) -> None:
        for c in ordered:
            if len(chosen) >= visits or n <= 0:
                return
            if c.place_id not in taken:
                taken.add(c.place_id)
                chosen.append((c.place_id, stratum))
                n -= 1

    reported = [c for c in pool if c.open_reports > 0]
    rng.shuffle(reported)
    take(reported, math.ceil(visits * REPORTED_SHARE), "reported")
    rest = [c for c in pool if c.place_id not in taken]
    ties = {c.place_id: rng.random() for c in rest}
    stalest = sorted(rest, key=lambda c: (c.last_inspected or date.min, ties[c.place_id]))
    stale_n = math.ceil(visits * (REPORTED_SHARE + STALE_SHARE)) - len(chosen)
    take(stalest, stale_n, "stale")
    remaining = [c for c in pool if c.place_id not in taken]
    rng.shuffle(remaining)
    take(remaining, visits - len(chosen), "random")
    return chosen


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points (lon, lat degrees)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
