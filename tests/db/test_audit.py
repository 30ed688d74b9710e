"""The audit log: one row per household read, export or change; append-only for everyone."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from geo.db import audit, history
from geo.db import households as register
from geo.db.audit import Actor, AuditEntry
from geo.register.households import parse_amount
from tests.finder_fixtures import add_place
from tests.household_fixtures import CHENGZHONG, add_households, cipher, record

TODAY = date(2026, 1, 15)
WHO = Actor(name="auditee", role="caseworker", id=7, remote_addr="192.0.2.1")


def rows_for(db: Session, ids: list[str]) -> dict[str, int]:
    return audit.count_by_action(db, household_ids=ids)


def test_every_read_export_and_change_writes_one_row_per_household(db: Session) -> None:
    records = [record() for _ in range(3)]
    ids = add_households(db, records, actor=WHO)
    scope = (CHENGZHONG,)
    c = cipher()
    register.list_households(db, c, WHO, districts=scope)
    register.search_households(db, c, WHO, districts=scope, phone=records[0].phone)
    register.get_household(db, c, ids[1], WHO, districts=scope)
    register.map_points(db, WHO, districts=scope)
    list(register.export_rows(db, c, WHO, districts=scope, fmt="xlsx"))
    register.add_visit(
        db, c, ids[2], WHO, districts=scope, visited_on=TODAY, notes="x", today=TODAY
    )
    register.add_support(
        db,
        c,
        ids[2],
        WHO,
        districts=scope,
        given_on=TODAY,
        kind="warmth",
        amount_yuan=parse_amount("300"),
        notes=None,
        today=TODAY,
    )
    assert rows_for(db, ids) == {
        "import": 3,
        "list": 3,
        "search": 1,
        "view": 1,
        "map": 3,
        "export": 3,
        "visit": 1,
        "support": 1,
    }


def test_audit_rows_name_the_actor_and_never_the_personal_values(db: Session) -> None:
    target = record()
    [hid] = add_households(db, [target], actor=WHO)
    register.search_households(
        db, cipher(), WHO, districts=(CHENGZHONG,), name=target.name, id_number=target.id_number
    )
    [row] = audit.browse(db, actor="auditee", action="search", limit=1)
    assert (row.actor, row.actor_role, row.remote_addr, str(row.household_id)) == (
        "auditee",
        "caseworker",
        "192.0.2.1",
        hid,
    )
    assert row.detail == {"by": ["name", "id_number"], "results": 1}
    dumped = db.execute(
        text("SELECT string_agg(detail::text || actor, '|') FROM households.audit_log")
    ).scalar()
    for value in (target.name, target.id_number, target.phone, target.address):
        assert value not in dumped


def test_a_search_with_no_result_is_still_recorded(db: Session) -> None:
    before = db.scalar(select(func.count()).select_from(AuditEntry))
    register.search_households(db, cipher(), WHO, districts=(CHENGZHONG,), name="无此人")
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == before + 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE households.audit_log SET actor = 'someone else'",
        "DELETE FROM households.audit_log",
        "TRUNCATE households.audit_log",
    ],
)
def test_even_the_owner_cannot_change_or_delete_audit_rows(db: Session, statement: str) -> None:
    add_households(db, [record()], actor=WHO)
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text(statement))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE households.audit_log SET actor = 'someone else'",
        "DELETE FROM households.audit_log",
    ],
)
def test_the_app_role_lacks_the_privilege_to_change_audit_rows(db: Session, statement: str) -> None:
    add_households(db, [record()], actor=WHO)
    with pytest.raises(DBAPIError, match="permission denied"), db.begin_nested():
        db.execute(text("SET LOCAL ROLE yitu_app"))
        db.execute(text(statement))


def test_the_app_role_can_append_and_read(db: Session) -> None:
    with db.begin_nested():
        db.execute(text("SET LOCAL ROLE yitu_app"))
        audit.record(db, WHO, "view")
        assert audit.browse(db, actor="auditee", limit=1)[0].action == "view"
        db.execute(text("RESET ROLE"))


def test_browse_filters_and_pages_newest_first(db: Session) -> None:
    for action in ("view", "list", "view"):
        audit.record(db, Actor("pager"), action)
    newest = audit.browse(db, actor="pager", limit=2)
    assert [r.action for r in newest] == ["view", "list"]
    older = audit.browse(db, actor="pager", before_id=newest[-1].id)
    assert [r.action for r in older] == ["view"]
    assert [r.action for r in audit.browse(db, actor="pager", action="list")] == ["list"]
    with pytest.raises(Exception, match="unknown"):
        audit.record(db, WHO, "delete_everything")


def test_place_history_is_append_only_too(db: Session) -> None:
    place_id = add_place(db, 101.778, 36.617)
    history.set_status(db, place_id, "suspend", history.Editor("admin1"), note="test")
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text("DELETE FROM place_history"))
    with pytest.raises(DBAPIError, match="permission denied"), db.begin_nested():
        db.execute(text("SET LOCAL ROLE yitu_public"))
        db.execute(text("UPDATE place_history SET actor = 'x'"))
