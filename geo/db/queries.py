"""Place queries for the finder, the API and embeds: nearest, bbox, clusters, changes.

Every function takes a SQLAlchemy ``Session`` and returns plain dicts
(``PUBLIC_COLUMNS`` plus WGS-84 ``lon``/``lat`` degrees), never ORM objects:
the API serialises them straight to GeoJSON and the finder's pages read them
as mappings.  Geometries are built from bind parameters only
(``ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)``).

Why nearest is two steps
------------------------
``ORDER BY geom <-> pt`` on ``geometry(Point, 4326)`` ranks by *degrees*.
Near 34 deg N a degree of longitude is 92 km and a degree of latitude 111 km,
so it picks the wrong station whenever the nearest one lies more east-west
than the runner-up.  :func:`nearest_places` therefore

1. asks the GiST index on ``geog`` (``geography``) for candidates in
   ``geog <-> pt`` order -- index-assisted KNN in metres on the sphere;
2. ranks the candidates by ``ST_Distance(geog, pt)``, which measures on the
   WGS-84 ellipsoid (``use_spheroid`` defaults to true), and keeps ``k``.

The sphere and the ellipsoid disagree by well under 1 %, so a place outside
the candidate set can only belong in the answer when the k-th ellipsoidal
distance is within 1 % of the farthest candidate's sphere distance; the
function checks exactly that and widens the candidate set when needed, so
the result always equals a brute-force ellipsoidal ranking.

Why statements are cached
-------------------------
The nearest API must answer in a few milliseconds on a small machine.
Building a SQLAlchemy statement and its cache key costs more than PostgreSQL
takes to run the KNN query, so each statement is built once per *shape*
(which filters are present) with named bind parameters, kept in an
``lru_cache``, and executed on the session's connection with the values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY as PG_ARRAY
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from geo.db.models import PUBLIC_COLUMNS, Place
from geo.db.opendata import TOMBSTONES

__all__ = [
    "MARKER_COLUMNS",
    "PUBLIC_COLUMNS",
    "PlaceQuery",
    "changes_since",
    "cities",
    "cluster_places",
    "distinct_opening_hours",
    "get_place",
    "grid_cell_deg",
    "list_places",
    "nearest_places",
    "place_extent",
]

# What a map marker needs: enough for a popup and the nearest list.
MARKER_COLUMNS: tuple[str, ...] = (
    "id",
    "kind",
    "name",
    "name_en",
    "status",
    "address",
    "amenities",
    "opening_hours",
    "opening_hours_text",
    "is_demo",
)

# Sphere vs ellipsoid: the relative difference of the two distances stays
# under ~0.56 % anywhere on Earth (the flattening is 1/298); 1 % is a safe bound.
SPHERE_ERROR = 0.01
# Candidate set of the first KNN step: enough that one round trip is the norm.
MIN_CANDIDATES = 16
# Largest candidate set before falling back to a plain ellipsoidal scan.
MAX_CANDIDATES = 4096

TEXT_ARRAY = PG_ARRAY(Text)
SEARCHED = ("name", "name_en", "address", "district", "city")

# Which filters a PlaceQuery uses: kinds, amenities, statuses, q, open_hours
# (0 none, 1 "nothing is open", 2 a list), city.
Shape = tuple[bool, bool, bool, bool, int, bool]


@dataclass(frozen=True)
class PlaceQuery:
    """Filters shared by every place query; every field optional.

    Parameters
    ----------
    kinds
        Keep places of any of these kinds (``geo.places.KINDS``).
    amenities
        Keep places offering *all* of these amenities.
    statuses
        Keep places with any of these statuses; only ``active`` by default.
        Empty: any status.
    q
        Case-insensitive text searched in name, English name, address,
        district and city.
    open_hours
        Keep only places whose ``opening_hours`` value is one of these (the
        values open at the time asked for, see :func:`distinct_opening_hours`).
        None: no opening-hours filter.
    city
        Keep places of this city (as stored).
    """

    kinds: tuple[str, ...] = ()
    amenities: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ("active",)
    q: str | None = None
    open_hours: tuple[str, ...] | None = None
    city: str | None = None

    def shape(self) -> Shape:
        """Which filters are present (the cache key of the statements)."""
        hours = 0 if self.open_hours is None else (2 if self.open_hours else 1)
        return (
            bool(self.kinds),
            bool(self.amenities),
            bool(self.statuses),
            bool(self.q and self.q.strip()),
            hours,
            bool(self.city),
        )

    def params(self) -> dict[str, Any]:
        """Bind-parameter values of this filter."""
        out: dict[str, Any] = {}
        if self.kinds:
            out["f_kinds"] = list(self.kinds)
        if self.amenities:
            out["f_amenities"] = list(self.amenities)
        if self.statuses:
            out["f_statuses"] = list(self.statuses)
        if self.q and self.q.strip():
            out["f_q"] = "%" + _escape_like(self.q.strip()) + "%"
        if self.open_hours:
            out["f_hours"] = list(self.open_hours)
        if self.city:
            out["f_city"] = self.city
        return out


def _clauses(shape: Shape) -> list[ColumnElement[bool]]:
    """WHERE clauses of a filter shape, with named bind parameters (values later)."""
    kinds, amenities, statuses, q, hours, city = shape
    out: list[ColumnElement[bool]] = []
    if kinds:
        out.append(Place.kind == any_(bindparam("f_kinds", type_=TEXT_ARRAY)))
    if statuses:
        out.append(Place.status == any_(bindparam("f_statuses", type_=TEXT_ARRAY)))
    if amenities:
        # @> on the GIN index: the place has every amenity asked for.
        out.append(Place.amenities.op("@>")(bindparam("f_amenities", type_=TEXT_ARRAY)))
    if q:
        pattern = bindparam("f_q", type_=Text)
        table = Place.__table__
        out.append(or_(*(table.c[name].ilike(pattern, escape="\\") for name in SEARCHED)))
    if hours == 1:
        out.append(false())
    elif hours == 2:
        out.append(Place.opening_hours == any_(bindparam("f_hours", type_=TEXT_ARRAY)))
    if city:
        out.append(Place.city == bindparam("f_city", type_=Text))
    return out


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _point_geog() -> ColumnElement[Any]:
    point = func.ST_SetSRID(
        func.ST_MakePoint(bindparam("pt_lon", type_=Float), bindparam("pt_lat", type_=Float)),
        4326,
    )
    return cast(point, Geography("POINT", srid=4326))


def _columns(names: Sequence[str]) -> list[Any]:
    table = Place.__table__
    return [
        *(table.c[name] for name in names),
        func.ST_X(Place.geom).label("lon"),
        func.ST_Y(Place.geom).label("lat"),
    ]


def _rows(result: Iterable[Any]) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in result]


def _envelope() -> ColumnElement[Any]:
    return func.ST_MakeEnvelope(
        bindparam("min_lon", type_=Float),
        bindparam("min_lat", type_=Float),
        bindparam("max_lon", type_=Float),
        bindparam("max_lat", type_=Float),
        4326,
    )


def _bbox_params(bbox: tuple[float, float, float, float]) -> dict[str, float]:
    return dict(zip(("min_lon", "min_lat", "max_lon", "max_lat"), map(float, bbox), strict=True))


def _execute(session: Session, stmt: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    # The session's connection, not session.execute: these are Core
    # statements, and the ORM execution path would add work per request.
    return _rows(session.connection().execute(stmt, params))


@lru_cache(maxsize=256)
def _nearest_stmt(
    shape: Shape, with_radius: bool, columns: tuple[str, ...], ranked: bool
) -> Select[Any]:
    """KNN candidates by the index, ranked on the ellipsoid.

    ``ranked``: PostgreSQL also keeps the best ``:k`` and reports, per row,
    the farthest candidate's sphere distance and how many candidates there
    were, so only ``k`` full rows travel.  Otherwise every candidate comes
    back (a Python ``keep`` predicate needs to see them all).
    """
    pt = _point_geog()
    filters = _clauses(shape)
    if with_radius:
        filters.append(func.ST_DWithin(Place.geog, pt, bindparam("radius_m", type_=Float)))
    sphere = Place.geog.op("<->", return_type=Float)(pt)
    if ranked:
        candidates = (
            select(Place.id.label("cid"), sphere.label("sphere_m"), Place.geog.label("cgeog"))
            .where(*filters)
            .order_by(sphere)
            .limit(bindparam("n_candidates"))
            .cte("candidates")
        )
        c_distance = func.ST_Distance(candidates.c.cgeog, pt)
        best = (
            select(
                candidates.c.cid,
                c_distance.label("distance_m"),
                func.max(candidates.c.sphere_m).over().label("farthest_m"),
                func.count().over().label("got"),
            )
            .order_by(c_distance, candidates.c.cid)
            .limit(bindparam("k"))
            .cte("best")
        )
        return (
            select(*_columns(columns), best.c.distance_m, best.c.farthest_m, best.c.got)
            .join(best, best.c.cid == Place.id)
            .order_by(best.c.distance_m, Place.id)
        )
    candidates = (
        select(Place.id.label("cid"), sphere.label("sphere_m"))
        .where(*filters)
        .order_by(sphere)
        .limit(bindparam("n_candidates"))
        .cte("candidates")
    )
    distance = func.ST_Distance(Place.geog, pt)
    return (
        select(*_columns(columns), distance.label("distance_m"), candidates.c.sphere_m)
        .join(candidates, candidates.c.cid == Place.id)
        .order_by(distance, Place.id)
    )


@lru_cache(maxsize=256)
def _scan_stmt(shape: Shape, with_radius: bool, columns: tuple[str, ...]) -> Select[Any]:
    pt = _point_geog()
    filters = _clauses(shape)
    if with_radius:
        filters.append(func.ST_DWithin(Place.geog, pt, bindparam("radius_m", type_=Float)))
    distance = func.ST_Distance(Place.geog, pt)
    return (
        select(*_columns(columns), distance.label("distance_m"))
        .where(*filters)
        .order_by(distance, Place.id)
    )


def nearest_places(
    session: Session,
    lon: float,
    lat: float,
    *,
    k: int = 5,
    radius_m: float | None = None,
    where: PlaceQuery = PlaceQuery(),
    keep: Callable[[dict[str, Any]], bool] | None = None,
    columns: Sequence[str] = PUBLIC_COLUMNS,
) -> list[dict[str, Any]]:
    """Return the ``k`` places nearest to a point, ranked by metres on the ellipsoid.

    Parameters
    ----------
    session
        An open session.
    lon, lat
        The point, WGS-84 (EPSG:4326) degrees, already validated.
    k
        How many places to return (at most).
    radius_m
        Ignore places farther than this many metres (ellipsoidal), or None.
    where
        Filters (kind, amenities, status, text...).
    keep
        A Python predicate applied to candidate rows after SQL, e.g. "open
        now" evaluated by :mod:`geo.places.hours_open`; the candidate set widens until
        ``k`` rows pass it or the table is exhausted.
    columns
        Which ``PUBLIC_COLUMNS`` to return.

    Returns
    -------
    list of dict
        Up to ``k`` rows, nearest first (ties by id), each with ``columns``,
        ``lon``/``lat`` (WGS-84 degrees) and ``distance_m`` (metres on the
        WGS-84 ellipsoid).
    """
    if k <= 0:
        return []
    shape, cols = where.shape(), tuple(columns)
    params: dict[str, Any] = {**where.params(), "pt_lon": float(lon), "pt_lat": float(lat)}
    if radius_m is not None:
        params["radius_m"] = float(radius_m)
    stmt = _nearest_stmt(shape, radius_m is not None, cols, keep is None)
    wanted = max(k, MIN_CANDIDATES) if keep is None else max(4 * k, 4 * MIN_CANDIDATES)
    while True:
        rows = _execute(session, stmt, {**params, "n_candidates": wanted, "k": k})
        if keep is None:
            got = rows[0]["got"] if rows else 0
            farthest_sphere_m = rows[0]["farthest_m"] if rows else 0.0
            for row in rows:
                del row["got"], row["farthest_m"]
            found = rows
        else:
            got = len(rows)
            farthest_sphere_m = max((r["sphere_m"] for r in rows), default=0.0)
            for row in rows:
                del row["sphere_m"]
            found = [r for r in rows if keep(r)][:k]
        if got < wanted:  # every matching place was a candidate
            return found
        # Any place not fetched is at least farthest_sphere_m away on the
        # sphere, so at least (1 - SPHERE_ERROR) times that on the ellipsoid.
        bound_m = farthest_sphere_m * (1.0 - SPHERE_ERROR)
        if len(found) == k and found[-1]["distance_m"] <= bound_m:
            return found
        if wanted >= MAX_CANDIDATES:
            break
        wanted = min(wanted * 4, MAX_CANDIDATES)
    # Rare: a very selective ``keep`` (e.g. 3 a.m., almost nothing open).
    # Stream the filtered table in ellipsoidal order and stop at k.
    scan = _scan_stmt(shape, radius_m is not None, cols).execution_options(yield_per=512)
    found = []
    for scanned in session.connection().execute(scan, params):
        item = dict(scanned._mapping)
        if keep is None or keep(item):
            found.append(item)
            if len(found) == k:
                break
    return found


@lru_cache(maxsize=256)
def _list_stmt(
    shape: Shape, with_bbox: bool, with_after: bool, columns: tuple[str, ...]
) -> Select[Any]:
    stmt = select(*_columns(columns)).where(*_clauses(shape))
    if with_bbox:
        stmt = stmt.where(Place.geom.op("&&")(_envelope()))
    if with_after:
        stmt = stmt.where(Place.id > bindparam("after_id"))
    return stmt.order_by(Place.id).limit(bindparam("limit"))


def list_places(
    session: Session,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    where: PlaceQuery = PlaceQuery(),
    limit: int = 100,
    after_id: int | None = None,
    columns: Sequence[str] = PUBLIC_COLUMNS,
) -> list[dict[str, Any]]:
    """Return places inside a bounding box, by ascending id (keyset paging).

    Parameters
    ----------
    bbox
        ``(min_lon, min_lat, max_lon, max_lat)`` WGS-84 degrees, or None for
        everywhere.
    where
        Filters.
    limit
        Page size.
    after_id
        Return places with ``id`` greater than this (the last id of the
        previous page), or None for the first page.

    Returns
    -------
    list of dict
        Rows with ``columns`` and WGS-84 ``lon``/``lat`` degrees.
    """
    params: dict[str, Any] = {**where.params(), "limit": int(limit)}
    if bbox is not None:
        params.update(_bbox_params(bbox))
    if after_id is not None:
        params["after_id"] = int(after_id)
    stmt = _list_stmt(where.shape(), bbox is not None, after_id is not None, tuple(columns))
    return _execute(session, stmt, params)


@lru_cache(maxsize=64)
def _hours_stmt(shape: Shape, with_bbox: bool) -> Select[Any]:
    stmt = (
        select(Place.opening_hours)
        .where(*_clauses(shape), Place.opening_hours.is_not(None))
        .distinct()
    )
    if with_bbox:
        stmt = stmt.where(Place.geom.op("&&")(_envelope()))
    return stmt


def distinct_opening_hours(
    session: Session,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    where: PlaceQuery = PlaceQuery(),
) -> list[str]:
    """Return the distinct non-null ``opening_hours`` values of the matching places.

    There are few distinct values (a ledger writes the same hours for most
    of its stations), so "open at t" is evaluated once per value in Python
    (:mod:`geo.places.hours_open`) and handed back as ``PlaceQuery(open_hours=...)``:
    the listing stays one SQL query with exact paging.
    """
    params = {**where.params(), **(_bbox_params(bbox) if bbox is not None else {})}
    rows = _execute(session, _hours_stmt(where.shape(), bbox is not None), params)
    return [r["opening_hours"] for r in rows]


@lru_cache(maxsize=1)
def _place_stmt() -> Select[Any]:
    return select(*_columns(PUBLIC_COLUMNS)).where(Place.id == bindparam("place_id"))


def get_place(session: Session, place_id: int) -> dict[str, Any] | None:
    """Return one place by id (any status), or None."""
    rows = _execute(session, _place_stmt(), {"place_id": int(place_id)})
    return rows[0] if rows else None


def changes_since(
    session: Session,
    since: datetime,
    *,
    until: datetime | None = None,
    after: tuple[datetime, int] | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Return places changed after ``since`` (every status), oldest change first.

    Parameters
    ----------
    since
        Timezone-aware instant; rows with ``updated_at`` strictly later.
    until
        Ignore rows changed after this instant (the API keeps a safety lag
        behind the present so a long import transaction is not skipped).
    after
        Keyset cursor ``(updated_at, id)`` of the last row of the previous page.
    limit
        Page size.

    Returns
    -------
    list of dict
        ``PUBLIC_COLUMNS`` plus WGS-84 ``lon``/``lat`` degrees, ordered by
        ``(updated_at, id)``.  Closed and suspended places are included so a
        copy can drop them.  A place deleted outright comes back once as a
        tombstone: its id, kind and last point, status ``closed``, an empty
        name, ``updated_at`` the time of deletion and ``deleted`` True
        (only tombstones carry ``deleted``).
    """
    live = select(*_columns(PUBLIC_COLUMNS), false().label("deleted"))
    both = union_all(live, _tombstone_stmt()).subquery("changes")
    stmt = select(both).where(both.c.updated_at > bindparam("since"))
    params: dict[str, Any] = {"since": since, "limit": int(limit)}
    if until is not None:
        stmt = stmt.where(both.c.updated_at <= bindparam("until"))
        params["until"] = until
    if after is not None:
        stmt = stmt.where(
            tuple_(both.c.updated_at, both.c.id)
            > tuple_(bindparam("after_t"), bindparam("after_id"))
        )
        params.update(after_t=after[0], after_id=int(after[1]))
    stmt = stmt.order_by(both.c.updated_at, both.c.id).limit(bindparam("limit"))
    rows = _execute(session, stmt, params)
    for row in rows:
        if not row["deleted"]:
            del row["deleted"]
    return rows


def _tombstone_stmt() -> Select[Any]:
    """Tombstones shaped like ``_columns(PUBLIC_COLUMNS)`` rows (migration 0005_opendata)."""
    table = Place.__table__
    given: dict[str, Any] = {
        "id": TOMBSTONES.c.id,
        "kind": TOMBSTONES.c.kind,
        "name": literal("", Text),
        "status": literal("closed", Text),
        "amenities": cast(literal("{}"), TEXT_ARRAY),
        "six_haves": cast(literal("{}"), JSONB),
        "is_demo": false(),
        "updated_at": TOMBSTONES.c.deleted_at,
    }
    columns = [
        (given[name] if name in given else cast(null(), table.c[name].type)).label(name)
        for name in PUBLIC_COLUMNS
    ]
    return select(
        *columns,
        func.ST_X(TOMBSTONES.c.geom).label("lon"),
        func.ST_Y(TOMBSTONES.c.geom).label("lat"),
        true().label("deleted"),
    )


def grid_cell_deg(zoom: int, *, cell_px: int = 64, tile_px: int = 256) -> float:
    """Return the width in degrees of longitude of ``cell_px`` screen pixels at ``zoom``.

    Web Mercator shows ``360 / 2**zoom`` degrees of longitude per tile at
    every latitude.
    """
    return float(360.0 / (2**zoom) * cell_px / tile_px)


@lru_cache(maxsize=128)
def _cluster_stmt(shape: Shape, columns: tuple[str, ...]) -> Select[Any]:
    # Grid indices from plain arithmetic on the coordinates: the same cells as
    # ST_SnapToGrid with origin 0,0 but about twice as fast, as no geometry is
    # built per row.  Cells are aligned to the globe, not the view, so
    # clusters stay put while the map pans.
    cell_x = func.floor(func.ST_X(Place.geom) / bindparam("step_lon", type_=Float))
    cell_y = func.floor(func.ST_Y(Place.geom) / bindparam("step_lat", type_=Float))
    # One grid across kinds: clusters of different kinds never sit on top of
    # each other.  A cluster wears the colour of its most common kind.
    grouped = (
        select(
            func.mode().within_group(Place.kind).label("ckind"),
            func.count().label("count"),
            func.min(Place.id).label("first_id"),
            func.avg(func.ST_X(Place.geom)).label("clon"),
            func.avg(func.ST_Y(Place.geom)).label("clat"),
        )
        .where(*_clauses(shape), Place.geom.op("&&")(_envelope()))
        .group_by(cell_x, cell_y)
        .cte("cells")
    )
    table = Place.__table__
    single_cols = [table.c[name].label(name) for name in columns if name != "kind"]
    return (
        select(
            grouped.c.ckind.label("kind"),
            grouped.c.count,
            grouped.c.clon.label("lon"),
            grouped.c.clat.label("lat"),
            *single_cols,
        )
        .select_from(grouped)
        .outerjoin(Place, and_(grouped.c.count == 1, Place.id == grouped.c.first_id))
        .order_by(grouped.c.count.desc(), grouped.c.first_id)
    )


def cluster_places(
    session: Session,
    *,
    bbox: tuple[float, float, float, float],
    zoom: int,
    where: PlaceQuery = PlaceQuery(),
    cell_px: int = 64,
    columns: Sequence[str] = MARKER_COLUMNS,
) -> list[dict[str, Any]]:
    """Group the places in a bounding box into screen-sized grid cells, all kinds together.

    Server-side clustering keeps a whole-country view light: the browser gets
    at most one feature per cell of ``cell_px`` screen pixels instead of
    110,000 markers, and bubbles of different kinds never overlap.

    Parameters
    ----------
    bbox
        ``(min_lon, min_lat, max_lon, max_lat)`` WGS-84 degrees of the view.
    zoom
        Web Mercator zoom level of the view.
    where
        Filters.
    cell_px
        Cell size in screen pixels.  Cells are square on screen: the
        latitude step is the longitude step times cos(latitude) of the
        bbox centre (Mercator stretches north-south by 1/cos).
    columns
        Place columns returned for cells holding a single place.

    Returns
    -------
    list of dict
        One dict per non-empty cell: ``kind`` (the most common one), ``count``, ``lon``,
        ``lat`` (WGS-84 mean of the members) and, when ``count == 1``, the
        place's ``columns`` (``id`` is None for clusters).
    """
    step_lon = grid_cell_deg(zoom, cell_px=cell_px)
    mid_lat = (bbox[1] + bbox[3]) / 2.0
    params = {
        **where.params(),
        **_bbox_params(bbox),
        "step_lon": step_lon,
        "step_lat": step_lon * math.cos(math.radians(mid_lat)),
    }
    return _execute(session, _cluster_stmt(where.shape(), tuple(columns)), params)


def cities(session: Session, *, where: PlaceQuery = PlaceQuery()) -> list[tuple[str, int]]:
    """Return ``(city, number of places)`` for every city with matching places, largest first."""
    count = func.count()
    stmt = (
        select(Place.city, count.label("n"))
        .where(*_clauses(where.shape()), Place.city.is_not(None))
        .group_by(Place.city)
        .order_by(count.desc(), Place.city)
    )
    return [(str(r["city"]), int(r["n"])) for r in _execute(session, stmt, where.params())]


def place_extent(
    session: Session, *, where: PlaceQuery = PlaceQuery()
) -> tuple[float, float, float, float] | None:
    """Return ``(min_lon, min_lat, max_lon, max_lat)`` WGS-84 of the matching places, or None."""
    box = func.ST_Extent(Place.geom)
    stmt = select(
        func.ST_XMin(box).label("a"),
        func.ST_YMin(box).label("b"),
        func.ST_XMax(box).label("c"),
        func.ST_YMax(box).label("d"),
    ).where(*_clauses(where.shape()))
    row = _execute(session, stmt, where.params())[0]
    if row["a"] is None:
        return None
    return (float(row["a"]), float(row["b"]), float(row["c"]), float(row["d"]))
