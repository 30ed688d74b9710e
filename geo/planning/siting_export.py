"""Proposed sites as GeoJSON and CSV."""

from __future__ import annotations

import math
from typing import IO, Any

import numpy as np

from geo.export import write_csv, write_geojson
from geo.planning.siting import SitingResult


def write_sites_geojson(result: SitingResult, out: IO[str]) -> int:
    """Write the chosen sites as GeoJSON points (WGS-84); return the count."""
    from geo.export import feature

    features = (
        feature(
            row["lon"],
            row["lat"],
            {k: _plain(v) for k, v in row.items() if k not in ("lon", "lat")},
        )
        for row in result.sites.to_dict("records")
    )
    return write_geojson(
        features,
        out,
        name="yitu proposed sites",
        summary={k: _plain(v) for k, v in result.summary().items()},
    )


def write_sites_csv(result: SitingResult, out: IO[str]) -> int:
    """Write the chosen sites as CSV (formula-escaped); return the row count."""
    rows = ({k: _plain(v) for k, v in row.items()} for row in result.sites.to_dict("records"))
    return write_csv(rows, list(result.sites.columns), out)


def _plain(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if not math.isfinite(float(value)) else round(float(value), 6)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
