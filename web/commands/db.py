"""``yitu db ...``: create and migrate the database."""

from __future__ import annotations

import os

import click
from flask import current_app
from flask.cli import AppGroup

from geo.db import migrate
from geo.db.roles import ROLE_PASSWORD_ENV, set_role_passwords

db = AppGroup("db", help="Create and migrate the PostGIS database.")


@db.command("upgrade")
@click.option(
    "--create/--no-create", default=True, help="Create the database first if it is missing."
)
def upgrade(create: bool) -> None:
    """Apply every migration (all branch heads) to YITU_DATABASE_URL, under an advisory lock.

    Run it as the owner.  With YITU_PUBLIC_DB_PASSWORD / YITU_APP_DB_PASSWORD
    set, also give the roles yitu_public / yitu_app those login passwords.
    """
    url = current_app.config["DATABASE_URL"]
    if create and migrate.create_database(url):
        click.echo("created the database")
    migrate.upgrade(url)
    click.echo("database is up to date")
    # The compose ``migrate`` service passes the roles' passwords from its env file.
    passwords = {
        role: os.environ[env] for role, env in ROLE_PASSWORD_ENV.items() if os.environ.get(env)
    }
    for role in set_role_passwords(url, dict(passwords)) if passwords else []:
        click.echo(f"set the login password of {role}")


def register(group: click.Group) -> None:
    """Attach ``db`` to the CLI."""
    group.add_command(db)
