"""Where the next stations should go: maximal covering location problem.

Numeric core
------------
:func:`choose_sites_from_matrix` takes a boolean cover matrix (demand rows x
candidate columns: does candidate *j* reach demand *i*?) and demand weights,
and picks at most ``p`` candidates, or candidates whose total cost stays
within ``budget``, maximising the covered weight.  It is solved exactly as an
integer program with HiGHS::

    maximise    sum_i w_i y_i
    subject to  y_i <= sum_j a_ij x_j        for every demand i
                sum_j x_j <= p               (or  sum_j c_j x_j <= budget)
                x_j in {0, 1},  0 <= y_i <= 1

``y`` may stay continuous: with integral ``x`` the best ``y_i`` is
``min(1, sum_j a_ij x_j)``, which is integral.  Before solving, demand rows
no candidate reaches or with zero weight are dropped, rows reached by the
same set of candidates are merged (weights added), and duplicate candidate
columns are dropped (the cheapest kept).  The model is passed to HiGHS as
sparse column-wise arrays in one call, and the greedy-plus-swap answer is
given as the starting incumbent.

A greedy-plus-swap preview (:func:`greedy_sites`) is computed alongside:
lazy greedy by marginal gain (per unit cost under a budget), then 1-swap
local search until no swap improves.

Adapters
--------
:func:`plan_sites` takes WGS-84 tables (activity cells, existing stations,
candidates), projects them to a local metric CRS, removes demand that
existing stations already cover (they are held fixed), builds the cover
matrix in metres (straight line or road network) and delegates.
:func:`choose_sites` is the GeoDataFrame adapter in the spopt style.
"""

from __future__ import annotations

import heapq
import io
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree

from geo.coverage import (
    DEFAULT_RADIUS_M,
    check_radius,
    metric_crs_for,
    nearest_within,
    project,
)
from geo.crs import require_same_crs
from geo.errors import CRSMismatch, InvalidInput
from geo.export import write_csv, write_geojson

if TYPE_CHECKING:
    import geopandas as gpd

    from geo.network import RoadNetwork

#: Cost of one new station when none is given, in yuan.  Qinghai's figures
#: (580 stations for about 18 million yuan) put a station near 31,000 yuan.
DEFAULT_SITE_COST = 30_000.0

#: Seconds HiGHS may spend before the best solution so far is returned.
DEFAULT_TIME_LIMIT_S = 60.0

_TOL = 1e-9


# --------------------------------------------------------------------------- #
# Results
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class SiteChoice:
    """A set of chosen candidates, ordered by marginal gain.

    Attributes
    ----------
    order : numpy.ndarray of int
        Candidate column indices, in the order that adds the most weight at
        each step.
    gains : numpy.ndarray of float
        Weight each site adds given those before it (sums to ``objective``).
    objective : float
        Total weight covered by the chosen sites.
    total_weight : float
        Total weight of all demand passed in.
    cost : float
        Total cost of the chosen sites.
    status : str
        ``optimal``, ``time limit`` (best found, with ``mip_gap``),
        ``greedy`` or ``trivial`` (nothing to choose).
    method : str
        ``highs`` or ``greedy+swap``.
    mip_gap : float
        Relative gap between the solution and HiGHS's bound (0 = proven).
    seconds : float
        Wall time spent.
    """

    order: np.ndarray
    gains: np.ndarray
    objective: float
    total_weight: float
    cost: float
    status: str
    method: str
    mip_gap: float = 0.0
    seconds: float = 0.0

    @property
    def covered_share(self) -> float:
        """Return the covered share of the demand passed in, 0..1."""
        return self.objective / self.total_weight if self.total_weight > 0 else float("nan")

    def curve(self) -> np.ndarray:
        """Return cumulative covered weight after 0, 1, ... sites (length k + 1)."""
        return np.concatenate([[0.0], np.cumsum(self.gains)])


@dataclass(frozen=True)
class SitingSolution:
    """The exact solution with the greedy preview alongside."""

    exact: SiteChoice
    greedy: SiteChoice

    @property
    def greedy_ratio(self) -> float:
        """Return greedy objective / exact objective (1.0 when both are 0)."""
        if self.exact.objective <= 0:
            return 1.0
        return self.greedy.objective / self.exact.objective


# --------------------------------------------------------------------------- #
# Validation and reduction
# --------------------------------------------------------------------------- #


def _check_inputs(cover: Any, weight: Any, p: int | None, budget: float | None,
                  cost: Any) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    matrix = sparse.csr_matrix(cover, dtype=bool) if not sparse.issparse(cover) else (
        cover.tocsr().astype(bool))
    n, m = matrix.shape
    w = np.asarray(weight, dtype=np.float64).ravel()
    if len(w) != n:
        raise InvalidInput(f"weight has {len(w)} values for {n} demand rows", field="weight")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise InvalidInput("weights must be finite and not negative", field="weight")
    if (p is None) == (budget is None):
        raise InvalidInput("give either p (number of new stations) or a budget, not both",
                           field="p")
    if m == 0:
        raise InvalidInput("there are no candidate sites to choose from", field="candidates")
    if p is not None:
        if isinstance(p, bool) or not isinstance(p, int | np.integer) or p < 1:
            raise InvalidInput(f"p must be a whole number of stations, at least 1; got {p!r}",
                               field="p")
        if p > m:
            raise InvalidInput(
                f"p = {p} is larger than the number of candidate sites ({m}); "
                f"choose p <= {m} or add candidates",
                field="p",
            )
    c = np.ones(m) if cost is None else np.broadcast_to(
        np.asarray(cost, dtype=np.float64), (m,)).copy()
    if not np.all(np.isfinite(c)) or np.any(c <= 0):
        raise InvalidInput("site costs must be positive numbers", field="cost")
    if budget is not None:
        if not math.isfinite(float(budget)) or float(budget) <= 0:
            raise InvalidInput(f"budget must be a positive amount; got {budget!r}",
                               field="budget")
        if float(budget) < float(c.min()):
            raise InvalidInput(
                f"budget {budget:,.0f} is below the cheapest site ({c.min():,.0f})",
                field="budget")
    return matrix, w, c


@dataclass(frozen=True)
class _Reduced:
    """A smaller equivalent instance and how it maps back."""

    matrix: sparse.csr_matrix  # merged rows x kept columns
    weight: np.ndarray
    cost: np.ndarray
    columns: np.ndarray  # kept column -> original column index


def _reduce(matrix: sparse.csr_matrix, weight: np.ndarray, cost: np.ndarray) -> _Reduced:
    """Drop useless rows, merge identical rows, drop duplicate columns."""
    reach = np.diff(matrix.indptr) > 0
    rows = np.flatnonzero(reach & (weight > 0))
    sub = matrix[rows]
    w = weight[rows]
    # Rows reached by the same set of candidates are one demand for the
    # model: merge them.  Group by two random projections, then confirm.
    rng = np.random.default_rng(12345)
    keys = sub.astype(np.float64) @ rng.random((sub.shape[1], 2))
    _, group = np.unique(np.round(keys, 9), axis=0, return_inverse=True)
    group = group.ravel()
    order = np.argsort(group, kind="stable")
    first_of = np.full(group.max() + 1 if len(group) else 0, -1, dtype=np.int64)
    merged_to = np.empty(len(group), dtype=np.int64)
    reps: list[int] = []
    for i in order:
        g = group[i]
        r = first_of[g]
        if r >= 0 and np.array_equal(sub.indices[sub.indptr[i]:sub.indptr[i + 1]],
                                     sub.indices[sub.indptr[reps[r]]:sub.indptr[reps[r] + 1]]):
            merged_to[i] = r
            continue
        first_of[g] = len(reps)  # a (rare) collision starts a new representative
        merged_to[i] = len(reps)
        reps.append(int(i))
    merged_w = np.bincount(merged_to, weights=w, minlength=len(reps))
    merged = sub[np.asarray(reps, dtype=np.int64)] if reps else sub[:0]
    # Columns: drop empty ones, and any column whose rows are a subset of a
    # column no dearer (it can always be swapped for that one without loss).
    # Ties between identical columns keep the cheaper, then the lower index.
    csc = merged.tocsc().astype(np.float64)
    size = np.diff(csc.indptr)
    overlap = (csc.T @ csc).tocoo()
    i, j = overlap.row, overlap.col
    subset = (i != j) & (overlap.data >= size[i]) & (cost[j] <= cost[i]) & (
        (size[j] > size[i]) | (cost[j] < cost[i]) | (j < i))
    dominated = np.zeros(merged.shape[1], dtype=bool)
    dominated[i[subset]] = True
    kept = np.flatnonzero((size > 0) & ~dominated)
    return _Reduced(matrix=merged[:, kept].tocsr(), weight=merged_w, cost=cost[kept], columns=kept)


# --------------------------------------------------------------------------- #
# Greedy plus swap
# --------------------------------------------------------------------------- #


def _greedy(csc: sparse.csc_matrix, weight: np.ndarray, cost: np.ndarray, *,
            p: int | None, budget: float | None) -> list[int]:
    """Lazy greedy (CELF): pick the best marginal gain (per cost with a budget)."""
    m = csc.shape[1]
    covered = np.zeros(csc.shape[0], dtype=bool)

    def gain(j: int) -> float:
        rows = csc.indices[csc.indptr[j]:csc.indptr[j + 1]]
        return float(weight[rows[~covered[rows]]].sum())

    by_cost = budget is not None
    start = np.asarray(csc.T @ weight).ravel()
    heap = [(-(start[j] / cost[j] if by_cost else start[j]), j) for j in range(m)]
    heapq.heapify(heap)
    chosen: list[int] = []
    spent = 0.0
    fresh = np.zeros(m, dtype=np.int64)  # iteration at which a gain was last computed
    step = 0
    while heap and (p is None or len(chosen) < p):
        neg, j = heapq.heappop(heap)
        if by_cost and spent + cost[j] > budget + _TOL:
            continue  # cannot afford it now, and spending only grows
        if fresh[j] != step:
            g = gain(j)
            fresh[j] = step
            heapq.heappush(heap, (-(g / cost[j] if by_cost else g), j))
            continue
        if -neg <= _TOL:
            break
        chosen.append(j)
        spent += cost[j]
        rows = csc.indices[csc.indptr[j]:csc.indptr[j + 1]]
        covered[rows] = True
        step += 1
    if by_cost:
        # The ratio rule alone can be arbitrarily bad; the best single
        # affordable site restores the classic guarantee (Khuller et al. 1999).
        affordable = np.flatnonzero(cost <= budget + _TOL)
        if len(affordable):
            best = int(affordable[np.argmax(start[affordable])])
            if start[best] > _objective(csc, weight, chosen) + _TOL:
                chosen = [best]
    return chosen


def _objective(csc: sparse.csc_matrix, weight: np.ndarray, chosen: Sequence[int]) -> float:
    if not len(chosen):
        return 0.0
    counts = np.asarray(csc[:, list(chosen)].sum(axis=1)).ravel()
    return float(weight[counts > 0].sum())


def _swap(csr: sparse.csr_matrix, csc: sparse.csc_matrix, weight: np.ndarray,
          cost: np.ndarray, chosen: list[int], *, budget: float | None,
          max_rounds: int = 50) -> list[int]:
    """Improve a selection by single swaps (drop one, add one) until none helps.

    For a chosen site j, dropping it loses the weight only it covers; adding
    k gains the weight of rows k reaches that are uncovered, or covered only
    by j.  Both are computed for every k at once with sparse products.
    """
    chosen = list(chosen)
    if not chosen:
        return chosen
    m = csc.shape[1]
    in_set = np.zeros(m, dtype=bool)
    in_set[chosen] = True
    counts = np.asarray(csc[:, chosen].sum(axis=1)).ravel()
    spent = float(cost[chosen].sum())
    for _ in range(max_rounds):
        improved = False
        base = np.asarray(csc.T @ (weight * (counts == 0))).ravel()
        for j in list(chosen):
            rows_j = csc.indices[csc.indptr[j]:csc.indptr[j + 1]]
            only_j = rows_j[counts[rows_j] == 1]
            loss = float(weight[only_j].sum())
            extra = np.asarray(csr[only_j].T @ weight[only_j]).ravel() if len(only_j) else 0.0
            net = base + extra - loss
            net[in_set] = -np.inf
            if budget is not None:
                net[cost > budget - spent + cost[j] + _TOL] = -np.inf
            k = int(np.argmax(net))
            if net[k] > _TOL * max(1.0, float(weight.sum())):
                chosen[chosen.index(j)] = k
                in_set[j], in_set[k] = False, True
                counts[rows_j] -= 1
                counts[csc.indices[csc.indptr[k]:csc.indptr[k + 1]]] += 1
                spent += cost[k] - cost[j]
                base = np.asarray(csc.T @ (weight * (counts == 0))).ravel()
                improved = True
        if not improved:
            break
    return chosen


def _order_by_gain(csc: sparse.csc_matrix, weight: np.ndarray,
                   chosen: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Order a chosen set by greedy marginal gain; return (order, gains)."""
    remaining = list(dict.fromkeys(int(j) for j in chosen))
    covered = np.zeros(csc.shape[0], dtype=bool)
    order: list[int] = []
    gains: list[float] = []
    while remaining:
        best, best_gain = remaining[0], -1.0
        for j in remaining:
            rows = csc.indices[csc.indptr[j]:csc.indptr[j + 1]]
            g = float(weight[rows[~covered[rows]]].sum())
            if g > best_gain + _TOL or (abs(g - best_gain) <= _TOL and j < best):
                best, best_gain = j, g
        remaining.remove(best)
        order.append(best)
        gains.append(max(best_gain, 0.0))
        covered[csc.indices[csc.indptr[best]:csc.indptr[best + 1]]] = True
    return np.asarray(order, dtype=np.int64), np.asarray(gains, dtype=np.float64)


def greedy_sites(cover: Any, weight: Any, *, p: int | None = None, budget: float | None = None,
                 cost: Any = None) -> SiteChoice:
    """Pick sites by lazy greedy then improve them by 1-swaps (a fast preview).

    Parameters are as for :func:`choose_sites_from_matrix`.
    """
    started = time.perf_counter()
    matrix, w, c = _check_inputs(cover, weight, p, budget, cost)
    reduced = _reduce(matrix, w, c)
    return _greedy_on(reduced, w, c, p=p, budget=budget, started=started)


def _greedy_on(reduced: _Reduced, w: np.ndarray, c: np.ndarray, *, p: int | None,
               budget: float | None, started: float) -> SiteChoice:
    csr = reduced.matrix
    csc = csr.tocsc()
    chosen = _greedy(csc, reduced.weight, reduced.cost, p=p, budget=budget)
    chosen = _swap(csr, csc, reduced.weight, reduced.cost, chosen, budget=budget)
    order, gains = _order_by_gain(csc, reduced.weight, chosen)
    original = reduced.columns[order]
    return SiteChoice(order=original, gains=gains, objective=float(gains.sum()),
                      total_weight=float(w.sum()), cost=float(c[original].sum()),
                      status="greedy", method="greedy+swap",
                      seconds=time.perf_counter() - started)


# --------------------------------------------------------------------------- #
# Exact integer program (HiGHS)
# --------------------------------------------------------------------------- #


def choose_sites_from_matrix(
    cover: Any,
    weight: Any,
    *,
    p: int | None = None,
    budget: float | None = None,
    cost: Any = None,
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
    import highspy

    started = time.perf_counter()
    matrix, w, c = _check_inputs(cover, weight, p, budget, cost)
    reduced = _reduce(matrix, w, c)
    greedy = _greedy_on(reduced, w, c, p=p, budget=budget, started=started)
    n_rows, n_cols = reduced.matrix.shape
    if n_rows == 0 or n_cols == 0:
        empty = SiteChoice(order=np.empty(0, np.int64), gains=np.empty(0), objective=0.0,
                           total_weight=float(w.sum()), cost=0.0, status="trivial",
                           method="highs", seconds=time.perf_counter() - started)
        return SitingSolution(exact=empty, greedy=greedy)
    # A demand row only one candidate reaches needs no y variable: its
    # weight simply goes to that candidate's objective coefficient.
    csr = reduced.matrix
    single = np.diff(csr.indptr) == 1
    direct = np.bincount(csr.indices[csr.indptr[:-1][single]],
                         weights=reduced.weight[single], minlength=n_cols)
    shared = csr[np.flatnonzero(~single)].tocsc()
    shared.sort_indices()
    shared_w = reduced.weight[~single]
    n_y = shared.shape[0]
    # Columns 0..m-1 are x_j (binary), m..m+n_y-1 are y_i (continuous).
    # Row i (< n_y): y_i - sum_j a_ij x_j <= 0; row n_y: the p or budget limit.
    limit_coef = reduced.cost if budget is not None else np.ones(n_cols)
    x_len = np.diff(shared.indptr)
    starts = np.concatenate([[0], np.cumsum(np.concatenate([x_len + 1, np.ones(n_y, int)]))])
    index = np.empty(int(starts[-1]), dtype=np.int32)
    value = np.empty(int(starts[-1]), dtype=np.float64)
    x_positions = starts[:n_cols]
    # Entries of x_j: its shared demand rows (-1), then the limit row.
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
    lp.row_upper_ = np.concatenate([np.zeros(n_y), [float(budget) if budget is not None
                                                     else float(p)]])
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = starts.astype(np.int32)
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_cols + (
        [highspy.HighsVarType.kContinuous] * n_y)
    solver = highspy.Highs()
    solver.setOptionValue("output_flag", False)
    solver.setOptionValue("time_limit", float(time_limit_s))
    solver.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    solver.setOptionValue("random_seed", 0)
    if threads:
        solver.setOptionValue("threads", int(threads))
    for name, option in (highs_options or {}).items():
        solver.setOptionValue(name, option)
    solver.passModel(lp)
    # Start from the greedy answer: HiGHS then only has to prove or improve it.
    start_x = np.zeros(n_cols + n_y)
    kept_index = {int(col): k for k, col in enumerate(reduced.columns)}
    greedy_local = [kept_index[int(j)] for j in greedy.order]
    start_x[greedy_local] = 1.0
    if greedy_local and n_y:
        start_x[n_cols:] = np.asarray(shared[:, greedy_local].sum(axis=1)).ravel() > 0
    start = highspy.HighsSolution()
    start.col_value = start_x.tolist()
    start.value_valid = True
    solver.setSolution(start)
    solver.run()
    status = solver.getModelStatus()
    values = np.asarray(solver.getSolution().col_value[:n_cols])
    info = solver.getInfo()
    gap = float(info.mip_gap) if math.isfinite(info.mip_gap) else float("nan")
    if status == highspy.HighsModelStatus.kOptimal:
        label = "optimal"
    elif status == highspy.HighsModelStatus.kTimeLimit:
        label = "time limit"
    else:
        raise InvalidInput(f"the solver stopped: {solver.modelStatusToString(status)}",
                           field="p")
    chosen = np.flatnonzero(values > 0.5)
    order, gains = _order_by_gain(csr.tocsc(), reduced.weight, chosen)
    original = reduced.columns[order]
    exact = SiteChoice(order=original, gains=gains, objective=float(gains.sum()),
                       total_weight=float(w.sum()), cost=float(c[original].sum()),
                       status=label, method="highs", mip_gap=0.0 if label == "optimal" else gap,
                       seconds=time.perf_counter() - started)
    if exact.objective + _TOL < greedy.objective:
        # Only possible when the time limit struck: never report worse than the preview.
        exact = SiteChoice(order=greedy.order, gains=greedy.gains, objective=greedy.objective,
                           total_weight=greedy.total_weight, cost=greedy.cost,
                           status=label, method="highs", mip_gap=gap, seconds=exact.seconds)
    return SitingSolution(exact=exact, greedy=greedy)


# --------------------------------------------------------------------------- #
# Cover matrices in metres
# --------------------------------------------------------------------------- #


def cover_matrix(demand_xy: Any, candidate_xy: Any, *, radius_m: float) -> sparse.csr_matrix:
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
    pairs = cKDTree(demand).sparse_distance_matrix(cKDTree(candidates), radius_m,
                                                   output_type="ndarray")
    return sparse.csr_matrix((np.ones(len(pairs), dtype=bool), (pairs["i"], pairs["j"])),
                             shape=(len(demand), len(candidates)))


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

    @property
    def final_share(self) -> float:
        """Return the covered share with the new sites added."""
        return float(self.curve["optimal"].iloc[-1]) if len(self.curve) else self.base_share

    def summary(self) -> dict[str, Any]:
        """Return headline figures as a JSON-ready dict."""
        exact = self.solution.exact
        return {
            "sites": int(len(self.sites)), "base_share": round(self.base_share, 6),
            "final_share": round(self.final_share, 6), "total_weight": self.total_weight,
            "radius_m": self.radius_m, "status": exact.status, "mip_gap": exact.mip_gap,
            "cost": exact.cost, "greedy_share_of_optimum": round(self.solution.greedy_ratio, 6),
            "seconds": round(exact.seconds, 3), "method": self.method, "notes": self.notes,
        }


def plan_sites(
    cells: pd.DataFrame,
    candidates: pd.DataFrame,
    *,
    existing: pd.DataFrame | None = None,
    radius_m: float = DEFAULT_RADIUS_M,
    p: int | None = None,
    budget: float | None = None,
    default_cost: float = DEFAULT_SITE_COST,
    network: RoadNetwork | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> SitingResult:
    """Propose new station sites for the activity cells, holding existing ones fixed.

    Parameters
    ----------
    cells : pandas.DataFrame
        Demand: ``lon``, ``lat`` (WGS-84) and ``weight`` per row (H3 cells
        summed over a time window, :func:`geo.demand.window_totals`).
    candidates : pandas.DataFrame
        ``lon``, ``lat`` (WGS-84), optionally ``id``, ``name``, ``source``
        and ``cost`` (yuan; ``default_cost`` where missing).
    existing : pandas.DataFrame, optional
        Counted stations (``lon``, ``lat``); demand they cover is removed.
    radius_m : float
        Service distance in metres.
    p, budget : keyword-only
        At most ``p`` new sites, or a total cost within ``budget`` (yuan).
    default_cost : float
        Cost of a candidate without its own cost.
    network : geo.network.RoadNetwork, optional
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
        raise InvalidInput("no candidate sites: give a candidate file or use uncovered cells",
                           field="candidates")
    cand = candidates.reset_index(drop=True).copy()
    if "id" not in cand:
        cand["id"] = [f"c{i + 1}" for i in range(len(cand))]
    if "name" not in cand:
        cand["name"] = cand["id"].astype(str)
    if "source" not in cand:
        cand["source"] = "candidate"
    cand["cost"] = (pd.to_numeric(cand["cost"], errors="coerce") if "cost" in cand
                    else pd.Series(np.nan, index=cand.index)).fillna(default_cost)
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
        notes.append(f"{len(existing)} existing stations held fixed; they cover "
                     f"{weight[already].sum() / total:.1%} of activity" if total > 0 else
                     f"{len(existing)} existing stations held fixed")
    residual = np.where(already, 0.0, weight)
    if network is not None:
        from geo.network import network_cover_matrix

        cover = network_cover_matrix(network, demand_xy, cand_xy, radius_m=radius_m)
    else:
        cover = cover_matrix(demand_xy, cand_xy, radius_m=radius_m)
    solution = choose_sites_from_matrix(cover, residual, p=p, budget=budget,
                                        cost=cand["cost"].to_numpy(float),
                                        time_limit_s=time_limit_s)
    base = float(weight[already].sum())
    if p is not None and len(solution.exact.order) < p:
        notes.append(f"only {len(solution.exact.order)} sites add coverage; "
                     "more would reach no uncovered activity")
    sites = _site_table(cand, solution.exact, base=base, total=total)
    greedy = _site_table(cand, solution.greedy, base=base, total=total)
    k = max(len(solution.exact.order), len(solution.greedy.order))

    def along(choice: SiteChoice) -> np.ndarray:
        values = (base + choice.curve()) / total if total > 0 else np.zeros(len(choice.order) + 1)
        return np.pad(values, (0, k + 1 - len(values)), mode="edge")

    curve = pd.DataFrame({"stations": np.arange(k + 1), "optimal": along(solution.exact),
                          "greedy": along(solution.greedy)})
    return SitingResult(sites=sites, greedy_sites=greedy, curve=curve,
                        base_share=base / total if total > 0 else float("nan"),
                        total_weight=total, radius_m=radius_m, solution=solution,
                        method="road network" if network is not None else "straight line",
                        notes=notes)


def _site_table(cand: pd.DataFrame, choice: SiteChoice, *, base: float,
                total: float) -> pd.DataFrame:
    rows = cand.iloc[choice.order]
    cumulative = base + np.cumsum(choice.gains)
    return pd.DataFrame({
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
    })


def candidates_from_cells(cells: pd.DataFrame, *, limit: int | None = None) -> pd.DataFrame:
    """Use uncovered activity cells' centres as candidate sites.

    Parameters
    ----------
    cells : pandas.DataFrame
        Cells with ``h3``/``cell``, ``lon``, ``lat``, ``weight`` and
        ``covered`` (from :class:`geo.coverage.CoverageResult`).
    limit : int, optional
        Keep only the heaviest ``limit`` uncovered cells.
    """
    frame = cells[~cells["covered"]] if "covered" in cells else cells
    frame = frame.sort_values("weight", ascending=False)
    if limit is not None:
        frame = frame.head(limit)
    label = frame["h3"] if "h3" in frame else frame["cell"].astype(str)
    return pd.DataFrame({"id": label.astype(str).to_numpy(),
                         "name": ["cell " + str(x) for x in label],
                         "source": "uncovered cell", "lon": frame["lon"].to_numpy(float),
                         "lat": frame["lat"].to_numpy(float)})


#: Names the candidate file's columns go by.
CANDIDATE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "id": ("id", "site_id", "shop_id", "spot_id", "编号", "站点编号", "code"),
    "name": ("name", "名称", "站点名称", "host", "地址名称"),
    "lon": ("lon", "lng", "longitude", "经度", "x"),
    "lat": ("lat", "latitude", "纬度", "y"),
    "cost": ("cost", "费用", "预算", "造价", "price"),
}


def read_candidates(path: str | Path, *, crs: str, source: str | None = None,
                    mapping: dict[str, str] | None = None) -> pd.DataFrame:
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
    from geo.crs import to_wgs84_arrays
    from geo.ledger import GEOJSON_LAT, GEOJSON_LON, map_columns, read_rows

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
            f"{', '.join(headers)}; expected lon/lng/经度 and lat/纬度", field=missing[0])
    out: dict[str, list[Any]] = {f: [] for f in ("id", "name", "lon", "lat", "cost")}
    for number, row in rows:
        for f in ("lon", "lat"):
            try:
                out[f].append(float(row[field_of[f]]))
            except (TypeError, ValueError):
                raise InvalidInput(
                    f"{path.name} row {number}: {f} {row.get(field_of[f])!r} is not a number",
                    field=f) from None
        out["id"].append(str(row.get(field_of.get("id", ""), number)))
        out["name"].append(str(row.get(field_of.get("name", ""), "") or out["id"][-1]))
        raw_cost = row.get(field_of.get("cost", ""))
        try:
            out["cost"].append(float(raw_cost) if raw_cost not in (None, "") else np.nan)
        except (TypeError, ValueError):
            raise InvalidInput(f"{path.name} row {number}: cost {raw_cost!r} is not a number",
                               field="cost") from None
    lon, lat = to_wgs84_arrays(np.asarray(out["lon"]), np.asarray(out["lat"]), crs=crs)
    frame = pd.DataFrame({"id": out["id"], "name": out["name"], "lon": lon, "lat": lat,
                          "cost": out["cost"]})
    frame["source"] = source or path.name
    return frame


# --------------------------------------------------------------------------- #
# GeoDataFrame adapter
# --------------------------------------------------------------------------- #


def choose_sites(demand: gpd.GeoDataFrame, candidates: gpd.GeoDataFrame, *,
                 radius_m: float = DEFAULT_RADIUS_M, p: int | None = None,
                 budget: float | None = None, cost: str | float | None = None,
                 weight: str = "weight") -> SitingSolution:
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
    cover = cover_matrix(np.column_stack([demand.geometry.x, demand.geometry.y]),
                         np.column_stack([candidates.geometry.x, candidates.geometry.y]),
                         radius_m=radius_m)
    costs = candidates[cost].to_numpy(float) if isinstance(cost, str) else cost
    return choose_sites_from_matrix(cover, demand[weight].to_numpy(float), p=p, budget=budget,
                                    cost=costs)


# --------------------------------------------------------------------------- #
# Outputs
# --------------------------------------------------------------------------- #


def plot_curve(result: SitingResult, out: str | Path | IO[bytes], *, fmt: str = "png",
               title: str | None = None) -> None:
    """Draw the coverage curve (covered share against new stations) to a file.

    Parameters
    ----------
    result : SitingResult
    out : path or binary file
        Where to write.
    fmt : {"png", "svg"}
        Image format.
    title : str, optional
        Title above the plot.
    """
    from matplotlib.figure import Figure  # no pyplot: no global state, safe in threads

    if fmt not in ("png", "svg"):
        raise InvalidInput(f"plot format {fmt!r}: expected png or svg", field="plot")
    figure = Figure(figsize=(6.4, 4.0), dpi=110)
    axes = figure.subplots()
    curve = result.curve
    axes.plot(curve["stations"], curve["optimal"] * 100, marker="o", markersize=3,
              label="optimal set (HiGHS), ordered by gain")
    axes.plot(curve["stations"], curve["greedy"] * 100, linestyle="--",
              label="greedy + swap preview")
    axes.axhline(result.base_share * 100, color="grey", linewidth=0.8, linestyle=":",
                 label="existing stations only")
    axes.set_xlabel("new stations")
    axes.set_ylabel("activity covered (%)")
    # Zoom on the part of the scale the curve uses: a 5-point gain must be visible.
    low = max(0.0, math.floor(result.base_share * 100 - 2) if result.base_share == result.base_share
              else 0.0)
    top = float(np.nanmax(curve[["optimal", "greedy"]].to_numpy())) * 100 if len(curve) else 100
    axes.set_ylim(low, min(100.0, max(low + 5.0, math.ceil(top + 2))))
    axes.set_xlim(0, max(1, int(curve["stations"].max()) if len(curve) else 1))
    axes.grid(True, linewidth=0.3)
    axes.legend(loc="best", fontsize=8)
    axes.set_title(title or f"Coverage within {result.radius_m:.0f} m ({result.method})",
                   fontsize=10)
    figure.tight_layout()
    figure.savefig(out, format=fmt, metadata={"Software": None} if fmt == "png" else None)


def curve_image(result: SitingResult, *, fmt: str = "png") -> bytes:
    """Return the coverage curve plot as PNG or SVG bytes."""
    buffer = io.BytesIO()
    plot_curve(result, buffer, fmt=fmt)
    return buffer.getvalue()


def write_sites_geojson(result: SitingResult, out: IO[str]) -> int:
    """Write the chosen sites as GeoJSON points (WGS-84); return the count."""
    from geo.export import feature

    features = (feature(row["lon"], row["lat"], {k: _plain(v) for k, v in row.items()
                                                  if k not in ("lon", "lat")})
                for row in result.sites.to_dict("records"))
    return write_geojson(features, out, name="yitu proposed sites",
                         summary={k: _plain(v) for k, v in result.summary().items()})


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
