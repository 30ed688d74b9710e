"""Check the district a ledger writes against the one its point lies in."""

from __future__ import annotations

from geo.places.district_names import _ETHNIC_RUN, _clean, _stems, is_development_zone
from geo.places.districts import District, DistrictCheck, _table


def _without_prefix(written: str, official: District) -> str:
    """Drop a leading province and city (青海省西宁市城中区 -> 城中区)."""
    table = _table()
    text = written
    for forms in (
        table.province_forms[official.province_adcode],
        table.city_forms[official.city_adcode],
    ):
        for prefix in forms:  # longest first
            if text.startswith(prefix) and len(text) > len(prefix):
                text = text[len(prefix) :]
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
            "outside",
            written,
            None,
            "the location is not inside any district of China; check the coordinates "
            "and their coordinate system",
        )
    where = f"{official.district} ({official.city}, adcode {official.adcode})"
    if not text:
        return DistrictCheck(
            "missing", written, official, f"no district written; the location is in {where}"
        )
    if district_matches(text, official):
        return DistrictCheck("match", written, official, f"written district {text} is {where}")
    local = _without_prefix(text, official)
    other = next(
        (
            d
            for d in _table().by_city[official.city_adcode]
            if d.adcode != official.adcode and district_matches(local, d)
        ),
        None,
    )
    if other is not None:
        return DistrictCheck(
            "mismatch",
            written,
            official,
            f"written district {text}"
            + (f" is {other.district}" if other.district != text else "")
            + f", but the location is in {where}",
        )
    if is_development_zone(local):
        return DistrictCheck(
            "zone",
            written,
            official,
            f"written district {text} is a development zone, not an official district; "
            f"located in {where}",
        )
    return DistrictCheck(
        "mismatch",
        written,
        official,
        f"written district {text} is not an official district of {official.city}; "
        f"located in {where}",
    )
