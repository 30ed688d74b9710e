"""Greedy maximal covering with swaps: the fast preview and the solver's warm start."""

from __future__ import annotations

import heapq
import time
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse

from geo.planning.site_model import _TOL, SiteChoice, _check_inputs, _reduce, _Reduced

# --------------------------------------------------------------------------- #
# Greedy plus swap
# --------------------------------------------------------------------------- #


def _greedy(
    csc: sparse.csc_matrix,
    weight: np.ndarray,
    cost: np.ndarray,
    *,
    p: int | None,
    budget: float | None,
) -> list[int]:
    """Lazy greedy (CELF): pick the best marginal gain (per cost with a budget)."""
    m = csc.shape[1]
    covered = np.zeros(csc.shape[0], dtype=bool)

    def gain(j: int) -> float:
        rows = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
        return float(weight[rows[~covered[rows]]].sum())

    by_cost = budget is not None
    limit = budget if budget is not None else np.inf
    start = np.asarray(csc.T @ weight).ravel()
    heap = [(-(start[j] / cost[j] if by_cost else start[j]), j) for j in range(m)]
    heapq.heapify(heap)
    chosen: list[int] = []
    spent = 0.0
    fresh = np.zeros(m, dtype=np.int64)  # iteration at which a gain was last computed
    step = 0
    while heap and (p is None or len(chosen) < p):
        neg, j = heapq.heappop(heap)
        if by_cost and spent + cost[j] > limit + _TOL:
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
        rows = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
        covered[rows] = True
        step += 1
    if by_cost:
        # The ratio rule alone can be arbitrarily bad; the best single
        # affordable site restores the classic guarantee (Khuller et al. 1999).
        affordable = np.flatnonzero(cost <= limit + _TOL)
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


def _swap(
    csr: sparse.csr_matrix,
    csc: sparse.csc_matrix,
    weight: np.ndarray,
    cost: np.ndarray,
    chosen: list[int],
    *,
    budget: float | None,
    max_rounds: int = 50,
) -> list[int]:
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
            rows_j = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
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
                counts[csc.indices[csc.indptr[k] : csc.indptr[k + 1]]] += 1
                spent += cost[k] - cost[j]
                base = np.asarray(csc.T @ (weight * (counts == 0))).ravel()
                improved = True
        if not improved:
            break
    return chosen


def _order_by_gain(
    csc: sparse.csc_matrix, weight: np.ndarray, chosen: Sequence[int] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Order a chosen set by greedy marginal gain; return (order, gains)."""
    remaining = list(dict.fromkeys(int(j) for j in chosen))
    covered = np.zeros(csc.shape[0], dtype=bool)
    order: list[int] = []
    gains: list[float] = []
    while remaining:
        best, best_gain = remaining[0], -1.0
        for j in remaining:
            rows = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
            g = float(weight[rows[~covered[rows]]].sum())
            if g > best_gain + _TOL or (abs(g - best_gain) <= _TOL and j < best):
                best, best_gain = j, g
        remaining.remove(best)
        order.append(best)
        gains.append(max(best_gain, 0.0))
        covered[csc.indices[csc.indptr[best] : csc.indptr[best + 1]]] = True
    return np.asarray(order, dtype=np.int64), np.asarray(gains, dtype=np.float64)


def greedy_sites(
    cover: sparse.spmatrix | ArrayLike,
    weight: ArrayLike,
    *,
    p: int | None = None,
    budget: float | None = None,
    cost: ArrayLike | None = None,
) -> SiteChoice:
    """Pick sites by lazy greedy then improve them by 1-swaps (a fast preview).

    Parameters are as for :func:`choose_sites_from_matrix`.
    """
    started = time.perf_counter()
    matrix, w, c = _check_inputs(cover, weight, p, budget, cost)
    reduced = _reduce(matrix, w, c)
    return _greedy_on(reduced, w, c, p=p, budget=budget, started=started)


def _greedy_on(
    reduced: _Reduced,
    w: np.ndarray,
    c: np.ndarray,
    *,
    p: int | None,
    budget: float | None,
    started: float,
) -> SiteChoice:
    csr = reduced.matrix
    csc = csr.tocsc()
    chosen = _greedy(csc, reduced.weight, reduced.cost, p=p, budget=budget)
    chosen = _swap(csr, csc, reduced.weight, reduced.cost, chosen, budget=budget)
    order, gains = _order_by_gain(csc, reduced.weight, chosen)
    original = reduced.columns[order]
    return SiteChoice(
        order=original,
        gains=gains,
        objective=float(gains.sum()),
        total_weight=float(w.sum()),
        cost=float(c[original].sum()),
        status="greedy",
        method="greedy+swap",
        seconds=time.perf_counter() - started,
    )
