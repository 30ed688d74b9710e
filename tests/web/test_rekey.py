"""``yitu households rekey``: every sealed field moves to the new key, resumably, audited.

The resume test runs the real command in a child process against a committed
database, lets it commit two batches, blocks the third on a row lock held by
the test, kills it with SIGKILL, and checks that the register is whole
(every value readable with old+new keys, committed batches under the new key)
before a second run finishes the job.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from geo.db import households as register
from geo.db.audit import AuditEntry
from geo.db.engine import make_engine
from geo.register.crypto import DecryptionFailed, FieldCipher
from tests.databases import fresh_database
from tests.household_fixtures import CASEWORKER, KEY_TEXT, add_households, cipher, record

ROOT = Path(__file__).resolve().parents[2]
NEW_KEY = base64.b64encode(bytes(range(200, 232))).decode()
BOTH = f"{NEW_KEY},{KEY_TEXT}"
TODAY = date(2026, 11, 1)


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {**app_config, "HOUSEHOLD_KEY": BOTH}


def open_all(db: Session, sealer: FieldCipher) -> list[str | None]:
    """Decrypt every sealed value of the register with ``sealer`` (raises if one fails)."""
    values: list[str | None] = []
    for h in db.scalars(select(register.Household).order_by(register.Household.id)):
        values += [register._open(sealer, h, column) for _, column in register.SEALED]
    for name, model in register.NOTE_TABLES:
        for row in db.scalars(select(model).order_by(model.id)):
            values.append(
                sealer.decrypt(
                    row.notes_ct, table=f"households.{name}", column="notes_ct", row_id=str(row.id)
                )
            )
    return values


def test_rekey_moves_every_field_to_the_new_key_and_keeps_search(
    runner: FlaskCliRunner, yitu_cli, db: Session
) -> None:  # noqa: ANN001
    records = [record() for _ in range(7)]
    ids = add_households(db, records)
    old = cipher()
    for household in ids[:3]:
        register.add_visit(
            db,
            old,
            household,
            CASEWORKER,
            districts=None,
            visited_on=TODAY,
            notes="门口有台阶，需要轮椅",
            today=TODAY,
        )
        register.add_support(
            db,
            old,
            household,
            CASEWORKER,
            districts=None,
            given_on=TODAY,
            kind="warmth",
            amount_yuan=100,
            notes="冬季送温暖",
            today=TODAY,
        )
    db.flush()
    before = open_all(db, old)
    both = FieldCipher.from_sources(key=BOTH)
    # Mid-rotation (new key first, nothing re-sealed yet): search still finds old rows.
    found = register.search_households(db, both, CASEWORKER, districts=None, name=records[4].name)
    assert [h.household_no for h in found] == [records[4].household_no]
    assert register.rekey_remaining(db, both) == {"households": 7, "visits": 3, "support": 3}

    result = runner.invoke(yitu_cli, ["households", "rekey", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "re-sealed: households 7, visits 3, support 3" in result.output

    new_only = FieldCipher.from_sources(key=NEW_KEY)
    db.expire_all()
    assert open_all(db, new_only) == before
    assert register.rekey_remaining(db, new_only) == {"households": 0, "visits": 0, "support": 0}
    with pytest.raises(DecryptionFailed):
        open_all(db, old)
    found = register.search_households(
        db, new_only, CASEWORKER, districts=None, phone=records[5].phone
    )
    assert [h.household_no for h in found] == [records[5].household_no]
    # Audited: a start row, a finish row, and every household rewritten.
    rows = db.scalars(
        select(AuditEntry).where(AuditEntry.detail["operation"].astext == "rekey")
    ).all()
    phases = [r.detail.get("phase") for r in rows if r.household_id is None]
    assert phases == ["start", "finished"]
    assert {str(r.household_id) for r in rows if r.household_id} == set(ids)
    assert not any(r.name in str(row.detail) for row in rows for r in records)

    again = runner.invoke(yitu_cli, ["households", "rekey"])
    assert again.exit_code == 0, again.output
    assert "re-sealed: households 0, visits 0, support 0" in again.output


def test_rekey_without_the_old_key_fails_and_says_what_to_do(
    app_config: dict[str, object], db: Session, yitu_cli
) -> None:  # noqa: ANN001
    from web import create_app

    add_households(db, [record() for _ in range(2)])
    app = create_app({**app_config, "HOUSEHOLD_KEY": NEW_KEY})
    result = app.test_cli_runner().invoke(yitu_cli, ["households", "rekey"])
    assert result.exit_code == 1
    assert "Keep every old key after the new one" in result.output
    assert register.rekey_remaining(db, cipher()) == {"households": 0, "visits": 0, "support": 0}


@pytest.fixture
def committed_register() -> Iterator[str]:
    """A fresh database holding 40 committed households sealed under the old key."""
    with fresh_database() as url:
        engine = make_engine(url)
        with Session(engine) as db:
            add_households(db, [record(source="rekey-kill") for _ in range(40)])
            db.commit()
        engine.dispose()
        yield url


def run_rekey(url: str, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "YITU_DATABASE_URL": url, "YITU_HOUSEHOLD_KEY": BOTH}
    env.pop("YITU_PRIVATE_DATABASE_URL", None)
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "yitu"), "households", "rekey", *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_killed_rekey_leaves_a_readable_register_and_resumes(committed_register: str) -> None:
    url = committed_register
    engine = make_engine(url)
    both = FieldCipher.from_sources(key=BOTH)
    try:
        with Session(engine) as holder, Session(engine) as probe:
            ordered = holder.scalars(
                select(register.Household.id).order_by(register.Household.id)
            ).all()
            # Batches of 5 in id order: the 3rd batch needs row 12, which we lock.
            holder.execute(
                select(register.Household.id)
                .where(register.Household.id == ordered[12])
                .with_for_update()
            )
            child = run_rekey(url, "--batch-size", "5")
            remaining = 40
            waiting = 0
            for _ in range(1200):
                probe.rollback()
                remaining = register.rekey_remaining(probe, both)["households"]
                waiting = (
                    probe.scalar(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                            "AND datname = current_database()"
                        )
                    )
                    or 0
                )
                if remaining == 30 and waiting:
                    break
                assert child.poll() is None, child.communicate()[0]
                time.sleep(0.05)
            assert (remaining, waiting) == (30, 1)
            child.send_signal(signal.SIGKILL)
            child.communicate(timeout=30)
            assert child.returncode == -signal.SIGKILL
            holder.rollback()  # release the row lock

            probe.rollback()
            assert register.rekey_remaining(probe, both)["households"] == 30
            values = open_all(probe, both)  # every row readable with old and new keys
            assert len(values) == 40 * len(register.SEALED)
            new_only = FieldCipher.from_sources(key=NEW_KEY)
            rewritten = probe.scalars(
                select(register.Household).where(
                    func.substring(register.Household.name_ct, 2, 8) == new_only.active_key_id
                )
            ).all()
            assert len(rewritten) == 10
            audited = probe.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(
                    AuditEntry.detail["operation"].astext == "rekey",
                    AuditEntry.household_id.is_not(None),
                )
            )
            assert audited == 10

            second = run_rekey(url, "--batch-size", "5")
            output = second.communicate(timeout=120)[0]
            assert second.returncode == 0, output
            assert "re-sealed: households 30, visits 0, support 0" in output
            probe.rollback()
            assert register.rekey_remaining(probe, new_only) == {
                "households": 0,
                "visits": 0,
                "support": 0,
            }
            assert len(open_all(probe, new_only)) == 40 * len(register.SEALED)
    finally:
        engine.dispose()
