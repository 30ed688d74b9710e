"""Inspections: standards, plans, visits, removal proposals, events; the inspector role (issue 11).

Revision ID: 0008_inspections
Revises: 0001_places
Depends on: 0006_trust_moderators (the role CHECKs this widens; it depends on
0003_accounts for the roles and the append-only trigger function, and on
0004_trust)
Create Date: 2026-11-29

See :mod:`geo.db.inspections`.  ``inspection_events`` is append-only (no
UPDATE/DELETE/TRUNCATE for the app roles, and the ``yitu_append_only``
trigger for everyone).  ``accounts.users`` gains the ``inspector`` role,
scoped to districts like caseworkers and moderators.
"""

from __future__ import annotations

from alembic import op

revision = "0008_inspections"
down_revision = "0001_places"
branch_labels = None
depends_on = "0006_trust_moderators"

DDL = (
    """
    CREATE TABLE inspection_standards (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        code text NOT NULL,
        version integer NOT NULL,
        definition jsonb NOT NULL,
        is_default boolean NOT NULL DEFAULT false,
        unions text[] NOT NULL DEFAULT '{}',
        imported_at timestamptz NOT NULL DEFAULT now(),
        imported_by text NOT NULL,
        CONSTRAINT inspection_standard_version UNIQUE (code, version)
    )
    """,
    """
    CREATE TABLE inspection_plans (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        adcode text NOT NULL,
        month text NOT NULL,
        seed bigint NOT NULL,
        visits_requested integer NOT NULL,
        inspector_id integer,
        inspector text,
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by text NOT NULL,
        CONSTRAINT inspection_plan_adcode CHECK (adcode ~ '^[0-9]{6}$'),
        CONSTRAINT inspection_plan_month CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
        CONSTRAINT inspection_plan_visits CHECK (visits_requested BETWEEN 1 AND 500)
    )
    """,
    """
    CREATE TABLE inspection_visits (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        plan_id integer NOT NULL REFERENCES inspection_plans (id),
        place_id bigint NOT NULL REFERENCES places (id),
        stratum text NOT NULL,
        inspector_id integer,
        inspector text,
        status text NOT NULL DEFAULT 'planned',
        standard_id integer REFERENCES inspection_standards (id),
        visited_at timestamptz,
        recorded_at timestamptz,
        phone_lon double precision,
        phone_lat double precision,
        distance_m double precision,
        far boolean,
        outcomes jsonb NOT NULL DEFAULT '{}',
        notes jsonb NOT NULL DEFAULT '{}',
        score integer,
        card text,
        reasons text[] NOT NULL DEFAULT '{}',
        CONSTRAINT inspection_visit_status CHECK (status IN ('planned', 'done')),
        CONSTRAINT inspection_visit_stratum CHECK (stratum IN ('reported', 'stale', 'random')),
        CONSTRAINT inspection_visit_card CHECK (card IS NULL OR card IN ('yellow', 'red')),
        CONSTRAINT inspection_visit_score CHECK (score IS NULL OR score BETWEEN 0 AND 100),
        CONSTRAINT inspection_visit_done_complete CHECK (status = 'planned' OR (
            visited_at IS NOT NULL AND score IS NOT NULL AND standard_id IS NOT NULL))
    )
    """,
    "CREATE INDEX idx_inspection_visits_place ON inspection_visits (place_id, visited_at)",
    "CREATE INDEX idx_inspection_visits_inspector ON inspection_visits (inspector_id, status)",
    "CREATE INDEX idx_inspection_visits_plan ON inspection_visits (plan_id)",
    """
    CREATE TABLE inspection_removals (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        place_id bigint NOT NULL REFERENCES places (id),
        visit_id bigint NOT NULL REFERENCES inspection_visits (id),
        status text NOT NULL DEFAULT 'proposed',
        reason text NOT NULL,
        proposed_at timestamptz NOT NULL DEFAULT now(),
        decided_at timestamptz,
        decided_by text,
        note text,
        CONSTRAINT inspection_removal_status CHECK (
            status IN ('proposed', 'confirmed', 'rejected'))
    )
    """,
    "CREATE INDEX idx_inspection_removals_place ON inspection_removals (place_id)",
    """CREATE INDEX idx_inspection_removals_open ON inspection_removals (proposed_at)
       WHERE status = 'proposed'""",
    """
    CREATE TABLE inspection_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        actor_id integer,
        actor text NOT NULL,
        actor_role text,
        action text NOT NULL,
        place_id bigint,
        visit_id bigint,
        detail jsonb NOT NULL DEFAULT '{}',
        CONSTRAINT inspection_event_action CHECK (action IN ('import_standard', 'plan', 'visit',
            'card', 'propose_removal', 'confirm_removal', 'reject_removal'))
    )
    """,
    "CREATE INDEX idx_inspection_events_place ON inspection_events (place_id, id)",
    """CREATE TRIGGER inspection_events_append_only BEFORE UPDATE OR DELETE ON inspection_events
       FOR EACH ROW EXECUTE FUNCTION yitu_append_only()""",
    """CREATE TRIGGER inspection_events_no_truncate BEFORE TRUNCATE ON inspection_events
       FOR EACH STATEMENT EXECUTE FUNCTION yitu_append_only()""",
    # The inspector role, scoped to districts.
    "ALTER TABLE accounts.users DROP CONSTRAINT role_known",
    """ALTER TABLE accounts.users ADD CONSTRAINT role_known CHECK (role IN ('admin', 'planner',
       'caseworker', 'auditor', 'moderator', 'inspector'))""",
    "ALTER TABLE accounts.users DROP CONSTRAINT districts_only_for_caseworkers",
    """ALTER TABLE accounts.users ADD CONSTRAINT districts_only_for_caseworkers
       CHECK (role IN ('caseworker', 'moderator', 'inspector') OR cardinality(districts) = 0)""",
)

GRANTS = (
    "GRANT SELECT, INSERT, UPDATE ON inspection_standards, inspection_plans, inspection_visits, "
    "inspection_removals TO yitu_public, yitu_app",
    "GRANT SELECT, INSERT ON inspection_events TO yitu_public, yitu_app",
    "REVOKE UPDATE, DELETE, TRUNCATE ON inspection_events FROM yitu_public, yitu_app, PUBLIC",
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO yitu_public, yitu_app",
)


def upgrade() -> None:
    """Create the inspection tables, their grants, and allow the inspector role."""
    for statement in (*DDL, *GRANTS):
        op.execute(statement)


def downgrade() -> None:
    """Drop what this revision made (fails while an inspector account exists)."""
    op.execute("ALTER TABLE accounts.users DROP CONSTRAINT districts_only_for_caseworkers")
    op.execute("""ALTER TABLE accounts.users ADD CONSTRAINT districts_only_for_caseworkers
                  CHECK (role IN ('caseworker', 'moderator') OR cardinality(districts) = 0)""")
    op.execute("ALTER TABLE accounts.users DROP CONSTRAINT role_known")
    op.execute("""ALTER TABLE accounts.users ADD CONSTRAINT role_known
                  CHECK (role IN ('admin', 'planner', 'caseworker', 'auditor', 'moderator'))""")
    for table in (
        "inspection_events",
        "inspection_removals",
        "inspection_visits",
        "inspection_plans",
        "inspection_standards",
    ):
        op.execute(f"DROP TABLE {table}")
