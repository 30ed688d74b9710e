"""The demo city of Xining: shaped on the unions' figures, inside its districts, labelled."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from geo.errors import LedgerError
from geo.places.demo import DEMO_FILE, DEMO_SOURCE, load_demo_places
from geo.places.districts import assign_districts
from geo.places.vocabulary import (
    AMENITIES,
    BUILD_MODES,
    HOST_TYPES,
    KINDS,
    SIX_HAVE_KEYS,
    STATUSES,
    PlaceRecord,
)

ROOT = Path(__file__).resolve().parents[3]
XINING_DISTRICTS = {
    "城中区",
    "城东区",
    "城西区",
    "城北区",
    "湟中区",
    "大通回族土族自治县",
    "湟源县",
}


@pytest.fixture(scope="module")
def collection() -> dict:
    return json.loads(DEMO_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def places() -> list[PlaceRecord]:
    return load_demo_places()


def _of_kind(places: list[PlaceRecord], kind: str) -> list[PlaceRecord]:
    return [p for p in places if p.kind == kind]


def test_stations_match_the_unions_figures(places):
    stations = _of_kind(places, "station")
    assert len(stations) == 28
    assert Counter(p.build_mode for p in stations) == {"self_built": 10, "co_built": 18}
    assert {p.district for p in stations} == XINING_DISTRICTS
    assert any(p.name.startswith("西宁市工人文化宫") for p in stations)
    # A few are not open: realistic ledgers have suspended and planned ones.
    statuses = Counter(p.status for p in stations)
    assert statuses["suspended"] >= 1 and statuses["planned"] >= 1
    assert statuses["active"] >= 22


def test_breakfast_points_reading_nooks_and_driver_home(places):
    breakfast = _of_kind(places, "breakfast_point")
    assert len(breakfast) == 18
    assert {p.district for p in breakfast} == {"城中区"}
    assert all(p.host_type == "restaurant" and "meals" in p.amenities for p in breakfast)
    # Breakfast is early: every breakfast point opens at 6 in the morning.
    assert all(re.search(r"(?<!\d)0?6:[03]0-", p.opening_hours_text) for p in breakfast)

    nooks = _of_kind(places, "reading_nook")
    assert 6 <= len(nooks) <= 8
    assert all("reading" in p.amenities for p in nooks)
    station_positions = {(p.lon, p.lat) for p in _of_kind(places, "station")}
    inside = [p for p in nooks if (p.lon, p.lat) in station_positions]
    assert 3 <= len(inside) < len(nooks)  # some inside stations, some on their own

    homes = _of_kind(places, "driver_home")
    assert len(homes) == 1
    assert homes[0].opening_hours_text == "24小时"
    assert {"shower", "heating", "hot_water"} <= set(homes[0].amenities)
    assert "公路" in homes[0].address


def test_every_place_lies_in_the_district_it_names(places):
    lon = np.array([p.lon for p in places])
    lat = np.array([p.lat for p in places])
    found = assign_districts(lon, lat)
    assert found["district"].tolist() == [p.district for p in places]
    assert found["adcode"].tolist() == [p.adcode for p in places]
    assert set(found["city"]) == {"西宁市"}
    assert all(p.ledger_district == p.district for p in places)


def test_urban_points_stay_in_the_built_up_valley(places):
    # The four urban districts reach into the mountains; the demo keeps
    # their places within 10 km of the city centre (大十字, 101.78 E 36.62 N),
    # the drivers' home on the road north being the farthest.
    urban = [p for p in places if p.district in {"城中区", "城东区", "城西区", "城北区"}]
    for p in urban:
        dx = (p.lon - 101.78) * 111.3 * np.cos(np.radians(36.62))
        dy = (p.lat - 36.62) * 111.3
        assert np.hypot(dx, dy) < 10.0, p.name


def test_every_place_is_labelled_as_demo(collection, places):
    assert collection["is_demo"] is True
    assert "演示数据" in collection["demo_notice"]
    for feature in collection["features"]:
        props = feature["properties"]
        assert props["is_demo"] is True
        assert "虚构" in props["demo_notice"] and "not a real station" in props["demo_notice"]
    for p in places:
        assert p.is_demo is True
        assert p.source == DEMO_SOURCE
        assert p.name.endswith("（演示）")
        assert p.name_en.endswith("(demo)")
        assert "演示地址" in p.address
        assert p.station_no.startswith("XN-DEMO-")
        assert p.external_id.startswith("demo-xining-")


def test_phone_numbers_are_obviously_fake(places):
    phones = [p.phone for p in places]
    assert all(re.fullmatch(r"0971-0000\d{4}", phone) for phone in phones)
    assert len(set(phones)) == len(phones)


def test_fields_use_the_shared_vocabularies(places):
    assert len({p.external_id for p in places}) == len(places)
    for p in places:
        assert p.kind in KINDS and p.status in STATUSES and p.host_type in HOST_TYPES
        assert p.build_mode is None or p.build_mode in BUILD_MODES
        assert set(p.amenities) <= set(AMENITIES) and "heating" in p.amenities
        assert set(p.six_haves) == set(SIX_HAVE_KEYS)
        assert p.opening_hours_text and p.opening_hours_text.strip()
        assert p.capacity is not None and 1 <= p.capacity <= 40
        assert p.source_crs == "wgs84"
        assert (p.province, p.city) == ("青海省", "西宁市")
        assert p.managing_union and p.managing_union.endswith("总工会")
    assert len({p.opening_hours_text for p in places}) >= 10  # varied, as ledgers are


def test_geojson_properties_are_placerecord_fields(collection):
    fields = set(PlaceRecord.__dataclass_fields__)
    for feature in collection["features"]:
        assert feature["geometry"]["type"] == "Point"
        assert set(feature["properties"]) - fields == {"demo_notice"}
        assert feature["id"] == feature["properties"]["external_id"]


def test_make_demo_is_deterministic(tmp_path):
    out = tmp_path / "xining.geojson"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_demo.py"), "--out", str(out)],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    assert out.read_bytes() == DEMO_FILE.read_bytes()


def test_loader_refuses_a_feature_not_marked_as_demo(tmp_path, collection):
    changed = json.loads(json.dumps(collection))
    changed["features"][3]["properties"]["is_demo"] = False
    path = tmp_path / "not_demo.geojson"
    path.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(LedgerError, match="feature 4"):
        load_demo_places(path)


def test_loader_says_where_the_file_should_be(tmp_path):
    with pytest.raises(FileNotFoundError, match="data/demo"):
        load_demo_places(tmp_path / "missing.geojson")


def test_readme_says_it_is_authored_demo_data():
    text = (DEMO_FILE.parent / "README.md").read_text(encoding="utf-8")
    for needed in ("authored", "fictional", "make_demo.py", "28", "18", "10 self-built"):
        assert needed in text
