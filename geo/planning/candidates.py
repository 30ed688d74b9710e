"""Read a ledger of candidate host sites."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo.errors import InvalidInput

#: Names the candidate file's columns go by.
CANDIDATE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "id": ("id", "site_id", "shop_id", "spot_id", "编号", "站点编号", "code"),
    "name": ("name", "名称", "站点名称", "host", "地址名称"),
    "lon": ("lon", "lng", "longitude", "经度", "x"),
    "lat": ("lat", "latitude", "纬度", "y"),
    "cost": ("cost", "费用", "预算", "造价", "price"),
}


def read_candidates(
    path: str | Path, *, crs: str, source: str | None = None, mapping: dict[str, str] | None = None
) -> pd.DataFrame:
    """Read a candidate host file (CSV, XLSX, GeoJSON) into WGS-84 candidates.

    Parameters
    ----------
    path : str or Path
        File with at least longitude and latitude columns; id, name and cost
        are optional (e.g. ``new_3.csv``: ``Shop_id, Lng, Lat``).
    crs : str
        ``wgs84``, ``gcj02`` or ``bd09``.
    source : str, optional
        Label for where the candidates come from (default: file name).
    mapping : dict, optional
        ``{column: field}`` overrides.

    Raises
    ------
    LedgerError, InvalidInput
        Unreadable file, no coordinate columns, or bad numbers (naming the
        row).
    """
    from geo.places.crs import to_wgs84_arrays
    from geo.places.ledger import GEOJSON_LAT, GEOJSON_LON, map_columns, read_rows

    path = Path(path)
    rows = list(read_rows(path))
    if not rows:
        raise InvalidInput(f"{path.name} has no candidate rows", field="candidates")
    headers = list(dict.fromkeys(h for _, r in rows for h in r))
    explicit = dict(mapping or {})
    if GEOJSON_LON in headers:
        explicit.setdefault(GEOJSON_LON, "lon")
        explicit.setdefault(GEOJSON_LAT, "lat")
    columns, _ = map_columns(headers, CANDIDATE_SYNONYMS, explicit=explicit)
    field_of = {f: h for h, f in columns.items()}
    missing = [f for f in ("lon", "lat") if f not in field_of]
    if missing:
        raise InvalidInput(
            f"{path.name}: no column for {', '.join(missing)}; columns found: "
            f"{', '.join(headers)}; expected lon/lng/经度 and lat/纬度",
            field=missing[0],
        )
    out: dict[str, list[Any]] = {f: [] for f in ("id", "name", "lon", "lat", "cost")}
    for number, row in rows:
        for f in ("lon", "lat"):
            try:
                out[f].append(float(row[field_of[f]]))
            except (TypeError, ValueError):
                raise InvalidInput(
                    f"{path.name} row {number}: {f} {row.get(field_of[f])!r} is not a number",
                    field=f,
                ) from None
        out["id"].append(str(row.get(field_of.get("id", ""), number)))
        out["name"].append(str(row.get(field_of.get("name", ""), "") or out["id"][-1]))
        raw_cost = row.get(field_of.get("cost", ""))
        try:
            out["cost"].append(float(raw_cost) if raw_cost not in (None, "") else np.nan)
        except (TypeError, ValueError):
            raise InvalidInput(
                f"{path.name} row {number}: cost {raw_cost!r} is not a number", field="cost"
            ) from None
    lon, lat = to_wgs84_arrays(np.asarray(out["lon"]), np.asarray(out["lat"]), crs=crs)
    frame = pd.DataFrame(
        {"id": out["id"], "name": out["name"], "lon": lon, "lat": lat, "cost": out["cost"]}
    )
    frame["source"] = source or path.name
    return frame
