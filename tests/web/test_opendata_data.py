"""Bulk snapshots (GeoParquet, GeoJSON, CSV, FlatGeobuf) read back and compared with PostGIS; /data."""

from __future__ import annotations

import csv
import json
import os
from datetime import date
from pathlib import Path

import geopandas as gpd
import pyarrow.parquet as pq
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.opendata.dictionary import COLUMN_NAMES
from geo.service.opendata import current_snapshot, write_snapshot
from tests.finder_fixtures import add_place
from tests.opendata_live import gdal


@pytest.fixture
def app_config(app_config: dict[str, object], tmp_path: Path) -> dict[str, object]:
    return {**app_config, "OPENDATA_DIR": str(tmp_path / "opendata")}


def places(db: Session) -> list[int]:
    return [
        add_place(
            db,
            101.7782215,
            36.6171483,
            name='=HYPERLINK("http://x")',
            amenities=["water", "toilet"],
            opening_hours="24/7",
            six_haves={"sign": True, "on_map": True, "layout": False},
            last_verified=date(2025, 5, 1),
            capacity=12,
            address="西宁市城东区",
        ),
        add_place(
            db,
            113.6654321,
            34.7579012,
            name="<img src=x onerror=alert(1)> {{7*191}}",
            kind="reading_nook",
            status="closed",
            amenities=[],
            opening_hours="Mo-Fr 09:00-17:00",
        ),
        add_place(db, 121.4737, 31.2304, name="+1 驿站", kind="driver_home", phone="-123"),
    ]


def db_rows(db: Session) -> dict[int, dict]:
    rows = db.execute(
        text(
            "SELECT id, name, kind, status, ST_X(geom) lon, ST_Y(geom) lat, "
            "amenities, capacity FROM places ORDER BY id"
        )
    ).mappings()
    return {r["id"]: dict(r) for r in rows}


def test_snapshot_files_read_back_equal_the_database(
    runner,
    yitu_cli,
    db: Session,  # noqa: ANN001
    app: Flask,
    tmp_path: Path,
) -> None:
    ids = places(db)
    result = runner.invoke(yitu_cli, ["export", "snapshot"])
    assert result.exit_code == 0, result.output
    folder, manifest = current_snapshot(tmp_path / "opendata")
    expected = db_rows(db)
    assert manifest["count"] == len(expected) == 3 and manifest["licence"] == "CC BY 4.0"

    # GeoParquet with GeoArrow point encoding, read by geopandas.
    parquet = folder / "places.parquet"
    geo_meta = json.loads(pq.read_schema(parquet).metadata[b"geo"])
    assert geo_meta["columns"]["geometry"]["encoding"] == "point"
    frame = gpd.read_parquet(parquet)
    assert frame.crs.to_epsg() == 4326
    assert list(frame["id"]) == sorted(expected)
    for _, row in frame.iterrows():
        want = expected[row["id"]]
        assert (row.geometry.x, row.geometry.y) == (want["lon"], want["lat"])
        assert row["name"] == want["name"] and row["status"] == want["status"]
        assert row["amenities"] == ";".join(want["amenities"])
    # DuckDB reads it too, without its spatial extension: GeoArrow points are x/y structs.
    import duckdb

    with duckdb.connect() as duck:
        duck_rows = duck.execute(
            "SELECT id, geometry.x, geometry.y, name FROM read_parquet(?) ORDER BY id",
            [str(parquet)],
        ).fetchall()
    assert duck_rows == [
        (i, expected[i]["lon"], expected[i]["lat"], expected[i]["name"]) for i in sorted(expected)
    ]
    first = frame.set_index("id").loc[ids[0]]
    assert first["open_24h"] and first["six_haves"] == "sign;on_map"
    assert first["capacity"] == 12 and first["last_verified"] == date(2025, 5, 1)

    # CSV: UTF-8 with BOM, formula-safe, every column of the dictionary.
    raw = (folder / "places.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with (folder / "places.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0].keys()) == COLUMN_NAMES
    by_id = {int(r["id"]): r for r in rows}
    assert by_id.keys() == expected.keys()
    for place_id, want in expected.items():
        assert float(by_id[place_id]["lon"]) == pytest.approx(want["lon"], abs=1e-9)
        assert float(by_id[place_id]["lat"]) == pytest.approx(want["lat"], abs=1e-9)
    assert by_id[ids[0]]["name"] == '\'=HYPERLINK("http://x")'
    assert by_id[ids[2]]["name"] == "'+1 驿站" and by_id[ids[2]]["phone"] == "'-123"
    assert by_id[ids[1]]["name"] == "<img src=x onerror=alert(1)> {{7*191}}"

    # GeoJSON: RFC 7946 with the licence as a foreign member.
    collection = json.loads((folder / "places.geojson").read_text(encoding="utf-8"))
    assert collection["licence"] == "CC BY 4.0" and len(collection["features"]) == 3
    feature = next(f for f in collection["features"] if f["id"] == ids[1])
    assert feature["geometry"]["coordinates"] == [113.6654321, 34.7579012]

    # FlatGeobuf, read by Debian's GDAL.
    info = gdal("ogrinfo", "-ro", "-al", "-so", str(folder / "places.fgb"))
    assert "Feature Count: 3" in info and "Geometry: Point" in info

    for entry in manifest["files"]:
        assert (folder / entry["name"]).stat().st_size == entry["bytes"]

    # Set-up runs it with --if-missing: an existing snapshot is kept.
    again = runner.invoke(yitu_cli, ["export", "snapshot", "--if-missing"])
    assert again.exit_code == 0 and "nothing to do" in again.output
    assert current_snapshot(tmp_path / "opendata")[0] == folder


def test_snapshots_swap_atomically_and_old_ones_go(db: Session, tmp_path: Path) -> None:
    add_place(db, 101.78, 36.62)
    out = tmp_path / "snapshots"
    write_snapshot(db, out, licence="CC BY 4.0", licence_url="")
    first = (out / "current").resolve()
    add_place(db, 101.79, 36.63)
    write_snapshot(db, out, licence="CC BY 4.0", licence_url="")
    second = (out / "current").resolve()
    assert first != second and first.exists()  # the previous one stays for running downloads
    assert current_snapshot(out)[1]["count"] == 2
    write_snapshot(db, out, licence="CC BY 4.0", licence_url="")
    assert not first.exists()
    assert (out / "current").is_symlink()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    assert sorted(os.listdir(second)) == [
        "manifest.json",
        "places.csv",
        "places.fgb",
        "places.geojson",
        "places.parquet",
    ]


def test_an_interrupted_snapshot_leaves_the_current_one(db: Session, tmp_path: Path) -> None:
    add_place(db, 101.78, 36.62)
    out = tmp_path / "snapshots"
    write_snapshot(db, out, licence="CC BY 4.0", licence_url="")
    before = (out / "current").resolve()
    add_place(db, 101.79, 36.63)
    written = []

    def interrupt_after_two(name: str) -> None:
        written.append(name)
        if len(written) == 2:
            raise KeyboardInterrupt  # Ctrl-C halfway through the files

    with pytest.raises(KeyboardInterrupt):
        write_snapshot(db, out, licence="CC BY 4.0", licence_url="", on_file=interrupt_after_two)
    assert (out / "current").resolve() == before
    assert current_snapshot(out)[1]["count"] == 1
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_data_page_lists_files_dictionary_and_licence(
    runner,
    yitu_cli,
    client: FlaskClient,  # noqa: ANN001
    db: Session,
) -> None:
    empty = client.get("/data").get_data(as_text=True)
    assert "yitu export snapshot" in empty
    places(db)
    assert runner.invoke(yitu_cli, ["export", "snapshot"]).exit_code == 0
    response = client.get("/data?lang=en")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for name in ("places.parquet", "places.geojson", "places.csv", "places.fgb"):
        assert f'href="/data/{name}"' in page
    assert "CC BY 4.0" in page and "https://creativecommons.org/licenses/by/4.0/" in page
    assert "<code>open_24h</code>" in page and "<code>amenities</code>" in page
    assert "<script" not in page
    with client.get("/data/places.csv") as download:
        assert download.status_code == 200 and download.data.startswith(b"\xef\xbb\xbf")
        assert download.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/data/../secret_key").status_code == 404
    assert client.get("/data/places.exe").status_code == 404
    with client.get("/data/manifest.json") as manifest:
        assert manifest.get_json()["count"] == 3


@pytest.fixture
def hostile_licence(app_config: dict[str, object]) -> dict[str, object]:
    app_config["OPENDATA_LICENCE"] = "<img src=x onerror=alert(1)>{{7*191}}"
    app_config["OPENDATA_LICENCE_URL"] = "javascript:alert(1)"
    return app_config


def test_the_licence_setting_is_escaped(hostile_licence, client: FlaskClient) -> None:  # noqa: ANN001
    page = client.get("/data").get_data(as_text=True)
    assert "<img src=x" not in page and "1337" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;{{7*191}}" in page
    assert 'href="javascript:' not in page


def test_another_licence_does_not_link_the_cc_by_deed(
    app_config: dict[str, object], client: FlaskClient
) -> None:
    client.application.config["OPENDATA_LICENCE"] = "ODbL 1.0"
    page = client.get("/data").get_data(as_text=True)
    assert "ODbL 1.0" in page and "creativecommons.org" not in page
