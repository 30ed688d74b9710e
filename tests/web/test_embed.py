"""Embeds: frameable by other origins (and nothing else is), set up by URL, with a builder."""

from __future__ import annotations

import html
import re

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.finder_fixtures import add_place


def frame_ancestors(response) -> str:  # noqa: ANN001
    csp = response.headers["Content-Security-Policy"]
    return next(d for d in csp.split(";") if d.strip().startswith("frame-ancestors")).strip()


def test_embed_is_frameable_by_any_origin_by_default(client: FlaskClient, db: Session) -> None:
    add_place(db, 113.6, 34.7, city="郑州市")
    response = client.get("/embed?city=郑州市")
    assert response.status_code == 200
    assert frame_ancestors(response) == "frame-ancestors *"
    assert "X-Frame-Options" not in response.headers


def test_embed_frame_ancestors_from_config(app_config: dict[str, object], db: Session) -> None:
    from web import create_app

    add_place(db, 113.6, 34.7, city="郑州市")
    app_config["EMBED_FRAME_ANCESTORS"] = "https://union.example https://*.gov.cn"
    client = create_app(app_config).test_client()
    response = client.get("/embed?city=郑州")
    assert frame_ancestors(response) == "frame-ancestors https://union.example https://*.gov.cn"


def test_no_other_page_is_frameable(client: FlaskClient, db: Session) -> None:
    place_id = add_place(db, 113.6, 34.7)
    for url in (
        "/",
        f"/places/{place_id}",
        "/embed/builder",
        "/api/v1/docs",
        "/places",
        "/maps/embed.js?lon=113.6&lat=34.7&zoom=12",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert frame_ancestors(response) == "frame-ancestors 'none'", url
        assert response.headers["X-Frame-Options"] == "DENY", url


def test_embed_url_parameters(client: FlaskClient, db: Session) -> None:
    add_place(db, 113.6, 34.7, city="郑州市")
    add_place(db, 113.8, 34.9, city="郑州市")
    page = client.get(
        "/embed?city=郑州市&kind=station,reading_nook&amenity=water&open_now=1&lang=en"
    ).get_data(as_text=True)
    assert 'data-kinds="station,reading_nook"' in page
    assert 'data-amenities="water"' in page and 'data-open-now="1"' in page
    assert 'lang="en"' in page
    assert 'class="topbar"' not in page  # minimal chrome
    src = html.unescape(re.search(r'<script src="(/maps/embed.js\?[^"]+)"', page).group(1))
    assert "bbox=113.595000,34.695000,113.805000,34.905000" in src
    assert "lang=en" in src
    zoomed = client.get("/embed?city=郑州市&zoom=13").get_data(as_text=True)
    assert "zoom=13" in html.unescape(zoomed)
    bbox = client.get("/embed?bbox=113.5,34.6,113.7,34.8").get_data(as_text=True)
    assert "bbox=113.500000,34.600000,113.700000,34.800000" in html.unescape(bbox)


def test_embed_bad_input(client: FlaskClient, db: Session) -> None:
    add_place(db, 113.6, 34.7, city="郑州市")
    unknown = client.get("/embed?city=火星市")
    assert unknown.status_code == 400 and "郑州市" in unknown.get_data(as_text=True)
    assert client.get("/embed?amenity=sauna").status_code == 400
    assert client.get("/embed?zoom=40").status_code == 400


def test_builder_prints_an_escaped_snippet(client: FlaskClient, db: Session) -> None:
    add_place(db, 113.6, 34.7, city="郑州市")
    response = client.get(
        "/embed/builder?city=郑州市&kind=station&amenity=water&amenity=toilet"
        "&embed_lang=en&height=600"
    )
    page = response.get_data(as_text=True)
    snippet = html.unescape(
        re.search(r'<textarea[^>]*id="snippet"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    )
    assert snippet.startswith('<iframe src="http://localhost/embed?')
    src = html.unescape(re.search(r'src="([^"]+)"', snippet).group(1))
    assert src == (
        "http://localhost/embed?city=%E9%83%91%E5%B7%9E%E5%B8%82&kind=station"
        "&amenity=water&amenity=toilet&lang=en"
    )
    assert 'height="600"' in snippet and 'allow="geolocation"' in snippet
    assert '<iframe class="preview" id="preview" src="http://localhost/embed?' in page
    # The snippet it prints works.
    assert client.get(src.replace("http://localhost", "")).status_code == 200


def test_builder_refuses_an_unknown_city(client: FlaskClient) -> None:
    response = client.get("/embed/builder?city=<script>")
    assert response.status_code == 400
    assert "<script>" not in response.get_data(as_text=True)
