"""Which columns of an activity file hold longitude, latitude, time and rider id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from geo.errors import InvalidInput
from geo.places.ledger import normalize_header

FIELDS: tuple[str, ...] = ("lon", "lat", "time", "rider", "weight")


REQUIRED_FIELDS: tuple[str, ...] = ("lon", "lat", "time")


#: Names each field goes by, compared after :func:`geo.places.ledger.normalize_header`
#: folding (case, spaces, underscores and brackets ignored).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "lon": ("lon", "lng", "longitude", "long", "x", "经度", "gps_lng", "gps_lon", "gpslongitude"),
    "lat": ("lat", "latitude", "y", "纬度", "gps_lat", "gpslatitude"),
    "time": (
        "time",
        "timestamp",
        "datetime",
        "ts",
        "gps_time",
        "event_time",
        "pickup_time",
        "时间",
        "定位时间",
        "上报时间",
        "取件时间",
    ),
    "rider": (
        "rider_id",
        "rider",
        "courier_id",
        "courier",
        "driver_id",
        "worker_id",
        "user_id",
        "骑手id",
        "骑手",
        "快递员",
        "快递员id",
        "配送员",
    ),
    "weight": ("weight", "num", "count", "orders", "数量", "单量", "件数"),
}


# --------------------------------------------------------------------------- #
# Column mapping
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class PointColumns:
    """Columns that give one point per row: longitude, latitude and time.

    ``time`` may be None for an extra point set, in which case the main time
    column is used.
    """

    lon: str
    lat: str
    time: str | None = None


@dataclass(frozen=True)
class ColumnPlan:
    """Which file columns feed which fields."""

    points: tuple[PointColumns, ...]
    rider: str | None
    weight: str | None

    @property
    def needed(self) -> list[str]:
        """Return the file columns to read, each once, in a stable order."""
        names: list[str] = []
        for pc in self.points:
            names.extend(n for n in (pc.lon, pc.lat, pc.time) if n)
        names.extend(n for n in (self.rider, self.weight) if n)
        return list(dict.fromkeys(names))

    def describe(self) -> dict[str, str]:
        """Return ``{field: column}`` for the report (main point set only)."""
        main = self.points[0]
        out = {"lon": main.lon, "lat": main.lat, "time": main.time or ""}
        if self.rider:
            out["rider"] = self.rider
        if self.weight:
            out["weight"] = self.weight
        for number, pc in enumerate(self.points[1:], start=2):
            out[f"points#{number}"] = f"{pc.lon},{pc.lat},{pc.time or main.time}"
        return out


def plan_columns(
    headers: Sequence[str],
    *,
    mapping: Mapping[str, str] | None = None,
    extra_points: Sequence[PointColumns] = (),
) -> ColumnPlan:
    """Match file headers to the activity fields.

    Parameters
    ----------
    headers : sequence of str
        Column names as found in the file.
    mapping : mapping of str to str, optional
        ``{column: field}`` given by the user (``--map COLUMN=field``); it
        wins over the synonyms.
    extra_points : sequence of PointColumns
        Further positions per row that count as separate points.

    Raises
    ------
    InvalidInput
        A required field has no column, or a mapped/extra column is missing;
        the message lists the columns found and the names expected.
    """
    headers = [str(h) for h in headers]
    found = ", ".join(headers) if headers else "(none)"
    explicit = dict(mapping or {})
    chosen: dict[str, str] = {}
    for column, target in explicit.items():
        if target not in FIELDS:
            raise InvalidInput(
                f"--map {column}={target}: unknown field {target!r}; "
                f"fields are {', '.join(FIELDS)}",
                field=target,
            )
        if column not in headers:
            raise InvalidInput(
                f"--map {column}={target}: the file has no column {column!r}; its columns are: "
                f"{found}",
                field=target,
            )
        chosen[target] = column
    folded = {normalize_header(h): h for h in reversed(headers)}  # first header wins
    for target in FIELDS:
        if target in chosen:
            continue
        for name in (target, *SYNONYMS[target]):
            header = folded.get(normalize_header(name))
            if header is not None and header not in chosen.values():
                chosen[target] = header
                break
    missing = [f for f in REQUIRED_FIELDS if f not in chosen]
    if missing:
        expected = "; ".join(f"{f}: {', '.join((f, *SYNONYMS[f][:6]))}" for f in missing)
        raise InvalidInput(
            f"no column for {', '.join(missing)}. Columns found: {found}. Expected names "
            f"({expected}), or map a column with --map COLUMN={missing[0]}",
            field=missing[0],
        )
    for pc in extra_points:
        for column in (pc.lon, pc.lat, pc.time or ""):
            if column and column not in headers:
                raise InvalidInput(
                    f"extra points: the file has no column {column!r}; its columns are: {found}",
                    field="extra_points",
                )
    main = PointColumns(chosen["lon"], chosen["lat"], chosen["time"])
    return ColumnPlan(
        points=(main, *extra_points), rider=chosen.get("rider"), weight=chosen.get("weight")
    )


def parse_point_columns(text: str) -> PointColumns:
    """Parse ``LON,LAT[,TIME]`` column names (the ``--also-points`` option)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidInput(
            f"--also-points {text!r}: expected LONCOLUMN,LATCOLUMN[,TIMECOLUMN]",
            field="extra_points",
        )
    return PointColumns(parts[0], parts[1], parts[2] if len(parts) == 3 else None)
