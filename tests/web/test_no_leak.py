"""No public page or API answer, and no page of a non-caseworker role, shows a household.

Households with distinctive names, numbers and coordinates are stored next
to ordinary places; every GET route of the access policy is then requested as
every visitor allowed to see it (except caseworkers, who may), plus API and
map queries aimed right at the households, and every answer is searched for
their personal values and coordinates.
"""

from __future__ import annotations

import gzip
import json
import re
from datetime import date

import h3
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from geo.db import households as register
from tests.finder_fixtures import add_place
from tests.household_fixtures import (
    CASEWORKER,
    CHENGZHONG,
    KEY_TEXT,
    add_households,
    cipher,
    login,
    make_user,
    record,
)
from tests.web.test_role_matrix import WHO, policy

# Household locations (WGS-84): within 30 m of the centre of one H3 resolution-8
# cell, so no hexagon vertex of the planners' aggregate (460 m away) can be
# mistaken for one; away from the place at 101.70, 36.65.
_CENTRE_LAT, _CENTRE_LON = h3.cell_to_latlng(h3.latlng_to_cell(36.60987, 101.76543, 8))
SPOTS = [(_CENTRE_LON + i * 0.00002, _CENTRE_LAT + i * 0.000015) for i in range(14)]
NEAR_DEG = 0.0003  # about 30 m: a coordinate this close to a household gives it away
NUMBER = re.compile(r"-?\d{2,3}\.\d{3,}")
NOTE = "家访记录：患者化疗第三期"


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {**app_config, "HOUSEHOLD_KEY": KEY_TEXT}


def secrets_of(records: list) -> list[str]:  # noqa: ANN001
    values = [NOTE]
    for r in records:
        values += [r.name, r.id_number, r.phone, r.address, r.employer, r.household_no]
    return values


def near_households(body: str) -> list[str]:
    """Consecutive number pairs (lon, lat or lat, lon) within about 30 m of a household."""
    numbers = [float(n) for n in NUMBER.findall(body)]
    hits = []
    for a, b in zip(numbers, numbers[1:], strict=False):
        for lon, lat in SPOTS:
            if (abs(a - lon) < NEAR_DEG and abs(b - lat) < NEAR_DEG) or (
                abs(a - lat) < NEAR_DEG and abs(b - lon) < NEAR_DEG
            ):
                hits.append(f"{a},{b}")
                break
    return hits


def leaks(body: str, values: list[str]) -> list[str]:
    # Scripts and JSON may carry Chinese text as \uXXXX escapes: look for that form too.
    return [
        v for v in values if v and (v in body or json.dumps(v)[1:-1] in body)
    ] + near_households(body)


def probe_urls(place_id: int) -> list[str]:
    """Requests aimed at the households (from 200 m away, so the echoed view is not them)."""
    lon, lat = SPOTS[0][0] + 0.002, SPOTS[0][1] + 0.0015
    return [
        f"/api/v1/places/nearest?lon={lon}&lat={lat}&k=50",
        f"/api/v1/places?bbox={lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}",
        f"/api/v1/places/clusters?bbox={lon - 0.05},{lat - 0.05},{lon + 0.05},{lat + 0.05}&zoom=16",
        f"/?lon={lon}&lat={lat}&zoom=17",
        f"/embed?lon={lon}&lat={lat}&zoom=17",
        f"/maps/finder.js?lon={lon}&lat={lat}&zoom=17",
        f"/places/{place_id}",
        "/api/v1/places/changes?since=2000-01-01T00:00:00Z",
    ]


def test_no_household_leaks_to_public_pages_apis_or_other_roles(app: Flask, db: Session) -> None:
    records = [record(adcode=CHENGZHONG, lon=x, lat=y) for x, y in SPOTS]
    ids = add_households(db, records)
    register.add_visit(
        db,
        cipher(),
        ids[0],
        CASEWORKER,
        districts=(CHENGZHONG,),
        visited_on=date(2026, 1, 2),
        notes=NOTE,
        today=date(2026, 1, 3),
    )
    place_id = add_place(db, 101.70, 36.65, city="西宁市", name="城中区职工驿站")
    values = secrets_of(records)

    clients: dict[str, FlaskClient] = {"anonymous": app.test_client()}
    for role in ("admin", "planner", "auditor"):
        user = make_user(db, role)
        clients[role] = app.test_client()
        login(clients[role], user.username)
    # The caseworker reads the households first, so the auditor's page has rows about them.
    caseworker = app.test_client()
    login(caseworker, make_user(db, "caseworker", districts=(CHENGZHONG,)).username)
    assert records[0].name in caseworker.get(f"/cases/households/{ids[0]}").get_data(as_text=True)

    checked = 0
    found: list[str] = []
    for endpoint, expectations in policy(place_id, ids[0]).items():
        for expect in expectations:
            if expect.method != "GET":
                continue
            for who, client in clients.items():
                if expect.status[who] != 200:
                    continue
                with client.get(expect.url) as response:
                    body = readable(response)
                checked += 1
                found += [f"{who} {expect.url}: {v}" for v in leaks(body, values)]
    for url in probe_urls(place_id):
        with clients["anonymous"].get(url) as response:
            assert response.status_code == 200, url
            found += [f"anonymous {url}: {v}" for v in leaks(readable(response), values)]
            checked += 1
    assert found == []
    assert checked > 40


def readable(response: TestResponse) -> str:
    """The body as text a person or a client would read: decompressed, binary kept as text.

    Vector tiles and PDFs are binary; their strings are UTF-8 inside, so decoding
    with replacement keeps every name they might carry findable.
    """
    data = response.get_data()
    if response.headers.get("Content-Encoding") == "gzip" or data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


def test_the_scan_would_catch_a_leak(client: FlaskClient, db: Session) -> None:
    # The same scan on a caseworker's own page does find the values: the test can fail.
    rec = record(adcode=CHENGZHONG, lon=SPOTS[0][0], lat=SPOTS[0][1])
    [hid] = add_households(db, [rec])
    login(client, make_user(db, "caseworker", districts=(CHENGZHONG,)).username)
    body = client.get(f"/cases/households/{hid}").get_data(as_text=True)
    assert set(leaks(body, secrets_of([rec]))) >= {rec.name, rec.id_number, rec.phone}
    assert leaks(json.dumps({"name": rec.name}), [rec.name]) == [rec.name]  # escaped, too
    assert near_households(body)  # the page shows the location: the pair check sees it
    assert near_households(f"[{SPOTS[3][0]:.4f}, {SPOTS[3][1]:.4f}]")  # even rounded to 11 m
    assert WHO[0] == "anonymous"
