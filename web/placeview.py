"""What the finder, the API and embeds say about a place: GeoJSON, hours now, times, links.

Pure functions over the row dicts of :mod:`geo.db.queries` (WGS-84
``lon``/``lat``).  No request context is needed except where a URL builder is
passed in.
"""

from __future__ import annotations

import functools
import math
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
    features: list[dict[str, Any]], *, links: list[dict[str, str]] | None = None,
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
    """A link that opens a map app at the place, in the coordinates that app expects."""

    key: str
    label: str
    href: str
    crs: str


def _fmt(value: float) -> str:
    return f"{value:.6f}"


def nav_links(row: Mapping[str, Any], *, labels: Mapping[str, str] | None = None) -> list[NavLink]:
    """Return navigation links into Amap, Tencent, Baidu, OSM, Apple, Google and ``geo:``.

    Amap and Tencent take GCJ-02, Baidu takes BD-09 (converted with
    :func:`geo.places.crs.from_wgs84`), the others WGS-84 as stored.

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
        "amap": "高德地图 Amap", "tencent": "腾讯地图 Tencent", "baidu": "百度地图 Baidu",
        "osm": "OpenStreetMap", "apple": "Apple Maps", "google": "Google Maps",
        "geo": "geo:",
    }
    names.update(labels or {})
    links = [
        NavLink("amap", names["amap"], "https://uri.amap.com/marker?" + urlencode({
            "position": f"{_fmt(g_lon)},{_fmt(g_lat)}", "name": name, "src": "yitu",
            "coordinate": "gaode", "callnative": "1"}), "gcj02"),
        NavLink("tencent", names["tencent"], "https://apis.map.qq.com/uri/v1/marker?" + urlencode({
            # ";" and ":" separate the marker's own fields: keep them out of the title.
            "marker": f"coord:{_fmt(g_lat)},{_fmt(g_lon)};title:{name.replace(';', ' ').replace(':', ' ')}",
            "referer": "yitu"}),
            "gcj02"),
        NavLink("baidu", names["baidu"], "https://api.map.baidu.com/marker?" + urlencode({
            "location": f"{_fmt(b_lat)},{_fmt(b_lon)}", "title": name, "content": name,
            "coord_type": "bd09ll", "output": "html", "src": "yitu"}), "bd09"),
        NavLink("osm", names["osm"],
                f"https://www.openstreetmap.org/?mlat={_fmt(lat)}&mlon={_fmt(lon)}"
                f"#map=18/{_fmt(lat)}/{_fmt(lon)}", "wgs84"),
        NavLink("apple", names["apple"], "https://maps.apple.com/?" + urlencode({
            "ll": f"{_fmt(lat)},{_fmt(lon)}", "q": name}), "wgs84"),
        NavLink("google", names["google"], "https://www.google.com/maps/search/?" + urlencode({
            "api": "1", "query": f"{_fmt(lat)},{_fmt(lon)}"}), "wgs84"),
        # RFC 5870: geo:lat,lon is WGS-84; the q=(label) form is what Android
        # map apps read to show a name.
        NavLink("geo", names["geo"],
                f"geo:{_fmt(lat)},{_fmt(lon)}?q={_fmt(lat)},{_fmt(lon)}({quote(name)})",
                "wgs84"),
    ]
    return links
