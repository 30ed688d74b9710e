"""The second database connection: the ``yitu_app`` role, for protected pages only.

The public app connects as ``yitu_public`` (``DATABASE_URL``), which has no
privilege on the ``accounts`` and ``households`` schemas.  Login, caseworker,
auditor and household-aggregate views use :func:`private_session`, bound to
``PRIVATE_DATABASE_URL`` (role ``yitu_app``).  A SQL injection in a public
view therefore runs as a role the database itself stops from reading a
household (``tests/db/test_roles.py``).

When ``PRIVATE_DATABASE_URL`` is unset (a single-user development database)
or the tests bind the app to one connection (``SESSION_FACTORY``), the private
session *is* the public session: two sessions on one test connection would
interleave their savepoints.

The household key also lives here: ``YITU_HOUSEHOLD_KEY`` (which
``from_prefixed_env`` copies into ``app.config``) is moved out of the config
into a :class:`~geo.register.crypto.FieldCipher` at start-up, and removed from the
process environment, so no config dump, debug page, log line or child
process can show it.
"""

from __future__ import annotations

import os

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from geo.register.crypto import KEY_ENV, KEY_FILE_ENV, FieldCipher, KeyUnavailable
from web import db

EXTENSION = "yitu.private_db"


class PrivateDatabase:
    """The private engines and session factories of one app (None: share the public session)."""

    def __init__(self, database: db.Database | None) -> None:
        self.database = database
        self.engine = database.engine if database else None


class CipherHolder:
    """Key material for one app, built on first use so a keyless public app still starts."""

    __slots__ = ("_key", "_key_file", "_cipher")

    def __init__(self, key: str | None, key_file: str | None) -> None:
        self._key = key
        self._key_file = key_file
        self._cipher: FieldCipher | None = None

    def __repr__(self) -> str:
        return "CipherHolder(<hidden>)"

    def get(self) -> FieldCipher:
        """Return the cipher, raising :class:`KeyUnavailable` (503) when no key is set."""
        if self._cipher is None:
            self._cipher = FieldCipher.from_sources(key=self._key, key_file=self._key_file)
            self._key = None  # the derived keys live in the cipher only
        return self._cipher


def init_app(app: Flask) -> None:
    """Set up the private session and the household key of ``app`` (idempotent)."""
    if EXTENSION in app.extensions:
        return
    factory = app.config.get("PRIVATE_SESSION_FACTORY")
    url = app.config.get("PRIVATE_DATABASE_URL")
    database = db.Database(factory) if factory else None
    if factory is None and url and app.config.get("SESSION_FACTORY") is None:
        database = db.Database.on(app, url)
    app.extensions[EXTENSION] = PrivateDatabase(database)
    key = app.config.pop("HOUSEHOLD_KEY", None)
    # Once read, the key leaves the process environment: nothing that can
    # reach os.environ (a child process, an injected template) finds it.
    env_key = os.environ.pop(KEY_ENV, None)
    if key is None and not app.testing:
        key = env_key
    key_file = app.config.get("HOUSEHOLD_KEY_FILE")
    if key_file is None and not app.testing:
        key_file = os.environ.get(KEY_FILE_ENV)
    app.extensions["yitu.cipher"] = CipherHolder(key, key_file)
    app.teardown_appcontext(close_private_session)


def private_session() -> Session:
    """Return this request's ``yitu_app`` session (the public one when they are shared)."""
    private: PrivateDatabase = current_app.extensions[EXTENSION]
    if private.database is None:
        return db.session()
    if "private_db_session" not in g:
        g.private_db_session = private.database.current_factory()()
    return g.private_db_session


def cipher() -> FieldCipher:
    """Return the app's household cipher.

    Raises
    ------
    KeyUnavailable
        No key configured; answered as 503 by ``web/errors.py``.
    """
    holder: CipherHolder | None = current_app.extensions.get("yitu.cipher")
    if holder is None:
        raise KeyUnavailable("the household register is not configured on this server")
    return holder.get()


def close_private_session(_exc: BaseException | None) -> None:
    """Roll back whatever the request left uncommitted and close the private session."""
    opened = g.pop("private_db_session", None)
    if opened is not None:
        opened.rollback()
        opened.close()
