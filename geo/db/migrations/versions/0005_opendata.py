"""Open data: tombstones of deleted places, and the row type of vector-tile features.

Revision ID: 0005_opendata
Revises: 0001_places
Create Date: 2026-11-29

- ``place_tombstones``: one row per place deleted outright (a trigger on
  ``places`` writes it: id, kind, last point, when), so the changes feed can
  tell a copy that a place is gone.  Place ids are ``GENERATED ALWAYS AS IDENTITY`` and never reused.
- ``opendata_tile_feature``: the attributes of one vector-tile feature, so
  that one query can build every tile of a zoom level (``ST_AsMVT`` over a
  typed row per tile, ``GROUP BY`` the tile).
"""

from __future__ import annotations

from alembic import op

revision = "0005_opendata"
down_revision = "0001_places"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE place_tombstones (
    id BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    geom geometry(Point, 4326) NOT NULL,
    deleted_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL
);
CREATE INDEX place_tombstones_deleted_at ON place_tombstones (deleted_at, id);

CREATE FUNCTION place_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO place_tombstones (id, kind, geom, deleted_at)
    VALUES (OLD.id, OLD.kind, OLD.geom, now())
    ON CONFLICT (id) DO UPDATE SET deleted_at = EXCLUDED.deleted_at;
    RETURN OLD;
END $$;

CREATE TRIGGER places_tombstone AFTER DELETE ON places
    FOR EACH ROW EXECUTE FUNCTION place_tombstone();

CREATE TYPE opendata_tile_feature AS (
    id BIGINT,
    kind TEXT,
    status TEXT,
    open24 INTEGER,
    amenities INTEGER,
    count INTEGER,
    geom geometry
);
"""

DOWNGRADE = """
DROP TYPE opendata_tile_feature;
DROP TRIGGER places_tombstone ON places;
DROP FUNCTION place_tombstone();
DROP TABLE place_tombstones;
"""


def upgrade() -> None:
    """Create the tombstones table, its trigger and the tile feature type."""
    op.execute(UPGRADE)


def downgrade() -> None:
    """Drop what :func:`upgrade` created."""
    op.execute(DOWNGRADE)
