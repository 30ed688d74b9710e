"""Database roles: the public role cannot read households or accounts; the app role is bounded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from geo.db.engine import make_engine
from tests.databases import fresh_database
from tests.household_fixtures import add_households, as_role, record

PROTECTED_SCHEMAS = ("households", "accounts")


def protected_tables(db: Session) -> list[str]:
    return list(
        db.scalars(
            text(
                "SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname = ANY(:s) "
                "ORDER BY 1"
            ),
            {"s": list(PROTECTED_SCHEMAS)},
        )
    )


def test_the_protected_schemas_hold_the_expected_tables(db: Session) -> None:
    assert protected_tables(db) == [
        "accounts.sessions",
        "accounts.users",
        "households.audit_log",
        "households.households",
        "households.support",
        "households.visits",
    ]


@pytest.mark.parametrize("privilege", ["SELECT", "INSERT", "UPDATE", "DELETE"])
def test_public_role_has_no_privilege_on_any_protected_table(db: Session, privilege: str) -> None:
    for table in protected_tables(db):
        assert (
            db.scalar(
                text("SELECT has_table_privilege('yitu_public', :t, :p)"),
                {"t": table, "p": privilege},
            )
            is False
        ), table
    for schema in PROTECTED_SCHEMAS:
        assert (
            db.scalar(
                text("SELECT has_schema_privilege('yitu_public', :s, 'USAGE')"), {"s": schema}
            )
            is False
        )


def test_app_role_reads_households_but_cannot_rewrite_the_audit_log(db: Session) -> None:
    def can(table: str, privilege: str) -> bool:
        return bool(
            db.scalar(
                text("SELECT has_table_privilege('yitu_app', :t, :p)"), {"t": table, "p": privilege}
            )
        )

    assert can("households.households", "SELECT") and can("households.households", "UPDATE")
    assert not can("households.households", "DELETE")
    assert can("households.audit_log", "INSERT") and can("households.audit_log", "SELECT")
    assert not can("households.audit_log", "UPDATE")
    assert not can("households.audit_log", "DELETE")
    assert not can("households.audit_log", "TRUNCATE")
    assert not can("place_history", "UPDATE") and can("place_history", "INSERT")
    assert not can("alembic_version", "UPDATE") and not can("spatial_ref_sys", "DELETE")


def test_both_roles_can_use_the_places_side(db: Session) -> None:
    for role in ("yitu_public", "yitu_app"):
        for table, privilege in (
            ("places", "SELECT"),
            ("places", "UPDATE"),
            ("place_history", "INSERT"),
            ("place_checklist", "UPDATE"),
        ):
            assert db.scalar(
                text("SELECT has_table_privilege(:r, :t, :p)"),
                {"r": role, "t": table, "p": privilege},
            ), (role, table, privilege)


def test_roles_are_plain_logins_without_superpowers(db: Session) -> None:
    rows = db.execute(
        text(
            "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolcanlogin "
            "FROM pg_roles WHERE rolname IN ('yitu_public', 'yitu_app') ORDER BY rolname"
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        ("yitu_app", False, False, False, False, True),
        ("yitu_public", False, False, False, False, True),
    ]


@pytest.fixture
def public_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(as_role(database_url, "yitu_public"))
    yield engine
    engine.dispose()


def test_connected_as_the_public_role_households_are_unreadable(public_engine: Engine) -> None:
    with public_engine.connect() as conn:
        assert conn.scalar(text("SELECT current_user")) == "yitu_public"
        assert conn.scalar(text("SELECT count(*) FROM places")) >= 0
        for statement in (
            "SELECT * FROM households.households",
            "SELECT * FROM households.audit_log",
            "SELECT password_hash FROM accounts.users",
        ):
            with pytest.raises(ProgrammingError, match="permission denied"):
                conn.execute(text(statement))
            conn.rollback()


def test_a_public_connection_cannot_escalate_with_set_role(public_engine: Engine) -> None:
    with (
        public_engine.connect() as conn,
        pytest.raises(ProgrammingError, match="permission denied"),
    ):
        conn.execute(text("SET ROLE yitu_app"))


def test_set_local_role_in_a_shared_session_is_refused_too(db: Session) -> None:
    add_households(db, [record()])
    with pytest.raises(ProgrammingError, match="permission denied"), db.begin_nested():
        db.execute(text("SET LOCAL ROLE yitu_public"))
        db.execute(text("SELECT count(*) FROM households.households"))


def test_the_app_runs_with_the_two_roles_end_to_end() -> None:
    """Public pages through yitu_public, login and the register through yitu_app."""
    from geo.db.engine import session_factory
    from tests.household_fixtures import (
        CHENGZHONG,
        KEY_TEXT,
        add_households,
        login,
        make_user,
        record,
    )
    from web import create_app

    with fresh_database() as url:
        owner = make_engine(url)
        try:
            with session_factory(owner)() as db:
                rec = record(adcode=CHENGZHONG)
                [hid] = add_households(db, [rec])
                user = make_user(db, "caseworker", districts=(CHENGZHONG,))
                db.commit()
        finally:
            owner.dispose()
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "k",
                "SESSION_COOKIE_SECURE": False,
                "HOUSEHOLD_KEY": KEY_TEXT,
                "DATABASE_URL": as_role(url, "yitu_public"),
                "PRIVATE_DATABASE_URL": as_role(url, "yitu_app"),
            }
        )
        try:
            client = app.test_client()
            assert client.get("/places").status_code == 200
            assert client.get("/api/v1/places").status_code == 200
            login(client, user.username)
            page = client.get(f"/cases/households/{hid}")
            assert page.status_code == 200 and rec.name in page.get_data(as_text=True)
            with app.app_context():
                from web import db as public_db

                with pytest.raises(ProgrammingError, match="permission denied"):
                    public_db.session().execute(text("SELECT * FROM households.households"))
                public_db.session().rollback()
        finally:
            # Both engines of each (requests and batch work: the app context above
            # opened a batch session outside any request).
            app.extensions["yitu.db"].dispose()
            app.extensions["yitu.private_db"].database.dispose()
