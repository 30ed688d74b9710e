"""Find a city, district or province by name, and districts as a GeoDataFrame."""

from __future__ import annotations

import difflib
import re

import geopandas as gpd
import numpy as np

from geo.errors import InvalidInput
from geo.places.district_names import _ADMIN_SUFFIXES, _clean, _label, _strip_suffix
from geo.places.districts import Area, AreaLevel, _area, _table


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
    level, adcode = _resolve(name_or_adcode, levels=("province", "city", "district"), field="area")
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
