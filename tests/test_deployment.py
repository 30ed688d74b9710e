"""The shipped deployment follows the design (Docker cannot run here, so its files are read).

Compose: a one-off ``migrate`` service as the owner, the app as ``yitu_public``
with the private URL as ``yitu_app``, Redis for the limiter, secrets only in
env files.  Dockerfile: multi-stage wheel build, pinned base, non-root,
``exec`` in the start command, a HEALTHCHECK on ``/healthz``, no migrations
at app start, a secret key required.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SECRET_WORDS = ("PASSWORD", "SECRET", "HOUSEHOLD_KEY", "TOKEN")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def env_example(name: str) -> dict[str, str]:
    values = {}
    for line in (ROOT / "deploy" / f"{name}.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def test_compose_holds_no_secret() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "change-me" not in text
    for name, service in compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            assert not any(word in key for word in SECRET_WORDS), (name, key, value)
            assert "://" not in str(value) or "@" not in str(value), (name, key)  # no credentials
    for name in ("db", "migrate", "app"):
        env_file = compose()["services"][name]["env_file"]
        assert env_file.startswith("deploy/") and env_file.endswith(".env")
    assert "deploy/*.env" in (ROOT / ".gitignore").read_text().splitlines()


def test_migrate_runs_once_as_the_owner_and_the_app_waits_for_it() -> None:
    services = compose()["services"]
    migrate = services["migrate"]
    assert "yitu db upgrade" in " ".join(migrate["command"])
    assert migrate["restart"] == "no"
    owner = env_example("migrate")
    assert owner["YITU_DATABASE_URL"].startswith("postgresql+psycopg://yitu:")
    assert {"YITU_PUBLIC_DB_PASSWORD", "YITU_APP_DB_PASSWORD"} <= owner.keys()
    app = services["app"]
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert app["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "command" not in app  # the image's CMD serves; it never migrates


def test_the_app_runs_with_the_two_roles_and_shared_limits() -> None:
    app_env = env_example("app")
    assert "://yitu_public:" in app_env["YITU_DATABASE_URL"]
    assert "://yitu_app:" in app_env["YITU_PRIVATE_DATABASE_URL"]
    assert app_env["YITU_SECRET_KEY"] == "" and app_env["YITU_HOUSEHOLD_KEY"] == ""
    environment = compose()["services"]["app"]["environment"]
    assert environment["YITU_RATELIMIT_STORAGE_URI"].startswith("redis://redis:")
    assert "redis" in compose()["services"]


def dockerfile() -> list[str]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_dockerfile_builds_a_wheel_in_stages_from_a_pinned_base() -> None:
    lines = dockerfile()
    bases = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert len(bases) >= 2
    for base in bases:
        assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base), base
    text = "\n".join(lines)
    assert "pip wheel" in text and "COPY --from=build /wheels" in text
    assert " -e " not in text and "--editable" not in text


def test_dockerfile_runs_unprivileged_with_exec_and_a_healthcheck() -> None:
    lines = dockerfile()
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] != "root"
    health = [line for line in lines if line.startswith("HEALTHCHECK")]
    assert len(health) == 1 and "/healthz" in health[0]
    cmd = [line for line in lines if line.startswith("CMD ")][-1]
    argv = yaml.safe_load(cmd[4:])
    shell = argv[-1] if argv[:2] == ["sh", "-c"] else shlex.join(argv)
    assert shell.startswith("exec yitu serve")
    assert "db upgrade" not in shell
    assert any("YITU_REQUIRE_SECRET_KEY=true" in line for line in lines)


def test_the_boundaries_are_package_data_read_through_importlib_resources() -> None:
    import tomllib
    from importlib import resources

    from geo.places.boundaries import BOUNDARY_FILE

    package = Path(str(resources.files("geo.places")))
    assert BOUNDARY_FILE.is_relative_to(package) and BOUNDARY_FILE.is_file()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = pyproject["tool"]["setuptools"]["package-data"]["geo.places"]
    assert "data/boundaries/*.npz" in declared
    assert not (ROOT / "data" / "boundaries").exists()
