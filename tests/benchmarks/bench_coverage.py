"""Benchmark: coverage of 1e7 points by 3,000 stations at 500 m, against geopandas.

Run::

    .venv/bin/python tests/benchmarks/bench_coverage.py            # full size
    .venv/bin/python tests/benchmarks/bench_coverage.py --points 1e6 --repeat 3

Every method runs in its own subprocess on the same seeded data (generated
there, not timed), so peak memory is measured cleanly: the resident-set
high-water mark is reset after the data exist (``/proc/self/clear_refs``)
and read after the method ran; "extra memory" is that peak minus the
resident size before the method started.

Methods (all in one metric CRS, metres):

- ``yitu``: :func:`geo.planning.reach.covered_within` (raster prefilter + k-d tree).
- ``sjoin_nearest``: ``geopandas.sjoin_nearest(points, stations,
  max_distance=500)``; building the point GeoDataFrame is timed separately.
- ``buffer_sjoin``: stations buffered by 500 m (64-gon), then
  ``geopandas.sjoin(points, buffers, predicate="within")``.

The goal from the issue: <= 3 s, >= 10x faster than geopandas, <= 1 GiB
extra memory.  Figures depend on the machine's load: the script prints the
load average before and after.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SIDE_M = 60_000.0


def make_data(n_points: int, n_stations: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A 60 km city: activity in hubs plus a 20 % background; stations near activity."""
    rng = np.random.default_rng(seed)
    hubs = rng.uniform(0.15 * SIDE_M, 0.85 * SIDE_M, (60, 2))
    spread = rng.uniform(800, 5000, len(hubs))
    which = rng.integers(0, len(hubs), n_points)
    points = hubs[which] + rng.standard_normal((n_points, 2)) * spread[which, None]
    background = rng.random(n_points) < 0.2
    points[background] = rng.uniform(0, SIDE_M, (int(background.sum()), 2))
    near = rng.choice(n_points, int(n_stations * 0.7), replace=False)
    stations = np.vstack(
        [
            points[near] + rng.normal(0, 300, (len(near), 2)),
            rng.uniform(0, SIDE_M, (n_stations - len(near), 2)),
        ]
    )
    return points, stations


def rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def worker(
    method: str, n_points: int, n_stations: int, radius: float, repeat: int, seed: int
) -> dict[str, object]:
    """Run one method ``repeat`` times on the seeded data; return timings and memory."""
    points, stations = make_data(n_points, n_stations, seed)
    extra: dict[str, object] = {}
    if method == "yitu":
        from geo.planning.reach import covered_within

        def run() -> int:
            return int(covered_within(points, stations, radius_m=radius).sum())
    else:
        import geopandas as gpd

        started = time.perf_counter()
        gdf = gpd.GeoDataFrame(
            geometry=gpd.points_from_xy(points[:, 0], points[:, 1]), crs="EPSG:32651"
        )
        extra["build_points_s"] = round(time.perf_counter() - started, 3)
        sgdf = gpd.GeoDataFrame(
            geometry=gpd.points_from_xy(stations[:, 0], stations[:, 1]), crs="EPSG:32651"
        )
        if method == "sjoin_nearest":

            def run() -> int:
                joined = gpd.sjoin_nearest(gdf, sgdf, how="left", max_distance=radius)
                hit = joined["index_right"].notna()
                return int(hit.groupby(level=0).any().sum())
        else:
            buffers = gpd.GeoDataFrame(geometry=sgdf.buffer(radius, quad_segs=16), crs=sgdf.crs)

            def run() -> int:
                joined = gpd.sjoin(gdf, buffers, how="inner", predicate="within")
                return int(joined.index.unique().size)

    gc.collect()
    base = rss_kib("VmRSS")
    can_reset = reset_peak()
    times, covered = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        covered = run()
        times.append(time.perf_counter() - started)
    peak = rss_kib("VmHWM") if can_reset else rss_kib("VmHWM")
    return {
        "method": method,
        "times": times,
        "covered": covered,
        "extra_mib": round(max(peak - base, 0) / 1024, 1),
        "peak_reset": can_reset,
        **extra,
    }


def run_worker(args: argparse.Namespace, method: str, repeat: int) -> dict[str, object]:
    command = [
        sys.executable,
        __file__,
        "--worker",
        method,
        "--points",
        str(args.points),
        "--stations",
        str(args.stations),
        "--radius",
        str(args.radius),
        "--repeat",
        str(repeat),
        "--seed",
        str(args.seed),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=lambda s: int(float(s)), default=10_000_000)
    parser.add_argument("--stations", type=int, default=3000)
    parser.add_argument("--radius", type=float, default=500.0)
    parser.add_argument("--repeat", type=int, default=5, help="runs of the yitu method")
    parser.add_argument(
        "--baseline-repeat", type=int, default=1, help="runs of each geopandas method (slow at 1e7)"
    )
    parser.add_argument("--baselines", default="sjoin_nearest,buffer_sjoin")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(
            json.dumps(
                worker(args.worker, args.points, args.stations, args.radius, args.repeat, args.seed)
            )
        )
        return
    print(
        f"coverage benchmark: {args.points:,} points x {args.stations:,} stations, "
        f"radius {args.radius:.0f} m; {os.cpu_count()} cores; load average before: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    results = [run_worker(args, "yitu", args.repeat)]
    for name in [b for b in args.baselines.split(",") if b]:
        results.append(run_worker(args, name, args.baseline_repeat))
    ours = statistics.median(results[0]["times"])
    print(
        f"{'method':<15}{'runs':>5}{'median s':>11}{'min s':>9}{'extra MiB':>11}"
        f"{'covered':>12}{'vs yitu':>9}"
    )
    for r in results:
        median = statistics.median(r["times"])
        print(
            f"{r['method']:<15}{len(r['times']):>5}{median:>11.3f}{min(r['times']):>9.3f}"
            f"{r['extra_mib']:>11.1f}{r['covered']:>12,}{median / ours:>8.1f}x"
            + (
                f"   (building the point GeoDataFrame: {r['build_points_s']} s, not counted)"
                if "build_points_s" in r
                else ""
            )
        )
    exact = [r for r in results if r["method"] == "sjoin_nearest"]
    if exact:
        same = exact[0]["covered"] == results[0]["covered"]
        print(f"same covered count as sjoin_nearest: {same}")
    print(
        f"goal: <= 3 s -> {'met' if ours <= 3 else 'NOT met'}; "
        f">= 10x faster -> {'met' if all(statistics.median(r['times']) >= 10 * ours for r in results[1:]) else 'NOT met'}; "  # noqa: E501
        f"<= 1 GiB extra -> {'met' if results[0]['extra_mib'] <= 1024 else 'NOT met'}"
    )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
