"""Vector tiles (``/tiles``) and bulk downloads (``/data``) of the whole register.

- ``/tiles/places/{z}/{x}/{y}.mvt``: Mapbox Vector Tiles from PostGIS
  ``ST_AsMVT`` (:mod:`geo.db.tiles`), clustered below zoom 13.  Tiles of
  zoom 8 and below hold tens of thousands of places each: they are kept in
  each server process for a minute, like the clusters API.
- ``/tiles/places.json``: TileJSON 3.0 describing them.
- ``/data``: the current snapshot written by ``yitu export snapshot``
  (GeoParquet, GeoJSON, CSV, FlatGeobuf), the data dictionary and the
  licence (``OPENDATA_LICENCE``, CC BY 4.0 by default).

Public GET data: CORS ``*`` without credentials, strong ETags.
"""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_cors import CORS

from geo.errors import InvalidInput
from geo.opendata.dictionary import (
    COLUMNS,
    DEFAULT_LICENCE,
    DEFAULT_LICENCE_URL,
    SNAPSHOT_FILES,
)
from geo.opendata.tiles import AMENITY_BITS, MEDIA_TYPE, POINTS_MIN_ZOOM
from geo.service import opendata as service
from web.db import session

bp = Blueprint("opendata", __name__)
CORS(
    bp,
    resources={r"/(tiles|data)/.*": {}},
    origins="*",
    send_wildcard=True,
    supports_credentials=False,
    methods=["GET", "HEAD", "OPTIONS"],
    expose_headers=["ETag"],
    max_age=86400,
)

TILE_MAX_AGE_S = 300
CACHED_MAX_ZOOM = 8
TILE_CACHE_S = 60
MEDIA = {
    "places.parquet": "application/vnd.apache.parquet",
    "places.geojson": "application/geo+json",
    "places.csv": "text/csv; charset=utf-8",
    "places.fgb": "application/octet-stream",
    "manifest.json": "application/json",
}


@bp.errorhandler(InvalidInput)
def bad_input(exc: InvalidInput) -> Response:
    """Answer a bad tile address with problem details naming the part."""
    body = {
        "type": "about:blank",
        "title": "InvalidInput",
        "status": 400,
        "detail": str(exc),
        "field": exc.field,
    }
    return current_app.response_class(
        json.dumps(body, ensure_ascii=False), status=400, mimetype="application/problem+json"
    )


def tile_cache() -> Any:
    """This app's memo of low-zoom tiles (per app: tests use several databases)."""
    cached = current_app.extensions.get("yitu.tile_cache")
    if cached is None:

        @functools.lru_cache(maxsize=1024)
        def cached(z: int, x: int, y: int, minute: int) -> bytes:
            # ``minute`` only makes entries expire.
            return service.place_tile(session(), z, x, y)

        current_app.extensions["yitu.tile_cache"] = cached
    return cached


@bp.get("/tiles/places/<int:z>/<int:x>/<int:y>.mvt")
def tile(z: int, x: int, y: int) -> ResponseReturnValue:
    """One vector tile of places (layer ``places``); empty when no place is in it."""
    if z <= CACHED_MAX_ZOOM:
        data = tile_cache()(z, x, y, int(time.time() // TILE_CACHE_S))
    else:
        data = service.place_tile(session(), z, x, y)
    response = current_app.response_class(data, mimetype=MEDIA_TYPE)
    response.headers["Cache-Control"] = f"public, max-age={TILE_MAX_AGE_S}"
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/tiles/places.json")
def tilejson() -> ResponseReturnValue:
    """TileJSON 3.0 of the places tiles."""
    meta = service.tile_metadata()
    template = url_for("opendata.tile", z=0, x=0, y=0, _external=True).replace(
        "/0/0/0.mvt", "/{z}/{x}/{y}.mvt"
    )
    body = {"tilejson": "3.0.0", "tiles": [template], "attribution": licence()[0], **meta}
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False), mimetype="application/json"
    )
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def licence() -> tuple[str, str]:
    """The deployment's licence name and URL."""
    name = current_app.config.get("OPENDATA_LICENCE") or DEFAULT_LICENCE
    url = str(current_app.config.get("OPENDATA_LICENCE_URL") or "")
    if name != DEFAULT_LICENCE and url == DEFAULT_LICENCE_URL:
        url = ""  # another licence was chosen without its link: show no CC BY deed
    # Only web links: a setting must not put a javascript: URL into the page.
    return str(name), url if url.startswith(("https://", "http://")) else ""


def snapshot_dir() -> Path:
    """Where ``yitu export snapshot`` writes (``OPENDATA_DIR``, else instance/opendata)."""
    configured = current_app.config.get("OPENDATA_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "opendata"


@bp.get("/data")
def data_page() -> ResponseReturnValue:
    """The bulk downloads, the data dictionary, the licence and how to read them."""
    current = service.current_snapshot(snapshot_dir())
    name, url = licence()
    return render_template(
        "opendata/data.html",
        manifest=current[1] if current else None,
        columns=COLUMNS,
        licence_name=name,
        licence_url=url,
        amenity_bits=list(enumerate(AMENITY_BITS)),
        points_min_zoom=POINTS_MIN_ZOOM,
    )


@bp.get("/data/<name>")
def data_file(name: str) -> ResponseReturnValue:
    """One file of the current snapshot (only the names a snapshot holds)."""
    if name not in (*SNAPSHOT_FILES.values(), "manifest.json"):
        abort(404)
    current = service.current_snapshot(snapshot_dir())
    if current is None:
        abort(404)
    response = send_file(
        current[0] / name,
        mimetype=MEDIA[name],
        as_attachment=True,
        download_name=name,
        conditional=True,
        etag=True,
        max_age=300,
    )
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
