"""Every export still works after a place is edited in the admin form (issue 14).

An edit stores an aware ``updated_at``; openpyxl refuses aware datetimes
("Excel does not support timezones"), which once crashed ``--format xlsx``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.places.timezone import SHANGHAI
from tests.finder_fixtures import add_place
from tests.household_fixtures import KEY_TEXT, csrf_from, login, make_user


@pytest.fixture
def app_config(app_config: dict[str, object], tmp_path: Path) -> dict[str, object]:
    return {**app_config, "HOUSEHOLD_KEY": KEY_TEXT, "OPENDATA_DIR": str(tmp_path / "open")}


@pytest.mark.parametrize("fmt", ["csv", "geojson", "xlsx", "snapshot"])
def test_export_after_an_admin_edit(
    client: FlaskClient,
    runner: FlaskCliRunner,
    yitu_cli: Any,
    db: Session,
    tmp_path: Path,
    fmt: str,
) -> None:
    login(client, make_user(db, "admin", username="export-admin").username)
    place_id = add_place(db, 101.778, 36.617, name="旧名称")
    edit_url = f"/admin/places/{place_id}/edit"
    form = {
        "name": "=编辑后的名称",
        "kind": "station",
        "crs": "wgs84",
        "lon": "101.778",
        "lat": "36.617",
        "note": "renamed",
        "csrf_token": csrf_from(client.get(edit_url).get_data(as_text=True)),
    }
    assert client.post(edit_url, data=form).status_code == 302
    updated = db.execute(
        text("SELECT updated_at FROM places WHERE id = :i"), {"i": place_id}
    ).scalar_one()
    local = updated.astimezone(SHANGHAI).replace(tzinfo=None)

    if fmt == "snapshot":
        result = runner.invoke(yitu_cli, ["export", "snapshot"])
        assert result.exit_code == 0, result.output
        with (tmp_path / "open" / "current" / "places.csv").open(encoding="utf-8-sig") as f:
            [row] = [r for r in csv.DictReader(f) if r["id"] == str(place_id)]
        # The snapshot's columns are the data dictionary's, which names the zone.
        assert row["name"] == "'=编辑后的名称" and row["updated_at"] == str(local)
        return
    out = tmp_path / f"places.{fmt}"
    result = runner.invoke(yitu_cli, ["export", "places", "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    if fmt == "xlsx":
        sheet = load_workbook(out, read_only=True).active
        header, *body = sheet.iter_rows(values_only=True)
        [row] = [
            dict(zip(header, r, strict=True)) for r in body if r[header.index("id")] == place_id
        ]
        assert row["name"] == "'=编辑后的名称"
        stamp = row["updated_at (Asia/Shanghai)"]
        assert stamp == local.replace(microsecond=stamp.microsecond)
    elif fmt == "csv":
        with out.open(encoding="utf-8-sig", newline="") as f:
            [row] = [r for r in csv.DictReader(f) if r["id"] == str(place_id)]
        assert row["name"] == "'=编辑后的名称" and row["updated_at (Asia/Shanghai)"] == str(local)
    else:
        [feature] = [
            f
            for f in json.loads(out.read_text(encoding="utf-8"))["features"]
            if f["properties"]["id"] == place_id
        ]
        assert feature["properties"]["name"] == "=编辑后的名称"
