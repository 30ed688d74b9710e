"""The same aggregation over Dask partitions, for files larger than one machine's memory."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo.activity.cells import (
    DEFAULT_RESOLUTION,
    Partial,
    check_resolution,
    combine_partials,
    finalize,
    partial_aggregate,
)
from geo.activity.columns import ColumnPlan, PointColumns, plan_columns
from geo.activity.points import (
    ActivityReport,
    Area,
    ReadOptions,
    check_not_all_outside,
    parse_chunk,
)
from geo.activity.riders import check_salt
from geo.activity.sources import GEOMETRY_LAT, GEOMETRY_LON, ActivitySource, RawChunk, open_activity
from geo.activity.times import TimeOptions
from geo.errors import InvalidInput, LedgerError

# --------------------------------------------------------------------------- #
# Beyond one machine: the same functions per Dask partition
# --------------------------------------------------------------------------- #


def _dask_frame(source: ActivitySource, plan: ColumnPlan, *, blocksize: str) -> Any:
    """Open ``source`` as a Dask DataFrame of the planned columns."""
    import dask.dataframe as dd

    text_columns = {c: "string" for c in (plan.rider, *(p.time for p in plan.points)) if c}
    if source.kind == "csv":
        return dd.read_csv(
            str(source.path),
            usecols=plan.needed,
            dtype=text_columns,
            blocksize=None if source.path.suffix.lower() == ".gz" else blocksize,
            encoding=source.encoding,
            skipinitialspace=True,
        )
    if source.kind == "parquet":
        if source.geometry_column:
            import dask_geopandas

            frame = dask_geopandas.read_parquet(str(source.path))

            def unpack(part: Any) -> pd.DataFrame:
                out = pd.DataFrame(part.drop(columns=part.geometry.name))
                out[GEOMETRY_LON] = part.geometry.x.to_numpy()
                out[GEOMETRY_LAT] = part.geometry.y.to_numpy()
                return out[plan.needed]

            meta = pd.DataFrame(
                {
                    c: pd.Series(dtype=float if c in (GEOMETRY_LON, GEOMETRY_LAT) else object)
                    for c in plan.needed
                }
            )
            return frame.map_partitions(unpack, meta=meta)
        return dd.read_parquet(str(source.path), columns=plan.needed)
    raise InvalidInput(
        f"{source.path.name}: XLSX cannot be split across workers; save it as CSV or Parquet "
        "to use --scheduler",
        field="scheduler",
    )


def _partition_job(
    frame: pd.DataFrame,
    number: int,
    plan: ColumnPlan,
    options: ReadOptions,
    resolution: int,
    source_name: str,
) -> tuple[Partial, ActivityReport]:
    """Parse and aggregate one partition: the per-chunk functions, unchanged."""
    report = ActivityReport(source=source_name)
    rows = np.arange(1, len(frame) + 1)
    chunk = parse_chunk(
        RawChunk(frame.reset_index(drop=True), rows, 0),
        plan=plan,
        options=options,
        row_label=f"partition {number + 1}, record",
        report=report,
    )
    return partial_aggregate(chunk, resolution=resolution), report


def aggregate_activity_dask(
    path: str | Path,
    *,
    scheduler: Any,
    crs: str | None,
    salt: bytes,
    mapping: Mapping[str, str] | None = None,
    extra_points: Sequence[PointColumns] = (),
    times: TimeOptions | None = None,
    area: Area | None = None,
    resolution: int = DEFAULT_RESOLUTION,
    blocksize: str = "64MB",
) -> tuple[pd.DataFrame, ActivityReport]:
    """Aggregate a CSV or (Geo)Parquet file on a Dask cluster.

    Each partition goes through :func:`parse_chunk` and
    :func:`partial_aggregate` on a worker; the partials are merged with
    :func:`combine_partials`, so the result equals the single-machine
    :func:`aggregate_points` of :func:`read_activity`.  Error messages name
    the partition and the record within it (absolute line numbers are not
    known to a worker).

    Parameters
    ----------
    path : str or Path
        CSV (not gzipped for splitting) or Parquet/GeoParquet.
    scheduler : str or distributed.Client
        Scheduler address (``tcp://host:8786``) or a connected client.
    crs, salt, mapping, extra_points, times, area
        As for :func:`read_activity`.
    resolution : int
        H3 resolution.
    blocksize : str
        Target CSV partition size.

    Returns
    -------
    (pandas.DataFrame, ActivityReport)
        See :func:`finalize`.
    """
    from dask.delayed import delayed
    from distributed import Client

    check_salt(salt)
    check_resolution(resolution)
    source = open_activity(path)
    if source.geometry_column and not (mapping and {"lon", "lat"} & set(mapping.values())):
        mapping = {**(mapping or {}), GEOMETRY_LON: "lon", GEOMETRY_LAT: "lat"}
    plan = plan_columns(source.headers, mapping=mapping, extra_points=extra_points)
    chosen_crs = crs or source.file_crs
    if not chosen_crs:
        raise InvalidInput("say which coordinate system the points are in (--crs)", field="crs")
    options = ReadOptions(
        crs=chosen_crs, salt=salt, times=times or TimeOptions(), area=area or Area()
    )
    frame = _dask_frame(source, plan, blocksize=blocksize)
    jobs = [
        delayed(_partition_job)(part, number, plan, options, resolution, source.path.name)
        for number, part in enumerate(frame.to_delayed())
    ]
    own_client = not isinstance(scheduler, Client)
    client = Client(scheduler) if own_client else scheduler  # type: ignore[no-untyped-call]
    try:
        results = client.gather(client.compute(jobs))
    finally:
        if own_client:
            client.close()
    report = ActivityReport(
        source=source.path.name,
        kind=source.kind,
        row_label="record",
        crs=chosen_crs,
        columns=plan.describe(),
    )
    for _, part_report in results:
        report.merge(part_report)
    if not report.rows_read:
        raise LedgerError(f"{source.path.name} has a header but no data rows")
    check_not_all_outside(report, options.area)
    report.notes.append(f"aggregated on Dask in {len(jobs)} partitions")
    return finalize(combine_partials(p for p, _ in results)), report
