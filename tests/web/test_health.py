"""``/healthz`` and ``/readyz`` on real databases: migrated, never migrated, and unreachable."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from geo.db.engine import make_engine
from geo.db.migrate import (
    MIGRATION_LOCK_KEY,
    create_database,
    drop_database,
    expected_heads,
    upgrade,
)
from web import create_app


def test_healthz_answers_without_login(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_is_ready_when_every_head_is_applied(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["migrations"] == "current"
    assert set(body["revisions"]) <= expected_heads()
    assert len(expected_heads()) > 1  # several room branches: every one must be applied


@pytest.fixture
def empty_database(database_url: str) -> Iterator[str]:
    """A database that exists but was never migrated."""
    url = make_url(database_url)
    url = url.set(database=f"{url.database}_empty").render_as_string(hide_password=False)
    create_database(url)
    yield url
    drop_database(url)


def test_readyz_refuses_a_database_behind_the_code(empty_database: str) -> None:
    app = create_app(
        {"TESTING": True, "DATABASE_URL": empty_database, "SECRET_KEY": "test-secret-key"}
    )
    with app.test_client() as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        body = response.get_json()
        assert body["database"] == "ok"
        assert body["migrations"] == "not current"
        assert body["applied"] == []
        assert set(body["expected"]) == expected_heads()
        assert response.headers["Retry-After"]
        assert client.get("/healthz").status_code == 200
    app.extensions["yitu.db"].dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_readyz_answers_503_when_the_database_is_away_and_healthz_stays_up() -> None:
    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/yitu"
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test-secret-key"})
    with app.test_client() as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.get_json() == {"status": "unavailable", "database": "unavailable"}
        assert client.get("/healthz").status_code == 200
    app.extensions["yitu.db"].dispose()


def test_a_database_ahead_of_the_code_is_not_current() -> None:
    from geo.db.migrate import MigrationState

    heads = expected_heads()
    assert MigrationState(expected=heads, applied=heads).current
    assert not MigrationState(expected=heads, applied=heads | {"9999_future"}).current
    assert not MigrationState(expected=heads, applied=frozenset({"0001_places"})).current


def test_upgrade_waits_for_the_migration_lock(engine: Engine, database_url: str) -> None:
    """Two migrators take turns: ``upgrade`` blocks while another holds the advisory lock."""
    errors: list[BaseException] = []

    def migrate() -> None:
        try:
            upgrade(database_url)
        except BaseException as exc:  # noqa: BLE001  (reported to the test thread)
            errors.append(exc)

    holder = make_engine(database_url)
    try:
        with holder.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            worker = threading.Thread(target=migrate)
            worker.start()
            waiting = 0
            for _ in range(600):  # until the other backend queues on our lock
                with engine.connect() as probe:
                    waiting = probe.execute(
                        text(
                            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                            "AND NOT granted AND database = (SELECT oid FROM pg_database "
                            "WHERE datname = current_database())"
                        )
                    ).scalar_one()
                if waiting:
                    break
                worker.join(0.05)
            assert waiting == 1
            assert worker.is_alive()
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
            conn.commit()
        worker.join(60)
        assert not worker.is_alive()
        assert errors == []
    finally:
        holder.dispose()
