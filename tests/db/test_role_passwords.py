"""``yitu db upgrade`` gives the application roles the passwords of the migrate env file."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from geo.db.roles import set_role_passwords


def has_password(engine: Engine, role: str) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.scalar(
                text("SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = :r"),
                {"r": role},
            )
        )


def test_role_passwords_are_set_quoted_and_removable(engine: Engine, database_url: str) -> None:
    assert not has_password(engine, "yitu_app")
    try:
        # A quote in the password must stay data (PostgreSQL quotes it with %L).
        assert set_role_passwords(database_url, {"yitu_app": "pa'ss; DROP ROLE x"}) == ["yitu_app"]
        assert has_password(engine, "yitu_app")
    finally:
        set_role_passwords(database_url, {"yitu_app": None})
    assert not has_password(engine, "yitu_app")


def test_only_application_roles(database_url: str) -> None:
    with pytest.raises(ValueError, match="not an application role"):
        set_role_passwords(database_url, {"postgres": "x"})
