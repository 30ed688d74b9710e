"""Station management for admins: create, edit, suspend/close, verify, six haves, history.

Every change goes through :mod:`geo.db.history`, which validates with the
ledger importer's rules and writes the change and its history row in one
transaction.  Places live in the ``public`` schema, so these views use the
public session; the account list uses the private one.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from geo.db import accounts, history
from geo.db.catalog import PlaceFilter, list_places
from geo.errors import InvalidInput
from geo.places.forms import ADMIN_SOURCE, FORM_FIELDS, validate_form
from geo.places.ledger import Report
from geo.places.vocabulary import (
    AMENITY_TERMS,
    BUILD_MODES,
    HOST_TYPES,
    KINDS,
    SIX_HAVE_KEYS,
    SOURCE_CRSES,
    STATUSES,
)
from web import private_db
from web.auth import actor, login_required_role
from web.db import session
from web.params import int_param

bp = Blueprint("admin", __name__, url_prefix="/admin")
admin_required = login_required_role("admin")
PER_PAGE = 50


def editor() -> history.Editor:
    """Return the logged-in admin as the author of a change."""
    who = actor()
    return history.Editor(name=who.name, id=who.id)


def _page() -> int:
    return int_param(request.args, "page", default=1, lo=1, hi=100_000) or 1


def _choice(name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.args.get(name) or None
    if value is not None and value not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}", field=name)
    return value


def _form_values() -> dict[str, Any]:
    values: dict[str, Any] = {k: request.form.get(k, "").strip() for k in FORM_FIELDS}
    values["amenities"] = [a for a in request.form.getlist("amenities") if a]
    return values


def _errors(report: Report) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for issue in report.issues:
        if issue.severity == "error":
            out.setdefault(issue.field or "form", []).append(issue.message)
    return out


def _warnings(report: Report) -> list[str]:
    return [i.message for i in report.issues if i.severity == "warning"]


def _form_page(template_vars: dict[str, Any], status: int = 200) -> ResponseReturnValue:
    return render_template(
        "admin/place_form.html",
        kinds=KINDS,
        statuses=STATUSES,
        crses=SOURCE_CRSES,
        host_types=HOST_TYPES,
        build_modes=BUILD_MODES,
        amenity_terms=AMENITY_TERMS,
        **template_vars,
    ), status


@bp.get("/")
@admin_required
def index() -> ResponseReturnValue:
    """List places for management, filtered by kind and status."""
    kind = _choice("kind", KINDS)
    status = _choice("status", STATUSES)
    page = _page()
    rows, total = list_places(
        session(),
        PlaceFilter(kind=kind, status=status),
        limit=PER_PAGE,
        offset=(page - 1) * PER_PAGE,
    )
    return render_template(
        "admin/index.html",
        places=rows,
        total=total,
        page=page,
        per_page=PER_PAGE,
        kind=kind,
        status=status,
        kinds=KINDS,
        statuses=STATUSES,
    )


@bp.route("/places/new", methods=["GET", "POST"])
@admin_required
def new_place() -> ResponseReturnValue:
    """Create a place from a form (coordinates in the chosen system, converted to WGS-84)."""
    if request.method == "GET":
        return _form_page(
            {
                "values": {"crs": "gcj02", "kind": "station", "status": "active", "amenities": []},
                "errors": {},
                "place_id": None,
            }
        )
    values = _form_values()
    crs = request.form.get("crs", "gcj02")
    if crs not in SOURCE_CRSES:
        raise InvalidInput(f"crs must be one of {', '.join(SOURCE_CRSES)}", field="crs")
    kind = str(values.get("kind") or "")
    record, report = validate_form(
        values, crs=crs, default_kind=kind if kind in KINDS else "station"
    )
    if record is None:
        return _form_page(
            {"values": {**values, "crs": crs}, "errors": _errors(report), "place_id": None}, 400
        )
    place_id = history.create_place(session(), record, editor(), note=request.form.get("note"))
    session().commit()
    for message in _warnings(report):
        flash(message, "warning")
    flash(_("Place created."), "info")
    return redirect(url_for("admin.place", place_id=place_id))


@bp.get("/places/<int:place_id>")
@admin_required
def place(place_id: int) -> ResponseReturnValue:
    """Show one place with its six-haves checklist, status actions and history."""
    db = session()
    return render_template(
        "admin/place.html",
        place=history.snapshot(db, place_id),
        checklist=history.checklist(db, place_id),
        changes=history.history(db, place_id),
        six_have_keys=SIX_HAVE_KEYS,
    )


@bp.route("/places/<int:place_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_place(place_id: int) -> ResponseReturnValue:
    """Edit a place's fields; the change and its before/after go into the history."""
    db = session()
    current = history.snapshot(db, place_id)
    if current["source"] != ADMIN_SOURCE and request.method == "GET":
        flash(
            _(
                "This place came from a ledger; a later import of that ledger may overwrite "
                "your edits."
            ),
            "warning",
        )
    if request.method == "GET":
        values = {k: current.get(k) for k in FORM_FIELDS}
        values.update(
            crs="wgs84",
            lon=repr(current["lon"]),
            lat=repr(current["lat"]),
            amenities=list(current.get("amenities") or []),
        )
        return _form_page({"values": values, "errors": {}, "place_id": place_id})
    values = _form_values()
    # Status changes go through suspend/close/reopen, which say so in the history.
    values["status"] = current["status"]
    crs = request.form.get("crs", "wgs84")
    if crs not in SOURCE_CRSES:
        raise InvalidInput(f"crs must be one of {', '.join(SOURCE_CRSES)}", field="crs")
    record, report = validate_form(
        values, crs=crs, external_id=current["external_id"], default_kind=current["kind"]
    )
    if record is None:
        return _form_page(
            {"values": {**values, "crs": crs}, "errors": _errors(report), "place_id": place_id}, 400
        )
    changed = history.edit_place(db, place_id, record, editor(), note=request.form.get("note"))
    db.commit()
    flash(
        _("Saved: %(fields)s.", fields=", ".join(changed)) if changed else _("Nothing changed."),
        "info",
    )
    return redirect(url_for("admin.place", place_id=place_id))


@bp.post("/places/<int:place_id>/status")
@admin_required
def change_status(place_id: int) -> ResponseReturnValue:
    """Suspend, close or reopen a place."""
    action = request.form.get("action", "")
    history.set_status(session(), place_id, action, editor(), note=request.form.get("note"))
    session().commit()
    flash(_("Status changed."), "info")
    return redirect(url_for("admin.place", place_id=place_id))


@bp.post("/places/<int:place_id>/verify")
@admin_required
def verify(place_id: int) -> ResponseReturnValue:
    """Mark a place verified today (stamps last_verified)."""
    stamp = history.mark_verified(session(), place_id, editor(), note=request.form.get("note"))
    session().commit()
    flash(_("Marked verified on %(day)s.", day=stamp.isoformat()), "info")
    return redirect(url_for("admin.place", place_id=place_id))


@bp.post("/places/<int:place_id>/checklist")
@admin_required
def checklist(place_id: int) -> ResponseReturnValue:
    """Save the six-haves checklist and its notes."""
    items: dict[str, tuple[bool, str]] = {}
    for key in SIX_HAVE_KEYS:
        items[key] = (request.form.get(f"ok_{key}") == "1", request.form.get(f"note_{key}", ""))
    changed = history.save_checklist(
        session(), place_id, items, editor(), note=request.form.get("note")
    )
    session().commit()
    flash(_("Checklist saved.") if changed else _("Nothing changed."), "info")
    return redirect(url_for("admin.place", place_id=place_id))


@bp.get("/users")
@admin_required
def users() -> ResponseReturnValue:
    """List accounts (created with ``yitu users create``)."""
    return render_template(
        "admin/users.html", users=accounts.list_accounts(private_db.private_session())
    )


@bp.post("/users/<int:user_id>/active")
@admin_required
def set_user_active(user_id: int) -> ResponseReturnValue:
    """Enable or disable an account; disabling ends its sessions at once."""
    db = private_db.private_session()
    target = accounts.get_account(db, user_id)
    if target is None:
        abort(404)
    active = request.form.get("active") == "1"
    if not active and target.id == actor().id:
        raise InvalidInput("you cannot disable your own account", field="active")
    accounts.set_active(db, user_id, active=active)
    db.commit()
    flash(_("Account updated."), "info")
    return redirect(url_for("admin.users"))
