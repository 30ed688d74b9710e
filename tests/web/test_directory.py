"""The place directory page (/places)."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session


def add_place(
    db: Session, name: str, *, kind: str = "station", demo: bool = False, district: str = "城中区"
) -> None:
    db.execute(
        text(
            "INSERT INTO places (kind, name, source, external_id, source_crs, geom, district, city, is_demo, "
            "opening_hours_text, amenities) VALUES (:kind, :name, 'test', :name, 'wgs84', "
            "ST_SetSRID(ST_MakePoint(101.78, 36.62), 4326), :district, '西宁市', :demo, '08:00-20:00', "
            "'{water,toilet}')"
        ),
        {"kind": kind, "name": name, "demo": demo, "district": district},
    )
    db.flush()


def test_lists_places_with_labels(client: FlaskClient, db: Session) -> None:
    add_place(db, "工人文化宫驿站")
    add_place(db, "职工书屋一号", kind="reading_nook")
    page = client.get("/places").get_data(as_text=True)
    assert "工人文化宫驿站" in page and "职工书屋一号" in page
    assert "饮用水" in page and "卫生间" in page  # amenity labels in Chinese by default
    english = client.get("/places?lang=en").get_data(as_text=True)
    assert "Drinking water" in english


def test_filters_by_kind(client: FlaskClient, db: Session) -> None:
    add_place(db, "工人文化宫驿站")
    add_place(db, "职工书屋一号", kind="reading_nook")
    page = client.get("/places?kind=reading_nook").get_data(as_text=True)
    assert "职工书屋一号" in page and "工人文化宫驿站" not in page


def test_demo_places_are_labelled(client: FlaskClient, db: Session) -> None:
    add_place(db, "演示驿站", demo=True)
    page = client.get("/places").get_data(as_text=True)
    assert "demo-notice" in page and "demo-tag" in page


def test_hostile_names_are_escaped(client: FlaskClient, db: Session) -> None:
    add_place(db, "<img src=x onerror=alert(1)> ${document.title='PWNED'} `x`")
    page = client.get("/places").get_data(as_text=True)
    assert "<img src=x" not in page and "${document" not in page and "`x`" not in page
    assert "&lt;img src=x onerror=alert(1)&gt; &#36;&#123;document.title=" in page


def test_bad_parameters_are_400_with_a_reason(client: FlaskClient) -> None:
    response = client.get("/places?page=zero")
    assert response.status_code == 400 and "page" in response.get_data(as_text=True)
    response = client.get("/places?kind=castle")
    assert response.status_code == 400 and "castle" in response.get_data(as_text=True)
