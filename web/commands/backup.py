"""``yitu backup`` and ``yitu restore``: the whole database, the register still sealed.

Run both with the owner's URL (the role that ran ``yitu db upgrade``):
``yitu_public`` cannot read the register and would dump an incomplete file.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from geo.db import backup as backups
from geo.errors import GeoError
from web.commands.progress import console, fail


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


def register(group: click.Group) -> None:
    """Attach ``backup`` and ``restore`` to the CLI."""
    group.add_command(backup)
    group.add_command(restore)
