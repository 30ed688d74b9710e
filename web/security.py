"""Security headers, CSRF protection and cookie rules for every response.

Hand-written (about a hundred lines) rather than Flask-Talisman 1.1 because
Talisman (a) sets ``SESSION_COOKIE_SECURE`` back to True in a
``before_request`` hook whatever the config says, which breaks the
documented plain-http local setup; (b) mutates a view's
``talisman_view_options`` dict in place on every request; (c) trusts
``X-Forwarded-Proto`` from any client for HSTS.  What we need is small and
fully tested in ``tests/web/test_security_headers.py``:

- ``Content-Security-Policy``: ``default-src 'self'`` plus the tile host
  (images only), no inline script or style (maps serve their script from a
  same-origin route, see :mod:`web.maps`), ``frame-ancestors 'none'`` except
  on views marked :func:`frameable` (the embed routes), which get
  ``EMBED_FRAME_ANCESTORS``.
- ``X-Frame-Options: DENY`` alongside, for browsers without CSP level 2.
- ``Strict-Transport-Security`` only when the request came over HTTPS (as
  Werkzeug sees it; behind a reverse proxy set ``TRUSTED_PROXIES`` so
  ``X-Forwarded-Proto`` from that proxy, and only from it, is believed).
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy``,
  ``Permissions-Policy``, ``Cross-Origin-Opener-Policy``.
- ``Cache-Control: no-store`` on pages served to a logged-in user, so a
  shared computer's back button or a proxy cache never shows a household.
- CSRF (Flask-WTF) on every state-changing request outside ``/api/``; a
  form without its token gets 400.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import Blueprint, Flask, Response, current_app, request, session
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from web.tile_source import TileSource

bp = Blueprint("security", __name__)
csrf = CSRFProtect()

F = TypeVar("F", bound=Callable[..., Any])

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REFERRER_POLICY = "strict-origin-when-cross-origin"
PERMISSIONS_POLICY = "geolocation=(self), camera=(), microphone=(), payment=(), usb=()"
HSTS = "max-age=31536000; includeSubDomains"


def frameable(view: F) -> F:
    """Mark a view as embeddable in other sites' frames (``EMBED_FRAME_ANCESTORS``)."""
    view.frameable = True  # type: ignore[attr-defined]
    return view


def is_frameable(view: Callable[..., Any] | None) -> bool:
    """Return whether a view function was marked frameable (by us or by ``web.embed``)."""
    return bool(
        view is not None
        and (getattr(view, "frameable", False) or getattr(view, "yitu_frameable", False))
    )


def content_security_policy(*, tile_origins: Iterable[str], frame_ancestors: str) -> str:
    """Build the CSP header value for one response.

    Parameters
    ----------
    tile_origins : iterable of str, keyword-only
        Origins map tiles come from (:meth:`web.tile_source.TileSource.origins`,
        which expands ``{s}`` to exact hosts rather than a wildcard).
    frame_ancestors : str, keyword-only
        ``'none'`` for ordinary pages, the embed allow-list for embed views.
    """
    images = " ".join(("'self'", "data:", *tile_origins))
    directives = (
        ("default-src", "'self'"),
        ("img-src", images),
        ("script-src", "'self'"),
        ("style-src", "'self'"),
        ("connect-src", "'self'"),
        ("font-src", "'self'"),
        ("object-src", "'none'"),
        ("base-uri", "'self'"),
        ("form-action", "'self'"),
        ("frame-ancestors", frame_ancestors),
    )
    return "; ".join(f"{name} {value}" for name, value in directives)


def _tile_origins() -> tuple[str, ...]:
    cached = current_app.extensions.get("yitu.tile_origins")
    if cached is None:
        cached = TileSource.from_config(current_app.config).origins()
        current_app.extensions["yitu.tile_origins"] = cached
    return cached


@bp.after_app_request
def set_security_headers(response: Response) -> Response:
    """Add the security headers to every response of the app."""
    view = current_app.view_functions.get(request.endpoint or "")
    embed = is_frameable(view)
    ancestors = (current_app.config.get("EMBED_FRAME_ANCESTORS") or "*") if embed else "'none'"
    response.headers["Content-Security-Policy"] = content_security_policy(
        tile_origins=_tile_origins(), frame_ancestors=ancestors
    )
    if not embed:
        response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = REFERRER_POLICY
    response.headers["Permissions-Policy"] = PERMISSIONS_POLICY
    if not embed:
        # An embed must keep working inside a partner's window.
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = HSTS
    # Look at the session only when the request has a session cookie: reading
    # it adds "Vary: Cookie", which would make public API answers uncacheable.
    has_cookie = current_app.config.get("SESSION_COOKIE_NAME", "session") in request.cookies
    if has_cookie and "_user_id" in session and request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
        response.vary.add("Cookie")
    return response


@bp.before_app_request
def protect_forms() -> None:
    """Check the CSRF token of every state-changing request outside the JSON API.

    The JSON API under ``/api/`` authenticates no request by cookie, so a
    forged cross-site request carries no authority there; everything else
    (every HTML form) must carry the token.
    """
    if request.method in UNSAFE_METHODS and not request.path.startswith("/api/"):
        csrf.protect()


def init_app(app: Flask) -> None:
    """Turn on CSRF (checked by :func:`protect_forms`) and the cookie rules."""
    # Checked in protect_forms so the /api/ rule lives in one place.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 3600)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    # Flask-Login's remember-me cookie is never set (no "remember me"); make
    # it safe anyway should someone turn it on.
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True
    app.config["REMEMBER_COOKIE_SECURE"] = app.config.get("SESSION_COOKIE_SECURE", True)
    app.config["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    csrf.init_app(app)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        # Only as many X-Forwarded-* hops as there are proxies we run: a
        # client cannot spoof its address or scheme past them.
        app.wsgi_app = ProxyFix(
            app.wsgi_app,
            x_for=proxies,
            x_proto=proxies,  # type: ignore[method-assign]
            x_host=proxies,
        )


@bp.record_once
def _on_register(state: Any) -> None:
    init_app(state.app)
