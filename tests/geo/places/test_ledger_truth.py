"""Ledgers that tell the truth (issue 14): far-off points rejected, files recognised by content."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from geo.errors import LedgerError
from geo.places.districts import nearest_districts
from geo.places.forms import validate_form
from geo.places.ledger import Report, read_rows
from geo.places.rows import OUTSIDE_TOLERANCE_M, ImportOptions, finish_places, parse_places

HEADER = "站点名称,地址,经度,纬度,开放时间\n"
OPTIONS = ImportOptions(kind="station", crs="wgs84", source="test")


def parse(path: Path, options: ImportOptions = OPTIONS) -> tuple[list, Report]:
    report = Report(source=path.name)
    rows = read_rows(path, detected=report.detected)
    return finish_places(parse_places(rows, options, report), report), report


def test_a_longitude_typo_is_rejected_naming_row_and_nearest_district(tmp_path: Path) -> None:
    path = tmp_path / "shanghai.csv"
    path.write_text(
        HEADER
        + "驿站甲,上海市,121.4737,31.2304,24小时\n"
        + "驿站乙,上海市,131.04,31.20,24小时\n"  # 121.04 typed as 131.04
        + "驿站丙,舟山市,122.2000,29.9500,24小时\n",  # ~1 km off the shore
        encoding="utf-8",
    )
    rows, report = parse(path)
    assert [number for number, _ in rows] == [2, 4]
    [error] = [i for i in report.issues if i.severity == "error"]
    assert error.row == 3 and error.code == "outside_china" and error.field == "lon"
    assert error.name == "驿站乙"
    assert "浙江省舟山市岱山县" in error.message and "779 km" in error.message
    assert "(131.040000, 31.200000)" in error.message
    # Within the tolerance a point keeps its old warning: a pier, a simplified coastline.
    kept = [i for i in report.issues if i.row == 4]
    assert [i.code for i in kept] == ["no_district"] and kept[0].severity == "warning"
    assert report.rejected_rows == {3}


def test_the_typo_is_rejected_in_gcj02_ledgers_too(tmp_path: Path) -> None:
    path = tmp_path / "gcj.csv"
    path.write_text(HEADER + "驿站乙,上海市,131.0446,31.1980,24小时\n", encoding="utf-8")
    rows, report = parse(path, ImportOptions(kind="station", crs="gcj02", source="test"))
    assert rows == [] and report.rejected_rows == {2}
    assert "(131.044600, 31.198000)" in report.issues[0].message  # as the ledger wrote it


def test_nearest_districts_measure_metres_on_the_ellipsoid() -> None:
    found, metres = nearest_districts([101.78, 131.04, float("nan")], [36.62, 31.2, 30.0])
    assert found[0].adcode == "630103" and metres[0] == 0
    assert found[1].district == "岱山县" and 700_000 < metres[1] < 900_000
    assert found[2] is None
    assert OUTSIDE_TOLERANCE_M == 5_000


def test_the_admin_form_refuses_a_point_far_at_sea() -> None:
    record, report = validate_form({"name": "驿站", "lon": "131.04", "lat": "31.2"}, crs="wgs84")
    assert record is None
    assert [i.code for i in report.issues if i.severity == "error"] == ["outside_china"]


def workbook(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(["名称", "经度", "纬度", "营业时间"])
    sheet.append(["驿站X", 113.64, 34.75, "24小时"])
    book.save(path)
    return path


def test_a_workbook_saved_with_a_csv_name_is_read_as_xlsx(tmp_path: Path) -> None:
    rows, report = parse(workbook(tmp_path / "站点.csv"))
    assert [(n, r.name) for n, r in rows] == [(2, "驿站X")]
    assert report.detected["format"] == "xlsx"
    assert report.detected["note"] == (
        "named .csv but recognised by its content as XLSX workbook; read as XLSX workbook"
    )
    assert json.loads(json.dumps(report.to_dict()))["detected"]["format"] == "xlsx"


def test_text_named_xlsx_is_read_as_csv(tmp_path: Path) -> None:
    path = tmp_path / "站点.xlsx"
    path.write_text(HEADER + "驿站甲,郑州市,113.64,34.75,24小时\n", encoding="gb18030")
    rows, report = parse(path)
    assert len(rows) == 1 and report.detected["format"] == "csv"
    assert (
        report.detected["encoding"] == "GB18030 (GBK)" and "named .xlsx" in report.detected["note"]
    )


def test_a_plain_csv_has_no_note(tmp_path: Path) -> None:
    path = tmp_path / "站点.csv"
    path.write_text(HEADER + "驿站甲,郑州市,113.64,34.75,24小时\n", encoding="utf-8")
    _rows, report = parse(path)
    assert report.detected["format"] == "csv" and "note" not in report.detected


def test_old_xls_and_other_zips_are_refused_by_name(tmp_path: Path) -> None:
    xls = tmp_path / "站点.csv"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    with pytest.raises(LedgerError, match=r"Excel 97-2003 \(\.xls\)"):
        list(read_rows(xls))
    docx = tmp_path / "站点2.csv"
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    with pytest.raises(LedgerError, match="not an Excel workbook"):
        list(read_rows(docx))
