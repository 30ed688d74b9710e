"""The data dictionary of the open-data files, and the default licence.

One list of columns serves the bulk files (GeoParquet, GeoJSON, CSV,
FlatGeobuf), the ``/data`` page and ``docs/opendata.md``: each column's name,
type and meaning, in English and Chinese.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from geo.places.vocabulary import AMENITIES, KINDS, SIX_HAVE_KEYS, STATUSES

DEFAULT_LICENCE = "CC BY 4.0"
DEFAULT_LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
# Bulk file names inside a snapshot, by format key.
SNAPSHOT_FILES: dict[str, str] = {
    "geoparquet": "places.parquet",
    "geojson": "places.geojson",
    "csv": "places.csv",
    "flatgeobuf": "places.fgb",
}
FORMAT_LABELS: dict[str, str] = {
    "geoparquet": "GeoParquet 1.1 (GeoArrow point encoding)",
    "geojson": "GeoJSON (RFC 7946)",
    "csv": "CSV, UTF-8 with BOM, lon/lat columns",
    "flatgeobuf": "FlatGeobuf",
}


@dataclass(frozen=True)
class Column:
    """One column of the open-data files."""

    name: str
    type: str
    en: str
    zh: str


COLUMNS: tuple[Column, ...] = (
    Column(
        "id", "integer", "Stable place id (also the API and OGC feature id)", "站点编号（稳定）"
    ),
    Column("kind", "text", "Kind: " + ", ".join(KINDS), "类型"),
    Column("name", "text", "Name as the ledger gives it", "名称"),
    Column("name_en", "text", "English name, when known", "英文名称"),
    Column("status", "text", "Status: " + ", ".join(STATUSES), "状态"),
    Column("address", "text", "Street address", "地址"),
    Column("province", "text", "Province", "省"),
    Column("city", "text", "City", "市"),
    Column("district", "text", "District or county", "区县"),
    Column("adcode", "text", "Six-digit administrative code of the district", "行政区划代码"),
    Column("lon", "float", "Longitude, WGS-84 degrees (EPSG:4326)", "经度（WGS-84）"),
    Column("lat", "float", "Latitude, WGS-84 degrees (EPSG:4326)", "纬度（WGS-84）"),
    Column(
        "amenities",
        "text",
        "Amenity codes separated by ';' (" + ", ".join(AMENITIES) + ")",
        "设施（分号分隔）",
    ),
    Column(
        "opening_hours",
        "text",
        "Opening hours in OpenStreetMap opening_hours syntax",
        "开放时间（OSM 格式）",
    ),
    Column(
        "opening_hours_text", "text", "Opening hours as the ledger wrote them", "开放时间（原文）"
    ),
    Column("open_24h", "boolean", "Open 24 hours a day, 7 days a week", "24小时开放"),
    Column("host_type", "text", "Kind of premises hosting the place", "依托阵地类型"),
    Column("build_mode", "text", "self_built or co_built", "建设方式"),
    Column("capacity", "integer", "Seats or people it can host", "容纳人数"),
    Column("phone", "text", "Public contact phone", "联系电话"),
    Column("managing_union", "text", "Union that runs it", "管理工会"),
    Column("station_no", "text", "Number in the union's own register", "站点编号（工会）"),
    Column(
        "six_haves",
        "text",
        "The 'six haves' the place meets, codes separated by ';'",
        "六有（分号分隔）",
    ),
    Column("last_verified", "date", "Date someone last checked it", "最近核实日期"),
    Column("is_demo", "boolean", "Invented demonstration data, not a real place", "演示数据"),
    Column(
        "updated_at",
        "timestamp",
        "Last change (UTC in GeoParquet/GeoJSON/FlatGeobuf; Asia/Shanghai local time in CSV)",
        "最近更新时间",
    ),
)
COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)


def flat_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return a place row as the flat record of the data dictionary.

    Lists become ``;``-separated text, ``six_haves`` the codes it meets, and
    ``open_24h`` is derived from ``opening_hours``.  Dates and times stay
    Python objects (each writer formats them).  ``lon``/``lat`` are copied
    when the row has them.
    """
    out: dict[str, Any] = {}
    for name in COLUMN_NAMES:
        if name == "amenities":
            out[name] = ";".join(row.get("amenities") or ())
        elif name == "six_haves":
            haves = row.get("six_haves") or {}
            out[name] = ";".join(k for k in SIX_HAVE_KEYS if haves.get(k))
        elif name == "open_24h":
            out[name] = row.get("opening_hours") == "24/7"
        else:
            out[name] = row.get(name)
    return out


def json_value(value: Any) -> Any:
    """Return ``value`` as JSON would carry it (dates ISO 8601, times RFC 3339 UTC)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value
