"""The planner page, its map script, exports and what-if; the CLI end to end."""

from __future__ import annotations

import json
from pathlib import Path

import h3
import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from geo.db import activity
from tests.finder_fixtures import HOSTILE_NAMES, add_place
from tests.map_data import map_features, shown_text
from web.commands.activity import import_activity
from web.commands.analyze import analyze

LON, LAT = 121.47, 31.23
NEAR = h3.latlng_to_cell(LAT, LON, 9)
FAR = sorted(h3.grid_ring(NEAR, 8))[0]  # ~2.4 km away
CITY = "上海市"


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {**app_config, "PLANNER_PUBLIC": True, "RIDER_ID_SALT": "test-rider-salt-0123456789"}


def centre(cell: str) -> tuple[float, float]:
    lat, lon = h3.cell_to_latlng(cell)
    return lon, lat


def seed(db: Session, *, station_name: str = "城中驿站") -> int:
    """Two equally busy cells at weekday lunch; one station on the first."""
    frame = pd.DataFrame(
        {
            "cell": [h3.str_to_int(NEAR), h3.str_to_int(FAR), h3.str_to_int(NEAR)],
            "hour_of_week": [12, 12, 3],  # Monday 12:00 twice, plus Monday 03:00
            "points": [10, 10, 99],
            "weight": [10.0, 10.0, 99.0],
            "riders": pd.array([4, 3, 1], dtype="Int64"),
        }
    )
    activity.replace_dataset(
        db,
        frame,
        name="test-activity",
        city=CITY,
        source_crs="wgs84",
        resolution=9,
        has_riders=True,
    )
    lon, lat = centre(NEAR)
    return add_place(db, lon, lat, name=station_name, city=CITY)


def test_planner_is_closed_by_default(app_config: dict[str, object], db: Session) -> None:
    from web import create_app

    closed = create_app({**app_config, "PLANNER_PUBLIC": False}).test_client()
    # Anonymous visitors are sent to the login page, which brings them back.
    for path in ("/planner/", "/planner/map.js"):
        response = closed.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/auth/login?next=" + path


def test_empty_planner_page(client: FlaskClient) -> None:
    page = client.get("/planner/")
    assert page.status_code == 200
    assert "planner/map.js" in page.get_data(as_text=True)
    assert client.get("/planner/map.js").status_code == 200


def test_coverage_page_shows_share_gaps_and_districts(client: FlaskClient, db: Session) -> None:
    seed(db)
    page = client.get("/planner/", query_string={"city": CITY, "window": "weekday-lunch"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html[:500]
    assert "50.0%" in html  # one of two equally busy cells is covered
    assert "黄浦区" in html  # district of the centre of Shanghai
    assert "城中驿站" in html
    # Monday 03:00 is outside weekday lunch: its 99 points are not counted.
    assert "99" not in html.split('id="coverage-title"')[1].split('class="downloads"')[0]
    script = client.get("/planner/map.js", query_string={"city": CITY})
    assert script.status_code == 200
    assert script.mimetype == "application/javascript"
    shapes = {f["shape"] for f in map_features(script.get_data(as_text=True))}
    assert {"polygon", "circle", "circleMarker"} <= shapes


def test_hostile_station_names_are_escaped(client: FlaskClient, db: Session) -> None:
    seed(db, station_name=HOSTILE_NAMES[1])
    add_place(db, *centre(NEAR), name=HOSTILE_NAMES[0], city=CITY)
    add_place(db, *centre(NEAR), name="SSTI {{7*191}} {% raw %} '\"", city=CITY)
    page = client.get("/planner/", query_string={"city": CITY})
    script = client.get("/planner/map.js", query_string={"city": CITY})
    assert page.status_code == 200 and script.status_code == 200
    html, js = page.get_data(as_text=True), script.get_data(as_text=True)
    for text in (html, js):
        assert "${document.title" not in text
        assert "<img src=x" not in text
        assert "1337" not in text
    tooltips = [shown_text(f.get("tooltip", "")) for f in map_features(js)]
    for name in (HOSTILE_NAMES[0], HOSTILE_NAMES[1], "SSTI {{7*191}} {% raw %} '\""):
        assert any(t.startswith(name + " (#") for t in tooltips), name


def test_exports(client: FlaskClient, db: Session) -> None:
    seed(db)
    args = {"city": CITY}
    gaps = client.get("/planner/gaps.geojson", query_string=args)
    assert gaps.status_code == 200 and gaps.mimetype == "application/geo+json"
    document = json.loads(gaps.get_data(as_text=True))
    assert len(document["features"]) == 1
    assert document["features"][0]["properties"]["weight"] == 10.0
    csv = client.get("/planner/uncovered.csv", query_string=args).get_data(as_text=True)
    assert h3.int_to_str(h3.str_to_int(FAR)) in csv
    assert (
        "attachment"
        in client.get("/planner/districts.csv", query_string=args).headers["Content-Disposition"]
    )
    assert client.get("/planner/districts.geojson", query_string=args).status_code == 400


def test_siting_from_the_page(client: FlaskClient, db: Session) -> None:
    seed(db)
    args = {"city": CITY, "p": "1"}
    html = client.get("/planner/", query_string=args).get_data(as_text=True)
    assert 'id="sites-title"' in html and "/planner/curve.png?" in html
    # The proof, in words, beside the plan.
    assert "已证明最优：在相同条件下，没有任何方案能覆盖更多。" in html
    assert 'data-proven-gap="0.0"' in html
    curve = client.get("/planner/curve.png", query_string=args)
    assert curve.status_code == 200 and curve.data.startswith(b"\x89PNG")
    sites = json.loads(
        client.get("/planner/sites.geojson", query_string=args).get_data(as_text=True)
    )
    [site] = sites["features"]
    assert site["properties"]["order"] == 1
    assert site["properties"]["covered_share"] == pytest.approx(1.0)
    assert site["geometry"]["coordinates"] == pytest.approx(list(centre(FAR)), abs=1e-6)


def test_what_if_add_and_remove(client: FlaskClient, db: Session) -> None:
    station = seed(db)
    lon, lat = centre(FAR)
    added = client.get("/planner/", query_string={"city": CITY, "add": f"{lon},{lat}"})
    html = added.get_data(as_text=True)
    assert added.status_code == 200
    assert "100.0%" in html and "+50.0" in html
    removed = client.get("/planner/", query_string={"city": CITY, "remove": str(station)})
    html = removed.get_data(as_text=True)
    assert "0.0%" in html
    # Who loses coverage: the near cell (weight 10, all of its district's activity) in 黄浦区.
    assert "失去与获得覆盖的区域" in html
    row = html[html.index('id="change-title"') :]
    row = row[row.index("<tbody>") : row.index("</tbody>")]
    cells = [c.split("</td>")[0] for c in row.split(">", 1)[1].split("<td")[1:]]
    assert [c.split(">", 1)[1] for c in cells] == ["黄浦区", "1", "10", "100.0%", "0", "0"]
    # Adding the far station: nobody loses, the far cell gains.
    assert "失去与获得覆盖的区域" in added.get_data(as_text=True)


@pytest.mark.parametrize(
    "args",
    [
        {"city": CITY, "window": "lunchtime"},
        {"city": CITY, "p": "0"},
        {"city": CITY, "add": "east,north"},
        {"city": CITY, "network": "nowhere"},
        {"city": CITY, "kind": "castle"},
        {"city": CITY, "p": "2", "budget": "100000"},
        {"city": "杭州市"},
    ],
)
def test_bad_questions_get_400(client: FlaskClient, db: Session, args: dict[str, str]) -> None:
    seed(db)
    response = client.get("/planner/", query_string=args)
    assert response.status_code == 400
    assert "Traceback" not in response.get_data(as_text=True)


# --------------------------------------------------------------------------- CLI


def test_cli_import_then_coverage_then_siting(
    runner: FlaskCliRunner, db: Session, tmp_path: Path
) -> None:
    lon, lat = centre(NEAR)
    far_lon, far_lat = centre(FAR)
    rows = [
        {"lng": lon, "lat": lat, "time": "2024-03-04 12:10", "courier_id": "c1"},
        {"lng": far_lon, "lat": far_lat, "time": "2024-03-04 12:20", "courier_id": "c2"},
        {"lng": far_lon, "lat": far_lat, "time": "2024-03-04 12:30", "courier_id": "c2"},
    ]
    source = tmp_path / "pings.csv"
    pd.DataFrame(rows).to_csv(source, index=False)
    result = runner.invoke(
        import_activity, [str(source), "--crs", "wgs84", "--city", CITY, "--dataset", "pings"]
    )
    assert result.exit_code == 0, result.output
    assert "3 points" in result.output and "courier_id" not in result.output.split("columns")[0]
    add_place(db, lon, lat, name="站A", city=CITY)
    gaps, cells_csv = tmp_path / "gaps.geojson", tmp_path / "gaps.csv"
    gaps_csv = tmp_path / "gap-table.csv"
    result = runner.invoke(
        analyze,
        [
            "coverage",
            "--city",
            CITY,
            "--window",
            "12:00-13:00",
            "--out",
            str(gaps),
            "--csv",
            str(cells_csv),
            "--gaps-csv",
            str(gaps_csv),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "33.3%" in result.output
    assert pd.read_csv(gaps_csv, encoding="utf-8-sig")["weight"].tolist() == [2.0]
    assert h3.int_to_str(h3.str_to_int(FAR)) in cells_csv.read_text(encoding="utf-8-sig")
    assert json.loads(gaps.read_text())["features"][0]["properties"]["weight"] == 2.0
    sites, plot = tmp_path / "sites.geojson", tmp_path / "curve.svg"
    result = runner.invoke(
        analyze,
        [
            "siting",
            "--city",
            CITY,
            "--window",
            "12:00-13:00",
            "--p",
            "1",
            "--out",
            str(sites),
            "--plot",
            str(plot),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "33.3% -> 100.0%" in result.output
    assert "Proven optimal" in result.output
    assert "<svg" in plot.read_text()
    result = runner.invoke(analyze, ["siting", "--city", CITY, "--p", "5", "--no-from-cells"])
    assert result.exit_code != 0 and "no candidate sites" in result.output


def test_cli_errors_are_clear(runner: FlaskCliRunner, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = runner.invoke(import_activity, [str(empty), "--crs", "wgs84", "--city", CITY])
    assert result.exit_code != 0 and "empty" in result.output
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b,c\n1,2,3\n")
    result = runner.invoke(import_activity, [str(odd), "--crs", "wgs84", "--city", CITY])
    assert result.exit_code != 0 and "Columns found: a, b, c" in result.output
    result = runner.invoke(analyze, ["coverage", "--window", "all"])
    assert result.exit_code != 0 and "--city or --dataset" in result.output


def test_shanghai_end_to_end(
    runner: FlaskCliRunner, client: FlaskClient, db: Session, shared_data: Path, tmp_path: Path
) -> None:
    folder = shared_data / "shanghai-orders-2016"
    result = runner.invoke(
        import_activity, [str(folder), "--city", CITY, "--dataset", "shanghai-2016"]
    )
    assert result.exit_code == 0, result.output
    meta = activity.get_dataset(db, "shanghai-2016")
    assert meta["points"] > 16_000 and meta["source_crs"] == "gcj02"
    # Ten depots of new_1.csv serve as today's stations.
    depots = pd.read_csv(folder / "new_1.csv").head(10)
    from geo.places.crs import to_wgs84_arrays

    d_lon, d_lat = to_wgs84_arrays(depots["Lng"].to_numpy(), depots["Lat"].to_numpy(), crs="gcj02")
    for x, y, name in zip(d_lon, d_lat, depots["Site_id"], strict=True):
        add_place(db, float(x), float(y), name=f"depot {name}", city=CITY)
    gaps = tmp_path / "gaps.geojson"
    result = runner.invoke(
        analyze, ["coverage", "--city", CITY, "--window", "weekday-lunch", "--out", str(gaps)]
    )
    assert result.exit_code == 0, result.output
    assert "浦东新区" in result.output
    assert json.loads(gaps.read_text())["features"]
    sites, plot = tmp_path / "sites.csv", tmp_path / "curve.png"
    result = runner.invoke(
        analyze,
        [
            "siting",
            "--city",
            CITY,
            "--window",
            "weekday-lunch",
            "--p",
            "10",
            "--candidates",
            str(folder / "new_3.csv"),
            "--candidates",
            str(folder / "new_1.csv"),
            "--candidates-crs",
            "gcj02",
            "--csv",
            str(sites),
            "--plot",
            str(plot),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "optimal" in result.output
    table = pd.read_csv(sites, encoding="utf-8-sig")
    assert table["order"].tolist() == list(range(1, 11))
    assert (table["gain"].diff().dropna() <= 1e-9).all()
    assert plot.read_bytes().startswith(b"\x89PNG")
    page = client.get("/planner/", query_string={"city": CITY, "p": "5"})
    assert page.status_code == 200


# --------------------------------------------------------------------------- demo city


def test_demo_activity_file_is_reproducible(tmp_path: Path) -> None:
    import subprocess
    import sys

    from geo.service.activity import DEMO_ACTIVITY

    out = tmp_path / "again.csv.gz"
    subprocess.run(
        [
            sys.executable,
            str(DEMO_ACTIVITY.parents[2] / "scripts" / "make_demo_activity.py"),
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    assert out.read_bytes() == DEMO_ACTIVITY.read_bytes()


def test_demo_activity_loads_as_demo_and_shows_gaps(
    runner: FlaskCliRunner, client: FlaskClient, db: Session
) -> None:
    from web.commands.activity import DEMO_DATASET, load_demo_activity

    result = runner.invoke(load_demo_activity, [])
    assert result.exit_code == 0, result.output
    meta = activity.get_dataset(db, DEMO_DATASET)
    assert meta["is_demo"] and meta["has_riders"] and meta["city"] == "西宁市"
    add_place(db, 101.762, 36.585, name="演示驿站", city="西宁市")
    page = client.get("/planner/", query_string={"city": "西宁市"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "demo-notice" in html  # the base template's demo banner
    assert "城中区" in html


def test_proof_in_words(app: Flask) -> None:
    from web.planner_words import percent, proof_in_words

    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        unproven = proof_in_words({"status": "time limit", "mip_gap": None})
        assert unproven.startswith("Not proven")
        near = proof_in_words({"status": "time limit", "mip_gap": 0.0031, "bound_share": 0.8123})
        assert near == (
            "Within 0.3 % of the best possible: no plan covers more than 81.2 % of activity."
        )
        assert proof_in_words({"status": "optimal", "mip_gap": 0.0}).startswith("Proven optimal")
    with app.test_request_context("/"):  # Chinese by default
        near = proof_in_words({"status": "time limit", "mip_gap": 0.0031, "bound_share": 0.8123})
        assert near.startswith("与最优方案相差不超过 0.3 %")
    assert percent(0.00004) == "< 0.01 %" and percent(0.00042) == "0.04 %"
    assert percent(0.0123) == "1.2 %"


def test_fewest_stations_for_a_target_share(
    client: FlaskClient, runner: FlaskCliRunner, db: Session
) -> None:
    seed(db)  # the station covers half the activity; the far cell holds the other half
    args = {"city": CITY, "target": "100"}
    html = client.get("/planner/", query_string=args).get_data(as_text=True)
    assert 'id="sites-title"' in html
    assert "已证明：新增站点更少的方案都达不到活动量的 100 %。" in html
    sites = json.loads(
        client.get("/planner/sites.geojson", query_string=args).get_data(as_text=True)
    )
    [site] = sites["features"]
    assert site["properties"]["covered_share"] == pytest.approx(1.0)
    assert site["geometry"]["coordinates"] == pytest.approx(list(centre(FAR)), abs=1e-6)
    # Already reached: no new station, said so.
    html = client.get("/planner/", query_string={"city": CITY, "target": "40"}).get_data(
        as_text=True
    )
    assert "现有站点已覆盖活动量的 40 %，无需新增站点。" in html
    # One question at a time.
    both = client.get("/planner/", query_string={"city": CITY, "target": "80", "p": "2"})
    assert both.status_code == 400
    result = runner.invoke(
        analyze, ["siting", "--city", CITY, "--window", "weekday-lunch", "--target", "100"]
    )
    assert result.exit_code == 0, result.output
    assert "Proven: no plan with fewer new stations reaches 100 % of activity." in result.output
    assert "50.0% -> 100.0%" in result.output


def test_minimum_share_per_district(
    client: FlaskClient, runner: FlaskCliRunner, db: Session
) -> None:
    seed(db)
    args = {"city": CITY, "p": "1", "min_share": "100"}
    sites = json.loads(
        client.get("/planner/sites.geojson", query_string=args).get_data(as_text=True)
    )
    [site] = sites["features"]
    assert site["geometry"]["coordinates"] == pytest.approx(list(centre(FAR)), abs=1e-6)
    alone = client.get("/planner/", query_string={"city": CITY, "min_share": "50"})
    assert alone.status_code == 400
    assert "每区最低覆盖率需与新增站点数或预算一起使用" in alone.get_data(as_text=True)
    result = runner.invoke(
        analyze, ["siting", "--city", CITY, "--p", "1", "--min-district-share", "100"]
    )
    assert result.exit_code == 0, result.output
    assert "every district reaches at least 100% of its activity" in result.output


def test_window_and_method_in_words(client: FlaskClient, db: Session) -> None:
    seed(db)
    html = client.get("/planner/", query_string={"city": CITY}).get_data(as_text=True)
    assert "覆盖情况 · 工作日午餐 11:00–13:30 · 直线距离" in html
    assert '<option value="night">每日夜间 22:00–05:00</option>' in html
    english = client.get(
        "/planner/", query_string={"city": CITY}, headers={"Accept-Language": "en"}
    ).get_data(as_text=True)
    assert "Weekday lunch 11:00–13:30 · straight line" in english
    custom = client.get("/planner/", query_string={"city": CITY, "window": "12:00-13:00"})
    assert "12:00-13:00" in custom.get_data(as_text=True)


def test_the_curve_speaks_the_page_language(app: Flask, client: FlaskClient, db: Session) -> None:
    seed(db)
    args = {"city": CITY, "p": "1"}
    chinese = client.get("/planner/curve.png", query_string=args)
    english = client.get("/planner/curve.png", query_string=args, headers={"Accept-Language": "en"})
    assert chinese.status_code == english.status_code == 200
    assert chinese.data.startswith(b"\x89PNG") and english.data.startswith(b"\x89PNG")
    assert chinese.data != english.data  # the labels differ, nothing else does
    from web.planner_curves import _font_families

    assert any("CJK" in name or "Fallback" in name for name in _font_families())
