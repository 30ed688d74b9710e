"""Reader for the plain table layout: one row per ping or order point."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from geo.activity.columns import PointColumns, plan_columns
from geo.activity.points import (
    ActivityReport,
    Area,
    PointChunk,
    ReadOptions,
    check_not_all_outside,
    parse_chunk,
)
from geo.activity.riders import check_salt
from geo.activity.sources import DEFAULT_CHUNK_ROWS, GEOMETRY_LAT, GEOMETRY_LON, open_activity
from geo.activity.times import TimeOptions
from geo.errors import InvalidInput, LedgerError


def read_activity(
    path: str | Path,
    *,
    crs: str | None,
    salt: bytes,
    mapping: Mapping[str, str] | None = None,
    extra_points: Sequence[PointColumns] = (),
    times: TimeOptions | None = None,
    area: Area | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    report: ActivityReport | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[PointChunk]:
    """Stream an activity file as parsed point chunks.

    Parameters
    ----------
    path : str or Path
        CSV, XLSX or (Geo)Parquet file.
    crs : str or None
        Source CRS of the coordinates: ``wgs84``, ``gcj02``, ``bd09`` or an
        EPSG code.  None is allowed only for GeoParquet with a declared CRS.
    salt : bytes
        Secret for rider-id hashing (see :func:`hash_rider_ids`).
    mapping : mapping, optional
        ``{column: field}`` overrides (``--map``).
    extra_points : sequence of PointColumns
        Further positions per row counted as separate points.
    times : TimeOptions, optional
        Year for year-less dates, weekday for date-less times.
    area : Area, optional
        Where points may lie; the China extent by default.
    chunk_rows : int
        Rows per chunk; bounds the memory of one step.
    report : ActivityReport, optional
        Filled with counts as the file is read.
    progress : callable, optional
        Called as ``progress(done, total)`` after each chunk.

    Yields
    ------
    PointChunk
        WGS-84 points with hour of week, weight and hashed rider.

    Raises
    ------
    LedgerError
        The file cannot be read or is empty.
    InvalidInput
        Unknown columns, bad values (naming row and column), missing year,
        or every point outside the area.
    """
    check_salt(salt)
    source = open_activity(path)
    report = report if report is not None else ActivityReport(source=Path(path).name)
    report.kind, report.row_label = source.kind, source.row_label
    if source.geometry_column and not (mapping and {"lon", "lat"} & set(mapping.values())):
        mapping = {**(mapping or {}), GEOMETRY_LON: "lon", GEOMETRY_LAT: "lat"}
    plan = plan_columns(source.headers, mapping=mapping, extra_points=extra_points)
    chosen_crs = crs or source.file_crs
    if not chosen_crs:
        raise InvalidInput(
            "say which coordinate system the points are in (--crs wgs84|gcj02|bd09); "
            "Chinese apps and ledgers usually use gcj02",
            field="crs",
        )
    report.crs, report.columns = chosen_crs, plan.describe()
    options = ReadOptions(
        crs=chosen_crs, salt=salt, times=times or TimeOptions(), area=area or Area()
    )
    text_columns = [c for c in (plan.rider, *(p.time for p in plan.points)) if c]
    any_rows = False
    for raw in source.chunks(plan.needed, chunk_rows=chunk_rows, text_columns=text_columns):
        any_rows = any_rows or len(raw.frame) > 0
        chunk = parse_chunk(
            raw, plan=plan, options=options, row_label=source.row_label, report=report
        )
        if progress is not None:
            progress(raw.done, source.total)
        if len(chunk):
            yield chunk
    if not any_rows:
        raise LedgerError(f"{Path(path).name} has a header but no data rows")
    check_not_all_outside(report, options.area)
