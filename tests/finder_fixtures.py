"""Helpers shared by the finder's tests (db, web, browser): insert places quickly."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from geo.db.models import Place

_counter = itertools.count(1)

# Names that would run script if any path forgot to escape (SECURITY.md point 1).
HOSTILE_NAMES = (
    "<img src=x onerror=alert(1)>",
    "A ${document.title=/PWNED/.source} B",
    "`;document.title='PWNED-BACKTICK';`",
    '"><svg onload=alert(1)>',
)


def place_values(lon: float, lat: float, **fields: Any) -> dict[str, Any]:
    """Return column values for one place at WGS-84 ``lon``/``lat``."""
    n = next(_counter)
    values: dict[str, Any] = {
        "kind": "station",
        "name": f"测试驿站 {n}",
        "source": "test",
        "external_id": f"t{n}",
        "source_crs": "wgs84",
        "status": "active",
        "amenities": ["water", "seating"],
        "opening_hours": "24/7",
        "opening_hours_text": "24小时",
    }
    if "opening_hours" in fields and "opening_hours_text" not in fields:
        values["opening_hours_text"] = None  # do not pair other hours with "24小时"
    values.update(fields)
    values["geom"] = text(f"ST_SetSRID(ST_MakePoint({float(lon)!r}, {float(lat)!r}), 4326)")
    return values


def add_place(session: Session, lon: float, lat: float, **fields: Any) -> int:
    """Insert one place and return its id (the test's transaction is rolled back)."""
    values = place_values(lon, lat, **fields)
    geom = values.pop("geom")
    stmt = insert(Place).values(**values, geom=geom).returning(Place.id)
    place_id = session.execute(stmt).scalar_one()
    session.flush()
    return int(place_id)


def add_places(session: Session, rows: Iterable[Mapping[str, Any]]) -> list[int]:
    """Insert several places given as mappings with ``lon``, ``lat`` and fields."""
    ids = []
    for row in rows:
        fields = dict(row)
        ids.append(add_place(session, fields.pop("lon"), fields.pop("lat"), **fields))
    return ids
