"""A stuck database cannot hold a request thread, and its error page needs no database.

The proxy of ``test_db_restart.py`` stands between the app and PostgreSQL.
"Paused", it forwards nothing on new and already pooled connections but
keeps every socket open, so the kernel acknowledges each packet: TCP
keepalives never fire, and only the engine's own deadlines end the wait.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from tests.web.test_db_restart import TcpProxy, assert_unavailable, proxied_app, running_proxy
from web.db import session

NEAREST = "/api/v1/places/nearest?lon=116.397&lat=39.909"
CASES = "/cases/"
# Small limits, so that the bound below stays a few seconds.
TIMEOUTS = {"DATABASE_CONNECT_TIMEOUT_S": 2, "DATABASE_STATEMENT_TIMEOUT_MS": 1_000}
SLACK_S = 5  # scheduling on a shared two-core machine


@pytest.fixture
def proxy(database_url: str) -> Iterator[TcpProxy]:
    with running_proxy(database_url) as tcp:
        yield tcp


def worst_case_s(config: dict[str, object]) -> float:
    """Longest a request may wait on a stuck database, in seconds, under ``config``.

    The pre-ping of the pooled connection (one connect timeout), the new
    connection the pool then opens (another), and, for a statement already
    sent, the statement timeout plus the connect timeout of grace.
    """
    connect_s = float(config["DATABASE_CONNECT_TIMEOUT_S"])  # type: ignore[arg-type]
    statement_s = float(config["DATABASE_STATEMENT_TIMEOUT_MS"]) / 1000  # type: ignore[arg-type]
    return 3 * connect_s + statement_s + SLACK_S


def log_in_as_a_token(client: FlaskClient) -> None:
    """Give ``client`` the session cookie a login leaves (the account is looked up per request)."""
    with client.session_transaction() as cookie:
        cookie["_user_id"] = "a-session-token"
        cookie["_fresh"] = True


def assert_error_page(response) -> None:  # noqa: ANN001
    """The app's own 503 page, with its security headers, not gunicorn's bare 500."""
    assert_unavailable(response, json=False)
    assert response.mimetype == "text/html"
    assert '<section class="error">' in response.get_data(as_text=True)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def timed_get(client: FlaskClient, url: str):  # noqa: ANN201
    start = time.monotonic()
    response = client.get(url)
    return response, time.monotonic() - start


def test_a_pooled_connection_to_a_stuck_database_answers_503_within_seconds(
    app_config: dict[str, object], database_url: str, proxy: TcpProxy
) -> None:
    app = proxied_app(app_config, database_url, proxy, **TIMEOUTS)
    client = app.test_client()
    try:
        assert client.get(NEAREST).status_code == 200  # the pool holds a live connection
        proxy.paused = True
        response, waited_s = timed_get(client, NEAREST)
        assert_unavailable(response, json=True)
        assert waited_s < worst_case_s(app.config)
        log_in_as_a_token(client)
        response, waited_s = timed_get(client, CASES)
        assert_error_page(response)
        assert waited_s < worst_case_s(app.config)
        proxy.paused = False
        assert client.get(NEAREST).status_code == 200
    finally:
        app.extensions["yitu.db"].dispose()


def test_a_statement_sent_to_a_stuck_database_ends_within_the_statement_bound(
    app_config: dict[str, object], database_url: str, proxy: TcpProxy
) -> None:
    app = proxied_app(app_config, database_url, proxy, **TIMEOUTS)
    try:
        with app.test_request_context():
            db = session()
            db.execute(text("SELECT 1"))  # checked out and pinged: the next wait is a statement's
            proxy.paused = True
            start = time.monotonic()
            with pytest.raises(OperationalError, match="no answer from the database"):
                db.execute(text("SELECT 1"))
            assert time.monotonic() - start < worst_case_s(app.config)
    finally:
        app.extensions["yitu.db"].dispose()


def test_a_logged_in_page_during_an_outage_is_the_apps_503_page(
    app_config: dict[str, object], database_url: str, proxy: TcpProxy
) -> None:
    app: Flask = proxied_app(app_config, database_url, proxy)
    client = app.test_client()
    log_in_as_a_token(client)
    try:
        proxy.stop()
        for url in (CASES, "/places"):
            assert_error_page(client.get(url))
        proxy.start()
    finally:
        app.extensions["yitu.db"].dispose()
