"""Workers keep the map true: confirm, report, check in, follow up; moderators act; QR posters.

Public (no account, no phone number):

- HTML forms on the place page (CSRF-protected, work without JavaScript):
  ``POST /places/<id>/confirm``, ``/places/<id>/checkin``, the report form
  ``/places/<id>/report``, and the receipt page ``/reports/<receipt>``.
- JSON API (CSRF-exempt like all of ``/api/``, rate-limited):
  ``POST /api/v1/places/<id>/reports|confirmations|checkins`` and
  ``GET /api/v1/reports/<receipt>``; errors are problem details.
- ``/s/<station number>``: the short, stable URL a station's QR code holds;
  ``/places/<id>/poster.pdf|svg``: the printable poster.

Moderation (admins): ``/admin/trust/`` (queue, time to first action, stale
places), actions, private photos, and a district's posters as one PDF.

Abuse without a CAPTCHA: limits per client and per place (Flask-Limiter's
storage: memory, or Redis when ``RATELIMIT_STORAGE_URI`` names one), a
honeypot field, duplicate collapse (in :mod:`geo.service.trust`), and client
addresses only as keyed hashes that rotate daily.  Nothing here logs a
report's text, photo or the client's address.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import RateLimitItem, parse_many

from geo.db import trust as store
from geo.errors import InvalidInput, PlaceNotFound
from geo.places.vocabulary import AMENITY_TERMS
from geo.service import trust as service
from geo.trust.photos import PhotoTooLarge
from geo.trust.posters import PosterStation, PosterText, poster_pdf, poster_svg
from geo.trust.reports import (
    MODERATION_ACTIONS,
    REPORT_TYPES,
    new_receipt,
)
from web import private_db
from web.auth import actor, login_required_role
from web.db import session
from web.errors import problem
from web.templating import label
from web.trustview import (
    DEFAULTS,
    STATUS_LABELS,
    TYPE_LABELS,
    now,
    problem_words,
    settings,
)

bp = Blueprint("trust", __name__)

LIMITER = "yitu.trust_limiter"
# A multipart report with a 5 MB photo and its fields fits in this.
MAX_REQUEST_BYTES = 6 * 1024 * 1024

ACTION_LABELS: dict[str, Any] = {
    "confirm": lazy_gettext("Confirm (apply the proposed change)"),
    "reject": lazy_gettext("Reject (with a public reason)"),
    "fix": lazy_gettext("Mark fixed"),
    "merge": lazy_gettext("Merge into another report"),
}


def client() -> service.Client:
    """Return this request's anonymous daily client identity (never the address)."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return service.client_for(
        session(), secret=secret, address=get_remote_address() or "", now=now()
    )


def _limits(name: str) -> list[RateLimitItem]:
    return list(parse_many(settings(name)))


def check_limits(place_id: int) -> None:
    """Count this request against the client's and the place's limits; 429 when over.

    The client's limit is checked first and a refused request does not
    count against the place, so one client's flood cannot lock others out.
    """
    limiter: Limiter = current_app.extensions[LIMITER]
    strategy = limiter.limiter
    prefix = settings("TRUST_RATELIMIT_PREFIX")
    who = hmac.new(
        str(current_app.config["SECRET_KEY"]).encode(),
        (get_remote_address() or "").encode(),
        "sha256",
    ).hexdigest()[:24]
    for item in _limits("TRUST_RATE_LIMIT_CLIENT"):
        if not strategy.hit(item, prefix, "client", who):
            too_many(item)
    for item in _limits("TRUST_RATE_LIMIT_PLACE"):
        if not strategy.hit(item, prefix, "place", str(place_id)):
            too_many(item)


def too_many(item: RateLimitItem) -> None:
    """Stop the request with 429 and a Retry-After of the limit's window."""
    response = problem(
        429,
        _("Too many requests"),
        _("Too many reports from here just now; please try again later."),
    )
    response.headers["Retry-After"] = str(item.get_expiry())
    abort(response)


def limit_request_size() -> None:
    """Refuse bodies larger than a report with its photo before reading them."""
    request.max_content_length = MAX_REQUEST_BYTES


def honeypot_filled(values: Any) -> bool:
    """True when the hidden ``website`` field (people never see it) has a value."""
    return bool(str(values.get("website") or "").strip())


def photo_bytes() -> bytes | None:
    """Return the uploaded photo (413 over the limit), or None."""
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        return None
    limit = int(settings("TRUST_MAX_PHOTO_BYTES"))
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        abort(413, description=_("The photo is larger than %(mb)s MB.", mb=limit // 2**20))
    return data


def _file(place_id: int, values: Any, photo: bytes | None) -> service.Filed:
    try:
        return service.file_report(
            session(),
            place_id=place_id,
            client=client(),
            type=values.get("type") or "",
            amenity=values.get("amenity") or None,
            text=values.get("text") or None,
            proposed_hours=values.get("proposed_hours") or None,
            lon=values.get("lon") or None,
            lat=values.get("lat") or None,
            photo=photo,
            max_photo_bytes=int(settings("TRUST_MAX_PHOTO_BYTES")),
        )
    except PhotoTooLarge:
        abort(
            413,
            description=_(
                "The photo is larger than %(mb)s MB.",
                mb=int(settings("TRUST_MAX_PHOTO_BYTES")) // 2**20,
            ),
        )


def is_form() -> bool:
    """True when the body is an HTML form (urlencoded or multipart), not JSON."""
    return request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded")


def _request_values() -> Any:
    """The form, or the JSON object, of an API request."""
    return request.form if is_form() else _json_body()


def _json_body() -> dict[str, Any]:
    if not request.content_length and not request.data:
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", field="body")
    return body


_TEXT_FIELDS = ("type", "amenity", "text", "proposed_hours")


def json_report_values(body: dict[str, Any]) -> dict[str, Any]:
    """Check the JSON types of a report body (text fields text, lon/lat numbers, or null)."""
    for name in _TEXT_FIELDS:
        if body.get(name) is not None and not isinstance(body[name], str):
            raise InvalidInput(f"{name} must be text", field=name)
    for name in ("lon", "lat"):
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InvalidInput(f"{name} must be a number of degrees", field=name)
    return body


def _visible_place(place_id: int) -> store.PlaceFacts:
    found = store.place_facts(session(), place_id)
    if found is None:
        raise PlaceNotFound(_("No place has the number %(id)s.", id=place_id))
    return found


# ---------------------------------------------------------------------------
# JSON API


def _status_body(status: store.ReportStatus) -> dict[str, Any]:
    return {
        "receipt": status.receipt,
        "place_id": status.place_id,
        "type": status.type,
        "amenity": status.amenity,
        "status": status.status,
        "public_reason": status.public_reason,
        "public_text": status.public_text,
        "photo_url": (
            url_for("trust.public_photo", receipt=status.receipt) if status.photo_public else None
        ),
        "created_at": status.created_at.isoformat(),
        "updated_at": status.updated_at.isoformat(),
        "status_page": url_for("trust.receipt_page", receipt=status.receipt),
    }


@bp.post("/api/v1/places/<int:place_id>/reports")
def api_report(place_id: int) -> ResponseReturnValue:
    """File a problem report (JSON, or multipart with a photo); answer its receipt."""
    limit_request_size()
    check_limits(place_id)
    values: Any = request.form if is_form() else json_report_values(_json_body())
    if honeypot_filled(values):
        # Bots get a receipt-shaped answer and nothing is stored.
        return jsonify({"receipt": new_receipt(), "status": "received"}), 201
    filed = _file(place_id, values, photo_bytes() if request.files else None)
    session().commit()
    body = _status_body(service.receipt_status(session(), filed.receipt))
    response = jsonify(body)
    response.status_code = 201 if filed.new else 200
    response.headers["Location"] = url_for("trust.api_receipt", receipt=filed.receipt)
    return response


@bp.post("/api/v1/places/<int:place_id>/confirmations")
def api_confirm(place_id: int) -> ResponseReturnValue:
    """Confirm facts of a place: ``{"facts": ["all"]}`` or ``["hours", "amenity:water"]``."""
    limit_request_size()
    check_limits(place_id)
    body = _request_values()
    if honeypot_filled(body):
        return jsonify({"new": 0}), 201
    facts = (body.getlist("facts") or ["all"]) if is_form() else body.get("facts", ["all"])
    if not isinstance(facts, list):
        raise InvalidInput("facts must be a list", field="facts")
    added = service.confirm(session(), place_id=place_id, client=client(), facts=facts)
    session().commit()
    return jsonify({"place_id": place_id, "new": added}), 201


@bp.post("/api/v1/places/<int:place_id>/checkins")
def api_checkin(place_id: int) -> ResponseReturnValue:
    """Count a visit: ``{"purpose": "water"}`` (optional); nothing personal is kept."""
    limit_request_size()
    check_limits(place_id)
    body = _request_values()
    purpose = body.get("purpose") or None
    if purpose is not None and not isinstance(purpose, str):
        raise InvalidInput("purpose must be text", field="purpose")
    if not honeypot_filled(body):
        service.check_in(session(), place_id=place_id, now=now(), purpose=purpose)
        session().commit()
    return jsonify({"place_id": place_id, "counted": True}), 201


@bp.get("/api/v1/reports/<string:receipt>")
def api_receipt(receipt: str) -> ResponseReturnValue:
    """A report's public status by receipt."""
    response = jsonify(_status_body(service.receipt_status(session(), receipt)))
    response.headers["Cache-Control"] = "no-cache"
    return response


# ---------------------------------------------------------------------------
# Pages


def _back_to_place(place_id: int, done: str) -> ResponseReturnValue:
    return redirect(url_for("finder.place", place_id=place_id, done=done) + "#trust")


@bp.post("/places/<int:place_id>/confirm")
def confirm_form(place_id: int) -> ResponseReturnValue:
    """One-tap confirmation (``facts=all``) or chosen facts, from the place page."""
    _visible_place(place_id)
    check_limits(place_id)
    if not honeypot_filled(request.form):
        facts = request.form.getlist("facts") or ["all"]
        service.confirm(session(), place_id=place_id, client=client(), facts=facts)
        session().commit()
    return _back_to_place(place_id, "confirmed")


@bp.post("/places/<int:place_id>/checkin")
def checkin_form(place_id: int) -> ResponseReturnValue:
    """Check in from the place page."""
    _visible_place(place_id)
    check_limits(place_id)
    if not honeypot_filled(request.form):
        service.check_in(
            session(), place_id=place_id, now=now(), purpose=request.form.get("purpose") or None
        )
        session().commit()
    return _back_to_place(place_id, "checkin")


def _report_page(
    place: store.PlaceFacts, values: Any, errors: dict[str, str], status: int = 200
) -> ResponseReturnValue:
    return render_template(
        "trust/report.html",
        place=place,
        values=values,
        errors=errors,
        types=[(t.code, TYPE_LABELS[t.code], t.needs) for t in REPORT_TYPES],
        amenities=[(a, label(AMENITY_TERMS, a)) for a in place.amenities],
        max_mb=int(settings("TRUST_MAX_PHOTO_BYTES")) // 2**20,
    ), status


@bp.route("/places/<int:place_id>/report", methods=["GET", "POST"])
def report_form(place_id: int) -> ResponseReturnValue:
    """The report form (typed problem, optional text and photo); POST files it."""
    limit_request_size()
    place = _visible_place(place_id)
    if request.method == "GET":
        return _report_page(
            place,
            {"type": request.args.get("type", ""), "amenity": request.args.get("amenity", "")},
            {},
        )
    check_limits(place_id)
    if honeypot_filled(request.form):
        return redirect(url_for("trust.receipt_page", receipt=new_receipt()))
    try:
        filed = _file(place_id, request.form, photo_bytes())
    except InvalidInput as exc:
        return _report_page(place, request.form, {exc.field or "form": str(exc)}, 400)
    session().commit()
    return redirect(url_for("trust.receipt_page", receipt=filed.receipt))


@bp.get("/reports/<string:receipt>")
def receipt_page(receipt: str) -> ResponseReturnValue:
    """A report's status page: received, confirmed, fixed or rejected, with the public reason."""
    try:
        status = service.receipt_status(session(), receipt)
    except (service.ReportNotFound, InvalidInput):
        return render_template("trust/receipt.html", status=None, receipt=receipt[:20]), 404
    return render_template(
        "trust/receipt.html",
        status=status,
        receipt=status.receipt,
        problem=problem_words(status.type, status.amenity),
        status_words=STATUS_LABELS.get(status.status, status.status),
        photo=(
            url_for("trust.public_photo", receipt=status.receipt) if status.photo_public else None
        ),
    )


@bp.get("/reports/<string:receipt>/photo.jpg")
def public_photo(receipt: str) -> ResponseReturnValue:
    """A photo a moderator approved (re-encoded, no metadata)."""
    data = store.public_photo(session(), receipt.upper()[:20])
    if data is None:
        abort(404)
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


# ---------------------------------------------------------------------------
# QR codes and posters


@bp.get("/s/<path:station_no>")
def short_link(station_no: str) -> ResponseReturnValue:
    """The short, stable URL in a station's QR code: open the place ready to confirm."""
    place_id = store.place_by_station_no(session(), station_no[:60])
    if place_id is None:
        raise PlaceNotFound(_("No station has the number %(no)s.", no=station_no[:60]))
    return redirect(url_for("finder.place", place_id=place_id, via="qr") + "#trust")


@bp.get("/p/<int:place_id>")
def short_place_link(place_id: int) -> ResponseReturnValue:
    """The short URL of a place without a station number."""
    _visible_place(place_id)
    return redirect(url_for("finder.place", place_id=place_id, via="qr") + "#trust")


def public_base() -> str:
    """Base URL printed in QR codes."""
    return (settings("TRUST_PUBLIC_URL") or request.host_url).rstrip("/")


def short_url(place: store.PlaceFacts, *, base: str | None = None) -> str:
    """Return the stable URL a station's QR code holds."""
    root = (base or public_base()).rstrip("/")
    if place.station_no:
        return f"{root}/s/{quote(place.station_no, safe='')}"
    return f"{root}/p/{place.id}"


def poster_text() -> PosterText:
    """The poster's words (Chinese by default: posters hang in China)."""
    return PosterText(
        heading=_("Outdoor workers' station"),
        scan_line=_("Scan: confirm what is here, report a problem, check in. No sign-up."),
        number_label=_("Station No."),
        footer=_("Yitu · the trade unions' station map"),
    )


def station_of(place: store.PlaceFacts, url: str | None = None) -> PosterStation:
    """Return what a poster shows of a place."""
    return PosterStation(
        name=place.name,
        number=place.station_no,
        url=url or short_url(place),
        district=place.district,
    )


def _size() -> str:
    size = (request.args.get("size") or "A4").upper()
    if size not in ("A4", "A5"):
        raise InvalidInput("size must be A4 or A5", field="size")
    return size


@bp.get("/places/<int:place_id>/poster.<any(pdf, svg):fmt>")
def poster(place_id: int, fmt: str) -> ResponseReturnValue:
    """A station's printable poster (A4 or A5, PDF or SVG) with its QR code."""
    place = _visible_place(place_id)
    size = _size()
    name = f"poster-{place.station_no or place.id}-{size}.{fmt}"
    if fmt == "pdf":
        response = Response(
            poster_pdf([station_of(place)], poster_text(), size=size), mimetype="application/pdf"
        )
    else:
        response = Response(
            poster_svg(station_of(place), poster_text(), size=size), mimetype="image/svg+xml"
        )
    response.headers["Content-Disposition"] = f'inline; filename="{quote(name)}"'
    return response


# ---------------------------------------------------------------------------
# Moderation (admins everywhere, moderators in their districts)

moderator_required = login_required_role("admin", "moderator")


def moderator() -> service.Moderator:
    """The logged-in user as a moderator: admins of every district, moderators of theirs."""
    who = actor()
    districts = None if current_user.role == "admin" else tuple(current_user.districts)
    return service.Moderator(who.name, who.id, districts)


def _district_param() -> str | None:
    adcode = request.args.get("district") or None
    if adcode is not None and (len(adcode) != 6 or not adcode.isdigit()):
        raise InvalidInput("district must be a 6-digit adcode", field="district")
    return adcode


@bp.get("/admin/trust/")
@moderator_required
def queue_page() -> ResponseReturnValue:
    """The moderation queue (most severe, then oldest), time to first action, stale places."""
    db = private_db.private_session()
    adcode = _district_param()
    who = moderator()
    if adcode and who.districts is not None and adcode not in who.districts:
        abort(403)
    scoped = service.Moderator(who.name, who.id, (adcode,) if adcode else who.districts)
    items = service.moderation_queue(db, scoped, statuses=("received", "confirmed"))
    stale_days = int(settings("TRUST_STALE_AFTER_DAYS"))
    stale = store.stale_places(
        db, before=now() - timedelta(days=stale_days), districts=scoped.districts, limit=50
    )
    db.commit()  # the audit row of the private read
    return render_template(
        "trust/queue.html",
        items=items,
        medians=store.median_first_action(db),
        stale=stale,
        stale_days=stale_days,
        district=adcode,
        type_label=problem_words,
        status_labels=STATUS_LABELS,
        actions=list(ACTION_LABELS.items()),
        done=request.args.get("done"),
    )


@bp.post("/admin/trust/reports/<int:report_id>")
@moderator_required
def moderate(report_id: int) -> ResponseReturnValue:
    """Apply a moderator's action to a report."""
    db = private_db.private_session()
    action = request.form.get("action", "")
    if action not in MODERATION_ACTIONS:
        raise InvalidInput("choose an action", field="action")
    status = service.moderate(
        db,
        moderator(),
        report_id,
        action,
        reason=request.form.get("reason"),
        publish_text=request.form.get("publish_text") == "1",
        publish_photo=request.form.get("publish_photo") == "1",
        merge_into=request.form.get("into") or None,
        now=now(),
    )
    db.commit()
    return redirect(url_for("trust.queue_page", done=status))


@bp.get("/admin/trust/reports/<int:report_id>/photo.jpg")
@moderator_required
def private_photo(report_id: int) -> ResponseReturnValue:
    """A report's photo for moderators (audited)."""
    db = private_db.private_session()
    data = service.private_photo(db, moderator(), report_id)
    db.commit()
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/admin/trust/posters/<string:adcode>.pdf")
@moderator_required
def district_posters(adcode: str) -> ResponseReturnValue:
    """Every poster of a district's stations, one page each, as one PDF."""
    if len(adcode) != 6 or not adcode.isdigit():
        raise InvalidInput("district must be a 6-digit adcode", field="district")
    scope = moderator().districts
    if scope is not None and adcode not in scope:
        abort(403)
    places = store.places_of_district(session(), adcode)
    if not places:
        raise PlaceNotFound(_("No station in district %(code)s.", code=adcode))
    data = poster_pdf([station_of(p) for p in places], poster_text(), size=_size())
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="posters-{adcode}.pdf"'
    return response


# ---------------------------------------------------------------------------
# Wiring


def handle_report_not_found(exc: service.ReportNotFound) -> Response:
    """Unknown receipts are 404 problem details (JSON under /api)."""
    return problem(404, "ReportNotFound", str(exc))


def init_app(app: Flask) -> None:
    """Settings defaults, the limiter (memory or Redis), and the 404 of unknown receipts."""
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    limiter = Limiter(
        get_remote_address,
        app=app,
        default_limits=[],
        storage_uri=app.config.get("RATELIMIT_STORAGE_URI", "memory://"),
        key_prefix=app.config["TRUST_RATELIMIT_PREFIX"],
        headers_enabled=False,
        strategy="moving-window",
    )
    app.extensions[LIMITER] = limiter
    app.register_error_handler(service.ReportNotFound, handle_report_not_found)

    @app.context_processor
    def trust_words() -> dict[str, Callable[..., Any]]:
        return {"trust_problem_words": problem_words}


@bp.record_once
def _on_register(state: Any) -> None:
    init_app(state.app)
