"""Vector tiles of places from PostGIS ``ST_AsMVT``: one tile, or every tile of a zoom.

The tile-space position of a place is plain arithmetic on its lon/lat (Web
Mercator: ``x = (lon + 180) / 360``, ``y = (1 - asinh(tan(lat)) / pi) / 2``,
times ``2**z`` tiles times ``EXTENT`` units): no geometry is transformed per
row, which keeps a country-wide zoom-4 tile cheap.  Below
``POINTS_MIN_ZOOM`` places are grouped into cells of ``cell_units(z)`` tile
units; a cell of one place is that place, with its attributes.

Both functions use the same SQL, so a tile served live and the same tile in
a PMTiles archive are byte for byte equal.  Features are written in a fixed
order (count descending, then first id) for the same reason.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.opendata.tiles import (
    AMENITY_BITS,
    DRAWN_STATUSES,
    EXTENT,
    LAYER,
    cell_units,
    tile_lonlat_bounds,
)

# {tile} is the pair of expressions giving the tile column and row of a place;
# {where} restricts to one tile's box (or nothing, for a whole zoom).
_FEATURES = """
WITH pts AS (
    SELECT id, kind, tx, ty,
           ((ST_X(geom) + 180.0) / 360.0 * :side - tx) * {extent} AS px,
           ((1.0 - asinh(tan(radians(ST_Y(geom)))) / pi()) / 2.0 * :side - ty) * {extent} AS py
    FROM (
        SELECT id, kind, geom, {tile}
        FROM places
        WHERE status = ANY(CAST(:statuses AS text[])) {where}
    ) located
), cells AS (
    SELECT tx, ty, {cell} AS cx, {cell_y} AS cy, count(*)::int AS n, min(id) AS first_id,
           mode() WITHIN GROUP (ORDER BY kind) AS kind,
           round(avg(px))::int AS mx, round(avg(py))::int AS my
    FROM pts
    WHERE px >= 0 AND px < {extent} AND py >= 0 AND py < {extent}
    GROUP BY tx, ty, cx, cy
), feats AS (
    SELECT c.tx, c.ty, c.n, c.first_id,
           ROW(CASE WHEN c.n = 1 THEN c.first_id END,
               c.kind,
               CASE WHEN c.n = 1 THEN p.status END,
               CASE WHEN c.n = 1 THEN (p.opening_hours IS NOT DISTINCT FROM '24/7')::int END,
               CASE WHEN c.n = 1 THEN (
                   SELECT coalesce(bit_or(1 << (array_position(CAST(:bits AS text[]), a) - 1)), 0)
                   FROM unnest(p.amenities) AS a) END,
               c.n,
               ST_MakePoint(c.mx, c.my))::opendata_tile_feature AS f
    FROM cells c
    LEFT JOIN places p ON c.n = 1 AND p.id = c.first_id
)
SELECT tx, ty, ST_AsMVT(f, '{layer}', {extent}, 'geom', 'id' ORDER BY n DESC, first_id) AS mvt
FROM feats
GROUP BY tx, ty
ORDER BY tx, ty
"""


def _sql(*, z: int, one_tile: bool) -> str:
    cell = cell_units(z)
    if one_tile:
        tile = "CAST(:x AS int) AS tx, CAST(:y AS int) AS ty"
        where = "AND geom && ST_MakeEnvelope(:west, :south, :east, :north, 4326)"
    else:
        tile = (
            "floor((ST_X(geom) + 180.0) / 360.0 * :side)::int AS tx, "
            "floor((1.0 - asinh(tan(radians(ST_Y(geom)))) / pi()) / 2.0 * :side)::int AS ty"
        )
        where = ""
    return _FEATURES.format(
        tile=tile,
        where=where,
        extent=EXTENT,
        layer=LAYER,
        cell=f"floor(px / {cell})::int" if cell else "id",
        cell_y=f"floor(py / {cell})::int" if cell else "0",
    )


def _params(z: int) -> dict[str, object]:
    return {"side": float(2**z), "statuses": list(DRAWN_STATUSES), "bits": list(AMENITY_BITS)}


def place_tile(session: Session, z: int, x: int, y: int) -> bytes:
    """Return the MVT bytes of tile ``z/x/y`` (empty bytes when no place is in it).

    Parameters
    ----------
    z, x, y
        XYZ tile (Web Mercator, ``y`` from the north); checked by the caller
        with :func:`geo.opendata.tiles.check_tile`.
    """
    west, south, east, north = tile_lonlat_bounds(z, x, y)
    params = {
        **_params(z),
        "x": x,
        "y": y,
        "west": west,
        "south": south,
        "east": east,
        "north": north,
    }
    row = session.connection().execute(text(_sql(z=z, one_tile=True)), params).first()
    return bytes(row.mvt) if row is not None and row.mvt is not None else b""


def zoom_tiles(session: Session, z: int) -> Iterator[tuple[int, int, bytes]]:
    """Yield ``(x, y, mvt)`` for every non-empty tile of zoom ``z``, in one query."""
    # Options on this execute only: Connection.execution_options() would change
    # the connection itself, and later statements (savepoints) with it.
    result = session.connection().execute(
        text(_sql(z=z, one_tile=False)), _params(z), execution_options={"yield_per": 256}
    )
    for row in result:
        yield int(row.tx), int(row.ty), bytes(row.mvt)
