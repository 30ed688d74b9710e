"""``yitu db ...``: create and migrate the database."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from geo.db import migrate

db = AppGroup("db", help="Create and migrate the PostGIS database.")


@db.command("upgrade")
@click.option(
    "--create/--no-create", default=True, help="Create the database first if it is missing."
)
def upgrade(create: bool) -> None:
    """Apply every migration (all branch heads) to YITU_DATABASE_URL."""
    url = current_app.config["DATABASE_URL"]
    if create and migrate.create_database(url):
        click.echo("created the database")
    migrate.upgrade(url)
    click.echo("database is up to date")


def register(group: click.Group) -> None:
    """Attach ``db`` to the CLI."""
    group.add_command(db)
