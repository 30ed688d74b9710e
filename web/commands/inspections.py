"""``yitu inspections ...``: import standards and plan unannounced visits (issue 11)."""

from __future__ import annotations

import getpass
from pathlib import Path

import click
from flask.cli import AppGroup

from geo.errors import InvalidInput
from geo.inspections.standards import read_standard, shipped_standards
from geo.service import inspections as service
from web.commands.progress import console, fail
from web.db import session
from web.private_db import private_session

inspections = AppGroup("inspections", help="Unannounced visits against a standard.")


def _cli_who() -> service.Who:
    return service.Who(f"cli:{getpass.getuser()}")


@inspections.command("import-standard")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--shipped", is_flag=True, help="Import the standards shipped in data/standards.")
def import_standard(files: tuple[Path, ...], shipped: bool) -> None:
    """Import standard files (YAML/JSON); an edited standard needs a new version."""
    if not files and not shipped:
        fail("give standard files, or --shipped")
    db = session()
    try:
        standards = [read_standard(f) for f in files] + (shipped_standards() if shipped else [])
        for standard in standards:
            _, created = service.import_standard(db, standard, _cli_who())
            word = "imported" if created else "already there"
            console.print(f"{standard.code} v{standard.version}: {word}")
    except InvalidInput as err:
        fail(f"{err.field}: {err}" if err.field else str(err))
    db.commit()


@inspections.command("plan")
@click.option("--district", "adcode", required=True, help="6-digit adcode of the district.")
@click.option("--month", required=True, help="The month of the visits, YYYY-MM.")
@click.option("--visits", type=int, default=20, show_default=True, help="How many visits.")
@click.option("--seed", type=int, default=None, help="Repeat a recorded draw with its seed.")
@click.option("--inspector", default=None, help="Username of the inspector assigned.")
def plan(adcode: str, month: str, visits: int, seed: int | None, inspector: str | None) -> None:
    """Draw a month's unannounced visits in a district (seeded, stratified)."""
    db = session()
    try:
        who = service.inspector_named(private_session(), inspector) if inspector else None
        result = service.plan_visits(
            db, _cli_who(), adcode=adcode, month=month, visits=visits, seed=seed, inspector=who
        )
    except InvalidInput as err:
        fail(f"--{err.field}: {err}" if err.field else str(err))
        return
    db.commit()
    console.print(
        f"plan {result.plan_id}: {len(result.drawn)} visits in {adcode} for {month}, "
        f"seed {result.seed}"
    )
    for place_id, stratum in result.drawn:
        console.print(f"  place {place_id}  ({stratum})")


def register(group: click.Group) -> None:
    """Attach ``inspections`` to the CLI."""
    group.add_command(inspections)
