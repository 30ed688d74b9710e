"""The place directory: every stored place as a plain, paged list."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from geo.db.catalog import PlaceFilter, district_summary, list_places
from geo.errors import InvalidInput
from geo.places.vocabulary import KINDS
from web.db import session
from web.params import int_param
from web.trustview import problem_badges

bp = Blueprint("directory", __name__)
PER_PAGE = 100
# Far beyond any real directory, and its offset stays well inside a bigint.
MAX_PAGE = 1_000_000


def page_number() -> int:
    """Return the ``page`` query parameter (1-based), refusing nonsense."""
    page = int_param(request.args, "page", default=1, lo=1, hi=MAX_PAGE)
    assert page is not None
    return page


@bp.get("/places")
def index() -> ResponseReturnValue:
    """List places, optionally by kind and district, 100 to a page."""
    kind = request.args.get("kind") or None
    if kind is not None and kind not in KINDS:
        raise InvalidInput(
            f"kind {kind!r} is unknown; expected one of {', '.join(KINDS)}", field="kind"
        )
    where = PlaceFilter(kind=kind, district=request.args.get("district") or None)
    page = page_number()
    rows, total = list_places(session(), where, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    return render_template(
        "directory.html",
        places=rows,
        total=total,
        page=page,
        per_page=PER_PAGE,
        summary=district_summary(session(), PlaceFilter(kind=kind)),
        kind=kind,
        kinds=KINDS,
        any_demo=any(r["is_demo"] for r in rows),
        badges=problem_badges([r["id"] for r in rows]),
    )
