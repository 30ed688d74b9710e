"""API v1: GeoJSON, problem details naming the parameter, ETag, CORS, OpenAPI."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from geo.db.models import Place
from tests.finder_fixtures import HOSTILE_NAMES, add_place

ZZ = (113.6654, 34.7579)  # Zhengzhou centre, WGS-84


def test_nearest_is_geojson_in_metres_nearest_first(client: FlaskClient, db: Session) -> None:
    lon, lat = ZZ
    far = add_place(db, lon + 0.02, lat, name="far")
    near = add_place(db, lon + 0.005, lat, name="near")

    response = client.get(f"/api/v1/places/nearest?lon={lon}&lat={lat}&k=2")

    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    body = response.get_json()
    assert body["type"] == "FeatureCollection"
    ids = [f["id"] for f in body["features"]]
    assert ids == [near, far]
    first = body["features"][0]
    assert first["geometry"]["type"] == "Point"
    assert first["geometry"]["coordinates"] == [round(lon + 0.005, 6), lat]
    props = first["properties"]
    # 0.005 deg of longitude at 34.76 N is ~458 m.
    assert 450 < props["distance_m"] < 465
    assert props["walk_min"] == math.ceil(props["distance_m"] / (5000 / 60))
    assert props["ride_min"] == math.ceil(props["distance_m"] / (15000 / 60))
    assert props["open_now"] is True and props["closes_at"] is None  # 24/7
    assert props["url"].endswith(f"/places/{near}")


def test_nearest_ranks_by_metres_near_34n(client: FlaskClient, db: Session) -> None:
    lon, lat = 113.65, 34.0
    east = add_place(db, lon + 0.010, lat)  # ~923 m
    add_place(db, lon, lat + 0.009)  # ~998 m, nearer in degrees
    body = client.get(f"/api/v1/places/nearest?lon={lon}&lat={lat}&k=1").get_json()
    assert [f["id"] for f in body["features"]] == [east]


def test_nearest_filters(client: FlaskClient, db: Session) -> None:
    lon, lat = ZZ
    add_place(db, lon + 0.001, lat, amenities=["water"])
    toilet = add_place(db, lon + 0.002, lat, amenities=["water", "toilet"])
    nook = add_place(db, lon + 0.003, lat, kind="reading_nook", amenities=["toilet"])
    closed_hours = add_place(
        db, lon + 0.0005, lat, amenities=["toilet"], opening_hours="Mo-Su 09:00-09:01"
    )

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/places/nearest?lon={lon}&lat={lat}&k=5&{query}")
        assert response.status_code == 200, response.get_json()
        return [f["id"] for f in response.get_json()["features"]]

    assert ids("amenity=toilet&kind=station")[:2] == [closed_hours, toilet]
    assert ids("amenity=toilet,water") == [toilet]
    assert ids("amenity=toilet&amenity=water") == [toilet]
    assert ids("kind=reading_nook") == [nook]
    # 03:00 China time: the 09:00-09:01 place is closed, 24/7 ones are open.
    at = "2030-01-02T03:00:00%2B08:00"
    assert ids(f"amenity=toilet&kind=station&open_at={at}") == [toilet]
    assert ids("radius_m=150&amenity=toilet") == [closed_hours]


def test_open_now_leaves_out_unknown_hours(client: FlaskClient, db: Session) -> None:
    lon, lat = ZZ
    add_place(db, lon + 0.001, lat, opening_hours=None)
    known = add_place(db, lon + 0.002, lat, opening_hours="24/7")
    body = client.get(f"/api/v1/places/nearest?lon={lon}&lat={lat}&k=5&open_now=1").get_json()
    assert [f["id"] for f in body["features"]] == [known]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("lat=34.7", "lon"),
        ("lon=113.6", "lat"),
        ("lon=&lat=34.7", "lon"),
        ("lon=NaN&lat=34.7", "lon"),
        ("lon=113.6&lat=nan", "lat"),
        ("lon=inf&lat=34.7", "lon"),
        ("lon=113.6&lat=95", "lat"),
        ("lon=200&lat=34.7", "lon"),
        ("lon=34.7&lat=113.6", "lat"),  # swapped
        ("lon=-74&lat=40.7", "lon"),  # New York: outside China
        ("lon=abc&lat=34.7", "lon"),
        ("lon=113.6&lat=34.7&k=51", "k"),
        ("lon=113.6&lat=34.7&k=0", "k"),
        ("lon=113.6&lat=34.7&k=2.5", "k"),
        ("lon=113.6&lat=34.7&amenity=sauna", "amenity"),
        ("lon=113.6&lat=34.7&amenity=water,,sauna", "amenity"),
        ("lon=113.6&lat=34.7&kind=castle", "kind"),
        ("lon=113.6&lat=34.7&radius_m=-5", "radius_m"),
        ("lon=113.6&lat=34.7&radius_m=0", "radius_m"),
        ("lon=113.6&lat=34.7&radius_m=NaN", "radius_m"),
        ("lon=113.6&lat=34.7&open_now=maybe", "open_now"),
        ("lon=113.6&lat=34.7&open_at=yesterday", "open_at"),
    ],
)
def test_nearest_bad_input_is_400_naming_the_parameter(
    client: FlaskClient, query: str, field: str
) -> None:
    response = client.get(f"/api/v1/places/nearest?{query}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 400
    assert body["field"] == field
    assert field in body["detail"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("bbox=1,2,3", "bbox"),
        ("bbox=113,34,112,35", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("bbox=113,34,NaN,35", "bbox"),
        ("bbox=113,-95,114,35", "bbox"),
        ("bbox=113,34,114,35&limit=501", "limit"),
        ("bbox=113,34,114,35&limit=x", "limit"),
        ("amenity=unknown", "amenity"),
        ("cursor=%%%", "cursor"),
        ("cursor=WyJ4Il0", "cursor"),  # base64 of ["x"]
        ("q=" + "x" * 101, "q"),
    ],
)
def test_list_bad_input(client: FlaskClient, query: str, field: str) -> None:
    response = client.get(f"/api/v1/places?{query}")
    assert response.status_code == 400
    assert response.get_json()["field"] == field


def test_list_bbox_paging_and_next_link(client: FlaskClient, db: Session) -> None:
    ids = [add_place(db, 113.60 + i * 0.001, 34.70) for i in range(5)]
    add_place(db, 113.95, 34.70)
    seen: list[int] = []
    url = "/api/v1/places?bbox=113.59,34.69,113.62,34.71&limit=2"
    pages = 0
    while url:
        body = client.get(url).get_json()
        seen += [f["id"] for f in body["features"]]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        url = nxt[0].replace("http://localhost", "") if nxt else ""
        pages += 1
    assert seen == ids
    assert pages == 3


def test_list_search_and_open_filter(client: FlaskClient, db: Session) -> None:
    hit = add_place(db, 113.6, 34.7, name="金水区花园路驿站", opening_hours="24/7")
    add_place(db, 113.6, 34.7, name="金水区另一驿站", opening_hours="Mo-Su 09:00-09:01")
    add_place(db, 113.6, 34.7, name="other")
    body = client.get("/api/v1/places?q=金水区&open_at=2030-01-02T03:00:00%2B08:00").get_json()
    assert [f["id"] for f in body["features"]] == [hit]


def test_clusters_group_and_validate(client: FlaskClient, db: Session) -> None:
    for i in range(30):
        add_place(db, 113.60 + (i % 6) * 0.0005, 34.70 + (i // 6) * 0.0005)
    lone = add_place(db, 113.90, 34.90, name=HOSTILE_NAMES[0])

    body = client.get("/api/v1/places/clusters?bbox=113.5,34.6,114.0,35.0&zoom=10").get_json()

    counts = sorted(f["properties"]["count"] for f in body["features"])
    assert counts == [1, 30]
    single = next(f for f in body["features"] if f["properties"]["count"] == 1)
    assert single["id"] == lone and single["properties"]["name"] == HOSTILE_NAMES[0]
    assert single["properties"]["cluster"] is False
    cluster = next(f for f in body["features"] if f["properties"]["count"] == 30)
    assert cluster["properties"] == {"cluster": True, "count": 30, "kind": "station"}
    assert "id" not in cluster

    missing = client.get("/api/v1/places/clusters?bbox=113.5,34.6,114.0,35.0")
    assert missing.status_code == 400 and missing.get_json()["field"] == "zoom"
    too_big = client.get("/api/v1/places/clusters?bbox=73,3,136,54&zoom=12")
    assert too_big.status_code == 400 and too_big.get_json()["field"] == "bbox"


def test_place_by_id_and_404(client: FlaskClient, db: Session) -> None:
    place_id = add_place(db, 113.6, 34.7, name="<b>一号</b>", status="suspended")
    response = client.get(f"/api/v1/places/{place_id}")
    assert response.status_code == 200
    feature = response.get_json()
    assert feature["type"] == "Feature" and feature["id"] == place_id
    assert feature["properties"]["name"] == "<b>一号</b>"  # data, not HTML: consumers escape
    assert feature["properties"]["status"] == "suspended"
    for missing in (10**12, 2**63, 2**70):
        response = client.get(f"/api/v1/places/{missing}")
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"


def test_changes_since_pages_and_until(client: FlaskClient, db: Session) -> None:
    t0 = datetime.now(UTC) - timedelta(days=2)
    ids = [add_place(db, 113.6, 34.7) for _ in range(3)]
    for i, place_id in enumerate(ids):
        db.execute(
            update(Place)
            .where(Place.id == place_id)
            .values(updated_at=t0 + timedelta(minutes=i), status="closed" if i == 2 else "active")
        )
    db.flush()
    since = (t0 - timedelta(seconds=1)).isoformat().replace("+", "%2B")

    first = client.get(f"/api/v1/places/changes?since={since}&limit=2").get_json()
    nxt = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = client.get(nxt.replace("http://localhost", "")).get_json()

    assert [f["id"] for f in first["features"] + second["features"]] == ids
    assert second["features"][-1]["properties"]["status"] == "closed"
    assert first["until"] == second["until"]
    assert datetime.fromisoformat(first["until"]) < datetime.now(UTC) - timedelta(minutes=4)
    bad = client.get("/api/v1/places/changes")
    assert bad.status_code == 400 and bad.get_json()["field"] == "since"


def test_changes_skip_what_is_newer_than_the_safety_lag(client: FlaskClient, db: Session) -> None:
    recent = add_place(db, 113.6, 34.7)  # updated_at = now(): inside the lag
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat().replace("+", "%2B")
    body = client.get(f"/api/v1/places/changes?since={since}").get_json()
    assert recent not in [f["id"] for f in body["features"]]


def test_etag_and_cache_control(client: FlaskClient, db: Session) -> None:
    add_place(db, 113.6, 34.7)
    url = "/api/v1/places?bbox=113.5,34.6,113.7,34.8"
    first = client.get(url)
    assert first.headers["Cache-Control"] == "public, max-age=60"
    etag = first.headers["ETag"]
    assert etag.startswith('"')
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    add_place(db, 113.61, 34.71)
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_cors_star_without_credentials_on_api_only(client: FlaskClient) -> None:
    origin = {"Origin": "https://partner.example"}
    ok = client.get("/api/v1/places?bbox=113.5,34.6,113.7,34.8", headers=origin)
    assert ok.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in ok.headers
    # A client on another origin can read its 400 too.
    bad = client.get("/api/v1/places/nearest?lon=x&lat=1", headers=origin)
    assert bad.status_code == 400 and bad.headers["Access-Control-Allow-Origin"] == "*"
    preflight = client.options(
        "/api/v1/places",
        headers={
            **origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "If-None-Match",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert "POST" not in preflight.headers["Access-Control-Allow-Methods"]
    for page in ("/", "/places", "/embed/builder"):
        assert "Access-Control-Allow-Origin" not in client.get(page, headers=origin).headers


def test_openapi_document_matches_the_routes(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    documented = set(doc["paths"])
    routed = {
        str(rule).replace("<int:place_id>", "{place_id}").replace("<string:receipt>", "{receipt}")
        for rule in client.application.url_map.iter_rules()
        if str(rule).startswith(("/api/v1/places", "/api/v1/reports"))
    }
    assert documented == routed


def test_openapi_fuzz_never_500(app, db: Session) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import positive_data_acceptance

    add_place(db, 113.6, 34.7, name=HOSTILE_NAMES[1])
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    statuses: set[int] = set()
    for operation in schema.get_all_operations():
        op = operation.ok()

        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=op.as_strategy())
        def check(case) -> None:  # noqa: ANN001
            # The WSGI transport does not decode brotli/gzip (web/assets.py compresses).
            response = case.call(headers={"Accept-Encoding": "identity"})
            statuses.add(response.status_code)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query}: {response.status_code}"
                )
            try:
                # Status documented, body matching its schema, right media type,
                # schema-invalid input refused.  Not "every schema-valid input
                # accepted": the document cannot say that a bbox's west must
                # be less than its east, so the API is stricter than it.
                case.validate_response(response, excluded_checks=[positive_data_acceptance])
            except Exception as err:  # noqa: BLE001 - schemathesis raises a group
                failures.append(f"{case.formatted_path} {case.query}: {str(err)[:300]}")

        check()
    assert failures == []
    assert {200, 400} <= statuses  # the fuzzing reached both answers


def test_api_docs_page(client: FlaskClient) -> None:
    zh = client.get("/api/v1/docs", headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 200
    page = zh.get_data(as_text=True)
    assert "GET /api/v1/places/nearest" in page
    assert "附近" in page or "最近" in page
    en = client.get("/api/v1/docs?lang=en").get_data(as_text=True)
    assert "Nearest places" in en
