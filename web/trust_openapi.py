"""OpenAPI entries of the workers' API (reports, confirmations, check-ins, receipts).

Merged into the API v1 document by :func:`web.openapi.openapi_document`;
``tests/web/test_api.py`` checks it against the routes and fuzzes it.
Texts are English, marked with ``N_`` for the docs page's translation.
"""

from __future__ import annotations

from typing import Any

from geo.places.vocabulary import AMENITIES
from geo.trust.reports import (
    CHECKIN_PURPOSES,
    HOURS_MAX_CHARS,
    REPORT_STATUSES,
    REPORT_TYPE_CODES,
    TEXT_MAX_CHARS,
)


def N_(text: str) -> str:  # noqa: N802 - gettext's conventional no-op marker
    """Mark ``text`` for translation without translating it now."""
    return text


MAX_BIGINT = 9223372036854775807
PLACE_ID = {
    "name": "place_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_BIGINT},
}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def _json(schema: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


BAD_INPUT = _problem(N_("A field is missing or wrong; field names it"))
NO_PLACE = _problem(N_("No place has this id"))
TOO_MANY = {
    **_problem(
        N_("Too many requests from this client or for this place; retry after Retry-After seconds")
    ),
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
}
TOO_LARGE = _problem(N_("The photo (or the whole request) is too large"))
UNAVAILABLE = _problem(N_("The database is unavailable; retry after Retry-After seconds"))

REPORT_FIELDS: dict[str, Any] = {
    "type": {"type": "string", "enum": list(REPORT_TYPE_CODES), "description": N_("What is wrong")},
    "amenity": {
        "type": ["string", "null"],
        "enum": [*AMENITIES, None],
        "description": N_("For amenity_missing: which listed amenity"),
    },
    "text": {
        "type": ["string", "null"],
        "maxLength": TEXT_MAX_CHARS,
        "description": N_("Free text (required for other); public only after moderation"),
    },
    "proposed_hours": {
        "type": ["string", "null"],
        "maxLength": HOURS_MAX_CHARS,
        "description": N_("For wrong_hours: the real hours, as written"),
    },
    "lon": {
        "type": ["number", "null"],
        "minimum": 73,
        "maximum": 136,
        "description": N_("For wrong_location: WGS-84 longitude"),
    },
    "lat": {
        "type": ["number", "null"],
        "minimum": 3,
        "maximum": 54,
        "description": N_("For wrong_location: WGS-84 latitude"),
    },
}

SCHEMAS: dict[str, Any] = {
    "NewReport": {"type": "object", "required": ["type"], "properties": REPORT_FIELDS},
    "NewReportWithPhoto": {
        "type": "object",
        "required": ["type"],
        "properties": {
            **{k: {"type": "string"} for k in REPORT_FIELDS},
            "type": REPORT_FIELDS["type"],
            "photo": {
                "type": "string",
                "format": "binary",
                "description": N_(
                    "JPEG, PNG or WebP, at most 5 MB; re-encoded, "
                    "metadata removed, public only after moderation"
                ),
            },
        },
    },
    "ReportStatus": {
        "type": "object",
        "required": ["receipt", "place_id", "type", "status", "created_at", "updated_at"],
        "properties": {
            "receipt": {"type": "string", "pattern": "^[0-9A-HJKMNP-TV-Z]{10}$"},
            "place_id": {"type": "integer"},
            "type": {"type": "string", "enum": list(REPORT_TYPE_CODES)},
            "amenity": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": list(REPORT_STATUSES)},
            "public_reason": {
                "type": ["string", "null"],
                "description": N_("The moderator's public reason"),
            },
            "public_text": {
                "type": ["string", "null"],
                "description": N_("The reporter's words, once approved"),
            },
            "photo_url": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "status_page": {"type": "string"},
        },
    },
    "NewConfirmation": {
        "type": "object",
        "properties": {
            "facts": {
                "type": "array",
                "minItems": 1,
                "maxItems": 40,
                "items": {"type": "string", "pattern": "^(all|place|hours|amenity:[a-z_]+)$"},
                "description": N_(
                    "Facts found true: all, place, hours or amenity:<code> (default all)"
                ),
            }
        },
    },
    "Confirmed": {
        "type": "object",
        "required": ["place_id", "new"],
        "properties": {
            "place_id": {"type": "integer"},
            "new": {
                "type": "integer",
                "minimum": 0,
                "description": N_("Confirmations that were new today"),
            },
        },
    },
    "NewCheckin": {
        "type": "object",
        "properties": {"purpose": {"type": ["string", "null"], "enum": [*CHECKIN_PURPOSES, None]}},
    },
    "CheckedIn": {
        "type": "object",
        "required": ["place_id", "counted"],
        "properties": {"place_id": {"type": "integer"}, "counted": {"type": "boolean"}},
    },
}


def _post(
    op_id: str,
    summary: str,
    description: str,
    body: dict[str, Any],
    created: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "post": {
            "operationId": op_id,
            "summary": summary,
            "description": description,
            "parameters": [PLACE_ID],
            "requestBody": body,
            "responses": {
                "201": created,
                "400": BAD_INPUT,
                "404": NO_PLACE,
                "413": TOO_LARGE,
                "429": TOO_MANY,
                "503": UNAVAILABLE,
                **(extra or {}),
            },
        }
    }


def _body(schema: str, *, required: bool, multipart: str | None = None) -> dict[str, Any]:
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
    if multipart:
        content["multipart/form-data"] = {"schema": {"$ref": f"#/components/schemas/{multipart}"}}
    return {"required": required, "content": content}


PATHS: dict[str, Any] = {
    "/api/v1/places/{place_id}/reports": _post(
        "fileReport",
        N_("Report a problem"),
        N_(
            "A worker reports a typed problem about a place, with an optional photo "
            "(multipart). No account. Answers a receipt code; the same report from the same "
            "client on the same day answers the first receipt (200)."
        ),
        _body("NewReport", required=True, multipart="NewReportWithPhoto"),
        _json("ReportStatus", N_("Report filed")),
        {"200": _json("ReportStatus", N_("The same report was already filed today"))},
    ),
    "/api/v1/places/{place_id}/confirmations": _post(
        "confirmFacts",
        N_("Confirm facts"),
        N_(
            "A worker confirms that a place is as listed, or single facts (open now, each "
            "amenity). Counted once per fact per client per day; only confirmations make facts "
            "fresh."
        ),
        _body("NewConfirmation", required=False),
        _json("Confirmed", N_("Counted")),
    ),
    "/api/v1/places/{place_id}/checkins": _post(
        "checkIn",
        N_("Check in"),
        N_(
            "A worker used this place, optionally saying what for. Counted per place and hour; "
            "nothing personal is kept."
        ),
        _body("NewCheckin", required=False),
        _json("CheckedIn", N_("Counted")),
    ),
    "/api/v1/reports/{receipt}": {
        "get": {
            "operationId": "reportStatus",
            "summary": N_("Follow a report"),
            "description": N_(
                "A report's status (received, confirmed, fixed, rejected) and the "
                "moderator's public reason, by receipt code."
            ),
            "parameters": [
                {
                    "name": "receipt",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 20},
                }
            ],
            "responses": {
                "200": _json("ReportStatus", N_("The report")),
                "400": BAD_INPUT,
                "404": _problem(N_("No report has this receipt")),
                "503": UNAVAILABLE,
            },
        }
    },
}
