"""``yitu analyze ...``: coverage, gaps and new station sites from the command line.

The same functions as the planner page (:func:`geo.service.planning.run_coverage`,
:func:`geo.service.planning.run_siting`); outputs are WGS-84 GeoJSON, formula-escaped
CSV and a coverage-curve image.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup
from rich.table import Table

from geo.db.activity import list_datasets
from geo.errors import GeoError, InvalidInput
from geo.places.crs import validate_lonlat
from geo.places.polygons import read_polygon
from geo.places.vocabulary import AMENITIES, CHINA_BBOX, KINDS
from geo.planning.candidates import read_candidates
from geo.planning.coverage import coverage_change
from geo.planning.coverage_export import write_coverage_csv, write_coverage_geojson
from geo.planning.mclp import DEFAULT_TIME_LIMIT_S
from geo.planning.siting import DEFAULT_SITE_COST
from geo.planning.siting_export import write_sites_csv, write_sites_geojson
from geo.service.planning import PlannerQuery, load_network, run_coverage, run_siting
from web.commands.progress import console, fail
from web.db import session
from web.planner_curves import plot_curve
from web.planner_words import proof_in_words

analyze = AppGroup("analyze", help="Coverage of rider activity and where new stations go.")


def _codes(text: str | None, allowed: tuple[str, ...], name: str) -> tuple[str, ...]:
    values = tuple(v.strip() for v in (text or "").split(",") if v.strip())
    bad = [v for v in values if v not in allowed]
    if bad:
        raise click.BadParameter(f"{bad[0]!r} is not one of {', '.join(allowed)}", param_hint=name)
    return values


def question_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by coverage and siting: area, window, places, distance."""
    options = [
        click.option("--city", help="City label of the imported activity."),
        click.option(
            "--dataset",
            "datasets",
            multiple=True,
            help="Dataset name(s); default: every dataset of --city.",
        ),
        click.option("--district", help="Limit to one official district (by name)."),
        click.option(
            "--polygon",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Limit to a GeoJSON polygon.",
        ),
        click.option("--polygon-crs", default="wgs84", show_default=True),
        click.option(
            "--window",
            default="weekday-lunch",
            show_default=True,
            help="weekday-lunch, weekday-dinner, lunch, dinner, night, early-morning, "
            "all, or HH:MM-HH:MM[,days] (Asia/Shanghai), e.g. 05:00-08:00,Mo-Sa.",
        ),
        click.option(
            "--kinds",
            default="station",
            show_default=True,
            help=f"Place kinds that count, comma-separated ({', '.join(KINDS)}).",
        ),
        click.option(
            "--amenities",
            default="",
            help="Amenities every counted place must offer, comma-separated.",
        ),
        click.option(
            "--radius-m",
            type=click.FloatRange(1, 20_000),
            default=500,
            show_default=True,
            help="Service distance in metres.",
        ),
        click.option(
            "--min-open-share",
            type=click.FloatRange(0, 1),
            default=0.5,
            show_default=True,
            help="Share of the window a place must be open.",
        ),
        click.option(
            "--unknown-hours",
            type=click.Choice(("open", "closed")),
            default="open",
            show_default=True,
            help="How to count places without opening hours.",
        ),
        click.option(
            "--network",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="GraphML road network: measure along roads instead of straight.",
        ),
        click.option("--directed", is_flag=True, help="Keep one-way streets (drivers)."),
        click.option(
            "--add",
            "add",
            multiple=True,
            metavar="LON,LAT",
            help="What-if: add a station here (WGS-84).",
        ),
        click.option(
            "--remove",
            "remove",
            multiple=True,
            metavar="ID",
            help="What-if: take this station away.",
        ),
    ]
    for option in reversed(options):
        command = option(command)

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        try:
            kwargs["query"] = _query(kwargs)
        except GeoError as exc:
            fail(str(exc))
        return command(**kwargs)

    return wrapper


def _query(kw: dict[str, Any]) -> PlannerQuery:
    if not (kw.get("city") or kw.get("datasets")):
        raise InvalidInput("say which activity to analyse: --city or --dataset", field="city")
    polygon_wkt = None
    if kw.get("polygon"):
        polygon_wkt = read_polygon(kw["polygon"], crs=kw["polygon_crs"]).wkt
    added = []
    for text in kw.get("add") or ():
        lon, _, lat = text.partition(",")
        added.append(validate_lonlat(lon.strip(), lat.strip(), bbox=CHINA_BBOX))
    return PlannerQuery(
        city=kw.get("city"),
        datasets=tuple(kw.get("datasets") or ()),
        district=kw.get("district"),
        polygon_wkt=polygon_wkt,
        window=kw["window"],
        kinds=_codes(kw["kinds"], KINDS, "--kinds"),
        amenities=_codes(kw["amenities"], AMENITIES, "--amenities"),
        radius_m=float(kw["radius_m"]),
        min_open_share=float(kw["min_open_share"]),
        unknown_hours_open=kw["unknown_hours"] == "open",
        add=tuple(added),
        remove=tuple(kw.get("remove") or ()),
    )


def _network(kw: dict[str, Any]) -> Any:
    return load_network(str(kw["network"]), kw["directed"]) if kw.get("network") else None


def _pct(value: float) -> str:
    return "n/a" if value != value else f"{100 * value:.1f}%"


def _print_coverage(answer: Any, *, top: int) -> None:
    result = answer.result
    summary = result.summary()
    console.print(
        f"[bold]{_pct(summary['covered_share'] or float('nan'))}[/] of activity covered "
        f"({summary['covered_weight']:,.0f} of {summary['total_weight']:,.0f}) within "
        f"{summary['radius_m']:.0f} m ({summary['method']}, {summary['metric_crs']}), "
        f"window {summary['window']}; {summary['stations']} stations counted; "
        f"{summary['uncovered_cells']} of {summary['cells']} cells uncovered in "
        f"{summary['gaps']} gaps"
    )
    if answer.before is not None:
        console.print(f"before the what-if: {_pct(answer.before.covered_share)}")
        change = Table(title="who loses and who gains coverage")
        for column in (
            "district",
            "cells lost",
            "activity lost",
            "share of district",
            "cells gained",
            "activity gained",
        ):
            change.add_column(column)
        for row in coverage_change(answer.before, answer.result).itertuples(index=False):
            change.add_row(
                str(row.district),
                str(row.lost_cells),
                f"{row.lost_weight:,.0f}",
                _pct(row.lost_share),
                str(row.gained_cells),
                f"{row.gained_weight:,.0f}",
            )
        console.print(change)
    for reason, count in summary["dropped_stations"].items():
        console.print(f"places left out: {reason}: {count}")
    if answer.is_demo:
        console.print("[yellow]demo data: the activity is invented[/]")
    gaps = Table(title="largest gaps")
    for column in ("gap", "cells", "activity", "share"):
        gaps.add_column(column)
    for row in result.gaps.head(top).itertuples(index=False):
        gaps.add_row(str(row.name), str(row.cells), f"{row.weight:,.0f}", _pct(row.share))
    console.print(gaps)
    districts = Table(title="by district")
    for column in ("district", "activity", "covered", "uncovered cells", "gaps"):
        districts.add_column(column)
    for row in result.districts.itertuples(index=False):
        districts.add_row(
            str(row.district),
            f"{row.weight:,.0f}",
            _pct(row.covered_share),
            str(row.uncovered_cells),
            str(row.gaps),
        )
    console.print(districts)


def _write_text(path: Path, writer: Callable[[Any], int]) -> int:
    with path.open("w", encoding="utf-8", newline="") as stream:
        return writer(stream)


@analyze.command("datasets")
def datasets_command() -> None:
    """List the imported activity datasets."""
    table = Table(title="activity datasets")
    for column in ("name", "city", "crs", "H3", "points", "cells", "riders", "demo", "created"):
        table.add_column(column)
    for d in list_datasets(session()):
        table.add_row(
            d["name"],
            d["city"],
            d["source_crs"],
            str(d["resolution"]),
            f"{d['points']:,}",
            f"{d['cells']:,}",
            "yes" if d["has_riders"] else "no",
            "yes" if d["is_demo"] else "",
            f"{d['created_at']:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@analyze.command("coverage")
@question_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the gap clusters as GeoJSON (WGS-84).",
)
@click.option(
    "--cells-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every cell (covered or not) as GeoJSON.",
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the uncovered cells, ranked, as CSV.",
)
@click.option(
    "--gaps-csv",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the gap clusters (totals, district, centre) as CSV.",
)
@click.option(
    "--districts-csv",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the per-district table as CSV.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the summary as JSON.",
)
@click.option("--top", type=click.IntRange(1, 1000), default=10, show_default=True)
def coverage_command(
    query: PlannerQuery,
    out: Path | None,
    cells_out: Path | None,
    csv_path: Path | None,
    gaps_csv: Path | None,
    districts_csv: Path | None,
    json_path: Path | None,
    top: int,
    **kw: Any,
) -> None:
    """Share of activity covered, uncovered cells, gap clusters, per-district table."""
    try:
        answer = run_coverage(session(), query, network=_network(kw))
        result = answer.result
        if out:
            _write_text(out, lambda s: write_coverage_geojson(result, s, layer="gaps"))
        if cells_out:
            _write_text(cells_out, lambda s: write_coverage_geojson(result, s, layer="cells"))
        if csv_path:
            _write_text(csv_path, lambda s: write_coverage_csv(result, s, layer="uncovered"))
        if gaps_csv:
            _write_text(gaps_csv, lambda s: write_coverage_csv(result, s, layer="gaps"))
        if districts_csv:
            _write_text(districts_csv, lambda s: write_coverage_csv(result, s, layer="districts"))
        if json_path:
            json_path.write_text(
                json.dumps(result.summary(), ensure_ascii=False, indent=2, default=str)
            )
    except GeoError as exc:
        fail(str(exc))
    _print_coverage(answer, top=top)
    for path in (out, cells_out, csv_path, gaps_csv, districts_csv, json_path):
        if path:
            console.print(f"wrote {path}")


@analyze.command("siting")
@question_options
@click.option("--p", "p", type=click.IntRange(1, 100_000), help="Number of new stations.")
@click.option(
    "--budget", type=click.FloatRange(0, min_open=True), help="Or: money for new stations (yuan)."
)
@click.option(
    "--target",
    "target",
    type=click.FloatRange(0, 100, min_open=True),
    help="Or: the fewest new stations that bring coverage to this percent of activity.",
)
@click.option(
    "--min-district-share",
    type=click.FloatRange(0, 100, min_open=True),
    help="With --p or --budget: every district ends with at least this percent covered.",
)
@click.option(
    "--cost",
    type=click.FloatRange(0, min_open=True),
    default=DEFAULT_SITE_COST,
    show_default=True,
    help="Cost of one station where a candidate has none.",
)
@click.option(
    "--candidates",
    "candidate_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Candidate hosts (CSV/XLSX/GeoJSON with lon/lat; id, name, cost optional).",
)
@click.option(
    "--candidates-crs",
    default="wgs84",
    show_default=True,
    help="CRS of the candidate files (e.g. gcj02).",
)
@click.option(
    "--from-cells/--no-from-cells",
    default=True,
    show_default=True,
    help="Also offer the centres of uncovered cells as candidates.",
)
@click.option(
    "--max-cell-candidates", type=click.IntRange(1, 1_000_000), default=3000, show_default=True
)
@click.option(
    "--time-limit",
    type=click.FloatRange(1, 86_400),
    default=DEFAULT_TIME_LIMIT_S,
    show_default=True,
    help="Seconds the solver may take.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the proposed sites as GeoJSON (WGS-84).",
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the proposed sites as CSV.",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the coverage curve (.png or .svg).",
)
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path))
def siting_command(
    query: PlannerQuery,
    p: int | None,
    budget: float | None,
    target: float | None,
    min_district_share: float | None,
    cost: float,
    candidate_files: tuple[Path, ...],
    candidates_crs: str,
    from_cells: bool,
    max_cell_candidates: int,
    time_limit: float,
    out: Path | None,
    csv_path: Path | None,
    plot: Path | None,
    json_path: Path | None,
    **kw: Any,
) -> None:
    """Propose new station sites (maximal covering, exact with HiGHS) with a coverage curve."""
    import pandas as pd

    if sum(x is not None for x in (p, budget, target)) != 1:
        fail("give one of --p N, --budget AMOUNT or --target PERCENT")
    if min_district_share is not None and target is not None:
        fail("--min-district-share goes with --p or --budget")
    try:
        network = _network(kw)
        answer = run_coverage(session(), query, network=network)
        candidates = None
        if candidate_files:
            candidates = pd.concat(
                [read_candidates(f, crs=candidates_crs) for f in candidate_files], ignore_index=True
            )
        with console.status("solving"):
            result = run_siting(
                answer,
                p=p,
                budget=budget,
                target_share=target / 100 if target is not None else None,
                min_district_share=(
                    min_district_share / 100 if min_district_share is not None else None
                ),
                cost=cost,
                candidates=candidates,
                from_cells=from_cells,
                max_cell_candidates=max_cell_candidates,
                network=network,
                time_limit_s=time_limit,
            )
        if out:
            _write_text(out, lambda s: write_sites_geojson(result, s))
        if csv_path:
            _write_text(csv_path, lambda s: write_sites_csv(result, s))
        if plot:
            fmt = "svg" if plot.suffix.lower() == ".svg" else "png"
            plot_curve(result, plot, fmt=fmt)
        if json_path:
            json_path.write_text(
                json.dumps(
                    {"summary": result.summary(), "curve": result.curve.to_dict("list")},
                    ensure_ascii=False,
                    indent=2,
                    default=str,
                )
            )
    except GeoError as exc:
        fail(str(exc))
    summary = result.summary()
    console.print(
        f"{summary['sites']} new sites: coverage {_pct(summary['base_share'])} -> "
        f"[bold]{_pct(summary['final_share'])}[/] within {summary['radius_m']:.0f} m; "
        f"{summary['status']} (HiGHS, {summary['seconds']} s); "
        f"greedy preview reaches {_pct(summary['greedy_share_of_optimum'])} of the optimum; "
        f"cost {summary['cost']:,.0f}"
    )
    console.print(proof_in_words(summary))
    for note in summary["notes"]:
        console.print(f"note: {note}")
    table = Table(title="proposed sites, in order")
    for column in ("#", "site", "source", "lon", "lat", "adds", "covered after", "cost"):
        table.add_column(column)
    for row in result.sites.itertuples(index=False):
        table.add_row(
            str(row.order),
            str(row.name),
            str(row.source),
            f"{row.lon:.6f}",
            f"{row.lat:.6f}",
            _pct(row.gain_share),
            _pct(row.covered_share),
            f"{row.cost:,.0f}",
        )
    console.print(table)
    for path in (out, csv_path, plot, json_path):
        if path:
            console.print(f"wrote {path}")


def register(group: click.Group) -> None:
    """Attach ``analyze`` to the CLI."""
    group.add_command(analyze)
