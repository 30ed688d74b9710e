"""schemathesis over /ogc/api: the OGC OpenAPI document and the parser are one truth.

Every generated request, valid or not, goes through the whole app with
places stored (hostile names among them) and must pass schemathesis'
checks: no server error, documented status codes, content types, headers and
response schemas, and schema-invalid requests rejected.  One check is left
out, with the reason: *positive data acceptance* -- a bbox whose west lies
east of its east, or a datetime of 2024-02-30, is valid by any JSON schema
yet rightly refused by the parser with a 400 naming the parameter.
"""

from __future__ import annotations

from collections import Counter

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from sqlalchemy.orm import Session

from tests.finder_fixtures import HOSTILE_NAMES, add_place

EXAMPLES_PER_OPERATION = 60


def test_ogc_openapi_and_the_routes_agree(app: Flask, db: Session) -> None:
    kinds = ("station", "reading_nook", "breakfast_point", "driver_home")
    for i, name in enumerate(HOSTILE_NAMES * 2):
        add_place(
            db,
            101.70 + i * 0.01,
            36.65,
            name=name,
            kind=kinds[i % 4],
            status=("active", "closed")[i % 2],
        )
    schema = schemathesis.openapi.from_wsgi("/ogc/api", app)
    failures: list[str] = []
    statuses: Counter[int] = Counter()
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
            try:
                # Identity: the WSGI transport does not undo Flask-Compress's gzip.
                response = case.call_and_validate(
                    headers={"Accept-Encoding": "identity"},
                    excluded_checks=[positive_data_acceptance],
                )
            except Exception as exc:  # noqa: BLE001 (collect every failure, then assert)
                failures.append(f"{case.method} {case.formatted_path} {case.query}: {exc}"[:600])
                return
            statuses[response.status_code] += 1
            if response.status_code == 400:
                assert response.json()["field"]

        check()
    assert operations == 6
    assert failures == []
    assert statuses[200] > 0 and statuses[400] > 0 and statuses[404] > 0
