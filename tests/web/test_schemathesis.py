"""schemathesis over /api/v1/openapi.json with the whole app stack and households stored.

Complements ``tests/web/test_api.py`` (which validates answers against the
document): here every generated request, valid or not, must get an answer
below 500 that carries the security headers, has no traceback, and holds no
household data -- with a register stored in the same database.  (The
operations are looped over by hand: schemathesis' pytest plugin does not run
under this pytest.)
"""

from __future__ import annotations

from collections import Counter

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from sqlalchemy.orm import Session

from tests.finder_fixtures import HOSTILE_NAMES, add_place
from tests.household_fixtures import CHENGZHONG, add_households, record

EXAMPLES_PER_OPERATION = 80


def test_fuzzed_api_has_no_server_error_no_traceback_and_no_household(
    app: Flask, db: Session
) -> None:
    households = [record(adcode=CHENGZHONG, lon=101.7781 + i * 1e-4, lat=36.6172) for i in range(3)]
    add_households(db, households)
    personal = [v for r in households for v in (r.name, r.id_number, r.phone, r.address)]
    for i, name in enumerate(HOSTILE_NAMES):
        add_place(db, 101.70 + i * 0.01, 36.65, name=name, city="西宁市")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    statuses: Counter[int] = Counter()
    problems: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy())
        def check(case) -> None:  # noqa: ANN001
            # The WSGI transport does not decode brotli/gzip (web/assets.py compresses).
            response = case.call(headers={"Accept-Encoding": "identity"})
            statuses[response.status_code] += 1
            where = f"{case.method} {case.formatted_path} {case.query}"
            body = response.text
            if response.status_code >= 500:
                problems.append(f"{where}: {response.status_code}")
            if "Traceback" in body:
                problems.append(f"{where}: traceback in the body")
            headers = {k.lower(): v for k, v in response.headers.items()}
            if headers.get("x-content-type-options") != ["nosniff"]:
                problems.append(f"{where}: no nosniff")
            if "default-src 'self'" not in headers.get("content-security-policy", [""])[0]:
                problems.append(f"{where}: no CSP")
            problems.extend(
                f"{where}: household value in the answer" for v in personal if v in body
            )

        check()
    assert operations >= 5
    assert problems == []
    assert sum(n for code, n in statuses.items() if code >= 500) == 0
    assert statuses[200] > 0 and statuses[400] > 0  # both valid and invalid requests ran
