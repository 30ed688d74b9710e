"""Public API v1: places as GeoJSON (RFC 7946), errors as problem details (RFC 9457).

Every route is a read-only GET that anyone may call from any origin: CORS
answers ``*`` without credentials on these routes only (flask-cors bound to
this blueprint, so error responses carry the header too and a browser client
can read its 400).  Responses carry a strong ETag (``If-None-Match`` gives
304) and ``Cache-Control: public``.  The OpenAPI document is
:mod:`web.openapi`.
"""

from __future__ import annotations

import functools
import json
import math
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_cors import CORS

from geo.db import queries
from geo.errors import InvalidInput, PlaceNotFound
from web import openapi
from web.db import session
from web.params import (
    amenities_param,
    bbox_param,
    bool_param,
    cursor_param,
    datetime_param,
    encode_cursor,
    float_param,
    int_param,
    kinds_param,
    lonlat_params,
    text_param,
)
from web.placeview import feature, feature_collection, hours_now, now, open_values
from web.trustview import add_trust_flags

bp = Blueprint("api", __name__, url_prefix="/api/v1")

CORS(
    bp,
    resources={r"/api/v1/(places.*|openapi\.json)": {}},
    origins="*",
    send_wildcard=True,
    supports_credentials=False,
    methods=["GET", "HEAD", "OPTIONS"],
    expose_headers=["ETag", "Link"],
    max_age=86400,
)

MAX_BIGINT = 2**63 - 1
# How far behind the present a changes feed stops: an import commits all its
# rows with the updated_at of its transaction's start, so a poll during a long
# import must not move past rows that are not yet visible.  Longer than any
# import transaction takes.
CHANGES_LAG = timedelta(minutes=5)
# A clusters request covers at most this many screen pixels each way: a view
# of a phone or a desktop, not the whole world at street level.
MAX_VIEW_PX = 8192
MAX_AGE_S = 60


def geojson_response(
    body: dict[str, Any], *, max_age_s: int = MAX_AGE_S, mimetype: str = "application/geo+json"
) -> Response:
    """Serialise ``body`` with a strong ETag and answer 304 when the client has it."""
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False),
        mimetype=mimetype,
    )
    response.headers["Cache-Control"] = f"public, max-age={max_age_s}"
    response.add_etag()
    return response.make_conditional(request)


def place_url(place_id: int) -> str:
    """Return the absolute URL of a place's page."""
    # url_for once per request, not once per feature: a collection has up to
    # 500 of them.
    prefix = g.get("place_url_prefix")
    if prefix is None:
        prefix = g.place_url_prefix = url_for(
            "finder.place", place_id=1, _external=True
        ).removesuffix("1")
    return f"{prefix}{place_id}"


def filters(*, with_q: bool = True) -> tuple[queries.PlaceQuery, datetime | None]:
    """Parse kind/amenity/q and the open filter; return the query and the instant to check."""
    args = request.args
    open_at = datetime_param(args, "open_at")
    if open_at is None and bool_param(args, "open_now"):
        open_at = now()
    where = queries.PlaceQuery(
        kinds=kinds_param(args),
        amenities=amenities_param(args),
        q=text_param(args, "q", max_len=openapi.MAX_Q) if with_q else None,
    )
    return where, open_at


def with_open_filter(
    where: queries.PlaceQuery,
    open_at: datetime | None,
    *,
    bbox: tuple[float, float, float, float] | None,
) -> queries.PlaceQuery:
    """Add the opening-hours values open at ``open_at`` to ``where`` (one extra small query)."""
    if open_at is None:
        return where
    values = queries.distinct_opening_hours(session(), bbox=bbox, where=where)
    return queries.PlaceQuery(
        kinds=where.kinds,
        amenities=where.amenities,
        statuses=where.statuses,
        q=where.q,
        city=where.city,
        open_hours=open_values(values, open_at),
    )


def page_links(next_cursor: str | None) -> list[dict[str, str]]:
    """Return the self link and, when there is more, the next link."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "cursor"]
    links = [{"rel": "self", "type": "application/geo+json", "href": request.url}]
    if next_cursor is not None:
        query = urlencode([*args, ("cursor", next_cursor)])
        links.append(
            {"rel": "next", "type": "application/geo+json", "href": f"{request.base_url}?{query}"}
        )
    return links


@bp.get("/places")
def list_places() -> ResponseReturnValue:
    """Places in a bounding box, filtered, by id, one page at a time."""
    bbox = bbox_param(request.args)
    where, open_at = filters()
    limit = int_param(request.args, "limit", default=100, lo=1, hi=openapi.MAX_LIMIT)
    assert limit is not None
    cursor = cursor_param(request.args)
    after_id = _cursor_int(cursor, 0) if cursor else None
    where = with_open_filter(where, open_at, bbox=bbox)
    rows = queries.list_places(session(), bbox=bbox, where=where, limit=limit, after_id=after_id)
    at = open_at or now()
    features = [feature(r, at=at, place_url=place_url) for r in rows]
    next_cursor = encode_cursor([rows[-1]["id"]]) if len(rows) == limit else None
    return geojson_response(feature_collection(features, links=page_links(next_cursor)))


@bp.get("/places/nearest")
def nearest() -> ResponseReturnValue:
    """The k nearest places to lon/lat, in metres on the ellipsoid."""
    lon, lat = lonlat_params(request.args)
    k = int_param(request.args, "k", default=5, lo=1, hi=openapi.MAX_K)
    assert k is not None
    radius_m = float_param(request.args, "radius_m", lo=0.0, hi=openapi.MAX_RADIUS_M)
    if radius_m is not None and radius_m <= 0:
        raise InvalidInput("radius_m must be more than 0 metres", field="radius_m")
    where, open_at = filters(with_q=False)
    keep = None
    if open_at is not None:
        at_instant = open_at

        def keep(row: dict[str, Any]) -> bool:
            return hours_now(row.get("opening_hours"), at_instant).is_open is True

    rows = queries.nearest_places(
        session(), lon, lat, k=k, radius_m=radius_m, where=where, keep=keep
    )
    at = open_at or now()
    features = [feature(r, at=at, place_url=place_url) for r in rows]
    return geojson_response(feature_collection(features))


@bp.get("/places/clusters")
def clusters() -> ResponseReturnValue:
    """Places grouped into screen-sized cells per kind, for one map view."""
    bbox = bbox_param(request.args, required=True)
    assert bbox is not None
    zoom = int_param(request.args, "zoom", default=None, lo=0, hi=22)
    if zoom is None:
        raise InvalidInput("zoom is missing; expected a whole number 0..22", field="zoom")
    _check_view_size(bbox, zoom)
    where, open_at = filters()
    at = open_at or now()
    if zoom > CACHED_MAX_ZOOM:
        body = cluster_body(bbox, zoom, where, open_at, at)
    else:
        # A province or country view aggregates tens of thousands of rows:
        # answer it for the tile-aligned box around the view, so that
        # neighbouring views share one cached answer for a minute.
        snapped = snap_bbox(bbox, zoom)
        minute = int(at.timestamp() // CLUSTER_CACHE_S)
        body = cluster_cache()(snapped, zoom, where, open_at, minute)
    return geojson_response(body)


CACHED_MAX_ZOOM = 8
CLUSTER_CACHE_S = 60


def cluster_body(
    bbox: tuple[float, float, float, float],
    zoom: int,
    where: queries.PlaceQuery,
    open_at: datetime | None,
    at: datetime,
) -> dict[str, Any]:
    """Run the clusters query and build the FeatureCollection."""
    where = with_open_filter(where, open_at, bbox=bbox)
    rows = queries.cluster_places(session(), bbox=bbox, zoom=zoom, where=where)
    return feature_collection([feature(r, at=at, place_url=place_url) for r in rows])


def cluster_cache() -> Any:
    """This app's memo of low-zoom cluster answers (per app: tests use many databases)."""
    cached = current_app.extensions.get("yitu.cluster_cache")
    if cached is None:

        @functools.lru_cache(maxsize=256)
        def cached(
            bbox: tuple[float, float, float, float],
            zoom: int,
            where: queries.PlaceQuery,
            open_at: datetime | None,
            minute: int,
        ) -> dict[str, Any]:
            # ``minute`` only makes entries expire; hours are evaluated now.
            return cluster_body(bbox, zoom, where, open_at, open_at or now())

        current_app.extensions["yitu.cluster_cache"] = cached
    return cached


def snap_bbox(
    bbox: tuple[float, float, float, float], zoom: int
) -> tuple[float, float, float, float]:
    """Grow ``bbox`` outward to the edges of the zoom's tiles (a degree grid)."""
    step = 360.0 / 2**zoom
    west = max(-180.0, math.floor(bbox[0] / step) * step)
    east = min(180.0, math.ceil(bbox[2] / step) * step)
    south = max(-90.0, math.floor(bbox[1] / step) * step)
    north = min(90.0, math.ceil(bbox[3] / step) * step)
    return (west, south, east, north)


def _mercator_y(lat: float) -> float:
    lat = max(min(lat, 85.05), -85.05)
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def _check_view_size(bbox: tuple[float, float, float, float], zoom: int) -> None:
    world_px = 256 * 2**zoom
    width_px = (bbox[2] - bbox[0]) / 360.0 * world_px
    height_px = (_mercator_y(bbox[3]) - _mercator_y(bbox[1])) / (2 * math.pi) * world_px
    if width_px > MAX_VIEW_PX or height_px > MAX_VIEW_PX:
        raise InvalidInput(
            f"bbox is {width_px:.0f} x {height_px:.0f} pixels at zoom {zoom}; "
            f"a view may be at most {MAX_VIEW_PX} pixels each way (zoom out or shrink the bbox)",
            field="bbox",
        )


@bp.get("/places/changes")
def changes() -> ResponseReturnValue:
    """Places changed since an instant, oldest first, every status."""
    since = datetime_param(request.args, "since")
    if since is None:
        raise InvalidInput("since is missing; expected an ISO 8601 date-time", field="since")
    limit = int_param(request.args, "limit", default=500, lo=1, hi=openapi.MAX_LIMIT)
    assert limit is not None
    cursor = cursor_param(request.args)
    if cursor:
        after_t = _cursor_time(cursor, 0)
        after = (after_t, _cursor_int(cursor, 1))
        until = _cursor_time(cursor, 2)
    else:
        after = None
        until = max(now() - CHANGES_LAG, since)
    rows = queries.changes_since(session(), since, until=until, after=after, limit=limit)
    features = [feature(r, place_url=place_url) for r in rows]
    add_trust_flags(features)  # open problems and fact freshness (issue 10)
    next_cursor = None
    if len(rows) == limit:
        last = rows[-1]
        next_cursor = encode_cursor([last["updated_at"].isoformat(), last["id"], until.isoformat()])
    body = feature_collection(features, links=page_links(next_cursor), until=until.isoformat())
    return geojson_response(body, max_age_s=0)


def _cursor_int(cursor: list[Any], index: int) -> int:
    try:
        value = cursor[index]
    except IndexError:
        value = None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_BIGINT:
        raise InvalidInput("cursor is not a cursor this API gave out", field="cursor")
    return value


def _cursor_time(cursor: list[Any], index: int) -> datetime:
    try:
        value = datetime.fromisoformat(cursor[index])
    except (IndexError, TypeError, ValueError):
        raise InvalidInput("cursor is not a cursor this API gave out", field="cursor") from None
    if value.tzinfo is None:
        raise InvalidInput("cursor is not a cursor this API gave out", field="cursor")
    return value


@bp.get("/places/<int:place_id>")
def place(place_id: int) -> ResponseReturnValue:
    """One place by id, whatever its status."""
    row = queries.get_place(session(), place_id) if 0 < place_id <= MAX_BIGINT else None
    if row is None:
        raise PlaceNotFound(f"no place has id {place_id}")
    return geojson_response(feature(row, at=now(), place_url=place_url))


@bp.get("/openapi.json")
def openapi_json() -> ResponseReturnValue:
    """The OpenAPI 3.1 document of this API."""
    document = openapi.openapi_document(server_url=request.host_url.rstrip("/") or "/")
    return geojson_response(document, max_age_s=3600, mimetype="application/json")


@bp.get("/docs")
def docs() -> ResponseReturnValue:
    """A readable page of the API, rendered from the OpenAPI document."""
    document = openapi.openapi_document(server_url=request.host_url.rstrip("/"))
    parameters = document["components"]["parameters"]
    operations = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            params = [
                parameters[ref["$ref"].rsplit("/", 1)[-1]] if "$ref" in ref else ref
                for ref in op.get("parameters", [])
            ]
            operations.append({"path": path, "method": method.upper(), "op": op, "params": params})
    return render_template(
        "api/docs.html", document=document, operations=operations, title=_("API")
    )
