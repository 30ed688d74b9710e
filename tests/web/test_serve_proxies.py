"""``yitu serve`` believes X-Forwarded-Proto only from the proxies ``TRUSTED_PROXIES`` counts.

A real gunicorn in a child process on a free 127.0.0.1 port: its own
``forwarded_allow_ips`` (127.0.0.1 by default) would otherwise mark a local
client's ``X-Forwarded-Proto: https`` request secure, turning on HSTS and
https URLs while the app trusts no proxy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
START_S = 60  # gunicorn and one worker importing the app, on a busy machine


@contextmanager
def served(database_url: str, port: int, trusted_proxies: int) -> Iterator[str]:
    """Run ``yitu serve`` on 127.0.0.1:``port``; yield its base URL, then stop it."""
    env = {name: value for name, value in os.environ.items() if name != "FORWARDED_ALLOW_IPS"}
    env |= {
        "YITU_DATABASE_URL": database_url,
        "YITU_SECRET_KEY": "serve-test",
        "YITU_TRUSTED_PROXIES": str(trusted_proxies),
    }
    child = subprocess.Popen(  # noqa: S603  (our own CLI, fixed arguments)
        [
            sys.executable,
            "-c",
            "from web.cli import main; main()",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--threads",
            "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_S
        while True:
            try:
                urllib.request.urlopen(f"{base}/static/css/yitu.css", timeout=2).close()  # noqa: S310
                break
            except OSError:
                assert child.poll() is None, child.communicate()[1][-2000:]
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        yield base
    finally:
        child.terminate()
        child.communicate(timeout=30)


def forwarded_https(base: str) -> tuple[Message, str]:
    """GET the OpenAPI document claiming ``X-Forwarded-Proto: https``; headers and server URL."""
    request = urllib.request.Request(
        f"{base}/api/v1/openapi.json",  # noqa: S310
        headers={"X-Forwarded-Proto": "https"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.headers, json.load(response)["servers"][0]["url"]


@pytest.mark.parametrize(("trusted", "scheme"), [(0, "http"), (1, "https")])
def test_forwarded_proto_is_believed_only_from_trusted_proxies(
    database_url: str, free_tcp_port: int, trusted: int, scheme: str
) -> None:
    with served(database_url, free_tcp_port, trusted) as base:
        headers, server_url = forwarded_https(base)
    assert server_url.startswith(f"{scheme}://127.0.0.1:")
    assert ("Strict-Transport-Security" in headers) == (scheme == "https")
