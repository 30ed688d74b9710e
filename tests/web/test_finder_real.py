"""The finder on real data: the imported Zhengzhou stations, and the Xining demo city."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.db.imports import import_ledger, write_places
from geo.places.demo import load_demo_places
from geo.places.ledger import Report
from geo.places.rows import ImportOptions, finish_places

SOURCE = "test:zhengzhou"


@pytest.fixture
def zhengzhou(db: Session, shared_data: Path) -> list[dict]:
    """Import the 82 real Zhengzhou stations (GCJ-02 ledger) into the test transaction."""
    path = shared_data / "zhengzhou-stations" / "stations.json"
    report = import_ledger(db, path, ImportOptions(kind="station", crs="gcj02", source=SOURCE))
    assert report.counts["inserted"] == 82
    db.flush()
    return json.loads(path.read_text(encoding="utf-8"))


def brute_force(db: Session, lon: float, lat: float, k: int) -> list[int]:
    rows = db.execute(
        text(
            "SELECT id FROM places WHERE status = 'active' ORDER BY "
            "ST_Distance(geog, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography), id LIMIT :k"
        ),
        {"lon": lon, "lat": lat, "k": k},
    )
    return [r[0] for r in rows]


def test_nearest_on_zhengzhou_equals_brute_force(
    client: FlaskClient, db: Session, zhengzhou: list[dict]
) -> None:
    points = [(113.6654, 34.7579), (113.55, 34.82), (113.02, 34.75), (113.73, 34.53)]
    for lon, lat in points:
        body = client.get(f"/api/v1/places/nearest?lon={lon}&lat={lat}&k=10").get_json()
        assert [f["id"] for f in body["features"]] == brute_force(db, lon, lat, 10)
        distances = [f["properties"]["distance_m"] for f in body["features"]]
        assert distances == sorted(distances)


def test_amap_link_gives_back_the_ledgers_gcj02(
    client: FlaskClient, db: Session, zhengzhou: list[dict]
) -> None:
    # The ledger was looked up on Amap (GCJ-02); stored as WGS-84; the Amap
    # link must point at the very spot the union looked up.
    first = zhengzhou[0]
    place_id = db.execute(
        text("SELECT id FROM places WHERE source = :s AND name = :n"),
        {"s": SOURCE, "n": first["name"]},
    ).scalar_one()
    page = client.get(f"/places/{place_id}").get_data(as_text=True)
    href = html.unescape(re.search(r'href="([^"]+)"[^>]*class="nav-amap"', page).group(1))
    lon, lat = map(float, parse_qs(urlsplit(href).query)["to"][0].split(",")[:2])
    assert abs(lon - first["lng"]) < 2e-6 and abs(lat - first["lat"]) < 2e-6
    assert first["name"] in html.unescape(page)


def test_city_views_and_clusters(client: FlaskClient, db: Session, zhengzhou: list[dict]) -> None:
    embed = client.get("/embed?city=郑州市")
    assert embed.status_code == 200
    src = html.unescape(
        re.search(r'<script src="(/maps/embed.js\?[^"]+)"', embed.get_data(as_text=True)).group(1)
    )
    bbox = parse_qs(urlsplit(src).query)["bbox"][0]
    body = client.get(f"/api/v1/places/clusters?bbox={bbox}&zoom=9").get_json()
    assert sum(f["properties"]["count"] for f in body["features"]) == 82
    builder = client.get("/embed/builder").get_data(as_text=True)
    assert "郑州市 (82)" in builder


def test_demo_city_xining(client: FlaskClient, db: Session) -> None:
    report = Report(source="demo")
    records = load_demo_places()
    rows = finish_places(list(enumerate(records, start=1)), report)
    write_places(db, rows, report)
    db.flush()
    city = records[0].city
    assert client.get(f"/embed?city={city}").status_code == 200
    near = client.get(f"/api/v1/places/nearest?lon={records[0].lon}&lat={records[0].lat}&k=3")
    features = near.get_json()["features"]
    assert features and all(f["properties"]["is_demo"] for f in features)
    page = client.get(features[0]["properties"]["url"].replace("http://localhost", ""))
    text_ = page.get_data(as_text=True)
    assert "demo-notice" in text_ and "演示" in text_
