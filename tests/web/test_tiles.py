"""Vector tiles /tiles/places/{z}/{x}/{y}.mvt, read back by GDAL's MVT driver, and PMTiles."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyogrio
import pytest
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.opendata.tiles import amenity_mask, tile_of
from geo.service.opendata import export_pmtiles
from tests.finder_fixtures import add_place
from tests.opendata_live import gdal

XINING = (101.7782, 36.6171)


def decode(data: bytes, z: int, x: int, y: int, tmp_path: Path) -> list[dict]:
    """Decode one tile with Debian's GDAL (MVT driver) into features with WGS-84 coordinates."""
    path = tmp_path / f"tile-{z}-{x}-{y}.mvt"
    path.write_bytes(data)
    out = gdal(
        "ogr2ogr",
        "-f",
        "GeoJSON",
        "-t_srs",
        "EPSG:4326",
        "/vsistdout/",
        "-oo",
        f"X={x}",
        "-oo",
        f"Y={y}",
        "-oo",
        f"Z={z}",
        f"MVT:{path}",
    )
    return json.loads(out)["features"]


def test_point_tile_carries_each_place_and_only_the_finder_attributes(
    client: FlaskClient, db: Session, tmp_path: Path
) -> None:
    a = add_place(
        db, 101.7782, 36.6171, kind="station", amenities=["water", "toilet"], opening_hours="24/7"
    )
    b = add_place(
        db,
        101.7790,
        36.6180,
        kind="reading_nook",
        amenities=[],
        opening_hours="Mo-Fr 09:00-17:00",
        status="suspended",
    )
    add_place(db, 101.7786, 36.6175, status="closed")  # gone from the map
    x, y = tile_of(*XINING, 13)
    response = client.get(f"/tiles/places/13/{x}/{y}.mvt")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.mapbox-vector-tile"
    features = {f["properties"]["mvt_id"]: f for f in decode(response.data, 13, x, y, tmp_path)}
    assert features.keys() == {a, b}
    assert set(features[a]["properties"]) == {
        "mvt_id",
        "kind",
        "status",
        "open24",
        "amenities",
        "count",
    }
    assert features[a]["properties"] | {"mvt_id": 0} == {
        "mvt_id": 0,
        "kind": "station",
        "status": "active",
        "open24": 1,
        "amenities": amenity_mask(["water", "toilet"]),
        "count": 1,
    }
    assert features[b]["properties"]["open24"] == 0
    assert features[b]["properties"]["amenities"] == 0
    assert features[b]["properties"]["status"] == "suspended"
    lon, lat = features[a]["geometry"]["coordinates"]
    assert abs(lon - 101.7782) < 2e-5 and abs(lat - 36.6171) < 2e-5  # a tile unit is ~1 m


def test_low_zoom_tiles_group_places_and_keep_the_count(
    client: FlaskClient, db: Session, tmp_path: Path
) -> None:
    for i in range(40):
        add_place(
            db,
            101.70 + i * 0.002,
            36.60 + (i % 5) * 0.002,
            kind="station" if i % 4 else "breakfast_point",
        )
    lone = add_place(db, 97.0, 37.5, kind="driver_home", amenities=["charging"])
    add_place(db, 101.71, 36.61, status="closed")
    x, y = tile_of(*XINING, 4)
    assert tile_of(97.0, 37.5, 4) == (x, y)
    features = decode(client.get(f"/tiles/places/4/{x}/{y}.mvt").data, 4, x, y, tmp_path)
    assert sum(f["properties"]["count"] for f in features) == 41
    assert len(features) < 10
    clusters = [f for f in features if f["properties"]["count"] > 1]
    assert clusters and all(f["properties"]["kind"] == "station" for f in clusters)
    assert all(
        "status" not in f["properties"] and "mvt_id" not in f["properties"] for f in clusters
    )
    [single] = [f for f in features if f["properties"].get("mvt_id") == lone]
    assert single["properties"]["amenities"] == amenity_mask(["charging"])


def test_a_live_tile_equals_the_same_tile_in_the_pmtiles_archive(
    client: FlaskClient, db: Session, tmp_path: Path
) -> None:
    from pmtiles.reader import MmapSource, Reader

    for i in range(30):
        add_place(db, 101.7 + i * 0.01, 36.6 + i * 0.003)
    add_place(db, 113.66, 34.75)
    archive = tmp_path / "places.pmtiles"
    result = export_pmtiles(db, archive, max_zoom=13)
    assert result["tiles"] > 14 and archive.stat().st_size == result["bytes"]
    with archive.open("rb") as f:
        reader = Reader(MmapSource(f))
        header = reader.header()
        assert (header["min_zoom"], header["max_zoom"]) == (0, 13)
        assert reader.metadata()["vector_layers"][0]["id"] == "places"
        for z in (0, 4, 8, 11, 13):
            x, y = tile_of(*XINING, z)
            live = client.get(f"/tiles/places/{z}/{x}/{y}.mvt").data
            assert live and gzip.decompress(reader.get(z, x, y)) == live, z
        assert reader.get(13, 0, 0) is None
    # Another client reads the archive: GDAL's PMTiles driver (GDAL >= 3.8, bundled by pyogrio).
    frame = pyogrio.read_dataframe(archive, layer="places", ZOOM_LEVEL="13")
    with_ids = db.execute(text("SELECT id FROM places WHERE status <> 'closed'")).scalars()
    assert sorted(frame["mvt_id"]) == sorted(with_ids)
    assert (frame["count"] == 1).all()


def test_export_pmtiles_command(runner, yitu_cli, db: Session, tmp_path: Path) -> None:  # noqa: ANN001
    add_place(db, *XINING)
    archive = tmp_path / "out" / "china.pmtiles"
    result = runner.invoke(yitu_cli, ["export", "pmtiles", str(archive), "--max-zoom", "6"])
    assert result.exit_code == 0, result.output
    assert archive.read_bytes()[:7] == b"PMTiles"
    assert not list(archive.parent.glob(".*tmp*"))


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/tiles/places/23/0/0.mvt", "z"),
        ("/tiles/places/4/16/0.mvt", "x"),
        ("/tiles/places/4/0/16.mvt", "y"),
    ],
)
def test_tiles_outside_the_pyramid_are_problem_details(
    client: FlaskClient, path: str, field: str
) -> None:
    response = client.get(path)
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert response.get_json()["field"] == field
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_empty_tile_cors_and_etag(client: FlaskClient, db: Session) -> None:
    add_place(db, *XINING)
    empty = client.get("/tiles/places/13/0/0.mvt")
    assert empty.status_code == 200 and empty.data == b""
    x, y = tile_of(*XINING, 10)
    first = client.get(f"/tiles/places/10/{x}/{y}.mvt")
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in first.headers
    again = client.get(
        f"/tiles/places/10/{x}/{y}.mvt", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304
    tilejson = client.get("/tiles/places.json").get_json()
    assert tilejson["tiles"][0].endswith("/tiles/places/{z}/{x}/{y}.mvt")
    assert tilejson["amenity_bits"][0] == "water"
