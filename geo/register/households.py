"""The hardship-household register (困难职工家庭) as plain data: records, rules, ledgers.

This module is pure: it validates and normalises household records and turns
ledger rows (read by :mod:`geo.places.ledger`) into them.  Encryption happens in
:mod:`geo.db.households` with :mod:`geo.register.crypto`; nothing here touches a database.

Personal data never reaches an import report: findings about a name, an ID
number or a phone say what is wrong with the *value* ("checksum fails") and
never repeat it, because reports are printed, saved and shown.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from geo.errors import InvalidInput, LedgerError
from geo.places import crs as crs_mod
from geo.places.ledger import Report, Row, is_blank, map_columns, parse_all
from geo.places.rows import parse_date
from geo.places.vocabulary import SOURCE_CRSES, Term, term_index


def _codes(terms: tuple[Term, ...]) -> tuple[str, ...]:
    return tuple(t.code for t in terms)


#: Why a household is in hardship (致困原因), with ledger synonyms.
CATEGORY_TERMS: tuple[Term, ...] = (
    Term("illness", "因病", "Illness", ("疾病", "大病", "重病", "病", "因病致困")),
    Term("disability", "因残", "Disability", ("残疾", "伤残", "因残致困")),
    Term("unemployment", "失业", "Unemployment", ("下岗", "待业", "失业下岗", "无业")),
    Term("disaster", "因灾", "Disaster", ("灾害", "受灾", "自然灾害")),
    Term("accident", "意外", "Accident", ("意外事故", "工伤", "事故")),
    Term("education", "因学", "Education costs", ("子女上学", "助学", "教育")),
    Term("low_income", "低收入", "Low income", ("收入低", "低保", "单亲")),
    Term("other", "其他", "Other", ()),
)
CATEGORIES: tuple[str, ...] = _codes(CATEGORY_TERMS)

#: Life-cycle of a register entry: ``active`` (在档) or ``closed`` (脱困/退档).
HOUSEHOLD_STATUS_TERMS: tuple[Term, ...] = (
    Term("active", "在档", "On the register", ("在册", "正常", "open")),
    Term("closed", "已脱困", "Left the register", ("脱困", "退档", "销档", "closed")),
)
HOUSEHOLD_STATUSES: tuple[str, ...] = _codes(HOUSEHOLD_STATUS_TERMS)

#: Kinds of support (帮扶) a caseworker records, with an amount in yuan.
SUPPORT_TERMS: tuple[Term, ...] = (
    Term("warmth", "送温暖", "Winter warmth visit", ("送温暖", "春节慰问", "节日慰问")),
    Term("living", "生活救助", "Living allowance", ("生活补助", "生活救助金")),
    Term("medical", "医疗救助", "Medical aid", ("医疗补助", "大病救助")),
    Term("education", "助学", "Education aid", ("金秋助学", "助学金")),
    Term("employment", "就业帮扶", "Employment help", ("就业援助", "技能培训")),
    Term("other", "其他", "Other", ()),
)
SUPPORT_KINDS: tuple[str, ...] = _codes(SUPPORT_TERMS)

#: Fields whose values are personal and are stored only encrypted.
PERSONAL_FIELDS: tuple[str, ...] = ("name", "id_number", "phone", "address")

#: Field -> the names ledgers give it (compared after ``normalize_header`` folding).
HOUSEHOLD_SYNONYMS: dict[str, tuple[str, ...]] = {
    "household_no": ("档案编号", "档案号", "建档编号", "编号", "户编号", "no", "id"),
    "name": ("户主姓名", "姓名", "困难职工姓名", "职工姓名", "户主"),
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "证件号码", "idnumber", "idcard"),
    "phone": ("联系电话", "电话", "手机", "手机号", "联系方式", "tel"),
    "address": ("家庭住址", "住址", "地址", "居住地址", "家庭地址"),
    "adcode": ("行政区划代码", "区划代码", "区县代码"),
    "district": ("区县", "所属区县", "区", "所在区"),
    "lon": ("经度", "lng", "longitude"),
    "lat": ("纬度", "latitude"),
    "category": ("困难类别", "致困原因", "困难类型", "类别"),
    "members": ("家庭人口", "家庭人数", "人口", "人数"),
    "registered_on": ("建档日期", "建档时间", "入档日期"),
    "status": ("状态", "档案状态"),
    "employer": ("工作单位", "单位", "所在单位"),
}

# GB 11643-1999 weights and check characters for 18-digit resident ID numbers.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{9,11}$")
_ADCODE = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class HouseholdRecord:
    """One register entry in plain text, as validated; never stored like this.

    ``lon``/``lat`` are WGS-84 degrees (``None`` when the ledger has no
    location).  ``household_no`` is the natural key within ``source``:
    re-importing a ledger updates entries with the same number.
    ``is_synthetic`` marks generated demo entries, which every page labels.
    """

    source: str
    household_no: str
    name: str
    adcode: str
    category: str
    id_number: str | None = None
    phone: str | None = None
    address: str | None = None
    district: str | None = None
    lon: float | None = None
    lat: float | None = None
    members: int | None = None
    registered_on: date | None = None
    status: str = "active"
    employer: str | None = None
    is_synthetic: bool = False


def normalize_name(value: str) -> str:
    """Return a name folded for equality search: NFKC, no spaces or middle dots."""
    folded = unicodedata.normalize("NFKC", value).strip()
    return re.sub(r"[\s·・.]", "", folded)


def normalize_id_number(value: str) -> str:
    """Return an ID number without spaces, with an upper-case check letter."""
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", value)).upper()


def normalize_phone(value: str) -> str:
    """Return only the digits of a phone number, without a +86/0086 prefix."""
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", value))
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix) :]
    return digits


def id_checksum_ok(id_number: str) -> bool:
    """Return whether an 18-character resident ID number has a valid check character."""
    if not _ID_SHAPE.match(id_number):
        return False
    total = sum(int(d) * w for d, w in zip(id_number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == id_number[17]


def check_id_number(value: str) -> str:
    """Normalise and validate an ID number; the error never repeats it.

    Raises
    ------
    InvalidInput
        Not 18 characters of digits (and a final X), a bad check character,
        or an impossible birth date.
    """
    number = normalize_id_number(value)
    if not _ID_SHAPE.match(number):
        raise InvalidInput(
            "ID number must be 18 characters: 17 digits and a digit or X "
            f"(got {len(number)} characters)",
            field="id_number",
        )
    if not id_checksum_ok(number):
        raise InvalidInput(
            "ID number check character does not match (GB 11643); look for a typing error",
            field="id_number",
        )
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidInput("ID number holds an impossible birth date", field="id_number") from None
    return number


def check_phone(value: str) -> str:
    """Normalise and validate a mobile (11 digits) or landline (0 + area code) number."""
    digits = normalize_phone(value)
    if _MOBILE.match(digits) or _LANDLINE.match(digits):
        return digits
    raise InvalidInput(
        f"phone must be an 11-digit mobile number or a landline with area code "
        f"(got {len(digits)} digits)",
        field="phone",
    )


_CATEGORY_INDEX = term_index(CATEGORY_TERMS)
_STATUS_INDEX = term_index(HOUSEHOLD_STATUS_TERMS)
_SUPPORT_INDEX = term_index(SUPPORT_TERMS)


def normalize_category(word: str) -> str | None:
    """Return the category code for a ledger word (any language), or None."""
    return _CATEGORY_INDEX.get(word.strip().casefold())


def normalize_household_status(word: str) -> str | None:
    """Return ``active``/``closed`` for a ledger word, or None."""
    return _STATUS_INDEX.get(word.strip().casefold())


def normalize_support_kind(word: str) -> str | None:
    """Return the support-kind code for a word (送温暖 -> warmth), or None."""
    return _SUPPORT_INDEX.get(word.strip().casefold())


def validate(record: HouseholdRecord) -> HouseholdRecord:
    """Check a record's fields and return it with personal fields normalised.

    Raises
    ------
    InvalidInput
        The first field that breaks a rule; ``err.field`` names it and the
        message never contains a personal value.
    """
    if not record.household_no.strip():
        raise InvalidInput("household number is missing", field="household_no")
    if len(record.household_no) > 64:
        raise InvalidInput("household number is longer than 64 characters", field="household_no")
    name = normalize_name(record.name) if record.name else ""
    if not name:
        raise InvalidInput("name is missing; every household has a head of household", field="name")
    if len(name) > 64:
        raise InvalidInput("name is longer than 64 characters", field="name")
    if not _ADCODE.match(record.adcode or ""):
        raise InvalidInput(
            "adcode must be 6 digits (the district's administrative code)", field="adcode"
        )
    if record.category not in CATEGORIES:
        raise InvalidInput(f"category must be one of {', '.join(CATEGORIES)}", field="category")
    if record.status not in HOUSEHOLD_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(HOUSEHOLD_STATUSES)}", field="status")
    if record.members is not None and not 1 <= record.members <= 30:
        raise InvalidInput("members must be between 1 and 30", field="members")
    if (record.lon is None) != (record.lat is None):
        raise InvalidInput("give both lon and lat, or neither", field="lon")
    if record.lon is not None and record.lat is not None:
        crs_mod.validate_lonlat(record.lon, record.lat)
    if record.address is not None and len(record.address) > 300:
        raise InvalidInput("address is longer than 300 characters", field="address")
    return replace(
        record,
        household_no=record.household_no.strip(),
        name=name,
        id_number=check_id_number(record.id_number) if record.id_number else None,
        phone=check_phone(record.phone) if record.phone else None,
        address=record.address.strip() if record.address and record.address.strip() else None,
    )


@dataclass(frozen=True)
class HouseholdImportOptions:
    """What the user told the importer about a household ledger.

    ``crs`` is the coordinate system of the lon/lat columns; ``source`` names
    the ledger and with ``household_no`` forms the natural key;
    ``default_adcode`` applies to rows that have neither an adcode nor a
    location inside a known district.
    """

    crs: str
    source: str
    mapping: Mapping[str, str] | None = None
    default_adcode: str | None = None
    is_synthetic: bool = False

    def __post_init__(self) -> None:
        if self.crs not in SOURCE_CRSES:
            raise InvalidInput(
                f"crs {self.crs!r} is unknown; expected one of {', '.join(SOURCE_CRSES)}",
                field="crs",
            )
        if not self.source.strip():
            raise InvalidInput("source must not be empty", field="source")
        if self.default_adcode is not None and not _ADCODE.match(self.default_adcode):
            raise InvalidInput("default adcode must be 6 digits", field="adcode")


def _text(value: Any) -> str | None:
    if is_blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        # Excel hands whole numbers back as floats: 3.0 -> "3", not "3.0".
        return str(int(value))
    return str(value).strip()


def _parse_float(value: Any, field: str) -> float | None:
    if is_blank(value):
        return None
    try:
        number = float(str(value).strip().rstrip("°"))
    except ValueError:
        raise InvalidInput(
            f"{field} is not a number; expected decimal degrees", field=field
        ) from None
    if not math.isfinite(number):
        raise InvalidInput(f"{field} must be a finite number of degrees", field=field)
    return number


class HouseholdRowParser:
    """Validate household ledger rows into records, writing findings to a report."""

    def __init__(self, options: HouseholdImportOptions, report: Report) -> None:
        self.options = options
        self.report = report
        self.mapping: dict[str, str] | None = None
        self.seen: dict[str, int] = {}

    def map_headers(self, raw: Mapping[str, Any]) -> None:
        """Match headers to fields; refuse a ledger without number or name."""
        headers = list(raw)
        self.mapping, unmapped = map_columns(
            headers, HOUSEHOLD_SYNONYMS, explicit=self.options.mapping
        )
        self.report.columns = dict(self.mapping)
        self.report.ignored_columns = [h for h in unmapped if not h.startswith("__")]
        missing = {"household_no", "name"} - set(self.mapping.values())
        if missing:
            raise LedgerError(
                f"no column for {', '.join(sorted(missing))}; the file's columns are "
                f"{', '.join(headers)}. Rename them or pass --map COLUMN=field"
            )

    def parse(self, number: int, raw: Mapping[str, Any]) -> HouseholdRecord | None:
        """Return the record for one row (coordinates still in the ledger's CRS), or None."""
        if self.mapping is None:
            self.map_headers(raw)
        assert self.mapping is not None  # noqa: S101  (set just above)
        row = {self.mapping[h]: v for h, v in raw.items() if h in self.mapping}
        household_no = _text(row.get("household_no"))
        if household_no and household_no in self.seen:
            self.report.error(
                number,
                "duplicate_household_no",
                f"household number {household_no} also on row {self.seen[household_no]}",
                field="household_no",
            )
            return None
        if household_no:
            self.seen[household_no] = number
        # An ID number typed into Excel as a number has lost its last digits
        # (18 digits exceed a double's precision); the text is unrecoverable.
        id_cell = row.get("id_number")
        if isinstance(id_cell, int | float) and not isinstance(id_cell, bool):
            self.report.error(
                number,
                "id_number_as_number",
                "ID number is stored as a number, so Excel has rounded it; "
                "format the column as text and type it again",
                field="id_number",
            )
            return None
        try:
            record = HouseholdRecord(
                source=self.options.source,
                household_no=household_no or "",
                name=_text(row.get("name")) or "",
                adcode=self._adcode(row),
                category=self._category(number, row),
                id_number=_text(id_cell),
                phone=_text(row.get("phone")),
                address=_text(row.get("address")),
                district=_text(row.get("district")),
                lon=_parse_float(row.get("lon"), "lon"),
                lat=_parse_float(row.get("lat"), "lat"),
                members=self._members(row),
                registered_on=_registered_on(row.get("registered_on")),
                status=self._status(row),
                employer=_text(row.get("employer")),
                is_synthetic=self.options.is_synthetic,
            )
            # Range-check in the ledger's CRS here; the adcode is checked
            # after locating, in finish_households.
            return validate(replace(record, adcode=record.adcode or "000000"))
        except InvalidInput as exc:
            self.report.error(number, f"bad_{exc.field or 'value'}", str(exc), field=exc.field)
            return None

    def _adcode(self, row: Mapping[str, Any]) -> str:
        written = _text(row.get("adcode"))
        return written or ""

    def _category(self, number: int, row: Mapping[str, Any]) -> str:
        written = _text(row.get("category"))
        if not written:
            return "other"
        code = normalize_category(written)
        if code is None:
            self.report.warn(
                number,
                "unknown_category",
                f"category {written!r} is unknown; recorded as other",
                field="category",
            )
            return "other"
        return code

    def _status(self, row: Mapping[str, Any]) -> str:
        written = _text(row.get("status"))
        if not written:
            return "active"
        code = normalize_household_status(written)
        if code is None:
            raise InvalidInput(
                f"status {written!r} is unknown; expected 在档 or 已脱困", field="status"
            )
        return code

    def _members(self, row: Mapping[str, Any]) -> int | None:
        written = _text(row.get("members"))
        if written is None:
            return None
        digits = re.search(r"\d+", written)
        if digits is None:
            raise InvalidInput("members must be a whole number of people", field="members")
        return int(digits.group())


def parse_households(
    rows: Iterable[Row], options: HouseholdImportOptions, report: Report
) -> list[tuple[int, HouseholdRecord]]:
    """Validate every ledger row; return ``(row_number, record)`` for accepted rows.

    Coordinates are still in ``options.crs`` and adcodes may be placeholders
    (``000000``); call :func:`finish_households` next.

    Raises
    ------
    LedgerError
        The ledger has no data rows or lacks a number or name column.
    """
    return parse_all(rows, HouseholdRowParser(options, report).parse, report)


def finish_households(
    rows: list[tuple[int, HouseholdRecord]], options: HouseholdImportOptions, report: Report
) -> list[tuple[int, HouseholdRecord]]:
    """Convert locations to WGS-84 and settle each record's district adcode.

    The adcode decides which caseworkers see a household, so it must be
    right: a written adcode wins; otherwise the district containing the
    location; otherwise ``options.default_adcode``; otherwise the row is
    rejected.  A written adcode that disagrees with the location's district
    is kept with a warning.
    """
    if not rows:
        return rows
    located_idx = [i for i, (_, r) in enumerate(rows) if r.lon is not None and r.lat is not None]
    lon = np.array([rows[i][1].lon for i in located_idx], dtype=float)
    lat = np.array([rows[i][1].lat for i in located_idx], dtype=float)
    if located_idx and options.crs != "wgs84":
        lon, lat = crs_mod.to_wgs84_arrays(lon, lat, crs=options.crs)
    official: dict[int, str | None] = {}
    names: dict[int, str | None] = {}
    if located_idx:
        from geo.places.districts import assign_districts  # heavy: boundary data, only when needed

        found = assign_districts(lon, lat)
        for j, i in enumerate(located_idx):
            official[i] = found.iloc[j]["adcode"] or None
            names[i] = found.iloc[j]["district"] or None
    finished: list[tuple[int, HouseholdRecord]] = []
    position = {i: j for j, i in enumerate(located_idx)}
    for i, (number, record) in enumerate(rows):
        if i in position:
            j = position[i]
            record = replace(record, lon=float(lon[j]), lat=float(lat[j]))
        written = record.adcode if record.adcode != "000000" else None
        located = official.get(i)
        adcode = written or located or options.default_adcode
        if adcode is None:
            report.error(
                number,
                "no_district",
                "no adcode column, no location inside a district, and no "
                "--default-adcode; a caseworker district is required",
                field="adcode",
            )
            continue
        if written and located and written != located:
            report.warn(
                number,
                "district_mismatch",
                f"written adcode {written} but the location is in {located}",
                field="adcode",
            )
        district = record.district or (names.get(i) if adcode == located else None)
        finished.append((number, replace(record, adcode=adcode, district=district)))
    return finished


# Visits and support typed by caseworkers


def check_note(notes: str | None) -> str | None:
    """Return a visit or support note stripped (None when blank); at most 2,000 characters."""
    cleaned = (notes or "").strip() or None
    if cleaned and len(cleaned) > 2000:
        raise InvalidInput("notes are longer than 2000 characters", field="notes")
    return cleaned


def check_day(day: date, field_name: str, today: date) -> date:
    """Return ``day`` if it lies between 2000-01-01 and ``today``; else name the field."""
    if day > today:
        raise InvalidInput("the date is in the future", field=field_name)
    if day.year < 2000:
        raise InvalidInput("the date is before 2000", field=field_name)
    return day


def parse_amount(text_value: str) -> Decimal:
    """Parse an amount of yuan (``"500"``, ``"500.00"``, ``"¥500"``) with at most 2 decimals."""
    cleaned = text_value.strip().lstrip("¥￥").replace(",", "").removesuffix("元").strip()
    try:
        amount = Decimal(cleaned)
    except (InvalidOperation, ValueError):
        raise InvalidInput(
            "amount must be a number of yuan, e.g. 500 or 500.00", field="amount_yuan"
        ) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal(1_000_000):
        raise InvalidInput("amount must be between 0 and 999999.99 yuan", field="amount_yuan")
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput("amount has more than two decimals (fen)", field="amount_yuan")
    return amount.quantize(Decimal("0.01"))


def _registered_on(value: Any) -> date | None:
    """The registration date, read as the places importer reads dates."""
    try:
        return parse_date(value)
    except ValueError:
        raise InvalidInput(
            "registration date must be a real date, YYYY-MM-DD or YYYY年M月D日",
            field="registered_on",
        ) from None
