"""``yitu demo load``: the authored demo city (Xining), labelled as demo data."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from geo.db.catalog import count_places
from geo.db.imports import write_places
from geo.places.demo import DEMO_SOURCE, load_demo_places
from geo.places.ledger import Report
from geo.places.rows import finish_places
from web.commands.progress import console, progress_bar, show_report
from web.db import session

demo = AppGroup("demo", help="Demo data (invented, labelled as such).")


@demo.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when places are already stored.")
def load(if_empty: bool) -> None:
    """Load (or refresh) the Xining demo city's places."""
    db = session()
    if if_empty and count_places(db):
        console.print("places already stored; demo city not loaded")
        return
    report = Report(source=DEMO_SOURCE)
    records = load_demo_places()
    report.rows_read = len(records)
    rows = finish_places(list(enumerate(records, start=1)), report)
    with progress_bar("loading the demo city", total=len(rows)) as advance:
        write_places(db, rows, report, progress=advance)
    db.commit()
    show_report(report)


def register(group: click.Group) -> None:
    """Attach ``demo`` to the CLI."""
    group.add_command(demo)
