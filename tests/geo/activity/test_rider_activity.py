"""Rider activity: windows, times, columns, hashing, file formats and H3 aggregation."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import h3
import numpy as np
import pandas as pd
import pytest

from geo.activity.cells import aggregate_points, window_totals
from geo.activity.columns import PointColumns, plan_columns
from geo.activity.distributed import aggregate_activity_dask
from geo.activity.points import ActivityReport
from geo.activity.riders import hash_rider_ids
from geo.activity.shanghai import read_shanghai_orders
from geo.activity.table import read_activity
from geo.activity.times import TimeOptions, hours_of_week
from geo.activity.windows import parse_window
from geo.errors import InvalidInput, InvalidLocation, LedgerError

SALT = b"test-salt-0123456789abcdef"
# A Monday: 4 March 2024.
MONDAY = "2024-03-04"
# Xining centre (WGS-84), inside China.
LON, LAT = 101.778, 36.617


def write_csv(path: Path, rows: list[dict[str, object]], *, encoding: str = "utf-8") -> Path:
    pd.DataFrame(rows).to_csv(path, index=False, encoding=encoding)
    return path


def read_all(path: Path, **kw: object) -> tuple[pd.DataFrame, ActivityReport]:
    report = ActivityReport(source=path.name)
    options = {"crs": "wgs84", "salt": SALT, **kw}
    chunks = list(read_activity(path, report=report, **options))
    return aggregate_points(chunks), report


# --------------------------------------------------------------------------- windows


def test_named_windows_and_their_hours() -> None:
    lunch = parse_window("weekday-lunch")
    assert lunch.days == (0, 1, 2, 3, 4)
    assert (lunch.start, lunch.end) == (time(11, 0), time(13, 30))
    # 11:00-13:30 overlaps hours 11, 12 and 13 of each weekday.
    assert list(lunch.hours_of_week()[:3]) == [11, 12, 13]
    assert len(lunch.hours_of_week()) == 15
    assert parse_window("all").hours_of_week().tolist() == list(range(168))


def test_window_past_midnight_wraps_into_next_day_and_week() -> None:
    sunday_night = parse_window("22:00-05:00,Su")
    assert sunday_night.hours_of_week().tolist() == [0, 1, 2, 3, 4, 166, 167]
    assert sunday_night.day_ranges() == [(6, 22 * 60, 24 * 60), (0, 0, 5 * 60)]


@pytest.mark.parametrize(
    "text", ["lunchtime", "11:00", "25:00-26:00", "11:00-11:00", "11:00-13:00,Funday"]
)
def test_bad_windows_are_refused_with_the_expected_forms(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_window(text)
    assert err.value.field == "window"


def test_custom_window_with_days() -> None:
    early = parse_window("05:00-08:00,Mo-Sa")
    assert early.days == (0, 1, 2, 3, 4, 5)
    assert early.describe() == "Mo,Tu,We,Th,Fr,Sa 05:00-08:00"


# --------------------------------------------------------------------------- times


def test_hours_of_week_from_the_accepted_forms() -> None:
    opts = TimeOptions(year=2024, time_only_weekday=2)
    cases = {
        f"{MONDAY} 08:30:00": 8,  # naive = Asia/Shanghai local
        f"{MONDAY}T00:30:00+00:00": 8,  # UTC 00:30 = 08:30 in Shanghai
        "2024/03/05 13:05": 24 + 13,  # Tuesday, slash layout
        "03-10 23:59:00": 6 * 24 + 23,  # LaDe layout, Sunday 10 March 2024
        "07:15": 2 * 24 + 7,  # time only: on the given weekday
    }
    for text, expected in cases.items():
        got = hours_of_week(pd.Series([text], dtype=object), options=opts)
        assert got.tolist() == [expected], text
    epoch = pd.Series([1709512200, 1709512200000])  # 2024-03-04 00:30 UTC, s and ms
    assert hours_of_week(epoch, options=opts).tolist() == [8, 8]


def test_blank_times_are_minus_one_and_garbage_names_the_row() -> None:
    opts = TimeOptions()
    values = pd.Series([f"{MONDAY} 08:00", "", None], dtype=object)
    assert hours_of_week(values, options=opts).tolist() == [8, -1, -1]
    with pytest.raises(InvalidInput) as err:
        hours_of_week(
            pd.Series([f"{MONDAY} 08:00", "soon"], dtype=object),
            options=opts,
            column="t",
            rows=np.array([2, 3]),
            row_label="line",
        )
    assert "line 3" in str(err.value) and "'t'" in str(err.value)


def test_year_less_times_need_a_year() -> None:
    with pytest.raises(InvalidInput) as err:
        hours_of_week(pd.Series(["05-01 07:59:00"]), options=TimeOptions())
    assert "--year" in str(err.value)
    assert err.value.field == "year"


# --------------------------------------------------------------------------- columns


def test_columns_found_by_synonyms_in_both_languages() -> None:
    plan = plan_columns(["经度", "纬度", "定位时间", "骑手ID", "单量"])
    assert plan.points[0] == PointColumns("经度", "纬度", "定位时间")
    assert (plan.rider, plan.weight) == ("骑手ID", "单量")


def test_unknown_columns_list_what_was_found_and_expected() -> None:
    with pytest.raises(InvalidInput) as err:
        plan_columns(["a", "b", "when"])
    message = str(err.value)
    assert "Columns found: a, b, when" in message
    assert "lon" in message and "lng" in message and "--map" in message


def test_explicit_mapping_wins_and_is_checked() -> None:
    plan = plan_columns(["x1", "y1", "t", "lon"], mapping={"x1": "lon", "y1": "lat", "t": "time"})
    assert plan.points[0] == PointColumns("x1", "y1", "t")
    with pytest.raises(InvalidInput, match="no column 'nope'"):
        plan_columns(["lon", "lat", "t"], mapping={"nope": "time"})
    with pytest.raises(InvalidInput, match="unknown field"):
        plan_columns(["lon", "lat", "t"], mapping={"t": "when"})


# --------------------------------------------------------------------------- rider ids


def test_rider_hashes_are_keyed_stable_and_format_blind() -> None:
    hashed = hash_rider_ids(
        pd.Series([317, 317.0, "317", " 317 ", None, "", "9"], dtype=object), salt=SALT
    )
    assert len(set(hashed[:4].tolist())) == 1
    assert hashed[4] == hashed[5] == 0
    assert hashed[6] not in (0, hashed[0])
    other = hash_rider_ids(pd.Series(["317"]), salt=SALT + b"x")
    assert other[0] != hashed[0]


def test_short_salt_is_refused() -> None:
    with pytest.raises(InvalidInput, match="salt"):
        hash_rider_ids(["a"], salt=b"short")


# --------------------------------------------------------------------------- files


def test_csv_aggregates_points_and_distinct_riders(tmp_path: Path) -> None:
    cell = h3.latlng_to_cell(LAT, LON, 9)
    rows = [
        {"lon": LON, "lat": LAT, "time": f"{MONDAY} 11:05", "rider_id": "r1"},
        {"lon": LON, "lat": LAT, "time": f"{MONDAY} 11:35", "rider_id": "r1"},
        {"lon": LON, "lat": LAT, "time": f"{MONDAY} 11:50", "rider_id": "r2"},
        {"lon": LON, "lat": LAT, "time": f"{MONDAY} 12:10", "rider_id": "r1"},
    ]
    cells, report = read_all(write_csv(tmp_path / "pings.csv", rows))
    assert report.points == 4 and report.has_riders
    assert cells["cell"].nunique() == 1
    assert h3.int_to_str(int(cells["cell"].iloc[0])) == cell
    by_hour = cells.set_index("hour_of_week")
    assert by_hour.loc[11, "points"] == 3 and by_hour.loc[11, "riders"] == 2
    assert by_hour.loc[12, "points"] == 1 and by_hour.loc[12, "riders"] == 1
    totals = window_totals(cells, window=parse_window("weekday-lunch"))
    assert totals["points"].tolist() == [4]
    assert totals["rider_hours"].tolist() == [3]  # r1 in two hours counts twice


def test_chunk_size_does_not_change_the_result(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 2000
    rows = pd.DataFrame(
        {
            "lng": LON + rng.normal(0, 0.01, n),
            "lat": LAT + rng.normal(0, 0.01, n),
            "time": pd.Timestamp(MONDAY)
            + pd.to_timedelta(rng.integers(0, 7 * 24 * 60, n), unit="min"),
            "courier_id": rng.integers(0, 30, n),
        }
    )
    path = tmp_path / "many.csv"
    rows.to_csv(path, index=False)
    small, _ = read_all(path, chunk_rows=1000)
    big, _ = read_all(path, chunk_rows=1_000_000)
    pd.testing.assert_frame_equal(small, big)
    assert int(small["points"].sum()) == n


def test_gb18030_csv_with_chinese_headers(tmp_path: Path) -> None:
    rows = [{"经度": LON, "纬度": LAT, "时间": f"{MONDAY} 08:00", "骑手": "张三"}]
    cells, report = read_all(write_csv(tmp_path / "gbk.csv", rows, encoding="gb18030"))
    assert report.columns["rider"] == "骑手"
    assert int(cells["points"].sum()) == 1


def test_blank_coordinates_are_skipped_and_counted(tmp_path: Path) -> None:
    rows = [
        {"lon": LON, "lat": LAT, "time": f"{MONDAY} 08:00"},
        {"lon": None, "lat": None, "time": f"{MONDAY} 08:00"},
        {"lon": LON, "lat": LAT, "time": None},
    ]
    _, report = read_all(write_csv(tmp_path / "gaps.csv", rows))
    assert report.points == 1
    assert report.skipped == {"blank coordinates": 1, "blank time": 1}
    assert report.examples["blank coordinates"] == [3]  # CSV line numbers (header = 1)


def test_text_in_a_coordinate_names_line_and_column(tmp_path: Path) -> None:
    rows = [
        {"lon": LON, "lat": LAT, "time": f"{MONDAY} 08:00"},
        {"lon": "east", "lat": LAT, "time": f"{MONDAY} 08:00"},
    ]
    with pytest.raises(InvalidInput) as err:
        read_all(write_csv(tmp_path / "bad.csv", rows))
    assert "line 3" in str(err.value) and "'lon'" in str(err.value)


def test_swapped_coordinates_get_a_hint(tmp_path: Path) -> None:
    rows = [{"lon": LAT, "lat": LON, "time": f"{MONDAY} 08:00"}]
    with pytest.raises(InvalidLocation, match="swapped"):
        read_all(write_csv(tmp_path / "swap.csv", rows))


def test_all_points_outside_the_area(tmp_path: Path) -> None:
    rows = [{"lon": 2.35, "lat": 48.85, "time": f"{MONDAY} 08:00"}] * 3  # Paris
    with pytest.raises(InvalidInput, match="all 3 points fall outside China"):
        read_all(write_csv(tmp_path / "paris.csv", rows))


def test_empty_file_and_header_only_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(LedgerError, match="empty"):
        read_all(empty)
    header = tmp_path / "header.csv"
    header.write_text("lon,lat,time\n")
    with pytest.raises(LedgerError, match="no data rows"):
        read_all(header)


def test_unknown_file_type(tmp_path: Path) -> None:
    path = tmp_path / "points.kml"
    path.write_text("<kml/>")
    with pytest.raises(LedgerError, match="unknown file type"):
        read_all(path)


def test_gcj02_points_are_converted(tmp_path: Path) -> None:
    from geo.places.crs import from_wgs84

    g_lon, g_lat = from_wgs84(LON, LAT, crs="gcj02")
    rows = [{"lon": g_lon, "lat": g_lat, "time": f"{MONDAY} 08:00"}]
    cells, _ = read_all(write_csv(tmp_path / "gcj.csv", rows), crs="gcj02")
    assert int(cells["cell"].iloc[0]) == h3.str_to_int(h3.latlng_to_cell(LAT, LON, 9))


def test_parquet_and_geoparquet_match_csv(tmp_path: Path) -> None:
    import geopandas as gpd

    rng = np.random.default_rng(5)
    n = 300
    frame = pd.DataFrame(
        {
            "lon": LON + rng.normal(0, 0.01, n),
            "lat": LAT + rng.normal(0, 0.01, n),
            "time": [f"{MONDAY} {h:02d}:10" for h in rng.integers(0, 24, n)],
            "rider_id": [f"r{i}" for i in rng.integers(0, 9, n)],
        }
    )
    csv_cells, _ = read_all(write_csv(tmp_path / "p.csv", frame.to_dict("records")))
    frame.to_parquet(tmp_path / "p.parquet")
    pq_cells, _ = read_all(tmp_path / "p.parquet")
    pd.testing.assert_frame_equal(csv_cells, pq_cells)
    geo = gpd.GeoDataFrame(
        frame.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
        crs=4326,
    )
    geo.to_parquet(tmp_path / "p.geoparquet")
    report = ActivityReport(source="geo")
    gpq_cells = aggregate_points(
        read_activity(tmp_path / "p.geoparquet", crs=None, salt=SALT, report=report)
    )
    assert report.crs == "EPSG:4326"
    pd.testing.assert_frame_equal(csv_cells, gpq_cells)


def test_extra_point_sets_count_separately_and_skip_blanks(tmp_path: Path) -> None:
    rows = [
        {
            "lng": LON,
            "lat": LAT,
            "pickup_time": f"{MONDAY} 09:00",
            "acc_lng": LON + 0.01,
            "acc_lat": LAT,
            "accept_time": f"{MONDAY} 08:00",
        },
        {
            "lng": LON,
            "lat": LAT,
            "pickup_time": f"{MONDAY} 09:00",
            "acc_lng": None,
            "acc_lat": None,
            "accept_time": None,
        },
    ]
    extra = PointColumns("acc_lng", "acc_lat", "accept_time")
    cells, report = read_all(write_csv(tmp_path / "two.csv", rows), extra_points=[extra])
    assert report.points == 3
    assert report.skipped == {"points#2: blank coordinates": 1}
    assert sorted(cells["hour_of_week"].unique().tolist()) == [8, 9]


# --------------------------------------------------------------------------- real data


def test_lade_workbook(shared_data: Path) -> None:
    path = shared_data / "lade-pickups" / "pickups.xlsx"
    with pytest.raises(InvalidInput, match="--year"):
        read_all(path, crs="gcj02")
    cells, report = read_all(path, crs="gcj02", times=TimeOptions(year=2022))
    assert report.rows_read == 3911
    assert report.columns["lon"] == "lng" and report.columns["time"] == "pickup_time"
    assert report.columns["rider"] == "courier_id" and report.has_riders
    assert int(cells["points"].sum()) == report.points == 3911
    # Distinct riders per cell-hour never exceed points.
    assert (cells["riders"] <= cells["points"]).all()


def test_shanghai_orders_join(shared_data: Path) -> None:
    folder = shared_data / "shanghai-orders-2016"
    report = ActivityReport(source="sh")
    points = read_shanghai_orders(folder, report=report)
    new4 = pd.read_csv(folder / "new_4.csv")
    new5 = pd.read_csv(folder / "new_5.csv")
    assert len(points) == 2 * len(new5) + len(new4)
    assert points.weight.sum() == pytest.approx(2 * new5["Num"].sum() + new4["Num"].sum())
    assert points.rider is None
    # No dates in the files: every point on Monday, parcels within 08:00-19:59.
    assert points.hour_of_week.min() >= 0 and points.hour_of_week.max() < 24
    parcels = points.hour_of_week[-len(new4) :]
    assert parcels.min() >= 8 and parcels.max() <= 19
    # A pickup at a shop lands where the (GCJ-02) shop is once converted to WGS-84.
    assert points.lon.min() > 120.8 and points.lon.max() < 122.2
    from geo.places.crs import to_wgs84

    shops = pd.read_csv(folder / "new_3.csv").set_index("Shop_id")
    shop = shops.loc[new5["Shop_id"].iloc[0]]
    written = (float(shop["Lng"]), float(shop["Lat"]))
    first_pickup = (float(points.lon[0]), float(points.lat[0]))
    assert first_pickup == pytest.approx(to_wgs84(*written, crs="gcj02"), abs=1e-6)
    assert first_pickup != pytest.approx(written, abs=1e-3)  # really moved (~500 m)


# --------------------------------------------------------------------------- Dask


def test_dask_cluster_gives_the_single_machine_result(tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    rng = np.random.default_rng(11)
    n = 5000
    frame = pd.DataFrame(
        {
            "lon": LON + rng.normal(0, 0.02, n),
            "lat": LAT + rng.normal(0, 0.02, n),
            "time": [f"{MONDAY} {h:02d}:30" for h in rng.integers(0, 24, n)],
            "rider_id": rng.integers(0, 50, n).astype(str),
        }
    )
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    single, single_report = read_all(path, chunk_rows=1500)
    with (
        LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        spread, report = aggregate_activity_dask(
            path, scheduler=client, crs="wgs84", salt=SALT, blocksize="40kB"
        )
    partitions = int(report.notes[-1].split(" in ")[1].split()[0])
    assert partitions > 1  # the file really was split across workers
    assert report.points == single_report.points == n
    pd.testing.assert_frame_equal(single, spread)
