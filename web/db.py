"""One database session per request, bound to the app's engine."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from geo.db.engine import make_engine, session_factory

EXTENSION = "yitu.db"


class Database:
    """The engine and session factory of one app."""

    def __init__(self, engine: Engine | None, factory: sessionmaker[Session]) -> None:
        self.engine = engine
        self.factory = factory


def init_app(app: Flask) -> None:
    """Create the engine (lazily connecting) and close sessions after requests.

    Tests pass ``SESSION_FACTORY`` to bind the app to their own connection.
    """
    factory = app.config.get("SESSION_FACTORY")
    engine = None
    if factory is None:
        engine = make_engine(
            app.config["DATABASE_URL"],
            pool_size=app.config["DATABASE_POOL_SIZE"],
            pool_timeout_s=app.config["DATABASE_POOL_TIMEOUT_S"],
            statement_timeout_ms=app.config["DATABASE_STATEMENT_TIMEOUT_MS"],
        )
        factory = session_factory(engine)
    app.extensions[EXTENSION] = Database(engine, factory)
    app.teardown_appcontext(close_session)


def session() -> Session:
    """Return this request's session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions[EXTENSION].factory()
    return g.db_session


def close_session(_exc: BaseException | None) -> None:
    """Roll back whatever the request left uncommitted and close its session."""
    opened = g.pop("db_session", None)
    if opened is not None:
        opened.rollback()
        opened.close()
