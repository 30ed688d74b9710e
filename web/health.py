"""``/healthz`` (the process answers) and ``/readyz`` (it can serve: database and migrations).

Both are open to anyone, need no login, and say nothing private: orchestrators
(compose ``healthcheck``, Docker ``HEALTHCHECK``, a load balancer) call them
without credentials.  ``/healthz`` touches nothing but the process, so a
database outage never gets a healthy worker restarted; ``/readyz`` answers
503 while the database is away or its schema is behind (or ahead of) the code,
so traffic waits for the ``migrate`` step.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify

from geo.db.migrate import readiness
from geo.errors import GeoError
from web.db import session

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


def _answer(code: int, **body: object) -> Response:
    response = jsonify(body)
    response.status_code = code
    response.headers["Cache-Control"] = "no-store"
    if code == 503:
        response.headers["Retry-After"] = "5"
    return response


@bp.get("/healthz")
def healthz() -> Response:
    """Answer 200 while the process can run a view (no database query)."""
    return _answer(200, status="ok")


@bp.get("/readyz")
def readyz() -> Response:
    """Answer 200 when the database answers and every migration head is applied."""
    try:
        state = readiness(session())
    except GeoError:  # a domain-level timeout or outage from the engine
        state = None
    if state is None:
        log.warning("readyz: database unavailable")
        return _answer(503, status="unavailable", database="unavailable")
    if not state.current:
        return _answer(
            503,
            status="unavailable",
            database="ok",
            migrations="not current",
            expected=sorted(state.expected),
            applied=sorted(state.applied),
        )
    return _answer(
        200, status="ok", database="ok", migrations="current", revisions=sorted(state.applied)
    )
