"""Import rider activity: files of pings or order points into H3 cell-hour aggregates.

Framework-free: ``yitu import activity`` and background job workers call
:func:`import_activity` with a session, the file and plain options.  Rider
ids are hashed at the door with the deployment's salt; nothing returned or
stored holds a raw point or a rider id.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session

from geo.activity.cells import DEFAULT_RESOLUTION, Aggregator
from geo.activity.columns import parse_point_columns
from geo.activity.distributed import aggregate_activity_dask
from geo.activity.points import ActivityReport, Area
from geo.activity.shanghai import SHANGHAI_FILES, read_shanghai_orders
from geo.activity.sources import DEFAULT_CHUNK_ROWS
from geo.activity.table import read_activity
from geo.activity.times import TimeOptions
from geo.db.activity import replace_dataset
from geo.errors import GeoError, InvalidInput
from geo.places.ledger import parse_mapping_option

SALT_FILE = "rider_id_salt"
#: The demo city's invented rider activity (scripts/make_demo_activity.py).
DEMO_ACTIVITY = Path(__file__).resolve().parents[2] / "data" / "demo" / "xining_activity.csv.gz"
DEMO_DATASET = "demo:xining-activity"

#: ``progress(done, total)``: rows or bytes read so far and in all (total may be 0).
Progress = Callable[[int, int], None]


def rider_salt(configured: str | bytes | None, instance_dir: Path) -> bytes:
    """Return the secret rider-id salt: the configured one or ``instance_dir/rider_id_salt``.

    The instance file is created once with 32 random bytes (mode 0600), like
    the session secret, so a fresh install works and the salt never sits in
    the repository.  Keep it: another salt makes new hashes unrelated to old.
    """
    if configured:
        return configured.encode("utf-8") if isinstance(configured, str) else bytes(configured)
    path = instance_dir / SALT_FILE
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip().encode("utf-8")


def area_from_option(city: str, area_file: Path | None, area_crs: str) -> Area:
    """Return where points may lie: a polygon file, the city's boundary, or China."""
    if area_file is not None:
        from geo.places.polygons import read_polygon

        return Area(name=area_file.name, geometry=read_polygon(area_file, crs=area_crs))
    from geo.places.areas import find_area

    try:
        return Area(name=city, geometry=find_area(city).geometry)
    except GeoError:
        # Not an official place name (e.g. a demo label): keep the China extent.
        return Area()


def is_shanghai_folder(path: Path) -> bool:
    """Return whether ``path`` is a folder holding the Shanghai 2016 order files."""
    return path.is_dir() and all((path / name).is_file() for name in SHANGHAI_FILES)


@dataclass(frozen=True)
class ActivityImport:
    """How to read one activity file; see ``yitu import activity --help``."""

    city: str
    crs: str | None = None
    dataset: str | None = None
    resolution: int = DEFAULT_RESOLUTION
    mapping: tuple[str, ...] = ()
    also_points: tuple[str, ...] = ()
    times: TimeOptions = field(default_factory=TimeOptions)
    layout: str = "auto"
    parcels: bool = True
    area_file: Path | None = None
    area_crs: str = "wgs84"
    demo: bool = False
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    scheduler: str | None = None


@dataclass(frozen=True)
class ImportedActivity:
    """What an import stored: the dataset, its cell-hour rows and the report."""

    dataset_id: int
    name: str
    cells: pd.DataFrame
    report: ActivityReport


def aggregate_file(
    file: Path, options: ActivityImport, *, salt: bytes, progress: Progress | None = None
) -> tuple[pd.DataFrame, ActivityReport]:
    """Read ``file`` and aggregate it to H3 cell-hours, choosing the reader by layout."""
    area = area_from_option(options.city, options.area_file, options.area_crs)
    mapping = parse_mapping_option(options.mapping)
    extra = [parse_point_columns(p) for p in options.also_points]
    layout = options.layout
    if layout == "shanghai-2016" or (layout == "auto" and is_shanghai_folder(file)):
        report = ActivityReport(source=file.name)
        points = read_shanghai_orders(
            file,
            crs=options.crs or "gcj02",
            times=options.times,
            area=area,
            include_parcels=options.parcels,
            report=report,
        )
        aggregator = Aggregator(resolution=options.resolution)
        aggregator.add(points)
        return aggregator.result(), report
    if file.is_dir():
        raise InvalidInput(
            f"{file} is a folder; give a file, or --layout shanghai-2016 "
            "for the Shanghai order folder",
            field="file",
        )
    if options.scheduler:
        return aggregate_activity_dask(
            file,
            scheduler=options.scheduler,
            crs=options.crs,
            salt=salt,
            mapping=mapping,
            extra_points=extra,
            times=options.times,
            area=area,
            resolution=options.resolution,
        )
    report = ActivityReport(source=file.name)
    aggregator = Aggregator(resolution=options.resolution)
    for chunk in read_activity(
        file,
        crs=options.crs,
        salt=salt,
        mapping=mapping,
        extra_points=extra,
        times=options.times,
        area=area,
        chunk_rows=options.chunk_rows,
        report=report,
        progress=progress,
    ):
        aggregator.add(chunk)
    return aggregator.result(), report


def import_activity(
    db: Session,
    file: Path,
    options: ActivityImport,
    *,
    salt: bytes,
    progress: Progress | None = None,
) -> ImportedActivity:
    """Aggregate ``file`` and replace the dataset of the same name in one transaction.

    Raises
    ------
    GeoError
        The file cannot be read as asked; nothing is written.
    """
    cells, report = aggregate_file(file, options, salt=salt, progress=progress)
    name = options.dataset or file.name
    dataset_id = replace_dataset(
        db,
        cells,
        name=name,
        city=options.city,
        source_crs=report.crs,
        resolution=options.resolution,
        is_demo=options.demo,
        has_riders=report.has_riders,
        source_name=file.name,
        report=report.to_dict(),
    )
    db.commit()
    return ImportedActivity(dataset_id=dataset_id, name=name, cells=cells, report=report)
