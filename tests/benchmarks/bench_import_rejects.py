"""Benchmark: reading and validating ledgers whose rows are all rejected.

Run:  .venv/bin/python tests/benchmarks/bench_import_rejects.py [--repeat 3]

Every row is garbage (no name, coordinates that are not numbers), which is
what a dry run of a wrong file does before any database work.  Prints median
seconds for 10k, 20k and 40k rows read to the end (``max_rejected=0``): the
time per row stays flat when the report grows linearly.  Then a 1,000,000-row
garbage file with the default early stop, and a 1,000,001-row file refused by
the row limit.  No database is needed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from geo.errors import LedgerError
from geo.places.ledger import Limits, Report, read_rows
from geo.places.rows import ImportOptions, parse_places

OPTIONS = ImportOptions(kind="station", crs="wgs84", source="bench")


def garbage(folder: Path, rows: int) -> Path:
    """Write a CSV of ``rows`` rows that are each rejected twice (name, coordinates)."""
    path = folder / f"garbage-{rows}.csv"
    path.write_text("名称,经度,纬度\n" + ",东,北\n" * rows, encoding="utf-8")
    return path


def dry_run(path: Path, *, max_rejected: int) -> str:
    """Read, validate and report ``path``; return how it ended."""
    report = Report(source=path.name)
    try:
        parse_places(read_rows(path), OPTIONS, report, max_rejected=max_rejected)
    except LedgerError:
        return "refused: too many rows"
    report.to_dict()
    return f"{report.rows_read:,} read, {len(report.rejected_rows):,} rejected" + (
        ", stopped early" if report.stopped else ""
    )


def median_s(path: Path, repeat: int, *, max_rejected: int) -> tuple[float, str]:
    """Return the median seconds of ``repeat`` dry runs, and how the last one ended."""
    times, outcome = [], ""
    for _ in range(repeat):
        start = time.perf_counter()
        outcome = dry_run(path, max_rejected=max_rejected)
        times.append(time.perf_counter() - start)
    return statistics.median(times), outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cases = [(rows, 0) for rows in (10_000, 20_000, 40_000)]
    cases += [(1_000_000, Limits.max_rejected), (Limits.max_rows + 1, Limits.max_rejected)]
    table = Table(title=f"Dry runs of garbage ledgers, median of {args.repeat} runs")
    for column in ("rows", "max_rejected", "median s", "µs per row", "outcome"):
        table.add_column(column, justify="right" if column != "outcome" else "left")
    with tempfile.TemporaryDirectory() as tmp:
        dry_run(garbage(Path(tmp), 1000), max_rejected=0)  # warm up: imports, compiled patterns
        for rows, max_rejected in cases:
            seconds, outcome = median_s(
                garbage(Path(tmp), rows), args.repeat, max_rejected=max_rejected
            )
            table.add_row(
                f"{rows:,}",
                str(max_rejected or "none"),
                f"{seconds:.2f}",
                f"{seconds / rows * 1e6:.1f}",
                outcome,
            )
    Console().print(table)


if __name__ == "__main__":
    main()
