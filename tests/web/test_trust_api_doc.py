"""The workers' API in the OpenAPI document and the docs page; trust flags in the changes feed."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.finder_fixtures import add_place


def test_openapi_documents_the_workers_api(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/api/v1/places/{place_id}/reports",
        "/api/v1/places/{place_id}/confirmations",
        "/api/v1/places/{place_id}/checkins",
    ):
        responses = doc["paths"][path]["post"]["responses"]
        assert {"201", "400", "404", "413", "429"} <= set(responses)
    assert "get" in doc["paths"]["/api/v1/reports/{receipt}"]
    assert "ReportStatus" in doc["components"]["schemas"]
    page = client.get("/api/v1/docs?lang=en").get_data(as_text=True)
    assert "POST /api/v1/places/{place_id}/reports" in page and "Report a problem" in page


def test_changes_feed_carries_open_reports_and_fact_dates(client: FlaskClient, db: Session) -> None:
    place = add_place(db, 101.778, 36.617, amenities=["water", "hot_water"])
    quiet = add_place(db, 101.779, 36.617)
    client.post(
        f"/api/v1/places/{place}/reports", json={"type": "amenity_missing", "amenity": "hot_water"}
    )
    client.post(f"/api/v1/places/{place}/confirmations", json={"facts": ["hours"]})
    # The feed stops CHANGES_LAG before now: move both places into its window.
    db.execute(
        text("UPDATE places SET updated_at = now() - interval '1 hour' WHERE id IN (:a, :b)"),
        {"a": place, "b": quiet},
    )
    feed = client.get("/api/v1/places/changes?since=2020-01-01T00:00:00Z").get_json()
    by_id = {f["properties"]["id"]: f["properties"] for f in feed["features"]}
    assert by_id[place]["trust"]["open_reports"] == ["amenity_missing:hot_water"]
    assert "hours" in by_id[place]["trust"]["confirmed"]
    assert by_id[quiet]["trust"] == {"open_reports": [], "confirmed": {}}
