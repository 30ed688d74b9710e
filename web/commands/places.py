"""``yitu import places`` and ``yitu export places``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from geo.db.catalog import EXPORT_COLUMNS, EXPORT_LOCAL_TIMES, PlaceFilter, iter_places
from geo.errors import GeoError
from geo.export import feature, write_csv, write_geojson, write_xlsx
from geo.places.ledger import Limits, parse_mapping_option
from geo.places.rows import ImportOptions
from geo.places.vocabulary import KINDS, SOURCE_CRSES
from geo.service import imports as service
from web.commands.groups import exports, imports
from web.commands.progress import console, fail, progress_bar, show_report
from web.db import session


@imports.command("places")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    default="station",
    show_default=True,
    help="Kind of the rows that do not say their own.",
)
@click.option(
    "--crs",
    "crs",
    type=click.Choice(SOURCE_CRSES),
    required=True,
    help="Coordinate system the ledger is written in (Amap/Tencent: gcj02; Baidu: bd09).",
)
@click.option(
    "--source",
    help="Name of this ledger (default: the file name); with each row's id it "
    "forms the key that makes re-imports update rather than duplicate.",
)
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="COLUMN=field",
    help="Map a column the importer does not recognise, e.g. --map 站点全称=name.",
)
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option(
    "--max-rejected",
    type=click.IntRange(min=0),
    default=Limits.max_rejected,
    show_default=True,
    help="Stop after this many rejected rows and write nothing (0: read the whole file).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the full report as JSON.",
)
def import_places(
    file: Path,
    kind: str,
    crs: str,
    source: str | None,
    mapping: tuple[str, ...],
    dry_run: bool,
    max_rejected: int,
    report_path: Path | None,
) -> None:
    """Import a ledger of places (CSV, XLSX, GeoJSON or JSON), all or nothing."""
    try:
        options = ImportOptions(
            kind=kind, crs=crs, source=source or file.name, mapping=parse_mapping_option(mapping)
        )
        with progress_bar(f"importing {file.name}") as advance:
            report = service.import_places(
                session(),
                file,
                options,
                dry_run=dry_run,
                progress=advance,
                limits=Limits(max_rejected=max_rejected),
            )
    except GeoError as exc:
        fail(str(exc))
    show_report(report, report_path=report_path)
    if report.stopped:
        fail(f"{file.name}: {report.stopped}")


@exports.command("places")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("geojson", "csv", "xlsx")),
    default="geojson",
    show_default=True,
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file (default: standard output; required for xlsx).",
)
@click.option("--kind", type=click.Choice(KINDS))
@click.option("--city")
@click.option("--district")
def export_places(
    fmt: str, out: Path | None, kind: str | None, city: str | None, district: str | None
) -> None:
    """Export places (WGS-84) with spreadsheet formulas neutralised."""
    where = PlaceFilter(kind=kind, city=city, district=district)
    rows = iter_places(session(), where)
    if fmt == "xlsx":
        if out is None:
            fail("--out FILE is required for xlsx")
        count = write_xlsx(rows, EXPORT_COLUMNS, out, local_times=EXPORT_LOCAL_TIMES)
    else:
        with out.open("w", encoding="utf-8", newline="") if out else sys.stdout as stream:
            if fmt == "csv":
                count = write_csv(rows, EXPORT_COLUMNS, stream, local_times=EXPORT_LOCAL_TIMES)
            else:
                features = (feature(r.pop("lon"), r.pop("lat"), r) for r in rows)
                count = write_geojson(features, stream, crs_note="WGS-84 (EPSG:4326)")
    console.print(f"exported {count} places" + (f" to {out}" if out else ""))


def register(group: click.Group) -> None:
    """Commands attach to the shared import/export groups; nothing else to add."""
