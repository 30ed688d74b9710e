"""Point-level coverage over Dask partitions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from geo.planning.metric import check_radius
from geo.planning.reach import _as_xy, covered_within

# --------------------------------------------------------------------------- #
# Raw points on Dask
# --------------------------------------------------------------------------- #


def _partition_coverage(
    frame: pd.DataFrame, station_xy: np.ndarray, radius_m: float, x: str, y: str, weight: str | None
) -> pd.DataFrame:
    """Covered and total weight of one partition (the same :func:`covered_within`)."""
    xy = np.column_stack([frame[x].to_numpy(float), frame[y].to_numpy(float)])
    w = frame[weight].to_numpy(float) if weight else np.ones(len(frame))
    covered = covered_within(xy, station_xy, radius_m=radius_m, workers=1)
    return pd.DataFrame(
        {
            "covered": [float(w[covered].sum())],
            "total": [float(w.sum())],
            "points": [len(frame)],
            "covered_points": [int(covered.sum())],
        }
    )


def point_coverage_dask(
    points: Any,
    station_xy: ArrayLike,
    *,
    radius_m: float,
    scheduler: Any,
    x: str = "x",
    y: str = "y",
    weight: str | None = None,
) -> dict[str, float]:
    """Covered share of raw points held in a Dask (Geo)DataFrame, on a cluster.

    Parameters
    ----------
    points : dask.dataframe.DataFrame
        Points with metric ``x``/``y`` columns (metres, the CRS of
        ``station_xy``) and optionally a ``weight`` column.
    station_xy : array_like, shape (m, 2)
        Stations in the same metric CRS.
    radius_m : float
        Service distance in metres.
    scheduler : str or distributed.Client
        Scheduler address or a connected client.

    Returns
    -------
    dict
        ``covered``, ``total`` (weights), ``covered_share``, ``points``,
        ``covered_points``; equal to :func:`covered_within` on all points.
    """
    from distributed import Client

    radius_m = check_radius(radius_m)
    stations = _as_xy(station_xy, "station_xy")
    meta = pd.DataFrame(
        {
            "covered": pd.Series(dtype=float),
            "total": pd.Series(dtype=float),
            "points": pd.Series(dtype=np.int64),
            "covered_points": pd.Series(dtype=np.int64),
        }
    )
    parts = points.map_partitions(_partition_coverage, stations, radius_m, x, y, weight, meta=meta)
    own = not isinstance(scheduler, Client)
    client = Client(scheduler) if own else scheduler  # type: ignore[no-untyped-call]
    try:
        sums = client.compute(parts.sum()).result()
    finally:
        if own:
            client.close()
    total = float(sums["total"])
    return {
        "covered": float(sums["covered"]),
        "total": total,
        "covered_share": float(sums["covered"]) / total if total > 0 else float("nan"),
        "points": int(sums["points"]),
        "covered_points": int(sums["covered_points"]),
    }
