"""Progress bars and report tables for long commands (rich)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from geo.places.ledger import Report

console = Console(stderr=True)
SHOWN_ISSUES = 40


@contextmanager
def progress_bar(label: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """Show a progress bar; yield a function that advances it by n items."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def show_report(report: Report, *, report_path: Path | None = None) -> None:
    """Print the report as a table plus a summary; write it as JSON if asked."""
    issues = sorted(report.issues, key=lambda i: (i.row, i.severity))
    if issues:
        table = Table(title=f"{report.source}: issues by row", show_lines=False)
        for column in ("row", "level", "code", "place", "message"):
            table.add_column(column, overflow="fold")
        for issue in issues[:SHOWN_ISSUES]:
            style = "red" if issue.severity == "error" else "yellow"
            table.add_row(
                str(issue.row),
                f"[{style}]{issue.severity}[/]",
                issue.code,
                issue.name or "",
                issue.message,
            )
        console.print(table)
        if len(issues) > SHOWN_ISSUES:
            console.print(
                f"... and {len(issues) - SHOWN_ISSUES} more; write them all with --report FILE"
            )
    if report.detected:
        console.print("read as " + ", ".join(f"{k} {v}" for k, v in report.detected.items()))
    summary = report.to_dict()
    verb = "would write" if report.dry_run else "wrote"
    console.print(
        f"[bold]{summary['rows_read']}[/] rows read, {summary['accepted']} accepted, "
        f"{summary['rejected']} rejected, {summary['warnings']} warnings; {verb} "
        + ", ".join(f"{v} {k}" for k, v in report.counts.items())
    )
    if report_path:
        report_path.write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
        console.print(f"report written to {report_path}")


def fail(message: str) -> None:
    """Stop the command with a clear message and exit status 1."""
    raise click.ClickException(message)
