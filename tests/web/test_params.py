"""Strict numeric parameters: ASCII digits only, bounds, and a 400 that names the parameter."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from geo.errors import InvalidInput
from tests.finder_fixtures import add_place
from web.params import parse_float, parse_int

NEAR = "lon=101.78&lat=36.62"
BBOX = "bbox=101.7,36.6,101.9,36.7"

# Each of these answered 500 (issue 8, D7).
MALFORMED = [
    ("/api/v1/places?limit=--1", "limit"),
    ("/api/v1/places/changes?since=2024-01-01T00:00:00Z&limit=--1", "limit"),
    (f"/api/v1/places/nearest?{NEAR}&k=²", "k"),
    (f"/api/v1/places/nearest?{NEAR}&k=①", "k"),
    (f"/api/v1/places/clusters?{BBOX}&zoom=--1", "zoom"),
    ("/?zoom=--5", "zoom"),
    ("/embed?zoom=--5", "zoom"),
    ("/maps/finder.js?zoom=--5", "zoom"),
    ("/embed/builder?height=--5", "height"),
    ("/places?page=99999999999999999999", "page"),
]

# float() takes these; the API must not (full-width digits, underscores).
LENIENT_FLOATS = [
    ("/api/v1/places/nearest?lon=１０１.78&lat=36.62", "lon"),
    (f"/api/v1/places/nearest?{NEAR}&radius_m=1_000", "radius_m"),
    ("/api/v1/places?bbox=１０１.7,36.6,101.9,36.7", "bbox"),
]


@pytest.mark.parametrize(("url", "name"), MALFORMED + LENIENT_FLOATS)
def test_malformed_numbers_get_400_naming_the_parameter(
    client: FlaskClient, db: Session, url: str, name: str
) -> None:
    add_place(db, 101.78, 36.62)
    response = client.get(url)
    assert response.status_code == 400, (url, response.status_code)
    body = response.get_data(as_text=True)
    if url.startswith("/api/"):
        problem = response.get_json()
        assert problem["field"] == name
        body = problem["detail"]
    assert f"{name} " in body


def test_the_400_says_the_expected_range(client: FlaskClient) -> None:
    problem = client.get("/api/v1/places?limit=--1").get_json()
    assert problem["detail"] == "limit '--1' is not a whole number; expected a whole number 1..500"
    page = client.get("/places?page=99999999999999999999").get_data(as_text=True)
    assert "expected a whole number 1..1000000" in page


@pytest.mark.parametrize(
    "raw",
    [
        "--1",
        "+-1",
        "²",
        "①",
        "１０１",
        "1_000",
        "1.0",
        "0x10",
        "1e3",
        "",
        " ",
        "1" * 21,
        "\x00",
        "1\n2",
    ],
)
def test_parse_int_takes_only_ascii_digits(raw: str) -> None:
    with pytest.raises(InvalidInput, match=r"^n .*expected a whole number 0\.\.9$") as caught:
        parse_int(raw, "n", lo=0, hi=9)
    assert caught.value.field == "n"


@pytest.mark.parametrize(
    "raw",
    [
        "１０１",
        "1_01.7",
        "nan",
        "NaN",
        "inf",
        "-Infinity",
        "1e309",
        "1e9999",
        "٣",
        "0x1p3",
        "",
        ".",
        "1." * 30,
        "1,5",
    ],
)
def test_parse_float_takes_only_finite_ascii_decimals(raw: str) -> None:
    with pytest.raises(InvalidInput, match=r"^x .*expected a number -1e\+06\.\.1e\+06$"):
        parse_float(raw, "x", lo=-1e6, hi=1e6)


def test_valid_numbers_and_bounds() -> None:
    assert [parse_int(r, "n", lo=-9, hi=9) for r in (" 7 ", "+3", "-9", "007")] == [7, 3, -9, 7]
    assert [parse_float(r, "x", lo=-1e6, hi=1e6) for r in ("1.5", ".5", "-2.", "2e3", "+1E-2")] == [
        1.5,
        0.5,
        -2.0,
        2000.0,
        0.01,
    ]
    with pytest.raises(InvalidInput, match="out of range; expected a whole number 1..9"):
        parse_int("10", "n", lo=1, hi=9)
    with pytest.raises(InvalidInput, match="out of range"):
        parse_float("-0.5", "x", lo=0, hi=1)


def test_valid_pages_and_views_still_answer(client: FlaskClient, db: Session) -> None:
    place = add_place(db, 101.78, 36.62)
    assert client.get("/places?page=1").status_code == 200
    assert client.get("/places?page=").status_code == 200
    assert client.get("/embed/builder?height=600&zoom=12").status_code == 200
    assert client.get("/maps/finder.js?lon=101.78&lat=36.62&zoom=+12").status_code == 200
    body = client.get(f"/api/v1/places/nearest?{NEAR}&k=1&radius_m=2e3").get_json()
    assert [f["id"] for f in body["features"]] == [place]


# Staff pages parsed their numbers by hand (``raw.isdigit()`` takes "²").
STAFF_MALFORMED = [
    ("admin", "/admin/?page=²", "page"),
    ("auditor", "/audit/?before=①", "before"),
    ("caseworker", "/cases/?page=²", "page"),
    ("planner", "/planner/?city=上海市&add=１０１.7,36.6", "add"),
]


@pytest.mark.parametrize(("role", "url", "name"), STAFF_MALFORMED)
def test_staff_pages_refuse_malformed_numbers(
    app_config: dict[str, object], client: FlaskClient, db: Session, role: str, url: str, name: str
) -> None:
    from tests.household_fixtures import KEY_TEXT, login, make_user

    app_config["HOUSEHOLD_KEY"] = KEY_TEXT
    districts = ("630103",) if role == "caseworker" else ()
    login(client, make_user(db, role, districts=districts, username=f"p-{role}").username)
    response = client.get(url)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert name in response.get_data(as_text=True)
