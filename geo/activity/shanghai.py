"""Reader for the Shanghai 2016 (Cainiao) layout: pickups and deliveries joined to their orders."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from geo.activity.points import ActivityReport, Area, PointChunk, check_not_all_outside
from geo.activity.times import TimeOptions, hours_of_week
from geo.errors import InvalidInput, LedgerError
from geo.places.crs_points import points_to_wgs84

# --------------------------------------------------------------------------- #
# Shanghai 2016 orders (several files joined by ids)
# --------------------------------------------------------------------------- #

#: Working day of the 2016 Cainiao last-mile competition: parcels go out from
#: depots at 08:00 and must be delivered by 20:00.  Parcel orders carry no
#: time, so they are spread over these hours (see :func:`read_shanghai_orders`).
PARCEL_HOURS: tuple[int, int] = (8, 20)


SHANGHAI_FILES = ("new_1.csv", "new_2.csv", "new_3.csv", "new_4.csv", "new_5.csv")


def read_shanghai_orders(
    folder: str | Path,
    *,
    crs: str = "gcj02",
    times: TimeOptions | None = None,
    area: Area | None = None,
    include_parcels: bool = True,
    report: ActivityReport | None = None,
) -> PointChunk:
    """Read the Shanghai 2016 order files as weighted activity points.

    Takeaway orders (``new_5.csv``) give two points each: the pickup at the
    shop (``new_3.csv``) at ``Pickup_time`` and the drop-off at the delivery
    spot (``new_2.csv``) at ``Delivery_time``, both weighted by ``Num``.
    Parcel orders (``new_4.csv``) give one point at the delivery spot
    weighted by ``Num``; they carry no time, so each order is given an hour
    in 08:00-19:59 (:data:`PARCEL_HOURS`) by its id, spreading them evenly and
    reproducibly over the competition's working day.  The files have no
    dates, so all points fall on ``times.time_only_weekday`` (Monday by
    default), and no rider ids, so ``riders`` stays unknown.

    Parameters
    ----------
    folder : str or Path
        Folder with ``new_1.csv`` .. ``new_5.csv``.
    crs : str
        Coordinate system of the files; GCJ-02 is the likely one (undocumented
        by the source), so it is the default and reported.
    times, area, report
        As for :func:`read_activity`.
    include_parcels : bool
        Whether parcel deliveries count as rider activity.

    Raises
    ------
    LedgerError
        A file is missing or lacks its columns.
    InvalidInput
        Orders refer to unknown shop or spot ids.
    """
    folder = Path(folder)
    times = times or TimeOptions()
    area = area or Area()
    report = report if report is not None else ActivityReport(source=folder.name)
    report.kind, report.row_label, report.crs = "shanghai-orders", "line", crs
    frames = {}
    expected = {
        "new_2.csv": ("Spot_id", "Lng", "Lat"),
        "new_3.csv": ("Shop_id", "Lng", "Lat"),
        "new_4.csv": ("Order_id", "Spot_id", "Site_id", "Num"),
        "new_5.csv": ("Order_id", "Spot_id", "Shop_id", "Pickup_time", "Delivery_time", "Num"),
    }
    for name, columns in expected.items():
        path = folder / name
        if not path.is_file():
            raise LedgerError(
                f"{folder}: missing {name}; expected the files {', '.join(SHANGHAI_FILES)}"
            )
        frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
        frame.columns = [c.strip() for c in frame.columns]
        lacking = [c for c in columns if c not in frame.columns]
        if lacking:
            raise LedgerError(
                f"{name}: no column {', '.join(lacking)}; found {', '.join(frame.columns)}"
            )
        frames[name] = frame
    spots = frames["new_2.csv"].set_index("Spot_id")
    shops = frames["new_3.csv"].set_index("Shop_id")
    takeaway, parcels = frames["new_5.csv"], frames["new_4.csv"]
    report.rows_read = len(takeaway) + (len(parcels) if include_parcels else 0)
    report.columns = {
        "pickups": "new_5.Shop_id -> new_3 Lng/Lat @ Pickup_time",
        "drop-offs": "new_5.Spot_id -> new_2 Lng/Lat @ Delivery_time",
        "weight": "Num",
    }
    lines = np.arange(2, len(takeaway) + 2)

    def lookup(table: pd.DataFrame, ids: pd.Series, what: str, file: str) -> tuple[np.ndarray, ...]:
        found = ids.isin(table.index).to_numpy()
        if not found.all():
            position = int(np.flatnonzero(~found)[0])
            raise InvalidInput(
                f"{file} line {position + 2}: {what} {ids.iloc[position]!r} is not in the "
                f"{what} file",
                field=what,
            )
        rows = table.loc[ids]
        return (
            pd.to_numeric(rows["Lng"]).to_numpy(float),
            pd.to_numeric(rows["Lat"]).to_numpy(float),
        )

    weights = pd.to_numeric(takeaway["Num"], errors="raise").to_numpy(float)
    shop_lon, shop_lat = lookup(shops, takeaway["Shop_id"], "Shop_id", "new_5.csv")
    spot_lon, spot_lat = lookup(spots, takeaway["Spot_id"], "Spot_id", "new_5.csv")
    pick_how = hours_of_week(
        takeaway["Pickup_time"],
        options=times,
        column="Pickup_time",
        rows=lines,
        row_label="new_5.csv line",
    )
    drop_how = hours_of_week(
        takeaway["Delivery_time"],
        options=times,
        column="Delivery_time",
        rows=lines,
        row_label="new_5.csv line",
    )
    parts = [
        ("new_5.csv pickups", shop_lon, shop_lat, pick_how, weights, lines),
        ("new_5.csv drop-offs", spot_lon, spot_lat, drop_how, weights, lines),
    ]
    if include_parcels:
        p_lon, p_lat = lookup(spots, parcels["Spot_id"], "Spot_id", "new_4.csv")
        first, last = PARCEL_HOURS
        # A stable hash of the order id, not Python's randomised hash(), so a
        # re-import gives identical aggregates.
        spread = np.array(
            [
                int(hashlib.sha256(o.encode()).hexdigest()[:8], 16) % (last - first)
                for o in parcels["Order_id"]
            ],
            dtype=np.int16,
        )
        parts.append(
            (
                "new_4.csv parcels",
                p_lon,
                p_lat,
                (times.time_only_weekday * 24 + first + spread).astype(np.int16),
                pd.to_numeric(parcels["Num"], errors="raise").to_numpy(float),
                np.arange(2, len(parcels) + 2),
            )
        )
        report.notes.append(
            f"parcel orders have no time; spread over {first:02d}:00-{last:02d}:00 by order id"
        )
    day_names = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    report.notes.append(
        f"no dates in the files: all points placed on {day_names[times.time_only_weekday]}"
    )
    report.notes.append(f"coordinates read as {crs} (the source does not say; GCJ-02 is likely)")
    kept = []
    for label, lon, lat, how, weight, numbers in parts:
        lon, lat = points_to_wgs84(lon, lat, crs=crs)
        inside = area.contains(lon, lat)
        report.skip(f"{label} outside {area.name}", numbers[~inside])
        kept.append(
            PointChunk(
                lon=lon[inside],
                lat=lat[inside],
                hour_of_week=how[inside],
                weight=weight[inside],
                rider=None,
            )
        )
    chunk = PointChunk.concat(kept)
    report.points += len(chunk)
    report.weight += float(chunk.weight.sum())
    check_not_all_outside(report, area)
    return chunk
