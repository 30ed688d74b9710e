"""A moderator role for workers' reports, scoped to districts like caseworkers (issue 10).

Revision ID: 0006_trust_moderators
Revises: 0004_trust
Create Date: 2026-11-29

Widens two CHECK constraints of ``accounts.users`` (made by ``0003_accounts``):
the role list gains ``moderator``, and moderators, like caseworkers, carry
the adcodes of their districts.
"""

from __future__ import annotations

from alembic import op

revision = "0006_trust_moderators"
down_revision = "0004_trust"
branch_labels = None
depends_on = "0003_accounts"


def upgrade() -> None:
    """Allow the moderator role and its districts."""
    op.execute("ALTER TABLE accounts.users DROP CONSTRAINT role_known")
    op.execute("""ALTER TABLE accounts.users ADD CONSTRAINT role_known
                  CHECK (role IN ('admin', 'planner', 'caseworker', 'auditor', 'moderator'))""")
    op.execute("ALTER TABLE accounts.users DROP CONSTRAINT districts_only_for_caseworkers")
    op.execute("""ALTER TABLE accounts.users ADD CONSTRAINT districts_only_for_caseworkers
                  CHECK (role IN ('caseworker', 'moderator') OR cardinality(districts) = 0)""")


def downgrade() -> None:
    """Back to the four roles (fails while a moderator account exists)."""
    op.execute("ALTER TABLE accounts.users DROP CONSTRAINT districts_only_for_caseworkers")
    op.execute("""ALTER TABLE accounts.users ADD CONSTRAINT districts_only_for_caseworkers
                  CHECK (role = 'caseworker' OR cardinality(districts) = 0)""")
    op.execute("ALTER TABLE accounts.users DROP CONSTRAINT role_known")
    op.execute("""ALTER TABLE accounts.users ADD CONSTRAINT role_known
                  CHECK (role IN ('admin', 'planner', 'caseworker', 'auditor'))""")
