"""The demo city of Xining (西宁): authored, fictional places for demonstrations.

``data/demo/xining_places.geojson`` (written by ``scripts/make_demo.py``)
holds 54 invented places shaped on the Xining unions' published figures:
28 stations, 18 breakfast points, 7 reading nooks and a drivers' home.  None
of them is real; every name ends in ``（演示）`` and every record has
``is_demo=True``.  See ``data/demo/README.md``.

The file lives in the repository's top-level ``data/`` folder, which an
installed wheel does not contain: loading needs the repository checkout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from geo.errors import LedgerError
from geo.places.hours_parse import parse_chinese_hours
from geo.places.vocabulary import PlaceRecord, SourceCRS

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
DEMO_FILE = DATA_DIR / "demo" / "xining_places.geojson"
DEMO_SOURCE = "demo:xining"

# GeoJSON properties that are PlaceRecord fields; everything else in the
# file (``demo_notice``) is information for people, not for the record.
_FIELDS = (
    "external_id",
    "kind",
    "name",
    "name_en",
    "address",
    "province",
    "city",
    "district",
    "adcode",
    "ledger_district",
    "opening_hours_text",
    "status",
    "host_type",
    "build_mode",
    "capacity",
    "phone",
    "managing_union",
    "station_no",
)


def load_demo_places(path: Path | str | None = None) -> list[PlaceRecord]:
    """Read the demo city's places.

    Parameters
    ----------
    path : path-like, optional
        A GeoJSON FeatureCollection in the demo file's format; default
        ``data/demo/xining_places.geojson`` in the repository.

    Returns
    -------
    list of geo.places.PlaceRecord
        In file order, with ``source="demo:xining"``, ``source_crs="wgs84"``,
        ``lon``/``lat`` in WGS-84 (EPSG:4326) degrees and ``is_demo=True``.
        ``opening_hours`` is the OSM form of ``opening_hours_text`` as
        :func:`geo.places.hours_parse.parse_chinese_hours` reads it (None where it cannot,
        as for any ledger).

    Raises
    ------
    FileNotFoundError
        The file is absent (an installed wheel without the repository).
    geo.errors.LedgerError
        A feature is not a demo place with a point geometry.
    """
    file = Path(path) if path is not None else DEMO_FILE
    if not file.is_file():
        raise FileNotFoundError(
            f"demo file not found at {file}; it ships in the repository's data/demo/ folder "
            "(scripts/make_demo.py rewrites it)"
        )
    collection = json.loads(file.read_text(encoding="utf-8"))
    return [_record(feature, n) for n, feature in enumerate(collection["features"], start=1)]


def _record(feature: dict[str, Any], n: int) -> PlaceRecord:
    props = feature.get("properties") or {}
    geometry = feature.get("geometry") or {}
    if geometry.get("type") != "Point" or props.get("is_demo") is not True:
        raise LedgerError(f"demo feature {n} is not a Point marked is_demo: true")
    lon, lat = (float(v) for v in geometry["coordinates"][:2])
    fields: dict[str, Any] = {name: props.get(name) for name in _FIELDS}
    missing = [name for name in ("external_id", "kind", "name") if not fields[name]]
    if missing:
        raise LedgerError(f"demo feature {n} has no {', '.join(missing)}")
    return PlaceRecord(
        source=DEMO_SOURCE,
        lon=lon,
        lat=lat,
        source_crs=SourceCRS.WGS84.value,
        amenities=tuple(props.get("amenities") or ()),
        six_haves={str(k): bool(v) for k, v in (props.get("six_haves") or {}).items()},
        is_demo=True,
        opening_hours=parse_chinese_hours(fields["opening_hours_text"]).osm
        if fields["opening_hours_text"]
        else None,
        **fields,
    )
