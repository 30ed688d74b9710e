"""Alembic environment: runs migrations online against ``sqlalchemy.url``."""

from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine

from geo.db.models import Base

config = context.config


def run_migrations_online() -> None:
    """Apply migrations in one transaction on the configured database."""
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("alembic: sqlalchemy.url is not set (use `yitu db upgrade`)")
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_object=alembic_helpers.include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
            transaction_per_migration=False,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `yitu db upgrade`")
run_migrations_online()
