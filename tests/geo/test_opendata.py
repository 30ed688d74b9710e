"""Pure open-data helpers: CRS axis order and Mercator, OGC parameters, tile math, bitmask."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pyproj import Transformer

from geo.errors import InvalidInput
from geo.opendata.crs import (
    CRS84,
    EPSG3857,
    EPSG4490,
    lonlat_to_mercator,
    mercator_to_lonlat,
    served_crs,
)
from geo.opendata.dictionary import COLUMN_NAMES, flat_record
from geo.opendata.ogc import parse_bbox, parse_datetime, parse_limit
from geo.opendata.tiles import (
    AMENITY_BITS,
    amenities_of,
    amenity_mask,
    check_tile,
    tile_lonlat_bounds,
    tile_of,
    tiles_covering,
)
from geo.places.vocabulary import AMENITIES


def test_mercator_matches_pyproj() -> None:
    to_3857 = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    for lon, lat in ((101.7782, 36.6171), (121.47, 31.23), (87.62, 43.83), (0.0, 0.0)):
        x, y = lonlat_to_mercator(lon, lat)
        assert (x, y) == pytest.approx(to_3857.transform(lon, lat), abs=1e-6)
        assert mercator_to_lonlat(x, y) == pytest.approx((lon, lat), abs=1e-10)


def test_served_crs_names() -> None:
    assert served_crs(None) is CRS84
    assert served_crs("EPSG:4490") is EPSG4490
    assert served_crs("[EPSG:3857]") is EPSG3857
    assert served_crs("http://www.opengis.net/def/crs/EPSG/0/4490") is EPSG4490
    assert EPSG4490.lat_first and not CRS84.lat_first
    with pytest.raises(InvalidInput) as err:
        served_crs("EPSG:4214", field="bbox-crs")
    assert err.value.field == "bbox-crs"


def test_bbox_in_each_crs_becomes_lon_lat() -> None:
    assert parse_bbox("100,30,101,31") == (100, 30, 101, 31)
    assert parse_bbox("30,100,31,101", bbox_crs=EPSG4490) == (100, 30, 101, 31)
    assert parse_bbox("100,30,0,101,31,9000") == (100, 30, 101, 31)
    x0, y0 = lonlat_to_mercator(100, 30)
    x1, y1 = lonlat_to_mercator(101, 31)
    assert parse_bbox(f"{x0},{y0},{x1},{y1}", bbox_crs=EPSG3857) == pytest.approx(
        (100, 30, 101, 31)
    )
    assert parse_bbox(None) is None
    with pytest.raises(InvalidInput) as err:  # found by schemathesis: exp() overflowed, a 500
        parse_bbox("0,0,1e300,1e300", bbox_crs=EPSG3857)
    assert err.value.field == "bbox"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1,2,3",
        "１００,30,101,31",
        "1_00,30,101,31",
        "inf,1,2,3",
        "0x10,1,2,3",
        "101,30,100,31",
        "100,31,101,30",
        "100,95,101,96",
        "100,30,101,31,",
    ],
)
def test_bad_bbox(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_bbox(text)
    assert err.value.field == "bbox"


def test_datetime_instants_and_intervals() -> None:
    t = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_datetime("2025-01-02T03:04:05Z") == (t, t)
    assert parse_datetime("2025-01-02T03:04:05Z/..") == (t, None)
    assert parse_datetime("../2025-01-02T03:04:05Z") == (None, t)
    local = parse_datetime("2025-01-02T11:04:05/2025-01-03")
    assert local[0] == t and local[1].utcoffset() == timedelta(hours=8)  # China time
    assert parse_datetime(None) is None
    for bad in ("", "tomorrow", "2025-01-03/2025-01-01", "1900-01-01T00:00:00Z"):
        with pytest.raises(InvalidInput):
            parse_datetime(bad)


def test_limit() -> None:
    assert parse_limit(None) == 100 and parse_limit("10000") == 10000
    for bad in ("0", "10001", "-1", "1e3", "１０"):
        with pytest.raises(InvalidInput):
            parse_limit(bad)


def test_amenity_bitmask_round_trip() -> None:
    assert AMENITY_BITS == AMENITIES and len(AMENITY_BITS) <= 31  # fits a signed 32-bit int
    assert amenity_mask([]) == 0
    assert amenity_mask(["water"]) == 1
    mask = amenity_mask(["toilet", "water", "charging"])
    assert amenities_of(mask) == ("water", "charging", "toilet")


def test_tile_math_is_consistent() -> None:
    for z in (0, 4, 8, 13, 18):
        x, y = tile_of(101.7782, 36.6171, z)
        west, south, east, north = tile_lonlat_bounds(z, x, y)
        assert west <= 101.7782 < east and south <= 36.6171 < north
    assert tile_lonlat_bounds(0, 0, 0) == pytest.approx((-180, -85.0511287798, 180, 85.0511287798))
    assert list(tiles_covering((73, 18, 135, 54), 4)) == [
        (4, x, y) for y in range(5, 8) for x in range(11, 15)
    ]
    for z, x, y, field in ((23, 0, 0, "z"), (2, 4, 0, "x"), (2, 0, -1, "y")):
        with pytest.raises(InvalidInput) as err:
            check_tile(z, x, y)
        assert err.value.field == field


def test_flat_record_follows_the_dictionary() -> None:
    record = flat_record(
        {
            "id": 1,
            "amenities": ["water", "toilet"],
            "opening_hours": "24/7",
            "six_haves": {"sign": True, "layout": False, "on_map": True},
            "lon": 101.0,
            "lat": 36.0,
        }
    )
    assert tuple(record) == COLUMN_NAMES
    assert record["amenities"] == "water;toilet" and record["open_24h"] is True
    assert record["six_haves"] == "sign;on_map"
