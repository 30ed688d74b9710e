"""The OpenAPI 3.1 document of the public API v1 (served at ``/api/v1/openapi.json``).

Written by hand, as data, next to the code it describes: the routes are few,
and a framework that derives the document from decorators (apispec,
flask-smarest) would be a second dependency to keep in step.
``tests/web/test_api.py`` checks the document against the routes and fuzzes
the API from it with schemathesis, so it cannot drift silently.

Texts are English (the language of API documents); they are marked with
``N_`` so ``scripts/i18n.sh`` extracts them and the docs page
(``/api/v1/docs``) shows them translated.
"""

from __future__ import annotations

from typing import Any

from geo.places.vocabulary import AMENITIES, KINDS, SIX_HAVE_KEYS, STATUSES
from web import trust_openapi

__all__ = ["N_", "openapi_document"]

API_VERSION = "1.0.0"
MAX_K = 50
MAX_LIMIT = 500
MAX_RADIUS_M = 200_000.0
MAX_Q = 100


def N_(text: str) -> str:  # noqa: N802 - gettext's conventional no-op marker
    """Mark ``text`` for translation without translating it now."""
    return text


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema["type"]
    return {**schema, "type": [kind, "null"]}


def _param(
    name: str,
    schema: dict[str, Any],
    description: str,
    *,
    required: bool = False,
    explode: bool | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }
    if explode is not None:
        out["style"] = "form"
        out["explode"] = explode
    return out


PARAMS: dict[str, dict[str, Any]] = {
    "lon": _param(
        "lon",
        {"type": "number", "minimum": 73, "maximum": 136},
        N_("Longitude, WGS-84 degrees (inside China)."),
        required=True,
    ),
    "lat": _param(
        "lat",
        {"type": "number", "minimum": 3, "maximum": 54},
        N_("Latitude, WGS-84 degrees (inside China)."),
        required=True,
    ),
    "k": _param(
        "k",
        {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 5},
        N_("How many places to return, at most 50."),
    ),
    "radius_m": _param(
        "radius_m",
        {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_RADIUS_M},
        N_("Ignore places farther than this, in metres."),
    ),
    "kind": _param(
        "kind",
        {"type": "array", "items": {"type": "string", "enum": list(KINDS)}},
        N_("Keep places of these kinds (repeat the parameter or separate with commas)."),
        explode=True,
    ),
    "amenity": _param(
        "amenity",
        {"type": "array", "items": {"type": "string", "enum": list(AMENITIES)}},
        N_("Keep places offering all of these amenities."),
        explode=True,
    ),
    "open_now": _param(
        "open_now",
        {"type": "boolean", "default": False},
        N_("Keep only places open now (China time); places with unknown hours are left out."),
    ),
    "open_at": _param(
        "open_at",
        {"type": "string", "format": "date-time"},
        N_("Keep only places open at this instant (ISO 8601; without an offset it is China time)."),
    ),
    "bbox": _param(
        "bbox",
        {"type": "string", "pattern": r"^-?\d+(\.\d+)?(,-?\d+(\.\d+)?){3}$"},
        N_("Bounding box min_lon,min_lat,max_lon,max_lat in WGS-84 degrees."),
    ),
    "q": _param(
        "q",
        {"type": "string", "maxLength": MAX_Q},
        N_("Text to find in the name, address, district or city."),
    ),
    "limit": _param(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100},
        N_("Page size, at most 500."),
    ),
    "cursor": _param(
        "cursor", {"type": "string"}, N_("Opaque cursor from the previous page's next link.")
    ),
    "since": _param(
        "since",
        {"type": "string", "format": "date-time"},
        N_("Return places changed after this instant (ISO 8601)."),
        required=True,
    ),
    "zoom": _param(
        "zoom",
        {"type": "integer", "minimum": 0, "maximum": 22},
        N_("Web map zoom level of the view."),
        required=True,
    ),
}

POINT = {
    "type": "object",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {"const": "Point"},
        "coordinates": {
            "type": "array",
            "items": {"type": "number"},
            "minItems": 2,
            "maxItems": 2,
            "description": N_("lon, lat in WGS-84 degrees"),
        },
    },
}

PLACE_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer"},
    "kind": {"type": "string", "enum": list(KINDS)},
    "name": {"type": "string"},
    "name_en": _nullable({"type": "string"}),
    "status": {"type": "string", "enum": list(STATUSES)},
    "address": _nullable({"type": "string"}),
    "province": _nullable({"type": "string"}),
    "city": _nullable({"type": "string"}),
    "district": _nullable({"type": "string"}),
    "adcode": _nullable({"type": "string"}),
    "amenities": {"type": "array", "items": {"type": "string", "enum": list(AMENITIES)}},
    "opening_hours": _nullable(
        {"type": "string", "description": N_("OpenStreetMap opening_hours syntax")}
    ),
    "opening_hours_text": _nullable(
        {"type": "string", "description": N_("Hours as the ledger wrote them")}
    ),
    "open_now": _nullable(
        {"type": "boolean", "description": N_("Open at the time asked for; null when unknown")}
    ),
    "closes_at": _nullable({"type": "string", "description": N_("Next closing time, HH:MM")}),
    "opens_at": _nullable(
        {"type": "string", "description": N_("Next opening, ISO 8601 China time")}
    ),
    "host_type": _nullable({"type": "string"}),
    "build_mode": _nullable({"type": "string"}),
    "capacity": _nullable({"type": "integer"}),
    "phone": _nullable({"type": "string"}),
    "managing_union": _nullable({"type": "string"}),
    "station_no": _nullable({"type": "string"}),
    "six_haves": {"type": "object", "properties": {k: {"type": "boolean"} for k in SIX_HAVE_KEYS}},
    "last_verified": _nullable({"type": "string", "format": "date"}),
    "is_demo": {"type": "boolean"},
    "updated_at": {"type": "string", "format": "date-time"},
    "url": {"type": "string", "description": N_("The place's page")},
}
NEAREST_PROPERTIES = {
    **PLACE_PROPERTIES,
    "distance_m": {"type": "number", "description": N_("Metres on the WGS-84 ellipsoid")},
    "walk_min": {"type": "integer", "description": N_("Minutes on foot at 5 km/h, straight line")},
    "ride_min": {
        "type": "integer",
        "description": N_("Minutes by bicycle or e-bike at 15 km/h, straight line"),
    },
}


def _feature(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"const": "Feature"},
            "id": {"type": ["integer", "string"]},
            "geometry": POINT,
            "properties": {"type": "object", "required": required, "properties": properties},
        },
    }


def _collection(feature_ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": {"const": "FeatureCollection"},
            "features": {"type": "array", "items": {"$ref": feature_ref}},
            "numberReturned": {"type": "integer"},
            "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}},
        },
    }


SCHEMAS: dict[str, Any] = {
    "Place": _feature(PLACE_PROPERTIES, ["id", "kind", "name", "status", "amenities"]),
    "NearPlace": _feature(
        NEAREST_PROPERTIES, ["id", "kind", "name", "distance_m", "walk_min", "ride_min"]
    ),
    "Cluster": _feature(
        {
            "cluster": {"type": "boolean"},
            "count": {"type": "integer", "minimum": 1},
            "kind": {"type": "string", "enum": list(KINDS)},
            **{k: v for k, v in PLACE_PROPERTIES.items() if k not in ("kind",)},
        },
        ["cluster", "count", "kind"],
    ),
    "PlaceCollection": _collection("#/components/schemas/Place"),
    "NearestCollection": _collection("#/components/schemas/NearPlace"),
    "ClusterCollection": _collection("#/components/schemas/Cluster"),
    "ChangesCollection": {
        **_collection("#/components/schemas/Place"),
        "properties": {
            **_collection("#/components/schemas/Place")["properties"],
            "until": {
                "type": "string",
                "format": "date-time",
                "description": N_("Pass this as since= on the next poll"),
            },
        },
    },
    "Link": {
        "type": "object",
        "required": ["rel", "href"],
        "properties": {
            "rel": {"type": "string"},
            "href": {"type": "string"},
            "type": {"type": "string"},
        },
    },
    "Problem": {
        "type": "object",
        "description": N_("RFC 9457 problem details"),
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "field": {"type": "string", "description": N_("The parameter that was wrong")},
        },
    },
}


def _ok(schema: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {
            "ETag": {"schema": {"type": "string"}},
            "Cache-Control": {"schema": {"type": "string"}},
        },
        "content": {"application/geo+json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


NOT_MODIFIED = {"description": N_("Not modified since the ETag sent in If-None-Match")}
BAD_INPUT = _problem(N_("A parameter is missing or wrong; field names it"))
UNAVAILABLE = _problem(N_("The database is unavailable; retry after Retry-After seconds"))


def _get(
    summary: str, description: str, params: list[str], responses: dict[str, Any], op_id: str
) -> dict[str, Any]:
    return {
        "get": {
            "operationId": op_id,
            "summary": summary,
            "description": description,
            "parameters": [{"$ref": f"#/components/parameters/{p}"} for p in params],
            "responses": {**responses, "304": NOT_MODIFIED, "503": UNAVAILABLE},
        }
    }


PATHS: dict[str, Any] = {
    "/api/v1/places": _get(
        N_("List places"),
        N_(
            "Places inside a bounding box (or everywhere), filtered, by ascending id, "
            "one page at a time; follow the next link for more."
        ),
        ["bbox", "kind", "amenity", "open_now", "open_at", "q", "limit", "cursor"],
        {"200": _ok("PlaceCollection", N_("A page of places")), "400": BAD_INPUT},
        "listPlaces",
    ),
    "/api/v1/places/nearest": _get(
        N_("Nearest places"),
        N_(
            "The k places nearest to a point, ranked by metres on the WGS-84 ellipsoid, "
            "with distance and walking and riding time estimates."
        ),
        ["lon", "lat", "k", "radius_m", "kind", "amenity", "open_now", "open_at"],
        {"200": _ok("NearestCollection", N_("Nearest first")), "400": BAD_INPUT},
        "nearestPlaces",
    ),
    "/api/v1/places/clusters": _get(
        N_("Places grouped for a map view"),
        N_(
            "For a map view: places grouped into cells of about 64 screen pixels per kind, "
            "so a whole-country view stays small. Cells holding one place carry its "
            "properties."
        ),
        ["bbox", "zoom", "kind", "amenity", "open_now", "open_at", "q"],
        {"200": _ok("ClusterCollection", N_("One feature per cell and kind")), "400": BAD_INPUT},
        "clusterPlaces",
    ),
    "/api/v1/places/changes": _get(
        N_("Changes since"),
        N_(
            "Places changed after an instant, oldest change first, every status included "
            "(closed places tell a copy to drop them). Poll again with since= the until "
            "value of the last page."
        ),
        ["since", "limit", "cursor"],
        {"200": _ok("ChangesCollection", N_("Changed places")), "400": BAD_INPUT},
        "placeChanges",
    ),
    "/api/v1/places/{place_id}": {
        "get": {
            "operationId": "getPlace",
            "summary": N_("One place"),
            "description": N_("One place by id, whatever its status."),
            "parameters": [
                {
                    "name": "place_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 9223372036854775807},
                }
            ],
            "responses": {
                "200": _ok("Place", N_("The place")),
                "304": NOT_MODIFIED,
                "404": _problem(N_("No place has this id")),
                "503": UNAVAILABLE,
            },
        }
    },
}


def openapi_document(*, server_url: str = "/") -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of API v1.

    Parameters
    ----------
    server_url
        Base URL of this deployment, for the ``servers`` entry.
    """
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Yitu API",
            "version": API_VERSION,
            "summary": N_("Trade-union stations for outdoor workers in China, as GeoJSON."),
            "description": N_(
                "Read-only, public, no key. Coordinates are WGS-84 lon, lat (RFC 7946). "
                "Errors are RFC 9457 problem details naming the parameter. Responses "
                "carry ETag and Cache-Control; CORS allows any origin without credentials."
            ),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": server_url}],
        "paths": {**PATHS, **trust_openapi.PATHS},
        "components": {"parameters": PARAMS, "schemas": {**SCHEMAS, **trust_openapi.SCHEMAS}},
    }
