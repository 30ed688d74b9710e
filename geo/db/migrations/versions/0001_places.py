"""Places: stations, reading nooks, breakfast points, driver homes.

Revision ID: 0001_places
Revises:
Create Date: 2026-11-21

The DDL is frozen here on purpose (a migration is a snapshot); the test
``tests/db/test_constraints.py::test_vocabularies_match_database`` fails when
``geo/places.py`` and the database's CHECK lists drift apart, which is the cue
to write a new migration.
"""

from __future__ import annotations

from alembic import op

revision = "0001_places"
down_revision = None
branch_labels = None
depends_on = None

PLACES_DDL = """
CREATE TABLE places (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    name_en TEXT,
    address TEXT,
    province TEXT,
    city TEXT,
    district TEXT,
    adcode TEXT,
    ledger_district TEXT,
    geom geometry(POINT,4326) NOT NULL,
    geog geography(POINT,4326) GENERATED ALWAYS AS (geom::geography) STORED NOT NULL,
    amenities TEXT[] DEFAULT '{}' NOT NULL,
    opening_hours TEXT,
    opening_hours_text TEXT,
    status TEXT DEFAULT 'active' NOT NULL,
    host_type TEXT,
    build_mode TEXT,
    capacity INTEGER,
    phone TEXT,
    managing_union TEXT,
    station_no TEXT,
    six_haves JSONB DEFAULT '{}' NOT NULL,
    source TEXT NOT NULL,
    external_id TEXT NOT NULL,
    source_crs TEXT NOT NULL,
    is_demo BOOLEAN DEFAULT false NOT NULL,
    last_verified DATE,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT places_natural_key UNIQUE (source, external_id),
    CONSTRAINT kind_known CHECK (kind IN ('station', 'reading_nook', 'breakfast_point', 'driver_home')),
    CONSTRAINT status_known CHECK (status IN ('active', 'suspended', 'closed', 'planned')),
    CONSTRAINT source_crs_known CHECK (source_crs IN ('wgs84', 'gcj02', 'bd09')),
    CONSTRAINT build_mode_known CHECK (build_mode IS NULL OR build_mode IN ('self_built', 'co_built')),
    CONSTRAINT host_type_known CHECK (host_type IS NULL OR host_type IN ('union', 'community',
        'government', 'bank', 'pharmacy', 'shop', 'restaurant', 'transport', 'petrol_station',
        'enterprise', 'sanitation', 'mobile', 'other')),
    CONSTRAINT amenities_known CHECK (amenities <@ ARRAY['water', 'hot_water', 'microwave',
        'charging', 'toilet', 'seating', 'heating', 'cooling', 'shower', 'first_aid', 'wifi',
        'reading', 'umbrella', 'battery_swap', 'women_room', 'meals', 'fridge', 'repair',
        'legal_aid', 'job_notices']::text[]),
    CONSTRAINT six_haves_known CHECK (jsonb_typeof(six_haves) = 'object' AND six_haves - ARRAY['sign',
        'layout', 'facilities', 'functions', 'management', 'on_map'] = '{}'::jsonb),
    CONSTRAINT name_not_blank CHECK (btrim(name) <> ''),
    CONSTRAINT external_id_not_blank CHECK (btrim(external_id) <> ''),
    CONSTRAINT adcode_six_digits CHECK (adcode IS NULL OR adcode ~ '^[0-9]{6}$'),
    CONSTRAINT capacity_not_negative CHECK (capacity IS NULL OR capacity >= 0),
    CONSTRAINT geom_valid CHECK (NOT ST_IsEmpty(geom) AND ST_IsValid(geom)),
    CONSTRAINT geom_in_china CHECK (ST_X(geom) BETWEEN 73.0 AND 136.0 AND ST_Y(geom) BETWEEN 3.0 AND 54.0)
)
"""

INDEXES = (
    "CREATE INDEX idx_places_geom ON places USING gist (geom)",
    "CREATE INDEX idx_places_geog ON places USING gist (geog)",
    "CREATE INDEX idx_places_kind_status ON places (kind, status)",
    "CREATE INDEX idx_places_amenities ON places USING gin (amenities)",
    "CREATE INDEX idx_places_updated_at ON places (updated_at)",
    "CREATE INDEX idx_places_name_trgm ON places USING gin (name gin_trgm_ops)",
    "CREATE INDEX idx_places_address_trgm ON places USING gin (address gin_trgm_ops)",
)


def upgrade() -> None:
    """Create the extensions, the places table and its indexes."""
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(PLACES_DDL)
    for statement in INDEXES:
        op.execute(statement)


def downgrade() -> None:
    """Drop the places table (extensions stay: other databases may share them)."""
    op.execute("DROP TABLE places")
