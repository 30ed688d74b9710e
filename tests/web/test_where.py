"""Issue 12, no location: "search a place" finds every district of China by name."""

from __future__ import annotations

from collections import Counter

from flask.testing import FlaskClient

from geo.places.areas import districts_geodataframe


def test_every_district_is_found_by_its_name(client: FlaskClient) -> None:
    districts = districts_geodataframe()
    counts = Counter(districts["district"])
    checked = 0
    for row in districts.itertuples():
        # A name shared by several districts (城中区) needs its city: "西宁市城中区".
        query = row.district if counts[row.district] == 1 else f"{row.city}{row.district}"
        body = client.get("/where.json", query_string={"q": query}).get_json()
        assert body is not None and body["adcode"] in (row.adcode, row.city_adcode), query
        if body["adcode"] == row.adcode:
            west, south, east, north = body["bbox"]
            assert west <= body["lon"] <= east and south <= body["lat"] <= north
            checked += 1
    # A few districts share their name with their own city (东莞市): the city answers.
    assert checked >= len(districts) - 10


def test_where_labels_and_refusals(client: FlaskClient) -> None:
    body = client.get("/where.json?q=武侯区").get_json()
    assert body["label"] == "成都市武侯区" and body["level"] == "district"
    assert 103.9 < body["lon"] < 104.1 and 30.5 < body["lat"] < 30.7
    ambiguous = client.get("/where.json?q=城中区").get_json()
    assert ambiguous["found"] is False and "西宁" in ambiguous["message"]
    assert client.get("/where.json?q=不存在的地方").get_json()["found"] is False
    assert client.get("/where.json").status_code == 400
