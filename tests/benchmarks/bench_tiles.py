"""Benchmark the national map: vector tiles from PostGIS, PMTiles, and the clusters API.

What it does, in one run, on 127.0.0.1 only:

1. creates a scratch database (``yitu_bench_<random>``), migrates it and loads
   186,100 generated stations across China (the national count at the end
   of 2024), 12,100 of them open 24 hours: 70 % scattered around city
   centres (``geo.places.synthetic.random_places``), 30 % spread over provinces;
2. PostGIS, uncached: builds a fixed set of tiles (the national view at
   zoom 4; 3 x 3 tiles around each city centre at zooms 6, 8, 10, 12, 13)
   with :func:`geo.service.opendata.place_tile` -- p50/p99 per zoom band;
3. HTTP, warm: serves the app in-process (werkzeug, threaded) and asks for
   every tile twice through ``/tiles/places/{z}/{x}/{y}.mvt``; the second
   pass is the warm figure (low-zoom tiles come from the per-process cache,
   higher ones from PostGIS with its buffers warm);
4. the same views through the existing ``/api/v1/places/clusters``
   endpoint (bbox of the 3 x 3 tiles at that zoom), side by side;
5. the national first view in bytes (raw and gzip) for both;
6. ``export_pmtiles`` of zooms 0..13: time, size, tiles, largest tile;
7. GDAL (Debian's ``ogr2ogr``) copies the whole ``places`` collection from
   ``/ogc`` into a GeoPackage in pages of 1,000: time, and the count
   compared with the database;
8. prints the figures next to the goals, then drops the database.

Usage::

    .venv/bin/python tests/benchmarks/bench_tiles.py [--stations 186100] [--keep]
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from geo.db.engine import database_url as configured_url  # noqa: E402
from geo.db.engine import make_engine  # noqa: E402
from geo.db.migrate import create_database, drop_database, upgrade  # noqa: E402
from geo.opendata.tiles import (  # noqa: E402
    NATIONAL_VIEW_BBOX,
    NATIONAL_VIEW_ZOOM,
    tile_lonlat_bounds,
    tile_of,
    tiles_covering,
)
from geo.places.synthetic import CITY_CENTRES  # noqa: E402

GOALS = {"p99_warm_ms": 50.0, "largest_tile_kb": 50.0, "national_view_kb": 300.0}
OPEN_24H = 12_100
ZOOMS = (6, 8, 10, 12, 13)


def load_places(url: str, n: int) -> None:
    """COPY ``n`` generated stations, ``OPEN_24H`` of them open 24 hours."""
    import numpy as np

    from geo.places.synthetic import random_places
    from geo.places.vocabulary import CHINA_BBOX, normalize_amenity

    near = int(n * 0.7)
    frame = random_places(near, seed=186)
    rng = np.random.default_rng(2024)
    # The rest spread over the provinces: wide scatter around the same centres.
    centre = rng.integers(0, len(CITY_CENTRES), n - near)
    far_lon = np.array([CITY_CENTRES[i][1] for i in centre]) + rng.normal(0, 2.5, n - near)
    far_lat = np.array([CITY_CENTRES[i][2] for i in centre]) + rng.normal(0, 1.8, n - near)
    lon = np.clip(
        np.concatenate([frame["经度"].to_numpy(), far_lon]),
        CHINA_BBOX[0] + 0.01,
        CHINA_BBOX[2] - 0.01,
    )
    lat = np.clip(np.concatenate([frame["纬度"].to_numpy(), far_lat]), 18.2, CHINA_BBOX[3] - 0.01)
    amenity_text = list(frame["设施"]) + list(rng.choice(frame["设施"].to_numpy(), n - near))
    open_24h = set(rng.choice(n, OPEN_24H, replace=False).tolist())
    buffer = io.StringIO()
    for i in range(n):
        amenities = sorted(
            {normalize_amenity(a) for a in amenity_text[i].split("、") if a} - {None}
        )
        hours = "24/7" if i in open_24h else "Mo-Su 08:00-20:00"
        status = "closed" if i % 97 == 0 else ("suspended" if i % 53 == 0 else "active")
        values = [
            "station",
            f"生成驿站{i}号（测试数据）",
            f"SRID=4326;POINT({lon[i]:.6f} {lat[i]:.6f})",
            "{" + ",".join(amenities) + "}",
            hours,
            status,
            "bench",
            f"b{i}",
            "wgs84",
            "true",
        ]
        buffer.write("\t".join(values) + "\n")
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:  # type: ignore[attr-defined]
            columns = (
                "kind, name, geom, amenities, opening_hours, status, source, external_id, "
                "source_crs, is_demo"
            )
            with cur.copy(f"COPY places ({columns}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        conn.execute(text("ANALYZE places"))
    engine.dispose()


def views() -> list[tuple[str, int, list[tuple[int, int, int]]]]:
    """Return (name, zoom, tiles) of every view measured: national, then 3 x 3 around cities."""
    out = [
        (
            "national",
            NATIONAL_VIEW_ZOOM,
            list(tiles_covering(NATIONAL_VIEW_BBOX, NATIONAL_VIEW_ZOOM)),
        )
    ]
    for z in ZOOMS:
        for name, lon, lat, _w in CITY_CENTRES:
            cx, cy = tile_of(lon, lat, z)
            out.append((name, z, [(z, cx + dx, cy + dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]))
    return out


def view_bbox(tiles: list[tuple[int, int, int]]) -> tuple[float, float, float, float]:
    """WGS-84 bbox of a block of tiles."""
    boxes = [tile_lonlat_bounds(*t) for t in tiles]
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def fetch(url: str) -> tuple[float, bytes]:
    """GET ``url``; return milliseconds and the body."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    began = time.perf_counter()
    with opener.open(url) as response:
        body = response.read()
    return (time.perf_counter() - began) * 1000, body


def gdal_copy(host: str, out: Path) -> tuple[float, int] | None:
    """Copy /ogc's places collection with ogr2ogr; return seconds and features (None without GDAL)."""
    import shutil
    import sqlite3
    import subprocess

    if shutil.which("ogr2ogr") is None:
        return None
    env = {**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    began = time.perf_counter()
    subprocess.run(
        ["ogr2ogr", "-f", "GPKG", "-oo", "PAGE_SIZE=1000", str(out), f"OAPIF:{host}/ogc", "places"],
        check=True,
        env=env,
        capture_output=True,
    )
    seconds = time.perf_counter() - began
    with sqlite3.connect(out) as conn:
        count = conn.execute("SELECT count(*) FROM places").fetchone()[0]
    return seconds, int(count)


def band(z: int) -> str:
    """Zoom band label."""
    return "z0-8" if z <= 8 else "z9-13"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stations", type=int, default=186_100)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request

    from geo.service.opendata import export_pmtiles, place_tile
    from web import create_app

    base = make_url(configured_url(os.environ.get("YITU_TEST_DATABASE_URL")))
    url = base.set(database=f"yitu_bench_{secrets.token_hex(4)}").render_as_string(
        hide_password=False
    )
    print(
        f"scratch database {make_url(url).database}; loading {args.stations:,} stations...",
        flush=True,
    )
    load_at_start = os.getloadavg()[0]
    create_database(url)
    server = None
    try:
        upgrade(url)
        began = time.monotonic()
        load_places(url, args.stations)
        print(f"loaded in {time.monotonic() - began:.1f} s", flush=True)
        measured = views()
        tiles = sorted({t for _name, _z, ts in measured for t in ts})
        engine = make_engine(url)

        # PostGIS, no cache: every tile built by ST_AsMVT (one warm-up pass first,
        # so the figure is PostGIS with its buffers warm, not the disk).
        db_ms: dict[str, list[float]] = {"z0-8": [], "z9-13": []}
        with Session(engine) as session:
            for t in tiles:
                place_tile(session, *t)
            for t in tiles:
                began = time.perf_counter()
                place_tile(session, *t)
                db_ms[band(t[0])].append((time.perf_counter() - began) * 1000)
        engine.dispose()

        app = create_app(
            {
                "DATABASE_URL": url,
                "SECRET_KEY": "bench",
                "TESTING": False,
                "SESSION_COOKIE_SECURE": False,
            }
        )
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        host = f"http://127.0.0.1:{server.server_port}"

        cold_ms: list[float] = []
        warm_ms: list[float] = []
        sizes: dict[tuple[int, int, int], bytes] = {}
        for z, x, y in tiles:
            ms, body = fetch(f"{host}/tiles/places/{z}/{x}/{y}.mvt")
            cold_ms.append(ms)
            sizes[(z, x, y)] = body
        for z, x, y in tiles:
            warm_ms.append(fetch(f"{host}/tiles/places/{z}/{x}/{y}.mvt")[0])

        cluster_cold: list[float] = []
        cluster_warm: list[float] = []
        cluster_bytes: dict[str, bytes] = {}
        for name, z, ts in measured:
            w, s, e, n = view_bbox(ts) if name != "national" else NATIONAL_VIEW_BBOX
            query = f"bbox={max(w, 73.0):.5f},{max(s, 3.0):.5f},{min(e, 136.0):.5f},{min(n, 54.0):.5f}&zoom={z}"
            ms, body = fetch(f"{host}/api/v1/places/clusters?{query}")
            cluster_cold.append(ms)
            cluster_warm.append(fetch(f"{host}/api/v1/places/clusters?{query}")[0])
            cluster_bytes[f"{name}-{z}"] = body

        national_tiles = [sizes[t] for t in measured[0][2]]
        national_raw = sum(len(b) for b in national_tiles)
        national_gz = sum(len(gzip.compress(b)) for b in national_tiles)
        national_clusters = cluster_bytes[f"national-{NATIONAL_VIEW_ZOOM}"]

        with tempfile.TemporaryDirectory() as tmp, Session(make_engine(url)) as session:
            archive = Path(tmp) / "china.pmtiles"
            exported = export_pmtiles(session, archive, max_zoom=13)
            gdal = gdal_copy(host, Path(tmp) / "places.gpkg")
            stored = session.execute(text("SELECT count(*) FROM places")).scalar_one()
    finally:
        if server is not None:
            server.shutdown()
        if args.keep:
            print(f"kept {url}")
        else:
            drop_database(url)

    ok = {True: "ok", False: "MISSED"}
    largest_served = max(len(b) for b in sizes.values())
    p99_warm = percentile(warm_ms, 99)
    print()
    print(
        f"{args.stations:,} stations, {len(tiles)} distinct tiles in {len(measured)} views "
        f"(national z{NATIONAL_VIEW_ZOOM}; 3x3 tiles around {len(CITY_CENTRES)} cities at "
        f"z{', z'.join(map(str, ZOOMS))}); load average at start {load_at_start:.2f}"
    )
    print("tiles from PostGIS (place_tile, uncached, buffers warm), ms:")
    for name, values in db_ms.items():
        print(
            f"  {name:6} n={len(values):4}  p50 {statistics.median(values):7.1f}  "
            f"p99 {percentile(values, 99):7.1f}  max {max(values):7.1f}"
        )
    print(
        f"tiles over HTTP, first request:  p50 {statistics.median(cold_ms):6.1f}  "
        f"p99 {percentile(cold_ms, 99):6.1f} ms"
    )
    print(
        f"tiles over HTTP, warm:           p50 {statistics.median(warm_ms):6.1f}  "
        f"p99 {p99_warm:6.1f} ms   goal p99 <= {GOALS['p99_warm_ms']:.0f}: "
        f"{ok[p99_warm <= GOALS['p99_warm_ms']]}"
    )
    print(
        f"clusters API, first request:     p50 {statistics.median(cluster_cold):6.1f}  "
        f"p99 {percentile(cluster_cold, 99):6.1f} ms"
    )
    print(
        f"clusters API, warm:              p50 {statistics.median(cluster_warm):6.1f}  "
        f"p99 {percentile(cluster_warm, 99):6.1f} ms"
    )
    print(
        f"largest tile served: {largest_served:,} B; largest in the archive: "
        f"{exported['largest_tile_bytes']:,} B   goal <= {GOALS['largest_tile_kb']:.0f} KB: "
        f"{ok[max(largest_served, exported['largest_tile_bytes']) <= GOALS['largest_tile_kb'] * 1024]}"
    )
    print(
        f"national first view (z{NATIONAL_VIEW_ZOOM}, {len(national_tiles)} tiles): "
        f"{national_raw:,} B raw, {national_gz:,} B gzip   goal <= "
        f"{GOALS['national_view_kb']:.0f} KB: {ok[national_raw <= GOALS['national_view_kb'] * 1024]}"
    )
    print(
        f"  same view from the clusters API: {len(national_clusters):,} B raw, "
        f"{len(gzip.compress(national_clusters)):,} B gzip"
    )
    if gdal is not None:
        print(
            f"ogr2ogr OAPIF -> GeoPackage, pages of 1,000: {gdal[1]:,} features in "
            f"{gdal[0]:.1f} s (database: {stored:,}; equal: {gdal[1] == stored})"
        )
    print(
        f"PMTiles z0-13: {exported['tiles']:,} tiles, {exported['bytes']:,} B "
        f"({exported['bytes'] / 2**20:.1f} MiB), {exported['seconds']:.1f} s"
    )


if __name__ == "__main__":
    main()
