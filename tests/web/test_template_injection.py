"""User text is data, never template source (issue 8, D1; SECURITY.md point 11).

A ledger whose every text field carries Jinja2 syntax is imported as a user
would, through ``yitu import places``; then every page, map script, API answer
and export that shows those fields is read back.  Each must answer 200, show
the literal text, and never the evaluated ``1337`` of ``{{7*191}}``.  The same
holds for a household number on the caseworker's map.
"""

from __future__ import annotations

import csv
import html
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.household_fixtures import KEY_TEXT, add_households, login, make_user, record
from tests.map_data import map_features, shown_text

# Each is a template payload: an expression, a block, a comment, quotes that
# break a template's syntax, and the shell-reaching chain from the report.
PAYLOADS = (
    "SSTI {{7*191}} end",
    "站 {% raw %} 站",
    "站 {# 注释",
    "Workers' Home {{ 'q' }} \"dq\"",
    "{{lipsum.__globals__.os.popen('id').read()}}",
)
FIELDS = ("name", "name_en", "address", "phone", "managing_union", "station_no")
XINING = (101.7782, 36.6171)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {**app_config, "HOUSEHOLD_KEY": KEY_TEXT}


@pytest.fixture
def hostile_places(
    runner: FlaskCliRunner, yitu_cli: Any, db: Session, tmp_path: Path
) -> Iterator[list[dict[str, Any]]]:
    """Import one place per payload, the payload in every text field; yield their rows."""
    rows = [
        {
            **{field: f"{payload} {field}" for field in FIELDS},
            "lon": XINING[0] + i * 0.001,
            "lat": XINING[1],
            "kind": "station",
            "opening_hours": "08:00-20:00",
        }
        for i, payload in enumerate(PAYLOADS)
    ]
    ledger = tmp_path / "ssti.json"
    ledger.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(yitu_cli, ["import", "places", str(ledger), "--crs", "wgs84"])
    assert result.exit_code == 0, result.output
    stored = db.execute(
        text("SELECT id, name FROM places WHERE source = 'ssti.json' ORDER BY id")
    ).all()
    assert [r.name for r in stored] == [f"{p} name" for p in PAYLOADS]
    for row, (place_id, _) in zip(rows, stored, strict=True):
        row["id"] = place_id
    yield rows


def assert_literal(body: str, row: dict[str, Any], fields: tuple[str, ...] = FIELDS) -> None:
    """The evaluated text never appears; each field's literal text does, once unescaped."""
    assert "1337" not in body
    shown = html.unescape(body)
    for field in fields:
        assert row[field] in shown, (field, row[field])


def test_place_pages_and_map_scripts_show_the_literal_text(
    client: FlaskClient, hostile_places: list[dict[str, Any]]
) -> None:
    for row in hostile_places:
        for lang in ("zh", "en"):
            page = client.get(f"/places/{row['id']}?lang={lang}")
            assert page.status_code == 200
            shown_fields = (
                "name_en" if lang == "en" else "name",
                "address",
                "phone",
                "managing_union",
                "station_no",
            )
            assert_literal(page.get_data(as_text=True), row, shown_fields)
        script = client.get(f"/places/{row['id']}/map.js")
        assert script.status_code == 200
        body = script.get_data(as_text=True)
        assert "1337" not in body
        [feature] = map_features(body)
        assert shown_text(feature["tooltip"]) == row["name"]
        assert row["address"] in shown_text(feature["popup"])


def test_finder_directory_and_embed_show_the_literal_text(
    client: FlaskClient, hostile_places: list[dict[str, Any]]
) -> None:
    view = {"lon": XINING[0], "lat": XINING[1], "zoom": "15"}
    for url, query in (
        ("/", {**view, "q": "name"}),
        ("/places", {"q": "name"}),
        ("/embed", view),
        ("/maps/finder.js", view),
        ("/maps/embed.js", view),
    ):
        response = client.get(url, query_string=query)
        assert response.status_code == 200, url
        assert "1337" not in response.get_data(as_text=True), url
    for url in ("/", "/places"):
        body = client.get(url, query_string={**view, "q": "name"}).get_data(as_text=True)
        for row in hostile_places:
            assert_literal(body, row, ("name",))


def test_api_answers_carry_the_literal_text(
    client: FlaskClient, hostile_places: list[dict[str, Any]]
) -> None:
    lon, lat = XINING
    collections = [
        client.get(
            "/api/v1/places",
            query_string={"bbox": f"{lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}"},
        ),
        client.get("/api/v1/places/nearest", query_string={"lon": lon, "lat": lat, "k": 10}),
    ]
    by_id: dict[int, dict[str, Any]] = {}
    for response in collections:
        assert response.status_code == 200
        for feature in response.get_json()["features"]:
            by_id[feature["id"]] = feature["properties"]
    for row in hostile_places:
        single = client.get(f"/api/v1/places/{row['id']}")
        assert single.status_code == 200
        for properties in (by_id[row["id"]], single.get_json()["properties"]):
            assert properties["name"] == row["name"]
            assert properties["address"] == row["address"]


def test_admin_pages_show_the_literal_text(
    client: FlaskClient, db: Session, hostile_places: list[dict[str, Any]]
) -> None:
    login(client, make_user(db, "admin", username="ssti-admin").username)
    listing = client.get("/admin/", query_string={"q": "name"})
    assert listing.status_code == 200
    for row in hostile_places:
        page = client.get(f"/admin/places/{row['id']}")
        assert page.status_code == 200
        assert_literal(page.get_data(as_text=True), row, ("name", "address"))
        form = client.get(f"/admin/places/{row['id']}/edit")
        assert form.status_code == 200
        assert_literal(form.get_data(as_text=True), row)


@pytest.mark.parametrize("fmt", ["csv", "geojson", "xlsx"])
def test_exports_carry_the_literal_text(
    runner: FlaskCliRunner,
    yitu_cli: Any,
    tmp_path: Path,
    hostile_places: list[dict[str, Any]],
    fmt: str,
) -> None:
    out = tmp_path / f"places.{fmt}"
    result = runner.invoke(yitu_cli, ["export", "places", "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    if fmt == "csv":
        with out.open(encoding="utf-8-sig", newline="") as handle:
            names = {r["name"] for r in csv.DictReader(handle)}
    elif fmt == "geojson":
        names = {f["properties"]["name"] for f in json.loads(out.read_text())["features"]}
    else:
        sheet = load_workbook(out, read_only=True).active
        header, *body = sheet.iter_rows(values_only=True)
        names = {r[header.index("name")] for r in body}
    assert {row["name"] for row in hostile_places} <= names


def test_household_numbers_stay_literal_on_the_caseworker_map(
    client: FlaskClient, db: Session
) -> None:
    user = make_user(db, "caseworker", districts=("630103",), username="ssti-case")
    numbers = [f"{payload} no" for payload in PAYLOADS]
    add_households(db, [record(household_no=n, lon=XINING[0], lat=XINING[1]) for n in numbers])
    login(client, user.username)
    script = client.get("/cases/map.js")
    assert script.status_code == 200
    body = script.get_data(as_text=True)
    assert "1337" not in body
    tooltips = sorted(shown_text(f["tooltip"]) for f in map_features(body))
    assert tooltips == sorted(numbers)
    listing = client.get("/cases/")
    assert listing.status_code == 200
    assert "1337" not in listing.get_data(as_text=True)


def test_the_household_key_leaves_the_process_environment(database_url: str) -> None:
    # Whatever reaches os.environ (an injected template, a child process)
    # must not find the register's key once the app has started.
    code = (
        "import os\n"
        "from web import create_app\n"
        "from web.private_db import cipher\n"
        "app = create_app()\n"
        "print('YITU_HOUSEHOLD_KEY' in os.environ, 'HOUSEHOLD_KEY' in app.config)\n"
        "with app.app_context():\n"
        "    where = dict(table='t', column='c', row_id='1')\n"
        "    print(cipher().decrypt(cipher().encrypt('x', **where), **where))\n"
    )
    env = {
        **os.environ,
        "YITU_HOUSEHOLD_KEY": KEY_TEXT,
        "YITU_DATABASE_URL": database_url,
        "YITU_SECRET_KEY": "test-secret-key",
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False", "x"]
