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
from datetime import date, timedelta
from pathlib import Path

import click
import numpy as np
from faker import Faker
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import text

from geo.db import households as household_db
from geo.db.audit import Actor
from geo.db.engine import make_engine
from geo.errors import GeoError
from geo.places.ledger import Report, parse_mapping_option
from geo.places.vocabulary import SOURCE_CRSES
from geo.register.crypto import generate_key
from geo.register.households import (
    CATEGORIES,
    HouseholdImportOptions,
    HouseholdRecord,
    finish_households,
    validate,
)
from web.commands.progress import console, fail, show_report
from web.private_db import cipher, private_session

households = AppGroup("households", help="The hardship-household register (sensitive).")

#: Source name of generated households; every page marks them synthetic.
SYNTHETIC_SOURCE = "synthetic-demo"

# Xining (the demo city), WGS-84 degrees: where demo households are placed.
DEMO_CENTRE = (101.778, 36.617)


def cli_actor() -> Actor:
    """The audit actor for commands: the operating-system user."""
    return Actor(name=f"cli:{getpass.getuser()}", role="cli")


@households.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--crs", type=click.Choice(SOURCE_CRSES), default="gcj02", show_default=True,
              help="Coordinate system of the lon/lat columns, if any.")
@click.option("--source", help="Name of this ledger (default: the file name); with the household "
              "number it forms the key that makes re-imports update instead of duplicate.")
@click.option("--map", "mapping", multiple=True, metavar="COLUMN=field",
              help="Map a column the importer does not recognise, e.g. --map 户主=name.")
@click.option("--default-adcode", help="District adcode for rows with neither an adcode "
              "nor a location inside a district.")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the full report as JSON (no personal values in it).")
def import_households(file: Path, crs: str, source: str | None, mapping: tuple[str, ...],
                      default_adcode: str | None, dry_run: bool,
                      report_path: Path | None) -> None:
    """Import a household ledger (CSV or XLSX), all or nothing, personal fields encrypted."""
    db = private_session()
    try:
        options = HouseholdImportOptions(crs=crs, source=source or file.name,
                                         mapping=parse_mapping_option(mapping),
                                         default_adcode=default_adcode)
        report = household_db.import_ledger(db, cipher(), file, options, cli_actor(),
                                        dry_run=dry_run)
    except GeoError as exc:
        db.rollback()
        fail(str(exc))
    rejected = bool(report.rejected_rows)
    if dry_run or rejected:
        db.rollback()
    else:
        db.commit()
    show_report(report, report_path=report_path)
    if rejected:
        fail(f"{len(report.rejected_rows)} rows rejected; nothing was written. "
             "Fix the rows listed above and import again.")


def synthetic_households(count: int, *, seed: int,
                         centre: tuple[float, float] = DEMO_CENTRE,
                         adcode: str | None = None) -> list[HouseholdRecord]:
    """Generate ``count`` invented households with Faker's zh_CN locale.

    Households cluster (as real ones do, around old residential compounds)
    in a dozen neighbourhoods within about 8 km of ``centre`` (WGS-84), so
    the planners' k-anonymous cells have something to show.  Every record
    is ``is_synthetic`` and numbered ``DEMO-...``.
    """
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    rng = np.random.default_rng(seed)
    clusters = rng.normal(loc=centre, scale=(0.05, 0.035), size=(12, 2))
    weights = rng.dirichlet(np.ones(len(clusters)) * 0.8)
    records = []
    for i in range(count):
        lon, lat = rng.normal(clusters[rng.choice(len(clusters), p=weights)], (0.004, 0.003))
        records.append(validate(HouseholdRecord(
            source=SYNTHETIC_SOURCE,
            household_no=f"DEMO-{i + 1:05d}",
            name=fake.name(),
            adcode=adcode or "000000",
            category=CATEGORIES[int(rng.integers(0, len(CATEGORIES)))],
            id_number=fake.ssn(min_age=20, max_age=70),  # type: ignore[call-arg]
            phone=fake.phone_number(),
            address=fake.address(),
            employer=fake.company(),
            lon=round(float(lon), 6),
            lat=round(float(lat), 6),
            members=int(rng.integers(1, 7)),
            registered_on=date(2020, 1, 1) + timedelta(days=int(rng.integers(0, 1800))),
            is_synthetic=True,
        )))
    return records


@households.command("demo")
@click.option("--count", type=click.IntRange(1, 100_000), default=300, show_default=True)
@click.option("--seed", type=int, default=2024, show_default=True,
              help="Same seed, same households (re-running updates, never duplicates).")
@click.option("--adcode", help="Put every household in this district instead of locating them.")
def demo(count: int, seed: int, adcode: str | None) -> None:
    """Generate synthetic demo households (invented with Faker zh_CN, labelled synthetic)."""
    records = synthetic_households(count, seed=seed, adcode=adcode)
    report = Report(source=SYNTHETIC_SOURCE)
    report.rows_read = len(records)
    options = HouseholdImportOptions(crs="wgs84", source=SYNTHETIC_SOURCE, is_synthetic=True,
                                     default_adcode=adcode)
    rows = finish_households(list(enumerate(records, start=1)), options, report)
    db = private_session()
    try:
        household_db.write_households(db, cipher(), rows, report, cli_actor())
    except GeoError as exc:
        db.rollback()
        fail(str(exc))
    db.commit()
    show_report(report)
    console.print("[bold]these households are synthetic[/]: invented by Faker, not real people")


@households.command("keygen")
def keygen() -> None:
    """Print a new random AES-256 key (base64) for YITU_HOUSEHOLD_KEY or its key file."""
    click.echo(generate_key())


# Tables are looked up by OID from the catalog (readable by every role):
# has_table_privilege('households.x', ...) itself fails for a role that may not
# even use the schema, which is the answer we want to report, not an error.
PRIVILEGES_SQL = text("""
WITH t AS (
    SELECT n.nspname || '.' || c.relname AS name, c.oid
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE (n.nspname, c.relname) IN (('households', 'households'), ('households', 'audit_log'),
                                     ('accounts', 'users'))
)
SELECT current_user AS role,
       has_schema_privilege('households', 'USAGE') AS households_schema,
       has_table_privilege((SELECT oid FROM t WHERE name = 'households.households'), 'SELECT')
           AS read_households,
       has_table_privilege((SELECT oid FROM t WHERE name = 'households.audit_log'), 'UPDATE')
           AS update_audit,
       has_table_privilege((SELECT oid FROM t WHERE name = 'households.audit_log'), 'DELETE')
           AS delete_audit,
       has_table_privilege((SELECT oid FROM t WHERE name = 'accounts.users'), 'SELECT')
           AS read_accounts
""")


@households.command("check-roles")
def check_roles() -> None:
    """Check the database roles of both URLs; exit 1 if the public one can read households."""
    urls = {"public (DATABASE_URL)": current_app.config["DATABASE_URL"],
            "private (PRIVATE_DATABASE_URL)": current_app.config.get("PRIVATE_DATABASE_URL")}
    found: dict[str, dict[str, object]] = {}
    for label, url in urls.items():
        if not url:
            console.print(f"{label}: not set")
            continue
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                found[label] = dict(conn.execute(PRIVILEGES_SQL).mappings().one())
        finally:
            engine.dispose()
        click.echo(f"{label}: {json.dumps(found[label])}")
    public = found.get("public (DATABASE_URL)", {})
    problems = []
    if public.get("read_households") or public.get("read_accounts"):
        problems.append("the public connection can read households or accounts; connect it as "
                        "yitu_public (docs/security.md)")
    for label, privileges in found.items():
        if privileges.get("update_audit") or privileges.get("delete_audit"):
            problems.append(f"{label} may update or delete audit rows (role "
                            f"{privileges['role']}); connect the app as yitu_app/yitu_public")
    if problems:
        fail("; ".join(problems))
    console.print("roles are separated as intended")


def register(group: click.Group) -> None:
    """Attach ``households`` to the CLI."""
    group.add_command(households)
