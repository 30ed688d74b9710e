"""OGC API - Features (Part 1 core, Part 2 CRS): parameters and static documents.

Parsing is strict and names the parameter on every error, so the web layer
can answer RFC 9457 problem details: a bbox that is not four (or six) finite
numbers, inverted or outside the world; a ``datetime`` that is not an RFC
3339 instant or interval; a ``limit`` out of range.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from geo.errors import InvalidInput
from geo.opendata.crs import (
    CRS84,
    MERCATOR_HALF_WORLD_M,
    SERVED,
    ServedCRS,
    served_crs,
    to_lonlat_bbox,
)
from geo.opendata.dictionary import flat_record, json_value
from geo.places.timezone import SHANGHAI
from geo.places.vocabulary import AMENITIES, KINDS, STATUSES

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
# The collection of every place, then one per kind.
ALL_PLACES = "places"
COLLECTIONS: tuple[str, ...] = (ALL_PLACES, *KINDS)
CHINA_TIME = SHANGHAI

CONFORMANCE: tuple[str, ...] = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
)
# A plain decimal number: no full-width digits, underscores, hex or "nan".
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", re.ASCII)


def parse_number(text: str, *, field: str) -> float:
    """Return a finite decimal number written in ASCII, or raise ``InvalidInput``."""
    value = text.strip()
    if not _NUMBER.fullmatch(value):
        raise InvalidInput(f"{field} value {text[:40]!r} is not a decimal number", field=field)
    number = float(value)
    if not math.isfinite(number):
        raise InvalidInput(f"{field} value {text[:40]!r} is not finite", field=field)
    return number


def parse_bbox(
    text: str | None, *, bbox_crs: ServedCRS = CRS84, field: str = "bbox"
) -> tuple[float, float, float, float] | None:
    """Parse an OGC ``bbox`` into WGS-84 ``(west, south, east, north)`` degrees.

    Parameters
    ----------
    text
        Four numbers (or six, with heights, which are ignored), comma
        separated, in the axis order of ``bbox_crs``.  None: no bbox.
    bbox_crs
        The CRS of the numbers (``bbox-crs``); CRS84 by default.

    Raises
    ------
    InvalidInput
        Empty, not 4 or 6 numbers, not finite, inverted, or outside the world.
    """
    if text is None:
        return None
    parts = text.split(",")
    if len(parts) not in (4, 6):
        raise InvalidInput(
            f"{field} must be 4 numbers (min_lon,min_lat,max_lon,max_lat in CRS84) or 6 with "
            f"heights; got {len(parts) if text.strip() else 0}",
            field=field,
        )
    numbers = [parse_number(p, field=field) for p in parts]
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if bbox_crs.srid == 3857 and any(abs(v) > MERCATOR_HALF_WORLD_M * 1.0000001 for v in numbers):
        raise InvalidInput(
            f"{field} lies outside the Web Mercator world (|x|, |y| <= "
            f"{MERCATOR_HALF_WORLD_M:.2f} m)",
            field=field,
        )
    west, south, east, north = to_lonlat_bbox(
        (numbers[0], numbers[1], numbers[2], numbers[3]), bbox_crs
    )
    if not (
        -180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90 and -90 <= north <= 90
    ):
        raise InvalidInput(
            f"{field} lies outside the world (lon -180..180, lat -90..90 in {bbox_crs.label})",
            field=field,
        )
    if west > east:
        raise InvalidInput(
            f"{field} west {west:g} is east of east {east:g}; boxes across the "
            "antimeridian are not supported",
            field=field,
        )
    if south > north:
        raise InvalidInput(f"{field} south {south:g} is north of north {north:g}", field=field)
    return west, south, east, north


def parse_instant(text: str, *, field: str = "datetime") -> datetime:
    """Return an aware instant from RFC 3339 text (a date means its China midnight)."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{field} {text[:60]!r} is not an RFC 3339 date-time such as 2025-01-31T08:00:00Z",
            field=field,
        ) from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=CHINA_TIME)
    if not 1970 <= instant.year <= 2200:
        raise InvalidInput(f"{field} year {instant.year} is outside 1970..2200", field=field)
    return instant


def parse_datetime(
    text: str | None, *, field: str = "datetime"
) -> tuple[datetime | None, datetime | None] | None:
    """Parse an OGC ``datetime``: an instant, or ``start/end`` with ``..`` for open ends.

    Returns
    -------
    tuple or None
        ``(start, end)`` inclusive aware instants (either may be None for an
        open end); an instant gives ``(t, t)``.  None when absent.
    """
    if text is None:
        return None
    if not text.strip():
        raise InvalidInput(f"{field} is empty; expected an instant or start/end", field=field)
    if "/" not in text:
        instant = parse_instant(text, field=field)
        return instant, instant
    start_text, _, end_text = text.partition("/")
    start = None if start_text.strip() in ("", "..") else parse_instant(start_text, field=field)
    end = None if end_text.strip() in ("", "..") else parse_instant(end_text, field=field)
    if start is not None and end is not None and start > end:
        raise InvalidInput(f"{field} starts after it ends", field=field)
    return start, end


def parse_limit(text: str | None, *, field: str = "limit") -> int:
    """Return the page size: ``DEFAULT_LIMIT`` when absent, else 1..``MAX_LIMIT``."""
    if text is None:
        return DEFAULT_LIMIT
    if not re.fullmatch(r"[0-9]{1,9}", text.strip(), re.ASCII):
        raise InvalidInput(
            f"{field} {text[:40]!r} is not a whole number 1..{MAX_LIMIT}", field=field
        )
    value = int(text)
    if not 1 <= value <= MAX_LIMIT:
        raise InvalidInput(f"{field} {value} is outside 1..{MAX_LIMIT}", field=field)
    return value


def parse_crs(text: str | None, *, field: str = "crs") -> ServedCRS:
    """Return the CRS asked for (``crs`` or ``bbox-crs``), CRS84 by default."""
    return served_crs(text, field=field)


def rfc3339(value: datetime) -> str:
    """Return an aware instant as RFC 3339 UTC text."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def openapi_document(*, base_url: str, title: str) -> dict[str, Any]:
    """Return the OpenAPI 3.0 description of the ``/ogc`` routes.

    Parameters and answers are described as the parser and the views treat
    them (lists of codes as comma-separated arrays of enums, problem details
    for 400 and 404), so that a fuzzer can hold the two to one truth
    (``tests/web/test_ogc_schemathesis.py``).  What a schema cannot say (a
    bbox's west below its east, dates that exist) is checked by the parser.

    Parameters
    ----------
    base_url
        Absolute URL of the landing page (``.../ogc``), the server of the document.
    """

    def param(
        name: str,
        schema: dict[str, Any],
        description: str,
        *,
        where: str = "query",
        required: bool = False,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": name,
            "in": where,
            "required": required,
            "schema": schema,
            "description": description,
        }
        if where == "query":
            out.update(style="form", explode=False)
        return out

    def codes(vocabulary: tuple[str, ...]) -> dict[str, Any]:
        return {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "enum": list(vocabulary)},
        }

    crs_enum = [c.uri for c in SERVED]
    params = {
        "collectionId": param(
            "collectionId",
            {"type": "string", "enum": list(COLLECTIONS)},
            "places, or one kind",
            where="path",
            required=True,
        ),
        "featureId": param(
            "featureId",
            {"type": "string", "pattern": "^[1-9][0-9]{0,17}$"},
            "place id",
            where="path",
            required=True,
        ),
        "limit": param(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            "page size",
        ),
        "bbox": param(
            "bbox",
            {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
            "min_lon,min_lat,max_lon,max_lat (in bbox-crs, CRS84 by default)",
        ),
        "bbox-crs": param(
            "bbox-crs", {"type": "string", "format": "uri", "enum": crs_enum}, "CRS of bbox"
        ),
        "crs": param(
            "crs",
            {"type": "string", "format": "uri", "enum": crs_enum},
            "CRS of the answer's coordinates",
        ),
        "datetime": param(
            "datetime",
            {"type": "string", "minLength": 1},
            "updated_at: an RFC 3339 instant or start/end ('..' open)",
        ),
        "kind": param("kind", codes(KINDS), "kinds of place"),
        "status": param("status", codes(STATUSES), "statuses"),
        "amenity": param("amenity", codes(AMENITIES), "amenities; a place must offer all"),
        "after": param(
            "after",
            {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
            "next page: places after this id (take the next link)",
        ),
        "before": param(
            "before",
            {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
            "previous page: places before this id (take the prev link)",
        ),
        "f": param("f", {"type": "string", "enum": ["json", "html"]}, "format"),
    }
    link = {
        "type": "object",
        "required": ["href", "rel"],
        "properties": {
            "href": {"type": "string"},
            "rel": {"type": "string"},
            "type": {"type": "string"},
            "title": {"type": "string"},
        },
    }
    point = {
        "type": "object",
        "required": ["type", "coordinates"],
        "properties": {
            "type": {"enum": ["Point"]},
            "coordinates": {
                "type": "array",
                "minItems": 2,
                "maxItems": 2,
                "items": {"type": "number"},
            },
        },
    }
    feature_schema = {
        "type": "object",
        "required": ["type", "id", "geometry", "properties"],
        "properties": {
            "type": {"enum": ["Feature"]},
            "id": {"type": "integer"},
            "geometry": point,
            "properties": {"type": "object", "required": ["kind", "name", "status"]},
        },
    }
    schemas = {
        "link": link,
        "feature": feature_schema,
        "featureCollection": {
            "type": "object",
            "required": ["type", "features", "numberReturned", "links"],
            "properties": {
                "type": {"enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": {"$ref": "#/components/schemas/feature"}},
                "numberMatched": {"type": "integer", "minimum": 0},
                "numberReturned": {"type": "integer", "minimum": 0},
                "links": {"type": "array", "items": {"$ref": "#/components/schemas/link"}},
            },
        },
        "landingPage": {
            "type": "object",
            "required": ["links"],
            "properties": {
                "links": {"type": "array", "items": {"$ref": "#/components/schemas/link"}}
            },
        },
        "conformance": {
            "type": "object",
            "required": ["conformsTo"],
            "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}},
        },
        "collection": {
            "type": "object",
            "required": ["id", "links"],
            "properties": {
                "id": {"type": "string"},
                "links": {"type": "array", "items": {"$ref": "#/components/schemas/link"}},
                "crs": {"type": "array", "items": {"type": "string"}},
            },
        },
        "collections": {
            "type": "object",
            "required": ["links", "collections"],
            "properties": {
                "collections": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/collection"},
                }
            },
        },
        "problem": {
            "type": "object",
            "required": ["title", "status", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "field": {"type": "string"},
            },
        },
    }

    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/components/parameters/{name}"}

    def problem(description: str) -> dict[str, Any]:
        return {
            "description": description,
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/problem"}}
            },
        }

    def op(
        op_id: str,
        summary: str,
        names: list[str],
        media: str,
        schema: str,
        *,
        crs_header: bool = False,
        not_found: bool = False,
    ) -> dict[str, Any]:
        ok: dict[str, Any] = {
            "description": summary,
            "content": {
                media: {"schema": {"$ref": f"#/components/schemas/{schema}"}},
                "text/html": {"schema": {"type": "string"}},
            },
        }
        if crs_header:
            ok["headers"] = {
                "Content-Crs": {
                    "schema": {"type": "string"},
                    "description": "CRS of the coordinates, <uri>",
                }
            }
        responses: dict[str, Any] = {
            "200": ok,
            "304": {"description": "not modified"},
            "400": problem("a parameter is invalid; field names it"),
        }
        if not_found:
            responses["404"] = problem("no such collection or feature")
        return {
            "get": {
                "operationId": op_id,
                "summary": summary,
                "parameters": [ref(n) for n in names],
                "responses": responses,
            }
        }

    item_params = [
        "collectionId",
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
        "f",
    ]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": title,
            "version": "1.0.0",
            "description": "OGC API - Features (Part 1 core, Part 2 CRS) for places "
            "serving outdoor workers",
            "license": {"name": "see /data"},
        },
        "servers": [{"url": base_url}],
        "paths": {
            "/": op("getLandingPage", "landing page", ["f"], "application/json", "landingPage"),
            "/conformance": op(
                "getConformance", "conformance classes", ["f"], "application/json", "conformance"
            ),
            "/collections": op(
                "getCollections", "collections", ["f"], "application/json", "collections"
            ),
            "/collections/{collectionId}": op(
                "describeCollection",
                "one collection",
                ["collectionId", "f"],
                "application/json",
                "collection",
                not_found=True,
            ),
            "/collections/{collectionId}/items": op(
                "getFeatures",
                "features",
                item_params,
                "application/geo+json",
                "featureCollection",
                crs_header=True,
                not_found=True,
            ),
            "/collections/{collectionId}/items/{featureId}": op(
                "getFeature",
                "one feature",
                ["collectionId", "featureId", "crs", "f"],
                "application/geo+json",
                "feature",
                crs_header=True,
                not_found=True,
            ),
        },
        "components": {"parameters": params, "schemas": schemas},
    }


def feature(row: dict[str, Any], crs: ServedCRS, *, url: str | None = None) -> dict[str, Any]:
    """Return a place row (``x``/``y`` in ``crs``'s SRID) as a GeoJSON feature.

    Coordinates follow the axis order of ``crs`` (lat/lon for EPSG:4326 and
    EPSG:4490); degrees keep 7 decimals (1 cm), metres 2.  Properties are the
    data dictionary's flat record (without ``lon``/``lat``) plus ``url``.
    """
    x, y = float(row["x"]), float(row["y"])
    digits = 2 if crs.srid == 3857 else 7
    coords = (
        [round(y, digits), round(x, digits)]
        if crs.lat_first
        else [round(x, digits), round(y, digits)]
    )
    props = {k: json_value(v) for k, v in flat_record(row).items() if k not in ("id", "lon", "lat")}
    if url is not None:
        props["url"] = url
    return {
        "type": "Feature",
        "id": int(row["id"]),
        "geometry": {"type": "Point", "coordinates": coords},
        "properties": props,
    }
