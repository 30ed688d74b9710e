"""``yitu import activity``: rider activity into H3 cell-hour aggregates.

Reads CSV, XLSX, (Geo)Parquet or the Shanghai 2016 order folder, hashes
rider ids at the door (HMAC-SHA-256 with the deployment's secret salt),
aggregates to H3 cells by hour of week and replaces the named dataset in one
transaction.  Nothing printed or stored holds a raw point or a rider id.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from geo.activity.cells import DEFAULT_RESOLUTION
from geo.activity.points import ActivityReport
from geo.activity.sources import DEFAULT_CHUNK_ROWS
from geo.activity.times import TimeOptions
from geo.db.activity import list_datasets
from geo.errors import GeoError
from geo.service.activity import (
    DEMO_ACTIVITY,
    DEMO_DATASET,
    ActivityImport,
    Progress,
    rider_salt,
)
from geo.service.activity import import_activity as import_activity_use_case
from web.commands.groups import imports
from web.commands.progress import console, fail
from web.db import session


@imports.command("activity")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--crs",
    help="Coordinate system of the points: wgs84, gcj02, bd09 or an EPSG "
    "code (Amap/Tencent data: gcj02).  GeoParquet may declare its own.",
)
@click.option(
    "--city",
    required=True,
    help="City the activity belongs to (as planners will "
    "pick it, e.g. 上海市); official names also clip points to the city.",
)
@click.option(
    "--dataset",
    help="Dataset name (default: the file name); re-importing a name replaces that dataset.",
)
@click.option(
    "--resolution",
    type=click.IntRange(0, 15),
    default=DEFAULT_RESOLUTION,
    show_default=True,
    help="H3 resolution of the cells.",
)
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="COLUMN=FIELD",
    help="Map a column to lon, lat, time, rider or weight, e.g. --map 经度=lon.",
)
@click.option(
    "--also-points",
    multiple=True,
    metavar="LON,LAT[,TIME]",
    help="Further positions per row that count as separate points, e.g. "
    "accept_gps_lng,accept_gps_lat,accept_time (LaDe).",
)
@click.option("--year", type=int, help="Year of times written without one (MM-DD HH:MM:SS).")
@click.option(
    "--weekday",
    type=click.IntRange(0, 6),
    default=0,
    show_default=True,
    help="Weekday (0 = Monday) of times written without a date (HH:MM).",
)
@click.option(
    "--layout",
    type=click.Choice(("auto", "table", "shanghai-2016")),
    default="auto",
    show_default=True,
    help="shanghai-2016: FILE is the folder of new_1..new_5.csv.",
)
@click.option(
    "--no-parcels",
    is_flag=True,
    help="shanghai-2016: count takeaway orders only, not parcel deliveries.",
)
@click.option(
    "--area",
    "area_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="GeoJSON polygon; points outside are dropped and counted.",
)
@click.option("--area-crs", default="wgs84", show_default=True, help="CRS of --area.")
@click.option("--demo", is_flag=True, help="Label the dataset as invented demo data.")
@click.option(
    "--chunk-rows",
    type=click.IntRange(1000, 5_000_000),
    default=DEFAULT_CHUNK_ROWS,
    show_default=True,
    help="Rows read at a time (bounds memory).",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Aggregate on a Dask cluster (tcp://host:8786) instead of this machine.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the import report as JSON.",
)
def import_activity(
    file: Path,
    crs: str | None,
    city: str,
    dataset: str | None,
    resolution: int,
    mapping: tuple[str, ...],
    also_points: tuple[str, ...],
    year: int | None,
    weekday: int,
    layout: str,
    no_parcels: bool,
    area_file: Path | None,
    area_crs: str,
    demo: bool,
    chunk_rows: int,
    scheduler: str | None,
    report_path: Path | None,
) -> None:
    """Import rider activity (pings or order points) as H3 cell-hour aggregates."""
    options = ActivityImport(
        city=city,
        crs=crs,
        dataset=dataset,
        resolution=resolution,
        mapping=mapping,
        also_points=also_points,
        times=TimeOptions(year=year, time_only_weekday=weekday),
        layout=layout,
        parcels=not no_parcels,
        area_file=area_file,
        area_crs=area_crs,
        demo=demo,
        chunk_rows=chunk_rows,
        scheduler=scheduler,
    )
    salt = rider_salt(current_app.config.get("RIDER_ID_SALT"), Path(current_app.instance_path))
    try:
        with _progress(file, scheduler) as progress:
            done = import_activity_use_case(session(), file, options, salt=salt, progress=progress)
    except GeoError as exc:
        fail(str(exc))
    _show(
        done.report,
        cells_count=int(done.cells["cell"].nunique()),
        rows=len(done.cells),
        name=done.name,
        dataset_id=done.dataset_id,
        demo=demo,
    )
    if report_path:
        report_path.write_text(json.dumps(done.report.to_dict(), ensure_ascii=False, indent=2))
        console.print(f"report written to {report_path}")


@contextmanager
def _progress(file: Path, scheduler: str | None) -> Iterator[Progress]:
    """A rich progress bar of rows (or bytes, for text files) read."""
    if scheduler:
        with console.status(f"aggregating {file.name} on {scheduler}"):
            yield lambda done, total: None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.progress import Progress as Bar

    by_bytes = file.suffix.lower() in (".csv", ".txt", ".gz")
    counter = DownloadColumn() if by_bytes else MofNCompleteColumn()
    with Bar(
        TextColumn("{task.description}"), BarColumn(), counter, TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task(f"reading {file.name}", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _show(
    report: ActivityReport, *, cells_count: int, rows: int, name: str, dataset_id: int, demo: bool
) -> None:
    from rich.table import Table

    summary = report.to_dict()
    console.print(
        f"[bold]{name}[/] (dataset {dataset_id}{', demo' if demo else ''}): "
        f"{summary['rows_read']} rows read, {summary['points']} points "
        f"(weight {summary['weight']:,.0f}) in {cells_count} H3 cells, {rows} cell-hours; "
        f"coordinates {summary['crs']}; rider ids "
        f"{'hashed' if summary['has_riders'] else 'absent'}"
    )
    console.print("columns: " + ", ".join(f"{k}={v}" for k, v in summary["columns"].items()))
    if summary["skipped"]:
        table = Table(title="points left out")
        for column in ("reason", "count", f"first {summary['row_label']}s"):
            table.add_column(column)
        for reason, count in summary["skipped"].items():
            table.add_row(
                reason, str(count), ", ".join(str(r) for r in summary["examples"].get(reason, []))
            )
        console.print(table)
    for note in summary["notes"]:
        console.print(f"note: {note}")


@click.command("activity")
@click.option("--if-empty", is_flag=True, help="Do nothing when any activity dataset is stored.")
@with_appcontext
def load_demo_activity(if_empty: bool) -> None:
    """Load (or refresh) the demo city's invented rider activity, labelled as demo."""
    if if_empty and list_datasets(session()):
        console.print("activity already stored; demo activity not loaded")
        return
    ctx = click.get_current_context()
    ctx.invoke(
        import_activity,
        file=DEMO_ACTIVITY,
        crs="wgs84",
        city="西宁市",
        dataset=DEMO_DATASET,
        resolution=DEFAULT_RESOLUTION,
        mapping=(),
        also_points=(),
        year=None,
        weekday=0,
        layout="table",
        no_parcels=False,
        area_file=None,
        area_crs="wgs84",
        demo=True,
        chunk_rows=DEFAULT_CHUNK_ROWS,
        scheduler=None,
        report_path=None,
    )


def register(group: click.Group) -> None:
    """``import activity`` hangs off the shared ``import`` group; add ``demo activity``."""
    from web.commands.demo import demo

    demo.add_command(load_demo_activity)
