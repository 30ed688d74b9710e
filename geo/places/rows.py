"""Turning ledger rows into validated :class:`~geo.places.PlaceRecord` objects.

Per row: name, coordinates (range, NaN, swapped, outside China), kind,
status, amenities, hours, build mode and capacity.  Per file, vectorised:
conversion to WGS-84, the official district from real boundaries (warning on
disagreement with the written one), and probable duplicates within 30 m.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from geo.errors import InvalidInput, LedgerError
from geo.places import crs as crs_mod
from geo.places.district_check import check_written_district
from geo.places.district_names import _label
from geo.places.districts import assign_districts, district_by_adcode, nearest_districts
from geo.places.hours_parse import parse_chinese_hours
from geo.places.ledger import (
    GEOJSON_LAT,
    GEOJSON_LON,
    Report,
    Row,
    is_blank,
    map_columns,
    parse_all,
)
from geo.places.vocabulary import (
    BUILD_MODES,
    KINDS,
    SOURCE_CRSES,
    STATUSES,
    PlaceRecord,
    guess_host_type,
    normalize_amenity,
    normalize_kind,
    normalize_status,
)

EARTH_RADIUS_M = 6_371_008.8
DUPLICATE_RADIUS_M = 30.0

# Field -> the names ledgers give it (compared after normalize_header folding).
PLACE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "external_id": ("id", "uid", "poi_id", "外部编号", "唯一编号"),
    "station_no": ("站点编号", "驿站编号", "编号", "stationno", "number"),
    "name": ("名称", "站点名称", "驿站名称", "站点全称", "服务站点名称", "title", "名字"),
    "name_en": ("英文名称", "english_name", "name_english"),
    "kind": ("类型", "站点类型", "type", "category"),
    "address": ("地址", "详细地址", "站点地址", "addr", "位置"),
    "lon": ("经度", "lng", "long", "longitude", "x", GEOJSON_LON),
    "lat": ("纬度", "latitude", "y", GEOJSON_LAT),
    "opening_hours_text": (
        "开放时间",
        "营业时间",
        "服务时间",
        "open_hours",
        "opening_hours",
        "hours",
        "open_time",
    ),
    "amenities": ("设施", "服务设施", "配套设施", "服务功能", "facilities", "services"),
    "province": ("省", "省份"),
    "city": ("市", "城市", "地市"),
    "district": ("区", "区县", "县区", "所属区县", "所在区", "区域", "county"),
    "adcode": ("行政区划代码", "区划代码"),
    "phone": ("联系电话", "电话", "联系方式", "tel", "telephone", "contact_phone"),
    "capacity": ("容纳人数", "容量", "可容纳人数"),
    "status": ("状态", "运营状态"),
    "host_type": ("依托单位类型", "载体类型", "阵地类型", "host"),
    "build_mode": ("建设方式", "建设模式", "建设类型"),
    "managing_union": ("管理单位", "主管工会", "所属工会", "管理工会", "manager"),
    "last_verified": ("核查日期", "最后核实", "核实日期", "verified_at"),
}

BUILD_MODE_WORDS = {
    "自建": "self_built",
    "共建": "co_built",
    "联建": "co_built",
    "self_built": "self_built",
    "co_built": "co_built",
}
SPLIT_WORDS = re.compile(r"[,，、;；/|\s]+")


@dataclass(frozen=True)
class ImportOptions:
    """What the user told the importer about a ledger.

    ``crs`` is the coordinate system the ledger is written in (``wgs84``,
    ``gcj02`` or ``bd09``); ``kind`` is the default kind for rows without
    one; ``source`` names the ledger, and with ``external_id`` forms the
    natural key that makes re-imports update instead of duplicate.
    """

    kind: str
    crs: str
    source: str
    mapping: Mapping[str, str] | None = None
    is_demo: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidInput(
                f"kind {self.kind!r} is unknown; expected one of {', '.join(KINDS)}", field="kind"
            )
        if self.crs not in SOURCE_CRSES:
            raise InvalidInput(
                f"crs {self.crs!r} is unknown; expected one of {', '.join(SOURCE_CRSES)}",
                field="crs",
            )
        if not self.source.strip():
            raise InvalidInput("source must not be empty", field="source")


def text_or_none(value: Any) -> str | None:
    """Return stripped text, or None for a blank cell."""
    return None if is_blank(value) else str(value).strip()


def parse_coordinate(value: Any, field: str) -> float:
    """Parse one coordinate cell into a float (degrees), refusing blanks and NaN."""
    if is_blank(value):
        raise InvalidInput(f"{field} is missing; expected decimal degrees", field=field)
    try:
        number = float(str(value).strip().rstrip("°"))
    except ValueError as exc:
        raise InvalidInput(
            f"{field} {value!r} is not a number; expected decimal degrees", field=field
        ) from exc
    if not math.isfinite(number):
        raise InvalidInput(f"{field} is {number}; expected a finite number of degrees", field=field)
    return number


def natural_key(row: Mapping[str, Any], name: str) -> str:
    """Return the row's key within its source: its id, else its station number,
    else a digest of name + written district (documented in docs/import.md)."""
    for key_field in ("external_id", "station_no"):
        value = text_or_none(row.get(key_field))
        if value:
            return value
    basis = f"{name}|{text_or_none(row.get('district')) or ''}"
    return "name:" + hashlib.sha1(basis.encode(), usedforsecurity=False).hexdigest()[:16]


def parse_amenities(value: Any) -> tuple[tuple[str, ...], list[str]]:
    """Split an amenity cell (list or text) into known codes and unknown words."""
    words = value if isinstance(value, list | tuple) else SPLIT_WORDS.split(str(value or ""))
    known: list[str] = []
    unknown: list[str] = []
    for word in (str(w).strip() for w in words):
        if not word:
            continue
        code = normalize_amenity(word)
        if code and code not in known:
            known.append(code)
        elif not code:
            unknown.append(word)
    return tuple(known), unknown


def parse_date(value: Any) -> date | None:
    """Parse a date cell (datetime, date or ISO/Chinese text); None if blank."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    # Only the date part: CSV exports often write "2024-03-05 10:00:00".
    text = re.sub(r"[年月/.]", "-", re.split(r"[\sT]", str(value).strip())[0]).rstrip("日")
    return date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")[:3]))


class RowParser:
    """Validate the rows of one ledger into records, writing findings to a report."""

    def __init__(self, options: ImportOptions, report: Report) -> None:
        self.options = options
        self.report = report
        self.mapping: dict[str, str] | None = None

    def map_headers(self, raw: Mapping[str, Any]) -> None:
        """Match the first row's headers to fields; refuse a ledger with no name or coordinates."""
        headers = list(raw)
        self.mapping, unmapped = map_columns(headers, PLACE_SYNONYMS, explicit=self.options.mapping)
        self.report.columns = dict(self.mapping)
        self.report.ignored_columns = [h for h in unmapped if not h.startswith("__")]
        missing = {"name", "lon", "lat"} - set(self.mapping.values())
        if missing:
            raise LedgerError(
                f"no column for {', '.join(sorted(missing))}; the file's columns are "
                f"{', '.join(headers)}. Rename them or pass --map COLUMN=field"
            )

    def parse(self, number: int, raw: Mapping[str, Any]) -> PlaceRecord | None:
        """Return the record for one row, or None when the row is rejected."""
        if self.mapping is None:
            self.map_headers(raw)
        assert self.mapping is not None  # noqa: S101  (set just above; narrows the type)
        row = {self.mapping[h]: v for h, v in raw.items() if h in self.mapping}
        name = text_or_none(row.get("name"))
        if not name:
            self.report.error(
                number, "name_missing", "name is missing; every place needs a name", field="name"
            )
        lonlat = self.coordinates(number, row, name)
        kind = self.kind(number, row, name)
        status = self.status(number, row, name)
        if number in self.report.rejected_rows or not name or not lonlat:
            return None
        assert kind and status  # noqa: S101  (None only with an error recorded above)
        return self.record(number, row, name=name, lonlat=lonlat, kind=kind, status=status)

    def coordinates(
        self, number: int, row: Mapping[str, Any], name: str | None
    ) -> tuple[float, float] | None:
        """Parse and range-check lon/lat in the ledger's own CRS."""
        try:
            lon = parse_coordinate(row.get("lon"), "lon")
            lat = parse_coordinate(row.get("lat"), "lat")
            return crs_mod.validate_lonlat(lon, lat)
        except InvalidInput as exc:
            self.report.error(number, "bad_location", str(exc), field=exc.field, name=name)
            return None

    def kind(self, number: int, row: Mapping[str, Any], name: str | None) -> str | None:
        """Return the row's kind, or the ledger's default kind."""
        written = text_or_none(row.get("kind"))
        if not written:
            return self.options.kind
        kind = normalize_kind(written)
        if kind is None:
            self.report.error(
                number,
                "unknown_kind",
                f"kind {written!r} is unknown; expected one of {', '.join(KINDS)}",
                field="kind",
                name=name,
            )
        return kind

    def status(self, number: int, row: Mapping[str, Any], name: str | None) -> str | None:
        """Return the row's status (active when the ledger has none)."""
        written = text_or_none(row.get("status"))
        if not written:
            return "active"
        status = normalize_status(written)
        if status is None:
            self.report.error(
                number,
                "unknown_status",
                f"status {written!r} is unknown; expected one of {', '.join(STATUSES)} "
                "(or 开放/暂停/关闭/筹建)",
                field="status",
                name=name,
            )
        return status

    def record(
        self,
        number: int,
        row: Mapping[str, Any],
        *,
        name: str,
        lonlat: tuple[float, float],
        kind: str,
        status: str,
    ) -> PlaceRecord:
        """Build the record from a row whose required fields are valid."""
        amenities, unknown = parse_amenities(row.get("amenities"))
        if unknown:
            self.report.warn(
                number,
                "unknown_amenity",
                f"amenity words not in the vocabulary were left out: {', '.join(unknown)}",
                field="amenities",
                name=name,
            )
        hours_text = text_or_none(row.get("opening_hours_text"))
        hours = parse_chinese_hours(hours_text) if hours_text else None
        if hours is not None and not hours.ok:
            self.report.warn(
                number,
                "hours_unparsed",
                f"opening hours {hours_text!r} kept verbatim but not understood: {hours.reason}",
                field="opening_hours_text",
                name=name,
            )
        elif hours is not None and hours.reason:
            self.report.warn(
                number,
                "hours_partial",
                f"opening hours {hours_text!r} only partly understood: {hours.reason}",
                field="opening_hours_text",
                name=name,
            )
        address = text_or_none(row.get("address"))
        return PlaceRecord(
            source=self.options.source,
            external_id=natural_key(row, name),
            kind=kind,
            name=name,
            name_en=text_or_none(row.get("name_en")),
            lon=lonlat[0],
            lat=lonlat[1],
            source_crs=self.options.crs,
            address=address,
            province=text_or_none(row.get("province")),
            city=text_or_none(row.get("city")),
            ledger_district=text_or_none(row.get("district")),
            adcode=text_or_none(row.get("adcode")),
            amenities=amenities,
            opening_hours=hours.osm if hours else None,
            opening_hours_text=hours_text,
            status=status,
            host_type=guess_host_type(
                text_or_none(row.get("host_type")) or f"{name} {address or ''}"
            ),
            build_mode=self.build_mode(number, row, name),
            capacity=self.capacity(number, row, name),
            phone=text_or_none(row.get("phone")),
            managing_union=text_or_none(row.get("managing_union")),
            station_no=text_or_none(row.get("station_no")),
            last_verified=self.verified(number, row, name),
            is_demo=self.options.is_demo,
        )

    def build_mode(self, number: int, row: Mapping[str, Any], name: str) -> str | None:
        """Return self_built/co_built from 自建/共建, warning on other words."""
        written = text_or_none(row.get("build_mode"))
        if not written:
            return None
        mode = BUILD_MODE_WORDS.get(written.casefold())
        if mode is None:
            self.report.warn(
                number,
                "unknown_build_mode",
                f"build mode {written!r} left empty; expected 自建/共建 or {', '.join(BUILD_MODES)}",
                field="build_mode",
                name=name,
            )
        return mode

    def capacity(self, number: int, row: Mapping[str, Any], name: str) -> int | None:
        """Return a non-negative head count, warning when the cell is not one."""
        value = row.get("capacity")
        if is_blank(value):
            return None
        digits = re.search(r"\d+", str(value))
        if digits is None:
            self.report.warn(
                number,
                "bad_capacity",
                f"capacity {value!r} left empty; expected a number",
                field="capacity",
                name=name,
            )
            return None
        return int(digits.group())

    def verified(self, number: int, row: Mapping[str, Any], name: str) -> date | None:
        """Return the last-verified date, warning when it cannot be read."""
        try:
            return parse_date(row.get("last_verified"))
        except ValueError:
            self.report.warn(
                number,
                "bad_date",
                f"last verified {row.get('last_verified')!r} left empty; expected YYYY-MM-DD",
                field="last_verified",
                name=name,
            )
            return None


def parse_places(
    rows: Iterable[Row], options: ImportOptions, report: Report, *, max_rejected: int = 0
) -> list[tuple[int, PlaceRecord]]:
    """Validate every row; return ``(row_number, record)`` for the accepted ones.

    Coordinates in the records are still in ``options.crs``; call
    :func:`finish_places` to convert and locate them.  After ``max_rejected``
    rejected rows (0: never) reading stops and ``report.stopped`` says so.
    """
    return parse_all(rows, RowParser(options, report).parse, report, max_rejected=max_rejected)


def finish_places(
    rows: list[tuple[int, PlaceRecord]], report: Report
) -> list[tuple[int, PlaceRecord]]:
    """Convert to WGS-84, assign official districts and flag near-duplicates.

    Vectorised over the whole ledger: one CRS conversion, one spatial join
    against district boundaries, one KD-tree for the 30 m duplicate check.
    A row in no district and farther than ``OUTSIDE_TOLERANCE_M`` from every
    one is rejected (see :func:`reject_far_outside`) and not returned.
    """
    rows = drop_repeated_keys(rows, report)
    if not rows:
        return rows
    lon = np.array([r.lon for _, r in rows])
    lat = np.array([r.lat for _, r in rows])
    source_crs = rows[0][1].source_crs
    if source_crs != "wgs84":
        lon, lat = crs_mod.to_wgs84_arrays(lon, lat, crs=source_crs)
    located = assign_districts(lon, lat)
    located = located.astype(object).where(located.notna(), None)  # NaN -> None
    outside = reject_far_outside(rows, lon, lat, located["adcode"].isna().to_numpy(), report)
    finished = []
    for i, ((number, record), official) in enumerate(
        zip(rows, located.to_dict("records"), strict=True)
    ):
        if i in outside:
            continue
        record = replace(
            record,
            lon=float(lon[i]),
            lat=float(lat[i]),
            province=official["province"] or record.province,
            city=official["city"] or record.city,
            district=official["district"],
            adcode=official["adcode"] or record.adcode,
        )
        check_district(number, record, report)
        finished.append((number, record))
    flag_duplicates(finished, report)
    return finished


# A point in no district but within this distance of one is kept with a
# warning (a pier, a coastline the boundary file simplifies); farther, it is
# a typo -- 131.04 for 121.04 puts a Shanghai station in the sea off Japan.
OUTSIDE_TOLERANCE_M = 5_000.0


def reject_far_outside(
    rows: list[tuple[int, PlaceRecord]],
    lon: np.ndarray,
    lat: np.ndarray,
    nowhere: np.ndarray,
    report: Report,
) -> set[int]:
    """Reject rows lying more than ``OUTSIDE_TOLERANCE_M`` from every Chinese district.

    Parameters
    ----------
    lon, lat
        WGS-84 degrees of the rows (already converted).
    nowhere
        True where no district contains the point.

    Returns
    -------
    set of int
        Indices (into ``rows``) of the rejected rows.  Each gets an error
        naming its nearest district and how far it is.
    """
    candidates = np.flatnonzero(nowhere)
    if candidates.size == 0:
        return set()
    nearest, distance_m = nearest_districts(lon[candidates], lat[candidates])
    rejected = set()
    for i, district, metres in zip(candidates, nearest, distance_m, strict=True):
        if district is None or not metres > OUTSIDE_TOLERANCE_M:
            continue
        number, record = rows[int(i)]
        where = _label(district.province, district.city, district.district)
        report.error(
            number,
            "outside_china",
            f"({record.lon:.6f}, {record.lat:.6f}) lies in no Chinese district: "
            f"{metres / 1000:.0f} km from the nearest, {where} ({district.adcode}); "
            "check the coordinates (a mistyped digit? longitude and latitude swapped?)",
            field="lon",
            name=record.name,
        )
        rejected.add(int(i))
    return rejected


def drop_repeated_keys(
    rows: list[tuple[int, PlaceRecord]], report: Report
) -> list[tuple[int, PlaceRecord]]:
    """Reject later rows whose natural key repeats an earlier row's."""
    first_row: dict[str, int] = {}
    kept = []
    for number, record in rows:
        if record.external_id in first_row:
            report.error(
                number,
                "repeated_key",
                f"same key {record.external_id!r} as row {first_row[record.external_id]}; "
                "give each place its own id, or remove the repeat",
                name=record.name,
            )
            continue
        first_row[record.external_id] = number
        kept.append((number, record))
    return kept


DISTRICT_CODES = {
    "mismatch": "district_mismatch",
    "zone": "district_is_zone",
    "outside": "no_district",
}


def check_district(number: int, record: PlaceRecord, report: Report) -> None:
    """Warn when the written district disagrees with the located one.

    A development zone written in place of a district (高新区, 经开区, ...) is
    reported on its own, naming the official district the place lies in.
    """
    official = district_by_adcode(record.adcode) if record.district and record.adcode else None
    verdict = check_written_district(record.ledger_district, official)
    code = DISTRICT_CODES.get(verdict.status)
    if code:
        report.warn(number, code, verdict.message, field="district", name=record.name)


def unit_vectors(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Return points on a sphere of the Earth's mean radius (metres, ECEF-like)."""
    lon_r, lat_r = np.radians(lon), np.radians(lat)
    return EARTH_RADIUS_M * np.column_stack(
        (np.cos(lat_r) * np.cos(lon_r), np.cos(lat_r) * np.sin(lon_r), np.sin(lat_r))
    )


def flag_duplicates(
    rows: list[tuple[int, PlaceRecord]], report: Report, *, radius_m: float = DUPLICATE_RADIUS_M
) -> None:
    """Warn about pairs of places within ``radius_m`` metres of each other.

    Chord distance on the sphere equals the arc distance to well under a
    millimetre at 30 m, so a 3-D KD-tree finds pairs anywhere in China
    without choosing a projection.
    """
    if len(rows) < 2:
        return
    xyz = unit_vectors(np.array([r.lon for _, r in rows]), np.array([r.lat for _, r in rows]))
    for i, j in sorted(cKDTree(xyz).query_pairs(radius_m)):
        (row_i, first), (row_j, second) = rows[i], rows[j]
        metres = float(np.linalg.norm(xyz[i] - xyz[j]))
        report.warn(
            row_j,
            "probable_duplicate",
            f"{metres:.0f} m from row {row_i} ({first.name}); probably the same place",
            name=second.name,
        )
