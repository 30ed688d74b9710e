"""Maximal covering with a floor per district: no plan may leave a district behind.

The maximal covering model (at most ``p`` sites, or a budget) plus, for each
group ``g`` of demand rows (a district), ``sum_{i in g} w_i y_i >= need_g``:
the new sites must cover at least ``need_g`` of that group's weight.
Solved exactly with HiGHS.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse

from geo.errors import InvalidInput
from geo.planning.greedy import _order_by_gain
from geo.planning.mclp import DEFAULT_TIME_LIMIT_S
from geo.planning.site_model import _TOL, SiteChoice, SitingSolution, _check_inputs


class UnfairTarget(InvalidInput):
    """No plan within the limits gives every group its floor; ``groups`` names the short ones."""

    def __init__(self, message: str, *, groups: list[int]) -> None:
        super().__init__(message, field="min_share")
        self.groups = groups


def fair_sites_from_matrix(
    cover: sparse.spmatrix | ArrayLike,
    weight: ArrayLike,
    *,
    group: ArrayLike,
    need: ArrayLike,
    p: int | None = None,
    budget: float | None = None,
    cost: ArrayLike | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> SitingSolution:
    """Cover the most weight with at most ``p`` sites (or a budget), each group getting ``need``.

    Parameters
    ----------
    cover : scipy.sparse matrix or array_like of bool, shape (n, m)
        ``cover[i, j]`` is True when candidate ``j`` reaches demand ``i``.
    weight : array_like of float, shape (n,)
        Demand weight per row, not negative.
    group : array_like of int, shape (n,), keyword-only
        Group (district) index of each row, 0..k-1.
    need : array_like of float, shape (k,), keyword-only
        Weight the new sites must cover in each group (0 or less: no floor).
    p, budget, cost, time_limit_s
        As for :func:`geo.planning.mclp.choose_sites_from_matrix`.

    Returns
    -------
    SitingSolution
        ``exact`` (HiGHS, ``bound`` an upper bound on the covered weight);
        ``greedy`` is the same plan (no greedy preview honours the floors).

    Raises
    ------
    UnfairTarget
        A group's floor is above what every candidate together reaches in it,
        or no plan within ``p`` or the budget meets every floor.
    """
    import highspy

    started = time.perf_counter()
    matrix, w, c = _check_inputs(cover, weight, p, budget, cost)
    n, m = matrix.shape
    g = np.asarray(group, dtype=np.int64).ravel()
    floor = np.asarray(need, dtype=np.float64).ravel()
    if len(g) != n or (len(g) and (g.min() < 0 or g.max() >= len(floor))):
        raise InvalidInput("group must give each demand row an index into need", field="group")
    reach = np.diff(matrix.indptr) > 0
    reachable = np.bincount(g[reach], weights=w[reach], minlength=len(floor))
    short = [int(k) for k in np.flatnonzero(floor > reachable + _TOL)]
    if short:
        raise UnfairTarget(
            f"{len(short)} group(s) cannot reach their floor with these candidates", groups=short
        )
    rows = np.flatnonzero(reach & (w > 0))
    csr = matrix[rows].astype(np.float64).tocsr()
    rw, rg = w[rows], g[rows]
    n_y = len(rows)
    wanted = np.flatnonzero(floor > _TOL)
    # Columns: x_j (m, binary) then y_i (n_y, continuous in [0, 1]).
    # Rows: y_i - sum_j a_ij x_j <= 0; the p / budget limit; one floor per group wanted.
    coo = csr.tocoo()
    limit_coef = c if budget is not None else np.ones(m)
    group_row = np.full(len(floor), -1, dtype=np.int64)
    group_row[wanted] = n_y + 1 + np.arange(len(wanted))
    in_wanted = group_row[rg] >= 0
    r = np.concatenate([coo.row, np.arange(n_y), np.full(m, n_y), group_row[rg][in_wanted]])
    cl = np.concatenate([coo.col, m + np.arange(n_y), np.arange(m), m + np.flatnonzero(in_wanted)])
    v = np.concatenate([-np.ones(coo.nnz), np.ones(n_y), limit_coef, rw[in_wanted]])
    n_rows = n_y + 1 + len(wanted)
    a = sparse.csc_matrix((v, (r, cl)), shape=(n_rows, m + n_y))
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_ = m + n_y
    lp.num_row_ = n_rows
    lp.col_cost_ = np.concatenate([np.zeros(m), rw])
    lp.col_lower_ = np.zeros(m + n_y)
    lp.col_upper_ = np.ones(m + n_y)
    lp.row_lower_ = np.concatenate([np.full(n_y + 1, -inf), floor[wanted] * (1 - 1e-12)])
    lp.row_upper_ = np.concatenate(
        [
            np.zeros(n_y),
            [float(budget) if budget is not None else float(p or 0)],
            np.full(len(wanted), inf),
        ]
    )
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * m + [highspy.HighsVarType.kContinuous] * n_y
    solver: Any = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy ships no annotations
    solver.setOptionValue("output_flag", False)
    solver.setOptionValue("time_limit", max(float(time_limit_s), 0.01))
    solver.setOptionValue("mip_rel_gap", 0.0)
    solver.setOptionValue("random_seed", 0)
    solver.passModel(lp)
    solver.run()
    status = solver.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        raise UnfairTarget(
            "no plan within this number of stations or budget gives every district its "
            "minimum share; allow more stations or lower the minimum",
            groups=[int(k) for k in wanted],
        )
    info = solver.getInfo()
    if status == highspy.HighsModelStatus.kOptimal:
        label = "optimal"
    elif status == highspy.HighsModelStatus.kTimeLimit and math.isfinite(
        info.objective_function_value
    ):
        label = "time limit"
    else:
        raise InvalidInput(f"the solver stopped: {solver.modelStatusToString(status)}", field="p")
    x = np.asarray(solver.getSolution().col_value[:m])
    chosen = np.flatnonzero(x > 0.5)
    csc = matrix.astype(np.float64).tocsc()
    order, gains = _order_by_gain(csc, w, chosen)
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else math.inf
    objective = float(gains.sum())
    gap = 0.0 if label == "optimal" else (bound - objective) / bound if bound > 0 else math.inf
    exact = SiteChoice(
        order=order,
        gains=gains,
        objective=objective,
        total_weight=float(w.sum()),
        cost=float(c[order].sum()),
        status=label,
        method="highs",
        mip_gap=gap,
        seconds=time.perf_counter() - started,
        bound=objective if label == "optimal" else bound,
    )
    return SitingSolution(exact=exact, greedy=exact)
