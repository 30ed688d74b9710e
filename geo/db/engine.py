"""Database engine and session factory, with no Flask in sight.

The same functions serve the web app, the CLI and background workers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DATABASE_URL = "postgresql+psycopg://127.0.0.1:5432/yitu"


def database_url(url: str | None = None) -> str:
    """Return ``url``, else ``$YITU_DATABASE_URL``, else the default.

    A plain ``postgresql://`` URL is given the psycopg 3 driver so that
    ``postgresql:///yitu`` (unix socket) works as users expect.
    """
    chosen = url or os.environ.get("YITU_DATABASE_URL") or DEFAULT_DATABASE_URL
    parsed = make_url(chosen)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(
    url: str | None = None,
    *,
    pool_size: int = 5,
    pool_timeout_s: float = 2.0,
    connect_timeout_s: int = 2,
    statement_timeout_ms: int | None = None,
) -> Engine:
    """Create an engine that fails fast when the database is away.

    Parameters
    ----------
    url
        SQLAlchemy URL (psycopg 3); defaults to :func:`database_url`.
    pool_size
        Connections kept open per process.
    pool_timeout_s
        Seconds to wait for a free pooled connection before giving up.
    connect_timeout_s
        Seconds libpq waits for the server to answer a new connection.
    statement_timeout_ms
        Server-side cap on one statement, or None for none.
    """
    options = f"-c statement_timeout={statement_timeout_ms}" if statement_timeout_ms else None
    connect_args: dict[str, object] = {"connect_timeout": connect_timeout_s}
    if options:
        connect_args["options"] = options
    return create_engine(
        database_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=pool_timeout_s,
        pool_pre_ping=True,  # the first request after a database restart succeeds
        # Errors are logged; their bound values may be household geometry or sealed fields.
        hide_parameters=True,
        connect_args=connect_args,
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory bound to ``engine`` (objects survive commit)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session, commit when the block succeeds, roll back otherwise."""
    with factory() as session, session.begin():
        yield session
