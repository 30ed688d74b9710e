"""Benchmark geo.places.crs array conversions against a Python loop over prcoords.

Run: .venv/bin/python tests/benchmarks/bench_crs.py [n_points]
Prints medians of 3 runs and the ratio loop/vectorized, extrapolated to 10
million points (the loop is timed on a sample because it is slow).
"""

from __future__ import annotations

import statistics
import sys
import time
from functools import partial

import numpy as np

from geo.places import crs

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
LOOP_SAMPLE = 100_000
RUNS = 3


def median_seconds(fn) -> float:
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def loop_over(scalar_fn, sample, system) -> None:
    for x, y in sample:
        scalar_fn(x, y, crs=system)


def main() -> None:
    rng = np.random.default_rng(42)
    lon = rng.uniform(73.0, 136.0, N)
    lat = rng.uniform(3.0, 54.0, N)
    print(f"points: {N:,} (loop timed on {LOOP_SAMPLE:,} and scaled)")
    for direction, array_fn, scalar_fn in (
        ("to_wgs84", crs.to_wgs84_arrays, crs.to_wgs84),
        ("from_wgs84", crs.from_wgs84_arrays, crs.from_wgs84),
    ):
        for system in ("gcj02", "bd09"):
            vec = median_seconds(partial(array_fn, lon, lat, crs=system))
            sample = list(zip(lon[:LOOP_SAMPLE], lat[:LOOP_SAMPLE], strict=True))
            loop = median_seconds(partial(loop_over, scalar_fn, sample, system))
            loop *= N / LOOP_SAMPLE
            print(
                f"{direction:>10} {system}: numpy {vec:7.2f} s ({vec / N * 1e9:6.0f} ns/pt)  "
                f"prcoords loop {loop:8.1f} s ({loop / N * 1e9:6.0f} ns/pt)  "
                f"ratio {loop / vec:5.1f}x"
            )


if __name__ == "__main__":
    main()
