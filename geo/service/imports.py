"""Import and export places: ledgers into the database, the database into files.

Framework-free: ``yitu import places``/``yitu export places`` and job
workers call these with a session and plain values.  Stored and exported
coordinates are WGS-84.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from geo.db.imports import import_ledger
from geo.places.ledger import Limits, Report
from geo.places.rows import ImportOptions


def import_places(
    db: Session,
    file: Path,
    options: ImportOptions,
    *,
    dry_run: bool,
    limits: Limits | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Import one ledger all or nothing: commit, or roll back for a dry run or an error.

    Raises
    ------
    GeoError
        The ledger cannot be read, or the database cancelled a statement
        (:class:`geo.errors.StatementTimeout`); nothing is written.
    """
    try:
        report = import_ledger(db, file, options, dry_run=dry_run, progress=progress, limits=limits)
    except BaseException:
        db.rollback()
        raise
    if dry_run or report.stopped:
        db.rollback()
    else:
        db.commit()
    return report
