"""Reading ledgers: formats, encodings, limits, column mapping, row validation."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook
from pyproj import Geod

from geo.errors import LedgerError
from geo.places.crs import to_wgs84
from geo.places.ledger import Limits, Report, map_columns, parse_mapping_option, read_rows
from geo.places.rows import (
    PLACE_SYNONYMS,
    ImportOptions,
    finish_places,
    parse_date,
    parse_places,
)

HEADER = "站点名称,地址,经度,纬度,开放时间,设施,区县,状态\n"
GOOD_ROW = (
    "工会驿站(测试),郑州市二七区大学路1号,113.6400,34.7500,08:00-20:00,饮水、充电、ac,二七区,开放\n"
)
OPTIONS = ImportOptions(kind="station", crs="wgs84", source="test")


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def parse(path: Path, options: ImportOptions = OPTIONS) -> tuple[list, Report]:
    report = Report(source=path.name)
    rows = read_rows(path, detected=report.detected)
    return finish_places(parse_places(rows, options, report), report), report


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_chinese_encodings(tmp_path: Path, encoding: str) -> None:
    rows, report = parse(write(tmp_path, "a.csv", HEADER + GOOD_ROW, encoding))
    assert [r.name for _, r in rows] == ["工会驿站(测试)"]
    assert rows[0][1].amenities == ("water", "charging", "cooling")
    assert rows[0][1].opening_hours is not None
    assert report.accepted == 1 and not report.rejected_rows


def test_rows_are_numbered_as_in_a_spreadsheet(tmp_path: Path) -> None:
    text = HEADER + GOOD_ROW + ",无名地址,113.6,34.7,,,,\n" + GOOD_ROW.replace("测试", "测试2")
    rows, report = parse(write(tmp_path, "a.csv", text))
    assert [n for n, _ in rows] == [2, 4]
    [issue] = [i for i in report.issues if i.severity == "error"]
    assert (issue.row, issue.code, issue.field) == (3, "name_missing", "name")


@pytest.mark.parametrize(
    ("lon", "lat", "needle"),
    [
        ("", "34.7", "lon is missing"),
        ("nan", "34.7", "finite"),
        ("abc", "34.7", "not a number"),
        ("34.75", "113.64", "swapped"),
        ("200", "34.7", "lon"),
        ("-73.9", "40.7", "China"),
    ],
)
def test_bad_coordinates_reject_the_row_with_a_reason(
    tmp_path: Path, lon: str, lat: str, needle: str
) -> None:
    text = HEADER + f"坏坐标驿站,某地,{lon},{lat},,,,\n"
    rows, report = parse(write(tmp_path, "a.csv", text))
    assert rows == []
    [issue] = report.issues
    assert issue.code == "bad_location" and needle in issue.message and issue.row == 2


def test_unparsed_hours_are_kept_verbatim_and_reported(tmp_path: Path) -> None:
    text = HEADER + "驿站A,某地,113.64,34.75,看门大爷心情,,,\n"
    rows, report = parse(write(tmp_path, "a.csv", text))
    record = rows[0][1]
    assert record.opening_hours is None and record.opening_hours_text == "看门大爷心情"
    assert [i.code for i in report.issues] == ["hours_unparsed"]


def test_unknown_status_rejects_and_unknown_amenity_warns(tmp_path: Path) -> None:
    text = HEADER + "驿站A,某地,113.64,34.75,,饮水、按摩椅,,营业中吧\n"
    rows, report = parse(write(tmp_path, "a.csv", text))
    assert rows == []
    assert {i.code for i in report.issues} == {"unknown_status"}
    text = HEADER + "驿站A,某地,113.64,34.75,,饮水、按摩椅,,\n"
    rows, report = parse(write(tmp_path, "b.csv", text))
    assert rows[0][1].amenities == ("water",)
    [issue] = report.issues
    assert issue.code == "unknown_amenity" and "按摩椅" in issue.message


def test_near_duplicates_within_30_m_are_flagged(tmp_path: Path) -> None:
    # 0.0002 degrees of latitude is about 22 m; 0.001 is about 111 m.
    text = (
        HEADER
        + "驿站A,某地,113.64,34.7500,,,,\n"
        + "驿站B,某地,113.64,34.7502,,,,\n"
        + "驿站C,某地,113.64,34.7510,,,,\n"
    )
    rows, report = parse(write(tmp_path, "a.csv", text))
    assert len(rows) == 3
    [issue] = report.issues
    assert issue.code == "probable_duplicate" and issue.row == 3 and "row 2" in issue.message


def test_repeated_keys_reject_the_later_row(tmp_path: Path) -> None:
    text = "编号,名称,经度,纬度\nA1,驿站A,113.64,34.75\nA1,驿站B,113.70,34.80\n"
    rows, report = parse(write(tmp_path, "a.csv", text))
    assert [r.external_id for _, r in rows] == ["A1"]
    assert [(i.row, i.code) for i in report.issues] == [(3, "repeated_key")]


def test_gcj02_is_converted_to_wgs84(tmp_path: Path) -> None:
    text = HEADER + GOOD_ROW
    rows, _ = parse(
        write(tmp_path, "a.csv", text), ImportOptions(kind="station", crs="gcj02", source="t")
    )
    record = rows[0][1]
    assert (record.lon, record.lat) == pytest.approx(to_wgs84(113.64, 34.75, crs="gcj02"), abs=1e-9)
    _, _, shift_m = Geod(ellps="WGS84").inv(113.64, 34.75, record.lon, record.lat)
    assert 100 < shift_m < 700  # the GCJ-02 offset is 100-700 m
    assert record.source_crs == "gcj02"


def test_xlsx_is_read(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["名称", "经度", "纬度", "营业时间"])
    sheet.append(["驿站X", 113.64, 34.75, "24小时"])
    path = tmp_path / "a.xlsx"
    book.save(path)
    rows, report = parse(path)
    assert rows[0][1].opening_hours == "24/7" and report.rows_read == 1
    assert rows[0][0] == 2


def test_xlsx_inflation_limit_refuses_bombs(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    for i in range(3000):
        sheet.append(["同一个字符串" * 20] * 10)
    path = tmp_path / "bomb.xlsx"
    book.save(path)
    with pytest.raises(LedgerError, match="inflates"):
        list(read_rows(path, limits=Limits(max_xlsx_ratio=20)))


def test_file_size_limit(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", HEADER + GOOD_ROW * 50)
    with pytest.raises(LedgerError, match="limit"):
        list(read_rows(path, limits=Limits(max_file_bytes=1000)))


def test_geojson_points_are_read(tmp_path: Path) -> None:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [113.64, 34.75]},
                "properties": {"name": "驿站G", "open_hours": "08:00-20:00"},
            }
        ],
    }
    path = write(tmp_path, "a.geojson", json.dumps(doc, ensure_ascii=False))
    rows, _ = parse(path)
    assert (rows[0][1].lon, rows[0][1].lat) == (113.64, 34.75)


def test_missing_required_columns_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "标题,东,北\n驿站,113,34\n")
    with pytest.raises(LedgerError, match="no column for lat, lon, name"):
        parse(path)


def test_explicit_mapping_wins_and_is_checked() -> None:
    mapping, unmapped = map_columns(
        ["标题", "东", "北", "备注"],
        PLACE_SYNONYMS,
        explicit=parse_mapping_option(["标题=name", "东=lon", "北=lat"]),
    )
    assert mapping == {"标题": "name", "东": "lon", "北": "lat"} and unmapped == ["备注"]
    with pytest.raises(LedgerError, match="no column '西'"):
        map_columns(["标题"], PLACE_SYNONYMS, explicit={"西": "lon"})
    with pytest.raises(LedgerError, match="unknown field"):
        map_columns(["标题"], PLACE_SYNONYMS, explicit={"标题": "title_text"})
    with pytest.raises(LedgerError, match="COLUMN=field"):
        parse_mapping_option(["oops"])


def test_empty_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="empty"):
        list(read_rows(write(tmp_path, "a.csv", "")))
    with pytest.raises(LedgerError, match="unknown file type"):
        list(read_rows(write(tmp_path, "a.pdf", "x")))
    with pytest.raises(LedgerError, match="no data rows"):
        parse(write(tmp_path, "b.csv", HEADER))


@pytest.mark.parametrize(
    "written",
    [
        "2024-03-05",
        "2024/3/5",
        "2024.3.5",
        "2024年3月5日",
        "2024-03-05 10:00:00",
        "2024年3月5日 10:00",
        "2024-03-05T10:00",
    ],
)
def test_verified_dates_in_ledger_spellings(written: str) -> None:
    from datetime import date

    assert parse_date(written) == date(2024, 3, 5)
    assert parse_date("  ") is None
    with pytest.raises(ValueError):
        parse_date("last spring")


def test_apostrophes_do_not_change_how_a_csv_is_quoted(tmp_path: Path) -> None:
    text = (
        "名称,英文名称,经度,纬度\n"
        '"TPL {{7*191}} end",Workers\' Home,113.64,34.75\n'
        'TPL2 {{ \'q\' }},"Drivers\' ""Rest""",113.65,34.76\n'
    )
    rows, report = parse(write(tmp_path, "a.csv", text))
    assert [(r.name, r.name_en) for _, r in rows] == [
        ("TPL {{7*191}} end", "Workers' Home"),
        ("TPL2 {{ 'q' }}", 'Drivers\' "Rest"'),
    ]
    assert report.detected == {"format": "csv", "encoding": "UTF-8", "delimiter": "comma"}


@pytest.mark.parametrize(
    ("delimiter", "named", "encoding", "label"),
    [
        (";", "semicolon", "utf-8-sig", "UTF-8"),
        ("\t", "tab", "gbk", "GB18030 (GBK)"),
        ("|", "pipe", "utf-8", "UTF-8"),
    ],
)
def test_only_the_delimiter_is_guessed_and_it_is_reported(
    tmp_path: Path, delimiter: str, named: str, encoding: str, label: str
) -> None:
    text = delimiter.join(["名称", "地址", "经度", "纬度"]) + "\n"
    text += delimiter.join(["驿站'一'", f'"路{delimiter}1号"', "113.64", "34.75"]) + "\n"
    rows, report = parse(write(tmp_path, "a.csv", text, encoding))
    assert [(r.name, r.address) for _, r in rows] == [("驿站'一'", f"路{delimiter}1号")]
    assert report.detected == {"format": "csv", "encoding": label, "delimiter": named}


def test_too_many_rows_are_refused_before_the_first_row_is_validated(tmp_path: Path) -> None:
    # The documented maximum is 1,000,000 rows; one more is refused at once, not after parsing.
    path = write(tmp_path, "big.csv", "名称\n" + "驿站\n" * 1_000_001)
    with pytest.raises(LedgerError, match="at most 1,000,000"):
        next(read_rows(path))
    items = [{"name": "驿站"}] * 4
    path = write(tmp_path, "big.json", json.dumps(items, ensure_ascii=False))
    with pytest.raises(LedgerError, match="at most 3"):
        next(read_rows(path, limits=Limits(max_rows=3)))


def traced_lines(rows: int) -> int:
    """Count the Python lines run to validate ``rows`` rejected rows (work, not time)."""
    garbage = [(n, {"名称": "", "经度": "东", "纬度": "北"}) for n in range(2, rows + 2)]
    report = Report(source="garbage")
    lines = 0

    def trace(_frame: object, event: str, _arg: object) -> object:
        nonlocal lines
        lines += event == "line"
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        parse_places(garbage, OPTIONS, report)
    finally:
        sys.settrace(previous)
    assert len(report.rejected_rows) == rows
    return lines


def test_validation_work_grows_linearly_with_rejected_rows() -> None:
    assert traced_lines(1000) < 2.1 * traced_lines(500)


def test_parsing_stops_after_max_rejected_rows() -> None:
    garbage = [(n, {"名称": "", "经度": "113.6", "纬度": "34.7"}) for n in range(2, 50_002)]
    report = Report(source="garbage")
    assert parse_places(garbage, OPTIONS, report, max_rejected=1000) == []
    assert (report.rows_read, len(report.rejected_rows)) == (1000, 1000)
    assert report.stopped and report.stopped.startswith("stopped at row 1001 after 1,000 rejected")


def test_one_encoding_sniffer_for_ledgers_and_activity_files() -> None:
    from geo.places.ledger import sniff_encoding

    utf8 = "名称,经度\n驿站,101.7\n".encode()
    assert sniff_encoding(utf8) == "utf-8-sig"
    assert sniff_encoding(utf8[:4]) == "utf-8-sig"  # a character cut at the end of the head
    assert sniff_encoding("名称,经度\n".encode("gbk")) == "gb18030"
    assert sniff_encoding(b"\xef\xbb\xbfname,lon\n") == "utf-8-sig"
