"""What the app's database roles may do: the privileges that separate the register."""

from __future__ import annotations

from sqlalchemy import text

from geo.db.engine import make_engine

# Tables are looked up by OID from the catalog (readable by every role):
# has_table_privilege('households.x', ...) itself fails for a role that may not
# even use the schema, which is the answer we want to report, not an error.
PRIVILEGES_SQL = text("""
WITH t AS (
    SELECT n.nspname || '.' || c.relname AS name, c.oid
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE (n.nspname, c.relname) IN (('households', 'households'), ('households', 'audit_log'),
                                     ('accounts', 'users'))
)
SELECT current_user AS role,
       has_schema_privilege('households', 'USAGE') AS households_schema,
       has_table_privilege((SELECT oid FROM t WHERE name = 'households.households'), 'SELECT')
           AS read_households,
       has_table_privilege((SELECT oid FROM t WHERE name = 'households.audit_log'), 'UPDATE')
           AS update_audit,
       has_table_privilege((SELECT oid FROM t WHERE name = 'households.audit_log'), 'DELETE')
           AS delete_audit,
       has_table_privilege((SELECT oid FROM t WHERE name = 'accounts.users'), 'SELECT')
           AS read_accounts
""")


def role_privileges(url: str) -> dict[str, object]:
    """Connect to ``url`` once and return the role's register and audit privileges."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(PRIVILEGES_SQL).mappings().one())
    finally:
        engine.dispose()
