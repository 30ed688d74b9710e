"""Fewest new stations that cover a target share of activity, solved exactly with HiGHS.

The target-coverage form of set covering: minimise the number (or the cost)
of chosen candidates such that the weight of the demand they reach is at
least a target.  With the target equal to all reachable weight it is the
location set covering problem (spopt's ``LSCP``).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from geo.errors import InvalidInput
from geo.planning.greedy import _order_by_gain
from geo.planning.mclp import DEFAULT_TIME_LIMIT_S
from geo.planning.site_model import _TOL, SiteChoice, SitingSolution, _reduce


def _greedy_to_target(
    csc: sparse.csc_matrix, weight: NDArray[np.float64], cost: NDArray[np.float64], need: float
) -> list[int]:
    """Pick the best gain per cost until the target weight is reached."""
    covered = np.zeros(csc.shape[0], dtype=bool)
    chosen: list[int] = []
    reached = 0.0
    while reached + _TOL < need:
        gains = np.asarray(csc.T @ (weight * ~covered), dtype=np.float64).ravel()
        gains[chosen] = 0.0
        j = int(np.argmax(gains / cost))
        if gains[j] <= _TOL:
            break
        chosen.append(j)
        covered[csc.indices[csc.indptr[j] : csc.indptr[j + 1]]] = True
        reached = float(weight[covered].sum())
    return chosen


def fewest_sites_from_matrix(
    cover: sparse.spmatrix | ArrayLike,
    weight: ArrayLike,
    *,
    target_weight: float,
    cost: ArrayLike | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> SitingSolution:
    """Choose the fewest (or cheapest) candidates that cover at least ``target_weight``.

    Parameters
    ----------
    cover : scipy.sparse matrix or array_like of bool, shape (n, m)
        ``cover[i, j]`` is True when candidate ``j`` reaches demand ``i``.
    weight : array_like of float, shape (n,)
        Demand weight of each row, not negative.
    target_weight : float, keyword-only
        Weight the chosen sites must reach together (same unit as ``weight``).
    cost : float or array_like, shape (m,), keyword-only
        Cost per site (yuan); minimise the total cost instead of the count.
    time_limit_s : float
        HiGHS time limit; the best plan so far comes back with its gap.

    Returns
    -------
    SitingSolution
        ``exact`` (HiGHS; ``bound`` is a lower bound on the count or cost
        any plan reaching the target needs) and ``greedy`` (gain per cost
        until the target is met), sites ordered by marginal gain.

    Raises
    ------
    InvalidInput
        The target is not positive, or more than every candidate together reaches.
    """
    import highspy

    started = time.perf_counter()
    raw: Any = cover
    matrix = (
        raw.tocsr().astype(bool)
        if sparse.issparse(raw)
        else sparse.csr_matrix(np.asarray(raw, dtype=bool))
    )
    n, m = matrix.shape
    w = np.asarray(weight, dtype=np.float64).ravel()
    if len(w) != n:
        raise InvalidInput(f"weight has {len(w)} values for {n} demand rows", field="weight")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise InvalidInput("weights must be finite and not negative", field="weight")
    if m == 0:
        raise InvalidInput("there are no candidate sites to choose from", field="candidates")
    c = (
        np.ones(m)
        if cost is None
        else np.broadcast_to(np.asarray(cost, dtype=np.float64), (m,)).copy()
    )
    if not np.all(np.isfinite(c)) or np.any(c <= 0):
        raise InvalidInput("site costs must be positive numbers", field="cost")
    need = float(target_weight)
    if not math.isfinite(need) or need <= 0:
        raise InvalidInput(
            f"the target must be a positive amount; got {target_weight!r}", field="target"
        )
    reachable = float(w[np.diff(matrix.indptr) > 0].sum())
    if need > reachable * (1 + 1e-12) + _TOL:
        raise InvalidInput(
            f"the target ({need:,.1f}) is more than every candidate together reaches "
            f"({reachable:,.1f}); lower the target or add candidates",
            field="target",
        )
    need = min(need, reachable)
    reduced = _reduce(matrix, w, c)
    csr = reduced.matrix
    csc = csr.tocsc()
    rw, rc = reduced.weight, reduced.cost
    k, n_y = csr.shape[1], csr.shape[0]
    greedy_local = _greedy_to_target(csc, rw, rc, need)

    # Columns 0..k-1: x_j (binary); k..k+n_y-1: y_i in [0, 1].
    # Rows: y_i - sum_j a_ij x_j <= 0 (one per demand), sum_i w_i y_i >= need.
    coo = csr.tocoo()
    rows = np.concatenate([coo.row, np.arange(n_y), np.full(n_y, n_y)])
    cols = np.concatenate([coo.col, k + np.arange(n_y), k + np.arange(n_y)])
    vals = np.concatenate([-np.ones(coo.nnz), np.ones(n_y), rw])
    a = sparse.csc_matrix((vals, (rows, cols)), shape=(n_y + 1, k + n_y))
    lp = highspy.HighsLp()
    lp.num_col_ = k + n_y
    lp.num_row_ = n_y + 1
    lp.col_cost_ = np.concatenate([rc, np.zeros(n_y)])
    lp.col_lower_ = np.zeros(k + n_y)
    lp.col_upper_ = np.ones(k + n_y)
    lp.row_lower_ = np.concatenate([np.full(n_y, -highspy.kHighsInf), [need * (1 - 1e-12)]])
    lp.row_upper_ = np.concatenate([np.zeros(n_y), [highspy.kHighsInf]])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * k + [highspy.HighsVarType.kContinuous] * n_y
    solver = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy ships no annotations for it
    solver.setOptionValue("output_flag", False)
    solver.setOptionValue("time_limit", max(float(time_limit_s), 0.01))
    solver.setOptionValue("mip_rel_gap", 0.0)
    solver.setOptionValue("random_seed", 0)
    solver.passModel(lp)
    start = np.zeros(k + n_y)
    start[greedy_local] = 1.0
    if greedy_local:
        start[k:] = np.asarray(csr[:, greedy_local].sum(axis=1)).ravel() > 0
    solution = highspy.HighsSolution()
    solution.col_value = start.tolist()
    solution.value_valid = True
    solver.setSolution(solution)
    solver.run()
    status = solver.getModelStatus()
    info = solver.getInfo()
    if status == highspy.HighsModelStatus.kOptimal:
        label = "optimal"
    elif status == highspy.HighsModelStatus.kTimeLimit:
        label = "time limit"
    else:
        raise InvalidInput(
            f"the solver stopped: {solver.modelStatusToString(status)}", field="target"
        )
    x = np.asarray(solver.getSolution().col_value[:k])
    chosen = np.flatnonzero(x > 0.5)
    if not len(chosen) or float(rc[chosen].sum()) > float(rc[greedy_local].sum()) + _TOL:
        chosen = np.asarray(greedy_local, dtype=np.int64)
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else 0.0
    value = float(rc[chosen].sum())
    gap = 0.0 if label == "optimal" else max(0.0, (value - bound) / value) if value else 0.0

    def choice(
        local: NDArray[np.int64] | list[int], status: str, method: str, mip_gap: float, bound: float
    ) -> SiteChoice:
        order, gains = _order_by_gain(csc, rw, local)
        original = reduced.columns[order]
        return SiteChoice(
            order=original,
            gains=gains,
            objective=float(gains.sum()),
            total_weight=float(w.sum()),
            cost=float(c[original].sum()),
            status=status,
            method=method,
            mip_gap=mip_gap,
            seconds=time.perf_counter() - started,
            bound=bound,
        )

    exact = choice(chosen, label, "highs", gap, value if label == "optimal" else bound)
    greedy = choice(greedy_local, "greedy", "greedy", 0.0, float("nan"))
    return SitingSolution(exact=exact, greedy=greedy)
