"""The one-way doors of docs/architecture.md, checked two ways.

1. ``lint-imports`` (import-linter, configured in ``pyproject.toml``) checks
   the layer contract ``web -> geo.service -> geo.db -> pure rooms``, what the
   pure rooms may not import, SQL only in ``geo.db`` and the web's db glue,
   independent blueprints and no cycles between sibling modules.  A test runs
   it on the repository, and on a scratch copy with a deliberate wrong import
   to prove that it bites.
2. An ``ast`` walk over every file, for what import-linter's graph does not
   show: imports by string (``importlib.import_module("...")``), and a cycle
   check over every module of ``geo`` (not only siblings).
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
FORBIDDEN_IN_PURE_GEO = (
    "flask",
    "flask_babel",
    "flask_login",
    "flask_wtf",
    "flask_limiter",
    "werkzeug",
    "folium",
    "branca",
    "matplotlib",
    "click",
    "rich",
    "sqlalchemy",
    "geoalchemy2",
    "alembic",
    "psycopg",
    "web",
    "geo.db",
    "geo.service",
    "scripts",
)
FORBIDDEN_IN_SERVICE_AND_DB = (
    "flask",
    "flask_babel",
    "flask_login",
    "flask_wtf",
    "flask_limiter",
    "werkzeug",
    "folium",
    "branca",
    "matplotlib",
    "click",
    "rich",
    "web",
    "scripts",
)


def module_name(path: Path) -> str:
    """Return the dotted module name of a file under ROOT."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Return every module the file imports: absolute, relative, ``from pkg import mod``
    and ``importlib.import_module("...")`` with a literal name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names.add(base)
            # ``from geo import db`` imports the module geo.db.
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


def violates(module: str, forbidden: tuple[str, ...]) -> bool:
    """True when ``module`` is, or is inside, one of the forbidden packages."""
    return any(module == f or module.startswith(f + ".") for f in forbidden)


def files(*parts: str) -> list[Path]:
    """Python files under ``ROOT/parts``, migrations excluded (they are frozen history)."""
    return sorted(p for p in ROOT.joinpath(*parts).rglob("*.py") if "migrations" not in p.parts)


def pure_geo_files() -> list[Path]:
    """Files of the pure rooms: every package of ``geo`` but ``geo.db`` and ``geo.service``."""
    return [
        p for p in files("geo") if p.relative_to(ROOT / "geo").parts[0] not in ("db", "service")
    ]


@pytest.mark.parametrize("path", pure_geo_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_geo_imports_no_framework(path: Path) -> None:
    bad = sorted(m for m in imported_modules(path) if violates(m, FORBIDDEN_IN_PURE_GEO))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}; geo/ must stay pure"


@pytest.mark.parametrize(
    "path", files("geo", "db") + files("geo", "service"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_service_and_db_know_no_framework(path: Path) -> None:
    bad = sorted(m for m in imported_modules(path) if violates(m, FORBIDDEN_IN_SERVICE_AND_DB))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}; web, CLI and workers call it alike"


@pytest.mark.parametrize("path", files("web"), ids=lambda p: str(p.relative_to(ROOT)))
def test_web_does_not_import_scripts_or_tests(path: Path) -> None:
    bad = sorted(m for m in imported_modules(path) if violates(m, ("scripts", "tests")))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import cycle of ``graph`` (module -> imported modules), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def geo_graph() -> dict[str, set[str]]:
    """Module-level import graph of ``geo`` (imports inside functions count too)."""
    modules = {module_name(p): p for p in files("geo")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in imported_modules(path):
            # ``from geo.places import crs`` names geo.places.crs; keep what exists.
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and not name.startswith(imported + "."):
                targets.add(imported)
        graph[name] = targets
    return graph


def test_geo_has_no_import_cycle() -> None:
    cycle = find_cycle(geo_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_checker_reads_every_form_of_import(tmp_path: Path) -> None:
    sample = ROOT / "geo" / "places" / "_scratch_sample.py"
    sample.write_text(
        "from geo import db\nfrom ..db import models\nimport importlib\n"
        "importlib.import_module('flask_login')\nimport web.db\n"
    )
    try:
        found = imported_modules(sample)
    finally:
        sample.unlink()
    assert {"geo.db", "geo.db.models", "flask_login", "web.db"} <= found
    assert all(violates(m, FORBIDDEN_IN_PURE_GEO) for m in ("geo.db", "flask_login", "web.db"))


def run_lint_imports(folder: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter with the repository's contracts on the code in ``folder``."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin"},
    )


def test_import_contracts_hold() -> None:
    done = run_lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("victim", "wrong_import", "contract"),
    [
        ("geo/places/crs.py", "import web.db", "Pure geo rooms"),
        ("geo/places/crs.py", "import sqlalchemy", "Pure geo rooms"),
        ("geo/planning/network.py", "from geo.planning import coverage", "No cycles"),
        ("web/embed.py", "from web import finder", "Blueprints are independent"),
        ("geo/service/planning.py", "import flask", "Service and db know no framework"),
        ("web/directory.py", "from sqlalchemy import text", "SQL only in geo.db"),
    ],
)
def test_a_wrong_import_breaks_a_contract(
    tmp_path: Path, victim: str, wrong_import: str, contract: str
) -> None:
    for name in ("geo", "web", "pyproject.toml"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source,
                tmp_path / name,
                ignore=shutil.ignore_patterns("__pycache__", "static", "templates", "translations"),
            )
        else:
            shutil.copy(source, tmp_path / name)
    target = tmp_path / victim
    target.write_text(target.read_text() + f"\n{wrong_import}  # deliberate\n")
    done = run_lint_imports(tmp_path)
    assert done.returncode != 0, done.stdout
    assert contract in done.stdout and "BROKEN" in done.stdout
