"""Benchmark: how long the command line and a gunicorn worker take to start, and their memory.

Run:  .venv/bin/python tests/benchmarks/bench_startup.py [--repeat 3]

Prints, as medians of ``--repeat`` runs:

- ``yitu --help``: wall time and peak resident memory of the whole process;
- ``python -c pass``: the interpreter alone (the baseline);
- ``gunicorn worker ready``: from starting ``yitu serve --workers 1`` on a
  free 127.0.0.1 port to its first 200 on ``/healthz`` (master start, app
  import and worker boot), against the database of YITU_DATABASE_URL;

beside the figures issue 15 measured (4.7 s and 274 MB for ``yitu --help``)
and its goals (under 1 s for ``--help``, under 2 s for a ready worker).
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
YITU = str(Path(PYTHON).parent / "yitu")


def run_measured(argv: list[str]) -> tuple[float, float]:
    """Run ``argv`` to the end; return wall seconds and peak RSS in MB."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{argv} exited with {child.returncode}")
    return elapsed, usage.ru_maxrss / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def worker_ready() -> float:
    """Seconds from spawning ``yitu serve --workers 1`` to its first 200 on /healthz."""
    port = free_port()
    env = {**os.environ, "YITU_SECRET_KEY": "bench-startup-not-a-default-key"}
    start = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603
        [YITU, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            if child.poll() is not None:
                raise SystemExit("yitu serve exited before answering")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return time.perf_counter() - start
            except OSError:
                time.sleep(0.02)
            finally:
                conn.close()
    finally:
        child.terminate()
        child.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    base = [run_measured([PYTHON, "-c", "pass"]) for _ in range(args.repeat)]
    helps = [run_measured([YITU, "--help"]) for _ in range(args.repeat)]
    ready = [worker_ready() for _ in range(args.repeat)]
    base_s, base_mb = (statistics.median(x) for x in zip(*base, strict=True))
    help_s, help_mb = (statistics.median(x) for x in zip(*helps, strict=True))
    ready_s = statistics.median(ready)
    print(f"{'measure':<26}{'median':>10}{'peak MB':>10}{'issue 15 figure':>18}{'goal':>8}")
    print(f"{'python -c pass':<26}{base_s:>9.2f}s{base_mb:>10.0f}{'':>18}{'':>8}")
    print(f"{'yitu --help':<26}{help_s:>9.2f}s{help_mb:>10.0f}{'4.7 s, 274 MB':>18}{'< 1 s':>8}")
    print(
        f"{'gunicorn worker ready':<26}{ready_s:>9.2f}s{'':>10}{'(same as --help)':>18}{'< 2 s':>8}"
    )
    print(
        f"yitu --help is {help_s / base_s:.0f}x the bare interpreter ({args.repeat} runs each; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
