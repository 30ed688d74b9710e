"""The auditor's page: browse the append-only audit log of the household register.

Auditors see who read, exported or changed which household and when, never
the households' personal fields themselves (the log holds none).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue

from geo.db import audit
from geo.errors import InvalidInput
from geo.places.timezone import TZ_NAME
from web import private_db
from web.auth import login_required_role
from web.params import int_param

bp = Blueprint("audit", __name__, url_prefix="/audit")
auditor_required = login_required_role("auditor")
PER_PAGE = 100


def _day(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a date YYYY-MM-DD", field=name) from None


def _local_midnight(day: date) -> datetime:
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or TZ_NAME)
    return datetime.combine(day, time(0), tzinfo=zone)


@bp.after_request
def never_cache(response: Response) -> Response:
    """The log names people and households: keep it out of caches."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
@auditor_required
def index() -> ResponseReturnValue:
    """List audit rows newest first, filtered by actor, action, household and days."""
    action = request.args.get("action") or None
    if action is not None and action not in audit.ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(audit.ACTIONS)}", field="action")
    actor = (request.args.get("actor") or "").strip()[:40] or None
    raw_household = (request.args.get("household") or "").strip()
    household: uuid.UUID | None = None
    if raw_household:
        try:
            household = uuid.UUID(raw_household)
        except ValueError:
            raise InvalidInput(
                "household must be a household id (UUID)", field="household"
            ) from None
    before_id = int_param(request.args, "before", default=None, lo=1, hi=2**63 - 1)
    since, until = _day("since"), _day("until")
    rows = audit.browse(
        private_db.private_session(),
        actor=actor,
        action=action,
        household_id=household,
        since=_local_midnight(since) if since else None,
        until=_local_midnight(until + timedelta(days=1)) if until else None,
        before_id=before_id,
        limit=PER_PAGE,
    )
    filters: dict[str, Any] = {
        "actor": actor or "",
        "action": action or "",
        "household": raw_household,
        "since": request.args.get("since", ""),
        "until": request.args.get("until", ""),
    }
    return render_template(
        "audit/index.html",
        rows=rows,
        filters=filters,
        actions=audit.ACTIONS,
        per_page=PER_PAGE,
        next_before=rows[-1].id if len(rows) == PER_PAGE else None,
    )


@bp.record_once
def _on_register(state: Any) -> None:
    private_db.init_app(state.app)
