"""Back up and restore the whole database with ``pg_dump``/``pg_restore`` (custom format).

The register stays ciphertext in the file: personal fields are sealed in the
application and the keys live only in ``YITU_HOUSEHOLD_KEY`` (or its file),
never in the database, so a dump holds no key and no plaintext.  Keep the
key backed up separately; a dump without it cannot be read.

Passwords go to the child processes through ``PGPASSWORD``, never the
command line (``ps`` would show it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from geo.db.engine import database_url, make_engine
from geo.db.migrate import create_database
from geo.errors import InvalidInput, ServiceUnavailable

#: Tables whose row counts a backup and its restore report, schema-qualified.
COUNTED: tuple[str, ...] = (
    "public.places",
    "public.place_history",
    "accounts.users",
    "households.households",
    "households.visits",
    "households.support",
    "households.audit_log",
)


@dataclass(frozen=True)
class Connection:
    """``libpq`` arguments and environment for one database URL."""

    args: tuple[str, ...]
    env: dict[str, str]
    database: str


def libpq(url: str) -> Connection:
    """Turn a SQLAlchemy URL into ``pg_dump``/``pg_restore`` arguments (password in the env)."""
    target = make_url(database_url(url))
    args = ["--dbname", target.database or ""]
    if target.host:
        args += ["--host", target.host]
    if target.port:
        args += ["--port", str(target.port)]
    if target.username:
        args += ["--username", target.username]
    env = dict(os.environ)
    if target.password:
        env["PGPASSWORD"] = str(target.password)
    return Connection(tuple(args), env, target.database or "")


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ServiceUnavailable(f"{name} is not installed; apt-get install postgresql-client")
    return found


def table_counts(url: str) -> dict[str, int]:
    """Return the row count of each table in :data:`COUNTED` (absent tables are left out)."""
    engine = make_engine(database_url(url))
    counts: dict[str, int] = {}
    try:
        with engine.connect() as conn:
            for table in COUNTED:
                if conn.scalar(text("SELECT to_regclass(:t)"), {"t": table}) is None:
                    continue
                counts[table] = int(conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)  # noqa: S608  (fixed names)
    finally:
        engine.dispose()
    return counts


def dump(url: str, out: Path) -> dict[str, int]:
    """Write a custom-format dump of the database at ``url`` to ``out``, atomically, mode 0600.

    Returns
    -------
    dict
        Row counts of the main tables at the time of the dump.

    Raises
    ------
    ServiceUnavailable
        ``pg_dump`` is missing or failed (its message says why); ``out`` is untouched.
    """
    conn = libpq(url)
    partial = out.with_name(out.name + ".partial")
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.touch(mode=0o600)
    partial.chmod(0o600)
    command = [
        _tool("pg_dump"),
        "--format=custom",
        "--no-owner",
        "--file",
        str(partial),
        *conn.args,
    ]
    done = subprocess.run(command, env=conn.env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise ServiceUnavailable(f"pg_dump failed: {done.stderr.strip()[-500:]}")
    partial.replace(out)
    return table_counts(url)


def restore(url: str, dump_file: Path) -> dict[str, int]:
    """Restore a dump into the database at ``url``, which must be new or empty.

    The database is created when missing.  Everything is restored in one
    transaction (``--single-transaction --exit-on-error``): a failed restore
    leaves the target empty.

    Raises
    ------
    InvalidInput
        The file is missing, or the target already holds a Yitu schema.
    ServiceUnavailable
        ``pg_restore`` is missing or failed.
    """
    if not dump_file.is_file():
        raise InvalidInput(f"{dump_file} is not a file", field="dump")
    create_database(url)
    engine = make_engine(database_url(url))
    try:
        with engine.connect() as c:
            used = c.scalar(text("SELECT to_regclass('public.alembic_version')")) is not None
    finally:
        engine.dispose()
    conn = libpq(url)
    if used:
        raise InvalidInput(
            f"database {conn.database} is not empty; restore into a new database "
            "and switch the app's URLs to it",
            field="url",
        )
    command = [
        _tool("pg_restore"),
        "--no-owner",
        "--single-transaction",
        "--exit-on-error",
        *conn.args,
        str(dump_file),
    ]
    done = subprocess.run(command, env=conn.env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise ServiceUnavailable(f"pg_restore failed: {done.stderr.strip()[-500:]}")
    return table_counts(url)
