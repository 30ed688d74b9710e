"""Writing tables out as GeoJSON, CSV and XLSX without formula injection.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-``, ``@``,
TAB or CR as a formula, and both pandas and openpyxl write such text as a
live formula.  :func:`escape_formula` prefixes those cells with an apostrophe
(OWASP's advice), and every exporter here applies it to every text cell.

Times are written as Asia/Shanghai wall-clock time: Excel cannot hold a
time zone, and the people who open these files read local time.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from geo.places.timezone import SHANGHAI, TZ_NAME

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value: Any) -> Any:
    """Return ``value`` made inert for spreadsheets; non-text passes through."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def flat_cell(value: Any) -> Any:
    """Flatten lists and dicts into text, and aware times into naive Asia/Shanghai time."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(SHANGHAI).replace(tzinfo=None)
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def header_row(columns: Sequence[str], local_times: Collection[str] = ()) -> list[str]:
    """Return the first row of a table: column names, with the zone named on time columns.

    ``local_times`` are the columns holding timestamps, which :func:`flat_cell`
    writes as Asia/Shanghai wall-clock time: ``updated_at (Asia/Shanghai)``.
    """
    return [f"{c} ({TZ_NAME})" if c in local_times else c for c in columns]


def write_csv(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    out: IO[str],
    *,
    local_times: Collection[str] = (),
) -> int:
    """Write ``rows`` as CSV (UTF-8 with BOM for Excel) and return the row count.

    ``local_times`` names the timestamp columns (see :func:`header_row`).
    """
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(header_row(columns, local_times))
    count = 0
    for row in rows:
        writer.writerow([escape_formula(flat_cell(row.get(c))) for c in columns])
        count += 1
    return count


def write_xlsx(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    path: Path,
    *,
    local_times: Collection[str] = (),
) -> int:
    """Write ``rows`` to an XLSX file with openpyxl's streaming writer.

    ``local_times`` names the timestamp columns (see :func:`header_row`).
    """
    from openpyxl import Workbook  # imported here: only exports need it

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("data")
    sheet.append(header_row(columns, local_times))
    count = 0
    for row in rows:
        sheet.append([escape_formula(flat_cell(row.get(c))) for c in columns])
        count += 1
    workbook.save(path)
    return count


def feature(lon: float, lat: float, properties: Mapping[str, Any]) -> dict[str, Any]:
    """Return an RFC 7946 Point feature (WGS-84 lon/lat degrees)."""
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round(lon, 7), round(lat, 7)]},
        "properties": dict(properties),
    }


def write_geojson(features: Iterable[Mapping[str, Any]], out: IO[str], **members: Any) -> int:
    """Stream a FeatureCollection to ``out`` and return the feature count.

    Extra ``members`` (e.g. ``name``, ``notice``) are written as foreign
    members of the collection, which RFC 7946 allows.
    """
    out.write('{"type": "FeatureCollection"')
    for key, value in members.items():
        out.write(f", {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    out.write(', "features": [')
    count = 0
    for item in features:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(item, ensure_ascii=False, default=str))
        count += 1
    out.write("\n]}\n")
    return count
