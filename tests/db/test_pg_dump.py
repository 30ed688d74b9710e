"""A pg_dump of the database holds personal fields only as ciphertext (and never the key)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy.engine import make_url

from geo.db import households as register
from geo.db.engine import make_engine, session_factory
from geo.register.households import parse_amount
from tests.databases import fresh_database
from tests.household_fixtures import (
    CASEWORKER,
    CHENGZHONG,
    KEY_TEXT,
    add_households,
    cipher,
    record,
)

TODAY = date(2026, 1, 15)
VISIT_NOTE = "低保复核：丈夫尘肺病住院"


@pytest.fixture(scope="module")
def dumped() -> Iterator[tuple[str, list]]:
    """Commit households, visits and support to a database of its own and dump it."""
    if shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is not installed; apt-get install postgresql-client")
    records = [record() for _ in range(5)]
    with fresh_database() as url:
        engine = make_engine(url)
        try:
            with session_factory(engine)() as db:
                ids = add_households(db, records)
                register.add_visit(
                    db,
                    cipher(),
                    ids[0],
                    CASEWORKER,
                    districts=(CHENGZHONG,),
                    visited_on=TODAY,
                    notes=VISIT_NOTE,
                    today=TODAY,
                )
                register.add_support(
                    db,
                    cipher(),
                    ids[0],
                    CASEWORKER,
                    districts=(CHENGZHONG,),
                    given_on=TODAY,
                    kind="warmth",
                    notes=VISIT_NOTE,
                    amount_yuan=parse_amount("800"),
                    today=TODAY,
                )
                db.commit()
        finally:
            engine.dispose()
        target = make_url(url)
        command = [
            "pg_dump",
            "--no-owner",
            "-h",
            target.host or "127.0.0.1",
            "-p",
            str(target.port or 5432),
            "-d",
            target.database or "",
        ]
        if target.username:
            command += ["-U", target.username]
        plain = subprocess.run(command, capture_output=True, check=True, timeout=120).stdout
        inserts = subprocess.run(
            [*command, "--column-inserts", "--data-only"],
            capture_output=True,
            check=True,
            timeout=120,
        ).stdout
        yield (plain + inserts).decode("utf-8"), records


def test_no_personal_value_appears_in_the_dump(dumped: tuple[str, list]) -> None:
    text, records = dumped
    # pg_dump writes bytea as hex (\x...): plaintext in a bytea column shows up
    # only in that form, so look for both.
    for r in records:
        for value in (r.name, r.id_number, r.phone, r.address, r.employer):
            assert value not in text, "a personal value is in the dump in plain text"
            assert value.encode().hex() not in text, "a personal value is in a bytea column"
    assert VISIT_NOTE not in text and VISIT_NOTE.encode().hex() not in text


def test_the_key_is_not_in_the_dump(dumped: tuple[str, list]) -> None:
    text, _ = dumped
    assert KEY_TEXT not in text


def test_the_dump_does_hold_the_sealed_values(dumped: tuple[str, list]) -> None:
    text, records = dumped
    assert "COPY households.households" in text
    assert "INSERT INTO households.households" in text
    assert all(r.household_no in text for r in records)  # non-personal ids stay readable
    assert text.count("'\\x01") >= 5 * 2  # version byte 1 of sealed bytea values
