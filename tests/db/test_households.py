"""The household register in PostGIS: sealing, scoping, search, visits, support, import."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo.db import households as register
from geo.db.audit import AuditEntry
from geo.errors import HouseholdNotFound, InvalidInput
from geo.places.ledger import Report
from geo.register.households import HouseholdImportOptions, parse_amount
from tests.household_fixtures import (
    CASEWORKER,
    CHENGXI,
    CHENGZHONG,
    add_households,
    cipher,
    record,
)

TODAY = date(2026, 1, 15)


def stored_bytes(db: Session, household_id: str) -> bytes:
    """Every bytea and text value of one stored row, concatenated (what a dump would hold)."""
    row = (
        db.execute(text("SELECT * FROM households.households WHERE id = :id"), {"id": household_id})
        .mappings()
        .one()
    )
    return b"|".join(v if isinstance(v, bytes) else str(v).encode() for v in row.values())


def test_personal_fields_are_stored_only_as_ciphertext(db: Session) -> None:
    rec = record()
    [hid] = add_households(db, [rec])
    raw = stored_bytes(db, hid)
    for value in (rec.name, rec.id_number, rec.phone, rec.address, rec.employer):
        assert value and value.encode() not in raw
    detail = register.get_household(db, cipher(), hid, CASEWORKER, districts=(CHENGZHONG,))
    assert (detail.summary.name, detail.id_number, detail.phone, detail.address) == (
        rec.name,
        rec.id_number,
        rec.phone,
        rec.address,
    )
    assert detail.lon == pytest.approx(rec.lon) and detail.lat == pytest.approx(rec.lat)


def test_the_database_refuses_plain_text_in_a_sealed_column(db: Session) -> None:
    [hid] = add_households(db, [record()])
    with pytest.raises(IntegrityError, match="personal_fields_sealed"), db.begin_nested():
        db.execute(
            text(
                "UPDATE households.households SET phone_ct = convert_to('13900000000', "
                "'UTF8') WHERE id = :id"
            ),
            {"id": hid},
        )


def test_reimport_keeps_ids_skips_unchanged_rows_and_rewrites_changed_ones(db: Session) -> None:
    first, second = record(), record()
    ids = add_households(db, [first, second])
    report = Report(source="again")
    counts = register.write_households(
        db,
        cipher(),
        [(1, first), (2, second.__class__(**{**second.__dict__, "phone": "13912345678"}))],
        report,
        CASEWORKER,
    )
    assert counts == {"inserted": 0, "updated": 1, "unchanged": 1}
    detail = register.get_household(db, cipher(), ids[1], CASEWORKER, districts=None)
    assert detail.phone == "13912345678"  # re-sealed for the same row id: still opens


def test_caseworkers_see_only_their_districts(db: Session) -> None:
    mine, theirs = add_households(db, [record(adcode=CHENGZHONG), record(adcode=CHENGXI)])
    rows, total = register.list_households(db, cipher(), CASEWORKER, districts=(CHENGZHONG,))
    assert mine in {str(r.id) for r in rows} and theirs not in {str(r.id) for r in rows}
    assert total == sum(1 for r in rows)
    with pytest.raises(HouseholdNotFound):
        register.get_household(db, cipher(), theirs, CASEWORKER, districts=(CHENGZHONG,))
    with pytest.raises(HouseholdNotFound):
        register.get_household(db, cipher(), "not-a-uuid", CASEWORKER, districts=(CHENGZHONG,))
    assert [str(p.id) for p in register.map_points(db, CASEWORKER, districts=(CHENGXI,))] == [
        theirs
    ]


def test_an_empty_scope_sees_nothing(db: Session) -> None:
    add_households(db, [record()])
    assert register.list_households(db, cipher(), CASEWORKER, districts=())[1] == 0


def test_exact_search_by_name_id_phone_without_decrypting(db: Session) -> None:
    target, other = record(name="钱 建国"), record()
    hid, _ = add_households(db, [target, other])
    scope = (CHENGZHONG,)
    for terms in (
        {"name": "钱建国"},
        {"id_number": target.id_number.lower()},
        {"phone": "+86 " + target.phone},
        {"household_no": target.household_no},
    ):
        found = register.search_households(db, cipher(), CASEWORKER, districts=scope, **terms)
        assert [str(r.id) for r in found] == [hid], terms
    assert (
        register.search_households(db, cipher(), CASEWORKER, districts=(CHENGXI,), name="钱建国")
        == []
    )
    with pytest.raises(InvalidInput):
        register.search_households(db, cipher(), CASEWORKER, districts=scope)


def test_visits_and_support_are_recorded_with_sealed_notes(db: Session) -> None:
    [hid] = add_households(db, [record()])
    scope = (CHENGZHONG,)
    register.add_visit(
        db,
        cipher(),
        hid,
        CASEWORKER,
        districts=scope,
        visited_on=TODAY,
        notes="母亲住院，需要医疗救助",
        today=TODAY,
    )
    register.add_support(
        db,
        cipher(),
        hid,
        CASEWORKER,
        districts=scope,
        given_on=TODAY,
        kind="warmth",
        amount_yuan=parse_amount("¥1,500.50"),
        notes="春节送温暖",
        today=TODAY,
    )
    register.add_support(
        db,
        cipher(),
        hid,
        CASEWORKER,
        districts=scope,
        given_on=TODAY,
        kind="medical",
        amount_yuan=Decimal("2000"),
        notes=None,
        today=TODAY,
    )
    detail = register.get_household(db, cipher(), hid, CASEWORKER, districts=scope)
    assert [v.notes for v in detail.visits] == ["母亲住院，需要医疗救助"]
    assert detail.support_total_yuan == Decimal("3500.50")
    # The raw bytes: encode(..., 'escape') would turn UTF-8 text into octal
    # escapes, so a text search there could never find the plaintext.
    sealed = (
        db.execute(
            text("SELECT notes_ct FROM households.visits WHERE household_id = :id"), {"id": hid}
        )
        .scalars()
        .all()
    )
    assert len(sealed) == 1 and sealed[0]
    assert "住院".encode() not in bytes(sealed[0])


@pytest.mark.parametrize(
    ("amount", "ok"),
    [
        ("500", True),
        ("500.5", True),
        ("-1", False),
        ("1e9", False),
        ("0.001", False),
        ("abc", False),
        ("NaN", False),
    ],
)
def test_amounts_are_yuan_with_two_decimals(amount: str, ok: bool) -> None:
    if ok:
        assert parse_amount(amount) == Decimal(amount).quantize(Decimal("0.01"))
    else:
        with pytest.raises(InvalidInput):
            parse_amount(amount)


def test_visits_cannot_be_in_the_future_or_outside_the_scope(db: Session) -> None:
    [hid] = add_households(db, [record(adcode=CHENGXI)])
    with pytest.raises(HouseholdNotFound):
        register.add_visit(
            db,
            cipher(),
            hid,
            CASEWORKER,
            districts=(CHENGZHONG,),
            visited_on=TODAY,
            notes=None,
            today=TODAY,
        )
    with pytest.raises(InvalidInput):
        register.add_visit(
            db,
            cipher(),
            hid,
            CASEWORKER,
            districts=(CHENGXI,),
            visited_on=date(2030, 1, 1),
            notes=None,
            today=TODAY,
        )


def test_export_rows_are_decrypted_and_scoped(db: Session) -> None:
    mine = record(adcode=CHENGZHONG, name='=HYPERLINK("http://x")')
    add_households(db, [mine, record(adcode=CHENGXI)])
    rows = list(register.export_rows(db, cipher(), CASEWORKER, districts=(CHENGZHONG,), fmt="csv"))
    assert mine.household_no in [r["household_no"] for r in rows]
    assert all(r["adcode"] == CHENGZHONG for r in rows)


def test_aggregate_is_k_anonymous_over_the_whole_register(db: Session) -> None:
    # 12 households in one cell, 3 in a cell 2 km away.
    add_households(
        db,
        [record(lon=101.7780 + i * 1e-5, lat=36.6170) for i in range(12)]
        + [record(lon=101.80, lat=36.63) for _ in range(3)],
    )
    result = register.aggregate(db, CASEWORKER, resolution=8, k=11)
    assert [c.count for c in result.cells] == [12]
    assert result.has_suppressed


def csv_ledger(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "households.csv"
    path.write_text(
        "档案编号,户主姓名,身份证号,联系电话,家庭住址,行政区划代码,困难类别\n"
        + "\n".join(rows)
        + "\n",
        encoding="utf-8",
    )
    return path


def count(db: Session, source: str) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(register.Household)
            .where(register.Household.source == source)
        )
        or 0
    )


def test_import_is_all_or_nothing_with_a_row_numbered_report(db: Session, tmp_path: Path) -> None:
    good = record()
    ledger = csv_ledger(
        tmp_path,
        [
            f"L-1,{good.name},{good.id_number},{good.phone},城中区1号,630103,因病",
            "L-2,李四,110105194912310021,13800000000,城中区2号,630103,失业",
        ],
    )
    options = HouseholdImportOptions(crs="wgs84", source="ledger-a")
    report = register.import_ledger(db, cipher(), ledger, options, CASEWORKER)
    assert report.rejected_rows == {3}
    assert report.counts == {"inserted": 0, "updated": 0, "unchanged": 0}
    assert count(db, "ledger-a") == 0
    assert "李四" not in str(report.to_dict())


def test_import_writes_and_audits_every_row_of_a_clean_ledger(db: Session, tmp_path: Path) -> None:
    a, b = record(), record()
    ledger = csv_ledger(
        tmp_path,
        [
            f"L-1,{a.name},{a.id_number},{a.phone},城中区1号,630103,因病",
            f"L-2,{b.name},{b.id_number},{b.phone},城中区2号,630104,失业",
        ],
    )
    source = f"ledger-{uuid.uuid4()}"
    options = HouseholdImportOptions(crs="wgs84", source=source)
    report = register.import_ledger(db, cipher(), ledger, options, CASEWORKER)
    assert report.counts == {"inserted": 2, "updated": 0, "unchanged": 0}
    assert count(db, source) == 2
    audited = db.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "import", AuditEntry.detail["source"].astext == source)
    )
    assert audited == 2
    again = register.import_ledger(db, cipher(), ledger, options, CASEWORKER, dry_run=True)
    assert again.counts == {"inserted": 0, "updated": 0, "unchanged": 2}
