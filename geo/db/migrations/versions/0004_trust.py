"""Workers' reports, confirmations, check-ins and moderation (issue 10).

Revision ID: 0004_trust
Revises: 0001_places
Depends on: 0003_accounts (the database roles and the append-only trigger function)
Create Date: 2026-11-29

Where each piece lives, and who may read it:

- ``public.trust_reports``: one row per report: place, type, amenity,
  severity, status, receipt, the daily client hash, flags saying whether the
  worker sent text, a photo or a proposed change, and what a moderator made
  public (``public_text``, ``public_reason``, ``photo_public``).
- ``trust_private.report_details`` and ``trust_private.report_photos``:
  the worker's free text, proposed hours and point, and the photo.  The
  public role ``yitu_public`` may only INSERT them: it cannot read a word a
  worker wrote, even through SQL injection.  ``yitu_app`` (moderators) reads.
- ``public.trust_photos``: copies of photos a moderator approved.
- ``public.trust_actions``: every moderator action (append-only).
- ``public.trust_confirmations``: one row per fact confirmed per client per day.
- ``public.trust_checkins``: visit counts per place, hour and purpose; nothing personal.
- ``public.trust_day_salts``: a random salt per day for the client hashes,
  deleted after two days.
"""

from __future__ import annotations

from alembic import op

revision = "0004_trust"
down_revision = "0001_places"
branch_labels = None
depends_on = "0003_accounts"

AMENITIES = (
    "water",
    "hot_water",
    "microwave",
    "charging",
    "toilet",
    "seating",
    "heating",
    "cooling",
    "shower",
    "first_aid",
    "wifi",
    "reading",
    "umbrella",
    "battery_swap",
    "women_room",
    "meals",
    "fridge",
    "repair",
    "legal_aid",
    "job_notices",
)
TYPES = (
    "closed_in_hours",
    "locked",
    "amenity_missing",
    "first_aid",
    "wrong_hours",
    "wrong_location",
    "gone",
    "other",
)
STATUSES = ("received", "confirmed", "fixed", "rejected", "duplicate")
ACTIONS = ("confirm", "reject", "fix", "merge", "publish_text", "publish_photo", "view_private")
PURPOSES = ("", "rest", "water", "toilet", "charging", "meal", "warmth", "cooling", "other")


def _list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


DDL = (
    f"""
    CREATE TABLE trust_reports (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        receipt text NOT NULL UNIQUE,
        place_id bigint NOT NULL REFERENCES places (id),
        type text NOT NULL,
        amenity text,
        severity smallint NOT NULL,
        status text NOT NULL DEFAULT 'received',
        duplicate_of bigint REFERENCES trust_reports (id),
        dedupe_key text NOT NULL,
        client_hash text NOT NULL,
        day date NOT NULL,
        has_text boolean NOT NULL DEFAULT false,
        has_photo boolean NOT NULL DEFAULT false,
        has_proposal boolean NOT NULL DEFAULT false,
        public_text text,
        photo_public boolean NOT NULL DEFAULT false,
        public_reason text,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        first_action_at timestamptz,
        resolved_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT trust_receipt_shape CHECK (receipt ~ '^[0-9A-HJKMNP-TV-Z]{{10}}$'),
        CONSTRAINT trust_type_known CHECK (type IN ({_list(TYPES)})),
        CONSTRAINT trust_amenity_known CHECK (amenity IS NULL OR amenity IN ({_list(AMENITIES)})),
        CONSTRAINT trust_amenity_only_when_missing
            CHECK ((type = 'amenity_missing') = (amenity IS NOT NULL)),
        CONSTRAINT trust_severity_range CHECK (severity BETWEEN 1 AND 4),
        CONSTRAINT trust_status_known CHECK (status IN ({_list(STATUSES)})),
        CONSTRAINT trust_duplicate_has_target
            CHECK ((status = 'duplicate') = (duplicate_of IS NOT NULL)),
        CONSTRAINT trust_client_hash_shape CHECK (client_hash ~ '^[0-9a-f]{{32}}$'),
        CONSTRAINT trust_public_text_length CHECK (char_length(public_text) <= 500),
        CONSTRAINT trust_reason_length CHECK (char_length(public_reason) <= 300),
        CONSTRAINT trust_reject_has_reason
            CHECK (status <> 'rejected' OR btrim(coalesce(public_reason, '')) <> ''),
        CONSTRAINT trust_one_report_per_client_day UNIQUE (place_id, dedupe_key, client_hash, day)
    )
    """,
    "CREATE INDEX idx_trust_reports_open ON trust_reports (place_id) "
    "WHERE status IN ('received', 'confirmed')",
    "CREATE INDEX idx_trust_reports_queue ON trust_reports (severity DESC, created_at) "
    "WHERE status = 'received'",
    "CREATE SCHEMA trust_private",
    """
    CREATE TABLE trust_private.report_details (
        report_id bigint PRIMARY KEY REFERENCES public.trust_reports (id),
        text text,
        proposed_hours text,
        proposed_geom geometry(POINT, 4326),
        CONSTRAINT detail_text_length CHECK (char_length(text) <= 500),
        CONSTRAINT detail_hours_length CHECK (char_length(proposed_hours) <= 200),
        CONSTRAINT detail_geom_valid CHECK (proposed_geom IS NULL OR (NOT ST_IsEmpty(proposed_geom)
            AND ST_X(proposed_geom) BETWEEN 73.0 AND 136.0
            AND ST_Y(proposed_geom) BETWEEN 3.0 AND 54.0))
    )
    """,
    """
    CREATE TABLE trust_private.report_photos (
        report_id bigint PRIMARY KEY REFERENCES public.trust_reports (id),
        data bytea NOT NULL,
        width integer NOT NULL,
        height integer NOT NULL,
        CONSTRAINT photo_is_jpeg CHECK (substring(data FROM 1 FOR 3) = '\\xffd8ff'::bytea),
        CONSTRAINT photo_size CHECK (octet_length(data) <= 5242880
            AND width BETWEEN 1 AND 4000 AND height BETWEEN 1 AND 4000)
    )
    """,
    """
    CREATE TABLE trust_photos (
        report_id bigint PRIMARY KEY REFERENCES trust_reports (id),
        data bytea NOT NULL,
        width integer NOT NULL,
        height integer NOT NULL,
        CONSTRAINT public_photo_is_jpeg CHECK (substring(data FROM 1 FOR 3) = '\\xffd8ff'::bytea)
    )
    """,
    f"""
    CREATE TABLE trust_actions (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        report_id bigint REFERENCES trust_reports (id),
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        actor_id integer,
        actor text NOT NULL,
        action text NOT NULL,
        public_reason text,
        detail jsonb NOT NULL DEFAULT '{{}}',
        CONSTRAINT trust_action_known CHECK (action IN ({_list(ACTIONS)})),
        CONSTRAINT trust_action_detail_object CHECK (jsonb_typeof(detail) = 'object')
    )
    """,
    "CREATE INDEX idx_trust_actions_report ON trust_actions (report_id, id)",
    """CREATE TRIGGER trust_actions_append_only BEFORE UPDATE OR DELETE ON trust_actions
       FOR EACH ROW EXECUTE FUNCTION yitu_append_only()""",
    """CREATE TRIGGER trust_actions_no_truncate BEFORE TRUNCATE ON trust_actions
       FOR EACH STATEMENT EXECUTE FUNCTION yitu_append_only()""",
    """
    CREATE TABLE trust_confirmations (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        place_id bigint NOT NULL REFERENCES places (id),
        fact text NOT NULL,
        client_hash text NOT NULL,
        day date NOT NULL,
        confirmed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT confirmation_fact_shape CHECK (fact ~ '^(place|hours|amenity:[a-z_]{1,30})$'),
        CONSTRAINT confirmation_client_hash_shape CHECK (client_hash ~ '^[0-9a-f]{32}$'),
        CONSTRAINT one_confirmation_per_client_day UNIQUE (place_id, fact, client_hash, day)
    )
    """,
    "CREATE INDEX idx_trust_confirmations_fact ON trust_confirmations "
    "(place_id, fact, confirmed_at DESC)",
    f"""
    CREATE TABLE trust_checkins (
        place_id bigint NOT NULL REFERENCES places (id),
        hour timestamptz NOT NULL,
        purpose text NOT NULL DEFAULT '',
        visits integer NOT NULL,
        PRIMARY KEY (place_id, hour, purpose),
        CONSTRAINT checkin_purpose_known CHECK (purpose IN ({_list(PURPOSES)})),
        CONSTRAINT checkin_visits_positive CHECK (visits >= 1),
        CONSTRAINT checkin_whole_hour CHECK (hour = date_trunc('hour', hour))
    )
    """,
    """
    CREATE TABLE trust_day_salts (
        day date PRIMARY KEY,
        salt bytea NOT NULL CHECK (octet_length(salt) = 32)
    )
    """,
)

GRANTS = (
    "REVOKE ALL ON SCHEMA trust_private FROM PUBLIC",
    "GRANT USAGE ON SCHEMA trust_private TO yitu_public, yitu_app",
    # The public app writes what a worker sends and can never read it back.
    "GRANT INSERT ON trust_private.report_details, trust_private.report_photos TO yitu_public",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON trust_private.report_details, "
    "trust_private.report_photos TO yitu_app",
    "GRANT SELECT, INSERT, UPDATE ON trust_reports, trust_photos, trust_confirmations, "
    "trust_checkins, trust_day_salts TO yitu_public, yitu_app",
    "GRANT DELETE ON trust_day_salts TO yitu_public, yitu_app",
    "GRANT SELECT, INSERT ON trust_actions TO yitu_public, yitu_app",
    "REVOKE UPDATE, DELETE, TRUNCATE ON trust_actions FROM yitu_public, yitu_app, PUBLIC",
    "REVOKE DELETE, TRUNCATE ON trust_reports, trust_confirmations, trust_checkins "
    "FROM yitu_public, yitu_app",
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO yitu_public, yitu_app",
)


def upgrade() -> None:
    """Create the trust tables, the private schema, the append-only trigger and grants."""
    for statement in (*DDL, *GRANTS):
        op.execute(statement)


def downgrade() -> None:
    """Drop what this revision made."""
    op.execute("DROP SCHEMA trust_private CASCADE")
    for table in (
        "trust_day_salts",
        "trust_checkins",
        "trust_confirmations",
        "trust_actions",
        "trust_photos",
        "trust_reports",
    ):
        op.execute(f"DROP TABLE {table}")
