"""Shared fixtures: a real PostGIS database per test session, rolled back per test.

The database is created fresh (``yitu_test_<random>``) on the server named by
``YITU_TEST_DATABASE_URL`` or ``YITU_DATABASE_URL`` (default 127.0.0.1:5432),
migrated to every head, and dropped at the end.  Never SQLite, never mocks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from geo.db.engine import make_engine
from tests.databases import fresh_database
from web import create_app

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """URL of a freshly created and migrated test database."""
    with fresh_database() as url:
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """Engine on the test database."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        outer.rollback()


def savepoint_factory(connection: Connection) -> sessionmaker[Session]:
    """Sessions whose commits become savepoints of the test's transaction."""
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def db(connection: Connection) -> Iterator[Session]:
    """A session whose work disappears after the test."""
    session = savepoint_factory(connection)()
    yield session
    session.close()


@pytest.fixture
def app_config(database_url: str, connection: Connection) -> dict[str, object]:
    """Test configuration; a test may change it before asking for ``app``."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SESSION_FACTORY": savepoint_factory(connection),
        "SECRET_KEY": "test-secret-key",
        "SESSION_COOKIE_SECURE": False,
    }


@pytest.fixture
def app(app_config: dict[str, object]) -> Flask:
    """The app, bound to the test's rolled-back connection."""
    return create_app(app_config)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for ``app``."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A CLI runner whose commands use ``app`` (invoke with ``cli=yitu_cli``)."""
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def yitu_cli():  # noqa: ANN201  (a click.Group)
    """The ``yitu`` command group, for ``runner.invoke(yitu_cli, [...])``."""
    from web.cli import build_cli

    return build_cli()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data folder beside the repository (../shared/data).

    Absent on a user's fresh clone: skipped there; in CI it must exist.
    """
    if not SHARED_DATA.is_dir():
        message = f"real test data not found at {SHARED_DATA}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_DATA
