"""Throw-away test databases on the configured PostgreSQL server."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url

from geo.db.engine import database_url as configured_url
from geo.db.migrate import create_database, drop_database, upgrade


@contextmanager
def fresh_database(prefix: str = "yitu_test_") -> Iterator[str]:
    """Create and migrate ``<prefix><random>``, yield its URL, and drop it afterwards.

    The server is the one named by ``YITU_TEST_DATABASE_URL`` or
    ``YITU_DATABASE_URL`` (default 127.0.0.1:5432).
    """
    base = make_url(configured_url(os.environ.get("YITU_TEST_DATABASE_URL")))
    url = base.set(database=f"{prefix}{secrets.token_hex(4)}").render_as_string(hide_password=False)
    create_database(url)
    try:
        upgrade(url)
        yield url
    finally:
        drop_database(url)
