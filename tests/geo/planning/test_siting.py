"""Maximal covering: brute force on tiny instances, spopt on a mid-size one, adapters."""

from __future__ import annotations

import io
import itertools
import json
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from geo.errors import CRSMismatch, InvalidInput
from geo.planning.candidates import read_candidates
from geo.planning.mclp import choose_sites, choose_sites_from_matrix, cover_matrix
from geo.planning.siting import candidates_from_cells, plan_sites
from geo.planning.siting_export import write_sites_csv, write_sites_geojson
from web.planner_curves import curve_image, plot_curve

LON, LAT = 121.47, 31.23


def brute_force(
    cover: np.ndarray,
    weight: np.ndarray,
    *,
    p: int | None = None,
    budget: float | None = None,
    cost: np.ndarray | None = None,
) -> float:
    """Best covered weight over every subset (tiny instances only)."""
    m = cover.shape[1]
    cost = np.ones(m) if cost is None else cost
    best = 0.0
    for k in range(m + 1):
        for subset in itertools.combinations(range(m), k):
            chosen = list(subset)
            if p is not None and k > p:
                continue
            if budget is not None and cost[chosen].sum() > budget + 1e-9:
                continue
            value = float(weight[cover[:, chosen].any(axis=1)].sum()) if chosen else 0.0
            best = max(best, value)
    return best


def covered_by(cover: np.ndarray, weight: np.ndarray, chosen: np.ndarray) -> float:
    return float(weight[cover[:, chosen].any(axis=1)].sum()) if len(chosen) else 0.0


@pytest.mark.parametrize("seed", range(25))
def test_exact_equals_brute_force_with_p(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(3, 14)), int(rng.integers(2, 9))
    cover = rng.random((n, m)) < 0.3
    weight = rng.integers(0, 10, n).astype(float)
    p = int(rng.integers(1, m + 1))
    solution = choose_sites_from_matrix(sparse.csr_matrix(cover), weight, p=p)
    exact = solution.exact
    assert exact.status == "optimal"
    best = brute_force(cover, weight, p=p)
    assert exact.objective == pytest.approx(best)
    # The proof: the reported bound is never below the true optimum, and is met.
    assert exact.bound >= best - 1e-9
    assert exact.bound == pytest.approx(best)
    assert exact.mip_gap == 0.0
    assert len(exact.order) <= p
    # The reported objective is what the chosen sites really cover.
    assert covered_by(cover, weight, exact.order) == pytest.approx(exact.objective)
    assert exact.gains.sum() == pytest.approx(exact.objective)
    # Greedy order of a fixed set: marginal gains never grow (submodularity).
    assert np.all(np.diff(exact.gains) <= 1e-9)
    assert solution.greedy.objective <= exact.objective + 1e-9
    assert covered_by(cover, weight, solution.greedy.order) == pytest.approx(
        solution.greedy.objective
    )


@pytest.mark.parametrize("seed", range(15))
def test_exact_equals_brute_force_with_budget(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n, m = int(rng.integers(3, 14)), int(rng.integers(2, 9))
    cover = rng.random((n, m)) < 0.35
    weight = rng.integers(0, 10, n).astype(float)
    cost = rng.integers(1, 6, m).astype(float)
    budget = float(rng.integers(int(cost.min()), int(cost.sum()) + 1))
    solution = choose_sites_from_matrix(cover, weight, budget=budget, cost=cost)
    assert solution.exact.objective == pytest.approx(
        brute_force(cover, weight, budget=budget, cost=cost)
    )
    assert solution.exact.cost <= budget + 1e-9
    assert solution.greedy.cost <= budget + 1e-9


def dense_instance(n: int, m: int, *, seed: int) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Clustered demand and candidates, about 15 candidates per demand row at 1 km."""
    rng = np.random.default_rng(seed)
    side = np.sqrt(m * np.pi * 1.0 / 15)  # km: m candidates, 15 within 1 km of a point
    hubs = rng.uniform(0, side, (8, 2))
    demand = hubs[rng.integers(0, 8, n)] + rng.normal(0, side / 6, (n, 2))
    weight = rng.poisson(8, n).astype(float) + 1
    near = demand[rng.choice(n, m // 2, p=weight / weight.sum())] + rng.normal(0, 0.1, (m // 2, 2))
    candidates = np.vstack([near, rng.uniform(0, side, (m - m // 2, 2))])
    return cover_matrix(demand * 1000, candidates * 1000, radius_m=1000.0), weight


@pytest.mark.parametrize("seed", range(3))
def test_bound_holds_and_is_met_on_dense_instances(seed: int) -> None:
    # Dense reach (many candidates per row) is where the LP relaxation is
    # fractional; the answer must still be proven, and its bound must hold
    # against a second, independent run of HiGHS on the full model.
    cover, weight = dense_instance(600, 120, seed=seed)
    assert cover.nnz / cover.shape[0] > 8
    exact = choose_sites_from_matrix(cover, weight, p=6).exact
    assert exact.status == "optimal" and exact.mip_gap == 0.0
    assert exact.bound >= exact.objective - 1e-9
    assert covered_by(cover.toarray(), weight, exact.order) == pytest.approx(exact.objective)
    spopt_like = _plain_highs(cover.toarray(), weight, p=6)
    assert exact.objective == pytest.approx(spopt_like)
    assert exact.bound >= spopt_like - 1e-6


def _plain_highs(cover: np.ndarray, weight: np.ndarray, *, p: int) -> float:
    """The textbook model (one y per row, no reduction) through scipy's HiGHS."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    n, m = cover.shape
    objective = np.concatenate([np.zeros(m), -weight])
    rows = np.hstack([-cover.astype(float), np.eye(n)])
    limit = np.concatenate([np.ones(m), np.zeros(n)])[None, :]
    result = milp(
        objective,
        integrality=np.concatenate([np.ones(m), np.zeros(n)]),
        bounds=Bounds(0, 1),
        constraints=[LinearConstraint(rows, -np.inf, 0), LinearConstraint(limit, -np.inf, p)],
    )
    assert result.status == 0
    return float(-result.fun)


def test_no_time_means_no_proof() -> None:
    # With no time left for the LP, the greedy answer comes back unproven
    # (an infinite gap), never labelled optimal.
    cover, weight = dense_instance(3000, 400, seed=7)
    exact = choose_sites_from_matrix(cover, weight, p=20, time_limit_s=0.0).exact
    assert exact.status == "time limit"
    assert exact.mip_gap == float("inf")
    assert exact.objective > 0


def test_a_hand_solved_instance() -> None:
    # Three demand points; site 0 reaches A and B, site 1 reaches B and C, site 2 only C.
    cover = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1]], dtype=bool)
    weight = np.array([5.0, 1.0, 4.0])
    one = choose_sites_from_matrix(cover, weight, p=1).exact
    assert one.order.tolist() == [0] and one.objective == 6.0
    two = choose_sites_from_matrix(cover, weight, p=2).exact
    assert sorted(two.order.tolist()) in ([0, 1], [0, 2]) and two.objective == 10.0
    assert two.gains.tolist() == [6.0, 4.0]
    # With a budget, site 0 costing 3 and the others 1, budget 2 buys sites 1 and 2.
    priced = choose_sites_from_matrix(cover, weight, budget=2, cost=[3, 1, 1]).exact
    assert priced.order.tolist() == [1] and priced.objective == 5.0


def test_same_objective_as_spopt_mclp() -> None:
    import pulp
    from spopt.locate import MCLP

    rng = np.random.default_rng(42)
    demand = rng.uniform(0, 8000, (400, 2))
    candidates = rng.uniform(0, 8000, (80, 2))
    weight = rng.integers(1, 20, len(demand)).astype(float)
    distance = np.hypot(
        demand[:, None, 0] - candidates[None, :, 0], demand[:, None, 1] - candidates[None, :, 1]
    )
    with warnings.catch_warnings():
        # PuLP 3.3 warns about its own 4.0 API inside spopt; not our code.
        warnings.simplefilter("ignore", DeprecationWarning)
        model = MCLP.from_cost_matrix(distance, weight, service_radius=800, p_facilities=8)
        model = model.solve(pulp.PULP_CBC_CMD(msg=False))
        spopt_objective = float(pulp.value(model.problem.objective))
    cover = cover_matrix(demand, candidates, radius_m=800)
    ours = choose_sites_from_matrix(cover, weight, p=8)
    assert ours.exact.objective == pytest.approx(spopt_objective)
    # And the cover matrix agrees with the distance matrix spopt was given.
    assert np.array_equal(cover.toarray(), distance <= 800)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"p": 4}, "larger than the number of candidate sites"),
        ({"p": 0}, "at least 1"),
        ({"p": 1, "budget": 5.0}, "either p"),
        ({}, "either p"),
        ({"budget": 0.5, "cost": 1.0}, "below the cheapest"),
        ({"budget": 5.0, "cost": [1.0, -1.0, 1.0]}, "positive"),
    ],
)
def test_bad_siting_requests(kwargs: dict[str, object], message: str) -> None:
    cover = np.eye(3, dtype=bool)
    with pytest.raises(InvalidInput, match=message):
        choose_sites_from_matrix(cover, np.ones(3), **kwargs)  # type: ignore[arg-type]


def test_weights_must_match_rows() -> None:
    with pytest.raises(InvalidInput, match="weight has 2 values for 3"):
        choose_sites_from_matrix(np.eye(3, dtype=bool), np.ones(2), p=1)


def test_cover_matrix_is_inclusive_and_straight_line() -> None:
    cover = cover_matrix([[0, 0], [300, 400], [0, 501]], [[0, 0]], radius_m=500)
    assert cover.toarray().ravel().tolist() == [True, True, False]


# --------------------------------------------------------------------------- planner adapter


def grid_cells() -> pd.DataFrame:
    """A 5 x 5 grid of demand points 400 m apart around Shanghai, heavier in the middle."""
    lon, lat, weight = [], [], []
    for i in range(5):
        for j in range(5):
            lon.append(LON + i * 400 / 95_000)  # about 95 km per degree of lon here
            lat.append(LAT + j * 400 / 111_000)
            weight.append(10.0 if (i, j) == (2, 2) else 1.0)
    return pd.DataFrame({"lon": lon, "lat": lat, "weight": weight})


def test_plan_sites_holds_existing_stations_fixed() -> None:
    cells = grid_cells()
    existing = cells.iloc[[12]][["lon", "lat"]]  # a station already at the heavy centre
    candidates = cells[["lon", "lat"]].assign(id=[f"c{i}" for i in range(25)])
    result = plan_sites(cells, candidates, existing=existing, radius_m=450, p=2)
    assert result.base_share == pytest.approx(14 / 34)  # centre + 4 neighbours
    assert "c12" not in result.sites["id"].tolist()
    assert result.sites["order"].tolist() == [1, 2]
    assert result.curve["optimal"].iloc[0] == pytest.approx(result.base_share)
    assert result.final_share == pytest.approx(result.sites["covered_share"].iloc[-1])
    assert result.curve["stations"].tolist() == [0, 1, 2]
    assert result.summary()["status"] == "optimal"


def test_candidates_from_uncovered_cells_and_plots(tmp_path: Path) -> None:
    cells = grid_cells().assign(covered=False, h3=[f"h{i}" for i in range(25)])
    candidates = candidates_from_cells(cells, limit=5)
    assert len(candidates) == 5 and candidates["id"].iloc[0] == "h12"
    result = plan_sites(cells, candidates, radius_m=450, p=3)
    png = curve_image(result, fmt="png")
    assert png.startswith(b"\x89PNG")
    plot_curve(result, tmp_path / "curve.svg", fmt="svg")
    assert "<svg" in (tmp_path / "curve.svg").read_text()
    out = io.StringIO()
    assert write_sites_geojson(result, out) == len(result.sites)
    assert json.loads(out.getvalue())["features"][0]["properties"]["order"] == 1
    out = io.StringIO()
    write_sites_csv(result, out)
    assert out.getvalue().splitlines()[0].lstrip("\ufeff").startswith("order,id,name")


def test_only_useful_sites_are_returned() -> None:
    cells = grid_cells().iloc[[0]]
    candidates = pd.DataFrame({"lon": [LON, LON + 0.5], "lat": [LAT, LAT + 0.5]})
    result = plan_sites(cells, candidates, radius_m=300, p=2)
    assert len(result.sites) == 1
    assert any("only 1 sites add coverage" in n for n in result.notes)


def test_geodataframe_adapter_validates_crs() -> None:
    demand = gpd.GeoDataFrame(
        {"weight": [1.0, 2.0]}, crs=4326, geometry=gpd.points_from_xy([LON, LON + 0.01], [LAT, LAT])
    )
    candidates = gpd.GeoDataFrame(geometry=gpd.points_from_xy([LON], [LAT]), crs=4326)
    solution = choose_sites(demand, candidates, radius_m=500, p=1)
    assert solution.exact.objective == 1.0  # the second point is ~950 m east
    with pytest.raises(CRSMismatch):
        choose_sites(demand, candidates.to_crs(3857), radius_m=500, p=1)


def test_read_candidates_shanghai_shops(shared_data: Path) -> None:
    shops = read_candidates(shared_data / "shanghai-orders-2016" / "new_3.csv", crs="gcj02")
    assert len(shops) == 613
    assert shops["id"].iloc[0] == "S002"
    raw = pd.read_csv(shared_data / "shanghai-orders-2016" / "new_3.csv")
    shift = np.hypot(shops["lon"] - raw["Lng"], shops["lat"] - raw["Lat"])
    assert (shift > 0.001).all() and (shift < 0.01).all()  # GCJ-02 offset, a few hundred metres
