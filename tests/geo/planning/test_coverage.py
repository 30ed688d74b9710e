"""Coverage: hand-checkable cases in a metric CRS, the raster shortcut, gaps, exports."""

from __future__ import annotations

import io
import json
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from geo.activity.windows import parse_window
from geo.errors import CRSMismatch, InvalidInput
from geo.places.polygons import read_polygon
from geo.planning.coverage import analyze_coverage, coverage_frame, what_if
from geo.planning.coverage_dask import point_coverage_dask
from geo.planning.coverage_export import write_coverage_csv, write_coverage_geojson
from geo.planning.reach import covered_weight, covered_within, gap_clusters, nearest_station
from geo.planning.stations import StationFilter, select_stations, window_open_share

# UTM zone 51N (EPSG:32651) covers Shanghai; a base point in metres there.
UTM51 = "EPSG:32651"
X0, Y0 = 350_000.0, 3_460_000.0
# Shanghai centre (WGS-84) for H3 cells.
LON, LAT = 121.47, 31.23


# --------------------------------------------------------------------------- numeric core


def test_hand_checkable_points_at_500_m() -> None:
    station = [[0.0, 0.0]]
    demand = [[0.0, 0.0], [300.0, 400.0], [300.0, 400.1], [0.0, -500.0], [600.0, 0.0]]
    covered = covered_within(demand, station, radius_m=500)
    # 0 m, exactly 500 m (3-4-5 triangle), 500.08 m, 500 m, 600 m.
    assert covered.tolist() == [True, True, False, True, False]
    dist, idx = nearest_station(demand, station, max_m=500)
    assert dist[:2].tolist() == [0.0, 500.0]
    assert idx.tolist() == [0, 0, -1, 0, -1]
    done, total, share = covered_weight(covered, np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert (done, total) == (7.0, 15.0) and share == pytest.approx(7 / 15)


def test_two_stations_each_cover_their_side() -> None:
    stations = [[0.0, 0.0], [2000.0, 0.0]]
    demand = [[450.0, 0.0], [1000.0, 0.0], [1550.0, 0.0], [2000.0, 499.0]]
    assert covered_within(demand, stations, radius_m=500).tolist() == [True, False, True, True]
    assert nearest_station(demand, stations)[1].tolist() == [0, 0, 1, 1]


def test_raster_shortcut_equals_a_plain_kd_tree() -> None:
    rng = np.random.default_rng(7)
    stations = rng.uniform(0, 20_000, (300, 2))
    demand = rng.uniform(-1000, 21_000, (200_000, 2))
    # Points exactly on circles and at the centres, the hardest cases.
    angles = rng.uniform(0, 2 * np.pi, 2000)
    which = rng.integers(0, len(stations), 2000)
    ring = stations[which] + 500.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    demand = np.vstack([demand, ring, stations])
    got = covered_within(demand, stations, radius_m=500, workers=2)
    dist, _ = cKDTree(stations).query(demand, k=1)
    assert np.array_equal(got, dist <= 500.0)
    assert got[-len(stations) :].all()


def test_no_stations_or_no_demand() -> None:
    assert covered_within(np.empty((0, 2)), [[0, 0]], radius_m=500).shape == (0,)
    assert not covered_within([[0, 0]], np.empty((0, 2)), radius_m=500).any()
    dist, idx = nearest_station([[0, 0]], np.empty((0, 2)))
    assert np.isinf(dist[0]) and idx[0] == -1


@pytest.mark.parametrize("radius", [0, -5, float("nan"), "far", 1e9])
def test_bad_radius(radius: object) -> None:
    with pytest.raises(InvalidInput) as err:
        covered_within([[0, 0]], [[0, 0]], radius_m=radius)  # type: ignore[arg-type]
    assert err.value.field == "radius_m"


# --------------------------------------------------------------------------- GeoDataFrame adapter


def test_geodataframe_adapter_in_metres_and_in_degrees() -> None:
    offsets = [(0, 0), (300, 400), (600, 0), (1000, 1000)]
    demand = gpd.GeoDataFrame(
        {"weight": [1, 2, 3, 4]},
        crs=UTM51,
        geometry=gpd.points_from_xy([X0 + dx for dx, _ in offsets], [Y0 + dy for _, dy in offsets]),
    )
    stations = gpd.GeoDataFrame(geometry=gpd.points_from_xy([X0], [Y0]), crs=UTM51)
    out = coverage_frame(demand, stations, radius_m=500)
    assert out["covered"].tolist() == [True, True, False, False]
    assert out.loc[out["covered"], "weight"].sum() / out["weight"].sum() == pytest.approx(0.3)
    # The same points in WGS-84 are projected to the local UTM zone: same answer
    # (except the exact-boundary point, which may fall either side by rounding).
    wgs = coverage_frame(demand.to_crs(4326), stations.to_crs(4326), radius_m=500)
    assert wgs["covered"].tolist()[0::2] == [True, False]
    assert wgs["distance_m"].iloc[1] == pytest.approx(500, abs=1e-3)


def test_geodataframe_adapter_refuses_mixed_crs() -> None:
    demand = gpd.GeoDataFrame(geometry=gpd.points_from_xy([X0], [Y0]), crs=UTM51)
    stations = gpd.GeoDataFrame(geometry=gpd.points_from_xy([LON], [LAT]), crs=4326)
    with pytest.raises(CRSMismatch):
        coverage_frame(demand, stations, radius_m=500)


# --------------------------------------------------------------------------- cells and gaps


def ring_cells(k: int = 3) -> list[str]:
    centre = h3.latlng_to_cell(LAT, LON, 9)
    return [centre] + [c for d in range(1, k + 1) for c in sorted(h3.grid_ring(centre, d))]


def cells_frame(cells: list[str], weight: list[float] | None = None) -> pd.DataFrame:
    lat_lon = [h3.cell_to_latlng(c) for c in cells]
    return pd.DataFrame(
        {
            "cell": [h3.str_to_int(c) for c in cells],
            "lon": [p[1] for p in lat_lon],
            "lat": [p[0] for p in lat_lon],
            "points": 1,
            "weight": weight if weight is not None else [1.0] * len(cells),
            "rider_hours": pd.array([1] * len(cells), dtype="Int64"),
        }
    )


def station_at(lon: float, lat: float, **fields: object) -> dict[str, object]:
    return {
        "id": fields.pop("id", 1),
        "name": fields.pop("name", "站"),
        "kind": "station",
        "status": "active",
        "amenities": ("water",),
        "opening_hours": "24/7",
        "lon": lon,
        "lat": lat,
        **fields,
    }


def test_gap_clusters_follow_shared_edges() -> None:
    centre = h3.latlng_to_cell(LAT, LON, 9)
    neighbour = sorted(h3.grid_ring(centre, 1))[0]
    far = sorted(h3.grid_ring(centre, 5))[0]
    cells = np.array([h3.str_to_int(c) for c in (centre, neighbour, far)], dtype=np.int64)
    labels = gap_clusters(cells, np.array([True, True, True]))
    assert labels[0] == labels[1] != labels[2]
    labels = gap_clusters(cells, np.array([False, True, True]))
    assert labels[0] == -1 and labels[1] != labels[2]


def test_analyze_coverage_from_a_station_at_the_centre_cell() -> None:
    cells = ring_cells(3)  # 1 + 6 + 12 + 18 cells; centres about 300 m apart
    weights = [10.0] + [1.0] * (len(cells) - 1)
    frame = cells_frame(cells, weights)
    station = pd.DataFrame([station_at(frame["lon"][0], frame["lat"][0])])
    districts = ["A"] * 7 + ["B"] * (len(cells) - 7)
    # 350 m reaches the first ring (~300 m) but not the second (~520-600 m).
    result = analyze_coverage(
        frame, station, radius_m=350, districts=districts, selection=StationFilter()
    )
    assert result.cells["covered"].sum() == 7
    assert result.covered_share == pytest.approx(16 / (10 + 36))
    # Rings 2 and 3 are one contiguous gap, named after its district.
    assert len(result.gaps) == 1
    gap = result.gaps.iloc[0]
    assert (gap["name"], gap["cells"], gap["weight"]) == ("B #1", 30, 30.0)
    table = result.districts.set_index("district")
    assert table.loc["A", "covered_share"] == 1.0 and table.loc["B", "covered_share"] == 0.0
    ranked = result.uncovered()
    assert ranked["rank"].tolist() == list(range(1, 31))
    assert result.summary()["stations"] == 1


def test_station_filters_kind_amenity_status_and_hours() -> None:
    frame = cells_frame(ring_cells(0))
    lon, lat = frame["lon"][0], frame["lat"][0]
    stations = pd.DataFrame(
        [
            station_at(lon, lat, id=1, opening_hours="Mo-Fr 09:00-17:00"),
            station_at(lon, lat, id=2, opening_hours="Mo-Su 18:00-23:00"),
            station_at(lon, lat, id=3, opening_hours=None),
            station_at(lon, lat, id=4, status="closed"),
            station_at(lon, lat, id=5, kind="reading_nook"),
            station_at(lon, lat, id=6, amenities=("toilet",)),
            station_at(lon, lat, id=7, opening_hours="Mo-Fr 13:00-13:30"),
        ]
    )
    lunch = StationFilter(
        kinds=("station",), amenities=("water",), window=parse_window("weekday-lunch")
    )
    kept, dropped = select_stations(stations, lunch)
    assert kept["id"].tolist() == [1, 3]
    assert dropped["not active"] == 1 and dropped["other kind"] == 1
    assert dropped["missing amenity"] == 1
    assert dropped["closed during weekday-lunch"] == 2  # 2 (evenings) and 7 (20 % of lunch)
    strict = StationFilter(
        amenities=("water",), window=parse_window("weekday-lunch"), unknown_hours_open=False
    )
    assert select_stations(stations, strict)[0]["id"].tolist() == [1]
    night = StationFilter(window=parse_window("19:00-22:00"))
    assert select_stations(stations, night)[0]["id"].tolist() == [2, 3, 6]


def test_window_open_share_on_the_reference_week() -> None:
    lunch = parse_window("weekday-lunch")
    assert window_open_share("Mo-Fr 09:00-17:00", lunch) == pytest.approx(1.0)
    assert window_open_share("Mo-Fr 12:00-17:00", lunch) == pytest.approx(0.6)
    assert window_open_share("Sa,Su 09:00-17:00", lunch) == 0.0


def test_what_if_add_and_remove() -> None:
    cells = ring_cells(3)
    frame = cells_frame(cells)
    station = pd.DataFrame([station_at(frame["lon"][0], frame["lat"][0], id=9)])
    districts = ["A"] * len(cells)
    base = analyze_coverage(frame, station, radius_m=350, districts=districts)
    far = frame.iloc[-1]
    added = what_if(base, add=[(far["lon"], far["lat"])])
    assert added.covered_share > base.covered_share
    assert added.cells.loc[added.cells["cell"] == far["cell"], "covered"].all()
    removed = what_if(base, remove=["9"])
    assert removed.covered_share == 0.0 and removed.stations.empty
    with pytest.raises(InvalidInput, match="not among"):
        what_if(base, remove=["404"])


def test_exports_escape_formulas_and_write_valid_geojson() -> None:
    frame = cells_frame(ring_cells(2))
    station = pd.DataFrame([station_at(frame["lon"][0], frame["lat"][0])])
    hostile = '=HYPERLINK("http://x")'
    result = analyze_coverage(frame, station, radius_m=350, districts=[hostile] * len(frame))
    out = io.StringIO()
    rows = write_coverage_csv(result, out, layer="gaps")
    assert rows == 1
    text = out.getvalue()
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    out = io.StringIO()
    assert write_coverage_geojson(result, out, layer="gaps") == 1
    document = json.loads(out.getvalue())
    geometry = document["features"][0]["geometry"]
    assert geometry["type"] in ("Polygon", "MultiPolygon")
    assert document["summary"]["radius_m"] == 350
    out = io.StringIO()
    assert write_coverage_geojson(result, out, layer="cells") == len(frame)
    with pytest.raises(InvalidInput):
        write_coverage_csv(result, io.StringIO(), layer="everything")


def test_no_activity_is_a_clear_error() -> None:
    with pytest.raises(InvalidInput, match="no rider activity"):
        analyze_coverage(
            cells_frame([]).iloc[:0], pd.DataFrame([station_at(LON, LAT)]), districts=[]
        )


def test_read_polygon_converts_gcj02(tmp_path: Path) -> None:
    from geo.places.crs import from_wgs84

    square = [(121.40, 31.20), (121.50, 31.20), (121.50, 31.30), (121.40, 31.30)]
    gcj = [from_wgs84(x, y, crs="gcj02") for x, y in square]
    path = tmp_path / "area.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in [*gcj, gcj[0]]]]},
            }
        )
    )
    area = read_polygon(path, crs="gcj02")
    assert area.bounds == pytest.approx((121.40, 31.20, 121.50, 31.30), abs=1e-7)
    path.write_text(json.dumps({"type": "Point", "coordinates": [1, 2]}))
    with pytest.raises(InvalidInput, match="no Polygon"):
        read_polygon(path)


def test_dask_point_coverage_equals_single_machine() -> None:
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    rng = np.random.default_rng(2)
    points = pd.DataFrame(rng.uniform(0, 10_000, (50_000, 2)), columns=["x", "y"])
    points["weight"] = rng.integers(1, 5, len(points)).astype(float)
    stations = rng.uniform(0, 10_000, (40, 2))
    single = covered_within(points[["x", "y"]].to_numpy(), stations, radius_m=500)
    with (
        LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        spread = point_coverage_dask(
            dd.from_pandas(points, npartitions=7),
            stations,
            radius_m=500,
            scheduler=client,
            weight="weight",
        )
    assert spread["covered_points"] == int(single.sum())
    assert spread["covered"] == pytest.approx(points["weight"][single].sum())
    assert spread["points"] == len(points)
