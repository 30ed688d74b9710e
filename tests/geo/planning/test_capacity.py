"""Capacity: brute force over subsets, each served amount from an independent LP (scipy)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from geo.errors import InvalidInput
from geo.planning.capacity import capacitated_sites_from_matrix
from geo.planning.mclp import choose_sites_from_matrix


def served_by(
    cover: np.ndarray, weight: np.ndarray, capacity: np.ndarray, chosen: tuple[int, ...]
) -> float:
    """Most demand the fixed sites can serve: a transportation LP."""
    pairs = [(i, j) for i in range(cover.shape[0]) for j in chosen if cover[i, j]]
    if not pairs:
        return 0.0
    a_ub, b_ub = [], []
    for i in range(cover.shape[0]):
        a_ub.append([1.0 if r == i else 0.0 for r, _ in pairs])
        b_ub.append(weight[i])
    for j in chosen:
        a_ub.append([1.0 if c == j else 0.0 for _, c in pairs])
        b_ub.append(capacity[j])
    result = linprog(-np.ones(len(pairs)), A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
    assert result.status == 0
    return float(-result.fun)


@pytest.mark.parametrize("seed", range(20))
def test_capacity_plan_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(1300 + seed)
    n, m = int(rng.integers(3, 10)), int(rng.integers(2, 7))
    cover = rng.random((n, m)) < 0.4
    weight = rng.integers(0, 12, n).astype(float)
    capacity = rng.integers(1, 15, m).astype(float)
    p = int(rng.integers(1, m + 1))
    best = max(
        served_by(cover, weight, capacity, subset)
        for k in range(p + 1)
        for subset in itertools.combinations(range(m), k)
    )
    solution, assignment = capacitated_sites_from_matrix(cover, weight, capacity=capacity, p=p)
    exact = solution.exact
    assert exact.status == "optimal"
    assert exact.objective == pytest.approx(best)
    assert len(exact.order) <= p
    # The assignment is feasible: rows served at most once, sites within capacity,
    # only reachable pairs, only chosen sites.
    dense = assignment.toarray()
    assert np.all(dense.sum(axis=1) <= weight + 1e-7)
    assert np.all(dense.sum(axis=0) <= capacity + 1e-7)
    assert np.all(dense[~cover] == 0)
    unchosen = np.setdiff1d(np.arange(m), exact.order)
    assert np.all(dense[:, unchosen] <= 1e-9)


def test_capacity_changes_the_plan() -> None:
    # Row 0 (100 riders) is reached by sites 0 and 1; row 1 (30) only by site 2.
    # Without capacity one site at row 0 serves 100; with capacity 40 per site,
    # two sites at row 0 serve 80, or one there and site 2 serve 40 + 30 = 70.
    cover = np.array([[1, 1, 0], [0, 0, 1]], dtype=bool)
    weight = np.array([100.0, 30.0])
    plain = choose_sites_from_matrix(cover, weight, p=2).exact
    assert plain.objective == 130.0
    solution, _ = capacitated_sites_from_matrix(cover, weight, capacity=40.0, p=2)
    assert sorted(solution.exact.order.tolist()) == [0, 1]
    assert solution.exact.objective == pytest.approx(80.0)
    solution, _ = capacitated_sites_from_matrix(cover, weight, capacity=[40, 40, 35], p=1)
    assert solution.exact.objective == pytest.approx(40.0)


def test_capacity_must_be_positive() -> None:
    with pytest.raises(InvalidInput, match="capacities"):
        capacitated_sites_from_matrix(np.ones((1, 1), bool), [1.0], capacity=0, p=1)
