"""Benchmark: a 1,000,000-row ledger through the real ``yitu import places`` command.

Run:  .venv/bin/python tests/benchmarks/bench_import_million.py [--rows 1000000]

Writes a CSV of valid rows (unique ids and names, WGS-84 points in a box of
central China) to a temporary folder, creates a throw-away database on
YITU_DATABASE_URL's server (dropped at the end), runs the CLI in a child
process exactly as an operator would, and prints the seconds, rows per
second and rows stored.  The CLI runs under the batch statement limit
(``BATCH_STATEMENT_TIMEOUT_MS``), not the web's: the web limit is set to
1 ms here to show that it does not apply.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from geo.db.engine import make_engine  # noqa: E402
from tests.databases import fresh_database  # noqa: E402

# Longitude and latitude bounds (degrees, WGS-84) of a box inside mainland China.
BOX = ((106.0, 116.0), (26.0, 38.0))


def write_ledger(path: Path, rows: int, *, seed: int = 1) -> None:
    """Write ``rows`` valid ledger rows (WGS-84, unique ids and names) as a UTF-8 CSV.

    No address column: a million rows then stay under the importer's file size limit.
    """
    rng = random.Random(seed)
    (west, east), (south, north) = BOX
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(("编号", "名称", "经度", "纬度"))
        for i in range(rows):
            writer.writerow(
                (
                    f"M{i}",
                    f"驿站{i}号",
                    f"{rng.uniform(west, east):.6f}",
                    f"{rng.uniform(south, north):.6f}",
                )
            )


def import_command(ledger: Path, url: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """Run ``yitu import places <ledger> --crs wgs84`` on ``url`` with ``YITU_*`` ``settings``."""
    env = {
        **os.environ,
        "YITU_DATABASE_URL": url,
        "YITU_SECRET_KEY": "bench",
        **{f"YITU_{name}": value for name, value in settings.items()},
    }
    return subprocess.run(  # noqa: S603  (our own CLI, fixed arguments)
        [
            sys.executable,
            "-c",
            "from web.cli import main; main()",
            "import",
            "places",
            str(ledger),
            "--crs",
            "wgs84",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def stored_places(url: str) -> int:
    """Count the rows of ``places`` in the database at ``url``."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(text("SELECT count(*) FROM places")) or 0)
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, fresh_database("yitu_bench_") as url:
        ledger = Path(tmp) / "million.csv"
        start = time.perf_counter()
        write_ledger(ledger, args.rows)
        print(
            f"generated {args.rows:,} rows ({ledger.stat().st_size / 1e6:.0f} MB) "
            f"in {time.perf_counter() - start:.1f} s"
        )
        start = time.perf_counter()
        result = import_command(ledger, url, DATABASE_STATEMENT_TIMEOUT_MS="1")
        seconds = time.perf_counter() - start
        print(result.stdout[-2000:], result.stderr[-2000:], sep="\n")
        stored = stored_places(url)
        print(
            f"exit {result.returncode}: {stored:,} rows stored in {seconds:.1f} s, "
            f"{stored / seconds:,.0f} rows/s"
        )
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
