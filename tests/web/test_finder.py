"""The map page, place pages and map scripts: light, escaped, CSP-strict, translated."""

from __future__ import annotations

import json
import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from geo.places.crs import from_wgs84
from tests.finder_fixtures import HOSTILE_NAMES, add_place
from tests.map_data import map_features, shown_text

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)


def test_map_page_has_no_markers_and_no_inline_code(client: FlaskClient, db: Session) -> None:
    for i in range(50):
        add_place(db, 113.6 + i * 0.001, 34.7, name=f"驿站{i}")
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="map_finder"' in page
    assert "驿站7" not in page  # markers come from the API per view, not in the HTML
    assert INLINE_SCRIPT.findall(page) == []
    assert " style=" not in page and "<style" not in page
    srcs = re.findall(r'<script src="([^"]+)"', page)
    assert all(s.startswith("/") for s in srcs)
    assert any(s.startswith("/maps/finder.js?") for s in srcs)
    assert len(page.encode()) < 40_000


def test_map_script_matches_the_page_and_is_cacheable(client: FlaskClient, db: Session) -> None:
    add_place(db, 113.6, 34.7)
    page = client.get("/?lon=113.65&lat=34.75&zoom=14").get_data(as_text=True)
    src = re.search(r'<script src="(/maps/finder.js\?[^"]+)"', page).group(1).replace("&amp;", "&")
    response = client.get(src)
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    script = response.get_data(as_text=True)
    assert 'L.map(\n                "map_finder"' in script
    assert "[34.75, 113.65]" in script and '"zoom": 14' in script
    assert 'window.yituMaps = window.yituMaps || {})["finder"]' in script
    etag = response.headers["ETag"]
    assert client.get(src, headers={"If-None-Match": etag}).status_code == 304
    assert "max-age" in response.headers["Cache-Control"]


def test_gcj02_tiles_shift_the_view(app_config: dict[str, object], db: Session) -> None:
    from web import create_app

    app_config.update(
        TILE_URL="https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}",
        TILE_CRS="gcj02",
        TILE_SUBDOMAINS="1234",
    )
    client = create_app(app_config).test_client()
    script = client.get("/maps/finder.js?lon=113.65&lat=34.75&zoom=14").get_data(as_text=True)
    g_lon, g_lat = from_wgs84(113.65, 34.75, crs="gcj02")
    assert f"[{g_lat}, {g_lon}]" in script
    assert 'tileCrs: "gcj02"' in script
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "https://webrd01.is.autonavi.com" in csp


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("lon=abc&lat=34", "lon"),
        ("lon=113&lat=95", "lat"),
        ("bbox=1,2,3", "bbox"),
        ("zoom=99", "zoom"),
        ("amenity=sauna", "amenity"),
        ("kind=castle", "kind"),
    ],
)
def test_map_page_bad_input_is_a_400_page(client: FlaskClient, query: str, needle: str) -> None:
    response = client.get(f"/?{query}")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert needle in response.get_data(as_text=True)


def test_server_side_search_escapes_hostile_names(client: FlaskClient, db: Session) -> None:
    for name in HOSTILE_NAMES:
        add_place(db, 113.6, 34.7, name=f"{name} 测试站", address="<script>alert(1)</script>")
    page = client.get("/?q=测试站").get_data(as_text=True)
    assert page.count('class="nearby-item"') == len(HOSTILE_NAMES)
    for raw in ("<img src=x", "${document", "`;document", "<svg onload", "<script>alert"):
        assert raw not in page
    assert "&lt;img src=x onerror=alert(1)&gt; 测试站" in page
    assert "&#36;&#123;document.title=/PWNED/.source&#125;" in page


def test_place_page_everything(client: FlaskClient, db: Session) -> None:
    place_id = add_place(
        db,
        113.6654,
        34.7579,
        name="二七区 ${x} 驿站",
        kind="station",
        amenities=["water", "toilet", "charging"],
        opening_hours="24/7",
        opening_hours_text="24小时",
        six_haves={"sign": True, "on_map": True, "layout": False},
        last_verified=date(2025, 3, 1),
        phone="0371-1234****",
        station_no="ZZ-001",
        address="郑州市二七区大学路 1 号",
    )
    page = client.get(f"/places/{place_id}").get_data(as_text=True)

    assert "二七区 &#36;&#123;x&#125; 驿站" in page
    assert "24小时营业" in page  # hours in words from web.hours_text.describe
    for code, word in (("water", "饮用水"), ("toilet", "卫生间"), ("charging", "手机充电")):
        assert f"#a-{code}" in page and word in page
    assert "2025-03-01" in page
    assert page.count('class="ok"') == 2 and page.count('class="missing"') == 1
    assert page.count('class="unknown"') == 3
    links = {key: href for href, key in re.findall(r'href="([^"]+)"[^>]* class="nav-(\w+)"', page)}
    assert set(links) == {"amap", "tencent", "baidu", "osm", "apple", "google", "geo"}
    amap = parse_qs(urlsplit(links["amap"].replace("&amp;", "&")).query)
    g_lon, g_lat = from_wgs84(113.6654, 34.7579, crs="gcj02")
    assert amap["to"][0].startswith(f"{g_lon:.6f},{g_lat:.6f},")
    baidu = parse_qs(urlsplit(links["baidu"].replace("&amp;", "&")).query)
    b_lon, b_lat = from_wgs84(113.6654, 34.7579, crs="bd09")
    assert baidu["destination"][0].startswith(f"latlng:{b_lat:.6f},{b_lon:.6f}|")
    assert "mlat=34.757900&amp;mlon=113.665400" in links["osm"]
    assert links["geo"].startswith("geo:34.757900,113.665400?q=")
    assert "daddr=34.757900%2C113.665400" in links["apple"]
    assert "destination=34.757900%2C113.665400" in links["google"]
    # One primary route button, into Amap by default (the rider's choice is kept by place.js).
    go = re.search(r'<a class="go-button" id="go" href="([^"]+)"', page)
    assert go and go.group(1) == links["amap"]
    assert INLINE_SCRIPT.findall(page) == []


def test_place_page_english_and_map_script(client: FlaskClient, db: Session) -> None:
    place_id = add_place(db, 113.6, 34.7, name=HOSTILE_NAMES[1], opening_hours="Mo-Su 08:00-20:00")
    page = client.get(f"/places/{place_id}?lang=en").get_data(as_text=True)
    assert "Navigate there" in page and "What you will find" in page
    script = client.get(f"/places/{place_id}/map.js").get_data(as_text=True)
    assert "${document" not in script
    assert shown_text(map_features(script)[0]["popup"]).startswith(HOSTILE_NAMES[1])


def test_place_page_404_and_planned_hidden(client: FlaskClient, db: Session) -> None:
    planned = add_place(db, 113.6, 34.7, status="planned")
    for place_id in (planned, 10**12, 2**64):
        response = client.get(f"/places/{place_id}")
        assert response.status_code == 404
        assert response.mimetype == "text/html"
    closed = add_place(db, 113.6, 34.7, status="closed")
    page = client.get(f"/places/{closed}").get_data(as_text=True)
    assert "status-closed" in page


def test_hours_in_words_when_closed_and_unknown(client: FlaskClient, db: Session) -> None:
    weird = add_place(db, 113.6, 34.7, opening_hours=None, opening_hours_text="看情况")
    page = client.get(f"/places/{weird}").get_data(as_text=True)
    assert "看情况" in page and "无法判断" in page


def test_strings_for_the_page_script_are_translated(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    block = re.search(
        r'<script type="application/json" id="yitu-strings">(.*?)</script>', page, re.S
    ).group(1)
    strings = json.loads(block)
    assert "步行" in strings["walk"] and "骑行" in strings["ride"]
    assert strings["kinds"]["station"] == "户外劳动者服务站点"
    english = client.get("/?lang=en").get_data(as_text=True)
    assert "min walk" in english


def test_route_links_cannot_be_redirected_by_the_name() -> None:
    from web.placeview import nav_links

    links = {
        link.key: link
        for link in nav_links(
            {"lon": 113.6654, "lat": 34.7579, "name": "驿站,1,2|latlng:0,0|name:假&tocoord=0,0"}
        )
    }
    tencent = parse_qs(urlsplit(links["tencent"].href).query)
    assert len(tencent["tocoord"]) == 1 and tencent["tocoord"][0].startswith("34.75")
    amap = parse_qs(urlsplit(links["amap"].href).query)["to"][0]
    assert amap.count(",") == 2  # lon,lat,name: the name's commas are gone
    baidu = parse_qs(urlsplit(links["baidu"].href).query)["destination"][0]
    assert baidu.count("|") == 1 and baidu.startswith("latlng:34.76")


def test_route_links_use_each_apps_route_uri() -> None:
    from geo.places.crs import from_wgs84
    from web.placeview import dial_number, nav_links

    lon, lat = 113.6654, 34.7579
    links = {link.key: link for link in nav_links({"lon": lon, "lat": lat, "name": "驿站"})}
    g_lon, g_lat = from_wgs84(lon, lat, crs="gcj02")
    b_lon, b_lat = from_wgs84(lon, lat, crs="bd09")

    def q(href: str) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}

    amap = q(links["amap"].href)
    assert links["amap"].href.startswith("https://uri.amap.com/navigation?")
    assert amap["coordinate"] == "gaode" and amap["mode"] == "ride"
    assert amap["to"] == f"{g_lon:.6f},{g_lat:.6f},驿站"
    assert q(links["amap"].walk_href)["mode"] == "walk"
    baidu = q(links["baidu"].href)
    assert links["baidu"].href.startswith("baidumap://map/direction?")
    assert baidu["coord_type"] == "bd09ll" and baidu["mode"] == "riding"
    assert baidu["destination"].startswith(f"latlng:{b_lat:.6f},{b_lon:.6f}|")
    assert links["baidu"].fallback.startswith("https://api.map.baidu.com/direction?")
    assert q(links["baidu"].fallback)["output"] == "html"
    tencent = q(links["tencent"].href)
    assert links["tencent"].href.startswith("https://apis.map.qq.com/uri/v1/routeplan?")
    assert tencent["type"] == "bike" and tencent["tocoord"] == f"{g_lat:.6f},{g_lon:.6f}"
    assert q(links["tencent"].walk_href)["type"] == "walk"
    apple = q(links["apple"].href)
    assert apple["daddr"] == f"{lat:.6f},{lon:.6f}" and apple["dirflg"] == "w"
    google = q(links["google"].href)
    assert links["google"].href.startswith("https://www.google.com/maps/dir/?")
    assert google["api"] == "1" and google["destination"] == f"{lat:.6f},{lon:.6f}"
    assert google["travelmode"] == "bicycling"
    assert q(links["google"].walk_href)["travelmode"] == "walking"
    assert dial_number("0971-1234567 / 13800000000") == "0971-1234567"
    assert dial_number("电话 0371 6789 1234") == "037167891234"
    assert dial_number("无") is None and dial_number(None) is None
