"""The places table refuses bad rows with the database alone (no application code)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DataError, IntegrityError, InternalError
from sqlalchemy.orm import Session

from geo.places.vocabulary import AMENITIES, HOST_TYPES, KINDS, SIX_HAVE_KEYS, STATUSES

GOOD = {
    "kind": "station",
    "name": "测试驿站",
    "source": "t",
    "external_id": "1",
    "source_crs": "wgs84",
    "geom": "SRID=4326;POINT(113.6 34.7)",
    "amenities": "{water}",
    "six_haves": "{}",
    "status": "active",
}


def insert(db: Session, **changes: object) -> None:
    """Insert one row through raw SQL, bypassing the application."""
    row = {**GOOD, **changes}
    columns = ", ".join(row)
    values = ", ".join(f"CAST(:{c} AS {cast})" if (cast := CASTS.get(c)) else f":{c}" for c in row)
    with db.begin_nested():
        db.execute(text(f"INSERT INTO places ({columns}) VALUES ({values})"), row)


CASTS = {"geom": "geometry", "amenities": "text[]", "six_haves": "jsonb"}


def test_good_row_is_accepted(db: Session) -> None:
    insert(db)
    assert db.scalar(text("SELECT count(*) FROM places WHERE source = 't'")) == 1


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"kind": "bar"}, "kind_known"),
        ({"status": "open"}, "status_known"),
        ({"source_crs": "epsg3857"}, "source_crs_known"),
        ({"build_mode": "rented"}, "build_mode_known"),
        ({"host_type": "casino"}, "host_type_known"),
        ({"amenities": "{water,jacuzzi}"}, "amenities_known"),
        ({"six_haves": '{"sign": true, "free_beer": true}'}, "six_haves_known"),
        ({"six_haves": "[1]"}, "six_haves_known"),
        ({"name": "   "}, "name_not_blank"),
        ({"adcode": "4101"}, "adcode_six_digits"),
        ({"capacity": -1}, "capacity_not_negative"),
        ({"geom": "SRID=4326;POINT(-73.9 40.7)"}, "geom_in_china"),
        ({"geom": "SRID=4326;POINT(34.7 113.6)"}, "geom_in_china"),
        ({"geom": "SRID=4326;POINT EMPTY"}, "geom_valid"),
        ({"geom": "SRID=4326;POINT(NaN 34.7)"}, "geom_"),
    ],
)
def test_bad_rows_are_refused(db: Session, changes: dict[str, object], reason: str) -> None:
    with pytest.raises(IntegrityError, match=reason):
        insert(db, **changes)


@pytest.mark.parametrize(
    "geom",
    ["SRID=3857;POINT(12646000 4120000)", "SRID=4326;LINESTRING(113 34, 114 35)"],
)
def test_geometry_type_and_srid_are_enforced(db: Session, geom: str) -> None:
    with pytest.raises((DataError, IntegrityError, InternalError), match="(?i)srid|geometry type"):
        insert(db, geom=geom)


def test_point_without_srid_is_stored_as_wgs84(db: Session) -> None:
    insert(db, geom="POINT(113.6 34.7)")
    assert db.scalar(text("SELECT ST_SRID(geom) FROM places WHERE source = 't'")) == 4326


@pytest.mark.parametrize("column", ["kind", "name", "geom", "source", "external_id", "source_crs"])
def test_required_columns_are_not_null(db: Session, column: str) -> None:
    with pytest.raises(IntegrityError, match="null value"):
        insert(db, **{column: None})


def test_natural_key_is_unique(db: Session) -> None:
    insert(db)
    with pytest.raises(IntegrityError, match="places_natural_key"):
        insert(db, name="另一个")


def test_geography_mirror_is_generated(db: Session) -> None:
    insert(db)
    metres = db.scalar(
        text(
            "SELECT ST_Distance(geog, ST_SetSRID(ST_MakePoint(113.61, 34.7), 4326)::geography) "
            "FROM places WHERE source = 't'"
        )
    )
    assert 900 < metres < 930  # 0.01 degrees of longitude at 34.7°N is about 914 m


def constraint_words(db: Session, name: str) -> set[str]:
    """Return the quoted words of one CHECK constraint of ``places``."""
    definition = db.scalar(
        text(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :n "
            "AND conrelid = 'places'::regclass"
        ),
        {"n": name},
    )
    return set(re.findall(r"'([a-z_0-9]+)'", definition))


@pytest.mark.parametrize(
    ("name", "vocabulary"),
    [
        ("kind_known", KINDS),
        ("status_known", STATUSES),
        ("amenities_known", AMENITIES),
        ("host_type_known", HOST_TYPES),
        ("six_haves_known", SIX_HAVE_KEYS),
    ],
)
def test_vocabularies_match_database(db: Session, name: str, vocabulary: tuple[str, ...]) -> None:
    """geo/places.py and the migrations agree; a new word needs a new migration."""
    words = constraint_words(db, name) - {"object"}
    assert words == set(vocabulary)
