"""Benchmark the finder: the nearest API over HTTP, and the map page in Chromium.

What it does, in one run, on 127.0.0.1 only:

1. creates a scratch database (``yitu_bench_<random>``), migrates it and loads
   110,000 generated stations across China (``geo.places.synthetic.random_places``)
   plus a city of 3,000 stations ("基准市");
2. serves the app with gunicorn (gthread workers) and, beside the real
   ``/api/v1/places/nearest``, a bench-only route answering the same question
   with a naive full scan (``ORDER BY ST_Distance(geog, pt)`` over every row,
   no index), serialised the same way;
3. measures both sequentially (one client, p50/p99 latency) and under
   concurrent load (``wrk`` from Debian, or a threaded Python client when wrk
   is missing), for a fixed duration;
4. opens the map page of the 3,000-station city in headless Chromium:
   HTML size, bytes of the first view, and time to interactive (the page's
   ``yitu-interactive`` performance mark: map drawn and nearest list filled),
   median of several loads;
5. prints the figures next to the goals, then drops the database.

Usage::

    .venv/bin/python tests/benchmarks/bench_nearest.py [--stations 110000]
        [--workers 2] [--threads 4] [--duration 10] [--connections 16] [--keep]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from geo.db.engine import database_url as configured_url  # noqa: E402
from geo.db.engine import make_engine  # noqa: E402
from geo.db.migrate import create_database, drop_database, upgrade  # noqa: E402

CITY_CENTRE = (112.14, 32.04)  # the benchmark city, away from synthetic's centres
CITY_NAME = "基准市"
GOALS = {"p99_seq_ms": 15.0, "rps": 500.0, "html_kb": 500.0, "tti_ms": 400.0}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# --------------------------------------------------------------------------
# The app gunicorn serves: the real one plus a naive baseline route.
# --------------------------------------------------------------------------

NAIVE_SQL = text("""
SELECT id, kind, name, name_en, status, address, province, city, district, adcode, amenities,
       opening_hours, opening_hours_text, host_type, build_mode, capacity, phone, managing_union,
       station_no, six_haves, last_verified, is_demo, updated_at,
       ST_X(geom) AS lon, ST_Y(geom) AS lat,
       ST_Distance(geog, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) AS distance_m
FROM places WHERE status = 'active'
ORDER BY distance_m, id LIMIT :k
""")


def bench_app() -> Any:
    """The app plus ``/bench/naive-nearest`` (gunicorn entry point)."""
    from flask import Blueprint, request

    from web import create_app
    from web.api import geojson_response, place_url
    from web.db import session
    from web.params import int_param, lonlat_params
    from web.placeview import feature, feature_collection, now

    app = create_app()
    bp = Blueprint("bench", __name__)

    @bp.get("/bench/naive-nearest")
    def naive_nearest() -> Any:
        lon, lat = lonlat_params(request.args)
        k = int_param(request.args, "k", default=5, lo=1, hi=50)
        rows = [
            dict(r._mapping) for r in session().execute(NAIVE_SQL, {"lon": lon, "lat": lat, "k": k})
        ]
        at = now()
        return geojson_response(
            feature_collection([feature(r, at=at, place_url=place_url) for r in rows])
        )

    app.register_blueprint(bp)
    return app


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def load_places(url: str, n: int, city_n: int) -> None:
    """COPY ``n`` synthetic stations plus ``city_n`` in the benchmark city."""
    import numpy as np

    from geo.places.hours_parse import parse_chinese_hours
    from geo.places.synthetic import random_places
    from geo.places.vocabulary import normalize_amenity

    frame = random_places(n, seed=1)
    rng = np.random.default_rng(2)
    city_lon = CITY_CENTRE[0] + rng.normal(0, 0.06, city_n)
    city_lat = CITY_CENTRE[1] + rng.normal(0, 0.05, city_n)
    hours_cache: dict[str, str | None] = {}

    def osm(text_value: str) -> str | None:
        if text_value not in hours_cache:
            parsed = parse_chinese_hours(text_value)
            hours_cache[text_value] = parsed.osm if parsed.ok else None
        return hours_cache[text_value]

    buffer = io.StringIO()

    def row(
        i: int,
        name: str,
        address: str,
        city: str,
        lon: float,
        lat: float,
        hours_text: str,
        amenities: list[str],
    ) -> None:
        kind = ("station", "station", "station", "reading_nook", "breakfast_point", "driver_home")[
            i % 6
        ]
        values = [
            kind,
            name,
            address,
            city,
            f"SRID=4326;POINT({lon:.6f} {lat:.6f})",
            "{" + ",".join(amenities) + "}",
            osm(hours_text) or "\\N",
            hours_text,
            "bench",
            f"b{i}",
            "wgs84",
            "true",
        ]
        buffer.write("\t".join(v.replace("\t", " ") for v in values) + "\n")

    for i, rec in enumerate(frame.itertuples(index=False)):
        amenities = sorted({normalize_amenity(a) for a in rec.设施.split("、") if a} - {None})
        row(
            i,
            rec.名称,
            rec.地址,
            rec.地址[:3],
            float(rec.经度),
            float(rec.纬度),
            rec.开放时间,
            amenities,
        )
    for j in range(city_n):
        i = n + j
        amenities = ["water", "toilet", "charging"] if j % 3 else ["water", "seating"]
        row(
            i,
            f"{CITY_NAME}驿站{j}号（测试数据）",
            f"{CITY_NAME}基准路{j}号",
            CITY_NAME,
            float(city_lon[j]),
            float(city_lat[j]),
            "08:00-20:00",
            amenities,
        )

    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:  # type: ignore[attr-defined]
            columns = (
                "kind, name, address, city, geom, amenities, opening_hours, "
                "opening_hours_text, source, external_id, source_crs, is_demo"
            )
            with cur.copy(f"COPY places ({columns}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        conn.execute(text("ANALYZE places"))
    engine.dispose()


def knn_plan(url: str) -> str:
    """EXPLAIN ANALYZE of the candidate step, to show the GiST index at work."""
    engine = make_engine(url)
    with engine.connect() as conn:
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                text(
                    "EXPLAIN (ANALYZE, COSTS OFF, TIMING ON) SELECT id FROM places "
                    "WHERE status = 'active' ORDER BY geog <-> "
                    "ST_SetSRID(ST_MakePoint(113.66, 34.76), 4326)::geography LIMIT 16"
                )
            )
        )
    engine.dispose()
    return plan


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_gunicorn(url: str, port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "YITU_DATABASE_URL": url,
        "YITU_SECRET_KEY": secrets.token_hex(16),
        "YITU_SESSION_COOKIE_SECURE": "false",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        # gthread workers keep connections alive (sync workers close each one).
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
            "tests.benchmarks.bench_nearest:bench_app()",
        ],
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2)
            return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("gunicorn did not come up")


def query_points(n: int, seed: int = 3) -> list[tuple[float, float]]:
    """Points where riders are: around the synthetic city centres and the bench city."""
    from geo.places.synthetic import CITY_CENTRES

    rng = random.Random(seed)
    centres = [(c[1], c[2]) for c in CITY_CENTRES] + [CITY_CENTRE]
    out = []
    for _ in range(n):
        lon, lat = rng.choice(centres)
        out.append((round(lon + rng.gauss(0, 0.2), 6), round(lat + rng.gauss(0, 0.16), 6)))
    return out


def path_for(route: str, point: tuple[float, float]) -> str:
    return f"{route}?lon={point[0]:.6f}&lat={point[1]:.6f}&k=5"


def sequential(port: int, route: str, points: list[tuple[float, float]]) -> list[float]:
    """Latencies in ms of one client sending requests one after another."""
    import http.client

    latencies = []
    for point in points:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        start = time.perf_counter()
        conn.request("GET", path_for(route, point))
        response = conn.getresponse()
        body = response.read()
        latencies.append((time.perf_counter() - start) * 1000)
        conn.close()
        if response.status != 200 or not body.startswith(b'{"type":"FeatureCollection"'):
            raise RuntimeError(f"{route}: {response.status} {body[:200]!r}")
    return latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def load_with_wrk(
    port: int, route: str, points: list[tuple[float, float]], *, duration_s: int, connections: int
) -> dict[str, float]:
    """Requests/s and latency percentiles from wrk, cycling through ``points``."""
    table = ",".join(f"{{{lon:.6f},{lat:.6f}}}" for lon, lat in points)
    script = (
        f"local points = {{{table}}}\n"
        "local i = 0\n"
        "request = function()\n"
        "  i = i % #points + 1\n"
        f"  return wrk.format('GET', string.format('{route}?lon=%.6f&lat=%.6f&k=5',"
        " points[i][1], points[i][2]))\n"
        "end\n"
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format(\'JSON {"requests":%d,"errors":%d,"p50":%f,"p99":%f,'
        '"seconds":%f,"non2xx":%d}\\n\', summary.requests,'
        " summary.errors.connect + summary.errors.read + summary.errors.write"
        " + summary.errors.timeout, latency:percentile(50) / 1000,"
        " latency:percentile(99) / 1000, summary.duration / 1e6, summary.errors.status))\n"
        "end\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
        lua = f.name
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t",
                "2",
                "-c",
                str(connections),
                "-d",
                f"{duration_s}s",
                "--timeout",
                "30s",
                "-s",
                lua,
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(lua)
    data = json.loads(re.search(r"^JSON (.*)$", out, re.M).group(1))
    return {
        "rps": data["requests"] / data["seconds"],
        "p50": data["p50"],
        "p99": data["p99"],
        "errors": data["errors"] + data["non2xx"],
        "requests": data["requests"],
    }


def load_with_threads(
    port: int, route: str, points: list[tuple[float, float]], *, duration_s: int, connections: int
) -> dict[str, float]:
    """The same as :func:`load_with_wrk` with Python threads (slower client)."""
    import http.client

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + duration_s

    def worker(offset: int) -> None:
        i = offset
        mine = []
        while time.monotonic() < stop:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            start = time.perf_counter()
            conn.request("GET", path_for(route, points[i % len(points)]))
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - start) * 1000)
            conn.close()
            if response.status != 200:
                errors[0] += 1
            i += connections
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(connections)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    return {
        "rps": len(latencies) / elapsed,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "errors": errors[0],
        "requests": len(latencies),
    }


# --------------------------------------------------------------------------
# The map page in Chromium
# --------------------------------------------------------------------------


def city_bbox(url: str) -> tuple[float, float, float, float]:
    engine = make_engine(url)
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                "(SELECT ST_Extent(geom) e FROM places WHERE city = :c) x"
            ),
            {"c": CITY_NAME},
        ).one()
    engine.dispose()
    return tuple(float(v) for v in row)  # type: ignore[return-value]


def map_page(port: int, bbox: tuple[float, float, float, float], runs: int) -> dict[str, Any]:
    """HTML size, first-view bytes and time to interactive of the city's map page."""
    from playwright.sync_api import sync_playwright

    base = f"http://127.0.0.1:{port}"
    page_url = base + "/?bbox=" + ",".join(f"{v:.5f}" for v in bbox)
    html = urllib.request.urlopen(page_url, timeout=30).read()
    results = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for run in range(runs + 1):
            context = browser.new_context(
                viewport={"width": 390, "height": 844},
                is_mobile=True,
                has_touch=True,
                locale="zh-CN",
            )
            page = context.new_page()
            transferred = [0]
            outside: list[str] = []  # noqa: B023 - one list per run, used within it

            def route(r: Any) -> None:
                if r.request.url.startswith(base):
                    r.continue_()
                else:
                    outside.append(r.request.url)  # tiles: no network here
                    r.abort()

            page.route("**/*", route)
            page.goto(page_url)
            page.wait_for_selector("body[data-ready='1']", timeout=30_000)
            tti = page.evaluate("performance.getEntriesByName('yitu-interactive')[0].startTime")
            # Bytes as the browser received them (bodies, no headers), page included.
            transferred[0] = page.evaluate(
                "performance.getEntriesByType('navigation').concat("
                "performance.getEntriesByType('resource'))"
                ".reduce((n, e) => n + (e.encodedBodySize || 0), 0)"
            )
            markers = int(page.get_attribute("#finder", "data-markers") or 0)
            context.close()
            if run == 0:
                continue  # the first load warms gunicorn's workers and the OS cache
            results.append(
                {
                    "tti_ms": tti,
                    "bytes": transferred[0],
                    "markers": markers,
                    "outside": len(outside),
                }
            )
        browser.close()
    return {
        "html_kb": len(html) / 1024,
        "tti_ms": statistics.median(r["tti_ms"] for r in results),
        "tti_all": [round(r["tti_ms"]) for r in results],
        "first_view_kb": statistics.median(r["bytes"] for r in results) / 1024,
        "markers": results[-1]["markers"],
    }


# --------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stations", type=int, default=110_000)
    parser.add_argument("--city", type=int, default=3_000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per process")
    parser.add_argument("--duration", type=int, default=10, help="seconds of each load test")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--load-runs", type=int, default=3, help="load tests of the KNN route")
    parser.add_argument("--requests", type=int, default=1000, help="sequential requests")
    parser.add_argument("--naive-requests", type=int, default=200)
    parser.add_argument("--page-runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    base = make_url(configured_url(os.environ.get("YITU_TEST_DATABASE_URL")))
    url = base.set(database=f"yitu_bench_{secrets.token_hex(4)}").render_as_string(
        hide_password=False
    )
    print(
        f"scratch database {make_url(url).database}; loading {args.stations:,} stations "
        f"+ {args.city:,} in {CITY_NAME}...",
        flush=True,
    )
    load_at_start = os.getloadavg()[0]
    create_database(url)
    server = None
    try:
        upgrade(url)
        began = time.monotonic()
        load_places(url, args.stations, args.city)
        print(f"loaded in {time.monotonic() - began:.1f} s", flush=True)
        plan = knn_plan(url)
        print("KNN candidate step:\n  " + "\n  ".join(plan.splitlines()[:6]), flush=True)

        port = free_port()
        server = start_gunicorn(url, port, args.workers, args.threads)
        points = query_points(max(args.requests, 2000))
        sequential(port, "/api/v1/places/nearest", points[:100])  # warm every worker
        sequential(port, "/bench/naive-nearest", points[:20])

        seq_knn = sequential(port, "/api/v1/places/nearest", points[: args.requests])
        seq_naive = sequential(port, "/bench/naive-nearest", points[: args.naive_requests])
        use_wrk = shutil.which("wrk") is not None
        load = load_with_wrk if use_wrk else load_with_threads
        client = "wrk" if use_wrk else "Python threads"
        # Several runs, the median one reported: the machine is shared.
        knn_runs = [
            load(
                port,
                "/api/v1/places/nearest",
                points,
                duration_s=args.duration,
                connections=args.connections,
            )
            for _ in range(args.load_runs)
        ]
        load_knn = sorted(knn_runs, key=lambda r: r["rps"])[len(knn_runs) // 2]
        load_naive = load(
            port,
            "/bench/naive-nearest",
            points,
            duration_s=args.duration,
            connections=args.connections,
        )
        page = map_page(port, city_bbox(url), args.page_runs)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if args.keep:
            print(f"kept {url}")
        else:
            drop_database(url)

    ok = {True: "ok", False: "MISSED"}
    p99_seq = percentile(seq_knn, 99)
    print()
    print(
        f"nearest API, {args.stations + args.city:,} stations, gunicorn {args.workers} "
        f"workers x {args.threads} threads, {os.cpu_count()} CPUs, 127.0.0.1"
    )
    print(
        f"load average {load_at_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
        "(this run's own load included; other work on the shared machine moves every figure)"
    )
    print(f"{'':34}{'KNN (index)':>14}{'naive scan':>14}{'KNN better':>12}")
    rows = [
        ("sequential p50 (ms)", statistics.median(seq_knn), statistics.median(seq_naive), False),
        ("sequential p99 (ms)", p99_seq, percentile(seq_naive, 99), False),
        (
            f"load p50 (ms, {client}, c={args.connections})",
            load_knn["p50"],
            load_naive["p50"],
            False,
        ),
        ("load p99 (ms)", load_knn["p99"], load_naive["p99"], False),
        ("load throughput (req/s)", load_knn["rps"], load_naive["rps"], True),
    ]
    for label, knn, naive, higher_is_better in rows:
        better = (
            (knn / naive if naive else float("inf"))
            if higher_is_better
            else (naive / knn if knn else float("inf"))
        )
        print(f"{label:34}{knn:14.1f}{naive:14.1f}{better:11.0f}x")
    print(f"{'load errors':34}{load_knn['errors']:14d}{load_naive['errors']:14d}")
    print(
        f"  (KNN throughput of the {args.load_runs} load runs: "
        f"{[round(r['rps']) for r in knn_runs]} req/s; the median run is shown)"
    )
    print()
    print(
        f"map page of {CITY_NAME} ({args.city:,} stations), phone viewport, median of "
        f"{args.page_runs} warm loads"
    )
    print(
        f"  HTML {page['html_kb']:.1f} KB; first view {page['first_view_kb']:.0f} KB "
        f"in total ({page['markers']} map features); time to interactive "
        f"{page['tti_ms']:.0f} ms (runs: {page['tti_all']})"
    )
    print()
    print("goals:")
    print(
        f"  p99 sequential <= {GOALS['p99_seq_ms']:.0f} ms: {p99_seq:.1f} ms "
        f"{ok[p99_seq <= GOALS['p99_seq_ms']]}"
    )
    print(
        f"  >= {GOALS['rps']:.0f} req/s under load: {load_knn['rps']:.0f} "
        f"{ok[load_knn['rps'] >= GOALS['rps']]}"
    )
    print(
        f"  HTML <= {GOALS['html_kb']:.0f} KB: {page['html_kb']:.1f} KB "
        f"{ok[page['html_kb'] <= GOALS['html_kb']]}"
    )
    print(
        f"  <= {GOALS['tti_ms']:.0f} ms to interactive: {page['tti_ms']:.0f} ms "
        f"{ok[page['tti_ms'] <= GOALS['tti_ms']]}"
    )


if __name__ == "__main__":
    main()
