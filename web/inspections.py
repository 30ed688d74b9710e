"""Unannounced visits (暗访): the admin's plans and removals, the inspector's phone form (issue 11).

- ``/admin/inspections/`` (admins): plan a month's visits in a district (a
  seeded, stratified draw), see the visits, decide removal proposals.
- ``/inspect/`` (inspectors): their own assignments only; ``/inspect/visits/<id>``
  is the phone form: pass / fail / n.a. and a note per item, the time and the
  phone's position captured, the draft kept on the phone until it is sent.
- The public place page shows the star rating, the last inspection date and a
  removal's reason and date through the ``inspection_facts`` template global,
  never the inspector.

Every POST carries a CSRF token; every step is an ``inspection_events`` row.
"""

from __future__ import annotations

import io
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user

from geo.db import inspections as store
from geo.errors import InvalidInput
from geo.export import write_csv
from geo.service import inspections as service
from web import private_db
from web.auth import login_required_role
from web.db import session

bp = Blueprint("inspections", __name__)

#: Card reasons (codes of :func:`geo.inspections.scoring.card_for`) in words.
REASON_WORDS: dict[str, Any] = {
    "below_pass_score": lazy_gettext("score below the pass mark"),
    "second_yellow": lazy_gettext("a second yellow card within the standard's window"),
    "hours_failed_twice": lazy_gettext("closed at its listed hours on two visits"),
}


def who() -> service.Who:
    """The logged-in user as an actor: admins work everywhere, inspectors in their districts."""
    districts = None if current_user.role == "admin" else tuple(current_user.districts)
    return service.Who(current_user.username, current_user.account.id, current_user.role, districts)


def _int(name: str, *, default: int | None = None) -> int:
    raw = request.form.get(name, "").strip()
    if not raw and default is not None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number", field=name) from None


def _float(name: str) -> float | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a number", field=name) from None


# ---------------------------------------------------------------------------
# Admin


@bp.get("/admin/inspections/")
@login_required_role("admin")
def admin_index() -> ResponseReturnValue:
    """Plan visits, see the latest plans and their visits, decide removal proposals."""
    db = session()
    plans = store.recent_plans(db, limit=10)
    return render_template(
        "inspections/admin.html",
        plans=[(p, store.visits_of_plan(db, p.id)) for p in plans],
        removals=store.removals(db),
        districts=service.dashboard(db, now=datetime.now(UTC)),
        done=request.args.get("done"),
    )


@bp.post("/admin/inspections/plans")
@login_required_role("admin")
def plan() -> ResponseReturnValue:
    """Draw a month's visits in a district for an inspector."""
    db = session()
    name = request.form.get("inspector", "").strip()
    if not name:
        raise InvalidInput("choose the inspector (a username)", field="inspector")
    inspector = service.inspector_named(private_db.private_session(), name)
    seed_text = request.form.get("seed", "").strip()
    result = service.plan_visits(
        db,
        who(),
        adcode=request.form.get("district", ""),
        month=request.form.get("month", ""),
        visits=_int("visits", default=20),
        seed=_int("seed") if seed_text else None,
        inspector=inspector,
    )
    db.commit()
    return redirect(url_for(".admin_index", done=f"plan-{result.plan_id}"))


EXPORT_COLUMNS: tuple[str, ...] = (
    "id",
    "plan_id",
    "place_id",
    "place_name",
    "adcode",
    "stratum",
    "status",
    "inspector",
    "visited_at",
    "score",
    "card",
    "far",
    "distance_m",
)


@bp.get("/admin/inspections/visits.csv")
@login_required_role("admin")
def export_visits() -> ResponseReturnValue:
    """Every visit as CSV (formula-safe, times in Asia/Shanghai)."""
    out = io.StringIO()
    write_csv(
        (asdict(v) for v in store.all_visits(session())),
        EXPORT_COLUMNS,
        out,
        local_times=("visited_at",),
    )
    return Response(
        out.getvalue(),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=inspections.csv"},
    )


@bp.get("/admin/inspections/report")
@login_required_role("admin")
def monthly_report() -> ResponseReturnValue:
    """A district's monthly report, ready to print (the browser's "Save as PDF")."""
    report = service.monthly_report(
        session(),
        adcode=request.args.get("district", "").strip(),
        month=request.args.get("month", "").strip(),
        now=datetime.now(UTC),
    )
    return render_template("inspections/report.html", report=report)


@bp.post("/admin/inspections/removals/<int:removal_id>")
@login_required_role("admin")
def decide(removal_id: int) -> ResponseReturnValue:
    """Confirm (the place is closed, with its history) or reject a removal proposal."""
    db = session()
    try:
        status = service.decide_removal(
            db, who(), removal_id, request.form.get("decision", ""), note=request.form.get("note")
        )
    except service.VisitNotFound:
        abort(404)
    db.commit()
    return redirect(url_for(".admin_index", done=f"removal-{status}"))


# ---------------------------------------------------------------------------
# The inspector


@bp.get("/inspect/")
@login_required_role("inspector")
def my_visits() -> ResponseReturnValue:
    """The inspector's own assignments, planned first."""
    return render_template(
        "inspections/mine.html",
        visits=store.visits_of_inspector(session(), current_user.account.id),
    )


@bp.get("/inspect/visits/<int:visit_id>")
@login_required_role("inspector")
def visit_form(visit_id: int) -> ResponseReturnValue:
    """The phone form (or, once sent, the visit's result)."""
    db = session()
    try:
        row = service.visible_visit(db, who(), visit_id)
    except service.VisitNotFound:
        abort(404)
    _, standard = service.standard_of_place(db, row.place_id)
    return render_template(
        "inspections/visit.html", visit=row, standard=standard, sent=request.args.get("sent")
    )


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.post("/inspect/visits/<int:visit_id>")
@login_required_role("inspector")
def record(visit_id: int) -> ResponseReturnValue:
    """Record a visit; the page's script sends the phone's draft here (JSON answers)."""
    db = session()
    try:
        row = service.visible_visit(db, who(), visit_id)
        _, standard = service.standard_of_place(db, row.place_id)
        outcomes = {i.key: request.form.get(f"item_{i.key}", "") for i in standard.items}
        known = {f"item_{i.key}" for i in standard.items}
        for name in request.form:
            if name.startswith("item_") and name not in known:
                raise InvalidInput(f"unknown item {name[5:]!r}", field=name)
        outcomes = {k: v for k, v in outcomes.items() if v}
        notes = {i.key: request.form.get(f"note_{i.key}", "") for i in standard.items}
        result = service.record_visit(
            db,
            who(),
            visit_id,
            outcomes=outcomes,
            notes=notes,
            visited_at=_visited_at(),
            now=datetime.now(UTC),
            lon=_float("lon"),
            lat=_float("lat"),
        )
    except service.VisitNotFound:
        abort(404)
    except InvalidInput as err:
        if not _wants_json():
            raise
        return jsonify(error=str(err), field=err.field), 400
    db.commit()
    target = url_for(".visit_form", visit_id=visit_id, sent=1)
    if _wants_json():
        return jsonify(score=result.score, card=result.card, far=result.far, url=target)
    return redirect(target)


def _visited_at() -> datetime:
    raw = request.form.get("visited_at", "").strip()
    if not raw:
        return datetime.now(UTC)
    try:
        stamp = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("visited_at must be an ISO 8601 time", field="visited_at") from None
    if stamp.tzinfo is None:
        raise InvalidInput("visited_at must carry its time zone", field="visited_at")
    return stamp


# ---------------------------------------------------------------------------
# The public place page


@bp.app_template_global("inspection_facts")
def inspection_facts(place_id: int) -> Any:
    """Stars, last inspection date and removal of a place, for the public page."""
    return service.public_facts(session(), place_id)


@bp.app_template_filter("card_reasons")
def card_reasons(reason: str) -> str:
    """Say a stored card reason (``red card: below_pass_score, serious:medicine``) in words."""
    codes = reason.removeprefix("red card:").split(",")
    words = []
    for code in (c.strip() for c in codes if c.strip()):
        if code.startswith("serious:"):
            words.append(_("failed a serious item (%(item)s)", item=code[len("serious:") :]))
        else:
            words.append(str(REASON_WORDS.get(code, code)))
    return _("red card: %(reasons)s", reasons="; ".join(words))
