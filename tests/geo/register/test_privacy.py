"""k-anonymous H3 aggregation: what is published, what is withheld, what is refused."""

from __future__ import annotations

import h3
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.errors import InvalidInput, InvalidLocation
from geo.register import privacy

RES = privacy.DEFAULT_RESOLUTION
# Two neighbouring resolution-8 cells in Xining (centre lon 101.778, lat 36.617).
CELL_A = h3.latlng_to_cell(36.617, 101.778, RES)
CELL_B = next(c for c in h3.grid_ring(CELL_A, 2))


def points_in(cell: str, n: int) -> tuple[list[float], list[float]]:
    """``n`` points within a few centimetres of a cell's centre (so inside it)."""
    lat, lon = h3.cell_to_latlng(cell)
    offsets = np.linspace(-1e-6, 1e-6, n)
    return list(lon + offsets), list(lat - offsets)


def test_cells_under_k_are_withheld_and_the_rest_counted_exactly() -> None:
    lon_a, lat_a = points_in(CELL_A, 11)
    lon_b, lat_b = points_in(CELL_B, 10)
    result = privacy.aggregate_points(lon_a + lon_b, lat_a + lat_b)
    assert result.k == 11 and result.resolution == 8
    assert result.cells == (privacy.CellCount(CELL_A, 11),)
    assert result.has_suppressed is True
    assert result.published_total == 11


def test_threshold_is_inclusive_and_configurable() -> None:
    lon, lat = points_in(CELL_A, 7)
    assert privacy.aggregate_points(lon, lat, k=7).cells == (privacy.CellCount(CELL_A, 7),)
    assert privacy.aggregate_points(lon, lat, k=8).cells == ()
    assert privacy.aggregate_points(lon, lat, k=8).has_suppressed


def test_nothing_withheld_flag_is_false_when_every_cell_is_large() -> None:
    lon, lat = points_in(CELL_A, 12)
    assert privacy.aggregate_points(lon, lat).has_suppressed is False


def test_points_without_location_are_skipped() -> None:
    lon, lat = points_in(CELL_A, 11)
    result = privacy.aggregate_points([*lon, float("nan")], [*lat, float("nan")])
    assert result.cells == (privacy.CellCount(CELL_A, 11),)


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        ([float("inf")], [36.6]),
        ([101.7], [136.6]),
        ([36.6], [101.7]),  # swapped: lat out of range
    ],
)
def test_bad_coordinates_are_refused(lon: list[float], lat: list[float]) -> None:
    with pytest.raises(InvalidLocation):
        privacy.aggregate_points(lon, lat)


def test_arrays_of_different_length_are_refused() -> None:
    with pytest.raises(InvalidLocation, match="equal length"):
        privacy.aggregate_points([101.7, 101.8], [36.6])


@pytest.mark.parametrize("resolution", [5, 10, 15])
def test_resolutions_outside_the_allowed_set_are_refused(resolution: int) -> None:
    with pytest.raises(InvalidInput) as err:
        privacy.aggregate_points([101.7], [36.6], resolution=resolution)
    assert err.value.field == "resolution"


@pytest.mark.parametrize("k", [0, 1, 4])
def test_k_below_the_floor_is_refused(k: int) -> None:
    with pytest.raises(InvalidInput) as err:
        privacy.aggregate_points([101.7], [36.6], k=k)
    assert err.value.field == "k"


def test_precomputed_counts_are_merged_before_the_threshold() -> None:
    result = privacy.suppress_small_cells([(CELL_A, 6), (CELL_A, 5), (CELL_B, 3)])
    assert result.cells == (privacy.CellCount(CELL_A, 11),)
    assert result.has_suppressed


def test_precomputed_counts_must_share_the_resolution() -> None:
    parent = h3.cell_to_parent(CELL_A, 7)
    with pytest.raises(InvalidInput, match="resolution 7, expected 8"):
        privacy.suppress_small_cells([(CELL_A, 20), (parent, 20)])


def test_precomputed_counts_reject_garbage() -> None:
    with pytest.raises(InvalidInput, match="not an H3 cell"):
        privacy.suppress_small_cells([("nonsense", 20)])
    with pytest.raises(InvalidInput, match="negative"):
        privacy.suppress_small_cells([(CELL_A, -1)])


def test_geojson_has_closed_hexagons_in_lon_lat_order_and_only_published_cells() -> None:
    lon_a, lat_a = points_in(CELL_A, 11)
    lon_b, lat_b = points_in(CELL_B, 3)
    doc = privacy.aggregate_geojson(privacy.aggregate_points(lon_a + lon_b, lat_a + lat_b))
    assert doc["type"] == "FeatureCollection"
    assert doc["k"] == 11 and doc["resolution"] == 8 and doc["has_suppressed"] is True
    assert [f["properties"] for f in doc["features"]] == [{"cell": CELL_A, "count": 11}]
    ring = doc["features"][0]["geometry"]["coordinates"][0]
    assert len(ring) == 7 and ring[0] == ring[-1]
    assert all(100 < x < 103 and 35 < y < 38 for x, y in ring)  # lon first, then lat
    assert CELL_B not in str(doc)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(101.70, 101.86), st.floats(36.55, 36.70)), min_size=0, max_size=300
    ),
    st.integers(min_value=privacy.MIN_K, max_value=30),
)
def test_every_published_cell_has_at_least_k_points_and_its_true_count(
    points: list[tuple[float, float]], k: int
) -> None:
    lon = [p[0] for p in points]
    lat = [p[1] for p in points]
    result = privacy.aggregate_points(lon, lat, k=k)
    truth: dict[str, int] = {}
    for x, y in points:
        cell = h3.latlng_to_cell(y, x, RES)
        truth[cell] = truth.get(cell, 0) + 1
    assert all(c.count >= k for c in result.cells)
    assert {c.cell: c.count for c in result.cells} == {c: n for c, n in truth.items() if n >= k}
    assert result.has_suppressed == any(n < k for n in truth.values())
