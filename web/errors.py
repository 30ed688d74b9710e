"""Map domain and database errors to HTTP once.

Under ``/api`` every error is an RFC 9457 problem-details JSON body; elsewhere
a short HTML page.  Messages come from :mod:`geo.errors`, which are safe to
show; unexpected exceptions become a generic 500 without a traceback.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from geo.errors import (
    GeoError,
    HouseholdNotFound,
    InvalidInput,
    PlaceNotFound,
    ServiceUnavailable,
)

log = logging.getLogger(__name__)

STATUS_OF: tuple[tuple[type[GeoError], int], ...] = (
    (InvalidInput, 400),
    (PlaceNotFound, 404),
    (HouseholdNotFound, 404),
    (ServiceUnavailable, 503),
    (GeoError, 422),
)
RETRY_AFTER_S = 5


def wants_json() -> bool:
    """True for API routes, whose clients expect problem-details JSON."""
    return request.path.startswith("/api/")


def problem(status: int, title: str, detail: str, **extra: object) -> Response:
    """Return an error response: problem JSON for the API, HTML otherwise."""
    if wants_json():
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
        response = jsonify(body)
        response.mimetype = "application/problem+json"
    else:
        forget_unloaded_user()
        response = Response(
            render_template("error.html", status=status, title=title, detail=detail)
        )
    response.status_code = status
    return response


def forget_unloaded_user() -> None:
    """Treat the visitor as anonymous on an error page unless the account is already loaded.

    Flask-Login's template context loads the account, which is a query: when
    the database is what failed, it would fail again inside this handler and
    gunicorn would answer a bare 500 without our headers.  An error page
    shows nothing of the account anyway.
    """
    manager = getattr(current_app, "login_manager", None)
    if manager is not None and "_login_user" not in g:
        g._login_user = manager.anonymous_user()  # Flask-Login's per-request slot


def handle_geo_error(exc: GeoError) -> Response:
    """Answer a domain error with its status and its user-safe message."""
    status = next(code for cls, code in STATUS_OF if isinstance(exc, cls))
    extra = {"field": exc.field} if isinstance(exc, InvalidInput) and exc.field else {}
    response = problem(status, type(exc).__name__, str(exc), **extra)
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def handle_http_error(exc: HTTPException) -> Response:
    """Answer werkzeug's HTTP errors (404, 405, 413, ...) in the same format."""
    response = problem(exc.code or 500, exc.name, exc.description or exc.name)
    for key, value in (exc.get_response().headers or {}).items():
        if key.lower() in ("allow", "retry-after"):
            response.headers[key] = value
    return response


def handle_database_down(exc: Exception) -> Response:
    """Answer 503 with Retry-After when the database cannot be reached."""
    if (
        isinstance(exc, DBAPIError)
        and not isinstance(exc, OperationalError)
        and not exc.connection_invalidated
    ):
        return handle_unexpected(exc)
    log.warning("database unavailable: %s", type(exc).__name__)
    response = problem(
        503,
        _("Service unavailable"),
        _("The database is unavailable right now. Please try again shortly."),
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def handle_redis_down(exc: Exception) -> Response:
    """Answer 503 when Redis (rate-limit counters, job queue) cannot be reached.

    Only requests that need Redis get here (login and report POSTs, uploads
    that queue a job); they fail closed, saying why, instead of running
    unlimited or answering 500.
    """
    log.warning("redis unavailable: %s", type(exc).__name__)
    response = problem(
        503,
        "Service unavailable",
        "暂时无法处理：限流计数与任务队列所用的 Redis 无法连接，未保存任何内容。"
        " Redis (rate-limit counters and the job queue) cannot be reached right now;"
        " nothing was saved. Please try again shortly.",
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def handle_unexpected(exc: Exception) -> Response:
    """Log the exception server-side and answer a generic 500."""
    log.exception("unhandled error on %s", request.path)
    return problem(500, _("Internal error"), _("Something went wrong on our side."))


def init_app(app: Flask) -> None:
    """Register the handlers on ``app``."""
    app.register_error_handler(GeoError, handle_geo_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(OperationalError, handle_database_down)
    app.register_error_handler(PoolTimeout, handle_database_down)
    app.register_error_handler(DBAPIError, handle_database_down)
    app.register_error_handler(RedisError, handle_redis_down)
    app.register_error_handler(Exception, handle_unexpected)
