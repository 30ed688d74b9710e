"""Load the demo city's places through the place history, never over an admin's edits.

``yitu demo load`` used to upsert the authored demo file: re-running it put
every demo place an admin had edited back to its demo values, with no
history row.  Now a demo place is only ever *created* (with its ``create``
history row, editor ``cli:<user>``); a place that already exists is left as
it is, edited or not, and the report says how many were kept.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from geo.db.history import Editor, create_place, existing_external_ids
from geo.places.demo import DEMO_SOURCE, load_demo_places
from geo.places.ledger import Report
from geo.places.rows import finish_places


def load_demo_city(db: Session, editor: Editor) -> Report:
    """Create the demo places that are missing, each with a history row; commit.

    Returns
    -------
    Report
        ``counts``: ``inserted`` (created now) and ``unchanged`` (already
        stored, kept as they are).
    """
    report = Report(source=DEMO_SOURCE)
    records = load_demo_places()
    report.rows_read = len(records)
    rows = finish_places(list(enumerate(records, start=1)), report)
    try:
        stored = existing_external_ids(db, DEMO_SOURCE)
        created = 0
        for _, record in rows:
            if record.external_id in stored:
                continue
            create_place(db, record, editor, note="demo city (invented data)")
            created += 1
        db.commit()
    except BaseException:
        db.rollback()
        raise
    report.counts = {"inserted": created, "updated": 0, "unchanged": len(rows) - created}
    return report
