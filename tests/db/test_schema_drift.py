"""The ORM models and the migrated schema agree (Alembic's autogenerate comparison).

A model changed without a migration (or a migration without its model)
shows up here as a difference, before it shows up as a failing query.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import Engine

import geo.db
from geo.db.models import Base

# Tables PostGIS creates itself; they have no model.
POSTGIS_TABLES = {"spatial_ref_sys", "alembic_version"}


def _load_every_model_module() -> None:
    for module in pkgutil.iter_modules(geo.db.__path__):
        if module.name != "migrations":
            importlib.import_module(f"geo.db.{module.name}")


def _include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if type_ == "table" and name in POSTGIS_TABLES:
        return False
    return bool(alembic_helpers.include_object(obj, name, type_, reflected, compare_to))


def schema_differences(engine: Engine) -> list[Any]:
    """Return Alembic's differences between the models and the database."""
    _load_every_model_module()
    schemas = {t.schema for t in Base.metadata.tables.values()}
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_schemas": True,
                "include_object": _include,
                "include_name": lambda name, type_, parent: (
                    type_ != "schema" or name in schemas or name is None
                ),
                "compare_type": True,
            },
        )
        return compare_metadata(context, Base.metadata)


def test_models_match_the_migrated_schema(engine: Engine) -> None:
    differences = schema_differences(engine)
    assert differences == [], "\n".join(map(str, differences))
