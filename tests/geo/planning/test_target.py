"""Fewest stations for a target share: brute force on tiny cases, spopt's LSCP at 100 %."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from scipy import sparse

from geo.errors import InvalidInput
from geo.planning.mclp import cover_matrix
from geo.planning.target import fewest_sites_from_matrix


def brute_force(cover: np.ndarray, weight: np.ndarray, need: float, cost: np.ndarray) -> float:
    """Cheapest subset reaching ``need`` (tiny instances only)."""
    m = cover.shape[1]
    best = np.inf
    for k in range(1, m + 1):
        for subset in itertools.combinations(range(m), k):
            chosen = list(subset)
            if float(weight[cover[:, chosen].any(axis=1)].sum()) >= need - 1e-9:
                best = min(best, float(cost[chosen].sum()))
    return best


@pytest.mark.parametrize("seed", range(25))
def test_fewest_sites_equal_brute_force(seed: int) -> None:
    rng = np.random.default_rng(500 + seed)
    n, m = int(rng.integers(3, 14)), int(rng.integers(2, 9))
    cover = rng.random((n, m)) < 0.3
    weight = rng.integers(0, 10, n).astype(float)
    reachable = float(weight[cover.any(axis=1)].sum())
    if reachable == 0:
        cover[0, 0], weight[0] = True, 1.0
        reachable = float(weight[cover.any(axis=1)].sum())
    need = float(rng.uniform(0.2, 1.0)) * reachable
    cost = np.ones(m) if seed % 2 else rng.integers(1, 6, m).astype(float)
    solution = fewest_sites_from_matrix(
        sparse.csr_matrix(cover), weight, target_weight=need, cost=cost
    )
    exact = solution.exact
    assert exact.status == "optimal"
    assert exact.cost == pytest.approx(brute_force(cover, weight, need, cost))
    chosen = exact.order
    # What the chosen sites really reach meets the target.
    assert float(weight[cover[:, chosen].any(axis=1)].sum()) >= need - 1e-9
    assert exact.objective == pytest.approx(float(weight[cover[:, chosen].any(axis=1)].sum()))
    assert exact.bound == pytest.approx(exact.cost)
    # The greedy preview also meets the target, at no lower cost.
    greedy = solution.greedy
    assert float(weight[cover[:, greedy.order].any(axis=1)].sum()) >= need - 1e-9
    assert greedy.cost >= exact.cost - 1e-9


def test_a_hand_solved_target() -> None:
    # Site 0 reaches A (5) and B (1); site 1 reaches B and C (4); site 2 only C.
    cover = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1]], dtype=bool)
    weight = np.array([5.0, 1.0, 4.0])
    assert fewest_sites_from_matrix(cover, weight, target_weight=6).exact.order.tolist() == [0]
    both = fewest_sites_from_matrix(cover, weight, target_weight=9).exact
    assert len(both.order) == 2 and both.objective == 10.0


def test_unreachable_target_is_refused_with_the_most_possible() -> None:
    cover = np.array([[1, 0], [0, 0]], dtype=bool)
    with pytest.raises(InvalidInput, match=r"more than every candidate together reaches \(5\.0\)"):
        fewest_sites_from_matrix(cover, np.array([5.0, 7.0]), target_weight=6)
    with pytest.raises(InvalidInput, match="positive"):
        fewest_sites_from_matrix(cover, np.array([5.0, 7.0]), target_weight=0)


def test_full_target_equals_spopt_lscp() -> None:
    import pulp
    from spopt.locate import LSCP

    rng = np.random.default_rng(3)
    demand = rng.uniform(0, 3000, (120, 2))
    candidates = np.vstack(
        [demand[rng.choice(120, 30, replace=False)], rng.uniform(0, 3000, (20, 2))]
    )
    cover = cover_matrix(demand, candidates, radius_m=600.0)
    reached = np.asarray(cover.sum(axis=1)).ravel() > 0
    demand, cover = demand[reached], cover[reached]
    weight = np.ones(len(demand))
    ours = fewest_sites_from_matrix(cover, weight, target_weight=float(len(demand))).exact
    distance = np.hypot(
        demand[:, None, 0] - candidates[None, :, 0], demand[:, None, 1] - candidates[None, :, 1]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LSCP.from_cost_matrix(distance, service_radius=600.0)
        model = model.solve(pulp.PULP_CBC_CMD(msg=False))
    spopt_count = int(round(pulp.value(model.problem.objective)))
    assert ours.status == "optimal"
    assert len(ours.order) == spopt_count
    assert ours.objective == pytest.approx(len(demand))
