"""``yitu serve``: the app under gunicorn, a production-grade WSGI server."""

from __future__ import annotations

from typing import Any

import click
from flask import Config
from gunicorn.app.base import BaseApplication

from web import create_app

# The proxy addresses gunicorn believes X-Forwarded-Proto from when TRUSTED_PROXIES > 0.
LOCAL_PROXIES = "127.0.0.1,::1"


class Server(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    """Gunicorn configured from Python instead of a config file."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Copy our options into gunicorn's settings."""
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """Build one app per worker (after fork: no shared connections)."""
        return create_app()


def forwarded_allow_ips() -> str:
    """Gunicorn's ``forwarded_allow_ips`` from ``TRUSTED_PROXIES``: none when it is 0.

    Gunicorn's own default trusts ``X-Forwarded-Proto`` from 127.0.0.1, which
    would turn on HSTS and https URLs for any local client even when the
    app trusts no proxy.  The setting is read as ``create_app`` reads it
    (defaults, then ``YITU_*``) without building an app in the master
    process, which would take the household key out of the environment
    before the workers start.
    """
    config = Config(".")
    config.from_object("web.config.Defaults")
    config.from_prefixed_env("YITU")
    return LOCAL_PROXIES if int(config["TRUSTED_PROXIES"] or 0) > 0 else ""


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=3, show_default=True, type=int, help="Worker processes.")
@click.option("--threads", default=4, show_default=True, type=int, help="Threads per worker.")
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the app with gunicorn (not Flask's debug server)."""
    Server(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "accesslog": "-",
            # Path only: query strings carry riders' coordinates, which stay out of logs.
            "access_log_format": '%(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms',
            "timeout": 30,
            "forwarded_allow_ips": forwarded_allow_ips(),
        }
    ).run()


def register(group: click.Group) -> None:
    """Attach ``serve`` to the CLI."""
    group.add_command(serve)
