"""`yitu import places` as a user runs it: a workbook named .csv, a longitude typo (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

from flask.testing import FlaskCliRunner
from openpyxl import Workbook
from sqlalchemy import text
from sqlalchemy.orm import Session


def test_workbook_named_csv_with_a_typo_imports_the_rest(
    runner: FlaskCliRunner,
    yitu_cli,
    db: Session,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["站点名称", "经度", "纬度", "开放时间"])
    sheet.append(["外滩驿站", 121.4903, 31.2416, "24小时"])
    sheet.append(["打错经度的驿站", 131.04, 31.20, "24小时"])
    ledger = tmp_path / "上海站点.csv"
    book.save(ledger)
    report_path = tmp_path / "report.json"
    result = runner.invoke(
        yitu_cli, ["import", "places", str(ledger), "--crs", "wgs84", "--report", str(report_path)]
    )
    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.split())  # rich wraps long lines
    assert "named .csv but recognised by its content as XLSX workbook" in shown
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["detected"]["format"] == "xlsx"
    assert report["rejected"] == 1 and report["issues_by_code"]["outside_china"] == 1
    [issue] = [i for i in report["issues"] if i["code"] == "outside_china"]
    assert issue["row"] == 3 and "浙江省舟山市岱山县" in issue["message"]
    names = (
        db.execute(text("SELECT name FROM places WHERE source = :s"), {"s": ledger.name})
        .scalars()
        .all()
    )
    assert names == ["外滩驿站"]
