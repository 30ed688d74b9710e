"""``yitu backup`` and ``yitu restore``: the whole database, the register still sealed.

Run both with the owner's URL (the role that ran ``yitu db upgrade``):
``yitu_public`` cannot read the register and would dump an incomplete file.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from geo.db import accounts
from geo.db import audit as audit_db
from geo.db import backup as backups
from geo.errors import GeoError
from geo.places.timezone import TZ_NAME
from web.commands.progress import console, fail
from web.private_db import private_session


def _show(counts: dict[str, int]) -> None:
    for table, count in counts.items():
        click.echo(f"{table}: {count}")


@click.command("backup")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Dump file to write (custom format, mode 0600).",
)
@click.option("--url", help="Database URL to dump (default YITU_DATABASE_URL); use the owner's.")
@with_appcontext
def backup(out: Path, url: str | None) -> None:
    """Dump the database (pg_dump custom format); personal fields stay encrypted, no key inside."""
    try:
        counts = backups.dump(url or current_app.config["DATABASE_URL"], out)
    except GeoError as exc:
        fail(str(exc))
    _show(counts)
    console.print(
        f"wrote {out}; keep the household key backed up separately, "
        "the dump cannot be read without it"
    )


@click.command("restore")
@click.argument("dump", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--url",
    help="Database URL to restore into (default YITU_DATABASE_URL); "
    "created if missing, refused if it already holds data.",
)
@with_appcontext
def restore(dump: Path, url: str | None) -> None:
    """Restore a dump made by ``yitu backup`` into a new or empty database, in one transaction."""
    try:
        counts = backups.restore(url or current_app.config["DATABASE_URL"], dump)
    except GeoError as exc:
        fail(str(exc))
    _show(counts)
    console.print("restored; set YITU_HOUSEHOLD_KEY to the key of the dumped register")


audit = AppGroup("audit", help="The household register's audit log (append-only, kept).")


@audit.command("export")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (JSON Lines, one audit row per line, oldest first).",
)
@click.option("--since", type=click.DateTime(), help="First moment included (local ISO time).")
@click.option("--until", type=click.DateTime(), help="First moment excluded.")
def export_audit(out: Path, since: datetime | None, until: datetime | None) -> None:
    """Export audit rows as JSON Lines (they hold no personal values); nothing is deleted."""
    zone = ZoneInfo(TZ_NAME)
    bounds = [b.replace(tzinfo=zone) if b and b.tzinfo is None else b for b in (since, until)]
    count = 0
    partial = out.with_name(out.name + ".partial")
    with partial.open("w", encoding="utf-8") as f:
        for row in audit_db.export_rows(private_session(), since=bounds[0], until=bounds[1]):
            values = {c: getattr(row, c) for c in audit_db.EXPORT_COLUMNS}
            values["at"] = row.at.isoformat()
            values["household_id"] = str(row.household_id) if row.household_id else None
            f.write(json.dumps(values, ensure_ascii=False) + "\n")
            count += 1
    partial.replace(out)
    console.print(f"exported {count} audit rows to {out}")


@click.command("purge-sessions")
@with_appcontext
def purge_sessions() -> None:
    """Delete expired and revoked login sessions (run daily, e.g. from cron)."""
    db = private_session()
    removed = accounts.purge_sessions(db)
    db.commit()
    click.echo(f"purged {removed} expired or revoked sessions")


def register(group: click.Group) -> None:
    """Attach ``backup`` and ``restore`` to the CLI."""
    group.add_command(backup)
    group.add_command(restore)
    group.add_command(audit)
    group.add_command(purge_sessions)
