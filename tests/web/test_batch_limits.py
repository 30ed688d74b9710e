"""CLI commands run under the batch statement limit; web requests keep the web's.

The web's ``DATABASE_STATEMENT_TIMEOUT_MS`` is set to 1 ms: a request then
answers 503, while ``yitu import places`` (a real child process on a
throw-away database) still writes every row, because work outside a request
is capped by ``BATCH_STATEMENT_TIMEOUT_MS`` instead.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from tests.benchmarks.bench_import_million import import_command, stored_places, write_ledger
from tests.databases import fresh_database
from web import create_app
from web.db import session

TINY = {"DATABASE_STATEMENT_TIMEOUT_MS": 1, "BATCH_STATEMENT_TIMEOUT_MS": 60_000}


def test_an_import_is_not_cut_off_by_the_web_statement_timeout(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.csv"
    write_ledger(ledger, 5_000)
    with fresh_database() as url:
        result = import_command(ledger, url, **{k: str(v) for k, v in TINY.items()})
        assert result.returncode == 0, result.stderr[-2000:]
        assert stored_places(url) == 5_000


def test_requests_keep_the_web_limit_and_commands_get_the_batch_limit(
    app_config: dict[str, object], database_url: str
) -> None:
    app = create_app({**app_config, "SESSION_FACTORY": None, **TINY})
    try:
        response = app.test_client().get("/api/v1/places/nearest?lon=116.397&lat=39.909")
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) > 0
        with app.app_context():  # what a CLI command runs in
            assert session().scalar(text("SHOW statement_timeout")) == "1min"
    finally:
        app.extensions["yitu.db"].dispose()
