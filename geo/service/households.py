"""Household register use cases: import a ledger, load synthetic demo households, check roles.

Framework-free: ``yitu households ...`` and job workers call these with a
private session (role ``yitu_app``), the register's cipher and an audit actor.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from geo.db import households as household_db
from geo.db.audit import Actor
from geo.db.audit import record as audit
from geo.places.ledger import Report
from geo.register.crypto import FieldCipher
from geo.register.households import HouseholdImportOptions, finish_households
from geo.register.synthetic import SYNTHETIC_SOURCE, synthetic_households


def import_households(
    db: Session,
    cipher: FieldCipher,
    file: Path,
    options: HouseholdImportOptions,
    actor: Actor,
    *,
    dry_run: bool,
) -> Report:
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


def load_demo_households(
    db: Session,
    cipher: FieldCipher,
    actor: Actor,
    *,
    count: int,
    seed: int,
    adcode: str | None = None,
) -> Report:
    """Generate and store ``count`` synthetic households (same seed, same households)."""
    records = synthetic_households(count, seed=seed, adcode=adcode)
    report = Report(source=SYNTHETIC_SOURCE)
    report.rows_read = len(records)
    options = HouseholdImportOptions(
        crs="wgs84", source=SYNTHETIC_SOURCE, is_synthetic=True, default_adcode=adcode
    )
    rows = finish_households(list(enumerate(records, start=1)), options, report)
    try:
        household_db.write_households(db, cipher, rows, report, actor)
    except BaseException:
        db.rollback()
        raise
    db.commit()
    return report


def rekey(
    db: Session,
    cipher: FieldCipher,
    actor: Actor,
    *,
    batch_size: int = 500,
    on_batch: Callable[[dict[str, int]], None] | None = None,
) -> dict[str, int]:
    """Re-seal every personal field under the cipher's first (new) key, one batch per commit.

    The cipher must hold the new key first and the old key(s) after it, so
    that every row stays readable (and searchable) while the rotation runs.
    Each batch commits on its own: after a kill, running again continues
    with the rows still under an old key.  The start and the end of the
    rotation and every batch are audited; no personal value is written to
    the audit log.

    Returns
    -------
    dict
        Rows rewritten per table by this run.
    """
    try:
        remaining = household_db.rekey_remaining(db, cipher)
        total = dict.fromkeys(remaining, 0)
        audit(
            db,
            actor,
            "update",
            detail={
                "operation": "rekey",
                "phase": "start",
                "key_id": cipher.key_id,
                "remaining": remaining,
            },
        )
        db.commit()
        while True:
            done = household_db.rekey_batch(db, cipher, actor, batch_size=batch_size)
            db.commit()
            for table, count in done.items():
                total[table] += count
            if not any(done.values()):
                break
            if on_batch is not None:
                on_batch(done)
        audit(
            db,
            actor,
            "update",
            detail={
                "operation": "rekey",
                "phase": "finished",
                "key_id": cipher.key_id,
                "rows": total,
            },
        )
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return total


def role_problems(found: dict[str, dict[str, object]], *, public_label: str) -> list[str]:
    """Say what is wrong with the privileges found per connection label (empty: all good)."""
    public = found.get(public_label, {})
    problems = []
    if public.get("read_households") or public.get("read_accounts"):
        problems.append(
            "the public connection can read households or accounts; connect it as "
            "yitu_public (docs/security.md)"
        )
    for label, privileges in found.items():
        if privileges.get("update_audit") or privileges.get("delete_audit"):
            problems.append(
                f"{label} may update or delete audit rows (role "
                f"{privileges['role']}); connect the app as yitu_app/yitu_public"
            )
    return problems
