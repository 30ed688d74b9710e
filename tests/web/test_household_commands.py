"""``yitu users ...`` and ``yitu households ...`` on the command line."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskCliRunner
from openpyxl import Workbook
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from geo.db import accounts
from geo.db import households as register
from geo.db.audit import AuditEntry
from tests.household_fixtures import KEY_TEXT, cipher, id_number


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {**app_config, "HOUSEHOLD_KEY": KEY_TEXT}


def test_users_create_with_password_on_stdin(runner: FlaskCliRunner, yitu_cli, db: Session) -> None:  # noqa: ANN001
    result = runner.invoke(
        yitu_cli,
        [
            "users",
            "create",
            "--username",
            "Case-Worker1",
            "--role",
            "caseworker",
            "--district",
            "630103",
            "--district",
            "630104",
            "--password-stdin",
        ],
        input="a long enough passphrase\n",
    )
    assert result.exit_code == 0, result.output
    found = accounts.find_for_login(db, "case-worker1")
    assert found is not None
    account, stored = found
    assert account.districts == ("630103", "630104") and stored.startswith("$argon2id$")
    assert "a long enough passphrase" not in result.output


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--role", "caseworker"], "a long enough passphrase\n", "at least one district"),
        (
            ["--role", "planner", "--district", "630103"],
            "a long enough passphrase\n",
            "only caseworkers",
        ),
        (["--role", "admin"], "short\n", "at least 12 characters"),
    ],
)
def test_users_create_refuses_bad_input(
    runner: FlaskCliRunner,
    yitu_cli,
    args: list[str],  # noqa: ANN001
    stdin: str,
    message: str,
) -> None:
    result = runner.invoke(
        yitu_cli,
        ["users", "create", "--username", "someone", *args, "--password-stdin"],
        input=stdin,
    )
    assert result.exit_code == 1 and message in result.output


def test_users_disable_and_list(runner: FlaskCliRunner, yitu_cli, db: Session) -> None:  # noqa: ANN001
    runner.invoke(
        yitu_cli,
        ["users", "create", "--username", "aud1", "--role", "auditor", "--password-stdin"],
        input="a long enough passphrase\n",
    )
    assert runner.invoke(yitu_cli, ["users", "disable", "aud1"]).exit_code == 0
    listed = runner.invoke(yitu_cli, ["users", "list"]).output
    assert "aud1\tauditor\t\tdisabled" in listed
    assert accounts.find_for_login(db, "aud1") is None


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(
        [
            "档案编号",
            "户主姓名",
            "身份证号",
            "联系电话",
            "家庭住址",
            "经度",
            "纬度",
            "困难类别",
            "家庭人口",
        ]
    )
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_import_xlsx_locates_districts_and_encrypts(
    runner: FlaskCliRunner,
    yitu_cli,  # noqa: ANN001
    db: Session,
    tmp_path: Path,
) -> None:
    ledger = write_xlsx(
        tmp_path / "households.xlsx",
        [
            # GCJ-02 coordinates as read off Amap, in Xining's 城中区 and 城西区.
            [
                "X-1",
                "马秀兰",
                id_number(901),
                "13997001234",
                "城中区南关街1号",
                101.7869,
                36.6145,
                "因病",
                3,
            ],
            [
                "X-2",
                "韩永福",
                id_number(902),
                "13997005678",
                "城西区西关大街9号",
                101.7623,
                36.6290,
                "失业",
                2,
            ],
        ],
    )
    report_path = tmp_path / "report.json"
    result = runner.invoke(
        yitu_cli,
        [
            "households",
            "import",
            str(ledger),
            "--crs",
            "gcj02",
            "--source",
            "xining-2025",
            "--report",
            str(report_path),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["counts"] == {"inserted": 2, "updated": 0, "unchanged": 0}
    assert "马秀兰" not in report_path.read_text() and "马秀兰" not in result.output
    adcodes = dict(
        db.execute(
            text(
                "SELECT household_no, adcode FROM households.households "
                "WHERE source = 'xining-2025'"
            )
        ).all()
    )
    assert adcodes["X-1"][:4] == "6301" and adcodes["X-1"] != adcodes["X-2"]
    row = db.scalar(select(register.Household).where(register.Household.household_no == "X-1"))
    assert (
        cipher().decrypt(
            row.name_ct, table="households.households", column="name_ct", row_id=str(row.id)
        )
        == "马秀兰"
    )
    audited = db.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "import", AuditEntry.actor.like("cli:%"))
    )
    assert audited == 2


def test_import_with_a_bad_row_writes_nothing_and_fails(
    runner: FlaskCliRunner,
    yitu_cli,  # noqa: ANN001
    db: Session,
    tmp_path: Path,
) -> None:
    ledger = write_xlsx(
        tmp_path / "bad.xlsx",
        [
            [
                "B-1",
                "马秀兰",
                id_number(903),
                "13997001234",
                "城中区1号",
                101.7869,
                36.6145,
                "因病",
                3,
            ],
            [
                "B-2",
                "韩永福",
                "11010519491231002",
                "139",
                "城西区9号",
                101.7623,
                36.6290,
                "失业",
                2,
            ],
        ],
    )
    result = runner.invoke(
        yitu_cli, ["households", "import", str(ledger), "--crs", "gcj02", "--source", "bad-ledger"]
    )
    assert result.exit_code == 1
    assert "nothing was written" in result.output and "3" in result.output
    assert (
        db.scalar(text("SELECT count(*) FROM households.households WHERE source = 'bad-ledger'"))
        == 0
    )


def test_dry_run_writes_nothing(
    runner: FlaskCliRunner,
    yitu_cli,
    db: Session,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    ledger = write_xlsx(
        tmp_path / "ok.xlsx",
        [
            [
                "D-1",
                "马秀兰",
                id_number(904),
                "13997001234",
                "城中区1号",
                101.7869,
                36.6145,
                "因病",
                3,
            ],
        ],
    )
    result = runner.invoke(
        yitu_cli,
        ["households", "import", str(ledger), "--crs", "gcj02", "--source", "dry", "--dry-run"],
    )
    assert result.exit_code == 0 and "would write" in result.output
    assert db.scalar(text("SELECT count(*) FROM households.households WHERE source = 'dry'")) == 0


def test_demo_households_are_synthetic_located_and_idempotent(
    runner: FlaskCliRunner,
    yitu_cli,  # noqa: ANN001
    db: Session,
) -> None:
    result = runner.invoke(yitu_cli, ["households", "demo", "--count", "60", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "synthetic" in result.output
    rows = db.execute(
        text(
            "SELECT household_no, adcode, is_synthetic FROM "
            "households.households WHERE source = 'synthetic-demo'"
        )
    ).all()
    assert len(rows) == 60 and all(r.is_synthetic for r in rows)
    assert all(r.household_no.startswith("DEMO-") for r in rows)
    assert {r.adcode[:4] for r in rows} == {"6301"}  # Xining's districts
    again = runner.invoke(yitu_cli, ["households", "demo", "--count", "60", "--seed", "7"])
    assert "60 unchanged" in again.output


def test_keygen_prints_a_usable_key(yitu_cli) -> None:  # noqa: ANN001
    result = CliRunner().invoke(yitu_cli, ["households", "keygen"])
    assert len(base64.b64decode(result.output.strip())) == 32


def test_check_roles_flags_a_public_url_that_can_read_households(
    runner: FlaskCliRunner, yitu_cli
) -> None:  # noqa: ANN001
    # The test database URL connects as a superuser: exactly what the check must refuse.
    result = runner.invoke(yitu_cli, ["households", "check-roles"])
    assert result.exit_code == 1 and "yitu_public" in result.output


def test_check_roles_passes_when_each_url_uses_its_role(
    app_config: dict[str, object], database_url: str, yitu_cli
) -> None:  # noqa: ANN001
    from tests.household_fixtures import as_role
    from web import create_app

    app = create_app(
        {
            **app_config,
            "DATABASE_URL": as_role(database_url, "yitu_public"),
            "PRIVATE_DATABASE_URL": as_role(database_url, "yitu_app"),
        }
    )
    result = app.test_cli_runner().invoke(yitu_cli, ["households", "check-roles"])
    assert result.exit_code == 0, result.output
    assert '"read_households": false' in result.output
    assert "separated as intended" in result.output
