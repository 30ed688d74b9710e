"""Security headers on every page: CSP with the tile host, framing, HSTS, nosniff, CORS, sizes."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.finder_fixtures import add_place
from tests.household_fixtures import KEY_TEXT, login, make_user
from web.security import content_security_policy, is_frameable


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {**app_config, "HOUSEHOLD_KEY": KEY_TEXT}


def directives(response) -> dict[str, str]:  # noqa: ANN001
    policy = response.headers["Content-Security-Policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in policy.split("; ")}


def public_urls(db: Session) -> list[str]:
    place_id = add_place(db, 101.778, 36.617)
    return [
        "/",
        "/places",
        f"/places/{place_id}",
        "/api/v1/places",
        "/api/v1/openapi.json",
        "/embed/builder",
        "/auth/login",
        "/static/css/yitu.css",
        "/no-such-page",
        f"/places/{place_id}/map.js",
        "/maps/finder.js",
    ]


def test_every_page_sends_the_strict_headers(client: FlaskClient, db: Session) -> None:
    for url in public_urls(db):
        response = client.get(url)
        csp = directives(response)
        assert csp["default-src"] == "'self'", url
        assert csp["script-src"] == "'self'" and csp["object-src"] == "'none'", url
        assert csp["img-src"] == "'self' data: https://tile.openstreetmap.org", url
        assert csp["frame-ancestors"] == "'none'", url
        assert response.headers["X-Frame-Options"] == "DENY", url
        assert response.headers["X-Content-Type-Options"] == "nosniff", url
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin", url
        assert "Strict-Transport-Security" not in response.headers, url
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
        response.close()  # static files hold an open file until closed


def test_only_embed_routes_may_be_framed(app: Flask, client: FlaskClient, db: Session) -> None:
    add_place(db, 101.778, 36.617, city="西宁市")
    framed = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if is_frameable(app.view_functions[rule.endpoint])
    ]
    assert framed == ["embed.embed"]
    response = client.get("/embed", query_string={"lon": "101.778", "lat": "36.617", "zoom": "14"})
    assert response.status_code == 200
    assert directives(response)["frame-ancestors"] == "*"
    assert "X-Frame-Options" not in response.headers
    assert directives(client.get("/embed/builder"))["frame-ancestors"] == "'none'"


def test_embed_allow_list_comes_from_config(app_config: dict[str, object]) -> None:
    from web import create_app

    app = create_app({**app_config, "EMBED_FRAME_ANCESTORS": "https://union.example.cn"})
    response = app.test_client().get("/embed", query_string={"lon": "101.778", "lat": "36.617"})
    assert directives(response)["frame-ancestors"] == "https://union.example.cn"


def test_tile_hosts_with_subdomains_are_listed_exactly(app_config: dict[str, object]) -> None:
    from web import create_app

    app = create_app(
        {
            **app_config,
            "TILE_CRS": "gcj02",
            "TILE_SUBDOMAINS": "1234",
            "TILE_URL": "https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}",
        }
    )
    images = directives(app.test_client().get("/places"))["img-src"]
    assert images == (
        "'self' data: https://webrd01.is.autonavi.com https://webrd02.is.autonavi.com"
        " https://webrd03.is.autonavi.com https://webrd04.is.autonavi.com"
    )


def test_hsts_only_over_https(client: FlaskClient) -> None:
    secure = client.get("/places", base_url="https://yitu.example.cn")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    # A forged X-Forwarded-Proto on plain http does not switch HSTS on (no ProxyFix here).
    plain = client.get("/places", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in plain.headers


def test_behind_a_trusted_proxy_forwarded_https_turns_hsts_on(
    app_config: dict[str, object],
) -> None:
    from web import create_app

    client = create_app({**app_config, "TRUSTED_PROXIES": 1}).test_client()
    response = client.get(
        "/places", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.20"}
    )
    assert "Strict-Transport-Security" in response.headers


def test_cors_only_on_the_public_get_api(client: FlaskClient) -> None:
    origin = {"Origin": "https://partner.example"}
    api = client.get("/api/v1/places", headers=origin)
    assert api.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in api.headers
    for url in ("/places", "/auth/login", "/households/cells.geojson", "/cases/"):
        assert "Access-Control-Allow-Origin" not in client.get(url, headers=origin).headers, url
    preflight = client.options(
        "/auth/login", headers={**origin, "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_request_bodies_are_bounded(app: Flask, client: FlaskClient) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert isinstance(limit, int) and 0 < limit <= 64 * 1024 * 1024
    response = client.post(
        "/auth/login", data=b"x" * (limit + 1), content_type="application/octet-stream"
    )
    assert response.status_code == 413
    assert "Traceback" not in response.get_data(as_text=True)


def test_logged_in_pages_are_not_cached(client: FlaskClient, db: Session) -> None:
    user = make_user(db, "admin")
    login(client, user.username)
    assert client.get("/places").headers["Cache-Control"] == "no-store"
    with client.get("/static/css/yitu.css") as static:
        assert "no-store" not in static.headers.get("Cache-Control", "")


def test_policy_builder() -> None:
    policy = content_security_policy(
        tile_origins=("https://a.tile.example",), frame_ancestors="'none'"
    )
    assert policy.startswith("default-src 'self'; img-src 'self' data: https://a.tile.example;")
    assert policy.endswith("frame-ancestors 'none'")
