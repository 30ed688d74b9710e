"""Rider activity aggregates: datasets and H3 cell-hours.

Revision ID: 0002_activity
Revises: 0001_places
Create Date: 2026-11-21

Only aggregates are stored (see ``geo/db/activity.py``): per dataset, H3 cell
(BIGINT H3 index) and hour of week (0..167, Monday 00:00 Asia/Shanghai = 0),
with points, weight, distinct riders and the cell centre as
``geometry(Point, 4326)`` (GiST-indexed).  No raw point and no rider id, not
even hashed, ever reaches the database.
"""

from __future__ import annotations

from alembic import op

revision = "0002_activity"
down_revision = "0001_places"
branch_labels = None
depends_on = None

DATASETS_DDL = """
CREATE TABLE activity_datasets (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL,
    city TEXT NOT NULL,
    source_crs TEXT NOT NULL,
    resolution SMALLINT NOT NULL,
    is_demo BOOLEAN DEFAULT false NOT NULL,
    has_riders BOOLEAN DEFAULT false NOT NULL,
    points BIGINT DEFAULT 0 NOT NULL,
    weight DOUBLE PRECISION DEFAULT 0 NOT NULL,
    cells INTEGER DEFAULT 0 NOT NULL,
    source_name TEXT,
    report JSONB DEFAULT '{}' NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT activity_datasets_name_key UNIQUE (name),
    CONSTRAINT activity_name_not_blank CHECK (btrim(name) <> ''),
    CONSTRAINT activity_city_not_blank CHECK (btrim(city) <> ''),
    CONSTRAINT activity_resolution_h3 CHECK (resolution BETWEEN 0 AND 15),
    CONSTRAINT activity_totals_not_negative CHECK (points >= 0 AND weight >= 0)
)
"""

CELLS_DDL = """
CREATE TABLE activity_cells (
    dataset_id BIGINT NOT NULL REFERENCES activity_datasets (id) ON DELETE CASCADE,
    cell BIGINT NOT NULL,
    hour_of_week SMALLINT NOT NULL,
    city TEXT NOT NULL,
    points BIGINT NOT NULL,
    weight DOUBLE PRECISION NOT NULL,
    riders INTEGER,
    geom geometry(POINT,4326) NOT NULL,
    PRIMARY KEY (dataset_id, cell, hour_of_week),
    CONSTRAINT activity_hour_of_week CHECK (hour_of_week BETWEEN 0 AND 167),
    CONSTRAINT activity_counts_not_negative CHECK (points >= 0 AND weight >= 0
        AND (riders IS NULL OR riders >= 0)),
    CONSTRAINT activity_geom_valid CHECK (NOT ST_IsEmpty(geom) AND ST_IsValid(geom)),
    CONSTRAINT activity_geom_in_china CHECK (ST_X(geom) BETWEEN 73.0 AND 136.0
        AND ST_Y(geom) BETWEEN 3.0 AND 54.0)
)
"""

INDEXES = (
    "CREATE INDEX idx_activity_cells_geom ON activity_cells USING gist (geom)",
    "CREATE INDEX idx_activity_cells_city_hour ON activity_cells (city, hour_of_week)",
    "CREATE INDEX idx_activity_datasets_city ON activity_datasets (city)",
)


def upgrade() -> None:
    """Create the activity tables and their indexes."""
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute(DATASETS_DDL)
    op.execute(CELLS_DDL)
    for statement in INDEXES:
        op.execute(statement)


def downgrade() -> None:
    """Drop the activity tables."""
    op.execute("DROP TABLE activity_cells")
    op.execute("DROP TABLE activity_datasets")
