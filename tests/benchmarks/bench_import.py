"""Benchmark: importing 100,000 generated ledger rows, against a naive ORM import.

Run:  .venv/bin/python tests/benchmarks/bench_import.py [--rows 100000] [--repeat 3]

Creates a scratch database on YITU_DATABASE_URL's server, drops it at the end,
and prints medians (seconds) of each phase and the ratio to the baseline:
a per-row ``session.add(Place(...))`` ORM insert in one transaction, which is
what a straightforward build would do.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, text
from sqlalchemy.engine import make_url

from geo.db.engine import database_url, make_engine, session_factory
from geo.db.imports import import_ledger, write_places
from geo.db.migrate import create_database, drop_database, upgrade
from geo.db.models import Place
from geo.places.ledger import Report, read_rows
from geo.places.rows import ImportOptions, finish_places, parse_places
from geo.places.synthetic import random_places

console = Console()


def naive_write(factory, rows, source: str) -> None:
    """Baseline: one ORM object per row, one transaction."""
    with factory() as session, session.begin():
        for _, r in rows:
            session.add(
                Place(
                    kind=r.kind,
                    name=r.name,
                    address=r.address,
                    geom=func.ST_SetSRID(func.ST_MakePoint(r.lon, r.lat), 4326),
                    amenities=list(r.amenities),
                    opening_hours=r.opening_hours,
                    opening_hours_text=r.opening_hours_text,
                    status=r.status,
                    source=source,
                    external_id=r.external_id,
                    source_crs=r.source_crs,
                    district=r.district,
                    city=r.city,
                    province=r.province,
                    adcode=r.adcode,
                    six_haves={},
                )
            )


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    url = make_url(database_url()).set(database=f"yitu_bench_{secrets.token_hex(4)}")
    url_text = url.render_as_string(hide_password=False)
    create_database(url_text)
    try:
        upgrade(url_text)
        engine = make_engine(url_text, statement_timeout_ms=None)
        factory = session_factory(engine)
        with tempfile.TemporaryDirectory() as tmp:
            ledger = Path(tmp) / "generated.csv"
            random_places(args.rows, seed=1).to_csv(ledger, index=False)
            results = run_phases(factory, ledger, args.repeat)
        engine.dispose()
    finally:
        drop_database(url_text)
    show(results, args.rows)


def empty(factory) -> None:
    """Delete every place, so each timed phase starts from the same empty table."""
    with factory() as session, session.begin():
        session.execute(text("DELETE FROM places"))  # imports write no history rows


def run_phases(factory, ledger: Path, repeat: int) -> dict[str, list[float]]:
    """Time each phase ``repeat`` times, each write starting from an empty table."""
    names = (
        "full import (read, validate, locate, write, commit)",
        "re-import of the same file (no changes)",
        "write phase: COPY + upsert",
        "write phase: naive ORM (baseline)",
    )
    results: dict[str, list[float]] = {name: [] for name in names}
    options = ImportOptions(kind="station", crs="gcj02", source="bench")
    report = Report(source="bench")
    rows = finish_places(parse_places(read_rows(ledger), options, report), report)

    def full() -> None:
        with factory() as session, session.begin():
            import_ledger(session, ledger, options)

    def ours() -> None:
        with factory() as session, session.begin():
            write_places(session, rows, Report(source="bench"))

    for _ in range(repeat):
        empty(factory)
        results[names[0]].append(timed(full))
        results[names[1]].append(timed(full))
        empty(factory)
        results[names[2]].append(timed(ours))
        empty(factory)
        results[names[3]].append(timed(lambda: naive_write(factory, rows, "bench")))
    empty(factory)
    return results


def show(results: dict[str, list[float]], rows: int) -> None:
    table = Table(
        title=f"Importing {rows:,} generated rows (GCJ-02 -> WGS-84), median of {len(next(iter(results.values())))} runs"
    )
    table.add_column("phase")
    table.add_column("median s", justify="right")
    table.add_column("rows/s", justify="right")
    table.add_column("all runs s")
    for phase, times in results.items():
        median = statistics.median(times)
        table.add_row(
            phase, f"{median:.2f}", f"{rows / median:,.0f}", ", ".join(f"{t:.2f}" for t in times)
        )
    console.print(table)
    ours = statistics.median(results["write phase: COPY + upsert"])
    naive = statistics.median(results["write phase: naive ORM (baseline)"])
    console.print(f"write phase speed-up over the naive ORM baseline: [bold]{naive / ours:.1f}x[/]")


if __name__ == "__main__":
    main()
