"""Low data on a weak signal: compressed responses and static files with content-hashed names.

- Every response the app builds is compressed (brotli, else gzip) by
  Flask-Compress when the browser accepts it: HTML, GeoJSON, JSON, scripts.
- ``url_for("static", filename="js/finder.js")`` gives
  ``/static/js/finder.<hash>.js`` (12 hex digits of the file's SHA-256).  That
  name never changes meaning, so it is sent with
  ``Cache-Control: public, max-age=31536000, immutable``: a rider's phone
  fetches Leaflet once, not on every visit.  The plain name still works
  (``no-cache``, revalidated by ETag), and so does an old hash after a
  deploy (served the current file, ``no-cache``).
- Static files are served here rather than by Flask's ``send_file``:
  Flask-Compress skips streamed (``direct_passthrough``) responses, so the
  files are read, compressed once per process and memoised by path and
  modification time (they are small: Leaflet is the largest at 148 KB).
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import brotli
from flask import Flask, Response, abort, current_app, request
from flask_compress import Compress
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"
HASH_DIGITS = 12
_HASHED = re.compile(
    r"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{12})(?P<ext>\.[A-Za-z0-9]+)$"
)  # HASH_DIGITS
# Worth compressing: text.  Images and fonts are compressed already.
_TEXT_TYPES = (
    "text/",
    "application/javascript",
    "application/json",
    "image/svg+xml",
    "application/manifest+json",
    "application/geo+json",
)
_MIN_BYTES = 512


@dataclass(frozen=True)
class StaticFile:
    """One static file, read once, with its compressed forms."""

    body: bytes
    mimetype: str
    digest: str
    gzip: bytes | None
    br: bytes | None


@lru_cache(maxsize=512)
def _load(path: str, mtime_ns: int) -> StaticFile:
    # mtime_ns is part of the key: an edited file is read again.
    del mtime_ns
    body = Path(path).read_bytes()
    mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
    digest = hashlib.sha256(body).hexdigest()[:HASH_DIGITS]
    squeeze = mimetype.startswith(_TEXT_TYPES) and len(body) >= _MIN_BYTES
    return StaticFile(
        body=body,
        mimetype=mimetype,
        digest=digest,
        gzip=gzip.compress(body, compresslevel=9, mtime=0) if squeeze else None,
        br=brotli.compress(body, quality=11) if squeeze else None,
    )


def _static_file(app: Flask, filename: str) -> StaticFile | None:
    folder = app.static_folder
    path = safe_join(folder, filename) if folder else None
    if path is None:
        return None
    file = Path(path)
    if not file.is_file():
        return None
    return _load(str(file), file.stat().st_mtime_ns)


def hashed_name(app: Flask, filename: str) -> str:
    """Return ``filename`` with its content hash before the extension, or unchanged if absent."""
    found = _static_file(app, filename)
    if found is None:
        return filename
    stem, dot, ext = filename.rpartition(".")
    if not dot or "/" in ext:
        return filename
    return f"{stem}.{found.digest}.{ext}"


def _hash_static_urls(endpoint: str, values: dict[str, Any]) -> None:
    if endpoint == "static" and isinstance(values.get("filename"), str):
        values["filename"] = hashed_name(current_app, values["filename"])


def serve_static(filename: str) -> Response:
    """Serve a file under ``web/static/``, by its plain or content-hashed name."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    immutable = False
    found = _static_file(app, filename)
    match = _HASHED.match(filename)
    if found is None and match:
        found = _static_file(app, match["stem"] + match["ext"])
        immutable = found is not None and found.digest == match["hash"]
    if found is None:
        abort(404)
    accepts = request.accept_encodings
    body, encoding = found.body, None
    if found.br is not None and accepts["br"]:
        body, encoding = found.br, "br"
    elif found.gzip is not None and accepts["gzip"]:
        body, encoding = found.gzip, "gzip"
    response = Response(body, mimetype=found.mimetype)
    if encoding:
        response.headers["Content-Encoding"] = encoding
    if found.gzip is not None:
        response.vary.add("Accept-Encoding")
    response.set_etag(found.digest + (f"-{encoding}" if encoding else ""))
    response.headers["Cache-Control"] = IMMUTABLE if immutable else "no-cache"
    return response.make_conditional(request)


def init_app(app: Flask) -> None:
    """Compress responses and serve static files under content-hashed names."""
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_MIN_SIZE", _MIN_BYTES)
    app.config.setdefault(
        "COMPRESS_MIMETYPES",
        [
            "text/html",
            "text/css",
            "text/plain",
            "text/xml",
            "text/javascript",
            "application/javascript",
            "application/json",
            "application/geo+json",
            "application/problem+json",
            "application/manifest+json",
            "image/svg+xml",
        ],
    )
    Compress(app)
    app.url_defaults(_hash_static_urls)
    app.view_functions["static"] = serve_static
