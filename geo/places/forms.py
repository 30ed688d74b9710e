"""A place typed into the admin form, validated with the ledger importer's rules.

Coordinates are typed in WGS-84, GCJ-02 or BD-09 degrees and come back in WGS-84.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from geo.places.ledger import Report
from geo.places.rows import ImportOptions, finish_places, parse_places
from geo.places.vocabulary import PlaceRecord

#: Ledger source of places created in the admin pages.
ADMIN_SOURCE = "admin"

#: Fields an admin form may set (the importer's field names).
FORM_FIELDS: tuple[str, ...] = (
    "name",
    "name_en",
    "kind",
    "address",
    "lon",
    "lat",
    "opening_hours_text",
    "amenities",
    "status",
    "host_type",
    "build_mode",
    "capacity",
    "phone",
    "managing_union",
    "station_no",
)


def validate_form(
    form: Mapping[str, Any],
    *,
    crs: str,
    default_kind: str = "station",
    external_id: str | None = None,
) -> tuple[PlaceRecord | None, Report]:
    """Validate one place typed into a form, with the ledger importer's rules.

    Parameters
    ----------
    form : mapping
        Field name -> text, for the fields in :data:`FORM_FIELDS`.
        ``lon``/``lat`` are degrees in ``crs``.
    crs : {"wgs84", "gcj02", "bd09"}, keyword-only
        The system the coordinates were typed in (Amap shows GCJ-02).
    external_id : str, keyword-only
        Natural key of the record; a fresh ``admin:<uuid>`` when None.

    Returns
    -------
    (PlaceRecord or None, Report)
        The record in WGS-84 with its official district, or None with the
        reasons in the report (row 1).
    """
    # Every field is present (blank ones as None) so a blank name is reported
    # as a row error, not as a ledger without a name column.
    row = {k: (None if form.get(k) in (None, "", []) else form.get(k)) for k in FORM_FIELDS}
    row["external_id"] = external_id or f"admin:{uuid.uuid4()}"
    report = Report(source=ADMIN_SOURCE)
    parsed = parse_places(
        [(1, row)], ImportOptions(kind=default_kind, crs=crs, source=ADMIN_SOURCE), report
    )
    if not parsed:
        return None, report
    finished = finish_places(parsed, report)
    if not finished:  # rejected once located (e.g. far outside every district)
        return None, report
    return finished[0][1], report
