"""What the app's database roles may do: the privileges that separate the register."""

from __future__ import annotations

from collections.abc import Mapping

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


#: The application roles the migrations create, and the variable holding each one's password.
ROLE_PASSWORD_ENV: dict[str, str] = {
    "yitu_public": "YITU_PUBLIC_DB_PASSWORD",
    "yitu_app": "YITU_APP_DB_PASSWORD",
}


def set_role_passwords(url: str, passwords: Mapping[str, str | None]) -> list[str]:
    """Set the login password of each application role given (owner or superuser URL).

    The statement is built server-side with ``format(%I, %L)``, so a password
    is quoted by PostgreSQL itself; a ``None`` password removes it.  Returns
    the roles changed.  Unknown role names are refused.
    """
    changed = []
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for role, password in passwords.items():
                if role not in ROLE_PASSWORD_ENV:
                    raise ValueError(f"{role} is not an application role")
                statement = conn.scalar(
                    text(
                        "SELECT CASE WHEN CAST(:pw AS text) IS NULL "
                        "THEN format('ALTER ROLE %I PASSWORD NULL', CAST(:role AS text)) "
                        "ELSE format('ALTER ROLE %I LOGIN PASSWORD %L', CAST(:role AS text), "
                        "CAST(:pw AS text)) END"
                    ),
                    {"role": role, "pw": password},
                )
                conn.exec_driver_sql(str(statement))
                changed.append(role)
    finally:
        engine.dispose()
    return changed
