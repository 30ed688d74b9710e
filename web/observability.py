"""Request logs as JSON lines and Prometheus metrics on an allow-listed ``/metrics``.

Each request gets an id (a caller's ``X-Request-ID`` when it is a plain
token, else a new one), echoed in the response.  One JSON line per request
goes to the ``yitu.access`` logger (stderr): time, request id, method,
**route** (the URL rule, e.g. ``/places/<int:place_id>``, never the path or
query string, which carry riders' coordinates and household ids), status
and latency.  No client address, no body, no user name: the logs hold
nothing the register or a rider would mind.

Metrics (``prometheus_client``): ``yitu_http_requests_total`` by method,
route and status, and ``yitu_http_request_duration_seconds`` by method and
route.  Under gunicorn, ``yitu serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` so
``/metrics`` adds up every worker.  ``/metrics`` answers only clients in
``METRICS_ALLOW`` (networks, default loopback); everyone else gets 404.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import secrets
import sys
import time
from datetime import UTC, datetime

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

bp = Blueprint("observability", __name__)
access_log = logging.getLogger("yitu.access")

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
REQUESTS = Counter(
    "yitu_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "yitu_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: the message's fields, time and level."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None) or {"message": record.getMessage()}
        return json.dumps(
            {
                "ts": datetime.fromtimestamp(record.created, UTC).isoformat(
                    timespec="milliseconds"
                ),
                "level": record.levelname.lower(),
                "logger": record.name,
                **fields,
            },
            ensure_ascii=False,
        )


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Write to whatever ``sys.stderr`` is now (test runners swap it between tests)."""

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def _route() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "<unmatched>"


def start_request() -> None:
    """Stamp the request with an id and a start time."""
    offered = request.headers.get("X-Request-ID", "")
    g.request_id = offered if REQUEST_ID.fullmatch(offered) else secrets.token_hex(8)
    g.request_started = time.perf_counter()


def finish_request(response: Response) -> Response:
    """Echo the request id, count the request and log one JSON line."""
    started = g.pop("request_started", None)
    if started is None:
        return response
    elapsed = time.perf_counter() - started
    route = _route()
    response.headers["X-Request-ID"] = g.request_id
    REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    LATENCY.labels(request.method, route).observe(elapsed)
    access_log.info(
        "request",
        extra={
            "fields": {
                "request_id": g.request_id,
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "latency_ms": round(elapsed * 1000, 1),
            }
        },
    )
    return response


def _allowed(address: str | None) -> bool:
    if not address:
        return False
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    allow = str(current_app.config.get("METRICS_ALLOW", "127.0.0.1/32,::1/128"))
    return any(
        client in ipaddress.ip_network(net.strip(), strict=False)
        for net in allow.split(",")
        if net.strip()
    )


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text format, for allow-listed scrapers only (404 for anyone else)."""
    if not _allowed(request.remote_addr):
        abort(404)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest()
    response = Response(body, mimetype=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Hook the request id, JSON access log and metrics into ``app``."""
    app.before_request(start_request)
    app.after_request(finish_request)
    if not access_log.handlers:
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False


@bp.record_once
def _on_register(state: object) -> None:
    init_app(state.app)  # type: ignore[attr-defined]
