"""Coverage of rider activity by open stations: the adapter from tables to the numeric core."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.activity.cells import cell_text
from geo.errors import CRSMismatch, InvalidInput
from geo.places.crs import require_same_crs
from geo.planning.metric import DEFAULT_RADIUS_M, check_radius, metric_crs_for, project
from geo.planning.network import RoadNetwork
from geo.planning.reach import gap_clusters, nearest_station, nearest_within
from geo.planning.stations import StationFilter, select_stations

# --------------------------------------------------------------------------- #
# Analysis of cell aggregates
# --------------------------------------------------------------------------- #


@dataclass
class CoverageResult:
    """Everything a planner sees about one coverage question.

    Attributes
    ----------
    cells : pandas.DataFrame
        One row per H3 cell with activity: ``cell`` (int64), ``h3`` (text),
        ``lon``, ``lat`` (WGS-84 centre), ``points``, ``weight``,
        ``rider_hours``, ``covered`` (bool), ``distance_m`` (to the nearest
        counted station; inf when none within reach), ``station_id``
        (nearest counted station or missing), ``district``, ``gap_id``
        (-1 when covered), ``rank`` (1 = heaviest uncovered cell).
    stations : pandas.DataFrame
        The stations that counted.
    gaps : pandas.DataFrame
        One row per gap cluster, heaviest first: ``gap_id``, ``name``,
        ``district``, ``cells``, ``points``, ``weight``, ``rider_hours``,
        ``share`` (of all activity), ``lon``, ``lat`` (weighted centre).
    districts : pandas.DataFrame
        Per district: ``district``, ``cells``, ``weight``,
        ``covered_weight``, ``covered_share``, ``uncovered_cells``,
        ``gaps``.
    radius_m : float
    method : str
        ``straight line`` or ``road network``.
    metric_crs : str
        The CRS distances were measured in.
    window : str
        The time window, as text.
    dropped_stations : dict
        Stations left out, by reason.
    """

    cells: pd.DataFrame
    stations: pd.DataFrame
    gaps: pd.DataFrame
    districts: pd.DataFrame
    radius_m: float
    method: str
    metric_crs: str
    window: str
    dropped_stations: dict[str, int] = field(default_factory=dict)

    @property
    def total_weight(self) -> float:
        """Return the total activity weight in the area and window."""
        return float(self.cells["weight"].sum())

    @property
    def covered_weight(self) -> float:
        """Return the activity weight within reach of a counted station."""
        return float(self.cells.loc[self.cells["covered"], "weight"].sum())

    @property
    def covered_share(self) -> float:
        """Return the covered share of activity, 0..1 (NaN without activity)."""
        total = self.total_weight
        return self.covered_weight / total if total > 0 else float("nan")

    def uncovered(self, *, top: int | None = None) -> pd.DataFrame:
        """Return uncovered cells, heaviest first."""
        frame = self.cells[~self.cells["covered"]].sort_values("rank")
        return frame if top is None else frame.head(top)

    def summary(self) -> dict[str, Any]:
        """Return headline figures as a JSON-ready dict."""
        return {
            "covered_share": (
                None if math.isnan(self.covered_share) else round(self.covered_share, 6)
            ),
            "covered_weight": self.covered_weight,
            "total_weight": self.total_weight,
            "cells": int(len(self.cells)),
            "uncovered_cells": int((~self.cells["covered"]).sum()),
            "gaps": int(len(self.gaps)),
            "stations": int(len(self.stations)),
            "radius_m": self.radius_m,
            "method": self.method,
            "metric_crs": self.metric_crs,
            "window": self.window,
            "dropped_stations": self.dropped_stations,
        }


def analyze_coverage(
    cells: pd.DataFrame,
    stations: pd.DataFrame,
    *,
    radius_m: float = DEFAULT_RADIUS_M,
    selection: StationFilter | None = None,
    window_label: str = "",
    network: RoadNetwork | None = None,
    districts: Sequence[str | None] | np.ndarray | None = None,
) -> CoverageResult:
    """Mark activity cells covered or not and summarise the gaps.

    Parameters
    ----------
    cells : pandas.DataFrame
        One row per H3 cell: ``cell`` (int64), ``lon``, ``lat`` (WGS-84
        centre), ``weight``, and optionally ``points``, ``rider_hours``
        (as from :func:`geo.activity.cells.window_totals` or the database).
    stations : pandas.DataFrame
        Candidate supply (see :func:`select_stations`), WGS-84.
    radius_m : float
        Service distance in metres.
    selection : StationFilter, optional
        Which stations count; by default active stations of kind ``station``.
    window_label : str
        Label of the time window the cells were summed over.
    network : geo.planning.network.RoadNetwork, optional
        Measure along roads instead of straight lines.
    districts : sequence of str, optional
        District of each cell; looked up with
        :func:`geo.places.districts.assign_districts` when None.

    Returns
    -------
    CoverageResult

    Raises
    ------
    InvalidInput
        No activity cells, or a bad radius.
    """
    radius_m = check_radius(radius_m)
    if cells is None or not len(cells):
        raise InvalidInput(
            "no rider activity in this area and time window; import activity or widen the window",
            field="window",
        )
    selection = selection or StationFilter(window=None)
    counted, dropped = select_stations(stations, selection)
    frame = cells.reset_index(drop=True).copy()
    for column, default in (("points", 0), ("rider_hours", pd.NA)):
        if column not in frame:
            frame[column] = default
    lon = frame["lon"].to_numpy(float)
    lat = frame["lat"].to_numpy(float)
    crs = network.crs if network is not None else metric_crs_for(lon, lat)
    demand_xy = project(lon, lat, crs=crs)
    station_xy = project(counted["lon"].to_numpy(float), counted["lat"].to_numpy(float), crs=crs)
    distance, index = nearest_within(demand_xy, station_xy, radius_m=radius_m, network=network)
    covered = distance <= radius_m
    frame["covered"] = covered
    frame["distance_m"] = distance
    ids = counted["id"].to_numpy() if "id" in counted else np.arange(len(counted))
    frame["station_id"] = pd.array([ids[i] if i >= 0 else pd.NA for i in index], dtype=object)
    frame["h3"] = cell_text(frame["cell"].to_numpy())
    if districts is None:
        districts = lookup_districts(lon, lat)
    frame["district"] = [
        d if isinstance(d, str) and d else "(outside known districts)" for d in districts
    ]
    frame["gap_id"] = gap_clusters(frame["cell"].to_numpy(), ~covered)
    order = frame["weight"].where(~frame["covered"], -np.inf).rank(ascending=False, method="first")
    frame["rank"] = np.where(frame["covered"], 0, order).astype(np.int64)
    gaps = _gap_table(frame)
    frame = frame.merge(
        gaps[["gap_id", "name"]].rename(columns={"name": "gap"}), on="gap_id", how="left"
    )
    return CoverageResult(
        cells=frame,
        stations=counted,
        gaps=gaps,
        districts=_district_table(frame, gaps),
        radius_m=radius_m,
        method="road network" if network is not None else "straight line",
        metric_crs=crs.to_string(),
        window=window_label,
        dropped_stations=dropped,
    )


def what_if(
    base: CoverageResult,
    *,
    add: Sequence[tuple[float, float]] = (),
    remove: Sequence[Any] = (),
    selection: StationFilter | None = None,
    network: RoadNetwork | None = None,
) -> CoverageResult:
    """Recompute coverage with stations added or removed, from the same cells.

    Parameters
    ----------
    base : CoverageResult
        The coverage before the change (its cells, districts and counted
        stations are reused: nothing is read again).
    add : sequence of (lon, lat)
        New stations, WGS-84 degrees; they always count (open, all required
        amenities).
    remove : sequence
        Ids of counted stations to take away.
    selection : StationFilter, optional
        Used for the kind and amenities of added stations.
    network : geo.planning.network.RoadNetwork, optional
        Measure along roads, as for ``base``.

    Raises
    ------
    InvalidInput
        A removed id is not among the counted stations.
    """
    counted = base.stations
    ids = counted["id"].astype(str) if "id" in counted else pd.Series([], dtype=str)
    unknown = [str(r) for r in remove if str(r) not in set(ids)]
    if unknown:
        raise InvalidInput(
            f"station {unknown[0]} is not among the {len(counted)} stations counted here",
            field="remove",
        )
    kept = counted[~ids.isin([str(r) for r in remove])]
    selection = selection or StationFilter()
    added = pd.DataFrame(
        {
            "id": [f"what-if-{i + 1}" for i in range(len(add))],
            "name": [f"what-if {i + 1}" for i in range(len(add))],
            "kind": (selection.kinds or ("station",))[0],
            "status": "active",
            "amenities": [tuple(selection.amenities)] * len(add),
            "opening_hours": "24/7",
            "lon": [float(a[0]) for a in add],
            "lat": [float(a[1]) for a in add],
        }
    )
    frame = pd.concat([kept, added], ignore_index=True) if len(added) else kept
    cells = base.cells[["cell", "lon", "lat", "points", "weight", "rider_hours"]]
    after = analyze_coverage(
        cells,
        frame,
        radius_m=base.radius_m,
        selection=StationFilter(kinds=(), amenities=(), window=None),
        window_label=base.window,
        network=network,
        districts=base.cells["district"].tolist(),
    )
    after.dropped_stations = dict(base.dropped_stations)
    if remove:
        after.dropped_stations["removed (what-if)"] = len(remove)
    return after


def lookup_districts(lon: np.ndarray, lat: np.ndarray) -> list[str | None]:
    """Return the district name of each WGS-84 point (None outside all districts)."""
    from geo.places.districts import assign_districts  # boundary data: loaded only when needed

    found = assign_districts(np.asarray(lon, float), np.asarray(lat, float))
    names = found["district"] if isinstance(found, pd.DataFrame) else found
    return [d if isinstance(d, str) and d else None for d in names]


def _gap_table(frame: pd.DataFrame) -> pd.DataFrame:
    columns = [
        "gap_id",
        "name",
        "district",
        "cells",
        "points",
        "weight",
        "rider_hours",
        "share",
        "lon",
        "lat",
    ]
    gaps = frame[frame["gap_id"] >= 0]
    if gaps.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    total = float(frame["weight"].sum())
    rows = []
    for gap_id, part in gaps.groupby("gap_id"):
        w = part["weight"].to_numpy(float)
        by_district = part.groupby("district")["weight"].sum().sort_values(ascending=False)
        centre_w = w if w.sum() > 0 else np.ones(len(w))
        rows.append(
            {
                "gap_id": int(gap_id),
                "district": str(by_district.index[0]),
                "cells": len(part),
                "points": int(part["points"].sum()),
                "weight": float(w.sum()),
                "rider_hours": part["rider_hours"].astype("Int64").sum(min_count=1),
                "share": float(w.sum() / total) if total > 0 else float("nan"),
                "lon": float(np.average(part["lon"], weights=centre_w)),
                "lat": float(np.average(part["lat"], weights=centre_w)),
            }
        )
    table = pd.DataFrame(rows).sort_values(["weight", "gap_id"], ascending=[False, True])
    # Name each gap after its district, numbered by weight within it.
    table["name"] = [
        f"{d} #{n}"
        for d, n in zip(table["district"], table.groupby("district").cumcount() + 1, strict=True)
    ]
    return table[columns].reset_index(drop=True)


def _district_table(frame: pd.DataFrame, gaps: pd.DataFrame) -> pd.DataFrame:
    grouped = frame.assign(
        covered_weight=frame["weight"].where(frame["covered"], 0.0), uncovered=~frame["covered"]
    )
    table = (
        grouped.groupby("district")
        .agg(
            cells=("cell", "size"),
            weight=("weight", "sum"),
            covered_weight=("covered_weight", "sum"),
            uncovered_cells=("uncovered", "sum"),
        )
        .reset_index()
    )
    table["covered_share"] = np.where(
        table["weight"] > 0,
        table["covered_weight"] / table["weight"].where(table["weight"] > 0, 1.0),
        np.nan,
    )
    gap_counts = gaps.groupby("district").size() if len(gaps) else pd.Series(dtype=int)
    table["gaps"] = table["district"].map(gap_counts).fillna(0).astype(int)
    return table.sort_values("weight", ascending=False, ignore_index=True)


# --------------------------------------------------------------------------- #
# GeoDataFrame adapter
# --------------------------------------------------------------------------- #


def coverage_frame(
    demand: gpd.GeoDataFrame, stations: gpd.GeoDataFrame, *, radius_m: float = DEFAULT_RADIUS_M
) -> gpd.GeoDataFrame:
    """Add ``covered`` and ``distance_m`` columns to a point GeoDataFrame.

    Parameters
    ----------
    demand, stations : geopandas.GeoDataFrame
        Points in one CRS.  A geographic CRS (degrees) is projected to the
        local UTM zone first; a projected CRS must be in metres.
    radius_m : float
        Service distance in metres.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``demand`` with ``covered`` (bool) and ``distance_m``
        (metres, inf beyond ``radius_m``).

    Raises
    ------
    CRSMismatch
        The two frames have different or missing CRSs, or a projected CRS
        not in metres.
    """
    crs = require_same_crs(demand, stations)
    radius_m = check_radius(radius_m)
    if crs.is_geographic:
        wgs_d = demand.to_crs(4326)
        metric = metric_crs_for(wgs_d.geometry.x.to_numpy(), wgs_d.geometry.y.to_numpy())
        demand_m, stations_m = demand.to_crs(metric), stations.to_crs(metric)
    else:
        unit = crs.axis_info[0].unit_name if crs.axis_info else ""
        if unit not in ("metre", "meter"):
            raise CRSMismatch(f"the CRS is in {unit or 'unknown units'}; use a metric CRS")
        demand_m, stations_m = demand, stations
    demand_xy = np.column_stack([demand_m.geometry.x, demand_m.geometry.y])
    station_xy = np.column_stack([stations_m.geometry.x, stations_m.geometry.y])
    distance, _ = nearest_station(demand_xy, station_xy, max_m=radius_m)
    out = demand.copy()
    out["covered"] = distance <= radius_m
    out["distance_m"] = distance
    return out


def coverage_change(before: CoverageResult, after: CoverageResult) -> pd.DataFrame:
    """Return, per district, the activity that loses and gains coverage in a what-if.

    Parameters
    ----------
    before, after : CoverageResult
        The same cells (``after`` from :func:`what_if` on ``before``).

    Returns
    -------
    pandas.DataFrame
        ``district``, ``lost_cells``, ``lost_weight``, ``gained_cells``,
        ``gained_weight``, ``lost_share`` (of the district's activity), one row
        per district where anything changed, most lost first.  Cells are
        matched by H3 id; weights are those of the window.
    """
    joined = before.cells[["cell", "district", "weight", "covered"]].merge(
        after.cells[["cell", "covered"]], on="cell", suffixes=("_before", "_after")
    )
    lost = joined["covered_before"] & ~joined["covered_after"]
    gained = ~joined["covered_before"] & joined["covered_after"]
    joined = joined.assign(
        lost_cells=lost.astype(int),
        lost_weight=joined["weight"].where(lost, 0.0),
        gained_cells=gained.astype(int),
        gained_weight=joined["weight"].where(gained, 0.0),
    )
    table = joined.groupby("district", as_index=False).agg(
        weight=("weight", "sum"),
        lost_cells=("lost_cells", "sum"),
        lost_weight=("lost_weight", "sum"),
        gained_cells=("gained_cells", "sum"),
        gained_weight=("gained_weight", "sum"),
    )
    table["lost_share"] = np.where(table["weight"] > 0, table["lost_weight"] / table["weight"], 0.0)
    changed = (table["lost_cells"] > 0) | (table["gained_cells"] > 0)
    table = table[changed].sort_values(["lost_weight", "district"], ascending=[False, True])
    return table.drop(columns="weight").reset_index(drop=True)
