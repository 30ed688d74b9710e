"""Maximal covering solved exactly with HiGHS, on a cover matrix or on points."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse
from scipy.spatial import cKDTree

from geo.errors import CRSMismatch, InvalidInput
from geo.places.crs import require_same_crs
from geo.planning.greedy import _greedy_on, _order_by_gain
from geo.planning.metric import DEFAULT_RADIUS_M, check_radius, metric_crs_for
from geo.planning.site_model import _TOL, SiteChoice, SitingSolution, _check_inputs, _reduce

#: Seconds HiGHS may spend before the best solution so far is returned.
DEFAULT_TIME_LIMIT_S = 60.0


# --------------------------------------------------------------------------- #
# Exact integer program (HiGHS)
# --------------------------------------------------------------------------- #


def choose_sites_from_matrix(
    cover: sparse.spmatrix | ArrayLike,
    weight: ArrayLike,
    *,
    p: int | None = None,
    budget: float | None = None,
    cost: ArrayLike | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    mip_rel_gap: float = 0.0,
    threads: int | None = None,
    highs_options: Mapping[str, Any] | None = None,
) -> SitingSolution:
    """Solve the maximal covering location problem exactly with HiGHS.

    Parameters
    ----------
    cover : scipy.sparse matrix or array_like of bool, shape (n, m)
        ``cover[i, j]`` is True when candidate ``j`` reaches demand ``i``
        (within the service distance).
    weight : array_like of float, shape (n,)
        Demand weight (activity) of each row, not negative.
    p : int, keyword-only
        Choose at most ``p`` sites (1 <= p <= m).
    budget : float, keyword-only
        Or: choose sites whose total ``cost`` is at most ``budget``.
    cost : float or array_like, shape (m,), keyword-only
        Cost per site (yuan); a scalar applies to all.  Used with ``budget``.
    time_limit_s : float
        Stop after this many seconds and return the best solution found
        (status ``time limit``, with its proven gap).
    mip_rel_gap : float
        Relative optimality gap accepted; 0 proves optimality.
    threads : int, optional
        Threads HiGHS may use.
    highs_options : mapping, optional
        Further HiGHS options (name -> value), e.g. ``{"output_flag": True}``.

    Returns
    -------
    SitingSolution
        ``exact`` (HiGHS) and ``greedy`` (greedy + swap), each with the
        sites ordered by marginal gain.

    Raises
    ------
    InvalidInput
        Shapes disagree, weights are negative, both or neither of ``p`` and
        ``budget`` given, ``p`` exceeds the number of candidates, the budget
        buys nothing, or costs are not positive.
    """
    started = time.perf_counter()
    matrix, w, c = _check_inputs(cover, weight, p, budget, cost)
    reduced = _reduce(matrix, w, c)
    greedy = _greedy_on(reduced, w, c, p=p, budget=budget, started=started)
    n_rows, n_cols = reduced.matrix.shape
    if n_rows == 0 or n_cols == 0:
        empty = SiteChoice(
            order=np.empty(0, np.int64),
            gains=np.empty(0),
            objective=0.0,
            total_weight=float(w.sum()),
            cost=0.0,
            status="trivial",
            method="highs",
            seconds=time.perf_counter() - started,
        )
        return SitingSolution(exact=empty, greedy=greedy)
    csr = reduced.matrix
    limit = float(budget) if budget is not None else float(p or 0)
    limit_coef = reduced.cost if budget is not None else np.ones(n_cols)
    options = dict(highs_options or {})
    if threads:
        options["threads"] = int(threads)
    kept_index = {int(col): k for k, col in enumerate(reduced.columns)}
    best = np.asarray([kept_index[int(j)] for j in greedy.order], dtype=np.int64)
    best_value = _covered(csr, reduced.weight, best)

    def remaining() -> float:
        return max(0.0, float(time_limit_s) - (time.perf_counter() - started))

    # 1. The LP relaxation: its optimum bounds every plan from above, and the
    #    few candidates it uses hold (on planning instances) a near-optimal plan.
    relaxed = (
        _solve(
            csr,
            reduced.weight,
            limit_coef,
            limit,
            integer=False,
            time_limit_s=remaining(),
            start=None,
            options=options,
        )
        if remaining() > 0
        else _Run(x=np.zeros(n_cols), bound=math.inf, finished=False)
    )
    bound = relaxed.bound if relaxed.finished else math.inf
    # 2. The exact integer program on the LP's support (plus the greedy
    #    sites): tiny, solved in a fraction of a second, usually within a
    #    hair of the bound.
    if relaxed.finished and remaining() > 0:
        kernel = np.union1d(np.flatnonzero(relaxed.x > 1e-6), best)
        sub = _solve(
            csr[:, kernel],
            reduced.weight,
            limit_coef[kernel],
            limit,
            integer=True,
            time_limit_s=remaining(),
            start=np.searchsorted(kernel, best),
            options=options,
        )
        candidate = kernel[np.flatnonzero(sub.x > 0.5)]
        value = _covered(csr, reduced.weight, candidate)
        if value > best_value + _TOL:
            best, best_value = candidate, value
    # 3. The full integer program from that start, while time remains and
    #    the gap is larger than asked.
    if _gap(best_value, bound) > mip_rel_gap and remaining() > 0:
        full = _solve(
            csr,
            reduced.weight,
            limit_coef,
            limit,
            integer=True,
            time_limit_s=remaining(),
            start=best,
            mip_rel_gap=mip_rel_gap,
            options=options,
        )
        candidate = np.flatnonzero(full.x > 0.5)
        value = _covered(csr, reduced.weight, candidate)
        if value > best_value + _TOL:
            best, best_value = candidate, value
        bound = min(bound, full.bound)
    bound = max(bound, best_value)
    gap = _gap(best_value, bound)
    label = "optimal" if gap <= _PROVEN else "time limit"
    order, gains = _order_by_gain(csr.tocsc(), reduced.weight, best)
    original = reduced.columns[order]
    exact = SiteChoice(
        order=original,
        gains=gains,
        objective=float(gains.sum()),
        total_weight=float(w.sum()),
        cost=float(c[original].sum()),
        status=label,
        method="highs",
        mip_gap=0.0 if label == "optimal" else gap,
        seconds=time.perf_counter() - started,
        bound=float(bound),
    )
    return SitingSolution(exact=exact, greedy=greedy)


#: A relative gap below this is reported as proven optimal (HiGHS's own tolerance).
_PROVEN = 1e-6


def _gap(value: float, bound: float) -> float:
    """Return the relative distance from ``value`` up to ``bound`` (0 when equal)."""
    if not math.isfinite(bound):
        return math.inf
    if bound <= 0:
        return 0.0
    return max(0.0, (bound - value) / bound)


def _covered(csr: sparse.csr_matrix, weight: np.ndarray, chosen: np.ndarray) -> float:
    """Return the weight of rows reached by at least one chosen column."""
    if not len(chosen):
        return 0.0
    hit = np.asarray(csr[:, np.asarray(chosen, dtype=np.int64)].sum(axis=1)).ravel() > 0
    return float(weight[hit].sum())


@dataclass(frozen=True)
class _Run:
    """One HiGHS run: site values, best bound, and whether the LP finished."""

    x: np.ndarray
    bound: float
    finished: bool


def _solve(
    csr: sparse.csr_matrix,
    weight: np.ndarray,
    limit_coef: np.ndarray,
    limit: float,
    *,
    integer: bool,
    time_limit_s: float,
    start: np.ndarray | None,
    options: Mapping[str, Any],
    mip_rel_gap: float = 0.0,
) -> _Run:
    """Solve the covering model on ``csr`` (rows x candidates) with HiGHS.

    A demand row only one candidate reaches needs no y variable: its weight
    goes to that candidate's objective coefficient.  Columns 0..m-1 are x_j,
    m..m+n_y-1 are y_i (continuous: at an optimum they are 0 or 1 anyway).
    Row i (< n_y): y_i - sum_j a_ij x_j <= 0; row n_y: the p or budget limit.
    """
    import highspy

    n_cols = csr.shape[1]
    single = np.diff(csr.indptr) == 1
    direct = np.bincount(
        csr.indices[csr.indptr[:-1][single]], weights=weight[single], minlength=n_cols
    )
    shared = csr[np.flatnonzero(~single)].tocsc()
    shared.sort_indices()
    shared_w = weight[~single]
    n_y = shared.shape[0]
    x_len = np.diff(shared.indptr)
    starts = np.concatenate([[0], np.cumsum(np.concatenate([x_len + 1, np.ones(n_y, int)]))])
    index = np.empty(int(starts[-1]), dtype=np.int32)
    value = np.empty(int(starts[-1]), dtype=np.float64)
    x_positions = starts[:n_cols]
    within = np.arange(shared.nnz) - np.repeat(shared.indptr[:-1], x_len)
    flat_pos = np.repeat(x_positions, x_len) + within
    index[flat_pos] = shared.indices
    value[flat_pos] = -1.0
    index[x_positions + x_len] = n_y
    value[x_positions + x_len] = limit_coef
    index[starts[n_cols:-1]] = np.arange(n_y)
    value[starts[n_cols:-1]] = 1.0

    lp = highspy.HighsLp()
    lp.num_col_ = n_cols + n_y
    lp.num_row_ = n_y + 1
    lp.col_cost_ = np.concatenate([direct, shared_w])
    lp.col_lower_ = np.zeros(n_cols + n_y)
    lp.col_upper_ = np.ones(n_cols + n_y)
    lp.row_lower_ = np.full(n_y + 1, -highspy.kHighsInf)
    lp.row_upper_ = np.concatenate([np.zeros(n_y), [limit]])
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = starts.astype(np.int32)
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * n_cols + (
            [highspy.HighsVarType.kContinuous] * n_y
        )
    solver = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy ships no annotations for it
    solver.setOptionValue("output_flag", False)
    solver.setOptionValue("time_limit", max(float(time_limit_s), 0.01))
    solver.setOptionValue("random_seed", 0)
    if integer:
        solver.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    else:
        # The interior point method takes seconds where simplex takes minutes
        # on covering LPs with millions of nonzeros (measured, bench_siting).
        solver.setOptionValue("solver", "ipm")
    for name, option in options.items():
        solver.setOptionValue(name, option)
    solver.passModel(lp)
    if integer and start is not None:
        start_x = np.zeros(n_cols + n_y)
        start_x[np.asarray(start, dtype=np.int64)] = 1.0
        if len(start) and n_y:
            start_x[n_cols:] = (
                np.asarray(shared[:, np.asarray(start, dtype=np.int64)].sum(axis=1)).ravel() > 0
            )
        solution = highspy.HighsSolution()
        solution.col_value = start_x.tolist()
        solution.value_valid = True
        solver.setSolution(solution)
    solver.run()
    status = solver.getModelStatus()
    info = solver.getInfo()
    x = np.asarray(solver.getSolution().col_value[:n_cols], dtype=np.float64)
    if status == highspy.HighsModelStatus.kOptimal:
        bound = float(info.objective_function_value) if not integer else float(info.mip_dual_bound)
        return _Run(x=x, bound=bound, finished=True)
    if status == highspy.HighsModelStatus.kTimeLimit:
        dual = float(info.mip_dual_bound) if integer else math.inf
        return _Run(
            x=x if integer else np.zeros(n_cols),
            bound=dual if math.isfinite(dual) else math.inf,
            finished=False,
        )
    raise InvalidInput(f"the solver stopped: {solver.modelStatusToString(status)}", field="p")


# --------------------------------------------------------------------------- #
# Cover matrices in metres
# --------------------------------------------------------------------------- #


def cover_matrix(
    demand_xy: ArrayLike, candidate_xy: ArrayLike, *, radius_m: float
) -> sparse.csr_matrix:
    """Return the boolean demand x candidate matrix of straight-line reach.

    Parameters
    ----------
    demand_xy, candidate_xy : array_like, shape (n, 2) and (m, 2)
        Points in metres of one projected CRS.
    radius_m : float
        Service distance in metres (boundary included).
    """
    radius_m = check_radius(radius_m)
    demand = np.asarray(demand_xy, dtype=float).reshape(-1, 2)
    candidates = np.asarray(candidate_xy, dtype=float).reshape(-1, 2)
    if not len(demand) or not len(candidates):
        return sparse.csr_matrix((len(demand), len(candidates)), dtype=bool)
    pairs = cKDTree(demand).sparse_distance_matrix(
        cKDTree(candidates), radius_m, output_type="ndarray"
    )
    return sparse.csr_matrix(
        (np.ones(len(pairs), dtype=bool), (pairs["i"], pairs["j"])),
        shape=(len(demand), len(candidates)),
    )


# --------------------------------------------------------------------------- #
# GeoDataFrame adapter
# --------------------------------------------------------------------------- #


def choose_sites(
    demand: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    *,
    radius_m: float = DEFAULT_RADIUS_M,
    p: int | None = None,
    budget: float | None = None,
    cost: str | float | None = None,
    weight: str = "weight",
) -> SitingSolution:
    """Choose sites from point GeoDataFrames (validate, project, delegate).

    Parameters
    ----------
    demand, candidates : geopandas.GeoDataFrame
        Points in one CRS; geographic CRSs are projected to the local UTM
        zone, projected CRSs must be in metres.
    radius_m : float
        Service distance in metres.
    p, budget
        As for :func:`choose_sites_from_matrix`.
    cost : str or float, optional
        Column of ``candidates`` holding the cost, or one cost for all.
    weight : str
        Column of ``demand`` holding the weight.

    Raises
    ------
    CRSMismatch
        Different or missing CRSs, or a projected CRS not in metres.
    """
    crs = require_same_crs(demand, candidates)
    if crs.is_geographic:
        wgs = demand.to_crs(4326)
        metric = metric_crs_for(wgs.geometry.x.to_numpy(), wgs.geometry.y.to_numpy())
        demand, candidates = demand.to_crs(metric), candidates.to_crs(metric)
    else:
        unit = crs.axis_info[0].unit_name if crs.axis_info else ""
        if unit not in ("metre", "meter"):
            raise CRSMismatch(f"the CRS is in {unit or 'unknown units'}; use a metric CRS")
    cover = cover_matrix(
        np.column_stack([demand.geometry.x, demand.geometry.y]),
        np.column_stack([candidates.geometry.x, candidates.geometry.y]),
        radius_m=radius_m,
    )
    costs = candidates[cost].to_numpy(float) if isinstance(cost, str) else cost
    return choose_sites_from_matrix(
        cover, demand[weight].to_numpy(float), p=p, budget=budget, cost=costs
    )
