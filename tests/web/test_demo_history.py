"""``yitu demo load`` and ``yitu demo activity`` never change a place without its history row."""

from __future__ import annotations

from dataclasses import replace

from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.db.history import Editor, PlaceChange, edit_place
from geo.db.models import Place
from geo.places.demo import DEMO_SOURCE, load_demo_places
from geo.places.ledger import Report
from geo.places.rows import finish_places


def demo_places(db: Session) -> dict[str, tuple[int, str]]:
    rows = db.execute(
        select(Place.external_id, Place.id, Place.name).where(Place.source == DEMO_SOURCE)
    )
    return {external_id: (place_id, name) for external_id, place_id, name in rows}


def history_rows(db: Session) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for place_id, action in db.execute(
        select(PlaceChange.place_id, PlaceChange.action).order_by(PlaceChange.id)
    ):
        found.setdefault(place_id, []).append(action)
    return found


def test_demo_commands_keep_an_admins_edits_and_log_every_write(
    runner: FlaskCliRunner, yitu_cli, db: Session
) -> None:  # noqa: ANN001
    first = runner.invoke(yitu_cli, ["demo", "load"])
    assert first.exit_code == 0, first.output
    places = demo_places(db)
    assert len(places) == len(load_demo_places())
    history = history_rows(db)
    assert all(history[place_id] == ["create"] for place_id, _ in places.values())

    edited = sorted(places)[:5]
    admin = Editor(name="admin.wang", id=None)
    records = load_demo_places()
    validated = {
        r.external_id: r
        for _, r in finish_places(list(enumerate(records, 1)), Report(source=DEMO_SOURCE))
    }
    for external_id in edited:
        renamed = replace(validated[external_id], name=f"已核实更名{external_id}")
        edit_place(db, places[external_id][0], renamed, admin)
    db.flush()
    before = demo_places(db)
    changes_before = db.scalar(select(func.count()).select_from(PlaceChange))

    again = runner.invoke(yitu_cli, ["demo", "load"])
    assert again.exit_code == 0, again.output
    activity = runner.invoke(yitu_cli, ["demo", "activity"])
    assert activity.exit_code == 0, activity.output

    db.expire_all()
    assert demo_places(db) == before
    for external_id in edited:
        assert before[external_id][1] == f"已核实更名{external_id}"
    assert db.scalar(select(func.count()).select_from(PlaceChange)) == changes_before
    history = history_rows(db)
    for external_id in edited:
        assert history[places[external_id][0]] == ["create", "edit"]
