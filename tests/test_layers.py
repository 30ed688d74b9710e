"""The one-way doors of docs/architecture.md, checked by parsing imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WEB_AND_UP = ("web", "scripts", "tests")
FORBIDDEN_IN_PURE_GEO = (
    "flask",
    "flask_babel",
    "folium",
    "sqlalchemy",
    "geoalchemy2",
    "alembic",
    "psycopg",
    "web",
    "geo.db",
    "scripts",
)


def imported_modules(path: Path) -> set[str]:
    """Return every module name imported by the file at ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def violates(module: str, forbidden: tuple[str, ...]) -> bool:
    """True when ``module`` is, or is inside, one of the forbidden packages."""
    return any(module == f or module.startswith(f + ".") for f in forbidden)


def files(*parts: str) -> list[Path]:
    """Python files under ``ROOT/parts``."""
    return sorted((ROOT.joinpath(*parts)).rglob("*.py"))


def pure_geo_files() -> list[Path]:
    """Files of the pure ``geo`` package (everything but ``geo/db`` and ``geo/service``)."""
    return [p for p in files("geo")
            if p.relative_to(ROOT / "geo").parts[0] not in ("db", "service")]


@pytest.mark.parametrize("path", pure_geo_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_geo_imports_no_framework(path: Path) -> None:
    bad = sorted(m for m in imported_modules(path) if violates(m, FORBIDDEN_IN_PURE_GEO))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}; geo/ must stay pure"


@pytest.mark.parametrize("path", files("geo", "db"), ids=lambda p: str(p.relative_to(ROOT)))
def test_geo_db_does_not_import_web(path: Path) -> None:
    bad = sorted(m for m in imported_modules(path) if violates(m, ("flask", "folium", *WEB_AND_UP)))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}; geo.db must not know the web"


@pytest.mark.parametrize("path", files("geo", "service"), ids=lambda p: str(p.relative_to(ROOT)))
def test_geo_service_is_framework_free(path: Path) -> None:
    bad = sorted(m for m in imported_modules(path)
                 if violates(m, ("flask", "flask_babel", "folium", *WEB_AND_UP)))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}; use cases take plain values"


@pytest.mark.parametrize("path", files("web"), ids=lambda p: str(p.relative_to(ROOT)))
def test_web_does_not_import_scripts_or_tests(path: Path) -> None:
    bad = sorted(m for m in imported_modules(path) if violates(m, ("scripts", "tests")))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_checker_catches_a_violation(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("from sqlalchemy import text\nimport web.db\n")
    found = imported_modules(sample)
    assert violates("sqlalchemy", FORBIDDEN_IN_PURE_GEO) and "web.db" in found
