"""The Yitu web app: ``create_app`` is the only entry point."""

from __future__ import annotations

import importlib
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

# Blueprint modules, each exposing ``bp``; an area adds its own line.
BLUEPRINTS: tuple[str, ...] = (
    "web.directory",
    "web.security",
    "web.auth",
    "web.admin",
    "web.cases",
    "web.audit",
    "web.finder",
    "web.api",
    "web.embed",
    "web.planner",
    "web.trust",
    "web.inspections",
    "web.ogc",
    "web.opendata",
    "web.health",
    "web.observability",
)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``YITU_*`` variables (or the test config)."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object("web.config.Defaults")
    if test_config is None:
        app.config.from_prefixed_env("YITU")
    else:
        app.config.update(test_config)
    check_secret_key(app)
    app.config["SECRET_KEY"] = app.config["SECRET_KEY"] or instance_secret(Path(app.instance_path))

    from web import assets, db, errors, escape, i18n, templating

    assets.init_app(app)
    db.init_app(app)
    errors.init_app(app)
    i18n.init_app(app)
    templating.init_app(app)
    escape.init_app(app)
    for name in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(name).bp)
    return app


# Secret keys copied from examples and old compose files: anyone can forge a session with them.
KNOWN_DEFAULT_SECRETS = frozenset(
    {
        "change-me-in-production",
        "change-me",
        "changeme",
        "secret",
        "dev",
        "development",
        "please-change-me",
        "your-secret-key",
        "yitu",
    }
)


def check_secret_key(app: Flask) -> None:
    """Refuse, outside debug and tests, a known-default key, or a missing one when required."""
    if app.debug or app.testing:
        return
    key = str(app.config.get("SECRET_KEY") or "")
    if key.strip().lower() in KNOWN_DEFAULT_SECRETS:
        raise RuntimeError(
            "YITU_SECRET_KEY is a known default value, so anyone could forge a login session; "
            "set it to a random value, e.g. python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'"
        )
    if not key and app.config.get("REQUIRE_SECRET_KEY"):
        raise RuntimeError(
            "YITU_SECRET_KEY is not set (YITU_REQUIRE_SECRET_KEY is on): set it from the env "
            "file or a secret, e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )


def instance_secret(instance: Path) -> str:
    """Return the secret key kept in ``instance/secret_key``, creating it once."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
