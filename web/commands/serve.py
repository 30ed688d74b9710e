"""``yitu serve``: the app under gunicorn, a production-grade WSGI server."""

from __future__ import annotations

import os
import tempfile
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
    config = settings()
    return LOCAL_PROXIES if int(config["TRUSTED_PROXIES"] or 0) > 0 else ""


def settings() -> Config:
    """The app's settings as ``create_app`` reads them, without building an app."""
    config = Config(".")
    config.from_object("web.config.Defaults")
    config.from_prefixed_env("YITU")
    return config


def check_shared_limits(workers: int, storage_uri: str) -> None:
    """Refuse several workers whose rate-limit counters would each live in their own memory.

    With ``memory://`` every worker counts on its own, so N workers allow N
    times the documented login limit (issue 15 measured 28 of 40 attempts
    through with 3 workers).
    """
    if workers > 1 and storage_uri.startswith("memory://"):
        raise click.UsageError(
            f"{workers} workers with RATELIMIT_STORAGE_URI={storage_uri} would each keep "
            "their own rate-limit counters, multiplying the login limit by "
            f"{workers}. Set YITU_RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379/0 "
            "(shared counters) or run --workers 1."
        )


def worker_exited(_server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the shared metrics (gunicorn hook)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=3, show_default=True, type=int, help="Worker processes.")
@click.option("--threads", default=4, show_default=True, type=int, help="Threads per worker.")
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the app with gunicorn (not Flask's debug server)."""
    check_shared_limits(workers, str(settings()["RATELIMIT_STORAGE_URI"]))
    # Metrics of every worker in one /metrics: prometheus_client's multiprocess
    # mode keeps each worker's values in files under this folder.
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="yitu-metrics-")
    Server(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            # No gunicorn access log: web/observability.py writes one JSON line per
            # request with the route (never the path, which can hold household ids,
            # nor the query string, which carries riders' coordinates).
            "accesslog": None,
            "timeout": 30,
            "forwarded_allow_ips": forwarded_allow_ips(),
            "child_exit": worker_exited,
        }
    ).run()


def register(group: click.Group) -> None:
    """Attach ``serve`` to the CLI."""
    group.add_command(serve)
