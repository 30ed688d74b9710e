"""Benchmark: how fast the app answers 503 when its database goes away, and recovers.

Run:  .venv/bin/python tests/benchmarks/bench_db_outage.py [--repeat 20]

Creates a scratch database on YITU_DATABASE_URL's server (dropped at the
end) and puts the TCP proxy of ``tests/web/test_db_restart.py`` between the
app and PostgreSQL.  Prints medians (milliseconds) of:

- ``up``: GET /api/v1/places with the database up (the baseline);
- ``refused``: the same request while the proxy is stopped (a restart);
- ``stuck``: while the proxy accepts connections and never answers (bounded
  by the engine's 2 s connect timeout);
- ``stuck, pooled``: the same, with a live pooled connection whose bytes the
  proxy now holds (bounded by the 2 s pre-ping deadline, then the connect
  timeout of the replacement connection);
- ``first after return``: the first request once the proxy is back (the
  pooled connection is dead; ``pool_pre_ping`` replaces it);

and each one's ratio to the baseline.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import statistics
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from geo.db.engine import database_url  # noqa: E402
from geo.db.migrate import create_database, drop_database, upgrade  # noqa: E402
from tests.web.test_db_restart import TcpProxy  # noqa: E402
from web import create_app  # noqa: E402

console = Console()


def timed(client, url: str) -> tuple[float, int]:  # noqa: ANN001
    start = time.perf_counter()
    response = client.get(url)
    return (time.perf_counter() - start) * 1000, response.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    logging.getLogger("web.errors").setLevel(logging.ERROR)  # one warning per 503 is noise here
    base = make_url(database_url(None))
    url = base.set(database=f"yitu_bench_{secrets.token_hex(4)}")
    create_database(url.render_as_string(hide_password=False))
    proxy = TcpProxy((base.host or "127.0.0.1", base.port or 5432))
    proxy.start()
    try:
        upgrade(url.render_as_string(hide_password=False))
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "bench",
                "SESSION_COOKIE_SECURE": False,
                "DATABASE_URL": url.set(host="127.0.0.1", port=proxy.port).render_as_string(
                    hide_password=False
                ),
            }
        )
        client = app.test_client()
        endpoint = "/api/v1/places"
        timings: dict[str, list[float]] = {
            "up": [],
            "refused": [],
            "stuck": [],
            "stuck, pooled": [],
            "first after return": [],
        }
        codes: dict[str, set[int]] = {k: set() for k in timings}
        timed(client, endpoint)  # warm the pool
        for _ in range(args.repeat):
            for label in ("up",):
                ms, code = timed(client, endpoint)
                timings[label].append(ms)
                codes[label].add(code)
            proxy.stop()
            ms, code = timed(client, endpoint)
            timings["refused"].append(ms)
            codes["refused"].add(code)
            proxy.start()
            ms, code = timed(client, endpoint)
            timings["first after return"].append(ms)
            codes["first after return"].add(code)
        for _ in range(max(3, args.repeat // 5)):
            proxy.paused = True
            proxy.stop()
            proxy.start()  # drop the pooled connection so the next one hits the pause
            ms, code = timed(client, endpoint)
            timings["stuck"].append(ms)
            codes["stuck"].add(code)
            proxy.paused = False
            proxy.stop()
            proxy.start()
            timed(client, endpoint)
            proxy.paused = True  # the pooled connection is live: its ping meets the pause
            ms, code = timed(client, endpoint)
            timings["stuck, pooled"].append(ms)
            codes["stuck, pooled"].add(code)
            proxy.paused = False
            timed(client, endpoint)
        app.extensions["yitu.db"].engine.dispose()
        baseline = statistics.median(timings["up"])
        table = Table(
            title=f"GET {endpoint}: median of {args.repeat} (stuck ones: "
            f"{len(timings['stuck'])}) runs"
        )
        for column in ("database", "median ms", "x baseline", "statuses"):
            table.add_column(column)
        for label, values in timings.items():
            median = statistics.median(values)
            table.add_row(
                label,
                f"{median:.1f}",
                f"{median / baseline:.1f}",
                ",".join(map(str, sorted(codes[label]))),
            )
        console.print(table)
    finally:
        proxy.paused = False
        proxy.stop()
        drop_database(url.render_as_string(hide_password=False))


if __name__ == "__main__":
    main()
