"""The inspection cycle in PostGIS: standards, the seeded plan, visits, cards, removal (issue 11)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click import Group
from flask.testing import FlaskCliRunner
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from geo.db import history
from geo.db import inspections as store
from geo.errors import InvalidInput
from geo.inspections.standards import parse_standard, shipped_standards
from geo.service import inspections as service
from tests.finder_fixtures import add_place
from tests.household_fixtures import CHENGZHONG, make_user

ADMIN = service.Who("admin1", 1, "admin", None)
NOW = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
ALL_PASS = {i.key: "pass" for i in shipped_standards()[2].items}  # qinghai-six-haves


def setup(db: Session, n: int = 3) -> tuple[list[int], service.Who]:
    for standard in shipped_standards():
        service.import_standard(db, standard, ADMIN)
    ids = [add_place(db, 101.778 + i * 0.01, 36.617, adcode=CHENGZHONG) for i in range(n)]
    user = make_user(db, "inspector", districts=(CHENGZHONG,))
    return ids, service.Who(user.username, user.id, "inspector", (CHENGZHONG,))


def visit(
    db: Session,
    who: service.Who,
    visit_id: int,
    outcomes: dict[str, str],
    *,
    at: datetime = NOW,
    lon: float | None = 101.778,
    lat: float | None = 36.617,
) -> service.VisitResult:
    return service.record_visit(
        db, who, visit_id, outcomes=outcomes, notes={}, visited_at=at, now=at, lon=lon, lat=lat
    )


def plan_one(db: Session, who: service.Who, seed: int = 7) -> list[int]:
    result = service.plan_visits(
        db, ADMIN, adcode=CHENGZHONG, month="2026-12", visits=1, seed=seed, inspector=who
    )
    return [v.id for v in store.visits_of_plan(db, result.plan_id)]


def test_the_plan_is_repeatable_from_its_recorded_seed(db: Session) -> None:
    _, who = setup(db, 6)
    a = service.plan_visits(
        db, ADMIN, adcode=CHENGZHONG, month="2026-12", visits=4, seed=99, inspector=who
    )
    b = service.plan_visits(
        db, ADMIN, adcode=CHENGZHONG, month="2026-12", visits=4, seed=99, inspector=who
    )
    assert a.drawn == b.drawn and len(a.drawn) == 4
    assert db.scalar(select(store.Plan.seed).where(store.Plan.id == a.plan_id)) == 99
    assert {v.inspector for v in store.visits_of_inspector(db, who.id or 0)} == {who.name}
    with pytest.raises(InvalidInput) as err:
        service.plan_visits(db, ADMIN, adcode=CHENGZHONG, month="2026-13", visits=4)
    assert err.value.field == "month"


def test_yellow_then_red_then_removal_confirmed_closes_the_place(db: Session) -> None:
    ids, who = setup(db, 1)
    [place] = ids
    first = plan_one(db, who)[0]
    low = {
        **ALL_PASS,
        "facilities": "fail",
        "functions": "fail",
        "layout": "fail",
        "rules": "fail",
    }  # 100 - 50 = 50 < 60
    result = visit(db, who, first, low)
    assert (result.score, result.card, result.removal_id) == (50, "yellow", None)
    assert result.far is False and result.distance_m == pytest.approx(0, abs=1)
    # The same draft sent again (the phone lost the answer) is not a second visit.
    assert visit(db, who, first, low).already is True
    second = plan_one(db, who, seed=8)[0]
    red = visit(db, who, second, {**ALL_PASS, "medicine": "fail"}, at=NOW + timedelta(days=30))
    assert red.card == "red" and red.removal_id is not None
    assert "second_yellow" in red.reasons
    [proposal] = store.removals(db)
    assert proposal.place_id == place
    assert (
        service.decide_removal(db, ADMIN, proposal.id, "confirm", note="复查仍未整改")
        == "confirmed"
    )
    assert history.snapshot(db, place)["status"] == "closed"
    [change] = [h for h in history.history(db, place) if h.action == "close"]
    assert "red card" in (change.note or "")
    facts = service.public_facts(db, place)
    assert facts.removed_on is not None and "red card" in (facts.removed_reason or "")
    # Medicine weighs 5: 95, then mean(95, 50) = 72.5 reaches the 70 rule: 3 stars.
    assert facts.last_inspected == "2027-01-09" and facts.stars == 3
    actions = [e.action for e in store.events_of_place(db, place)]
    assert actions[:3] == ["confirm_removal", "propose_removal", "card"]
    with pytest.raises(InvalidInput):
        service.decide_removal(db, ADMIN, proposal.id, "reject")


def test_two_hours_failures_earn_a_red_card(db: Session) -> None:
    _, who = setup(db, 1)
    hours = {**ALL_PASS, "open_hours": "fail"}
    assert visit(db, who, plan_one(db, who)[0], hours).card == "yellow"
    second = visit(db, who, plan_one(db, who, 9)[0], hours, at=NOW + timedelta(days=1))
    assert second.card == "red" and "hours_failed_twice" in second.reasons


def test_far_or_positionless_visits_are_flagged(db: Session) -> None:
    _, who = setup(db, 1)
    far = visit(db, who, plan_one(db, who)[0], ALL_PASS, lat=36.620)  # ~333 m north
    assert far.far is True and far.distance_m == pytest.approx(333.6, abs=2)
    blind = visit(db, who, plan_one(db, who, 3)[0], ALL_PASS, lon=None, lat=None)
    assert blind.far is True and blind.distance_m is None


def test_field_named_errors_and_district_scope(db: Session) -> None:
    _, who = setup(db, 1)
    [vid] = plan_one(db, who)
    with pytest.raises(InvalidInput) as err:
        visit(db, who, vid, {**ALL_PASS, "wifi": "pass"})
    assert err.value.field == "item_wifi"
    with pytest.raises(InvalidInput) as err:
        visit(db, who, vid, ALL_PASS, lat=95.0)
    assert err.value.field == "lat"
    other = make_user(db, "inspector", districts=("630104",))
    stranger = service.Who(other.username, other.id, "inspector", ("630104",))
    with pytest.raises(service.VisitNotFound):
        visit(db, stranger, vid, ALL_PASS)
    with pytest.raises(InvalidInput) as err:
        service.plan_visits(
            db, ADMIN, adcode=CHENGZHONG, month="2026-12", visits=1, inspector=stranger
        )
    assert err.value.field == "inspector"


def test_a_new_standard_version_never_rewrites_a_past_score(db: Session) -> None:
    _, who = setup(db, 1)
    vid = plan_one(db, who)[0]
    before = visit(db, who, vid, {**ALL_PASS, "clean": "fail"}).score
    assert before == 95
    changed = shipped_standards()[2].to_dict()
    changed["items"] = [{**i, "weight": 50} if i["key"] == "clean" else i for i in changed["items"]]
    with pytest.raises(InvalidInput) as err:  # same version, different content: refused
        service.import_standard(db, parse_standard(changed), ADMIN)
    assert err.value.field == "version"
    service.import_standard(db, parse_standard({**changed, "version": 2}), ADMIN)
    assert db.scalar(select(store.Visit.score).where(store.Visit.id == vid)) == before
    later = visit(db, who, plan_one(db, who, 4)[0], {**ALL_PASS, "clean": "fail"})
    assert later.score == 66  # 95 of 145 = 65.5..., with the new version's weights


def test_events_are_append_only(db: Session) -> None:
    setup(db, 1)
    with pytest.raises(DBAPIError), db.begin_nested():
        db.execute(text("UPDATE inspection_events SET actor = 'x'"))


def test_cli_imports_standards_and_plans(
    runner: FlaskCliRunner, yitu_cli: Group, db: Session
) -> None:
    add_place(db, 101.778, 36.617, adcode=CHENGZHONG)
    user = make_user(db, "inspector", districts=(CHENGZHONG,))
    out = runner.invoke(yitu_cli, ["inspections", "import-standard", "--shipped"])
    assert out.exit_code == 0, out.output
    assert "qinghai-six-haves v1: imported" in out.output
    out = runner.invoke(
        yitu_cli,
        [
            "inspections",
            "plan",
            "--district",
            CHENGZHONG,
            "--month",
            "2026-12",
            "--visits",
            "20",
            "--seed",
            "5",
            "--inspector",
            user.username,
        ],
    )
    assert out.exit_code == 0, out.output
    assert "1 visits in 630103 for 2026-12, seed 5" in out.output
    out = runner.invoke(yitu_cli, ["inspections", "plan", "--district", "99", "--month", "2026-12"])
    assert out.exit_code == 1 and "--district" in out.output


def test_a_reinspection_lifts_the_card_with_a_record(db: Session) -> None:
    ids, who = setup(db, 1)
    low = {**ALL_PASS, "facilities": "fail", "functions": "fail", "layout": "fail", "rules": "fail"}
    assert visit(db, who, plan_one(db, who)[0], low).card == "yellow"
    fixed = visit(db, who, plan_one(db, who, 8)[0], ALL_PASS, at=NOW + timedelta(days=5))
    assert fixed.card is None and fixed.lifted is True
    [event] = [e for e in store.events_of_place(db, ids[0]) if e.detail.get("card") == "lifted"]
    assert event.action == "card" and event.visit_id is not None
    again = visit(db, who, plan_one(db, who, 9)[0], low, at=NOW + timedelta(days=10))
    assert again.card == "yellow"  # the lifted card no longer counts


def test_the_dashboard_counts_stars_cards_visits_and_days(db: Session) -> None:
    ids, who = setup(db, 2)
    low = {**ALL_PASS, "facilities": "fail", "functions": "fail", "layout": "fail", "rules": "fail"}
    result = service.plan_visits(
        db, ADMIN, adcode=CHENGZHONG, month="2026-12", visits=2, seed=1, inspector=who
    )
    first, second = [v.id for v in store.visits_of_plan(db, result.plan_id)]
    visit(db, who, first, ALL_PASS)  # 100: 5 stars
    visit(db, who, second, low, at=NOW - timedelta(days=4))  # 50: 1 star, yellow
    plan_one(db, who, seed=2)  # one more planned, not done
    [row] = [
        d for d in service.dashboard(db, now=NOW + timedelta(days=2)) if d.adcode == CHENGZHONG
    ]
    assert row.stars == {5: 1, 4: 0, 3: 0, 2: 0, 1: 1}
    assert (row.open_cards, row.done, row.planned) == (1, 2, 3)
    assert row.median_days_since_visit == pytest.approx(4.0)  # 2 and 6 days
