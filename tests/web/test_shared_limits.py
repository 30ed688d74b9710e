"""Login limits under a real multi-worker gunicorn, and what happens when Redis goes away.

Each test starts its own ``redis-server`` on a free port (never the shared
one on 6379) and its own ``yitu serve`` on a free 127.0.0.1 port, against a
fresh database.  Every attempt is sent on a fresh TCP connection, so gunicorn
spreads them over its workers as it would spread real clients.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy.orm import Session

from geo.db.engine import make_engine
from tests.databases import fresh_database
from tests.finder_fixtures import add_place

ROOT = Path(__file__).resolve().parents[2]
YITU = [sys.executable, "-c", "from web.cli import main; main()"]
START_S = 90  # a master and several workers importing the app on a busy 2-core machine
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def redis_server() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A private, throw-away redis-server (no persistence) on a free port."""
    port = free_port()
    child = subprocess.Popen(  # noqa: S603
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail("redis-server did not start")
        yield port, child
    finally:
        if child.poll() is None:
            child.terminate()
        child.wait(30)


@pytest.fixture(scope="module")
def served_database() -> Iterator[tuple[str, int]]:
    """A fresh migrated database with one committed place."""
    with fresh_database() as url:
        engine = make_engine(url)
        with Session(engine) as db:
            place_id = add_place(db, 101.778, 36.617, city="西宁市")
            db.commit()
        engine.dispose()
        yield url, place_id


@contextmanager
def gunicorn(database_url: str, storage_uri: str, *, workers: int) -> Iterator[tuple[int, Path]]:
    """``yitu serve`` with ``workers`` workers; yields its port and the file holding its stderr."""
    port = free_port()
    log = Path(f"/tmp/yitu-limits-{port}.log")
    env = {
        **os.environ,
        "YITU_DATABASE_URL": database_url,
        "YITU_SECRET_KEY": "limits-test",
        "YITU_SESSION_COOKIE_SECURE": "false",
        "YITU_RATELIMIT_STORAGE_URI": storage_uri,
        "YITU_LOGIN_RATE_LIMIT": "10 per minute",
    }
    env.pop("YITU_PRIVATE_DATABASE_URL", None)
    with log.open("wb") as err:
        child = subprocess.Popen(  # noqa: S603
            [
                *YITU,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--threads",
                "2",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + START_S
        while True:
            try:
                if request(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert child.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield port, log
    finally:
        child.terminate()
        child.wait(60)
        log.unlink(missing_ok=True)


def request(
    port: int,
    method: str,
    path: str,
    body: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:
    """One request on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


def login_form(port: int) -> tuple[str, str]:
    """The session cookie and CSRF token of a fresh login page."""
    status, headers, html = request(port, "GET", "/auth/login")
    assert status == 200
    found = CSRF.search(html)
    assert found, "no CSRF token on the login page"
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    return cookie, found.group(1)


def attempt(port: int, cookie: str, token: str, n: int) -> tuple[int, str]:
    status, _, body = request(
        port,
        "POST",
        "/auth/login",
        urlencode(
            {"csrf_token": token, "username": f"nobody{n}", "password": "not the password at all"}
        ),
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie,
            "Accept": "application/json",
        },
    )
    return status, body


def test_serve_refuses_several_workers_on_memory_counters(served_database: tuple[str, int]) -> None:
    env = {
        **os.environ,
        "YITU_DATABASE_URL": served_database[0],
        "YITU_RATELIMIT_STORAGE_URI": "memory://",
    }
    result = subprocess.run(  # noqa: S603
        [*YITU, "serve", "--port", str(free_port()), "--workers", "3"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "YITU_RATELIMIT_STORAGE_URI=redis://" in result.stderr
    assert "--workers 1" in result.stderr


def test_three_workers_share_the_login_limit_through_redis(
    served_database: tuple[str, int],
) -> None:
    with (
        redis_server() as (redis_port, _),
        gunicorn(served_database[0], f"redis://127.0.0.1:{redis_port}/0", workers=3) as (port, _),
    ):
        cookie, token = login_form(port)
        statuses = [attempt(port, cookie, token, n)[0] for n in range(30)]
        status, _, metrics = request(port, "GET", "/metrics")
    assert statuses[:10] == [401] * 10, statuses
    assert statuses[10:] == [429] * 20, statuses
    # /metrics adds up every worker (prometheus_client multiprocess mode under yitu serve).
    assert status == 200
    counted = {
        code: float(line.rsplit(" ", 1)[1])
        for code in ("401", "429")
        for line in metrics.splitlines()
        if line.startswith(
            f'yitu_http_requests_total{{method="POST",route="/auth/login",status="{code}"}}'
        )
    }
    assert counted == {"401": 10.0, "429": 20.0}, counted


def test_redis_down_pages_work_and_login_and_reports_fail_closed(
    served_database: tuple[str, int],
) -> None:
    url, place_id = served_database
    with (
        redis_server() as (redis_port, redis),
        gunicorn(url, f"redis://127.0.0.1:{redis_port}/0", workers=2) as (port, log),
    ):
        cookie, token = login_form(port)
        assert attempt(port, cookie, token, 0)[0] == 401  # Redis up: an ordinary failed login
        redis.terminate()
        redis.wait(30)

        for path in (
            "/",
            "/places",
            f"/places/{place_id}",
            "/api/v1/places",
            f"/api/v1/places/{place_id}",
            "/healthz",
            "/readyz",
            "/auth/login",
        ):
            for _ in range(4):  # several connections: more than one worker answers
                status, _, _ = request(port, "GET", path)
                assert status == 200, (path, status)

        status, body = attempt(port, cookie, token, 1)
        assert status == 503, body[:500]
        assert "the rate limiter&#39;s store (Redis) cannot be reached" in body
        status, headers, body = request(
            port,
            "POST",
            f"/api/v1/places/{place_id}/confirmations",
            "{}",
            {"Content-Type": "application/json"},
        )
        assert status == 503, body
        assert "Redis" in json.loads(body)["detail"]
        assert headers["Retry-After"]
        logged = log.read_text()
    assert "login refused: the rate limiter's store is unreachable" in logged
    assert "redis unavailable: ConnectionError" in logged
