"""The solver's proof in words, for the planner page, the CLI and the report."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from flask import has_request_context
from flask_babel import gettext


def _(message: str, **values: Any) -> str:
    """Translate for a page; the command line (no request) speaks English, as its other output."""
    if has_request_context():
        return str(gettext(message, **values))
    return message % values if values else message


def percent(gap: float) -> str:
    """Return a relative gap as a short percentage ("0.3 %", "0.04 %", "< 0.01 %")."""
    value = 100 * gap
    if value < 0.01:
        return "< 0.01 %"
    if value < 0.1:
        return f"{value:.2f} %"
    return f"{value:.1f} %"


def proof_in_words(summary: Mapping[str, Any]) -> str:
    """Say how close the plan is proven to be to the best possible one.

    ``summary`` is :meth:`geo.planning.siting.SitingResult.summary`.
    """
    if summary.get("model") == "target":
        return _target_in_words(summary)
    if summary.get("status") == "optimal":
        return _("Proven optimal: no plan within these limits covers more.")
    raw = summary.get("mip_gap")
    gap = float(raw) if raw is not None else math.inf
    if not math.isfinite(gap):
        return _("Not proven: the solver found no bound within the time limit.")
    bound = float(summary.get("bound_share") or 0.0)
    return _(
        "Within %(gap)s of the best possible: no plan covers more than %(bound)s of activity.",
        gap=percent(gap),
        bound=f"{100 * bound:.1f} %",
    )


def _target_in_words(summary: Mapping[str, Any]) -> str:
    share = f"{100 * float(summary.get('target_share') or 0):g} %"
    if not summary.get("sites"):
        return _(
            "Existing stations already reach %(share)s of activity: no new station is needed.",
            share=share,
        )
    if summary.get("status") == "optimal":
        return _(
            "Proven: no plan with fewer new stations reaches %(share)s of activity.", share=share
        )
    raw = summary.get("mip_gap")
    gap = float(raw) if raw is not None else math.inf
    if not math.isfinite(gap):
        return _("Not proven: the solver found no bound within the time limit.")
    return _(
        "Reaches %(share)s of activity; not proven to be the fewest stations "
        "(at most %(gap)s more than needed).",
        share=share,
        gap=percent(gap),
    )


def window_in_words(code: str) -> str:
    """Name a time window in words with its hours ("工作日午餐 11:00–13:30"); other text as given."""
    from geo.activity.windows import WINDOWS

    names = {
        "weekday-lunch": _("Weekday lunch"),
        "weekday-dinner": _("Weekday dinner"),
        "lunch": _("Lunch, every day"),
        "dinner": _("Dinner, every day"),
        "night": _("Night, every day"),
        "early-morning": _("Early morning, every day"),
        "all": _("All week, all day"),
    }
    key = code.strip().casefold()
    if key not in WINDOWS:
        return code
    hours, _days = WINDOWS[key]
    return f"{names[key]} {hours.replace('-', '–')}"


def method_in_words(method: str) -> str:
    """Say how distances were measured ("straight line" or "road network") in the page's language."""
    return {"straight line": _("straight line"), "road network": _("road network")}.get(
        method, method
    )
