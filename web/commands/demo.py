"""``yitu demo load``: the authored demo city (Xining), labelled as demo data."""

from __future__ import annotations

import getpass

import click
from flask.cli import AppGroup

from geo.db.catalog import count_places
from geo.db.history import Editor
from geo.service.demo import load_demo_city
from web.commands.progress import console, show_report
from web.db import session

demo = AppGroup("demo", help="Demo data (invented, labelled as such).")


@demo.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when places are already stored.")
def load(if_empty: bool) -> None:
    """Load the Xining demo city's missing places (with history); edited places are kept."""
    db = session()
    if if_empty and count_places(db):
        console.print("places already stored; demo city not loaded")
        return
    report = load_demo_city(db, Editor(name=f"cli:{getpass.getuser()}"))
    show_report(report)


def register(group: click.Group) -> None:
    """Attach ``demo`` to the CLI."""
    group.add_command(demo)
