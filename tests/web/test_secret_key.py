"""The app refuses, outside debug and tests, a known-default or (when required) missing secret key."""

from __future__ import annotations

import pytest

from web import create_app


def config(database_url: str, **extra: object) -> dict[str, object]:
    return {"DATABASE_URL": database_url, **extra}


@pytest.mark.parametrize("key", ["change-me-in-production", "changeme", " Secret "])
def test_a_known_default_secret_key_is_refused(database_url: str, key: str) -> None:
    with pytest.raises(RuntimeError, match="known default"):
        create_app(config(database_url, SECRET_KEY=key))


def test_a_missing_key_is_refused_when_required(database_url: str) -> None:
    with pytest.raises(RuntimeError, match="YITU_SECRET_KEY is not set"):
        create_app(config(database_url, SECRET_KEY=None, REQUIRE_SECRET_KEY=True))


def test_debug_and_tests_may_use_any_key(database_url: str) -> None:
    app = create_app(config(database_url, SECRET_KEY="changeme", DEBUG=True))
    assert app.config["SECRET_KEY"] == "changeme"
    app = create_app(config(database_url, SECRET_KEY="changeme", TESTING=True))
    assert app.testing


def test_a_random_key_starts(database_url: str) -> None:
    key = "x7Gv0-b2Rk9qT3wZ8mN4pL6sD1fH5jK0aQ2eY9uI3oP7"
    app = create_app(config(database_url, SECRET_KEY=key, REQUIRE_SECRET_KEY=True))
    assert app.config["SECRET_KEY"] == key
