"""Database engine and session factory, with no Flask in sight.

The same functions serve the web app, the CLI and background workers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg.abc import PQGen
from psycopg.rows import TupleRow
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DATABASE_URL = "postgresql+psycopg://127.0.0.1:5432/yitu"
RV = TypeVar("RV")


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


KEEPALIVE_PROBES = 3  # unanswered TCP keepalive probes before the kernel drops a connection


class BoundedConnection(psycopg.Connection[TupleRow]):
    """A psycopg connection that stops waiting for the server after ``timeout_s`` seconds.

    Keepalives and ``tcp_user_timeout`` notice a dead host or a cut network,
    but not a server whose kernel still acknowledges every packet while the
    process answers nothing (paused, swapping, a hung proxy): only a deadline
    on the client's own wait bounds that.  When it expires the connection is
    closed (its protocol state is unknown) and ``OperationalError`` raised,
    which SQLAlchemy treats as a disconnect.
    """

    timeout_s: float | None = None

    def wait(self, gen: PQGen[RV], interval: float = 0.1, timeout: float | None = None) -> RV:
        """Consume ``gen`` like psycopg does, for at most ``timeout_s`` seconds by default."""
        limit = self.timeout_s if timeout is None else timeout
        try:
            return super().wait(gen, interval, limit)
        except psycopg.errors._WaitTimeout:  # psycopg's own, internal, timeout error
            self.close()
            raise psycopg.OperationalError(f"no answer from the database in {limit} s") from None


def make_engine(
    url: str | None = None,
    *,
    pool_size: int = 5,
    pool_timeout_s: float = 2.0,
    connect_timeout_s: int = 2,
    statement_timeout_ms: int | None = None,
    keepalive_s: int = 5,
) -> Engine:
    """Create an engine that fails fast when the database is away or stuck.

    Parameters
    ----------
    url
        SQLAlchemy URL (psycopg 3); defaults to :func:`database_url`.
    pool_size
        Connections kept open per process.
    pool_timeout_s
        Seconds to wait for a free pooled connection before giving up.
    connect_timeout_s
        Seconds libpq waits for the server to accept a new connection (at
        least 2), and seconds a pooled connection's pre-ping may take before
        the pool drops every connection it holds and reconnects.
    statement_timeout_ms
        Server-side cap on one statement in milliseconds; 0 or None for none.
        The client waits ``connect_timeout_s`` longer for the cancelled
        statement's answer, then closes the connection.
    keepalive_s
        Seconds of silence before a TCP keepalive probe and between probes;
        after :data:`KEEPALIVE_PROBES` unanswered ones, or as many seconds of
        unacknowledged data (``tcp_user_timeout``), the kernel drops the
        connection.
    """
    connect_args: dict[str, object] = {
        "connect_timeout": connect_timeout_s,
        "keepalives": 1,
        "keepalives_idle": keepalive_s,
        "keepalives_interval": keepalive_s,
        "keepalives_count": KEEPALIVE_PROBES,
        "tcp_user_timeout": keepalive_s * KEEPALIVE_PROBES * 1000,
    }
    if statement_timeout_ms is not None:
        # Explicit even when 0, so a role's own default cannot cut a batch job short.
        connect_args["options"] = f"-c statement_timeout={statement_timeout_ms}"
    read_timeout_s = (
        statement_timeout_ms / 1000 + connect_timeout_s if statement_timeout_ms else None
    )
    engine = create_engine(
        database_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=pool_timeout_s,
        pool_pre_ping=True,  # the first request after a database restart succeeds
        # Errors are logged; their bound values may be household geometry or sealed fields.
        hide_parameters=True,
        connect_args=connect_args,
    )

    @event.listens_for(engine, "do_connect")
    def connect(
        _dialect: object, _record: object, cargs: list[Any], cparams: dict[str, Any]
    ) -> BoundedConnection:
        connection = BoundedConnection.connect(*cargs, **cparams)
        connection.timeout_s = read_timeout_s
        return connection

    @event.listens_for(engine, "checkin")
    def idle(dbapi_connection: BoundedConnection | None, _record: object) -> None:
        if dbapi_connection is not None:
            # Its next use is the pre-ping, which a live server answers at once.
            dbapi_connection.timeout_s = connect_timeout_s

    @event.listens_for(engine, "checkout")
    def busy(dbapi_connection: BoundedConnection, _record: object, _proxy: object) -> None:
        dbapi_connection.timeout_s = read_timeout_s  # fired after the pre-ping

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory bound to ``engine`` (objects survive commit)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session, commit when the block succeeds, roll back otherwise."""
    with factory() as session, session.begin():
        yield session
