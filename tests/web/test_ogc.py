"""OGC API - Features under /ogc, proven with GDAL's OAPIF driver against a real server.

The GDAL tests run Debian's ``ogrinfo``/``ogr2ogr`` (installed by
``scripts/setup.sh test``) against the app served on a free 127.0.0.1 port,
with committed places that the fixture removes afterwards.
"""

from __future__ import annotations

import json
import math
import sqlite3
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from tests.finder_fixtures import add_place
from tests.opendata_live import NEW, OLD, Live, gdal, serve

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


@pytest.fixture(scope="module")
def live(database_url: str, engine: Engine) -> Iterator[Live]:
    with serve(database_url, engine, n=300) as running:
        yield running


def db_points(
    engine: Engine, where: str = "TRUE", **params: object
) -> dict[int, tuple[float, float]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT id, ST_X(geom), ST_Y(geom) FROM places WHERE {where}"), params
        )
        return {int(r[0]): (float(r[1]), float(r[2])) for r in rows}


def gpkg_points(path: Path, layer: str) -> dict[int, tuple[float, float]]:
    """Read fid and point coordinates from a GeoPackage with sqlite3 (GPKG binary header + WKB)."""
    import struct

    with sqlite3.connect(path) as conn:
        rows = conn.execute(f'SELECT fid, geom FROM "{layer}"').fetchall()
    out = {}
    for fid, blob in rows:
        flags = blob[3]
        envelope = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[(flags >> 1) & 7]
        wkb = blob[8 + envelope :]
        order = "<" if wkb[0] == 1 else ">"
        x, y = struct.unpack(order + "dd", wkb[5:21])
        out[int(fid)] = (x, y)
    return out


def get_json(url: str) -> tuple[dict, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Accept": "application/geo+json"})
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request) as response:
        return json.loads(response.read()), dict(response.headers)


# ---------------------------------------------------------------- GDAL, a client we did not write


def test_ogrinfo_lists_every_collection(live: Live) -> None:
    out = gdal("ogrinfo", "-ro", "-q", f"OAPIF:{live.url}/ogc")
    for name in ("places", "station", "reading_nook", "breakfast_point", "driver_home"):
        assert f": {name} (" in out, out
    summary = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{live.url}/ogc", "station")
    stations = len(db_points(live.engine, "kind = 'station'"))
    assert f"Feature Count: {stations}" in summary


@pytest.mark.parametrize("layer", ["places", "driver_home"])
def test_ogr2ogr_copies_a_collection_exactly(live: Live, tmp_path: Path, layer: str) -> None:
    out = tmp_path / f"{layer}.gpkg"
    # A small page size makes GDAL follow many next links.
    gdal(
        "ogr2ogr",
        "-f",
        "GPKG",
        "-preserve_fid",
        "-oo",
        "PAGE_SIZE=70",
        str(out),
        f"OAPIF:{live.url}/ogc",
        layer,
    )
    copied = gpkg_points(out, layer)
    expected = (
        db_points(live.engine)
        if layer == "places"
        else db_points(live.engine, "kind = :k", k=layer)
    )
    assert len(expected) >= 70
    assert copied.keys() == expected.keys()
    for place_id, (lon, lat) in expected.items():
        x, y = copied[place_id]
        assert abs(x - lon) <= 1e-7 and abs(y - lat) <= 1e-7, (place_id, x, y, lon, lat)


def test_gdal_bbox_filter_returns_the_postgis_set(live: Live, tmp_path: Path) -> None:
    west, south, east, north = 100.0, 25.0, 121.5, 40.0
    out = tmp_path / "bbox.gpkg"
    gdal(
        "ogr2ogr",
        "-f",
        "GPKG",
        "-preserve_fid",
        "-spat",
        str(west),
        str(south),
        str(east),
        str(north),
        str(out),
        f"OAPIF:{live.url}/ogc",
        "places",
    )
    expected = db_points(
        live.engine,
        "ST_Intersects(geom, ST_MakeEnvelope(:w, :s, :e, :n, 4326))",
        w=west,
        s=south,
        e=east,
        n=north,
    )
    assert 0 < len(expected) < len(db_points(live.engine))
    assert gpkg_points(out, "places").keys() == expected.keys()


def test_gdal_attribute_filter_is_sent_to_the_server(live: Live, tmp_path: Path) -> None:
    out = tmp_path / "active.gpkg"
    gdal(
        "ogr2ogr",
        "-f",
        "GPKG",
        "-preserve_fid",
        "-where",
        "status = 'active'",
        str(out),
        f"OAPIF:{live.url}/ogc",
        "station",
    )
    expected = db_points(live.engine, "kind = 'station' AND status = 'active'")
    assert gpkg_points(out, "station").keys() == expected.keys()


def test_gdal_reads_the_mercator_answer_in_metres(live: Live, tmp_path: Path) -> None:
    # GDAL 3.6's OAPIF driver predates Part 2 (crs=); its GeoJSON driver reads
    # the same URL, and the metres must equal PostGIS's ST_Transform.
    url = f"{live.url}/ogc/collections/reading_nook/items?limit=1000&crs={EPSG}3857"
    out = tmp_path / "m.gpkg"
    gdal("ogr2ogr", "-f", "GPKG", "-a_srs", "EPSG:3857", "-nln", "m", str(out), url)
    with live.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT ST_X(ST_Transform(geom, 3857)), ST_Y(ST_Transform(geom, 3857)) "
                "FROM places WHERE kind = 'reading_nook'"
            )
        ).all()
    expected = sorted((round(x, 2), round(y, 2)) for x, y in rows)
    copied = sorted((round(x, 2), round(y, 2)) for x, y in gpkg_points(out, "m").values())
    assert copied == expected


# ---------------------------------------------------------------- the protocol over HTTP


def test_landing_conformance_and_api(live: Live) -> None:
    landing, headers = get_json(f"{live.url}/ogc")
    rels = {link["rel"]: link["href"] for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels.keys()
    assert headers["Access-Control-Allow-Origin"] == "*"
    conformance, _ = get_json(rels["conformance"])
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conformance["conformsTo"]
    api, _ = get_json(rels["service-desc"])
    assert api["openapi"].startswith("3.0")
    assert "/collections/{collectionId}/items" in api["paths"]


def test_collections_describe_extent_and_crs(live: Live) -> None:
    body, _ = get_json(f"{live.url}/ogc/collections")
    by_id = {c["id"]: c for c in body["collections"]}
    assert list(by_id) == ["places", "station", "reading_nook", "breakfast_point", "driver_home"]
    places = by_id["places"]
    assert places["storageCrs"] == CRS84
    assert {CRS84, EPSG + "4490", EPSG + "3857"} <= set(places["crs"])
    with live.engine.connect() as conn:
        box = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                "FROM (SELECT ST_Extent(geom) e FROM places) s"
            )
        ).one()
    assert places["extent"]["spatial"]["bbox"][0] == pytest.approx(list(box))
    assert places["extent"]["temporal"]["interval"][0] == [
        "2024-03-01T04:00:00Z",
        "2025-09-01T04:00:00Z",
    ]
    [licence] = [link for link in places["links"] if link["rel"] == "license"]
    assert licence["title"] == "CC BY 4.0" and licence["href"].endswith("/data")


def test_next_and_prev_links_walk_the_pages(live: Live) -> None:
    first, _ = get_json(f"{live.url}/ogc/collections/places/items?limit=40")
    assert first["numberMatched"] == len(db_points(live.engine))
    links = {link["rel"]: link["href"] for link in first["links"]}
    assert "prev" not in links
    second, _ = get_json(links["next"])
    assert "numberMatched" not in second  # counted once, on the first page
    back_links = {link["rel"]: link["href"] for link in second["links"]}
    back, _ = get_json(back_links["prev"])
    assert [f["id"] for f in back["features"]] == [f["id"] for f in first["features"]]
    ids = [f["id"] for f in first["features"]] + [f["id"] for f in second["features"]]
    assert ids == sorted(ids) and len(set(ids)) == 80


def test_datetime_filters_on_updated_at(live: Live) -> None:
    for value, where in (
        ("2024-03-01T04:00:00Z", "updated_at = :old"),
        ("2025-01-01T00:00:00Z/..", "updated_at >= '2025-01-01T00:00:00Z'"),
        ("../2024-12-31T00:00:00+08:00", "updated_at <= '2024-12-31T00:00:00+08:00'"),
        ("2024-01-01T00:00:00Z/2026-01-01T00:00:00Z", "TRUE"),
    ):
        body, _ = get_json(
            f"{live.url}/ogc/collections/places/items?limit=1000&datetime="
            + urllib.request.quote(value)
        )
        expected = db_points(live.engine, where, old=OLD)
        assert {f["id"] for f in body["features"]} == expected.keys(), value
    assert NEW > OLD


def test_kind_status_amenity_filters(live: Live) -> None:
    body, _ = get_json(
        f"{live.url}/ogc/collections/places/items?limit=1000"
        "&kind=station,driver_home&status=active&amenity=water,toilet"
    )
    expected = db_points(
        live.engine,
        "kind IN ('station', 'driver_home') AND status = 'active' "
        "AND amenities @> ARRAY['water', 'toilet']",
    )
    assert expected and {f["id"] for f in body["features"]} == expected.keys()


# ---------------------------------------------------------------- CRS (Part 2), with the test client


def test_crs_answers_in_each_served_crs(client: FlaskClient, db: Session) -> None:
    place_id = add_place(db, 101.7782215, 36.6171483, kind="station")
    x3857, y3857 = db.execute(
        text(
            "SELECT ST_X(g), ST_Y(g) FROM (SELECT ST_Transform(geom, 3857) g FROM places "
            "WHERE id = :i) s"
        ),
        {"i": place_id},
    ).one()
    x4490, y4490 = db.execute(
        text(
            "SELECT ST_X(g), ST_Y(g) FROM (SELECT ST_Transform(geom, 4490) g FROM places "
            "WHERE id = :i) s"
        ),
        {"i": place_id},
    ).one()
    cases = {
        None: (CRS84, [101.7782215, 36.6171483]),
        "EPSG:4490": (EPSG + "4490", [y4490, x4490]),  # CGCS2000: latitude first
        EPSG + "4326": (EPSG + "4326", [36.6171483, 101.7782215]),
        EPSG + "3857": (EPSG + "3857", [x3857, y3857]),
    }
    for crs, (uri, coords) in cases.items():
        query = f"?crs={crs}" if crs else ""
        response = client.get(f"/ogc/collections/station/items/{place_id}{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.headers["Content-Crs"] == f"<{uri}>"
        got = response.get_json()["geometry"]["coordinates"]
        assert got == pytest.approx(coords, abs=1e-7 if "3857" not in uri else 0.01), crs
        listed = client.get(
            f"/ogc/collections/places/items{query}&limit=1000"
            if query
            else "/ogc/collections/places/items?limit=1000"
        )
        assert listed.headers["Content-Crs"] == f"<{uri}>"
        [mine] = [f for f in listed.get_json()["features"] if f["id"] == place_id]
        assert mine["geometry"]["coordinates"] == got
    assert abs(x4490 - 101.7782215) < 1e-6 and abs(y4490 - 36.6171483) < 1e-6


def test_bbox_crs_selects_the_same_places(client: FlaskClient, db: Session) -> None:
    inside = add_place(db, 101.78, 36.62)
    add_place(db, 103.0, 36.62)
    plain = client.get("/ogc/collections/places/items?bbox=101.5,36.5,102,37").get_json()
    lat_lon = client.get(
        f"/ogc/collections/places/items?bbox=36.5,101.5,37,102&bbox-crs={EPSG}4490"
    ).get_json()
    metres = client.get(
        f"/ogc/collections/places/items?bbox=11306771,4369505,11355075,4439106&bbox-crs={EPSG}3857"
    ).get_json()
    for body in (plain, lat_lon, metres):
        assert [f["id"] for f in body["features"]] == [inside]


def test_single_item_checks_its_collection(client: FlaskClient, db: Session) -> None:
    nook = add_place(db, 101.78, 36.62, kind="reading_nook")
    assert client.get(f"/ogc/collections/reading_nook/items/{nook}").status_code == 200
    assert client.get(f"/ogc/collections/places/items/{nook}").status_code == 200
    wrong = client.get(f"/ogc/collections/station/items/{nook}")
    assert wrong.status_code == 404 and wrong.mimetype == "application/problem+json"
    assert client.get("/ogc/collections/station/items/１２").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("bbox=", "bbox"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=110,30,100,40", "bbox"),
        ("bbox=１０１,30,102,31", "bbox"),
        ("bbox=1_01,30,102,31", "bbox"),
        ("bbox=nan,30,102,31", "bbox"),
        ("limit=0", "limit"),
        ("limit=10001", "limit"),
        ("crs=EPSG:4214", "crs"),
        ("bbox-crs=EPSG:2000", "bbox-crs"),
        ("datetime=yesterday", "datetime"),
        ("datetime=2025-01-01T00:00:00Z/2024-01-01T00:00:00Z", "datetime"),
        ("kind=castle", "kind"),
        ("status=open", "status"),
        ("amenity=sauna", "amenity"),
        ("after=-1", "after"),
        ("f=xml", "f"),
        ("offset=10", "offset"),
    ],
)
def test_bad_parameters_are_problem_details(client: FlaskClient, query: str, field: str) -> None:
    response = client.get(f"/ogc/collections/places/items?{query}")
    assert response.status_code == 400, query
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["field"] == field and body["status"] == 400 and body["detail"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_unknown_collection_is_404(client: FlaskClient) -> None:
    response = client.get("/ogc/collections/castles/items")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_etag_and_cors(client: FlaskClient, db: Session) -> None:
    add_place(db, 101.78, 36.62)
    first = client.get("/ogc/collections/places/items")
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in first.headers
    again = client.get(
        "/ogc/collections/places/items", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304


# ---------------------------------------------------------------- HTML for people


def test_html_pages_escape_hostile_text_under_the_strict_csp(
    client: FlaskClient, db: Session
) -> None:
    place_id = add_place(
        db,
        101.78,
        36.62,
        name="<img src=x onerror=alert(1)> {{7*191}}",
        address="<script>alert(2)</script>",
    )
    urls = [
        "/ogc?f=html",
        "/ogc/conformance?f=html",
        "/ogc/collections?f=html",
        "/ogc/collections/station?f=html",
        "/ogc/collections/station/items?f=html",
        f"/ogc/collections/station/items/{place_id}?f=html",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "text/html", url
        page = response.get_data(as_text=True)
        assert "<img src=x" not in page and "<script>alert" not in page, url
        assert "1337" not in page, url
        assert "<script" not in page, url  # no inline script at all
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    page = client.get(f"/ogc/collections/station/items/{place_id}?f=html").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt; {{7*191}}" in page
    browser = client.get("/ogc/collections", headers={"Accept": "text/html,*/*;q=0.8"})
    assert browser.mimetype == "text/html"
    program = client.get("/ogc/collections", headers={"Accept": "*/*"})
    assert program.mimetype == "application/json"


def test_geojson_carries_names_as_data(client: FlaskClient, db: Session) -> None:
    place_id = add_place(db, 101.78, 36.62, name="<img src=x onerror=alert(1)>")
    body = client.get(f"/ogc/collections/places/items/{place_id}").get_json()
    assert body["properties"]["name"] == "<img src=x onerror=alert(1)>"
    assert math.isclose(body["geometry"]["coordinates"][0], 101.78)


def test_a_kind_collection_can_be_narrowed_not_widened(client: FlaskClient, db: Session) -> None:
    station = add_place(db, 101.78, 36.62, kind="station")
    home = add_place(db, 101.79, 36.62, kind="driver_home")
    narrowed = client.get("/ogc/collections/station/items?kind=station,driver_home&limit=10000")
    features = narrowed.get_json()["features"]
    assert station in {f["id"] for f in features} and home not in {f["id"] for f in features}
    assert {f["properties"]["kind"] for f in features} == {"station"}
    other = client.get("/ogc/collections/station/items?kind=driver_home").get_json()
    assert other["features"] == [] and other["numberMatched"] == 0
