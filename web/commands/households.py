"""``yitu households ...``: import the register, generate synthetic demo households, keys, roles.

The import follows the places importer's rules (one transaction, dry run,
row-numbered report) and is stricter in one way: a ledger with any rejected
row writes nothing, because a half-imported register would leave households
without support and nobody would notice.  Reports never contain personal
values.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from geo.db.audit import Actor
from geo.db.roles import role_privileges
from geo.errors import GeoError
from geo.places.ledger import parse_mapping_option
from geo.places.vocabulary import SOURCE_CRSES
from geo.register.crypto import generate_key
from geo.register.households import HouseholdImportOptions
from geo.service import households as service
from web.commands.progress import console, fail, show_report
from web.private_db import cipher, private_session

households = AppGroup("households", help="The hardship-household register (sensitive).")


def cli_actor() -> Actor:
    """The audit actor for commands: the operating-system user."""
    return Actor(name=f"cli:{getpass.getuser()}", role="cli")


@households.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--crs",
    type=click.Choice(SOURCE_CRSES),
    default="gcj02",
    show_default=True,
    help="Coordinate system of the lon/lat columns, if any.",
)
@click.option(
    "--source",
    help="Name of this ledger (default: the file name); with the household "
    "number it forms the key that makes re-imports update instead of duplicate.",
)
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="COLUMN=field",
    help="Map a column the importer does not recognise, e.g. --map 户主=name.",
)
@click.option(
    "--default-adcode",
    help="District adcode for rows with neither an adcode nor a location inside a district.",
)
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the full report as JSON (no personal values in it).",
)
def import_households(
    file: Path,
    crs: str,
    source: str | None,
    mapping: tuple[str, ...],
    default_adcode: str | None,
    dry_run: bool,
    report_path: Path | None,
) -> None:
    """Import a household ledger (CSV or XLSX), all or nothing, personal fields encrypted."""
    try:
        options = HouseholdImportOptions(
            crs=crs,
            source=source or file.name,
            mapping=parse_mapping_option(mapping),
            default_adcode=default_adcode,
        )
        report = service.import_households(
            private_session(), cipher(), file, options, cli_actor(), dry_run=dry_run
        )
    except GeoError as exc:
        fail(str(exc))
    show_report(report, report_path=report_path)
    if report.rejected_rows:
        fail(
            f"{len(report.rejected_rows)} rows rejected; nothing was written. "
            "Fix the rows listed above and import again."
        )


@households.command("demo")
@click.option("--count", type=click.IntRange(1, 100_000), default=300, show_default=True)
@click.option(
    "--seed",
    type=int,
    default=2024,
    show_default=True,
    help="Same seed, same households (re-running updates, never duplicates).",
)
@click.option("--adcode", help="Put every household in this district instead of locating them.")
def demo(count: int, seed: int, adcode: str | None) -> None:
    """Generate synthetic demo households (invented with Faker zh_CN, labelled synthetic)."""
    try:
        report = service.load_demo_households(
            private_session(), cipher(), cli_actor(), count=count, seed=seed, adcode=adcode
        )
    except GeoError as exc:
        fail(str(exc))
    show_report(report)
    console.print("[bold]these households are synthetic[/]: invented by Faker, not real people")


@households.command("keygen")
def keygen() -> None:
    """Print a new random AES-256 key (base64) for YITU_HOUSEHOLD_KEY or its key file."""
    click.echo(generate_key())


@households.command("rekey")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=500,
    show_default=True,
    help="Rows re-sealed per transaction (each batch commits; a killed run resumes).",
)
def rekey(batch_size: int) -> None:
    """Re-encrypt every personal field under the first key of YITU_HOUSEHOLD_KEY.

    Put the new key first and keep the old one after it
    (YITU_HOUSEHOLD_KEY="NEW,OLD"); both stay readable until this finishes.
    Then drop the old key from the configuration.
    """
    sealer = cipher()
    console.print(f"re-sealing the register under key {sealer.key_id}")

    def progress(done: dict[str, int]) -> None:
        click.echo("batch: " + ", ".join(f"{table} {count}" for table, count in done.items()))

    try:
        total = service.rekey(
            private_session(), sealer, cli_actor(), batch_size=batch_size, on_batch=progress
        )
    except GeoError as exc:
        fail(
            f"{exc}. Keep every old key after the new one in YITU_HOUSEHOLD_KEY "
            "until the rotation has finished; batches done so far are kept."
        )
    click.echo("re-sealed: " + ", ".join(f"{table} {count}" for table, count in total.items()))
    console.print(
        f"every personal field is sealed under key {sealer.key_id}; "
        "the old key may now be removed from the configuration"
    )


@households.command("check-roles")
def check_roles() -> None:
    """Check the database roles of both URLs; exit 1 if the public one can read households."""
    urls = {
        "public (DATABASE_URL)": current_app.config["DATABASE_URL"],
        "private (PRIVATE_DATABASE_URL)": current_app.config.get("PRIVATE_DATABASE_URL"),
    }
    found: dict[str, dict[str, object]] = {}
    for label, url in urls.items():
        if not url:
            console.print(f"{label}: not set")
            continue
        found[label] = role_privileges(url)
        click.echo(f"{label}: {json.dumps(found[label])}")
    problems = service.role_problems(found, public_label="public (DATABASE_URL)")
    if problems:
        fail("; ".join(problems))
    console.print("roles are separated as intended")


def register(group: click.Group) -> None:
    """Attach ``households`` to the CLI."""
    group.add_command(households)
