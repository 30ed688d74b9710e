"""Every route in the URL map, requested anonymously and as each role, with its expected status.

The table below is the access policy written down.  A route that appears in
the app without a row here fails the test, so nobody adds a page without
deciding who may see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.finder_fixtures import add_place
from tests.household_fixtures import (
    CHENGZHONG,
    KEY_TEXT,
    PASSWORD,
    add_households,
    csrf_from,
    login,
    make_user,
    record,
)

WHO = ("anonymous", "admin", "planner", "caseworker", "auditor", "moderator", "inspector")


@dataclass(frozen=True)
class Expect:
    """Expected status per visitor for one request."""

    method: str
    url: str
    status: dict[str, int]
    data: dict[str, str] = field(default_factory=dict)


def everyone(code: int = 200) -> dict[str, int]:
    return dict.fromkeys(WHO, code)


def only(*roles: str, ok: int = 200, anonymous: int = 302) -> dict[str, int]:
    """Allowed roles get ``ok``; other roles 403; anonymous visitors go to the login page."""
    return {who: ok if who in roles else (anonymous if who == "anonymous" else 403) for who in WHO}


@pytest.fixture
def app_config(app_config: dict[str, object], tmp_path: Path) -> dict[str, object]:
    # Every visitor logs in and posts from 127.0.0.1: lift the per-address limits here.
    # An empty open-data folder, whatever snapshot `make run` left in instance/.
    return {
        **app_config,
        "OPENDATA_DIR": str(tmp_path / "opendata"),
        "HOUSEHOLD_KEY": KEY_TEXT,
        "TRUST_RATE_LIMIT_CLIENT": "1000 per minute",
        "LOGIN_RATE_LIMIT": "100 per minute",
    }


def policy(place_id: int, household_id: str) -> dict[str, list[Expect]]:
    """The access policy: endpoint -> requests and expected statuses."""
    today = date.today().isoformat()
    p, h = place_id, household_id
    return {
        # Public: riders, partners and the API need no account.
        "finder.index": [Expect("GET", "/", everyone())],
        # Probes for orchestrators: no login, nothing private.
        "health.healthz": [Expect("GET", "/healthz", everyone())],
        "health.readyz": [Expect("GET", "/readyz", everyone())],
        # Open data for GIS tools: OGC API - Features, vector tiles, bulk files.
        "ogc.landing": [Expect("GET", "/ogc", everyone())],
        "ogc.api": [Expect("GET", "/ogc/api", everyone())],
        "ogc.conformance": [Expect("GET", "/ogc/conformance", everyone())],
        "ogc.collections": [Expect("GET", "/ogc/collections", everyone())],
        "ogc.collection": [Expect("GET", "/ogc/collections/places", everyone())],
        "ogc.items": [Expect("GET", "/ogc/collections/places/items?limit=1", everyone())],
        "ogc.item": [Expect("GET", f"/ogc/collections/places/items/{p}", everyone())],
        "opendata.tile": [Expect("GET", "/tiles/places/0/0/0.mvt", everyone())],
        "opendata.tilejson": [Expect("GET", "/tiles/places.json", everyone())],
        "opendata.data_page": [Expect("GET", "/data", everyone())],
        # No snapshot is written in this test: the file is missing for everyone alike.
        "opendata.data_file": [Expect("GET", "/data/places.csv", everyone(404))],
        # Metrics: by client address (METRICS_ALLOW, loopback here), not by role.
        "observability.metrics": [Expect("GET", "/metrics", everyone())],
        "finder.place": [Expect("GET", f"/places/{p}", everyone())],
        # The rider's phone (issue 12): "search a place", the PWA's manifest and worker.
        "finder.where": [Expect("GET", "/where.json?q=武侯区", everyone())],
        "finder.manifest": [Expect("GET", "/manifest.webmanifest", everyone())],
        "finder.service_worker": [Expect("GET", "/sw.js", everyone())],
        "finder.place_map_script": [Expect("GET", f"/places/{p}/map.js", everyone())],
        "finder.map_script": [
            Expect("GET", "/maps/finder.js", everyone()),
            Expect("GET", "/maps/embed.js", everyone()),
        ],
        "directory.index": [Expect("GET", "/places", everyone())],
        "embed.embed": [Expect("GET", "/embed", everyone())],
        "embed.builder": [Expect("GET", "/embed/builder", everyone())],
        "api.list_places": [Expect("GET", "/api/v1/places", everyone())],
        "api.place": [Expect("GET", f"/api/v1/places/{p}", everyone())],
        "api.changes": [
            Expect("GET", "/api/v1/places/changes?since=2020-01-01T00:00:00Z", everyone())
        ],
        "api.clusters": [
            Expect("GET", "/api/v1/places/clusters?bbox=101.7,36.5,101.9,36.7&zoom=12", everyone())
        ],
        "api.nearest": [Expect("GET", "/api/v1/places/nearest?lon=101.778&lat=36.617", everyone())],
        "api.openapi_json": [Expect("GET", "/api/v1/openapi.json", everyone())],
        "api.docs": [Expect("GET", "/api/v1/docs", everyone())],
        "static": [Expect("GET", "/static/css/yitu.css", everyone())],
        # Workers' reports, confirmations, check-ins, receipts, QR links (issue 10): public.
        "trust.api_report": [
            Expect("POST", f"/api/v1/places/{p}/reports", everyone(400), {"type": "no-such-type"})
        ],
        "trust.api_confirm": [Expect("POST", f"/api/v1/places/{p}/confirmations", everyone(201))],
        "trust.api_checkin": [Expect("POST", f"/api/v1/places/{p}/checkins", everyone(201))],
        "trust.api_receipt": [Expect("GET", "/api/v1/reports/ABCDEFGHJK", everyone(404))],
        "trust.confirm_form": [Expect("POST", f"/places/{p}/confirm", everyone(302))],
        "trust.checkin_form": [Expect("POST", f"/places/{p}/checkin", everyone(302))],
        "trust.report_form": [Expect("GET", f"/places/{p}/report", everyone())],
        "trust.receipt_page": [Expect("GET", "/reports/ABCDEFGHJK", everyone(404))],
        "trust.public_photo": [Expect("GET", "/reports/ABCDEFGHJK/photo.jpg", everyone(404))],
        "trust.short_link": [Expect("GET", "/s/NO-SUCH-STATION", everyone(404))],
        "trust.short_place_link": [Expect("GET", f"/p/{p}", everyone(302))],
        "trust.poster": [Expect("GET", f"/places/{p}/poster.svg", everyone())],
        # Moderation of workers' reports: admins.
        "trust.queue_page": [Expect("GET", "/admin/trust/", only("admin", "moderator"))],
        "trust.moderate": [
            Expect(
                "POST",
                "/admin/trust/reports/999999",
                only("admin", "moderator", ok=404),
                {"action": "fix"},
            )
        ],
        "trust.private_photo": [
            Expect(
                "GET", "/admin/trust/reports/999999/photo.jpg", only("admin", "moderator", ok=404)
            )
        ],
        "trust.district_posters": [
            Expect(
                "GET", f"/admin/trust/posters/{CHENGZHONG}.pdf", only("admin", "moderator", ok=404)
            )
        ],
        # Accounts.
        "auth.login": [
            Expect("GET", "/auth/login", {**everyone(302), "anonymous": 200}),
            Expect(
                "POST",
                "/auth/login",
                everyone(401),
                {"username": "nobody", "password": "not the password"},
            ),
        ],
        "auth.account": [
            Expect("GET", "/auth/account", only(*WHO[1:])),
            Expect(
                "POST",
                "/auth/account",
                only(*WHO[1:], ok=400),
                {"current": "wrong current password", "new": "irrelevant new passphrase"},
            ),
        ],
        # Station management: admins.
        "admin.index": [Expect("GET", "/admin/", only("admin"))],
        "admin.new_place": [Expect("GET", "/admin/places/new", only("admin"))],
        "admin.place": [Expect("GET", f"/admin/places/{p}", only("admin"))],
        "admin.edit_place": [Expect("GET", f"/admin/places/{p}/edit", only("admin"))],
        "admin.verify": [Expect("POST", f"/admin/places/{p}/verify", only("admin", ok=302))],
        "admin.change_status": [
            Expect(
                "POST", f"/admin/places/{p}/status", only("admin", ok=302), {"action": "suspend"}
            )
        ],
        "admin.checklist": [
            Expect("POST", f"/admin/places/{p}/checklist", only("admin", ok=302), {"ok_sign": "1"})
        ],
        "admin.users": [Expect("GET", "/admin/users", only("admin"))],
        "admin.set_user_active": [
            Expect("POST", "/admin/users/999999/active", only("admin", ok=404), {"active": "1"})
        ],
        # The household register: caseworkers of the district only.
        "cases.index": [Expect("GET", "/cases/", only("caseworker"))],
        "cases.search": [
            Expect("GET", "/cases/search", only("caseworker")),
            Expect("POST", "/cases/search", only("caseworker"), {"household_no": "none"}),
        ],
        "cases.household": [Expect("GET", f"/cases/households/{h}", only("caseworker"))],
        "cases.add_visit": [
            Expect(
                "POST",
                f"/cases/households/{h}/visits",
                only("caseworker", ok=302),
                {"visited_on": today},
            )
        ],
        "cases.add_support": [
            Expect(
                "POST",
                f"/cases/households/{h}/support",
                only("caseworker", ok=302),
                {"given_on": today, "kind": "warmth", "amount_yuan": "100"},
            )
        ],
        "cases.map_page": [Expect("GET", "/cases/map", only("caseworker"))],
        "cases.map_js": [Expect("GET", "/cases/map.js", only("caseworker"))],
        "cases.export": [
            Expect("GET", "/cases/export.csv", only("caseworker")),
            Expect("GET", "/cases/export.xlsx", only("caseworker")),
        ],
        # Planners (and admins) see households only as k-anonymous cells.
        "cases.cells_page": [Expect("GET", "/households/cells", only("planner", "admin"))],
        "cases.cells_js": [Expect("GET", "/households/cells.js", only("planner", "admin"))],
        "cases.cells_geojson": [
            Expect("GET", "/households/cells.geojson", only("planner", "admin"))
        ],
        # Planning: planners and admins (PLANNER_PUBLIC is off by default).
        "planner.index": [Expect("GET", "/planner/", only("planner", "admin"))],
        "planner.map_js": [Expect("GET", "/planner/map.js", only("planner", "admin"))],
        # No rider activity is stored here: past the gate, these answer 400 about
        # the missing question/data, which still tells them apart from 403/302.
        "planner.curve": [Expect("GET", "/planner/curve.svg", only("planner", "admin", ok=400))],
        "planner.report": [Expect("GET", "/planner/report.pdf", only("planner", "admin", ok=400))],
        "planner.coverage_export": [
            Expect("GET", "/planner/gaps.geojson", only("planner", "admin", ok=400))
        ],
        "planner.sites_export": [
            Expect("GET", "/planner/sites.csv", only("planner", "admin", ok=400))
        ],
        "planner.checkins_export": [
            Expect("GET", "/planner/checkins.csv", only("planner", "admin"))
        ],
        # Inspections (issue 11): admins plan and decide removals; inspectors see
        # only their own visits (999999 is nobody's: 404 past the gate).
        "inspections.admin_index": [Expect("GET", "/admin/inspections/", only("admin"))],
        "inspections.monthly_report": [
            Expect("GET", "/admin/inspections/report?district=630103&month=2026-12", only("admin"))
        ],
        "inspections.export_visits": [
            Expect("GET", "/admin/inspections/visits.csv", only("admin"))
        ],
        "inspections.plan": [
            Expect("POST", "/admin/inspections/plans", only("admin", ok=400), {"district": "99"})
        ],
        "inspections.decide": [
            Expect(
                "POST",
                "/admin/inspections/removals/999999",
                only("admin", ok=404),
                {"decision": "confirm"},
            )
        ],
        "inspections.my_visits": [Expect("GET", "/inspect/", only("inspector"))],
        "inspections.visit_form": [
            Expect("GET", "/inspect/visits/999999", only("inspector", ok=404))
        ],
        "inspections.record": [
            Expect(
                "POST", "/inspect/visits/999999", only("inspector", ok=404), {"item_sign": "pass"}
            )
        ],
        # Auditors.
        "audit.index": [Expect("GET", "/audit/", only("auditor"))],
        # Last: logging out ends each visitor's session.
        "auth.logout": [Expect("POST", "/auth/logout", only(*WHO[1:], ok=302))],
    }


def visitors(app: Flask, db: Session) -> dict[str, FlaskClient]:
    clients = {"anonymous": app.test_client()}
    for role in WHO[1:]:
        user = make_user(
            db,
            role,
            districts=(CHENGZHONG,) if role in ("caseworker", "moderator", "inspector") else (),
        )
        clients[role] = app.test_client()
        login(clients[role], user.username, PASSWORD)
    return clients


def request(client: FlaskClient, expect: Expect) -> int:
    if expect.method == "GET":
        with client.get(expect.url) as response:
            return response.status_code
    # Every form carries its CSRF token; the matrix tests authorisation, not CSRF.
    token = csrf_from(_token_page(client))
    with client.post(expect.url, data={**expect.data, "csrf_token": token}) as response:
        return response.status_code


def _token_page(client: FlaskClient) -> str:
    """A page with a form for this visitor (the login page, or their account page)."""
    page = client.get("/auth/login")
    if page.status_code == 302:
        page = client.get("/auth/account")
    return page.get_data(as_text=True)


def test_every_route_has_a_policy_and_every_visitor_gets_the_expected_status(
    app: Flask, db: Session
) -> None:
    place_id = add_place(db, 101.778, 36.617, city="西宁市")
    [household_id] = add_households(db, [record(adcode=CHENGZHONG)])
    table = policy(place_id, household_id)
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert sorted(endpoints - set(table)) == [], "routes without an access policy"
    assert sorted(set(table) - endpoints) == [], "policy rows for routes that do not exist"
    clients = visitors(app, db)
    wrong = []
    checked = 0
    for endpoint, expectations in table.items():
        for expect in expectations:
            for who, client in clients.items():
                got = request(client, expect)
                checked += 1
                if got != expect.status[who]:
                    wrong.append(
                        f"{who} {expect.method} {expect.url}: {got}, "
                        f"expected {expect.status[who]} ({endpoint})"
                    )
    assert wrong == [], "\n".join(wrong)
    assert checked == sum(len(e) for e in table.values()) * len(WHO)


def test_matrix_helpers() -> None:
    assert only("admin") == {
        "anonymous": 302,
        "admin": 200,
        "planner": 403,
        "caseworker": 403,
        "auditor": 403,
        "moderator": 403,
        "inspector": 403,
    }
    assert everyone(401) == dict.fromkeys(WHO, 401)
