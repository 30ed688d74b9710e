"""Accounts, the hardship-household register, the audit log, place history; database roles.

Revision ID: 0003_accounts
Revises: 0001_places
Create Date: 2026-11-21

Schemas and who may use them (docs/security.md explains the design):

- ``accounts``: users and their server-side login sessions.
- ``households``: the register (personal fields only as AES-GCM ciphertext),
  visits, support, and the append-only ``audit_log``.
- ``public``: places (0001), plus ``place_history`` (append-only) and
  ``place_checklist`` from here.

Roles (cluster-wide, created once, idempotently, even when several test
databases migrate at the same moment):

- ``yitu_public``: what the public app connects as.  Reads and writes the
  ``public`` schema; no USAGE on ``accounts`` or ``households``, so it
  cannot read a household even through SQL injection.
- ``yitu_app``: what the protected pages connect as (caseworker, auditor,
  login).  Everything ``yitu_public`` has, plus the register and accounts;
  INSERT and SELECT only on the audit log and place history.

Both are LOGIN roles without a password: they can log in only where
``pg_hba.conf`` trusts the connection until an operator sets a password
(``ALTER ROLE yitu_public PASSWORD ...``).  Downgrading revokes this
database's grants but leaves the roles: other databases may use them.
"""

from __future__ import annotations

from alembic import op

revision = "0003_accounts"
down_revision = "0001_places"
branch_labels = None
depends_on = None

ROLES = ("yitu_public", "yitu_app")

CREATE_ROLES = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
        BEGIN
            CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            -- another database's migration created it a moment ago
            NULL;
        END;
    END IF;
END
$$
"""

ACCOUNTS_DDL = (
    "CREATE SCHEMA accounts",
    """
    CREATE TABLE accounts.users (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        username text NOT NULL UNIQUE,
        display_name text,
        password_hash text NOT NULL,
        role text NOT NULL,
        districts text[] NOT NULL DEFAULT '{}',
        is_active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_login_at timestamptz,
        CONSTRAINT role_known CHECK (role IN ('admin', 'planner', 'caseworker', 'auditor')),
        CONSTRAINT username_shape CHECK (username ~ '^[a-z0-9_.-]{3,40}$'),
        CONSTRAINT districts_are_adcodes
            CHECK (array_to_string(districts, ',') ~ '^([0-9]{6}(,[0-9]{6})*)?$'),
        CONSTRAINT districts_only_for_caseworkers
            CHECK (role = 'caseworker' OR cardinality(districts) = 0),
        CONSTRAINT password_is_argon2id CHECK (password_hash LIKE '$argon2id$%')
    )
    """,
    """
    CREATE TABLE accounts.sessions (
        token_hash bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
        user_id integer NOT NULL REFERENCES accounts.users (id),
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz
    )
    """,
    "CREATE INDEX idx_sessions_live ON accounts.sessions (user_id) WHERE revoked_at IS NULL",
)


def sealed(column: str, *, nullable: bool) -> str:
    """CHECK that a column holds a value in geo.register.crypto's format, never plain text.

    Version byte 1, then 8 + 12 header bytes and a 16-byte tag: at least 37 bytes.
    """
    test = f"(get_byte({column}, 0) = 1 AND octet_length({column}) >= 37)"
    return f"({column} IS NULL OR {test})" if nullable else test


HOUSEHOLDS_DDL = (
    "CREATE SCHEMA households",
    f"""
    CREATE TABLE households.households (
        id uuid PRIMARY KEY,
        source text NOT NULL,
        household_no text NOT NULL,
        name_ct bytea NOT NULL,
        id_number_ct bytea,
        phone_ct bytea,
        address_ct bytea,
        employer_ct bytea,
        name_bidx bytea NOT NULL,
        id_number_bidx bytea,
        phone_bidx bytea,
        personal_digest bytea NOT NULL,
        adcode text NOT NULL,
        district text,
        geom geometry(POINT, 4326),
        category text NOT NULL,
        members integer,
        registered_on date,
        status text NOT NULL DEFAULT 'active',
        is_synthetic boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT households_natural_key UNIQUE (source, household_no),
        CONSTRAINT household_no_not_blank CHECK (btrim(household_no) <> ''),
        CONSTRAINT household_adcode_six_digits CHECK (adcode ~ '^[0-9]{{6}}$'),
        CONSTRAINT household_category_known CHECK (category IN ('illness', 'disability',
            'unemployment', 'disaster', 'accident', 'education', 'low_income', 'other')),
        CONSTRAINT household_status_known CHECK (status IN ('active', 'closed')),
        CONSTRAINT household_members_range CHECK (members IS NULL OR members BETWEEN 1 AND 30),
        CONSTRAINT household_geom_valid CHECK (geom IS NULL OR (NOT ST_IsEmpty(geom)
            AND ST_IsValid(geom) AND ST_X(geom) BETWEEN 73.0 AND 136.0
            AND ST_Y(geom) BETWEEN 3.0 AND 54.0)),
        CONSTRAINT personal_fields_sealed CHECK (
            {sealed("name_ct", nullable=False)}
            AND {sealed("id_number_ct", nullable=True)}
            AND {sealed("phone_ct", nullable=True)}
            AND {sealed("address_ct", nullable=True)}
            AND {sealed("employer_ct", nullable=True)}),
        CONSTRAINT blind_indexes_are_hmacs CHECK (octet_length(name_bidx) = 32
            AND (id_number_bidx IS NULL OR octet_length(id_number_bidx) = 32)
            AND (phone_bidx IS NULL OR octet_length(phone_bidx) = 32))
    )
    """,
    "CREATE INDEX idx_households_name_bidx ON households.households (name_bidx)",
    "CREATE INDEX idx_households_id_number_bidx ON households.households (id_number_bidx)",
    "CREATE INDEX idx_households_phone_bidx ON households.households (phone_bidx)",
    "CREATE INDEX idx_households_adcode ON households.households (adcode, household_no)",
    "CREATE INDEX idx_households_geom ON households.households USING gist (geom)",
    f"""
    CREATE TABLE households.visits (
        id uuid PRIMARY KEY,
        household_id uuid NOT NULL REFERENCES households.households (id),
        visited_on date NOT NULL,
        caseworker text NOT NULL,
        notes_ct bytea,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT visit_notes_sealed CHECK ({sealed("notes_ct", nullable=True)})
    )
    """,
    "CREATE INDEX idx_visits_household ON households.visits (household_id)",
    f"""
    CREATE TABLE households.support (
        id uuid PRIMARY KEY,
        household_id uuid NOT NULL REFERENCES households.households (id),
        given_on date NOT NULL,
        kind text NOT NULL,
        amount_yuan numeric(12, 2) NOT NULL,
        caseworker text NOT NULL,
        notes_ct bytea,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT support_kind_known CHECK (kind IN ('warmth', 'living', 'medical',
            'education', 'employment', 'other')),
        CONSTRAINT support_amount_range CHECK (amount_yuan >= 0 AND amount_yuan < 1000000),
        CONSTRAINT support_notes_sealed CHECK ({sealed("notes_ct", nullable=True)})
    )
    """,
    "CREATE INDEX idx_support_household ON households.support (household_id)",
    """
    CREATE TABLE households.audit_log (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        actor_id integer,
        actor text NOT NULL,
        actor_role text,
        action text NOT NULL,
        household_id uuid,
        detail jsonb NOT NULL DEFAULT '{}',
        remote_addr text,
        CONSTRAINT action_known CHECK (action IN ('view', 'list', 'search', 'map', 'export',
            'decrypt', 'aggregate', 'create', 'update', 'import', 'visit', 'support',
            'login', 'login_failed', 'logout')),
        CONSTRAINT detail_is_object CHECK (jsonb_typeof(detail) = 'object')
    )
    """,
    "CREATE INDEX idx_audit_household ON households.audit_log (household_id, id)",
    "CREATE INDEX idx_audit_actor ON households.audit_log (actor, id)",
    "CREATE INDEX idx_audit_at ON households.audit_log (at)",
)

PLACE_DDL = (
    """
    CREATE TABLE place_history (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        place_id bigint NOT NULL REFERENCES places (id),
        changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        actor_id integer,
        actor text NOT NULL,
        action text NOT NULL,
        before jsonb NOT NULL DEFAULT '{}',
        after jsonb NOT NULL DEFAULT '{}',
        note text,
        CONSTRAINT place_history_action_known CHECK (action IN ('create', 'edit', 'suspend',
            'close', 'reopen', 'verify', 'checklist'))
    )
    """,
    "CREATE INDEX idx_place_history_place ON place_history (place_id, id)",
    """
    CREATE TABLE place_checklist (
        place_id bigint PRIMARY KEY REFERENCES places (id),
        notes jsonb NOT NULL DEFAULT '{}',
        updated_at timestamptz NOT NULL DEFAULT now(),
        updated_by text,
        CONSTRAINT checklist_notes_object CHECK (jsonb_typeof(notes) = 'object' AND
            notes - ARRAY['sign', 'layout', 'facilities', 'functions', 'management',
                          'on_map'] = '{}'::jsonb)
    )
    """,
)

# The trigger raises even for the table owner (who is not bound by GRANTs),
# so an UPDATE or DELETE of history needs a deliberate DROP TRIGGER first.
APPEND_ONLY = (
    """
    CREATE FUNCTION yitu_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '%.% is append-only: % refused', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    "REVOKE ALL ON FUNCTION yitu_append_only() FROM PUBLIC",
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON households.audit_log
       FOR EACH ROW EXECUTE FUNCTION yitu_append_only()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON households.audit_log
       FOR EACH STATEMENT EXECUTE FUNCTION yitu_append_only()""",
    """CREATE TRIGGER place_history_append_only BEFORE UPDATE OR DELETE ON place_history
       FOR EACH ROW EXECUTE FUNCTION yitu_append_only()""",
    """CREATE TRIGGER place_history_no_truncate BEFORE TRUNCATE ON place_history
       FOR EACH STATEMENT EXECUTE FUNCTION yitu_append_only()""",
)

GRANTS = (
    # New schemas grant nothing to PUBLIC; say so explicitly anyway.
    "REVOKE ALL ON SCHEMA accounts, households FROM PUBLIC",
    # public schema: both roles read and write the places side...
    "GRANT USAGE ON SCHEMA public TO yitu_public, yitu_app",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO yitu_public, yitu_app",
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO yitu_public, yitu_app",
    # ...including tables later migrations (other branches) create.
    """ALTER DEFAULT PRIVILEGES IN SCHEMA public
       GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO yitu_public, yitu_app""",
    """ALTER DEFAULT PRIVILEGES IN SCHEMA public
       GRANT USAGE, SELECT ON SEQUENCES TO yitu_public, yitu_app""",
    # PostGIS's reference table and Alembic's bookkeeping are not the app's to change.
    "REVOKE INSERT, UPDATE, DELETE ON spatial_ref_sys FROM yitu_public, yitu_app",
    "REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM yitu_public, yitu_app",
    # History is append-only for everyone but the owner (and the trigger stops the owner).
    "REVOKE UPDATE, DELETE, TRUNCATE ON place_history FROM yitu_public, yitu_app",
    # accounts and households: yitu_app only.
    "GRANT USAGE ON SCHEMA accounts, households TO yitu_app",
    "GRANT SELECT, INSERT, UPDATE ON accounts.users TO yitu_app",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON accounts.sessions TO yitu_app",
    "GRANT SELECT, INSERT, UPDATE ON households.households, households.visits, "
    "households.support TO yitu_app",
    "GRANT SELECT, INSERT ON households.audit_log TO yitu_app",
    "REVOKE UPDATE, DELETE, TRUNCATE ON households.audit_log FROM yitu_app, yitu_public, PUBLIC",
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA accounts, households TO yitu_app",
)


def upgrade() -> None:
    """Create the roles, schemas, tables, append-only triggers and grants."""
    for role in ROLES:
        op.execute(CREATE_ROLES.format(role=role))
    for statement in (*ACCOUNTS_DDL, *HOUSEHOLDS_DDL, *PLACE_DDL, *APPEND_ONLY, *GRANTS):
        op.execute(statement)


def downgrade() -> None:
    """Drop what this revision made and revoke its grants (the roles stay)."""
    op.execute("DROP TABLE place_checklist")
    op.execute("DROP TABLE place_history")
    op.execute("DROP SCHEMA households CASCADE")
    op.execute("DROP SCHEMA accounts CASCADE")
    op.execute("DROP FUNCTION yitu_append_only()")
    op.execute("""ALTER DEFAULT PRIVILEGES IN SCHEMA public
                  REVOKE ALL ON TABLES FROM yitu_public, yitu_app""")
    op.execute("""ALTER DEFAULT PRIVILEGES IN SCHEMA public
                  REVOKE ALL ON SEQUENCES FROM yitu_public, yitu_app""")
    op.execute("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM yitu_public, yitu_app")
    op.execute("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM yitu_public, yitu_app")
    op.execute("REVOKE ALL ON SCHEMA public FROM yitu_public, yitu_app")
