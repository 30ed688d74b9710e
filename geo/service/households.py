"""Household register use cases: import a ledger, load synthetic demo households, check roles.

Framework-free: ``yitu households ...`` and job workers call these with a
private session (role ``yitu_app``), the register's cipher and an audit actor.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from geo.db import households as household_db
from geo.db.audit import Actor
from geo.places.ledger import Report
from geo.register.crypto import FieldCipher
from geo.register.households import HouseholdImportOptions, finish_households
from geo.register.synthetic import SYNTHETIC_SOURCE, synthetic_households


def import_households(db: Session, cipher: FieldCipher, file: Path,
                      options: HouseholdImportOptions, actor: Actor, *,
                      dry_run: bool) -> Report:
    """Import a household ledger all or nothing: any rejected row writes nothing.

    A half-imported register would leave households without support and
    nobody would notice, hence stricter than the places importer.
    """
    try:
        report = household_db.import_ledger(db, cipher, file, options, actor, dry_run=dry_run)
    except BaseException:
        db.rollback()
        raise
    if dry_run or report.rejected_rows:
        db.rollback()
    else:
        db.commit()
    return report


def load_demo_households(db: Session, cipher: FieldCipher, actor: Actor, *, count: int,
                         seed: int, adcode: str | None = None) -> Report:
    """Generate and store ``count`` synthetic households (same seed, same households)."""
    records = synthetic_households(count, seed=seed, adcode=adcode)
    report = Report(source=SYNTHETIC_SOURCE)
    report.rows_read = len(records)
    options = HouseholdImportOptions(crs="wgs84", source=SYNTHETIC_SOURCE, is_synthetic=True,
                                     default_adcode=adcode)
    rows = finish_households(list(enumerate(records, start=1)), options, report)
    try:
        household_db.write_households(db, cipher, rows, report, actor)
    except BaseException:
        db.rollback()
        raise
    db.commit()
    return report


def role_problems(found: dict[str, dict[str, object]], *, public_label: str) -> list[str]:
    """Say what is wrong with the privileges found per connection label (empty: all good)."""
    public = found.get(public_label, {})
    problems = []
    if public.get("read_households") or public.get("read_accounts"):
        problems.append("the public connection can read households or accounts; connect it as "
                        "yitu_public (docs/security.md)")
    for label, privileges in found.items():
        if privileges.get("update_audit") or privileges.get("delete_audit"):
            problems.append(f"{label} may update or delete audit rows (role "
                            f"{privileges['role']}); connect the app as yitu_app/yitu_public")
    return problems
