"""Helpers shared by the accounts/households tests (geo, db, web): keys, records, logins."""

from __future__ import annotations

import base64
import itertools
import re
import secrets
from collections.abc import Sequence
from functools import lru_cache

from flask.testing import FlaskClient
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from geo.db import accounts
from geo.db import households as register
from geo.db.audit import Actor
from geo.places.ledger import Report
from geo.register.crypto import FieldCipher
from geo.register.households import HouseholdRecord, validate

# A test-only key; real keys come from YITU_HOUSEHOLD_KEY and never enter the repository.
KEY_TEXT = base64.b64encode(bytes(range(100, 132))).decode()
PASSWORD = "correct horse battery staple"
XINING = (101.778, 36.617)  # WGS-84 lon, lat
CHENGZHONG = "630103"  # 城中区, Xining
CHENGXI = "630104"  # 城西区, Xining
CASEWORKER = Actor(name="case1", role="caseworker", id=None)

_numbers = itertools.count(1)

# Invented people.  The no-leak, dump and audit tests search for these strings.
NAMES = ("赵秀英", "钱建国", "孙丽娟", "周志强", "吴海燕", "郑国庆", "冯桂兰", "陈卫东")


def cipher() -> FieldCipher:
    """The test cipher (same key as ``HOUSEHOLD_KEY`` in the web tests' config)."""
    return FieldCipher.from_sources(key=KEY_TEXT)


def id_number(n: int) -> str:
    """Return a valid invented ID number (born 1970-01-01 plus n days, Xining 630103)."""
    body = f"630103{19700101 + (n % 28):08d}{n % 1000:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def record(
    *,
    adcode: str = CHENGZHONG,
    lon: float | None = XINING[0],
    lat: float | None = XINING[1],
    name: str | None = None,
    source: str = "test",
    **fields: object,
) -> HouseholdRecord:
    """Return a validated household record with unique, recognisable personal values."""
    n = next(_numbers)
    values: dict[str, object] = {
        "source": source,
        "household_no": f"T-{n:05d}",
        "name": name or f"{NAMES[n % len(NAMES)]}{n}",
        "adcode": adcode,
        "category": "illness",
        "id_number": id_number(n),
        "phone": f"139{n:08d}",
        "address": f"西宁市测试路{n}号",
        "employer": f"测试公司{n}",
        "lon": lon,
        "lat": lat,
        "members": 3,
    }
    values.update(fields)
    return validate(HouseholdRecord(**values))  # type: ignore[arg-type]


def add_households(
    db: Session, records: Sequence[HouseholdRecord], actor: Actor = CASEWORKER
) -> list[str]:
    """Write records (sealed) and return their ids as strings, in order."""
    report = Report(source="test")
    register.write_households(db, cipher(), list(enumerate(records, start=1)), report, actor)
    db.flush()
    ids = []
    for r in records:
        found = (
            db.query(register.Household.id)
            .filter_by(source=r.source, household_no=r.household_no)
            .one()
        )
        ids.append(str(found[0]))
    return ids


@lru_cache(maxsize=1)
def password_hash() -> str:
    """One argon2id hash of :data:`PASSWORD`, computed once per test run (hashing is slow)."""
    from web.auth import hash_password

    return hash_password(PASSWORD)


def make_user(
    db: Session, role: str, *, districts: Sequence[str] = (), username: str | None = None
) -> accounts.Account:
    """Create an account with :data:`PASSWORD`."""
    name = username or f"{role}{secrets.token_hex(3)}"
    return accounts.create_user(
        db, username=name, password_hash=password_hash(), role=role, districts=districts
    )


CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def csrf_from(html: str) -> str:
    """Return the CSRF token of the first form in ``html``."""
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> None:
    """Log in through the real form (CSRF token included)."""
    page = client.get("/auth/login")
    response = client.post(
        "/auth/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def post_form(client: FlaskClient, page_url: str, url: str, data: dict[str, str]):  # noqa: ANN201
    """POST ``data`` to ``url`` with the CSRF token taken from ``page_url``."""
    token = csrf_from(client.get(page_url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def as_role(url: str, role: str) -> str:
    """Return ``url`` with the user replaced by a database role (trust auth in the sandbox)."""
    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)
