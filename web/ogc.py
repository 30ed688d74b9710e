"""OGC API - Features under ``/ogc``: landing, conformance, collections, items, one item.

Thin views over :mod:`geo.service.opendata`; parameters are parsed by
:mod:`geo.opendata.ogc` (errors are RFC 9457 problem details naming the
parameter).  GeoJSON by default for programs (GDAL, QGIS, ArcGIS), HTML for
browsers (``f=html`` or ``Accept: text/html``).  CRS84 by default; ``crs=``
EPSG:4326, EPSG:4490 (CGCS2000) or EPSG:3857 per Part 2, with a
``Content-Crs`` header.  CORS ``*`` without credentials, strong ETags.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_cors import CORS
from werkzeug.exceptions import NotFound

from geo.db.opendata import FeatureFilter, extents_by_kind
from geo.errors import InvalidInput
from geo.opendata.crs import CRS84, SERVED
from geo.opendata.dictionary import DEFAULT_LICENCE
from geo.opendata.ogc import (
    ALL_PLACES,
    COLLECTIONS,
    CONFORMANCE,
    openapi_document,
    parse_bbox,
    parse_crs,
    parse_datetime,
    parse_limit,
    rfc3339,
)
from geo.places.vocabulary import AMENITIES, CHINA_BBOX, KIND_TERMS, STATUSES, term
from geo.service import opendata as service
from web.db import session

bp = Blueprint("ogc", __name__, url_prefix="/ogc")
CORS(
    bp,
    resources={r"/ogc.*": {}},
    origins="*",
    send_wildcard=True,
    supports_credentials=False,
    methods=["GET", "HEAD", "OPTIONS"],
    expose_headers=["ETag", "Content-Crs", "Link"],
    max_age=86400,
)

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
MAX_AGE_S = 60
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
COMMON_PARAMS = frozenset({"f", "lang"})
ITEMS_PARAMS = COMMON_PARAMS | {
    "limit",
    "bbox",
    "bbox-crs",
    "crs",
    "datetime",
    "kind",
    "status",
    "amenity",
    "after",
    "before",
}
ITEM_PARAMS = COMMON_PARAMS | {"crs"}
TITLES = {ALL_PLACES: ("全部站点", "All places")} | {t.code: (t.zh, t.en) for t in KIND_TERMS}


@bp.errorhandler(InvalidInput)
def bad_input(exc: InvalidInput) -> Response:
    """Answer a bad parameter with problem details naming it."""
    return problem(400, "InvalidInput", str(exc), field=exc.field)


@bp.errorhandler(NotFound)
def not_found(exc: NotFound) -> Response:
    """Answer an unknown collection or feature with problem details."""
    return problem(404, "Not Found", exc.description or "not found")


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    """Return an RFC 9457 problem-details response."""
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        **{k: v for k, v in extra.items() if v is not None},
    }
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def wants_html() -> bool:
    """HTML when ``f=html``, JSON when ``f=json``; else what the Accept header prefers."""
    f = request.args.get("f")
    if f is not None:
        if f not in ("json", "html"):
            raise InvalidInput(f"f {f[:20]!r} is not served; use json or html", field="f")
        return f == "html"
    best = request.accept_mimetypes.best_match([GEOJSON, JSON, HTML])
    return best == HTML and request.accept_mimetypes[HTML] > request.accept_mimetypes[JSON]


def check_params(allowed: frozenset[str]) -> None:
    """Reject query parameters the API does not define (OGC API - Features /req/core)."""
    for name in request.args:
        if name not in allowed:
            raise InvalidInput(
                f"unknown parameter {name[:40]!r}; this route takes " + ", ".join(sorted(allowed)),
                field=name[:40],
            )


def json_response(
    body: dict[str, Any], *, mimetype: str = JSON, headers: dict[str, str] | None = None
) -> Response:
    """Serialise ``body`` with ETag, caching and any extra headers."""
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False),
        mimetype=mimetype,
    )
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE_S}"
    response.vary.add("Accept")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    response.add_etag()
    return response.make_conditional(request)


def html_response(template: str, **context: Any) -> Response:
    """Render an HTML page of the API (autoescaped; no inline script)."""
    response = current_app.response_class(render_template(template, **context), mimetype=HTML)
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE_S}"
    response.vary.add("Accept")
    return response


def link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    """Return an OGC link object."""
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def self_links(endpoint: str, html: bool, **values: Any) -> list[dict[str, str]]:
    """Return the self and alternate links of a JSON/HTML resource."""
    json_url = url_for(endpoint, _external=True, f="json", **values)
    html_url = url_for(endpoint, _external=True, f="html", **values)
    return [
        link(html_url if html else json_url, "self", HTML if html else JSON),
        link(json_url if html else html_url, "alternate", JSON if html else HTML),
    ]


@bp.get("", strict_slashes=False)
def landing() -> ResponseReturnValue:
    """The landing page: links to the API definition, conformance and collections."""
    check_params(COMMON_PARAMS)
    html = wants_html()
    body = {
        "title": "Yitu 驿图 open data",
        "description": "Trade-union service points for outdoor workers (OGC API - Features)",
        "links": [
            *self_links("ogc.landing", html),
            link(
                url_for("ogc.api", _external=True),
                "service-desc",
                OPENAPI,
                "OpenAPI 3.0 definition",
            ),
            link(
                url_for("ogc.conformance", _external=True),
                "conformance",
                JSON,
                "Conformance classes",
            ),
            link(url_for("ogc.collections", _external=True), "data", JSON, "Collections"),
            link(
                url_for("opendata.data_page", _external=True),
                "describedby",
                HTML,
                "Bulk downloads, data dictionary and licence",
            ),
        ],
    }
    if html:
        return html_response("ogc/landing.html", body=body)
    return json_response(body)


@bp.get("/api")
def api() -> ResponseReturnValue:
    """The OpenAPI 3.0 definition of these routes."""
    check_params(COMMON_PARAMS)
    document = openapi_document(
        base_url=url_for("ogc.landing", _external=True), title="Yitu OGC API - Features"
    )
    return json_response(document, mimetype=OPENAPI)


@bp.get("/conformance")
def conformance() -> ResponseReturnValue:
    """The conformance classes this API implements."""
    check_params(COMMON_PARAMS)
    body = {"conformsTo": list(CONFORMANCE)}
    if wants_html():
        return html_response("ogc/conformance.html", body=body)
    return json_response(body)


def collection_body(cid: str, extents: dict[str, dict[str, Any]], html: bool) -> dict[str, Any]:
    """Return the description of one collection (extent from the data, CRS list)."""
    parts = [extents[k] for k in extents if cid == ALL_PLACES or k == cid]
    boxes = [p["bbox"] for p in parts if p["bbox"][0] is not None]
    bbox = (
        [
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        ]
        if boxes
        else list(CHINA_BBOX)
    )
    starts = [p["start"] for p in parts if p["start"] is not None]
    ends = [p["end"] for p in parts if p["end"] is not None]
    interval = [rfc3339(min(starts)) if starts else None, rfc3339(max(ends)) if ends else None]
    zh, en = TITLES[cid]
    items = url_for("ogc.items", cid=cid, _external=True)
    return {
        "id": cid,
        "title": f"{zh} · {en}",
        "description": f"{en}: every status (filter with status=active for open ones)",
        "itemType": "feature",
        "extent": {
            "spatial": {"bbox": [bbox], "crs": CRS84.uri},
            "temporal": {"interval": [interval], "trs": TRS},
        },
        "crs": [c.uri for c in SERVED],
        "storageCrs": CRS84.uri,
        "links": [
            *self_links("ogc.collection", html, cid=cid),
            link(f"{items}?f=json", "items", GEOJSON, "Features as GeoJSON"),
            link(f"{items}?f=html", "items", HTML, "Features as HTML"),
            link(url_for("opendata.data_page", _external=True), "license", HTML, licence_name()),
        ],
    }


def licence_name() -> str:
    """The deployment's licence name (``OPENDATA_LICENCE``, CC BY 4.0 by default)."""
    return str(current_app.config.get("OPENDATA_LICENCE") or DEFAULT_LICENCE)


def known_collection(cid: str) -> str:
    """Return ``cid`` or raise 404 naming the collections served."""
    if cid not in COLLECTIONS:
        raise NotFound(f"no collection {cid[:40]!r}; collections: {', '.join(COLLECTIONS)}")
    return cid


@bp.get("/collections")
def collections() -> ResponseReturnValue:
    """Every collection: all places, then one per kind."""
    check_params(COMMON_PARAMS)
    html = wants_html()
    extents = extents_by_kind(session())
    body = {
        "links": self_links("ogc.collections", html),
        "collections": [collection_body(c, extents, html) for c in COLLECTIONS],
        "crs": [c.uri for c in SERVED],
    }
    if html:
        return html_response("ogc/collections.html", body=body)
    return json_response(body)


@bp.get("/collections/<cid>")
def collection(cid: str) -> ResponseReturnValue:
    """One collection's description."""
    check_params(COMMON_PARAMS)
    html = wants_html()
    body = collection_body(known_collection(cid), extents_by_kind(session()), html)
    if html:
        return html_response("ogc/collection.html", body=body)
    return json_response(body)


def list_param(name: str, vocabulary: tuple[str, ...]) -> tuple[str, ...]:
    """Return a comma-separated (or repeated) list of codes, each in ``vocabulary``."""
    values = [v.strip() for raw in request.args.getlist(name) for v in raw.split(",")]
    for value in values:
        if value not in vocabulary:
            raise InvalidInput(
                f"{name} {value[:40]!r} is not one of {', '.join(vocabulary)}", field=name
            )
    return tuple(dict.fromkeys(values))


def id_param(name: str) -> int | None:
    """Return a keyset id parameter (``after``/``before``), or None."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise InvalidInput(
            f"{name} must be a place id (a whole number); take the next or "
            "prev link rather than building it",
            field=name,
        )
    return int(raw)


@bp.get("/collections/<cid>/items")
def items(cid: str) -> ResponseReturnValue:
    """Features of a collection: bbox, datetime, kind/status/amenity filters, paged by id."""
    known_collection(cid)
    check_params(ITEMS_PARAMS)
    html = wants_html()
    args = request.args
    crs = parse_crs(args.get("crs"))
    bbox_crs = parse_crs(args.get("bbox-crs"), field="bbox-crs")
    updated = parse_datetime(args.get("datetime"))
    kinds = list_param("kind", tuple(COLLECTIONS[1:]))
    if cid != ALL_PLACES:
        # A kind's collection holds that kind only; kind= can narrow, not widen it.
        kinds = (cid,) if not kinds or cid in kinds else ("-no-such-kind-",)
    where = FeatureFilter(
        kinds=kinds,
        statuses=list_param("status", STATUSES),
        amenities=list_param("amenity", AMENITIES),
        bbox=parse_bbox(args.get("bbox"), bbox_crs=bbox_crs),
        updated_from=updated[0] if updated else None,
        updated_to=updated[1] if updated else None,
    )
    limit = parse_limit(args.get("limit"))
    after, before = id_param("after"), id_param("before")
    if after is not None and before is not None:
        raise InvalidInput("give after or before, not both", field="before")
    page = service.feature_page(
        session(), where, crs, limit=limit, after_id=after, before_id=before, url_of=place_url
    )
    links = page_links(page, html)
    body: dict[str, Any] = {"type": "FeatureCollection", "features": page.features}
    if page.number_matched is not None:
        body["numberMatched"] = page.number_matched
    body.update(numberReturned=len(page.features), links=links)
    headers = {"Content-Crs": f"<{crs.uri}>"}
    if html:
        response = html_response(
            "ogc/items.html", body=body, collection=cid, crs=crs, title=TITLES[cid]
        )
        response.headers.update(headers)
        return response
    return json_response(body, mimetype=GEOJSON, headers=headers)


def place_url(place_id: int) -> str:
    """The absolute URL of a place's page (its feature links back to the finder)."""
    return url_for("finder.place", place_id=place_id, _external=True)


def page_links(page: service.FeaturePage, html: bool) -> list[dict[str, str]]:
    """Self, alternate, next and prev links of an items page (keyset ids)."""
    kept = [(k, v) for k, v in request.args.items(multi=True) if k not in ("after", "before", "f")]

    def url(extra: list[tuple[str, str]], f: str) -> str:
        return f"{request.base_url}?{urlencode([*kept, *extra, ('f', f)])}"

    here = [(k, v) for k, v in request.args.items(multi=True) if k in ("after", "before")]
    me, other = ("html", "json") if html else ("json", "html")
    links = [
        link(url(here, me), "self", HTML if html else GEOJSON),
        link(url(here, other), "alternate", GEOJSON if html else HTML),
    ]
    if page.next_after is not None:
        links.append(
            link(
                url([("after", str(page.next_after))], me),
                "next",
                HTML if html else GEOJSON,
                "next page",
            )
        )
    if page.prev_before is not None:
        links.append(
            link(
                url([("before", str(page.prev_before))], me),
                "prev",
                HTML if html else GEOJSON,
                "previous page",
            )
        )
    return links


@bp.get("/collections/<cid>/items/<fid>")
def item(cid: str, fid: str) -> ResponseReturnValue:
    """One feature of a collection."""
    known_collection(cid)
    check_params(ITEM_PARAMS)
    html = wants_html()
    crs = parse_crs(request.args.get("crs"))
    if not fid.isascii() or not fid.isdigit() or len(fid) > 18:
        raise NotFound(f"no feature {fid[:40]!r} in {cid}")
    found = service.one_feature(
        session(), int(fid), crs, kind=None if cid == ALL_PLACES else cid, url=place_url(int(fid))
    )
    if found is None:
        raise NotFound(f"no feature {fid} in {cid}")
    found["links"] = [
        *self_links("ogc.item", html, cid=cid, fid=fid),
        link(url_for("ogc.collection", cid=cid, _external=True), "collection", JSON),
    ]
    headers = {"Content-Crs": f"<{crs.uri}>"}
    if html:
        response = html_response(
            "ogc/item.html",
            feature=found,
            collection=cid,
            crs=crs,
            kind_title=term(KIND_TERMS, found["properties"]["kind"]),
        )
        response.headers.update(headers)
        return response
    return json_response(found, mimetype=GEOJSON, headers=headers)
