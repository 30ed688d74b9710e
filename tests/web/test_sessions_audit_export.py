"""Expired and revoked login sessions are purged; audit rows export as JSON Lines and stay."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from flask.testing import FlaskCliRunner
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from geo.db import accounts
from geo.db.audit import AuditEntry
from tests.household_fixtures import CASEWORKER, NAMES, add_households, make_user, record


def test_purge_removes_expired_and_revoked_sessions_only(
    runner: FlaskCliRunner, yitu_cli, db: Session
) -> None:  # noqa: ANN001
    user = make_user(db, "auditor")
    live = accounts.open_session(db, user.id, lifetime=timedelta(hours=8))
    expired = accounts.open_session(db, user.id, lifetime=timedelta(hours=8))
    revoked = accounts.open_session(db, user.id, lifetime=timedelta(hours=8))
    db.execute(
        update(accounts.LoginSession)
        .where(accounts.LoginSession.token_hash == accounts._hash_token(expired))
        .values(expires_at=func.now() - timedelta(minutes=1))
    )
    accounts.revoke_session(db, revoked)
    db.flush()
    before = db.scalar(select(func.count()).select_from(accounts.LoginSession))

    result = runner.invoke(yitu_cli, ["purge-sessions"])
    assert result.exit_code == 0, result.output
    assert "purged 2 expired or revoked sessions" in result.output
    after = db.scalar(select(func.count()).select_from(accounts.LoginSession))
    assert after == before - 2
    assert accounts.account_for_token(db, live) is not None


def test_audit_export_writes_every_row_without_personal_values(
    runner: FlaskCliRunner, yitu_cli, db: Session, tmp_path: Path
) -> None:  # noqa: ANN001
    records = [record() for _ in range(3)]
    add_households(db, records, actor=CASEWORKER)
    db.flush()
    total = db.scalar(select(func.count()).select_from(AuditEntry))
    out = tmp_path / "audit.jsonl"
    result = runner.invoke(yitu_cli, ["audit", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == total
    assert [r["id"] for r in lines] == sorted(r["id"] for r in lines)
    assert sum(1 for r in lines if r["action"] == "import") == 3
    text = out.read_text(encoding="utf-8")
    for r in records:
        assert r.name not in text and r.phone not in text and r.id_number not in text
    assert not any(name in text for name in NAMES)
    # Nothing was taken out of the log by exporting it.
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == total
