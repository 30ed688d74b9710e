"""The API's parser and its OpenAPI document are one truth (issue 14, as schemathesis found).

- ``bbox=`` (present, empty): the schema's pattern refuses it, so does the parser;
- ``bbox=0,0,0,0``: valid by the schema, and a valid (zero-area) box;
- full-width digits and ``1_01.7``: not numbers for either;
- a single-valued parameter given twice: refused, naming it.
"""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.finder_fixtures import add_place


def bbox_pattern(client: FlaskClient) -> re.Pattern[str]:
    doc = client.get("/api/v1/openapi.json").get_json()
    return re.compile(doc["components"]["parameters"]["bbox"]["schema"]["pattern"])


@pytest.mark.parametrize("route", ["/api/v1/places", "/api/v1/places/clusters?zoom=4&"])
def test_empty_bbox_is_refused_by_schema_and_parser(client: FlaskClient, route: str) -> None:
    assert not bbox_pattern(client).fullmatch("")
    joiner = "" if route.endswith("&") else "?"
    response = client.get(f"{route}{joiner}bbox=")
    assert response.status_code == 400
    assert response.get_json()["field"] == "bbox"


def test_a_zero_area_bbox_is_valid_for_both(client: FlaskClient, db: Session) -> None:
    assert bbox_pattern(client).fullmatch("0,0,0,0")
    nowhere = client.get("/api/v1/places?bbox=0,0,0,0")
    assert nowhere.status_code == 200 and nowhere.get_json()["features"] == []
    on_it = add_place(db, 101.75, 36.5)
    add_place(db, 101.76, 36.5)
    point = client.get("/api/v1/places?bbox=101.75,36.5,101.75,36.5").get_json()
    assert [f["id"] for f in point["features"]] == [on_it]
    line = client.get("/api/v1/places?bbox=101.7,36.5,101.8,36.5").get_json()
    assert len(line["features"]) == 2
    inverted = client.get("/api/v1/places?bbox=101.8,36.5,101.7,36.6")
    assert inverted.status_code == 400 and inverted.get_json()["field"] == "bbox"


@pytest.mark.parametrize(
    "query",
    [
        "lon=%EF%BC%91%EF%BC%90%EF%BC%91&lat=36.6",  # １０１
        "lon=1_01.7&lat=36.6",
        "lon=101.7&lat=3_6.6",
    ],
)
def test_numbers_are_ascii_decimals_only(client: FlaskClient, query: str) -> None:
    response = client.get(f"/api/v1/places/nearest?{query}")
    assert response.status_code == 400
    assert response.get_json()["field"] in ("lon", "lat")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("/api/v1/places/nearest?lon=101.7&lon=102&lat=36.6", "lon"),
        ("/api/v1/places/nearest?lon=101.7&lat=36.6&lat=36.7", "lat"),
        ("/api/v1/places/nearest?lon=101.7&lat=36.6&k=3&k=4", "k"),
        ("/api/v1/places?limit=5&limit=6", "limit"),
        ("/api/v1/places?bbox=101,36,102,37&bbox=100,36,102,37", "bbox"),
        ("/api/v1/places?q=a&q=b", "q"),
        ("/api/v1/places/changes?since=2025-01-01T00:00:00Z&since=2024-01-01T00:00:00Z", "since"),
    ],
)
def test_a_single_valued_parameter_given_twice_is_refused(
    client: FlaskClient, query: str, field: str
) -> None:
    response = client.get(query)
    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == field and "given 2 times" in body["detail"]


def test_lists_may_still_repeat(client: FlaskClient, db: Session) -> None:
    add_place(db, 101.75, 36.5, kind="station", amenities=["water", "toilet"])
    response = client.get(
        "/api/v1/places?kind=station&kind=driver_home&amenity=water&amenity=toilet"
    )
    assert response.status_code == 200 and len(response.get_json()["features"]) == 1
