"""``yitu export snapshot`` and ``yitu export pmtiles``: the open-data files."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app

from geo.opendata.tiles import POINTS_MIN_ZOOM
from geo.service import opendata as service
from web.commands.groups import exports
from web.commands.progress import console, progress_bar
from web.db import session
from web.opendata import licence, snapshot_dir


@exports.command("snapshot")
@click.option(
    "--dir",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of snapshots (default: OPENDATA_DIR, else instance/opendata).",
)
@click.option(
    "--if-missing",
    is_flag=True,
    help="Do nothing when a snapshot exists already (for set-up scripts).",
)
def export_snapshot(out_dir: Path | None, if_missing: bool) -> None:
    """Write the whole register as GeoParquet, GeoJSON, CSV and FlatGeobuf, atomically."""
    name, url = licence()
    target = out_dir or snapshot_dir()
    if if_missing and service.current_snapshot(target) is not None:
        console.print(f"a snapshot exists in {target / service.CURRENT}; nothing to do")
        return
    with progress_bar("reading places") as advance:
        manifest = service.write_snapshot(
            session(), target, licence=name, licence_url=url, progress=advance
        )
    for f in manifest["files"]:
        console.print(f"{f['name']}: {f['bytes']} bytes")
    console.print(f"snapshot of {manifest['count']} places in {target / service.CURRENT}")


@exports.command("pmtiles")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--min-zoom", type=click.IntRange(0, 22), default=0, show_default=True)
@click.option(
    "--max-zoom",
    type=click.IntRange(0, 22),
    default=POINTS_MIN_ZOOM,
    show_default=True,
    help="Clients zoom in further on the last level.",
)
def export_pmtiles(file: Path, min_zoom: int, max_zoom: int) -> None:
    """Write every place as one PMTiles archive of vector tiles (static hosting)."""
    attribution = f"Yitu 驿图, {licence()[0]}"
    with progress_bar("tiles") as advance:
        result = service.export_pmtiles(
            session(),
            file,
            min_zoom=min_zoom,
            max_zoom=max_zoom,
            attribution=attribution,
            progress=advance,
        )
    console.print(
        f"{result['tiles']} tiles, {result['bytes']} bytes, "
        f"largest tile {result['largest_tile_bytes']} bytes, "
        f"{result['seconds']} s -> {file}"
    )
    current_app.logger.info("pmtiles written: %s", file)


def register(group: click.Group) -> None:
    """Commands attach to the shared export group; nothing else to add."""
