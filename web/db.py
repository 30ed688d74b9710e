"""One database session per request, bound to the app's engine.

A web request's statements are capped by ``DATABASE_STATEMENT_TIMEOUT_MS``;
work outside a request (CLI commands: imports, exports, analyses) runs on a
second engine capped by ``BATCH_STATEMENT_TIMEOUT_MS`` instead, so a
million-row import is not cut off at the web's few seconds.
"""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from geo.db.engine import make_engine, session_factory

EXTENSION = "yitu.db"


class Database:
    """The engines and session factories of one app: for requests, and for batch work."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        engine: Engine | None = None,
        batch_factory: sessionmaker[Session] | None = None,
        batch_engine: Engine | None = None,
    ) -> None:
        self.engine = engine
        self.factory = factory
        self.batch_engine = batch_engine
        self.batch_factory = batch_factory or factory

    @classmethod
    def on(cls, app: Flask, url: str) -> Database:
        """Both engines on ``url`` (lazily connecting), with ``app``'s limits."""
        engine, batch_engine = (app_engine(app, url, batch=batch) for batch in (False, True))
        return cls(session_factory(engine), engine, session_factory(batch_engine), batch_engine)

    def current_factory(self) -> sessionmaker[Session]:
        """The request factory inside a request, the batch one elsewhere."""
        return self.factory if has_request_context() else self.batch_factory

    def dispose(self) -> None:
        """Close every pooled connection of both engines."""
        for engine in (self.engine, self.batch_engine):
            if engine is not None:
                engine.dispose()


def app_engine(app: Flask, url: str, *, batch: bool) -> Engine:
    """Return an engine on ``url`` with ``app``'s pool, network and statement limits."""
    config = app.config
    limit = "BATCH_STATEMENT_TIMEOUT_MS" if batch else "DATABASE_STATEMENT_TIMEOUT_MS"
    return make_engine(
        url,
        pool_size=config["DATABASE_POOL_SIZE"],
        pool_timeout_s=config["DATABASE_POOL_TIMEOUT_S"],
        connect_timeout_s=config["DATABASE_CONNECT_TIMEOUT_S"],
        keepalive_s=config["DATABASE_KEEPALIVE_S"],
        statement_timeout_ms=config[limit],
    )


def init_app(app: Flask) -> None:
    """Create the engines and close sessions after requests.

    Tests pass ``SESSION_FACTORY`` to bind the app to their own connection.
    """
    factory = app.config.get("SESSION_FACTORY")
    database = Database(factory) if factory else Database.on(app, app.config["DATABASE_URL"])
    app.extensions[EXTENSION] = database
    app.teardown_appcontext(close_session)


def session() -> Session:
    """Return this request's (or this command's) session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions[EXTENSION].current_factory()()
    return g.db_session


def close_session(_exc: BaseException | None) -> None:
    """Roll back whatever the request left uncommitted and close its session."""
    opened = g.pop("db_session", None)
    if opened is not None:
        opened.rollback()
        opened.close()
