"""Apply the Alembic migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import Session

from geo.db.engine import database_url, make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Key of the PostgreSQL advisory lock that serialises migrations: two replicas
# (or two ``migrate`` containers) starting together take turns instead of
# racing on the same DDL.  Any constant works as long as every migrator uses it.
MIGRATION_LOCK_KEY = 0x79697475_0015  # "yitu", issue 15


def alembic_config(url: str | None = None) -> Config:
    """Return an Alembic config pointing at this package's migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser treats % as interpolation; escape it in passwords.
    cfg.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, *, revision: str = "heads") -> None:
    """Upgrade the database at ``url`` to ``revision`` (every branch head by default).

    The migration runs while this process holds a session-level PostgreSQL
    advisory lock (:data:`MIGRATION_LOCK_KEY`) on a separate connection, so
    concurrent ``yitu db upgrade`` runs wait for each other; the second one
    then finds nothing left to do.
    """
    engine = make_engine(database_url(url))
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                command.upgrade(alembic_config(url), revision)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
    finally:
        engine.dispose()


@dataclass(frozen=True)
class MigrationState:
    """Which Alembic revisions the code expects and which the database has applied."""

    expected: frozenset[str]
    applied: frozenset[str]

    @property
    def current(self) -> bool:
        """Return whether every shipped head is applied (itself or through a dependant).

        ``alembic_version`` omits a head that another applied revision
        depends on (``0003_accounts`` under ``0006_trust_moderators``), so
        the test is on the applied revisions' ancestry, not set equality.  A
        revision the code does not know (the database is ahead) is not current.
        """
        if not self.applied:
            return False
        try:
            reached = applied_with_ancestors(self.applied)
        except KeyError:
            return False
        return self.expected <= reached


def _script() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS))


@lru_cache(maxsize=1)
def expected_heads() -> frozenset[str]:
    """Return the head revisions of the migrations shipped with this code."""
    return frozenset(_script().get_heads())


@lru_cache(maxsize=8)
def applied_with_ancestors(applied: frozenset[str]) -> frozenset[str]:
    """Return the applied revisions and every revision they build on or depend on.

    Raises
    ------
    KeyError
        A revision is unknown to this code.
    """
    by_id = {r.revision: r for r in _script().walk_revisions()}
    if not applied <= by_id.keys():
        raise KeyError(", ".join(sorted(applied - by_id.keys())))
    reached: set[str] = set()
    todo = list(applied)
    while todo:
        revision = todo.pop()
        if revision in reached:
            continue
        reached.add(revision)
        script = by_id[revision]
        for parents in (script.down_revision, script.dependencies):
            if isinstance(parents, str):
                todo.append(parents)
            elif parents:
                todo.extend(parents)
    return frozenset(reached)


def migration_state(conn: Connection) -> MigrationState:
    """Compare the shipped heads with the database's ``alembic_version`` rows.

    A database never migrated (no ``alembic_version`` table) has no applied
    revisions.  The caller's connection is only read.
    """
    try:
        with conn.begin_nested():
            applied = frozenset(conn.scalars(text("SELECT version_num FROM alembic_version")))
    except ProgrammingError:
        applied = frozenset()
    return MigrationState(expected=expected_heads(), applied=applied)


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


def readiness(session: Session) -> MigrationState | None:
    """Return the migration state through ``session``, or None when the database is away.

    Any SQLAlchemy error (refused, timed out, pool exhausted) means "not
    ready"; the session is rolled back so the request can still answer.
    """
    try:
        return migration_state(session.connection())
    except SQLAlchemyError:
        session.rollback()
        return None
