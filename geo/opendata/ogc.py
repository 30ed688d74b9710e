"""OGC API - Features (Part 1 core, Part 2 CRS): parameters and static documents.

Parsing is strict and names the parameter on every error, so the web layer
can answer RFC 9457 problem details: a bbox that is not four (or six) finite
numbers, inverted or outside the world; a ``datetime`` that is not an RFC
3339 instant or interval; a ``limit`` out of range.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from geo.errors import InvalidInput
from geo.opendata.crs import CRS84, SERVED, ServedCRS, served_crs, to_lonlat_bbox
from geo.opendata.dictionary import flat_record, json_value
from geo.places import KINDS

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
# The collection of every place, then one per kind.
ALL_PLACES = "places"
COLLECTIONS: tuple[str, ...] = (ALL_PLACES, *KINDS)
CHINA_TIME = timezone(timedelta(hours=8))

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


def parse_bbox(text: str | None, *, bbox_crs: ServedCRS = CRS84,
               field: str = "bbox") -> tuple[float, float, float, float] | None:
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
            f"heights; got {len(parts) if text.strip() else 0}", field=field)
    numbers = [parse_number(p, field=field) for p in parts]
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    west, south, east, north = to_lonlat_bbox(
        (numbers[0], numbers[1], numbers[2], numbers[3]), bbox_crs)
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90
            and -90 <= north <= 90):
        raise InvalidInput(f"{field} lies outside the world (lon -180..180, lat -90..90 in "
                           f"{bbox_crs.label})", field=field)
    if west > east:
        raise InvalidInput(f"{field} west {west:g} is east of east {east:g}; boxes across the "
                           "antimeridian are not supported", field=field)
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
        raise InvalidInput(f"{field} {text[:60]!r} is not an RFC 3339 date-time such as "
                           "2025-01-31T08:00:00Z", field=field) from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=CHINA_TIME)
    if not 1970 <= instant.year <= 2200:
        raise InvalidInput(f"{field} year {instant.year} is outside 1970..2200", field=field)
    return instant


def parse_datetime(text: str | None, *, field: str = "datetime"
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
        raise InvalidInput(f"{field} {text[:40]!r} is not a whole number 1..{MAX_LIMIT}",
                           field=field)
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

    Parameters
    ----------
    base_url
        Absolute URL of the landing page (``.../ogc``), the server of the document.
    """
    def param(name: str, schema: dict[str, Any], description: str, *,
              where: str = "query", required: bool = False, explode: bool = False
              ) -> dict[str, Any]:
        out: dict[str, Any] = {"name": name, "in": where, "required": required,
                               "schema": schema, "description": description}
        if where == "query":
            out.update(style="form", explode=explode)
        return out

    crs_enum = [c.uri for c in SERVED]
    params = {
        "collectionId": param("collectionId", {"type": "string", "enum": list(COLLECTIONS)},
                              "places, or one kind", where="path", required=True),
        "featureId": param("featureId", {"type": "integer", "minimum": 1}, "place id",
                           where="path", required=True),
        "limit": param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                 "default": DEFAULT_LIMIT}, "page size"),
        "bbox": param("bbox", {"type": "array", "minItems": 4, "maxItems": 6,
                               "items": {"type": "number"}},
                      "min_lon,min_lat,max_lon,max_lat (in bbox-crs, CRS84 by default)"),
        "bbox-crs": param("bbox-crs", {"type": "string", "format": "uri", "enum": crs_enum},
                          "CRS of bbox"),
        "crs": param("crs", {"type": "string", "format": "uri", "enum": crs_enum},
                     "CRS of the answer's coordinates"),
        "datetime": param("datetime", {"type": "string"},
                          "updated_at: an RFC 3339 instant or start/end ('..' open)"),
        "kind": param("kind", {"type": "string", "enum": list(KINDS)}, "kind of place"),
        "status": param("status", {"type": "string"}, "status (active, suspended, closed, "
                        "planned); comma-separated for several"),
        "amenity": param("amenity", {"type": "string"},
                         "amenity codes, comma-separated; a place must offer all"),
        "f": param("f", {"type": "string", "enum": ["json", "html"]}, "format"),
    }

    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/components/parameters/{name}"}

    def op(op_id: str, summary: str, names: list[str], media: str) -> dict[str, Any]:
        return {"get": {
            "operationId": op_id, "summary": summary, "parameters": [ref(n) for n in names],
            "responses": {"200": {"description": summary,
                                  "content": {media: {"schema": {"type": "object"}},
                                              "text/html": {"schema": {"type": "string"}}}},
                          "400": {"description": "invalid parameter (problem details)"},
                          "404": {"description": "not found"}},
        }}

    item_params = ["collectionId", "limit", "bbox", "bbox-crs", "crs", "datetime", "kind",
                   "status", "amenity", "f"]
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": "1.0.0",
                 "description": "OGC API - Features (Part 1 core, Part 2 CRS) for places "
                                "serving outdoor workers", "license": {"name": "see /data"}},
        "servers": [{"url": base_url}],
        "paths": {
            "/": op("getLandingPage", "landing page", ["f"], "application/json"),
            "/conformance": op("getConformance", "conformance classes", ["f"],
                               "application/json"),
            "/collections": op("getCollections", "collections", ["f"], "application/json"),
            "/collections/{collectionId}": op("describeCollection", "one collection",
                                              ["collectionId", "f"], "application/json"),
            "/collections/{collectionId}/items": op("getFeatures", "features", item_params,
                                                    "application/geo+json"),
            "/collections/{collectionId}/items/{featureId}": op(
                "getFeature", "one feature", ["collectionId", "featureId", "crs", "f"],
                "application/geo+json"),
        },
        "components": {"parameters": params},
    }


def feature(row: dict[str, Any], crs: ServedCRS, *, url: str | None = None) -> dict[str, Any]:
    """Return a place row (``x``/``y`` in ``crs``'s SRID) as a GeoJSON feature.

    Coordinates follow the axis order of ``crs`` (lat/lon for EPSG:4326 and
    EPSG:4490); degrees keep 7 decimals (1 cm), metres 2.  Properties are the
    data dictionary's flat record (without ``lon``/``lat``) plus ``url``.
    """
    x, y = float(row["x"]), float(row["y"])
    digits = 2 if crs.srid == 3857 else 7
    coords = [round(y, digits), round(x, digits)] if crs.lat_first else [
        round(x, digits), round(y, digits)]
    props = {k: json_value(v) for k, v in flat_record(row).items() if k not in ("id", "lon", "lat")}
    if url is not None:
        props["url"] = url
    return {"type": "Feature", "id": int(row["id"]),
            "geometry": {"type": "Point", "coordinates": coords}, "properties": props}
