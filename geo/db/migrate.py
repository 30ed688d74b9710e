"""Apply the Alembic migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import make_url

from geo.db.engine import database_url, make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """Return an Alembic config pointing at this package's migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser treats % as interpolation; escape it in passwords.
    cfg.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, *, revision: str = "heads") -> None:
    """Upgrade the database at ``url`` to ``revision`` (every branch head by default)."""
    command.upgrade(alembic_config(url), revision)


def create_database(url: str | None = None) -> bool:
    """Create the database named in ``url`` if it does not exist.

    Returns True when it was created.  Connects to the ``postgres``
    maintenance database of the same server to do so.
    """
    target = make_url(database_url(url))
    maintenance = make_engine(target.set(database="postgres").render_as_string(hide_password=False))
    try:
        with maintenance.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
            ).scalar()
            if exists:
                return False
            quoted = conn.dialect.identifier_preparer.quote(target.database or "")
            conn.execute(text(f"CREATE DATABASE {quoted}"))
            return True
    finally:
        maintenance.dispose()


def drop_database(url: str) -> None:
    """Drop the database named in ``url`` (used by the test suite)."""
    target = make_url(database_url(url))
    maintenance = make_engine(target.set(database="postgres").render_as_string(hide_password=False))
    try:
        with maintenance.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            quoted = conn.dialect.identifier_preparer.quote(target.database or "")
            conn.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
    finally:
        maintenance.dispose()
