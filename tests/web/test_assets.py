"""Issue 12, low data: compressed responses, static files under content-hashed names."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import brotli
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[2]


def _static_links(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"#]+)', html)


def test_pages_link_static_files_by_content_hash(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    links = _static_links(html)
    assert any("/js/finder." in u for u in links)
    for url in links:
        m = re.search(r"^/static/(.+)\.([0-9a-f]{12})(\.\w+)$", url)
        assert m, url
        body = (ROOT / "web/static" / (m[1] + m[3])).read_bytes()
        assert hashlib.sha256(body).hexdigest()[:12] == m[2]


def test_hashed_static_files_are_immutable_and_compressed(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    leaflet = next(u for u in _static_links(html) if "leaflet." in u and u.endswith(".js"))
    plain = (ROOT / "web/static/vendor/leaflet-1.9.4/leaflet.js").read_bytes()

    br = client.get(leaflet, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert br.status_code == 200
    assert br.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert br.headers["Content-Encoding"] == "br"
    assert "Accept-Encoding" in br.headers["Vary"]
    assert brotli.decompress(br.get_data()) == plain
    assert len(br.get_data()) < len(plain) / 3

    gz = client.get(leaflet, headers={"Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(gz.get_data()) == plain

    raw = client.get(leaflet, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in raw.headers
    assert raw.get_data() == plain

    again = client.get(
        leaflet, headers={"Accept-Encoding": "br", "If-None-Match": br.headers["ETag"]}
    )
    assert again.status_code == 304


def test_plain_and_stale_names_are_revalidated(client: FlaskClient) -> None:
    plain = client.get("/static/css/finder.css")
    assert plain.status_code == 200
    assert plain.headers["Cache-Control"] == "no-cache"
    stale = client.get("/static/css/finder.000000000000.css")
    assert stale.status_code == 200
    assert stale.headers["Cache-Control"] == "no-cache"
    assert client.get("/static/css/nothing.000000000000.css").status_code == 404
    assert client.get("/static/../pyproject.toml").status_code == 404


def test_api_answers_are_compressed(client: FlaskClient) -> None:
    r = client.get(
        "/api/v1/places/clusters?bbox=73,3,136,54&zoom=4", headers={"Accept-Encoding": "gzip"}
    )
    assert r.status_code == 200
    page = client.get("/", headers={"Accept-Encoding": "br"})
    assert page.headers["Content-Encoding"] == "br"
    assert b"<h1" in brotli.decompress(page.get_data())
