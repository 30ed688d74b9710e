"""``yitu backup`` then ``yitu restore`` into a fresh database: same counts, the register
still sealed, and a household decrypts with the key (and only with it)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from geo.db import households as register
from geo.db.engine import make_engine
from geo.db.migrate import drop_database, migration_state
from geo.register.crypto import DecryptionFailed, FieldCipher, generate_key
from tests.databases import fresh_database
from tests.finder_fixtures import add_place
from tests.household_fixtures import CASEWORKER, KEY_TEXT, add_households, cipher, record

ROOT = Path(__file__).resolve().parents[2]
YITU = [sys.executable, "-c", "from web.cli import main; main()"]


def yitu(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "YITU_DATABASE_URL": url}
    env.pop("YITU_HOUSEHOLD_KEY", None)  # neither command needs (or gets) the key
    return subprocess.run(  # noqa: S603
        [*YITU, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def source() -> Iterator[tuple[str, list]]:
    """A committed database with places, households, a visit and their audit rows."""
    with fresh_database() as url:
        engine = make_engine(url)
        records = [record(source="backup") for _ in range(5)]
        with Session(engine) as db:
            add_place(db, 101.778, 36.617, city="西宁市")
            ids = add_households(db, records)
            register.add_visit(
                db,
                cipher(),
                ids[0],
                CASEWORKER,
                districts=None,
                visited_on=date(2026, 11, 1),
                notes="送米面油",
                today=date(2026, 11, 2),
            )
            db.commit()
        engine.dispose()
        yield url, records


@pytest.fixture
def target(source: tuple[str, list]) -> Iterator[str]:
    url = make_url(source[0])
    name = f"{url.database}_restored"
    restored = url.set(database=name).render_as_string(hide_password=False)
    yield restored
    drop_database(restored)


def test_backup_restores_into_a_fresh_database_with_the_register_sealed(
    source: tuple[str, list], target: str, tmp_path: Path
) -> None:
    url, records = source
    out = tmp_path / "yitu.dump"
    made = yitu("backup", "--out", str(out), url=url)
    assert made.returncode == 0, made.stderr
    assert "households.households: 5" in made.stdout
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    raw = out.read_bytes()
    assert raw.startswith(b"PGDMP")  # custom format
    assert KEY_TEXT.encode() not in raw
    assert not list(tmp_path.glob("*.partial"))

    restored = yitu("restore", str(out), "--url", target, url=url)
    assert restored.returncode == 0, restored.stderr
    assert made.stdout.splitlines()[:7] == restored.stdout.splitlines()[:7]

    engine = make_engine(target)
    try:
        with Session(engine) as db:
            assert migration_state(db.connection()).current
            stored = db.scalars(
                select(register.Household).where(
                    register.Household.household_no == records[2].household_no
                )
            ).one()
            assert register._open(cipher(), stored, "name_ct") == records[2].name
            assert register._open(cipher(), stored, "phone_ct") == records[2].phone
            with pytest.raises(DecryptionFailed):
                register._open(FieldCipher.from_sources(key=generate_key()), stored, "name_ct")
            found = register.search_households(
                db, cipher(), CASEWORKER, districts=None, id_number=records[3].id_number
            )
            assert [h.household_no for h in found] == [records[3].household_no]
            db.rollback()
    finally:
        engine.dispose()

    again = yitu("restore", str(out), "--url", target, url=url)
    assert again.returncode == 1
    assert "is not empty" in again.stderr
