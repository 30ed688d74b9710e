"""Login, logout, sessions, rate limits, CSRF and cookies, through the real forms."""

from __future__ import annotations

import re
import secrets

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from geo.db import accounts
from geo.db.audit import AuditEntry
from tests.household_fixtures import KEY_TEXT, PASSWORD, csrf_from, login, make_user
from web.auth import check_password_strength, login_required_role, safe_next


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {**app_config, "HOUSEHOLD_KEY": KEY_TEXT}


def session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def test_login_page_has_a_csrf_token_and_no_cache_problem(client: FlaskClient) -> None:
    page = client.get("/auth/login")
    assert page.status_code == 200
    assert csrf_from(page.get_data(as_text=True))


def test_a_form_without_its_csrf_token_gets_400(client: FlaskClient, db: Session) -> None:
    user = make_user(db, "admin")
    response = client.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 400
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_forged_token_gets_400(client: FlaskClient, db: Session) -> None:
    user = make_user(db, "admin")
    client.get("/auth/login")
    response = client.post(
        "/auth/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": "forged"},
    )
    assert response.status_code == 400


def test_login_lands_on_the_role_home_and_is_audited(client: FlaskClient, db: Session) -> None:
    user = make_user(db, "auditor")
    login(client, user.username)
    assert client.get("/auth/account").status_code == 200
    page = client.get("/auth/login")
    assert page.status_code == 302 and page.headers["Location"].endswith("/audit/")
    rows = db.scalars(select(AuditEntry.action).where(AuditEntry.actor == user.username)).all()
    assert rows == ["login"]


def test_wrong_password_is_refused_and_audited(client: FlaskClient, db: Session) -> None:
    user = make_user(db, "admin")
    token = csrf_from(client.get("/auth/login").get_data(as_text=True))
    response = client.post(
        "/auth/login",
        data={"username": user.username, "password": "wrong password here", "csrf_token": token},
    )
    assert response.status_code == 401
    assert client.get("/auth/account").status_code == 302
    failed = db.scalars(select(AuditEntry.action).where(AuditEntry.actor == user.username)).all()
    assert failed == ["login_failed"]


def test_unknown_user_gets_the_same_answer(client: FlaskClient) -> None:
    token = csrf_from(client.get("/auth/login").get_data(as_text=True))
    response = client.post(
        "/auth/login", data={"username": "nobody", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 401


def failed_login(client: FlaskClient, username: str) -> None:
    token = csrf_from(client.get("/auth/login").get_data(as_text=True))
    response = client.post(
        "/auth/login", data={"username": username, "password": "not it", "csrf_token": token}
    )
    assert response.status_code == 401


def test_a_failed_login_audits_an_unknown_name_only_as_a_keyed_hash(
    client: FlaskClient, db: Session
) -> None:
    # A password typed into the username box must not become readable to auditors.
    failed_login(client, "hunter2-secret")
    failed_login(client, "hunter2-secret")
    rows = db.execute(
        select(AuditEntry.actor, AuditEntry.detail, AuditEntry.remote_addr).where(
            AuditEntry.action == "login_failed"
        )
    ).all()
    assert len(rows) == 2
    assert not any("hunter2" in str(row) for row in rows)
    names = {row.actor for row in rows}
    assert len(names) == 1  # the same text gives the same hash: repeated attempts show
    assert re.fullmatch(r"unknown:[0-9a-f]{16}", names.pop())


def test_a_failed_login_of_an_existing_account_names_it(client: FlaskClient, db: Session) -> None:
    user = make_user(db, "auditor")
    accounts.set_active(db, user.id, active=False)
    failed_login(client, user.username.upper())
    failed = db.scalars(select(AuditEntry.actor).where(AuditEntry.action == "login_failed")).all()
    assert failed == [user.username]


def test_logout_invalidates_the_session_on_the_server(client: FlaskClient, db: Session) -> None:
    user = make_user(db, "admin")
    login(client, user.username)
    stolen = session_cookie(client)
    token = csrf_from(client.get("/auth/account").get_data(as_text=True))
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/auth/account").status_code == 302
    # Replaying the cookie captured before logout no longer works: the server revoked it.
    client.set_cookie("session", stolen)
    response = client.get("/auth/account")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    revoked = db.scalar(
        text(
            "SELECT count(*) FROM accounts.sessions s JOIN accounts.users u "
            "ON u.id = s.user_id WHERE u.username = :u AND s.revoked_at "
            "IS NOT NULL"
        ),
        {"u": user.username},
    )
    assert revoked == 1


def test_logout_needs_post_with_csrf(client: FlaskClient, db: Session) -> None:
    user = make_user(db, "admin")
    login(client, user.username)
    assert client.get("/auth/logout").status_code == 405
    assert client.post("/auth/logout").status_code == 400
    assert client.get("/auth/account").status_code == 200


def test_disabling_an_account_ends_its_sessions(client: FlaskClient, db: Session) -> None:
    user = make_user(db, "planner")
    login(client, user.username)
    accounts.set_active(db, user.id, active=False)
    db.flush()
    assert client.get("/auth/account").status_code == 302


def test_changing_the_password_ends_the_session(client: FlaskClient, db: Session) -> None:
    user = make_user(db, "admin")
    login(client, user.username)
    token = csrf_from(client.get("/auth/account").get_data(as_text=True))
    response = client.post(
        "/auth/account",
        data={"current": PASSWORD, "new": "a much longer new passphrase", "csrf_token": token},
    )
    assert response.status_code == 302
    assert client.get("/auth/account").status_code == 302
    login(client, user.username, "a much longer new passphrase")


def test_passwords_are_stored_as_argon2id(db: Session) -> None:
    user = make_user(db, "admin")
    stored = db.scalar(
        text("SELECT password_hash FROM accounts.users WHERE id = :i"), {"i": user.id}
    )
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_the_database_refuses_other_hash_formats(db: Session) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError, match="password_is_argon2id"), db.begin_nested():
        accounts.create_user(
            db, username="md5user", password_hash="5f4dcc3b5aa765d61d8327deb8", role="admin"
        )


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/audit/", "/audit/"),
        ("//evil.example/", None),
        ("https://evil.example/", None),
        ("/\\evil.example", None),
        ("audit", None),
        ("", None),
    ],
)
def test_next_parameter_never_leaves_the_site(target: str, safe: str | None) -> None:
    assert safe_next(target) == safe


def test_login_redirect_ignores_an_offsite_next(client: FlaskClient, db: Session) -> None:
    user = make_user(db, "auditor")
    token = csrf_from(client.get("/auth/login").get_data(as_text=True))
    response = client.post(
        "/auth/login?next=//evil.example/x",
        data={"username": user.username, "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"].endswith("/audit/")


def test_password_rules() -> None:
    from geo.errors import InvalidInput

    assert check_password_strength("twelve chars ok") == "twelve chars ok"
    for bad in ("short", "aaaaaaaaaaaaaaaa", "caseworker-1-password"):
        with pytest.raises(InvalidInput):
            check_password_strength(bad, username="caseworker-1")


def test_roles_in_guards_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown role"):
        login_required_role("superuser")


def test_session_cookie_is_httponly_lax_and_secure_when_configured(
    app_config: dict[str, object], db: Session
) -> None:
    from web import create_app

    app = create_app({**app_config, "SESSION_COOKIE_SECURE": True})
    client = app.test_client()
    user = make_user(db, "admin")
    page = client.get("/auth/login", base_url="https://localhost")
    response = client.post(
        "/auth/login",
        base_url="https://localhost",
        data={
            "username": user.username,
            "password": PASSWORD,
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
        # Over HTTPS Flask-WTF also insists on a same-origin Referer.
        headers={"Referer": "https://localhost/auth/login"},
    )
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert "Expires=" in cookie  # permanent, with the configured short lifetime


def attempt(client: FlaskClient, username: str, address: str) -> int:
    token = csrf_from(client.get("/auth/login").get_data(as_text=True))
    return client.post(
        "/auth/login",
        data={"username": username, "password": "not it at all", "csrf_token": token},
        environ_overrides={"REMOTE_ADDR": address},
    ).status_code


def limited_app(app_config: dict[str, object], **settings: object) -> Flask:
    from web import create_app

    return create_app({**app_config, **settings})


def test_login_is_rate_limited_per_address(app_config: dict[str, object]) -> None:
    app = limited_app(app_config, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    codes = [attempt(client, "someone", "198.51.100.7") for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    assert attempt(client, "someone", "198.51.100.8") == 401  # another address is unaffected


def test_behind_a_proxy_the_limit_is_per_forwarded_client(app_config: dict[str, object]) -> None:
    app = limited_app(app_config, LOGIN_RATE_LIMIT="2 per minute", TRUSTED_PROXIES=1)
    client = app.test_client()

    def via_proxy(client_address: str) -> int:
        token = csrf_from(client.get("/auth/login").get_data(as_text=True))
        return client.post(
            "/auth/login",
            data={"username": "x", "password": "not it at all", "csrf_token": token},
            headers={"X-Forwarded-For": client_address},
            environ_overrides={"REMOTE_ADDR": "10.0.0.1"},
        ).status_code

    assert [via_proxy("198.51.100.1") for _ in range(3)] == [401, 401, 429]
    assert via_proxy("198.51.100.2") == 401  # same proxy, another client


def test_login_is_rate_limited_per_account(app_config: dict[str, object]) -> None:
    app = limited_app(app_config, LOGIN_RATE_LIMIT_PER_ACCOUNT="2 per hour")
    client = app.test_client()
    codes = [attempt(client, "target", f"203.0.113.{i}") for i in range(3)]
    assert codes == [401, 401, 429]


def test_rate_limits_can_live_in_redis(app_config: dict[str, object]) -> None:
    app = limited_app(
        app_config,
        LOGIN_RATE_LIMIT="2 per minute",
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0",
    )
    address = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    client = app.test_client()
    codes = [attempt(client, f"u{secrets.token_hex(4)}", address) for _ in range(3)]
    assert codes == [401, 401, 429]
    # A second app (another worker process) shares the counters through Redis.
    other = limited_app(
        app_config,
        LOGIN_RATE_LIMIT="2 per minute",
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0",
    ).test_client()
    assert attempt(other, "anyone", address) == 429
