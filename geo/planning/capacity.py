"""Maximal covering with station capacity: a station serves at most its capacity per peak hour.

Plain maximal covering counts every rider within reach of a chosen site as
served, however many there are.  Here demand ``w_i`` (riders in the peak
hour of the window) is split among the chosen sites that reach it, and a
site ``j`` serves at most ``capacity_j`` of it (spopt#415 asks for this;
spopt has no such model).  Solved exactly with HiGHS:

    max  sum z_ij
    s.t. sum_j z_ij <= w_i            (a rider is served once)
         sum_i z_ij <= capacity_j x_j (a closed site serves nobody)
         sum_j x_j <= p,   x binary,  z >= 0 on reachable pairs only.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse

from geo.errors import InvalidInput
from geo.planning.mclp import DEFAULT_TIME_LIMIT_S
from geo.planning.site_model import SiteChoice, SitingSolution, _check_inputs


def capacitated_sites_from_matrix(
    cover: sparse.spmatrix | ArrayLike,
    weight: ArrayLike,
    *,
    capacity: ArrayLike,
    p: int,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> tuple[SitingSolution, sparse.csr_matrix]:
    """Choose at most ``p`` sites serving the most peak-hour demand within their capacity.

    Parameters
    ----------
    cover : scipy.sparse matrix or array_like of bool, shape (n, m)
        ``cover[i, j]`` is True when candidate ``j`` reaches demand ``i``.
    weight : array_like of float, shape (n,)
        Demand in the peak hour (people), not negative.
    capacity : float or array_like, shape (m,), keyword-only
        People a site can serve in that hour (> 0).
    p : int, keyword-only
        Sites to choose at most.
    time_limit_s : float
        HiGHS time limit.

    Returns
    -------
    (SitingSolution, scipy.sparse.csr_matrix)
        ``exact``: sites ordered by the demand each serves (``gains``),
        ``objective`` the demand served, ``bound`` HiGHS's bound; ``greedy``
        is the same plan.  The matrix (n x m) is the assignment: how much of
        row ``i`` site ``j`` serves.

    Raises
    ------
    InvalidInput
        Shapes disagree, capacities are not positive, or ``p`` is invalid.
    """
    import highspy

    started = time.perf_counter()
    matrix, w, _ = _check_inputs(cover, weight, p, None, None)
    n, m = matrix.shape
    cap = np.broadcast_to(np.asarray(capacity, dtype=np.float64), (m,)).copy()
    if not np.all(np.isfinite(cap)) or np.any(cap <= 0):
        raise InvalidInput("capacities must be positive numbers of people", field="capacity")
    coo = matrix.tocoo()
    pairs = len(coo.row)
    # Columns: x_j (m), then z_k for each reachable pair k = (row_k, col_k).
    # Rows: n demand rows, m capacity rows, one p row.
    rows = np.concatenate([coo.row, n + coo.col, n + np.arange(m), np.full(m, n + m)])
    cols = np.concatenate([m + np.arange(pairs), m + np.arange(pairs), np.arange(m), np.arange(m)])
    vals = np.concatenate([np.ones(pairs), np.ones(pairs), -cap, np.ones(m)])
    a = sparse.csc_matrix((vals, (rows, cols)), shape=(n + m + 1, m + pairs))
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_ = m + pairs
    lp.num_row_ = n + m + 1
    lp.col_cost_ = np.concatenate([np.zeros(m), np.ones(pairs)])
    lp.col_lower_ = np.zeros(m + pairs)
    lp.col_upper_ = np.concatenate([np.ones(m), w[coo.row]])
    lp.row_lower_ = np.full(n + m + 1, -inf)
    lp.row_upper_ = np.concatenate([w, np.zeros(m), [float(p)]])
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * m + (
        [highspy.HighsVarType.kContinuous] * pairs
    )
    solver: Any = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy ships no annotations
    solver.setOptionValue("output_flag", False)
    solver.setOptionValue("time_limit", max(float(time_limit_s), 0.01))
    solver.setOptionValue("mip_rel_gap", 0.0)
    solver.setOptionValue("random_seed", 0)
    solver.passModel(lp)
    solver.run()
    status = solver.getModelStatus()
    info = solver.getInfo()
    if status == highspy.HighsModelStatus.kOptimal:
        label = "optimal"
    elif status == highspy.HighsModelStatus.kTimeLimit:
        label = "time limit"
    else:
        raise InvalidInput(f"the solver stopped: {solver.modelStatusToString(status)}", field="p")
    values = np.asarray(solver.getSolution().col_value, dtype=np.float64)
    z = np.clip(values[m:], 0.0, None)
    assignment = sparse.csr_matrix((z, (coo.row, coo.col)), shape=(n, m))
    served = np.asarray(assignment.sum(axis=0)).ravel()
    chosen = np.flatnonzero(values[:m] > 0.5)
    order = chosen[np.argsort(-served[chosen], kind="stable")]
    gains = served[order]
    objective = float(gains.sum())
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else math.inf
    gap = 0.0 if label == "optimal" else (bound - objective) / bound if bound > 0 else math.inf
    exact = SiteChoice(
        order=order.astype(np.int64),
        gains=gains,
        objective=objective,
        total_weight=float(w.sum()),
        cost=float(len(order)),
        status=label,
        method="highs",
        mip_gap=gap,
        seconds=time.perf_counter() - started,
        bound=objective if label == "optimal" else bound,
    )
    return SitingSolution(exact=exact, greedy=exact), assignment
