"""Activity aggregates in PostGIS: atomic replace, window and area queries, constraints."""

from __future__ import annotations

import h3
import pandas as pd
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from geo.db import activity
from geo.errors import InvalidInput
from tests.finder_fixtures import add_place

LON, LAT = 121.47, 31.23
CELL = h3.str_to_int(h3.latlng_to_cell(LAT, LON, 9))
FAR = h3.str_to_int(sorted(h3.grid_ring(h3.int_to_str(CELL), 6))[0])


def cells_frame(rows: list[tuple[int, int, int, float, int | None]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["cell", "hour_of_week", "points", "weight", "riders"])
    frame["riders"] = frame["riders"].astype("Int64")
    return frame


def store(
    db: Session,
    rows: list[tuple[int, int, int, float, int | None]],
    *,
    name: str = "pings",
    city: str = "上海市",
    resolution: int = 9,
) -> int:
    return activity.replace_dataset(
        db,
        cells_frame(rows),
        name=name,
        city=city,
        source_crs="gcj02",
        resolution=resolution,
        has_riders=True,
        source_name="pings.csv",
        report={"points": 1},
    )


def test_store_and_sum_over_a_window(db: Session) -> None:
    store(
        db,
        [
            (CELL, 11, 5, 5.0, 2),
            (CELL, 12, 3, 6.0, 1),
            (CELL, 20, 7, 7.0, 3),
            (FAR, 11, 1, 1.0, None),
        ],
    )
    cells, used = activity.load_cells(db, city="上海市", hours=[11, 12])
    assert [d["name"] for d in used] == ["pings"]
    by_cell = cells.set_index("cell")
    assert by_cell.loc[CELL, "points"] == 8 and by_cell.loc[CELL, "weight"] == 11.0
    assert by_cell.loc[CELL, "rider_hours"] == 3
    assert pd.isna(by_cell.loc[FAR, "rider_hours"])
    lat, lon = h3.cell_to_latlng(h3.int_to_str(CELL))
    assert by_cell.loc[CELL, "lon"] == pytest.approx(lon) and by_cell.loc[CELL, "lat"] == (
        pytest.approx(lat)
    )
    meta = activity.get_dataset(db, "pings")
    assert meta["cells"] == 2 and meta["points"] == 16 and meta["report"] == {"points": 1}


def test_reimport_replaces_the_dataset(db: Session) -> None:
    first = store(db, [(CELL, 11, 5, 5.0, 2)])
    second = store(db, [(CELL, 11, 1, 1.0, 1)])
    assert second != first
    cells, _ = activity.load_cells(db, datasets=["pings"])
    assert cells["points"].tolist() == [1]
    assert (
        db.execute(
            text("SELECT count(*) FROM activity_cells WHERE dataset_id = :i"), {"i": first}
        ).scalar()
        == 0
    )


def test_failed_import_keeps_the_previous_version(db: Session) -> None:
    store(db, [(CELL, 11, 5, 5.0, 2)])
    db.commit()
    # COPY runs on the driver connection, so psycopg's own error surfaces.
    with pytest.raises((IntegrityError, DBAPIError, psycopg.errors.IntegrityError)):
        store(db, [(CELL, 11, 1, 1.0, 1), (CELL, 400, 1, 1.0, 1)])  # hour 400 breaks a CHECK
    db.rollback()
    cells, _ = activity.load_cells(db, datasets=["pings"])
    assert cells["points"].tolist() == [5]


def test_area_filter_uses_the_cell_centres(db: Session) -> None:
    store(db, [(CELL, 11, 5, 5.0, 2), (FAR, 11, 1, 1.0, None)])
    lat, lon = h3.cell_to_latlng(h3.int_to_str(CELL))
    square = (
        f"POLYGON(({lon - 0.002} {lat - 0.002}, {lon + 0.002} {lat - 0.002}, "
        f"{lon + 0.002} {lat + 0.002}, {lon - 0.002} {lat + 0.002}, "
        f"{lon - 0.002} {lat - 0.002}))"
    )
    cells, _ = activity.load_cells(db, city="上海市", area_wkt=square)
    assert cells["cell"].tolist() == [CELL]


def test_unknown_dataset_city_and_mixed_resolutions(db: Session) -> None:
    with pytest.raises(InvalidInput, match="no rider activity stored for 杭州市"):
        activity.load_cells(db, city="杭州市")
    with pytest.raises(InvalidInput, match="no activity dataset named nope"):
        activity.load_cells(db, datasets=["nope"])
    store(db, [(CELL, 11, 5, 5.0, 2)], name="a")
    coarse = h3.str_to_int(h3.latlng_to_cell(LAT, LON, 8))
    store(db, [(coarse, 11, 5, 5.0, 2)], name="b", resolution=8)
    with pytest.raises(InvalidInput, match="different H3 resolutions"):
        activity.load_cells(db, city="上海市")


def test_constraints_hold_without_the_application(db: Session) -> None:
    dataset = store(db, [(CELL, 11, 5, 5.0, 2)])
    with pytest.raises(IntegrityError), db.begin_nested():
        db.execute(
            text(
                "INSERT INTO activity_cells VALUES (:d, 1, 3, 'x', -1, 1, NULL, "
                "ST_SetSRID(ST_MakePoint(121.4, 31.2), 4326))"
            ),
            {"d": dataset},
        )
    with pytest.raises(IntegrityError), db.begin_nested():
        db.execute(
            text(
                "INSERT INTO activity_cells VALUES (:d, 2, 3, 'x', 1, 1, NULL, "
                "ST_SetSRID(ST_MakePoint(2.35, 48.85), 4326))"
            ),
            {"d": dataset},
        )


def test_no_raw_points_or_rider_ids_in_the_schema(db: Session) -> None:
    columns = {
        row[0]
        for row in db.execute(
            text(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name IN ('activity_cells', 'activity_datasets')"
            )
        )
    }
    assert not {c for c in columns if "rider_id" in c or "courier" in c}
    assert "riders" in columns and "cell" in columns


def test_stations_for_coverage(db: Session) -> None:
    inside = add_place(db, LON, LAT, name="near", opening_hours="Mo-Fr 09:00-17:00")
    add_place(db, LON + 1, LAT, name="far")
    add_place(db, LON, LAT, name="closed", status="closed")
    frame = activity.load_stations(
        db, bbox=(LON - 0.1, LAT - 0.1, LON + 0.1, LAT + 0.1), kinds=("station",)
    )
    assert frame["id"].tolist() == [inside]
    assert frame["opening_hours"].tolist() == ["Mo-Fr 09:00-17:00"]
    assert list(frame["amenities"].iloc[0]) == ["water", "seating"]


def test_demo_activity_loads_once_with_if_empty(runner, yitu_cli, db: Session) -> None:
    first = runner.invoke(yitu_cli, ["demo", "activity", "--if-empty"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    [dataset] = activity.list_datasets(db)
    assert (
        dataset["name"] == "demo:xining-activity"
        and dataset["city"] == "西宁市"
        and dataset["is_demo"]
    )
    second = runner.invoke(yitu_cli, ["demo", "activity", "--if-empty"], catch_exceptions=False)
    assert second.exit_code == 0 and "not loaded" in second.output
    assert len(activity.list_datasets(db)) == 1
