"""A floor per district: brute force on tiny cases, and a plan that changes because of it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from geo.planning.fair import UnfairTarget, fair_sites_from_matrix
from geo.planning.mclp import choose_sites_from_matrix


def brute_force(
    cover: np.ndarray, weight: np.ndarray, group: np.ndarray, need: np.ndarray, p: int
) -> float | None:
    """Best covered weight over subsets of at most p sites meeting every floor (None: none do)."""
    best = None
    for k in range(p + 1):
        for subset in itertools.combinations(range(cover.shape[1]), k):
            hit = cover[:, list(subset)].any(axis=1) if subset else np.zeros(len(weight), bool)
            per_group = np.bincount(group[hit], weights=weight[hit], minlength=len(need))
            if np.all(per_group >= need - 1e-9):
                value = float(weight[hit].sum())
                best = value if best is None else max(best, value)
    return best


@pytest.mark.parametrize("seed", range(30))
def test_fair_plan_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(900 + seed)
    n, m = int(rng.integers(4, 14)), int(rng.integers(2, 8))
    cover = rng.random((n, m)) < 0.3
    weight = rng.integers(1, 10, n).astype(float)
    group = rng.integers(0, 3, n)
    reach = cover.any(axis=1)
    reachable = np.bincount(group[reach], weights=weight[reach], minlength=3)
    need = np.floor(reachable * rng.uniform(0, 0.8, 3))
    p = int(rng.integers(1, m + 1))
    best = brute_force(cover, weight, group, need, p)
    if best is None:
        with pytest.raises(UnfairTarget, match="minimum share"):
            fair_sites_from_matrix(cover, weight, group=group, need=need, p=p)
        return
    exact = fair_sites_from_matrix(cover, weight, group=group, need=need, p=p).exact
    assert exact.status == "optimal"
    assert exact.objective == pytest.approx(best)
    hit = cover[:, exact.order].any(axis=1)
    assert np.all(np.bincount(group[hit], weights=weight[hit], minlength=3) >= need - 1e-9)
    assert len(exact.order) <= p


def test_the_floor_moves_a_site_to_the_quiet_district() -> None:
    # District 0 is busy (sites 0 and 1 reach it); district 1 is quiet (only site 2).
    cover = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=bool)
    weight = np.array([10.0, 9.0, 2.0])
    group = np.array([0, 0, 1])
    plain = choose_sites_from_matrix(cover, weight, p=2).exact
    assert sorted(plain.order.tolist()) == [0, 1]  # district 1 left at 0 %
    fair = fair_sites_from_matrix(cover, weight, group=group, need=[0.0, 2.0], p=2).exact
    assert sorted(fair.order.tolist()) == [0, 2] and fair.objective == 12.0


def test_a_floor_no_candidate_reaches_names_the_group() -> None:
    cover = np.array([[1, 0], [0, 0]], dtype=bool)
    with pytest.raises(UnfairTarget) as err:
        fair_sites_from_matrix(cover, [1.0, 5.0], group=[0, 1], need=[0.0, 1.0], p=1)
    assert err.value.groups == [1]
