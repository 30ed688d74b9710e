"""Plan new stations for a coverage result: candidates, budget or p, the coverage curve."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from geo.errors import InvalidInput
from geo.planning.fair import UnfairTarget, fair_sites_from_matrix
from geo.planning.mclp import DEFAULT_TIME_LIMIT_S, choose_sites_from_matrix, cover_matrix
from geo.planning.metric import DEFAULT_RADIUS_M, check_radius, metric_crs_for, project
from geo.planning.network import RoadNetwork
from geo.planning.reach import nearest_within
from geo.planning.site_model import SiteChoice, SitingSolution
from geo.planning.target import fewest_sites_from_matrix

#: Cost of one new station when none is given, in yuan.  Qinghai's figures
#: (580 stations for about 18 million yuan) put a station near 31,000 yuan.
DEFAULT_SITE_COST = 30_000.0


# --------------------------------------------------------------------------- #
# Planner adapter (WGS-84 tables)
# --------------------------------------------------------------------------- #


@dataclass
class SitingResult:
    """A siting answer as a planner sees it.

    Attributes
    ----------
    sites : pandas.DataFrame
        Chosen sites in order: ``order`` (1..k), ``id``, ``name``,
        ``source``, ``lon``, ``lat`` (WGS-84), ``cost``, ``gain`` (weight
        added), ``gain_share`` (of all activity), ``covered_share``
        (cumulative, including existing stations).
    greedy_sites : pandas.DataFrame
        The greedy-plus-swap preview, same columns.
    curve : pandas.DataFrame
        ``stations`` (new stations 0..k), ``optimal`` (covered share along the
        exact solution's order) and ``greedy`` (along the preview's order).
    base_share : float
        Share covered by existing stations alone.
    total_weight : float
    radius_m : float
    solution : SitingSolution
    method : str
        ``straight line`` or ``road network``.
    notes : list of str
    """

    sites: pd.DataFrame
    greedy_sites: pd.DataFrame
    curve: pd.DataFrame
    base_share: float
    total_weight: float
    radius_m: float
    solution: SitingSolution
    method: str
    notes: list[str] = field(default_factory=list)
    model: str = "p"
    target_share: float | None = None

    @property
    def final_share(self) -> float:
        """Return the covered share with the new sites added."""
        return float(self.curve["optimal"].iloc[-1]) if len(self.curve) else self.base_share

    def summary(self) -> dict[str, Any]:
        """Return headline figures as a JSON-ready dict."""
        exact = self.solution.exact
        return {
            "sites": int(len(self.sites)),
            "base_share": round(self.base_share, 6),
            "final_share": round(self.final_share, 6),
            "total_weight": self.total_weight,
            "radius_m": self.radius_m,
            "status": exact.status,
            "mip_gap": exact.mip_gap if np.isfinite(exact.mip_gap) else None,
            "cost": exact.cost,
            "greedy_share_of_optimum": round(self.solution.greedy_ratio, 6),
            "seconds": round(exact.seconds, 3),
            "method": self.method,
            "notes": self.notes,
            "bound_share": round(self.bound_share, 6),
            "model": self.model,
            "greedy_sites": int(len(self.solution.greedy.order)),
            "target_share": self.target_share,
        }

    @property
    def bound_share(self) -> float:
        """Return the proven upper bound on the covered share any plan of this size reaches."""
        bound = self.solution.exact.bound
        if self.model == "target" or self.total_weight <= 0 or not np.isfinite(bound):
            return self.final_share
        return max(self.final_share, self.base_share + bound / self.total_weight)


def plan_sites(
    cells: pd.DataFrame,
    candidates: pd.DataFrame,
    *,
    existing: pd.DataFrame | None = None,
    radius_m: float = DEFAULT_RADIUS_M,
    p: int | None = None,
    budget: float | None = None,
    target_share: float | None = None,
    min_district_share: float | None = None,
    default_cost: float = DEFAULT_SITE_COST,
    network: RoadNetwork | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> SitingResult:
    """Propose new station sites for the activity cells, holding existing ones fixed.

    Parameters
    ----------
    cells : pandas.DataFrame
        Demand: ``lon``, ``lat`` (WGS-84) and ``weight`` per row (H3 cells
        summed over a time window, :func:`geo.activity.cells.window_totals`).
    candidates : pandas.DataFrame
        ``lon``, ``lat`` (WGS-84), optionally ``id``, ``name``, ``source``
        and ``cost`` (yuan; ``default_cost`` where missing).
    existing : pandas.DataFrame, optional
        Counted stations (``lon``, ``lat``); demand they cover is removed.
    radius_m : float
        Service distance in metres.
    p, budget : keyword-only
        At most ``p`` new sites, or a total cost within ``budget`` (yuan).
    target_share : float, keyword-only
        Or: the fewest new sites that bring the covered share (existing
        stations included) to at least this share, 0 < share <= 1.
    min_district_share : float, keyword-only
        With ``p`` or ``budget``: every district (``cells["district"]``)
        must end with at least this covered share, existing stations counted.
    default_cost : float
        Cost of a candidate without its own cost.
    network : geo.planning.network.RoadNetwork, optional
        Measure reach along roads.
    time_limit_s : float
        Solver time limit.

    Returns
    -------
    SitingResult
    """
    radius_m = check_radius(radius_m)
    if cells is None or not len(cells):
        raise InvalidInput("no rider activity to site stations for", field="window")
    if candidates is None or not len(candidates):
        raise InvalidInput(
            "no candidate sites: give a candidate file or use uncovered cells", field="candidates"
        )
    cand = candidates.reset_index(drop=True).copy()
    if "id" not in cand:
        cand["id"] = [f"c{i + 1}" for i in range(len(cand))]
    if "name" not in cand:
        cand["name"] = cand["id"].astype(str)
    if "source" not in cand:
        cand["source"] = "candidate"
    cand["cost"] = (
        pd.to_numeric(cand["cost"], errors="coerce")
        if "cost" in cand
        else pd.Series(np.nan, index=cand.index)
    ).fillna(default_cost)
    lon = cells["lon"].to_numpy(float)
    lat = cells["lat"].to_numpy(float)
    weight = cells["weight"].to_numpy(float)
    crs = network.crs if network is not None else metric_crs_for(lon, lat)
    demand_xy = project(lon, lat, crs=crs)
    cand_xy = project(cand["lon"].to_numpy(float), cand["lat"].to_numpy(float), crs=crs)
    total = float(weight.sum())
    notes: list[str] = []
    already = np.zeros(len(cells), dtype=bool)
    if existing is not None and len(existing):
        ex_xy = project(existing["lon"].to_numpy(float), existing["lat"].to_numpy(float), crs=crs)
        dist, _ = nearest_within(demand_xy, ex_xy, radius_m=radius_m, network=network)
        already = dist <= radius_m
        notes.append(
            f"{len(existing)} existing stations held fixed; they cover "
            f"{weight[already].sum() / total:.1%} of activity"
            if total > 0
            else f"{len(existing)} existing stations held fixed"
        )
    residual = np.where(already, 0.0, weight)
    if network is not None:
        from geo.planning.network import network_cover_matrix

        cover = network_cover_matrix(network, demand_xy, cand_xy, radius_m=radius_m)
    else:
        cover = cover_matrix(demand_xy, cand_xy, radius_m=radius_m)
    base = float(weight[already].sum())
    if target_share is not None:
        solution = _fewest_for_target(
            cover,
            residual,
            base=base,
            total=total,
            target_share=target_share,
            time_limit_s=time_limit_s,
            notes=notes,
        )
    elif min_district_share is not None:
        solution = _fair(
            cover,
            residual,
            already,
            weight,
            cells,
            cand,
            p=p,
            budget=budget,
            share=min_district_share,
            time_limit_s=time_limit_s,
            notes=notes,
        )
    else:
        solution = choose_sites_from_matrix(
            cover,
            residual,
            p=p,
            budget=budget,
            cost=cand["cost"].to_numpy(float),
            time_limit_s=time_limit_s,
        )
    if p is not None and len(solution.exact.order) < p:
        notes.append(
            f"only {len(solution.exact.order)} sites add coverage; "
            "more would reach no uncovered activity"
        )
    sites = _site_table(cand, solution.exact, base=base, total=total)
    greedy = _site_table(cand, solution.greedy, base=base, total=total)
    k = max(len(solution.exact.order), len(solution.greedy.order))

    def along(choice: SiteChoice) -> np.ndarray:
        values = (base + choice.curve()) / total if total > 0 else np.zeros(len(choice.order) + 1)
        return np.pad(values, (0, k + 1 - len(values)), mode="edge")

    curve = pd.DataFrame(
        {
            "stations": np.arange(k + 1),
            "optimal": along(solution.exact),
            "greedy": along(solution.greedy),
        }
    )
    return SitingResult(
        sites=sites,
        greedy_sites=greedy,
        curve=curve,
        base_share=base / total if total > 0 else float("nan"),
        total_weight=total,
        radius_m=radius_m,
        solution=solution,
        method="road network" if network is not None else "straight line",
        model="target" if target_share is not None else "p" if p is not None else "budget",
        target_share=target_share,
        notes=notes,
    )


def _site_table(
    cand: pd.DataFrame, choice: SiteChoice, *, base: float, total: float
) -> pd.DataFrame:
    rows = cand.iloc[choice.order]
    cumulative = base + np.cumsum(choice.gains)
    return pd.DataFrame(
        {
            "order": np.arange(1, len(rows) + 1),
            "id": rows["id"].astype(str).to_numpy(),
            "name": rows["name"].astype(str).to_numpy(),
            "source": rows["source"].astype(str).to_numpy(),
            "lon": rows["lon"].to_numpy(float),
            "lat": rows["lat"].to_numpy(float),
            "cost": rows["cost"].to_numpy(float),
            "gain": choice.gains,
            "gain_share": choice.gains / total if total > 0 else np.nan,
            "covered_share": cumulative / total if total > 0 else np.nan,
        }
    )


def candidates_from_cells(cells: pd.DataFrame, *, limit: int | None = None) -> pd.DataFrame:
    """Use uncovered activity cells' centres as candidate sites.

    Parameters
    ----------
    cells : pandas.DataFrame
        Cells with ``h3``/``cell``, ``lon``, ``lat``, ``weight`` and
        ``covered`` (from :class:`geo.planning.coverage.CoverageResult`).
    limit : int, optional
        Keep only the heaviest ``limit`` uncovered cells.
    """
    frame = cells[~cells["covered"]] if "covered" in cells else cells
    frame = frame.sort_values("weight", ascending=False)
    if limit is not None:
        frame = frame.head(limit)
    label = frame["h3"] if "h3" in frame else frame["cell"].astype(str)
    return pd.DataFrame(
        {
            "id": label.astype(str).to_numpy(),
            "name": ["cell " + str(x) for x in label],
            "source": "uncovered cell",
            "lon": frame["lon"].to_numpy(float),
            "lat": frame["lat"].to_numpy(float),
        }
    )


def _fewest_for_target(
    cover: sparse.csr_matrix,
    residual: np.ndarray,
    *,
    base: float,
    total: float,
    target_share: float,
    time_limit_s: float,
    notes: list[str],
) -> SitingSolution:
    """Solve the fewest-sites model for a share of all activity (existing coverage counted)."""
    if not 0 < target_share <= 1:
        raise InvalidInput(
            f"the target share must be above 0 and at most 1 (100 %); got {target_share!r}",
            field="target",
        )
    need = target_share * total - base
    reach = np.asarray(cover.sum(axis=1)).ravel() > 0
    most = (base + float(residual[reach].sum())) / total if total > 0 else 0.0
    if need <= 1e-9 * max(total, 1.0):
        notes.append(f"existing stations already cover {base / total:.1%}: no new site needed")
        empty = SiteChoice(
            order=np.empty(0, np.int64),
            gains=np.empty(0),
            objective=0.0,
            total_weight=float(residual.sum()),
            cost=0.0,
            status="optimal",
            method="highs",
            bound=0.0,
        )
        return SitingSolution(exact=empty, greedy=empty)
    if target_share > most + 1e-12:
        raise InvalidInput(
            f"the target {target_share:.1%} is above the most these candidates can reach "
            f"({most:.1%}); lower the target or add candidates",
            field="target",
        )
    return fewest_sites_from_matrix(
        cover, residual, target_weight=min(need, most * total - base), time_limit_s=time_limit_s
    )


def _fair(
    cover: sparse.csr_matrix,
    residual: np.ndarray,
    already: np.ndarray,
    weight: np.ndarray,
    cells: pd.DataFrame,
    cand: pd.DataFrame,
    *,
    p: int | None,
    budget: float | None,
    share: float,
    time_limit_s: float,
    notes: list[str],
) -> SitingSolution:
    """Solve maximal covering with a floor of ``share`` per district."""
    if not 0 < share <= 1:
        raise InvalidInput(
            f"the minimum district share must be above 0 and at most 1; got {share!r}",
            field="min_share",
        )
    if "district" not in cells:
        raise InvalidInput("the activity cells carry no district", field="min_share")
    names = cells["district"].astype(str).to_numpy()
    codes, labels = pd.factorize(names)
    total_g = np.bincount(codes, weights=weight, minlength=len(labels))
    base_g = np.bincount(codes, weights=np.where(already, weight, 0.0), minlength=len(labels))
    need = np.maximum(0.0, share * total_g - base_g)
    need[np.asarray(labels) == "(outside known districts)"] = 0.0  # no floor there (coverage.py)
    try:
        solution = fair_sites_from_matrix(
            cover,
            residual,
            group=codes,
            need=need,
            p=p,
            budget=budget,
            cost=cand["cost"].to_numpy(float),
            time_limit_s=time_limit_s,
        )
    except UnfairTarget as exc:
        which = ", ".join(str(labels[k]) for k in exc.groups)
        raise InvalidInput(f"{exc} (districts: {which})", field="min_share") from exc
    notes.append(f"every district reaches at least {share:.0%} of its activity")
    return solution
