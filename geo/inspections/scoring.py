"""The pure rules: a visit's score, a place's stars, and yellow and red cards.

Every rule reads its numbers from the :class:`~geo.inspections.standards.Standard`
the visit was scored with, so the rules are the standard's, written down.

- **Score** (0-100): the weights of passed items over the weights of the
  applicable (pass or fail) items, times 100, rounded half up.
- **Stars** (1-5): the mean score of the last ``star_visits`` visits, then the
  first star rule (highest ``min_score`` first) it reaches.
- **Yellow card**: a score below ``pass_score``, or any failed serious item.
- **Red card**: a yellow card while another yellow (or red) card, not yet
  lifted, was issued within ``window_days`` before, or a failed
  ``hours_item`` while it also failed on another visit within the window.  A
  red card opens a removal proposal that only an admin decides.
- **Lifting** (已整改): a re-inspection that earns no card lifts the place's
  open cards; a lifted card no longer counts towards a second yellow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from geo.errors import InvalidInput
from geo.inspections.standards import OUTCOMES, Standard


@dataclass(frozen=True)
class Score:
    """One visit's result: the score and the failed items."""

    score: int
    failed: tuple[str, ...]
    serious_failed: tuple[str, ...]
    hours_failed: bool


@dataclass(frozen=True)
class PastVisit:
    """What the card rules need of an earlier visit of the same place."""

    visited_at: datetime
    card: str | None
    hours_failed: bool


def score_visit(standard: Standard, outcomes: Mapping[str, str]) -> Score:
    """Score one visit; ``outcomes`` maps every item key to pass, fail or na.

    Raises
    ------
    InvalidInput
        An unknown item, a missing item, an outcome other than pass/fail/na,
        or every item "not applicable" (nothing was inspected).
    """
    keys = {i.key for i in standard.items}
    for key in outcomes:
        if key not in keys:
            raise InvalidInput(
                f"unknown item {key!r} for standard {standard.code}", field=f"item_{key}"
            )
    for item in standard.items:
        value = outcomes.get(item.key)
        if value is None:
            raise InvalidInput(
                f"choose pass, fail or n.a. for {item.key!r}", field=f"item_{item.key}"
            )
        if value not in OUTCOMES:
            raise InvalidInput(
                f"{item.key!r} must be one of pass, fail, na (got {value!r})",
                field=f"item_{item.key}",
            )
    applicable = [i for i in standard.items if outcomes[i.key] != "na"]
    if not applicable:
        raise InvalidInput("at least one item must be inspected (not all n.a.)", field="items")
    total = sum(i.weight for i in applicable)
    passed = sum(i.weight for i in applicable if outcomes[i.key] == "pass")
    # Integer round-half-up, so 62.5 is 63 on every platform.
    score = (200 * passed + total) // (2 * total)
    failed = tuple(i.key for i in applicable if outcomes[i.key] == "fail")
    serious = tuple(i.key for i in applicable if i.serious and outcomes[i.key] == "fail")
    hours = standard.hours_item is not None and outcomes.get(standard.hours_item) == "fail"
    return Score(score, failed, serious, hours)


def stars(standard: Standard, scores_newest_first: Sequence[int]) -> int | None:
    """Return 1-5 stars from the last visits' scores (newest first), None without visits."""
    recent = list(scores_newest_first)[: standard.star_visits]
    if not recent:
        return None
    mean = sum(recent) / len(recent)
    for rule in standard.stars:  # highest min_score first (parse_standard sorts them)
        if mean >= rule.min_score:
            return rule.stars
    return standard.stars[-1].stars


@dataclass(frozen=True)
class CardDecision:
    """The card a visit earns (None, ``yellow`` or ``red``) and why, in rule words.

    ``lifts`` is true when the visit earns no card while the place has an
    open (unlifted) card: the re-inspection lifts it.
    """

    card: str | None
    reasons: tuple[str, ...]
    lifts: bool = False


def open_cards(past: Sequence[PastVisit], *, before: datetime) -> list[PastVisit]:
    """Return the carded visits before ``before`` not lifted by a later card-free visit."""
    earlier = sorted((p for p in past if p.visited_at < before), key=lambda p: p.visited_at)
    out: list[PastVisit] = []
    for p in earlier:
        if p.card is None:
            out = []  # a clean re-inspection lifts every card before it
        else:
            out.append(p)
    return out


def card_for(
    standard: Standard, result: Score, *, visited_at: datetime, past: Sequence[PastVisit]
) -> CardDecision:
    """Apply the card rules to a visit given the place's earlier visits.

    ``reasons`` holds codes: ``below_pass_score``, ``serious:<key>``,
    ``second_yellow``, ``hours_failed_twice``.
    """
    since = visited_at - timedelta(days=standard.window_days)
    recent = [p for p in past if since <= p.visited_at < visited_at]
    reasons: list[str] = []
    if result.score < standard.pass_score:
        reasons.append("below_pass_score")
    reasons.extend(f"serious:{k}" for k in result.serious_failed)
    red: list[str] = []
    carded = open_cards(past, before=visited_at)
    if reasons and any(since <= p.visited_at for p in carded):
        red.append("second_yellow")
    if result.hours_failed and any(p.hours_failed for p in recent):
        red.append("hours_failed_twice")
    if red:
        return CardDecision("red", tuple(reasons + red))
    if reasons:
        return CardDecision("yellow", tuple(reasons))
    return CardDecision(None, (), lifts=bool(carded))
