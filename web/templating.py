"""Template helpers shared by every page."""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale

from geo.places.vocabulary import (
    AMENITY_TERMS,
    HOST_TERMS,
    KIND_TERMS,
    SIX_HAVES,
    STATUS_TERMS,
    Term,
    term,
)


def label(terms: tuple[Term, ...], code: str | None) -> str:
    """Return the label of ``code`` in the request's language ('' for None)."""
    if not code:
        return ""
    try:
        found = term(terms, code)
    except KeyError:
        return code
    return found.en if str(get_locale()) == "en" else found.zh


def init_app(app: Flask) -> None:
    """Expose vocabulary labels to templates."""

    @app.context_processor
    def vocabulary() -> dict[str, object]:
        return {
            "kind_label": lambda c: label(KIND_TERMS, c),
            "amenity_label": lambda c: label(AMENITY_TERMS, c),
            "status_label": lambda c: label(STATUS_TERMS, c),
            "host_label": lambda c: label(HOST_TERMS, c),
            "six_have_label": lambda c: label(SIX_HAVES, c),
            "lang": str(get_locale()),
        }
