"""The site-choice problem: inputs, checks, solutions and the reduction of dominated rows and columns."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from geo.errors import InvalidInput

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
        Proven relative gap ``(bound - objective) / bound`` (0 = proven optimal):
        no plan covers more than ``objective / (1 - mip_gap)``.
    seconds : float
        Wall time spent.
    bound : float
        Upper bound on the covered weight of any plan (NaN when not computed).
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
    bound: float = float("nan")

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


def _check_inputs(
    cover: Any, weight: Any, p: int | None, budget: float | None, cost: Any
) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    matrix = (
        sparse.csr_matrix(cover, dtype=bool)
        if not sparse.issparse(cover)
        else (cover.tocsr().astype(bool))
    )
    n, m = matrix.shape
    w = np.asarray(weight, dtype=np.float64).ravel()
    if len(w) != n:
        raise InvalidInput(f"weight has {len(w)} values for {n} demand rows", field="weight")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise InvalidInput("weights must be finite and not negative", field="weight")
    if (p is None) == (budget is None):
        raise InvalidInput(
            "give either p (number of new stations) or a budget, not both", field="p"
        )
    if m == 0:
        raise InvalidInput("there are no candidate sites to choose from", field="candidates")
    if p is not None:
        if isinstance(p, bool) or not isinstance(p, int | np.integer) or p < 1:
            raise InvalidInput(
                f"p must be a whole number of stations, at least 1; got {p!r}", field="p"
            )
        if p > m:
            raise InvalidInput(
                f"p = {p} is larger than the number of candidate sites ({m}); "
                f"choose p <= {m} or add candidates",
                field="p",
            )
    c = (
        np.ones(m)
        if cost is None
        else np.broadcast_to(np.asarray(cost, dtype=np.float64), (m,)).copy()
    )
    if not np.all(np.isfinite(c)) or np.any(c <= 0):
        raise InvalidInput("site costs must be positive numbers", field="cost")
    if budget is not None:
        if not math.isfinite(float(budget)) or float(budget) <= 0:
            raise InvalidInput(f"budget must be a positive amount; got {budget!r}", field="budget")
        if float(budget) < float(c.min()):
            raise InvalidInput(
                f"budget {budget:,.0f} is below the cheapest site ({c.min():,.0f})", field="budget"
            )
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
        if r >= 0 and np.array_equal(
            sub.indices[sub.indptr[i] : sub.indptr[i + 1]],
            sub.indices[sub.indptr[reps[r]] : sub.indptr[reps[r] + 1]],
        ):
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
    subset = (
        (i != j)
        & (overlap.data >= size[i])
        & (cost[j] <= cost[i])
        & ((size[j] > size[i]) | (cost[j] < cost[i]) | (j < i))
    )
    dominated = np.zeros(merged.shape[1], dtype=bool)
    dominated[i[subset]] = True
    kept = np.flatnonzero((size > 0) & ~dominated)
    return _Reduced(matrix=merged[:, kept].tocsr(), weight=merged_w, cost=cost[kept], columns=kept)
