"""geo.places.crs: WGS-84 / GCJ-02 / BD-09 conversions, metric CRS, CRS checks, lon/lat validation."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import prcoords
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyproj import CRS, Geod
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info
from shapely.geometry import Point

from geo.errors import CRSMismatch, InvalidInput, InvalidLocation
from geo.places import crs
from geo.places.vocabulary import CHINA_BBOX, SOURCE_CRSES

GEOD = Geod(ellps="WGS84")

# Published test vectors (lon, lat order here; the sources write lat, lon).
# googollee/eviltransform, python/test.py and go/transform_test.go (TESTS):
# wgsLat, wgsLng, gcjLat, gcjLng.
EVILTRANSFORM_WGS_GCJ = [
    # (wgs_lon, wgs_lat, gcj_lon, gcj_lat)
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # Beijing
]
# dromara/hutool, hutool-core/src/test/java/cn/hutool/core/util/CoordinateUtilTest.java
# (whose vectors come from wandergis/coordtransform): (lon, lat) in -> (lon, lat) out.
HUTOOL_WGS_GCJ = [((116.404, 39.915), (116.41024449916938, 39.91640428150164))]
HUTOOL_WGS_BD = [
    ((116.404, 39.915), (116.41662724378733, 39.922699552216216)),
    # checked by hutool against https://tool.lu/coordinate/
    ((122.99395597, 44.99804071), (123.00636516028885, 45.0063690918959)),
]
HUTOOL_GCJ_BD = [((116.404, 39.915), (116.41036949371029, 39.92133699351022))]


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Geodesic distances in metres on WGS-84."""
    _, _, dist = GEOD.inv(lon1, lat1, lon2, lat2)
    return np.asarray(dist)


def random_china(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    min_lon, min_lat, max_lon, max_lat = CHINA_BBOX
    return rng.uniform(min_lon, max_lon, n), rng.uniform(min_lat, max_lat, n)


# --------------------------------------------------------------------------
# Published reference points
# --------------------------------------------------------------------------


@pytest.mark.parametrize(("wgs_lon", "wgs_lat", "gcj_lon", "gcj_lat"), EVILTRANSFORM_WGS_GCJ)
def test_eviltransform_vectors_forward(wgs_lon, wgs_lat, gcj_lon, gcj_lat):
    lon, lat = crs.from_wgs84(wgs_lon, wgs_lat, crs="gcj02")
    assert lon == pytest.approx(gcj_lon, abs=1e-9)
    assert lat == pytest.approx(gcj_lat, abs=1e-9)


@pytest.mark.parametrize(("wgs_lon", "wgs_lat", "gcj_lon", "gcj_lat"), EVILTRANSFORM_WGS_GCJ)
def test_eviltransform_vectors_inverse_is_exact(wgs_lon, wgs_lat, gcj_lon, gcj_lat):
    lon, lat = crs.to_wgs84(gcj_lon, gcj_lat, crs="gcj02")
    # eviltransform's own "exact" inverse is held to 0.5 m; prcoords' to far less.
    assert metres(lon, lat, wgs_lon, wgs_lat) < 0.01


@pytest.mark.parametrize(("given", "expected"), HUTOOL_WGS_GCJ)
def test_hutool_wgs_to_gcj(given, expected):
    assert crs.from_wgs84(*given, crs="gcj02") == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(("given", "expected"), HUTOOL_WGS_BD)
def test_hutool_wgs_to_bd(given, expected):
    assert crs.from_wgs84(*given, crs="bd09") == pytest.approx(expected, abs=1e-9)
    back = crs.to_wgs84(*expected, crs="bd09")
    assert metres(*back, *given) < 0.05


@pytest.mark.parametrize(("given", "expected"), HUTOOL_GCJ_BD)
def test_hutool_gcj_to_bd_through_wgs(given, expected):
    # GCJ-02 -> BD-09 is WGS-84 -> GCJ-02 -> BD-09 with the first step undone.
    wgs = crs.to_wgs84(*given, crs="gcj02")
    assert crs.from_wgs84(*wgs, crs="bd09") == pytest.approx(expected, abs=1e-8)


def test_offsets_are_the_documented_size():
    """GCJ-02 moves points by 100-700 m in eastern China; BD-09 further."""
    # Zhengzhou, Shanghai, Guangzhou, Beijing, Chengdu (WGS-84).
    lon = np.array([113.62, 121.47, 113.26, 116.40, 104.07])
    lat = np.array([34.75, 31.23, 23.13, 39.90, 30.67])
    gcj = crs.from_wgs84_arrays(lon, lat, crs="gcj02")
    bd = crs.from_wgs84_arrays(lon, lat, crs="bd09")
    assert np.all((metres(lon, lat, *gcj) > 100) & (metres(lon, lat, *gcj) < 700))
    assert np.all(metres(*gcj, *bd) > 500)


# --------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_round_trip_scalar_under_one_metre(system):
    lon, lat = random_china(1000, seed=1)
    back = np.array(
        [crs.to_wgs84(*crs.from_wgs84(x, y, crs=system), crs=system) for x, y in zip(lon, lat)]
    )
    err = metres(lon, lat, back[:, 0], back[:, 1])
    assert err.max() < 1.0
    # The conversion really moved the points (a no-op would also round-trip).
    moved = np.array([crs.from_wgs84(x, y, crs=system) for x, y in zip(lon, lat)])
    assert metres(lon, lat, moved[:, 0], moved[:, 1]).min() > 10


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_round_trip_arrays_under_one_metre(system):
    lon, lat = random_china(1000, seed=2)
    there = crs.from_wgs84_arrays(lon, lat, crs=system)
    back = crs.to_wgs84_arrays(*there, crs=system)
    assert metres(lon, lat, *back).max() < 1.0
    assert metres(lon, lat, *there).min() > 10


def test_wgs84_is_identity():
    assert crs.to_wgs84(113.6, 34.7, crs="wgs84") == (113.6, 34.7)
    assert crs.from_wgs84(113.6, 34.7, crs="wgs84") == (113.6, 34.7)
    lon, lat = crs.to_wgs84_arrays([113.6], [34.7], crs="wgs84")
    assert lon.tolist() == [113.6] and lat.tolist() == [34.7]


# --------------------------------------------------------------------------
# Vectorized code equals prcoords
# --------------------------------------------------------------------------


def _prcoords_to_wgs(system: str, lon: float, lat: float) -> tuple[float, float]:
    """prcoords called directly, with its own China test, for the reference."""
    if system == "gcj02":
        if not prcoords.sanity_in_china_p(prcoords.Coords(lat, lon)):
            return lon, lat
        out = prcoords.gcj_wgs_bored((lat, lon))
    else:
        gcj = prcoords.bd_gcj((lat, lon))
        if prcoords.sanity_in_china_p(gcj):
            out = prcoords.bd_wgs_bored((lat, lon))
        else:
            out = prcoords.bd_gcj_bored((lat, lon))
    return out.lon, out.lat


def _prcoords_from_wgs(system: str, lon: float, lat: float) -> tuple[float, float]:
    inside = prcoords.sanity_in_china_p(prcoords.Coords(lat, lon))
    gcj = prcoords.wgs_gcj((lat, lon), False) if inside else prcoords.Coords(lat, lon)
    out = gcj if system == "gcj02" else prcoords.gcj_bd(gcj)
    return out.lon, out.lat


@pytest.fixture(scope="module")
def wide_points() -> tuple[np.ndarray, np.ndarray]:
    """Random points over and around China, including just outside prcoords' box."""
    rng = np.random.default_rng(7)
    lon = rng.uniform(60.0, 150.0, 3000)
    lat = rng.uniform(-10.0, 65.0, 3000)
    edges_lon = np.array([72.004, 72.0039, 137.8347, 137.8348, 100.0, 100.0])
    edges_lat = np.array([30.0, 30.0, 30.0, 30.0, 0.8293, 55.8272])
    return np.concatenate([lon, edges_lon]), np.concatenate([lat, edges_lat])


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_arrays_equal_prcoords_to_wgs(system, wide_points):
    lon, lat = wide_points
    got_lon, got_lat = crs.to_wgs84_arrays(lon, lat, crs=system)
    ref = np.array([_prcoords_to_wgs(system, x, y) for x, y in zip(lon, lat)])
    assert np.abs(got_lon - ref[:, 0]).max() < 1e-9
    assert np.abs(got_lat - ref[:, 1]).max() < 1e-9


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_arrays_equal_prcoords_from_wgs(system, wide_points):
    lon, lat = wide_points
    got_lon, got_lat = crs.from_wgs84_arrays(lon, lat, crs=system)
    ref = np.array([_prcoords_from_wgs(system, x, y) for x, y in zip(lon, lat)])
    assert np.abs(got_lon - ref[:, 0]).max() < 1e-9
    assert np.abs(got_lat - ref[:, 1]).max() < 1e-9


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_scalar_api_equals_array_api(system, wide_points):
    lon, lat = (a[::10] for a in wide_points)
    arr = crs.to_wgs84_arrays(lon, lat, crs=system)
    scalar = np.array([crs.to_wgs84(x, y, crs=system) for x, y in zip(lon, lat)])
    assert np.abs(arr[0] - scalar[:, 0]).max() < 1e-9
    assert np.abs(arr[1] - scalar[:, 1]).max() < 1e-9


def test_arrays_span_several_chunks():
    """More points than one internal chunk: every chunk is converted."""
    n = crs._CHUNK * 2 + 123
    lon, lat = random_china(n, seed=3)
    gcj = crs.from_wgs84_arrays(lon, lat, crs="gcj02")
    back = crs.to_wgs84_arrays(*gcj, crs="gcj02")
    assert metres(lon, lat, *gcj).min() > 10
    assert metres(lon, lat, *back).max() < 1.0


def test_arrays_keep_shape_and_inputs():
    lon = np.array([[113.6, 121.5], [114.0, 116.4]])
    lat = np.array([[34.7, 31.2], [22.5, 39.9]])
    lon_before, lat_before = lon.copy(), lat.copy()
    out_lon, out_lat = crs.to_wgs84_arrays(lon, lat, crs="gcj02")
    assert out_lon.shape == (2, 2) and out_lat.shape == (2, 2)
    assert np.array_equal(lon, lon_before) and np.array_equal(lat, lat_before)
    assert not np.array_equal(out_lon, lon)
    empty = crs.from_wgs84_arrays(np.array([]), np.array([]), crs="bd09")
    assert empty[0].shape == (0,) and empty[1].shape == (0,)


def test_nan_stays_nan_and_is_not_shifted():
    lon, lat = crs.to_wgs84_arrays([np.nan, 113.6], [34.7, np.nan], crs="gcj02")
    assert np.isnan(lon[0]) and lat[0] == 34.7
    assert lon[1] == 113.6 and np.isnan(lat[1])


# --------------------------------------------------------------------------
# Outside China
# --------------------------------------------------------------------------


def test_outside_china_gcj_is_not_shifted():
    paris = (2.3522, 48.8566)
    # No warning either: the suite turns warnings into errors.
    assert crs.from_wgs84(*paris, crs="gcj02") == paris
    assert crs.to_wgs84(*paris, crs="gcj02") == paris
    lon, lat = crs.to_wgs84_arrays([paris[0]], [paris[1]], crs="gcj02")
    assert (lon[0], lat[0]) == paris


def test_outside_china_bd09_applies_only_baidus_own_offset():
    paris = (2.3522, 48.8566)
    bd = crs.from_wgs84(*paris, crs="bd09")
    expected = prcoords.gcj_bd(prcoords.Coords(paris[1], paris[0]))
    assert bd == pytest.approx((expected.lon, expected.lat), abs=1e-12)
    assert crs.to_wgs84(*bd, crs="bd09") == pytest.approx(paris, abs=1e-7)


# --------------------------------------------------------------------------
# Bad arguments
# --------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["epsg:4326", "WGS-84", "", None])
def test_unknown_crs_is_rejected(bad):
    with pytest.raises(InvalidInput) as info:
        crs.to_wgs84(113.6, 34.7, crs=bad)
    assert info.value.field == "crs"
    assert "wgs84, gcj02, bd09" in str(info.value)


def test_crs_names_match_the_shared_vocabulary():
    for system in SOURCE_CRSES:
        assert crs.to_wgs84(113.6, 34.7, crs=system)
    assert crs.to_wgs84(113.6, 34.7, crs="GCJ02") == crs.to_wgs84(113.6, 34.7, crs="gcj02")


def test_array_shapes_must_match():
    with pytest.raises(InvalidInput, match="same shape"):
        crs.to_wgs84_arrays(np.zeros(3), np.zeros(2), crs="gcj02")


# --------------------------------------------------------------------------
# Metric CRS
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (113.62, 34.75, 32649),  # Zhengzhou
        (121.47, 31.23, 32651),  # Shanghai
        (87.62, 43.82, 32645),  # Urumqi
        (114.0, 22.5, 32650),  # on the 49/50 boundary: the eastern zone
        (-43.2, -22.9, 32723),  # Rio de Janeiro, southern hemisphere
    ],
)
def test_local_metric_crs_is_the_utm_zone(lon, lat, epsg):
    got = crs.local_metric_crs(lon, lat)
    assert got.to_epsg() == epsg
    assert got.axis_info[0].unit_name == "metre"
    candidates = query_utm_crs_info(
        datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat)
    )
    assert str(epsg) in {c.code for c in candidates}


def test_local_metric_crs_measures_correctly():
    """Two points 1 km apart measure 1 km in the chosen CRS."""
    lon, lat = 113.62, 34.75
    east_lon, east_lat, _ = GEOD.fwd(lon, lat, 90.0, 1000.0)
    metric = crs.local_metric_crs(lon, lat)
    pts = gpd.GeoSeries([Point(lon, lat), Point(east_lon, east_lat)], crs=4326).to_crs(metric)
    assert pts.iloc[0].distance(pts.iloc[1]) == pytest.approx(1000.0, rel=1e-3)


def test_local_metric_crs_rejects_bad_points():
    with pytest.raises(InvalidLocation):
        crs.local_metric_crs(float("nan"), 34.0)
    with pytest.raises(InvalidLocation):
        crs.local_metric_crs(113.0, 95.0)


# --------------------------------------------------------------------------
# require_same_crs
# --------------------------------------------------------------------------


def test_require_same_crs_passes_and_returns_the_crs():
    a = gpd.GeoSeries([Point(113.6, 34.7)], crs=4326)
    b = gpd.GeoDataFrame(geometry=[Point(113.7, 34.8)], crs="EPSG:4326")
    assert crs.require_same_crs(a, b) == CRS.from_epsg(4326)


def test_require_same_crs_names_both():
    a = gpd.GeoSeries([Point(113.6, 34.7)], crs=4326)
    b = a.to_crs(32649)
    with pytest.raises(CRSMismatch) as info:
        crs.require_same_crs(a, b)
    message = str(info.value)
    assert "EPSG:4326" in message and "EPSG:32649" in message


def test_require_same_crs_rejects_missing_crs():
    a = gpd.GeoSeries([Point(113.6, 34.7)], crs=4326)
    b = gpd.GeoSeries([Point(113.6, 34.7)])
    with pytest.raises(CRSMismatch, match="no CRS"):
        crs.require_same_crs(a, b)
    with pytest.raises(CRSMismatch, match="EPSG:4326"):
        crs.require_same_crs(b, a)


def test_require_same_crs_accepts_crs_objects():
    assert crs.require_same_crs(CRS.from_epsg(32649), "EPSG:32649").to_epsg() == 32649


# --------------------------------------------------------------------------
# validate_lonlat
# --------------------------------------------------------------------------


def test_validate_returns_floats():
    assert crs.validate_lonlat(113.6, 34.7) == (113.6, 34.7)
    assert crs.validate_lonlat("113.6", " 34.7 ") == (113.6, 34.7)
    assert crs.validate_lonlat(np.float32(113.5), 34) == (113.5, 34.0)
    assert all(type(v) is float for v in crs.validate_lonlat(113, 34))


def test_validate_swapped_message():
    with pytest.raises(InvalidLocation) as info:
        crs.validate_lonlat(34.7, 113.6)
    assert str(info.value) == "lat 113.6 is outside -90..90; were lon and lat swapped?"
    assert info.value.field == "lat"


def test_validate_swapped_within_ranges():
    # (80, 40) is in China; (40, 80) is a valid point in the Arctic Ocean.
    with pytest.raises(InvalidLocation) as info:
        crs.validate_lonlat(40.0, 80.0)
    assert "outside China" in str(info.value)
    assert str(info.value).endswith("were lon and lat swapped?")


@pytest.mark.parametrize(
    ("lon", "lat", "field", "words"),
    [
        (None, 34.7, "lon", "lon is missing"),
        (113.6, None, "lat", "lat is missing"),
        ("", 34.7, "lon", "lon is missing"),
        ("abc", 34.7, "lon", "lon 'abc' is not a number"),
        (113.6, "3 4", "lat", "lat '3 4' is not a number"),
        (float("nan"), 34.7, "lon", "lon must be a finite number"),
        (113.6, float("inf"), "lat", "lat must be a finite number"),
        ("1e400", 34.7, "lon", "lon must be a finite number"),
        (True, 34.7, "lon", "lon must be a number"),
        (200.0, 34.7, "lon", "lon 200 is outside -180..180"),
        (113.6, -95.0, "lat", "lat -95 is outside -90..90"),
        (2.35, 48.85, "lon", "outside China"),
        (113.6, 60.0, "lat", "outside China"),
    ],
)
def test_validate_errors(lon, lat, field, words):
    with pytest.raises(InvalidLocation) as info:
        crs.validate_lonlat(lon, lat)
    assert info.value.field == field
    assert words in str(info.value)
    assert str(info.value).startswith(field)


def test_validate_without_bbox_accepts_the_world():
    assert crs.validate_lonlat(2.35, 48.85, bbox=None) == (2.35, 48.85)
    with pytest.raises(InvalidLocation, match="outside -90..90$"):
        crs.validate_lonlat(34.7, 113.6, bbox=None)  # no bbox, so no swap hint


def test_validate_long_text_is_shortened():
    with pytest.raises(InvalidLocation) as info:
        crs.validate_lonlat("x" * 1000, 34.7)
    assert len(str(info.value)) < 80


@given(
    st.one_of(st.none(), st.floats(), st.text(max_size=20), st.integers()),
    st.one_of(st.none(), st.floats(), st.text(max_size=20), st.integers()),
)
def test_validate_raises_only_invalid_location(lon, lat):
    try:
        x, y = crs.validate_lonlat(lon, lat)
    except InvalidLocation as err:
        assert err.field in ("lon", "lat")
        assert str(err).startswith(err.field)
    else:
        min_lon, min_lat, max_lon, max_lat = CHINA_BBOX
        assert math.isfinite(x) and math.isfinite(y)
        assert min_lon <= x <= max_lon and min_lat <= y <= max_lat
