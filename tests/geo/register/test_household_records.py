"""Household records: validation, normalisation, ledger rows, and reports without personal data."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from geo.errors import InvalidInput, LedgerError
from geo.places.ledger import Report
from geo.register.households import (
    HouseholdImportOptions,
    HouseholdRecord,
    check_id_number,
    check_phone,
    id_checksum_ok,
    normalize_category,
    normalize_name,
    normalize_support_kind,
    parse_households,
    validate,
)

# A syntactically valid, invented ID number (checksum computed by GB 11643).
ID_OK = "11010519491231002X"
BASE = HouseholdRecord(
    source="t",
    household_no="H-1",
    name="张 伟",
    adcode="630102",
    category="illness",
    id_number=ID_OK,
    phone="+86 138-0013-8000",
    lon=101.778,
    lat=36.617,
)


def test_id_checksum_follows_gb11643() -> None:
    assert id_checksum_ok(ID_OK)
    assert not id_checksum_ok("110105194912310021")
    assert not id_checksum_ok("1101051949123100")


def test_id_number_errors_never_repeat_the_number() -> None:
    with pytest.raises(InvalidInput) as err:
        check_id_number("110105194912310021")
    assert "110105" not in str(err.value) and err.value.field == "id_number"
    with pytest.raises(InvalidInput, match="impossible birth date"):
        check_id_number("110105194913310021")


def test_id_number_is_normalised() -> None:
    assert check_id_number(" 11010519491231002x ") == ID_OK


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("138 0013 8000", "13800138000"),
        ("+86-138-0013-8000", "13800138000"),
        ("0086 13800138000", "13800138000"),
        ("0971-8123456", "09718123456"),
    ],
)
def test_phones_are_normalised(raw: str, clean: str) -> None:
    assert check_phone(raw) == clean


def test_bad_phone_is_refused_without_echo() -> None:
    with pytest.raises(InvalidInput) as err:
        check_phone("12345")
    assert "12345" not in str(err.value)


def test_names_fold_spaces_and_width() -> None:
    assert normalize_name(" 张　伟 ") == "张伟"
    assert normalize_name("阿依古丽·买买提") == "阿依古丽买买提"


def test_validate_normalises_personal_fields() -> None:
    clean = validate(BASE)
    assert (clean.name, clean.phone, clean.id_number) == ("张伟", "13800138000", ID_OK)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"household_no": " "}, "household_no"),
        ({"name": ""}, "name"),
        ({"adcode": "63010"}, "adcode"),
        ({"category": "poor"}, "category"),
        ({"status": "gone"}, "status"),
        ({"members": 0}, "members"),
        ({"lon": None}, "lon"),
        ({"lon": 36.617, "lat": 101.778}, "lat"),
    ],
)
def test_validate_names_the_bad_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        validate(replace(BASE, **change))  # type: ignore[arg-type]
    assert err.value.field == field


def test_vocabularies_accept_chinese_words() -> None:
    assert normalize_category("因病致困") == "illness"
    assert normalize_category("下岗") == "unemployment"
    assert normalize_support_kind("送温暖") == "warmth"


def rows(*items: dict[str, object]) -> list[tuple[int, dict[str, object]]]:
    return [(n, item) for n, item in enumerate(items, start=2)]


OPTIONS = HouseholdImportOptions(crs="wgs84", source="ledger.csv")


def test_ledger_rows_map_chinese_headers_and_report_by_row_number() -> None:
    report = Report(source="ledger.csv")
    parsed = parse_households(
        rows(
            {
                "档案编号": "A1",
                "户主姓名": "王芳",
                "身份证号": ID_OK,
                "联系电话": "13800138000",
                "家庭住址": "城中区1号",
                "行政区划代码": "630102",
                "困难类别": "因残",
                "家庭人口": "3人",
                "建档日期": "2021年3月5日",
                "经度": "101.78",
                "纬度": "36.62",
            },
            {
                "档案编号": "A2",
                "户主姓名": "李强",
                "身份证号": "110105194912310021",
                "行政区划代码": "630102",
            },
            {"档案编号": "A1", "户主姓名": "重复", "行政区划代码": "630102"},
        ),
        OPTIONS,
        report,
    )
    assert [n for n, _ in parsed] == [2]
    record = parsed[0][1]
    assert (record.household_no, record.name, record.category, record.members) == (
        "A1",
        "王芳",
        "disability",
        3,
    )
    assert record.registered_on == date(2021, 3, 5)
    assert sorted((i.row, i.code) for i in report.issues) == [
        (3, "bad_id_number"),
        (4, "duplicate_household_no"),
    ]
    # The report names rows and problems, never a name, number or phone.
    text = str(report.to_dict())
    for personal in ("王芳", "李强", "重复", "110105194912310021", "13800138000"):
        assert personal not in text


def test_an_id_number_typed_as_an_excel_number_is_rejected() -> None:
    report = Report(source="ledger.xlsx")
    parsed = parse_households(
        rows(
            {"档案编号": "A1", "姓名": "王芳", "身份证号": 1.1010519491231e17, "区县代码": "630102"}
        ),
        OPTIONS,
        report,
    )
    assert parsed == []
    assert report.issues[0].code == "id_number_as_number"


def test_a_ledger_without_number_or_name_column_is_refused() -> None:
    with pytest.raises(LedgerError, match="no column for household_no"):
        parse_households(rows({"姓名": "王芳"}), OPTIONS, Report(source="x"))


def test_unknown_category_is_a_warning_not_an_error() -> None:
    report = Report(source="x")
    parsed = parse_households(
        rows({"编号": "A1", "姓名": "王芳", "致困原因": "其它原因"}), OPTIONS, report
    )
    assert parsed[0][1].category == "other"
    assert [i.severity for i in report.issues] == ["warning"]


def test_options_are_checked() -> None:
    with pytest.raises(InvalidInput):
        HouseholdImportOptions(crs="epsg3857", source="x")
    with pytest.raises(InvalidInput):
        HouseholdImportOptions(crs="wgs84", source="x", default_adcode="12")


def test_registration_dates_are_read_like_ledger_dates_and_bad_ones_named() -> None:
    report = Report(source="ledger.csv")
    parsed = parse_households(
        rows(
            {
                "档案编号": "B1",
                "户主姓名": "甲",
                "行政区划代码": "630102",
                "建档日期": "2021-03-05 10:00",
            },
            {
                "档案编号": "B2",
                "户主姓名": "乙",
                "行政区划代码": "630102",
                "建档日期": "2021-02-30",
            },
        ),
        OPTIONS,
        report,
    )
    assert [(n, r.registered_on) for n, r in parsed] == [(2, date(2021, 3, 5))]
    [issue] = report.issues
    assert (issue.row, issue.field) == (3, "registered_on")
    assert "real date" in issue.message
