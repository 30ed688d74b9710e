"""Open-data use cases: OGC feature pages, bulk snapshots, PMTiles archives.

Called alike by the ``/ogc``, ``/tiles`` and ``/data`` views and by
``yitu export snapshot`` / ``yitu export pmtiles``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from geo.db import opendata as db
from geo.db import tiles as db_tiles
from geo.errors import InvalidInput
from geo.export import write_csv
from geo.opendata.crs import ServedCRS
from geo.opendata.dictionary import (
    COLUMN_NAMES,
    COLUMNS,
    FORMAT_LABELS,
    SNAPSHOT_FILES,
    flat_record,
    json_value,
)
from geo.opendata.ogc import feature
from geo.opendata.tiles import AMENITY_BITS, EXTENT, LAYER, POINTS_MIN_ZOOM, check_tile

MANIFEST = "manifest.json"
CURRENT = "current"
# Snapshots kept besides the current one (a download in progress can finish).
KEEP_PREVIOUS = 1
# A work folder untouched this long belongs to a snapshot that died.
STALE_WORK_S = 6 * 3600


# ---------------------------------------------------------------- OGC items


@dataclass(frozen=True)
class FeaturePage:
    """One page of OGC features with what the links need."""

    features: list[dict[str, Any]]
    number_matched: int | None
    next_after: int | None
    prev_before: int | None


def feature_page(
    session: Session,
    where: db.FeatureFilter,
    crs: ServedCRS,
    *,
    limit: int,
    after_id: int | None,
    before_id: int | None,
    url_of: Callable[[int], str],
) -> FeaturePage:
    """Return a page of features in ``crs`` with its next/prev keys (ids).

    ``number_matched`` is counted on the first page only (None on later
    ones, which OGC allows): a client walking 186,000 places in pages of 10,
    as GDAL does by default, would otherwise count the table 18,600 times.
    """
    rows = db.feature_page(
        session, where, srid=crs.srid, limit=limit, after_id=after_id, before_id=before_id
    )
    first_page = after_id is None and before_id is None
    matched = db.count_features(session, where) if first_page else None
    features = [feature(r, crs, url=url_of(int(r["id"]))) for r in rows]
    next_after = prev_before = None
    if rows:
        first, last = int(rows[0]["id"]), int(rows[-1]["id"])
        more_after = len(rows) == limit if before_id is None else True
        if more_after and db.feature_page(session, where, limit=1, after_id=last):
            next_after = last
        if (after_id is not None or before_id is not None) and db.has_before(session, where, first):
            prev_before = first
    return FeaturePage(features, matched, next_after, prev_before)


def one_feature(
    session: Session, place_id: int, crs: ServedCRS, *, kind: str | None, url: str
) -> dict[str, Any] | None:
    """Return one place as a feature in ``crs`` (None when absent or of another kind)."""
    row = db.get_feature(session, place_id, srid=crs.srid)
    if row is None or (kind is not None and row["kind"] != kind):
        return None
    return feature(row, crs, url=url)


# ---------------------------------------------------------------- tiles


def place_tile(session: Session, z: int, x: int, y: int) -> bytes:
    """Return the MVT bytes of tile ``z/x/y`` (checked first; may be empty)."""
    check_tile(z, x, y)
    return db_tiles.place_tile(session, z, x, y)


def tile_metadata(*, min_zoom: int = 0, max_zoom: int = POINTS_MIN_ZOOM) -> dict[str, Any]:
    """Return the TileJSON-style vector_layers metadata of the places layer."""
    return {
        "name": "Yitu places",
        "format": "pbf",
        "minzoom": min_zoom,
        "maxzoom": max_zoom,
        "bounds": [73.0, 3.0, 136.0, 54.0],
        "vector_layers": [
            {
                "id": LAYER,
                "minzoom": min_zoom,
                "maxzoom": max_zoom,
                "fields": {
                    "kind": "String",
                    "status": "String",
                    "open24": "Number",
                    "amenities": "Number",
                    "count": "Number",
                },
            }
        ],
        "amenity_bits": list(AMENITY_BITS),
        "extent": EXTENT,
    }


def export_pmtiles(
    session: Session,
    path: Path,
    *,
    min_zoom: int = 0,
    max_zoom: int = POINTS_MIN_ZOOM,
    attribution: str = "",
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Write every non-empty tile of zooms ``min_zoom..max_zoom`` as one PMTiles archive.

    One query per zoom (:func:`geo.db.tiles.zoom_tiles`); tiles are gzipped
    and written in tile-id order (a clustered archive).  The file appears
    whole or not at all (written beside ``path``, then renamed).

    Returns
    -------
    dict
        ``tiles``, ``bytes``, ``seconds``, ``largest_tile_bytes`` (uncompressed).
    """
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import Writer

    if not 0 <= min_zoom <= max_zoom <= 22:
        raise InvalidInput("zooms must satisfy 0 <= min_zoom <= max_zoom <= 22", field="max_zoom")
    started = time.perf_counter()
    tiles: list[tuple[int, bytes]] = []
    largest = 0
    for z in range(min_zoom, max_zoom + 1):
        for x, y, mvt in db_tiles.zoom_tiles(session, z):
            largest = max(largest, len(mvt))
            tiles.append((zxy_to_tileid(z, x, y), gzip.compress(mvt, mtime=0)))
            if progress is not None:
                progress(1)
    tiles.sort(key=lambda t: t[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with tmp.open("wb") as f:
            # pmtiles ships no type annotations: its three calls are untyped.
            writer = Writer(f)  # type: ignore[no-untyped-call]
            for tile_id, data in tiles:
                writer.write_tile(tile_id, data)  # type: ignore[no-untyped-call]
            header = {
                "tile_type": TileType.MVT,
                "tile_compression": Compression.GZIP,
                "min_lon_e7": 730000000,
                "min_lat_e7": 30000000,
                "max_lon_e7": 1360000000,
                "max_lat_e7": 540000000,
                "center_zoom": 4,
                "center_lon_e7": 1045000000,
                "center_lat_e7": 350000000,
            }
            metadata = {
                **tile_metadata(min_zoom=min_zoom, max_zoom=max_zoom),
                "attribution": attribution,
            }
            writer.finalize(header, metadata)  # type: ignore[no-untyped-call]
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return {
        "tiles": len(tiles),
        "bytes": path.stat().st_size,
        "largest_tile_bytes": largest,
        "seconds": round(time.perf_counter() - started, 2),
    }


# ---------------------------------------------------------------- snapshots


def write_snapshot(
    session: Session,
    out_dir: Path,
    *,
    licence: str,
    licence_url: str,
    progress: Callable[[int], None] | None = None,
    on_file: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write the whole register as GeoParquet, GeoJSON, CSV and FlatGeobuf, atomically.

    The files go to a hidden temporary folder inside ``out_dir``, which is
    renamed to ``out_dir/<UTC stamp>`` when complete; then the symlink
    ``out_dir/current`` is swapped to it with one ``rename`` (atomic on
    POSIX).  A reader following ``current`` never sees a half-written
    snapshot.  Older snapshots but the previous one are removed.

    Parameters
    ----------
    progress
        Called with 1 per place read.
    on_file
        Called with each file's name once it is written (an exception raised
        there interrupts the snapshot like Ctrl-C would: nothing is swapped).

    Returns
    -------
    dict
        The manifest (also written as ``manifest.json``): time, licence,
        count, and per file its name, bytes and SHA-256.
    """
    import geopandas as gpd
    import pandas as pd

    records = []
    for row in db.iter_snapshot_rows(session):
        records.append(flat_record(row))
        if progress is not None:
            progress(1)
    out_dir.mkdir(parents=True, exist_ok=True)
    generated = datetime.now(UTC)
    stamp = generated.strftime("%Y%m%dT%H%M%S%fZ")
    work = Path(tempfile.mkdtemp(prefix=".tmp-", dir=out_dir))
    try:
        frame = pd.DataFrame.from_records(records, columns=list(COLUMN_NAMES))
        frame["updated_at"] = pd.to_datetime(frame["updated_at"], utc=True)
        frame["last_verified"] = pd.to_datetime(frame["last_verified"]).dt.date
        frame = frame.astype(
            {"id": "int64", "capacity": "Int64", "open_24h": "bool", "is_demo": "bool"}
        )
        gdf = gpd.GeoDataFrame(
            frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326"
        )
        written = on_file or (lambda _name: None)
        gdf.to_parquet(
            work / SNAPSHOT_FILES["geoparquet"], geometry_encoding="geoarrow", index=False
        )
        written(SNAPSHOT_FILES["geoparquet"])
        flat = gdf.copy()
        flat["last_verified"] = flat["last_verified"].astype("string")
        flat.to_file(work / SNAPSHOT_FILES["flatgeobuf"], driver="FlatGeobuf", engine="pyogrio")
        written(SNAPSHOT_FILES["flatgeobuf"])
        with (work / SNAPSHOT_FILES["geojson"]).open("w", encoding="utf-8") as out:
            _write_geojson(records, out, licence=licence, generated=generated)
        written(SNAPSHOT_FILES["geojson"])
        with (work / SNAPSHOT_FILES["csv"]).open("w", encoding="utf-8", newline="") as out:
            write_csv(records, COLUMN_NAMES, out)
        written(SNAPSHOT_FILES["csv"])
        manifest = {
            "generated_at": json_value(generated),
            "count": len(records),
            "licence": licence,
            "licence_url": licence_url,
            "crs": "EPSG:4326 (WGS-84 lon/lat degrees)",
            "columns": [{"name": c.name, "type": c.type, "en": c.en, "zh": c.zh} for c in COLUMNS],
            "files": [_file_entry(work / name, key) for key, name in SNAPSHOT_FILES.items()],
        }
        (work / MANIFEST).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        for path in work.iterdir():
            path.chmod(0o644)
        work.chmod(0o755)
        final = out_dir / stamp
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    link = out_dir / f".{CURRENT}-{stamp}"
    link.symlink_to(stamp)
    os.replace(link, out_dir / CURRENT)
    _prune(out_dir, keep=stamp)
    return manifest


def _write_geojson(
    records: list[dict[str, Any]], out: Any, *, licence: str, generated: datetime
) -> None:
    from geo.export import write_geojson

    def features() -> Any:
        for r in records:
            props = {k: json_value(v) for k, v in r.items() if k not in ("id", "lon", "lat")}
            yield {
                "type": "Feature",
                "id": r["id"],
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(r["lon"], 7), round(r["lat"], 7)],
                },
                "properties": props,
            }

    write_geojson(features(), out, licence=licence, generated_at=json_value(generated))


def _file_entry(path: Path, key: str) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {
        "format": key,
        "label": FORMAT_LABELS[key],
        "name": path.name,
        "bytes": path.stat().st_size,
        "sha256": digest.hexdigest(),
    }


def _prune(out_dir: Path, *, keep: str) -> None:
    # Work folders of snapshots killed midway (kill -9 leaves them behind).
    for stale in out_dir.glob(".tmp-*"):
        if time.time() - stale.stat().st_mtime > STALE_WORK_S:
            shutil.rmtree(stale, ignore_errors=True)
    stamps = sorted(
        p.name
        for p in out_dir.iterdir()
        if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
    )
    for name in stamps:
        if name != keep and name not in stamps[-1 - KEEP_PREVIOUS :]:
            shutil.rmtree(out_dir / name, ignore_errors=True)


def current_snapshot(out_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """Return the folder and manifest of the current snapshot, or None when there is none."""
    folder = out_dir / CURRENT
    try:
        real = folder.resolve(strict=True)
        manifest = json.loads((real / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None
    return real, manifest
