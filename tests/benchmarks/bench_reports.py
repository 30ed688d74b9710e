"""Benchmark the workers' API: report and confirmation POSTs on 127.0.0.1.

What it does, in one run:

1. creates a scratch database (``yitu_bench_<random>``), migrates it and adds
   ``--places`` stations;
2. serves the app with gunicorn (gthread workers), with ``TRUSTED_PROXIES=1``
   so each request can name its client in ``X-Forwarded-For`` (as nginx would):
   the load comes from many synthetic workers, not one address the rate
   limiter would stop at once;
3. runs ``--connections`` keep-alive connections for ``--duration`` seconds,
   each POSTing, at random, a report (closed, locked, or an amenity missing) or
   a one-tap confirmation for a random station from a random client address;
4. prints p50, p99, requests per second, how many were refused by the rate
   limits (429, counted apart) and errors (anything else that is not 2xx, or
   a failed connection); then checks the database holds what was answered,
   and drops it.

Usage::

    .venv/bin/python tests/benchmarks/bench_reports.py [--places 500] [--workers 2]
        [--threads 8] [--duration 10] [--connections 16] [--redis] [--keep]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from geo.db.engine import database_url as configured_url  # noqa: E402
from geo.db.engine import make_engine  # noqa: E402
from geo.db.migrate import create_database, drop_database, upgrade  # noqa: E402
from geo.db.models import Place  # noqa: E402

CENTRE = (101.778, 36.617)  # Xining
REPORTS = (
    {"type": "closed_in_hours"},
    {"type": "locked"},
    {"type": "amenity_missing", "amenity": "hot_water"},
)


def load_places(url: str, n: int) -> list[int]:
    """Insert ``n`` stations around Xining and return their ids."""
    rng = random.Random(7)
    engine = make_engine(url)
    with engine.begin() as conn:
        rows = [
            {
                "kind": "station",
                "name": f"基准驿站{i}号（测试数据）",
                "source": "bench",
                "external_id": f"b{i}",
                "source_crs": "wgs84",
                "is_demo": True,
                "amenities": ["water", "hot_water", "toilet"],
                "opening_hours": "24/7",
                "adcode": "630103",
                "station_no": f"BENCH-{i:05d}",
                "geom": f"SRID=4326;POINT({CENTRE[0] + rng.uniform(-0.1, 0.1):.6f} "
                f"{CENTRE[1] + rng.uniform(-0.05, 0.05):.6f})",
            }
            for i in range(n)
        ]
        ids = list(conn.execute(insert(Place).returning(Place.id), rows).scalars())
        conn.execute(text("ANALYZE places"))
    engine.dispose()
    return ids


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_gunicorn(
    url: str, port: int, *, workers: int, threads: int, redis: bool
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "YITU_DATABASE_URL": url,
        "YITU_SECRET_KEY": secrets.token_hex(16),
        "YITU_SESSION_COOKIE_SECURE": "false",
        "YITU_TRUSTED_PROXIES": "1",
        "PYTHONPATH": str(ROOT),
    }
    if redis:
        env["YITU_RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:6379/0"
        env["YITU_TRUST_RATELIMIT_PREFIX"] = f"yitu-bench-{secrets.token_hex(4)}"
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "-w",
            str(workers),
            "-k",
            "gthread",
            "--threads",
            str(threads),
            "-b",
            f"127.0.0.1:{port}",
            "--chdir",
            str(ROOT),
            "--log-level",
            "warning",
            "web:create_app()",
        ],
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/openapi.json")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("gunicorn did not start")


def run_load(
    port: int, ids: list[int], *, connections: int, duration_s: float
) -> tuple[list[float], Counter[str], Counter[str]]:
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    lock = threading.Lock()
    stop = time.monotonic() + duration_s

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[float] = []
        seen: Counter[str] = Counter()
        done: Counter[str] = Counter()
        while time.monotonic() < stop:
            place = rng.choice(ids)
            client = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            if rng.random() < 0.5:
                path, body, kind = (
                    f"/api/v1/places/{place}/reports",
                    rng.choice(REPORTS),
                    "report",
                )
            else:
                path, body, kind = (
                    f"/api/v1/places/{place}/confirmations",
                    {"facts": ["all"]},
                    "confirmation",
                )
            data = json.dumps(body).encode()
            started = time.perf_counter()
            try:
                conn.request(
                    "POST",
                    path,
                    body=data,
                    headers={"Content-Type": "application/json", "X-Forwarded-For": client},
                )
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            mine.append(time.perf_counter() - started)
            seen[kind] += 1
            done[
                "2xx" if 200 <= status < 300 else ("429" if status == 429 else f"error {status}")
            ] += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            outcomes.update(done)
            kinds.update(seen)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, outcomes, kinds


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--places", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--redis",
        action="store_true",
        help="keep the rate-limit counters in Redis at 127.0.0.1:6379",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    base = make_url(configured_url(os.environ.get("YITU_TEST_DATABASE_URL")))
    url = base.set(database=f"yitu_bench_{secrets.token_hex(4)}").render_as_string(
        hide_password=False
    )
    create_database(url)
    proc = None
    try:
        upgrade(url)
        ids = load_places(url, args.places)
        port = free_port()
        proc = start_gunicorn(
            url, port, workers=args.workers, threads=args.threads, redis=args.redis
        )
        latencies, outcomes, kinds = run_load(
            port, ids, connections=args.connections, duration_s=args.duration
        )
        engine = make_engine(url)
        with engine.connect() as conn:
            reports = conn.scalar(text("SELECT count(*) FROM trust_reports"))
            confirmations = conn.scalar(text("SELECT count(*) FROM trust_confirmations"))
        engine.dispose()
        total = len(latencies)
        print(
            f"bench_reports: {args.connections} connections, {args.duration:.0f} s, "
            f"gunicorn {args.workers} workers x {args.threads} threads, "
            f"{args.places} stations, limits in {'Redis' if args.redis else 'memory'}"
        )
        print(f"  requests      {total} ({dict(kinds)})")
        print(f"  throughput    {total / args.duration:.0f} requests/s")
        print(
            f"  latency       p50 {percentile(latencies, 0.50) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, "
            f"mean {statistics.fmean(latencies) * 1000:.1f} ms"
        )
        print(f"  answers       {dict(outcomes)}")
        errors = sum(n for k, n in outcomes.items() if k.startswith("error"))
        print(f"  errors        {errors}")
        print(
            f"  stored        {reports} reports (duplicates of one client collapse), "
            f"{confirmations} confirmations"
        )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        if args.keep:
            print(f"kept {url}")
        else:
            drop_database(url)


if __name__ == "__main__":
    main()
