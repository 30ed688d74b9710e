"""What the finder, the API and embeds say about a place: GeoJSON, hours now, times, links.

Pure functions over the row dicts of :mod:`geo.db.queries` (WGS-84
``lon``/``lat``).  No request context is needed except where a URL builder is
passed in.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from geo.errors import InvalidInput
from geo.places.crs import from_wgs84
from geo.places.hours_open import closes_at, next_change, open_state
from geo.places.timezone import SHANGHAI

__all__ = [
    "RIDE_KMH",
    "WALK_KMH",
    "HoursNow",
    "NavLink",
    "feature",
    "feature_collection",
    "hours_now",
    "nav_links",
    "now",
    "open_values",
    "travel_min",
]

# Straight-line speeds for the time estimates: an unhurried walk, and an
# e-bike or bicycle in city traffic (riders' e-bikes are capped at 25 km/h,
# but junctions and crossings bring the average well below).
WALK_KMH = 5.0
RIDE_KMH = 15.0
# RFC 7946 advises 6 decimals (about 0.1 m); more is noise.
COORD_DECIMALS = 6
# Row fields that are dates or datetimes (ISO 8601 in JSON).
DATE_KEYS = ("last_verified", "updated_at", "created_at")
# Stations keep China's wall-clock hours.
LOCAL_TZ = SHANGHAI


@dataclass(frozen=True)
class HoursNow:
    """Whether a place is open at an instant, and when that changes (China time)."""

    is_open: bool | None
    closes_at: datetime | None = None
    opens_at: datetime | None = None


def hours_now(value: str | None, at: datetime) -> HoursNow:
    """Evaluate an OSM ``opening_hours`` value at the aware instant ``at`` (China time).

    Parameters
    ----------
    value
        OpenStreetMap ``opening_hours`` syntax, or None when unknown.
    at
        Timezone-aware instant; :mod:`geo.places.hours_open` evaluates it in
        Asia/Shanghai with China's public holidays, to the minute.

    Returns
    -------
    HoursNow
        ``is_open`` None when the hours are unknown or unreadable;
        ``closes_at`` the end of the current open stretch (None for 24/7);
        ``opens_at`` the next change when closed.
    """
    if not value:
        return HoursNow(None)
    # Stations share a few dozen distinct values: evaluate each once a minute.
    return _hours_at_minute(value, at.replace(second=0, microsecond=0))


@functools.lru_cache(maxsize=8192)
def _hours_at_minute(value: str, at: datetime) -> HoursNow:
    try:
        state = open_state(value, at)
    except InvalidInput:
        return HoursNow(None)
    if state == "unknown":
        return HoursNow(None)
    if state == "open":
        return HoursNow(True, closes_at=closes_at(value, at))
    return HoursNow(False, opens_at=next_change(value, at))


def open_values(values: list[str], at: datetime) -> tuple[str, ...]:
    """Return those ``opening_hours`` values that are open at ``at``."""
    return tuple(v for v in values if hours_now(v, at).is_open)


def now() -> datetime:
    """Return the current instant (aware, UTC)."""
    return datetime.now(UTC)


def travel_min(distance_m: float, *, speed_kmh: float) -> int:
    """Return whole minutes (rounded up, at least 1) to cover ``distance_m`` at ``speed_kmh``."""
    return max(1, math.ceil(distance_m / (speed_kmh * 1000.0 / 60.0)))


def feature(
    row: Mapping[str, Any],
    *,
    at: datetime | None = None,
    place_url: Callable[[int], str] | None = None,
) -> dict[str, Any]:
    """Return one place row as an RFC 7946 Feature with a WGS-84 Point.

    Parameters
    ----------
    row
        A row of :mod:`geo.db.queries` (``lon``/``lat`` WGS-84 degrees,
        optional ``distance_m`` in metres, optional ``count`` for a cluster).
    at
        Evaluate ``open_now``/``closes_at``/``opens_at`` at this aware
        instant; None leaves them out.
    place_url
        Builds the place page URL from the id.
    """
    props = dict(row)
    del props["lon"], props["lat"]
    for key in DATE_KEYS:
        value = props.get(key)
        if value is not None:
            props[key] = value.isoformat()
    count = row.get("count")
    is_cluster = count is not None and count > 1
    if count is not None:
        props["cluster"] = is_cluster
        if is_cluster:
            # A cluster carries no place's fields, only where and how many.
            props = {"cluster": True, "count": count, "kind": row.get("kind")}
    if not is_cluster:
        if at is not None and "opening_hours" in row:
            state = hours_now(row.get("opening_hours"), at)
            props["open_now"] = state.is_open
            props["closes_at"] = state.closes_at.strftime("%H:%M") if state.closes_at else None
            props["opens_at"] = state.opens_at.isoformat() if state.opens_at else None
        distance_m = row.get("distance_m")
        if distance_m is not None:
            props["distance_m"] = round(float(distance_m), 1)
            props["walk_min"] = travel_min(distance_m, speed_kmh=WALK_KMH)
            props["ride_min"] = travel_min(distance_m, speed_kmh=RIDE_KMH)
        if place_url is not None and row.get("id") is not None:
            props["url"] = place_url(int(row["id"]))
    out: dict[str, Any] = {"type": "Feature"}
    if not is_cluster and row.get("id") is not None:
        out["id"] = int(row["id"])
    out["geometry"] = {
        "type": "Point",
        "coordinates": [
            round(float(row["lon"]), COORD_DECIMALS),
            round(float(row["lat"]), COORD_DECIMALS),
        ],
    }
    out["properties"] = props
    return out


def feature_collection(
    features: list[dict[str, Any]],
    *,
    links: list[dict[str, str]] | None = None,
    **members: Any,
) -> dict[str, Any]:
    """Return an RFC 7946 FeatureCollection with paging ``links`` as foreign members."""
    out: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": features,
        "numberReturned": len(features),
    }
    if links:
        out["links"] = links
    out.update(members)
    return out


@dataclass(frozen=True)
class NavLink:
    """A link that opens a map app with a route to the place, in that app's coordinates.

    ``href`` asks for riding directions, ``walk_href`` for walking; ``fallback``
    is a web page for when the app's own scheme does not open (Baidu).
    """

    key: str
    label: str
    href: str
    crs: str
    walk_href: str = ""
    fallback: str = ""


def _fmt(value: float) -> str:
    return f"{value:.6f}"


def nav_links(row: Mapping[str, Any], *, labels: Mapping[str, str] | None = None) -> list[NavLink]:
    """Return route links (riding and walking) into Amap, Tencent, Baidu, Apple, Google, OSM, ``geo:``.

    Each app's documented route URI, the rider's position being the start
    (the apps take the phone's own position when no origin is given):
    Amap ``uri.amap.com/navigation`` (``coordinate=gaode``, GCJ-02), Tencent
    ``apis.map.qq.com/uri/v1/routeplan`` (GCJ-02), Baidu
    ``baidumap://map/direction`` (``coord_type=bd09ll``, BD-09) with the web
    ``api.map.baidu.com/direction`` as fallback, Apple ``daddr`` + ``dirflg``,
    Google ``maps/dir/?api=1`` + ``travelmode`` (WGS-84).  OpenStreetMap and
    ``geo:`` show the spot only.

    Parameters
    ----------
    row
        A place with ``lon``/``lat`` (WGS-84 degrees) and ``name``.
    labels
        Translated link texts by key; defaults to the app names.
    """
    lon, lat = float(row["lon"]), float(row["lat"])
    name = str(row.get("name") or "")
    g_lon, g_lat = from_wgs84(lon, lat, crs="gcj02")
    b_lon, b_lat = from_wgs84(lon, lat, crs="bd09")
    names = {
        "amap": "高德地图 Amap",
        "tencent": "腾讯地图 Tencent",
        "baidu": "百度地图 Baidu",
        "osm": "OpenStreetMap",
        "apple": "Apple Maps",
        "google": "Google Maps",
        "geo": "geo:",
    }
    names.update(labels or {})

    def amap(mode: str) -> str:
        # "to" is lon,lat,name; commas in the name would shift the fields.
        return "https://uri.amap.com/navigation?" + urlencode(
            {
                "to": f"{_fmt(g_lon)},{_fmt(g_lat)},{name.replace(',', ' ')}",
                "mode": mode,
                "coordinate": "gaode",
                "callnative": "1",
                "src": "yitu",
            }
        )

    def tencent(mode: str) -> str:
        return "https://apis.map.qq.com/uri/v1/routeplan?" + urlencode(
            {"type": mode, "to": name, "tocoord": f"{_fmt(g_lat)},{_fmt(g_lon)}", "referer": "yitu"}
        )

    # Baidu's "|" separates the destination's fields: keep it out of the name.
    b_dest = f"latlng:{_fmt(b_lat)},{_fmt(b_lon)}|name:{name.replace('|', ' ')}"

    def baidu(mode: str) -> str:
        return "baidumap://map/direction?" + urlencode(
            {"destination": b_dest, "coord_type": "bd09ll", "mode": mode, "src": "yitu"}
        )

    def baidu_web(mode: str) -> str:
        return "https://api.map.baidu.com/direction?" + urlencode(
            {
                "origin": "我的位置",
                "destination": b_dest,
                "coord_type": "bd09ll",
                "mode": mode,
                "region": str(row.get("city") or "全国"),
                "output": "html",
                "src": "yitu",
            }
        )

    def apple(flag: str) -> str:
        return "https://maps.apple.com/?" + urlencode(
            {"daddr": f"{_fmt(lat)},{_fmt(lon)}", "dirflg": flag, "q": name}
        )

    def google(mode: str) -> str:
        return "https://www.google.com/maps/dir/?" + urlencode(
            {"api": "1", "destination": f"{_fmt(lat)},{_fmt(lon)}", "travelmode": mode}
        )

    osm = (
        f"https://www.openstreetmap.org/?mlat={_fmt(lat)}&mlon={_fmt(lon)}"
        f"#map=18/{_fmt(lat)}/{_fmt(lon)}"
    )
    # RFC 5870: geo:lat,lon is WGS-84; the q=(label) form is what Android
    # map apps read to show a name.
    geo = f"geo:{_fmt(lat)},{_fmt(lon)}?q={_fmt(lat)},{_fmt(lon)}({quote(name)})"
    return [
        NavLink("amap", names["amap"], amap("ride"), "gcj02", walk_href=amap("walk")),
        NavLink("tencent", names["tencent"], tencent("bike"), "gcj02", walk_href=tencent("walk")),
        NavLink(
            "baidu",
            names["baidu"],
            baidu("riding"),
            "bd09",
            walk_href=baidu("walking"),
            fallback=baidu_web("riding"),
        ),
        # Apple's URL scheme has no cycling flag: walking is the nearest.
        NavLink("apple", names["apple"], apple("w"), "wgs84", walk_href=apple("w")),
        NavLink(
            "google", names["google"], google("bicycling"), "wgs84", walk_href=google("walking")
        ),
        NavLink("osm", names["osm"], osm, "wgs84", walk_href=osm),
        NavLink("geo", names["geo"], geo, "wgs84", walk_href=geo),
    ]


_PHONE = re.compile(r"\+?\d[\d\- ]{4,}\d")


def dial_number(phone: object) -> str | None:
    """Return the first phone number in ``phone`` as a ``tel:`` target (digits, ``+``, ``-``).

    Ledgers write "0971-1234567", "0971 1234567 / 138..."; a ``tel:`` link takes
    one number, without spaces.  None when there is no number to dial.
    """
    if not isinstance(phone, str):
        return None
    match = _PHONE.search(phone)
    return match.group(0).replace(" ", "") if match else None
