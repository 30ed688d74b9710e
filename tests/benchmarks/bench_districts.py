"""Benchmark geo.places.districts.assign_districts against STRtree predicate queries.

Run: .venv/bin/python tests/benchmarks/bench_districts.py [n_points]

Prints the one-off cost of loading the boundary file (decode, index, first
query that prepares the polygons), then medians of 5 runs for ``n_points``
(default 100,000) random points in two settings: spread over China's
bounding box (many points at sea or abroad, large western districts) and
packed into Zhengzhou (small districts, many candidates per point).  The
baseline is the obvious shapely 2 call, ``STRtree.query(points,
predicate="intersects")``, on the same tree; the ratio says how much the
bounding-box query plus prepared ``intersects_xy`` saves.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import shapely

from geo.places.boundaries import read_boundary_file
from geo.places.districts import _table, assign_districts

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
RUNS = 5


def median_seconds(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    t0 = time.perf_counter()
    frame = read_boundary_file()
    t1 = time.perf_counter()
    table = _table()  # noqa: SLF001  (the benchmark measures the cache)
    t2 = time.perf_counter()
    assign_districts(np.array([101.78]), np.array([36.61]))
    rng = np.random.default_rng(1)
    warm_lon = rng.uniform(73, 135, 200_000)
    warm_lat = rng.uniform(18, 54, 200_000)
    assign_districts(warm_lon, warm_lat)  # prepares every polygon
    t3 = time.perf_counter()
    print(
        f"districts: {len(frame):,}; read file {t1 - t0:.2f} s; "
        f"build index {t2 - t1:.2f} s; first queries (prepare polygons) {t3 - t2:.2f} s"
    )

    settings = {
        "China bbox": (rng.uniform(73, 135, N), rng.uniform(18, 54, N)),
        "Zhengzhou": (rng.uniform(113.5, 113.9, N), rng.uniform(34.6, 34.9, N)),
    }
    print(f"points per run: {N:,}; median of {RUNS} runs")
    for label, (lon, lat) in settings.items():
        ours = median_seconds(lambda lon=lon, lat=lat: assign_districts(lon, lat))

        def baseline(lon: np.ndarray = lon, lat: np.ndarray = lat) -> None:
            table.tree.query(shapely.points(lon, lat), predicate="intersects")

        base = median_seconds(baseline)
        found = assign_districts(lon, lat)["adcode"].notna().mean()
        print(
            f"{label:>11}: assign_districts {ours:.3f} s "
            f"({N / ours / 1e3:,.0f}k points/s, {found:.0%} in a district); "
            f"STRtree predicate query {base:.3f} s; ratio {base / ours:.1f}x"
        )


if __name__ == "__main__":
    main()
