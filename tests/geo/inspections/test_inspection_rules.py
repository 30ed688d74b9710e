"""The scoring, star, card and draw rules on cases small enough to check by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from geo.errors import InvalidInput
from geo.inspections.draw import Candidate, distance_m, draw_visits
from geo.inspections.scoring import PastVisit, card_for, score_visit, stars
from geo.inspections.standards import parse_standard, shipped_standards

SMALL = {
    "code": "small",
    "version": 1,
    "name": "小标准",
    "pass_score": 60,
    "window_days": 90,
    "hours_item": "hours",
    "star_visits": 2,
    "items": [
        {"key": "hours", "name": "开放", "weight": 5, "serious": True},
        {"key": "clean", "name": "整洁", "weight": 3},
        {"key": "sign", "name": "标识", "weight": 2},
    ],
    "stars": [
        {"min_score": 0, "stars": 1},
        {"min_score": 50, "stars": 3},
        {"min_score": 90, "stars": 5},
    ],
}
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def small():  # noqa: ANN201
    return parse_standard(SMALL)


def test_score_is_passed_weight_over_applicable_weight() -> None:
    s = small()
    assert score_visit(s, {"hours": "pass", "clean": "pass", "sign": "pass"}).score == 100
    # 5 of 10 -> 50
    assert score_visit(s, {"hours": "pass", "clean": "fail", "sign": "fail"}).score == 50
    # sign n.a.: 5 of 8 = 62.5 -> 63 (half up)
    result = score_visit(s, {"hours": "pass", "clean": "fail", "sign": "na"})
    assert (result.score, result.failed, result.serious_failed) == (63, ("clean",), ())
    hours = score_visit(s, {"hours": "fail", "clean": "pass", "sign": "pass"})
    assert (hours.score, hours.serious_failed, hours.hours_failed) == (50, ("hours",), True)


@pytest.mark.parametrize(
    ("outcomes", "field"),
    [
        ({"hours": "pass", "clean": "pass", "sign": "pass", "wifi": "pass"}, "item_wifi"),
        ({"hours": "pass", "clean": "pass"}, "item_sign"),
        ({"hours": "pass", "clean": "maybe", "sign": "pass"}, "item_clean"),
        ({"hours": "na", "clean": "na", "sign": "na"}, "items"),
    ],
)
def test_bad_outcomes_name_their_field(outcomes: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        score_visit(small(), outcomes)
    assert err.value.field == field


def test_stars_from_the_mean_of_the_last_visits() -> None:
    s = small()
    assert stars(s, []) is None
    assert stars(s, [100]) == 5
    assert stars(s, [100, 80, 0]) == 5  # the last two: (100 + 80) / 2 = 90
    assert stars(s, [90, 80]) == 3  # 85
    assert stars(s, [40, 100]) == 3  # 70
    assert stars(s, [40, 50]) == 1  # 45


def test_stars_boundary_reaches_the_rule() -> None:
    assert stars(small(), [95, 85]) == 5  # exactly 90


def test_yellow_for_a_low_score_or_a_serious_failure() -> None:
    s = small()
    ok = score_visit(s, {"hours": "pass", "clean": "pass", "sign": "fail"})  # 80
    assert card_for(s, ok, visited_at=T0, past=[]).card is None
    low = score_visit(s, {"hours": "pass", "clean": "fail", "sign": "fail"})  # 50 < 60
    assert card_for(s, low, visited_at=T0, past=[]).reasons == ("below_pass_score",)
    medicine = parse_standard(
        {
            **SMALL,
            "items": [
                *SMALL["items"],
                {"key": "medicine", "name": "药品", "weight": 1, "serious": True},
            ],
        }
    )
    serious = score_visit(
        medicine, {"hours": "pass", "clean": "pass", "sign": "pass", "medicine": "fail"}
    )  # 91, but serious
    decision = card_for(medicine, serious, visited_at=T0, past=[])
    assert (decision.card, decision.reasons) == ("yellow", ("serious:medicine",))


def test_red_for_a_second_yellow_within_the_window_only() -> None:
    s = small()
    low = score_visit(s, {"hours": "pass", "clean": "fail", "sign": "fail"})
    inside = [PastVisit(T0 - timedelta(days=89), "yellow", False)]
    outside = [PastVisit(T0 - timedelta(days=91), "yellow", False)]
    assert card_for(s, low, visited_at=T0, past=inside).card == "red"
    assert card_for(s, low, visited_at=T0, past=outside).card == "yellow"
    # A clean visit after a yellow earns nothing.
    ok = score_visit(s, {"hours": "pass", "clean": "pass", "sign": "pass"})
    assert card_for(s, ok, visited_at=T0, past=inside).card is None


def test_red_for_failing_the_hours_twice_even_without_a_past_card() -> None:
    s = small()
    hours = score_visit(s, {"hours": "fail", "clean": "pass", "sign": "pass"})
    past = [PastVisit(T0 - timedelta(days=10), None, True)]
    decision = card_for(s, hours, visited_at=T0, past=past)
    assert decision.card == "red"
    assert "hours_failed_twice" in decision.reasons


def test_standard_errors_name_the_field() -> None:
    bad_weight = {**SMALL, "items": [{"key": "a", "name": "甲", "weight": 0}]}
    with pytest.raises(InvalidInput) as err:
        parse_standard(bad_weight)
    assert err.value.field == "items[0].weight"
    with pytest.raises(InvalidInput) as err:
        parse_standard({**SMALL, "hours_item": "nope"})
    assert err.value.field == "hours_item"
    with pytest.raises(InvalidInput) as err:
        parse_standard({**SMALL, "stars": [{"min_score": 10, "stars": 2}]})
    assert err.value.field == "stars"


def test_shipped_standards_parse_and_name_the_complaint_items() -> None:
    shipped = {s.code: s for s in shipped_standards()}
    assert set(shipped) == {"qinghai-six-haves", "eight-haves", "complaints"}
    for standard in shipped.values():
        keys = {i.key for i in standard.items}
        assert {"open_hours", "medicine", "equipment", "clean", "sign", "map"} <= keys
        assert standard.hours_item == "open_hours"
    assert len(shipped["eight-haves"].items) == len(shipped["qinghai-six-haves"].items) + 2
    assert [s.code for s in shipped.values() if s.default] == ["qinghai-six-haves"]


def test_the_draw_is_stratified_and_repeatable() -> None:
    cands = [
        Candidate(1, 2, date(2026, 1, 1)),
        Candidate(2, 0, None),
        Candidate(3, 0, date(2025, 1, 1)),
        Candidate(4, 0, date(2026, 11, 1)),
        Candidate(5, 1, None),
        *[Candidate(i, 0, date(2026, 10, 1)) for i in range(6, 20)],
    ]
    drawn = draw_visits(cands, 10, seed=42)
    assert drawn == draw_visits(list(reversed(cands)), 10, seed=42)
    assert len(drawn) == 10 and len({p for p, _ in drawn}) == 10
    # 40% of 10 = 4 reported slots, only two reported places: both drawn first.
    assert sorted(p for p, s in drawn if s == "reported") == [1, 5]
    # Then stale up to 70% (7 visits): never inspected (2) first, then 2025 (3).
    stale = [p for p, s in drawn if s == "stale"]
    assert stale[:2] == [2, 3] and len(stale) == 5
    assert sum(1 for _, s in drawn if s == "random") == 3
    assert draw_visits(cands, 10, seed=43) != drawn
    with pytest.raises(InvalidInput) as err:
        draw_visits(cands, 0, seed=1)
    assert err.value.field == "visits"


def test_distance_in_metres() -> None:
    # 0.001 degree of latitude is about 111 m.
    assert distance_m(101.778, 36.617, 101.778, 36.618) == pytest.approx(111.2, abs=0.5)
    assert distance_m(101.778, 36.617, 101.778, 36.617) == 0


def test_a_clean_reinspection_lifts_the_card_so_the_next_yellow_is_not_red() -> None:
    s = small()
    low = score_visit(s, {"hours": "pass", "clean": "fail", "sign": "fail"})  # 50: yellow
    ok = score_visit(s, {"hours": "pass", "clean": "pass", "sign": "pass"})
    yellow = PastVisit(T0 - timedelta(days=30), "yellow", False)
    # The re-inspection (已整改) earns no card and lifts the open yellow card.
    assert card_for(s, ok, visited_at=T0 - timedelta(days=10), past=[yellow]).lifts is True
    assert card_for(s, ok, visited_at=T0, past=[]).lifts is False
    lifted = [yellow, PastVisit(T0 - timedelta(days=10), None, False)]
    assert card_for(s, low, visited_at=T0, past=lifted).card == "yellow"
    # Without the re-inspection the same yellow would be a second one: red.
    assert card_for(s, low, visited_at=T0, past=[yellow]).card == "red"
