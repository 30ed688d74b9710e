"""A seeded random fuzzer over every public GET route, beside schemathesis.

schemathesis only knows the parameters in the OpenAPI document; this test
also reaches the pages, the embed, the map scripts, OGC and the tiles.  Each
route is first asked once to learn which query parameters it reads (the
request's ``args`` record the names looked up); then each of those, and a few
more from a common list, gets hostile values while the others keep valid ones.
No answer may be a 5xx.  ``YITU_FUZZ_SEED`` replays a run.
"""

from __future__ import annotations

import os
import random
from typing import Any

from flask import Flask, Request
from sqlalchemy.orm import Session
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import AnyConverter, Rule

from tests.finder_fixtures import add_place
from web.openapi import PARAMS

SEED = int(os.environ.get("YITU_FUZZ_SEED", "20250108"))
LON, LAT = 101.78, 36.62
COMMON_NAMES = (
    "limit",
    "k",
    "zoom",
    "page",
    "height",
    "width",
    "lon",
    "lat",
    "bbox",
    "radius_m",
    "kinds",
    "amenities",
    "q",
    "city",
    "cursor",
    "since",
    "open_now",
    "lang",
    "before",
    "size",
    "p",
    "budget",
    "cost",
    "min_open_share",
    "district",
    "datetime",
    "f",
    "crs",
)
NAMES = tuple(sorted(set(COMMON_NAMES) | set(PARAMS)))
HOSTILE = (
    "--1",
    "+-1",
    "²",
    "①",
    "１０１",
    "٣",
    "1e309",
    "-1e309",
    "nan",
    "inf",
    "1_0",
    "1_01.7",
    "",
    " ",
    "0",
    "-1",
    "99999999999999999999",
    "-99999999999999999999",
    "9" * 400,
    "x" * 5000,
    "{{7*191}}",
    "{% raw %}",
    "%00",
    "\x00",
    "'\"<>",
    "1,2,3",
    "１０１.7,36,102,37",
    "101.7,36.6,101.9,nan",
    "0x10",
    "1e3",
    ".",
    "-",
    "\u202e",
    "true",
    "2024-13-45T99:00",
)
# Valid values, so that a route gets past its first check to the parameter fuzzed.
BASELINE = {
    "lon": str(LON),
    "lat": str(LAT),
    "bbox": "101.7,36.6,101.9,36.7",
    "zoom": "12",
    "since": "2024-01-01T00:00:00Z",
    "city": "西宁市",
}
VALUES_PER_NAME = 3
EXTRA_NAMES = 3


class RecordingArgs(ImmutableMultiDict[str, str]):
    """Query arguments that note every name a view looks up."""

    read: set[str] = set()

    def get(self, key: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        RecordingArgs.read.add(key)
        return super().get(key, *args, **kwargs)

    def getlist(self, key: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        RecordingArgs.read.add(key)
        return super().getlist(key, *args, **kwargs)

    def __getitem__(self, key: str) -> Any:
        RecordingArgs.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        RecordingArgs.read.add(str(key))
        return super().__contains__(key)


class RecordingRequest(Request):
    """A request whose ``args`` are :class:`RecordingArgs`."""

    parameter_storage_class = RecordingArgs


def path_of(rule: Rule, place_id: int) -> str | None:
    """The path of ``rule`` with real values, or None if it has a parameter we cannot fill."""
    known: dict[str, Any] = {
        "place_id": place_id,
        "fid": place_id,
        "cid": "places",
        "z": 0,
        "x": 0,
        "y": 0,
    }
    values: dict[str, Any] = {}
    for name in rule.arguments:
        converter = rule._converters[name]  # noqa: SLF001 - werkzeug keeps them only here
        if name in known:
            values[name] = known[name]
        elif isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        else:
            return None
    built = rule.build(values, append_unknown=False)
    return built[1] if built else None


def test_no_public_get_route_answers_5xx_to_hostile_parameters(app: Flask, db: Session) -> None:
    print(f"fuzz seed {SEED} (set YITU_FUZZ_SEED to replay)")
    rng = random.Random(SEED)
    place_id = add_place(db, LON, LAT, name="fuzz station", city="西宁市", district="城中区")
    app.request_class = RecordingRequest
    client = app.test_client()
    failures: list[str] = []
    sent = 0
    fuzzed_routes = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        path = path_of(rule, place_id)
        if "GET" not in (rule.methods or ()) or rule.endpoint == "static" or path is None:
            continue
        read: set[str] = set()
        for query in ({}, BASELINE):
            RecordingArgs.read = set()
            probe = client.get(path, query_string=query)
            read |= RecordingArgs.read
        if probe.status_code in (401, 403) or "/auth/login" in probe.headers.get("Location", ""):
            continue  # not public
        fuzzed_routes.append(rule.rule)
        base = {k: v for k, v in BASELINE.items() if k in read}
        for name in sorted(read & set(NAMES)) + rng.sample(NAMES, EXTRA_NAMES):
            for value in rng.sample(HOSTILE, VALUES_PER_NAME):
                query = {**base, name: value}
                response = client.get(path, query_string=query)
                sent += 1
                if response.status_code >= 500:
                    failures.append(f"{path} {query!r}: {response.status_code}")
    print(f"{sent} requests over {len(fuzzed_routes)} routes: {', '.join(fuzzed_routes)}")
    assert len(fuzzed_routes) >= 15 and sent >= 200
    assert failures == [], f"seed {SEED}"
