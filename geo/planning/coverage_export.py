"""Coverage results as GeoJSON features and CSV rows."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import IO, Any

import h3.api.numpy_int as h3i
import numpy as np
import pandas as pd

from geo.errors import InvalidInput
from geo.export import write_csv, write_geojson
from geo.planning.coverage import CoverageResult

# --------------------------------------------------------------------------- #
# Exports
# --------------------------------------------------------------------------- #


def cell_polygon(cell: int) -> list[list[float]]:
    """Return the closed GeoJSON ring (lon, lat) of an H3 cell."""
    ring = [[round(lng, 7), round(lat, 7)] for lat, lng in h3i.cell_to_boundary(int(cell))]
    return [*ring, ring[0]]


def _clean(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def gap_features(result: CoverageResult) -> Iterable[dict[str, Any]]:
    """Yield one GeoJSON MultiPolygon feature per gap cluster (WGS-84)."""
    cells = result.cells
    for row in result.gaps.itertuples(index=False):
        members = cells.loc[cells["gap_id"] == row.gap_id, "cell"].to_numpy()
        shape = h3i.cells_to_h3shape([int(c) for c in members])
        yield {
            "type": "Feature",
            "geometry": shape.__geo_interface__,
            "properties": {
                k: _clean(getattr(row, k))
                for k in (
                    "gap_id",
                    "name",
                    "district",
                    "cells",
                    "points",
                    "weight",
                    "rider_hours",
                    "share",
                )
            },
        }


_CELL_COLUMNS = (
    "h3",
    "lon",
    "lat",
    "points",
    "weight",
    "rider_hours",
    "covered",
    "distance_m",
    "station_id",
    "district",
    "gap",
    "rank",
)


def cell_features(
    result: CoverageResult, *, uncovered_only: bool = False
) -> Iterable[dict[str, Any]]:
    """Yield one GeoJSON Polygon feature per activity cell (WGS-84)."""
    frame = result.uncovered() if uncovered_only else result.cells
    for row in frame.to_dict("records"):
        yield {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [cell_polygon(row["cell"])]},
            "properties": {k: _clean(row.get(k)) for k in _CELL_COLUMNS},
        }


def write_coverage_geojson(result: CoverageResult, out: IO[str], *, layer: str = "gaps") -> int:
    """Write gaps (``layer="gaps"``), uncovered cells or all cells as GeoJSON.

    Returns the number of features written.  Coordinates are WGS-84.
    """
    if layer == "gaps":
        features = gap_features(result)
    elif layer in ("cells", "uncovered"):
        features = cell_features(result, uncovered_only=layer == "uncovered")
    else:
        raise InvalidInput(f"layer {layer!r}: expected gaps, uncovered or cells", field="layer")
    return write_geojson(
        features,
        out,
        name=f"yitu coverage {layer}",
        summary={
            k: _clean(v) if not isinstance(v, dict) else v for k, v in result.summary().items()
        },
    )


def write_coverage_csv(result: CoverageResult, out: IO[str], *, layer: str = "uncovered") -> int:
    """Write uncovered cells, all cells, gaps or the district table as CSV.

    Text cells that a spreadsheet would run as a formula are escaped
    (:func:`geo.export.escape_formula`).  Returns the rows written.
    """
    if layer == "gaps":
        frame, columns = result.gaps, list(result.gaps.columns)
    elif layer == "districts":
        frame, columns = result.districts, list(result.districts.columns)
    elif layer in ("cells", "uncovered"):
        frame = result.uncovered() if layer == "uncovered" else result.cells
        columns = list(_CELL_COLUMNS)
    else:
        raise InvalidInput(
            f"layer {layer!r}: expected uncovered, cells, gaps or districts", field="layer"
        )
    rows = ({k: _clean(v) for k, v in row.items()} for row in frame.to_dict("records"))
    return write_csv(rows, columns, out)
