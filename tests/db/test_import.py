"""Importing ledgers into PostGIS: real data, idempotence, all-or-nothing, dry runs."""

from __future__ import annotations

import json
import os
import re
import signal
import struct
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from flask.testing import FlaskCliRunner
from openpyxl import Workbook
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from geo.places.synthetic import random_places

ROOT = Path(__file__).resolve().parents[2]


def run(runner: FlaskCliRunner, cli, *args: str) -> Result:
    result = runner.invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def import_json(runner: FlaskCliRunner, cli, path: Path, report: Path, *extra: str) -> dict:
    run(
        runner,
        cli,
        "import",
        "places",
        str(path),
        "--crs",
        "gcj02",
        "--report",
        str(report),
        *extra,
    )
    return json.loads(report.read_text())


def places_count(db: Session, source: str) -> int:
    return db.scalar(text("SELECT count(*) FROM places WHERE source = :s"), {"s": source})


def test_zhengzhou_imports_82_and_reimport_changes_nothing(
    runner: FlaskCliRunner, yitu_cli, db: Session, shared_data: Path, tmp_path: Path
) -> None:
    ledger = shared_data / "zhengzhou-stations" / "stations.json"
    first = import_json(runner, yitu_cli, ledger, tmp_path / "r1.json")
    assert first["counts"] == {"inserted": 82, "updated": 0, "unchanged": 0}
    assert first["rejected"] == 0
    assert places_count(db, "stations.json") == 82

    mismatches = [i for i in first["issues"] if i["code"] == "district_mismatch"]
    assert mismatches, "the Zhengzhou ledger has stations located outside their written district"
    for issue in mismatches:
        stored = db.execute(
            text("SELECT ledger_district, district FROM places WHERE name = :n"),
            {"n": issue["name"]},
        ).one()
        assert stored.district in issue["message"] and stored.ledger_district in issue["message"]
        assert stored.district != stored.ledger_district

    second = import_json(runner, yitu_cli, ledger, tmp_path / "r2.json")
    assert second["counts"] == {"inserted": 0, "updated": 0, "unchanged": 82}
    assert places_count(db, "stations.json") == 82


def test_every_place_is_stored_in_wgs84_inside_zhengzhou(
    runner: FlaskCliRunner, yitu_cli, db: Session, shared_data: Path, tmp_path: Path
) -> None:
    import_json(
        runner, yitu_cli, shared_data / "zhengzhou-stations" / "stations.json", tmp_path / "r.json"
    )
    cities = db.execute(
        text("SELECT DISTINCT city FROM places WHERE source = 'stations.json'")
    ).scalars()
    assert set(cities) == {"郑州市"}
    hours = db.execute(
        text(
            "SELECT opening_hours_text, opening_hours FROM places WHERE source = 'stations.json' "
            "AND opening_hours_text = '周一至周五 09:00-17:00' LIMIT 1"
        )
    ).one()
    assert hours.opening_hours == "Mo-Fr 09:00-17:00"


def test_edited_ledger_updates_only_changed_rows(
    runner: FlaskCliRunner, yitu_cli, db: Session, shared_data: Path, tmp_path: Path
) -> None:
    stations = json.loads((shared_data / "zhengzhou-stations" / "stations.json").read_text())
    ledger = tmp_path / "zz.json"
    ledger.write_text(json.dumps(stations, ensure_ascii=False))
    import_json(runner, yitu_cli, ledger, tmp_path / "r1.json")
    stations[0]["open_hours"] = "24小时"
    stations[5]["facilities"] = ["drink"]
    ledger.write_text(json.dumps(stations, ensure_ascii=False))
    second = import_json(runner, yitu_cli, ledger, tmp_path / "r2.json")
    assert second["counts"] == {"inserted": 0, "updated": 2, "unchanged": 80}
    stored = db.scalar(
        text("SELECT opening_hours FROM places WHERE source = 'zz.json' AND name = :n"),
        {"n": stations[0]["name"]},
    )
    assert stored == "24/7"


def test_dry_run_writes_nothing_and_reports_the_same(
    runner: FlaskCliRunner, yitu_cli, db: Session, shared_data: Path, tmp_path: Path
) -> None:
    ledger = shared_data / "zhengzhou-stations" / "stations.json"
    dry = import_json(runner, yitu_cli, ledger, tmp_path / "dry.json", "--dry-run")
    assert dry["dry_run"] is True and dry["counts"]["inserted"] == 82
    assert places_count(db, "stations.json") == 0
    real = import_json(runner, yitu_cli, ledger, tmp_path / "real.json")
    assert {k: v for k, v in real.items() if k != "dry_run"} == {
        k: v for k, v in dry.items() if k != "dry_run"
    }


def test_rejected_rows_are_reported_and_the_rest_imported(
    runner: FlaskCliRunner, yitu_cli, db: Session, tmp_path: Path
) -> None:
    ledger = tmp_path / "mixed.csv"
    ledger.write_text(
        "名称,经度,纬度,开放时间\n好驿站,113.64,34.75,08:00-20:00\n坏驿站,34.75,113.64,\n",
        encoding="utf-8",
    )
    result = runner.invoke(yitu_cli, ["import", "places", str(ledger), "--crs", "wgs84"])
    assert result.exit_code == 0
    assert "swapped" in result.output and "1 rejected" in result.output
    assert "read as format csv, encoding UTF-8, delimiter comma" in result.output
    assert places_count(db, "mixed.csv") == 1


def test_unreadable_ledger_is_a_clear_error(
    runner: FlaskCliRunner, yitu_cli, tmp_path: Path
) -> None:
    ledger = tmp_path / "wrong.csv"
    ledger.write_text("heading,x_coord\nA,1\n")
    result = runner.invoke(yitu_cli, ["import", "places", str(ledger), "--crs", "wgs84"])
    assert result.exit_code == 1
    assert "no column for lat, lon, name" in result.output and "--map" in result.output


def staging_backend(engine: Engine, database: str) -> int | None:
    """Return the pid of a backend working on the import's staging table, if any."""
    with engine.connect() as conn:
        return conn.scalar(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid() "
                "AND query ILIKE '%place_staging%' LIMIT 1"
            ),
            {"d": database},
        )


def test_kill_9_mid_import_leaves_no_rows(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    ledger = tmp_path / "big.csv"
    random_places(40_000, seed=9).to_csv(ledger, index=False)
    env = {**os.environ, "YITU_DATABASE_URL": database_url}
    child = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-c",
            "from web.cli import main; main()",
            "import",
            "places",
            str(ledger),
            "--crs",
            "wgs84",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    database = engine.url.database
    deadline = time.monotonic() + 180
    try:
        while staging_backend(engine, database) is None:
            if child.poll() is not None:
                raise AssertionError(
                    f"the import ended (exit {child.returncode}) before it could be "
                    f"killed: {child.stderr.read().decode()[-2000:]}"
                )
            assert time.monotonic() < deadline, "the import never reached the database"
            time.sleep(0.005)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL
        while staging_backend(engine, database) is not None:  # the server notices the dead client
            assert time.monotonic() < deadline, "the killed import's backend never ended"
            time.sleep(0.05)
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM places WHERE source = 'big.csv'")) == 0
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stderr.close()
        with engine.begin() as conn:  # keep the shared test database clean whatever happened
            conn.execute(text("DELETE FROM places WHERE source = 'big.csv'"))


def test_csv_export_neutralises_formulas(
    runner: FlaskCliRunner, yitu_cli, db: Session, tmp_path: Path
) -> None:
    ledger = tmp_path / "evil.csv"
    ledger.write_text(
        '名称,经度,纬度,地址\n"=HYPERLINK(""http://x"",""y"")",113.64,34.75,@SUM(A1)\n',
        encoding="utf-8",
    )
    run(runner, yitu_cli, "import", "places", str(ledger), "--crs", "wgs84")
    out = tmp_path / "out.csv"
    run(runner, yitu_cli, "export", "places", "--format", "csv", "--out", str(out))
    body = out.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in body and "'@SUM(A1)" in body
    assert ",=HYPERLINK" not in body and '"=HYPERLINK' not in body


def test_garbage_ledger_stops_after_max_rejected_rows_and_writes_nothing(
    runner: FlaskCliRunner, yitu_cli, db: Session, tmp_path: Path
) -> None:
    ledger = tmp_path / "garbage.csv"
    body = "名称,经度,纬度\n好驿站,113.64,34.75\n" + "垃圾,东,北\n" * 50_000
    ledger.write_text(body, encoding="utf-8")
    # One good row, then garbage: row 2 is accepted, rows 3.. are rejected.
    for extra, limit in ((["--max-rejected", "10"], 10), (["--dry-run"], 1000)):
        report_path = tmp_path / f"r{limit}.json"
        args = ["import", "places", str(ledger), "--crs", "wgs84", "--report", str(report_path)]
        result = runner.invoke(yitu_cli, [*args, *extra], catch_exceptions=False)
        assert result.exit_code == 1, result.output
        assert f"garbage.csv: stopped at row {limit + 2} after {limit:,} rejected rows" in (
            result.output
        )
        report = json.loads(report_path.read_text())
        assert (report["rows_read"], report["rejected"], report["counts"]) == (limit + 1, limit, {})
        assert "nothing was written" in report["stopped"]
        assert places_count(db, "garbage.csv") == 0


def good_workbook(path: Path) -> Path:
    book = Workbook()
    book.active.append(["名称", "经度", "纬度"])
    book.active.append(["驿站X", 113.64, 34.75])
    book.save(path)
    return path


def lie_about_sizes(path: Path) -> None:
    """Make the zip declare its sheet 100 bytes long, in both of its headers."""
    data = bytearray(path.read_bytes())
    for found in re.finditer(re.escape(b"xl/worksheets/sheet1.xml"), bytes(data)):
        # (name offset, size offset) in a local file header and a central directory entry
        for name_at, size_at in ((30, 22), (46, 24)):
            header = found.start() - name_at
            if data[header : header + 2] == b"PK":
                struct.pack_into("<I", data, header + size_at, 100)
    path.write_bytes(data)


def plant_entity_bomb(path: Path) -> None:
    """Rewrite the workbook with a billion-laughs DOCTYPE at the top of its sheet."""
    bomb = b'<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"]
    parts["xl/worksheets/sheet1.xml"] = bomb + re.sub(rb"^<\?xml[^>]*\?>", b"", sheet)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, body in parts.items():
            target.writestr(name, body)


@pytest.mark.parametrize(
    ("spoil", "needle"),
    [(lie_about_sizes, "zip archive is damaged"), (plant_entity_bomb, "declares entities")],
)
def test_hostile_workbook_is_a_clear_error_and_writes_nothing(
    runner: FlaskCliRunner,
    yitu_cli,
    db: Session,
    tmp_path: Path,
    spoil: Callable[[Path], None],
    needle: str,
) -> None:
    ledger = good_workbook(tmp_path / "hostile.xlsx")
    spoil(ledger)
    args = ["import", "places", str(ledger), "--crs", "wgs84"]
    result = runner.invoke(yitu_cli, args, catch_exceptions=False)
    assert result.exit_code == 1
    assert "hostile.xlsx cannot be read as an .xlsx workbook" in result.output
    assert needle in result.output and "Traceback" not in result.output
    assert places_count(db, "hostile.xlsx") == 0


def test_statement_timeout_is_a_clear_error_and_writes_nothing(
    runner: FlaskCliRunner, yitu_cli, db: Session, engine: Engine, tmp_path: Path
) -> None:
    ledger = tmp_path / "slow.csv"
    ledger.write_text("名称,经度,纬度\n驿站,113.64,34.75\n", encoding="utf-8")
    # lock_timeout only keeps the test from hanging should the importer lift its statement timeout.
    db.execute(text("SET LOCAL statement_timeout = '300ms'; SET LOCAL lock_timeout = '10s'"))
    with engine.connect() as other:  # holds the table, so the import waits past its timeout
        other.execute(text("LOCK TABLE places IN ACCESS EXCLUSIVE MODE"))
        args = ["import", "places", str(ledger), "--crs", "wgs84"]
        result = runner.invoke(yitu_cli, args, catch_exceptions=False)
    assert result.exit_code == 1
    assert "slow.csv: the database cancelled the import" in result.output
    assert "statement timeout; nothing was written" in result.output
    assert places_count(db, "slow.csv") == 0
