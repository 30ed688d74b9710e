"""The ``yitu`` command line: Flask's CLI group plus the project's commands.

Each area's commands live in a module of ``web.commands`` listed below; every
command honours ``YITU_DATABASE_URL`` through the app's config.
"""

from __future__ import annotations

import importlib

import click
from flask.cli import FlaskGroup

from web import create_app
from web.commands.groups import exports, imports

COMMAND_MODULES: tuple[str, ...] = (
    "web.commands.db",
    "web.commands.places",
    "web.commands.demo",
    "web.commands.serve",
    "web.commands.users",
    "web.commands.households",
    "web.commands.activity",
    "web.commands.analyze",
    "web.commands.opendata",
    "web.commands.trust",
    "web.commands.inspections",
    "web.commands.backup",
)


def build_cli() -> click.Group:
    """Return the ``yitu`` group with every command module attached."""
    group = FlaskGroup(
        create_app=lambda: create_app(),
        load_dotenv=False,
        help="Yitu (驿图): stations for outdoor workers, on a map.",
    )
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(group)
    group.add_command(imports)
    group.add_command(exports)
    return group


def main() -> None:
    """Run the CLI (the ``yitu`` console script)."""
    build_cli()(prog_name="yitu")
