"""Login, logout, roles: Flask-Login over server-side sessions, argon2id, rate limits.

- Passwords are hashed with argon2id (argon2-cffi's RFC 9106 low-memory
  profile); the database refuses any other hash format.
- A login opens a row in ``accounts.sessions``; the signed cookie carries
  only its random token.  Logout revokes the row, so the cookie is dead on
  the server even if someone kept a copy (see :mod:`geo.db.accounts`).
- ``POST /auth/login`` is rate-limited with Flask-Limiter, per client
  address (``LOGIN_RATE_LIMIT``) and per account name
  (``LOGIN_RATE_LIMIT_PER_ACCOUNT``); counters live in
  ``RATELIMIT_STORAGE_URI`` (memory, or Redis for several workers).
- :func:`login_required_role` guards views by role; anonymous visitors are
  sent to the login page (HTML) or get 401 (``/api``), wrong roles get 403.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from geo.db import accounts
from geo.db.audit import Actor
from geo.db.audit import record as audit
from geo.errors import InvalidInput
from geo.places.timezone import TZ_NAME
from web import private_db
from web.errors import RETRY_AFTER_S, problem

bp = Blueprint("auth", __name__, url_prefix="/auth")
log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

# RFC 9106's second recommended profile (argon2id, 64 MiB, 3 passes): strong
# and affordable on a small server handling a handful of logins a minute.
_HASHER = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
# Verified against when the account does not exist, so "no such user" and
# "wrong password" take the same time.
_DUMMY_HASH = _HASHER.hash("yitu timing equaliser")

#: Where each role lands after logging in (endpoint names).
HOME_OF_ROLE: dict[str, str] = {
    "admin": "admin.index",
    "planner": "planner.index",
    "caseworker": "cases.index",
    "auditor": "audit.index",
    "moderator": "trust.queue_page",
    "inspector": "inspections.my_visits",
}


# ---------------------------------------------------------------------------
# Passwords


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password``."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Return whether ``password`` matches ``password_hash`` (False on any malformed hash)."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_password_strength(
    password: str, *, min_length: int = 12, username: str | None = None
) -> str:
    """Return ``password`` if acceptable, else raise :class:`InvalidInput`.

    Length is what matters (NIST SP 800-63B); no composition rules.
    """
    if len(password) < min_length:
        raise InvalidInput(
            f"the password must have at least {min_length} characters", field="password"
        )
    if len(password) > 256:
        raise InvalidInput("the password must have at most 256 characters", field="password")
    if username and username.lower() in password.lower():
        raise InvalidInput("the password must not contain the username", field="password")
    if len(set(password)) < 4:
        raise InvalidInput("the password repeats too few characters", field="password")
    return password


# ---------------------------------------------------------------------------
# The logged-in user


class CurrentUser(UserMixin):
    """The account behind a live server-side session."""

    def __init__(self, account: accounts.Account, token: str) -> None:
        self.account = account
        self.token = token

    def get_id(self) -> str:
        """Return the session token (what Flask-Login keeps in the cookie)."""
        return self.token

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.account.is_active

    @property
    def role(self) -> str:
        """The account's role."""
        return self.account.role

    @property
    def username(self) -> str:
        """The account's login name."""
        return self.account.username

    @property
    def districts(self) -> tuple[str, ...]:
        """Adcodes a caseworker may see (empty for other roles)."""
        return self.account.districts


def actor() -> Actor:
    """Return the audit actor of this request (the logged-in user and address)."""
    if current_user.is_authenticated:
        return Actor(
            name=current_user.username,
            role=current_user.role,
            id=current_user.account.id,
            remote_addr=request.remote_addr,
        )
    return Actor(name="anonymous", remote_addr=request.remote_addr)


def load_user(token: str) -> CurrentUser | None:
    """Flask-Login's loader: the account of a live session token, or None."""
    account = accounts.account_for_token(private_db.private_session(), token)
    return CurrentUser(account, token) if account else None


# ---------------------------------------------------------------------------
# Guards


def _deny_anonymous() -> ResponseReturnValue:
    if request.path.startswith("/api/"):
        abort(401)
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def login_required_role(*roles: str) -> Callable[[F], F]:
    """Allow a view only to logged-in users with one of ``roles`` (any role when empty).

    Anonymous: redirect to the login page (401 under ``/api``).  Other roles: 403.
    """
    unknown = set(roles) - set(accounts.ROLES)
    if unknown:
        raise ValueError(f"unknown role(s): {', '.join(sorted(unknown))}")

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return _deny_anonymous()
            if roles and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        guarded.allowed_roles = roles or accounts.ROLES  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


def planner_required(view: F) -> F:
    """Allow a view to planners and admins (or anyone when ``PLANNER_PUBLIC`` is on)."""
    guarded = login_required_role("planner", "admin")(view)

    @wraps(view)
    def maybe_public(*args: Any, **kwargs: Any) -> Any:
        if current_app.config.get("PLANNER_PUBLIC"):
            return view(*args, **kwargs)
        return guarded(*args, **kwargs)

    maybe_public.allowed_roles = ("planner", "admin")  # type: ignore[attr-defined]
    return maybe_public  # type: ignore[return-value]


# ---------------------------------------------------------------------------
# Views


class LoginForm(FlaskForm):
    """Username and password (plus the CSRF token Flask-WTF adds)."""

    username = StringField("username", validators=[DataRequired(), Length(max=40)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=256)])


class PasswordForm(FlaskForm):
    """Change one's own password."""

    current = PasswordField("current", validators=[DataRequired(), Length(max=256)])
    new = PasswordField("new", validators=[DataRequired(), Length(max=256)])


def safe_next(target: str | None) -> str | None:
    """Return ``target`` if it is a path on this site, else None (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
    ):
        return None
    return target


def home_url(role: str) -> str:
    """Return the landing page of a role."""
    endpoint = HOME_OF_ROLE.get(role, "auth.account")
    if endpoint not in current_app.view_functions:
        endpoint = "auth.account"
    return url_for(endpoint)


def _secret() -> bytes:
    secret = current_app.config["SECRET_KEY"]
    return secret if isinstance(secret, bytes) else str(secret).encode()


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Show the login form; on POST check the password and open a server-side session."""
    form = LoginForm()
    if current_user.is_authenticated and request.method == "GET":
        return redirect(home_url(current_user.role))
    if form.validate_on_submit():
        db = private_db.private_session()
        found = accounts.find_for_login(db, form.username.data or "")
        ok = verify_password(found[1] if found else _DUMMY_HASH, form.password.data or "")
        if found and ok:
            account, stored = found
            if _HASHER.check_needs_rehash(stored):
                accounts.set_password_hash(db, account.id, hash_password(form.password.data or ""))
            lifetime = current_app.permanent_session_lifetime
            token = accounts.open_session(db, account.id, lifetime=lifetime)
            audit(
                db, Actor(account.username, account.role, account.id, request.remote_addr), "login"
            )
            db.commit()
            session.clear()  # nothing from before the login survives it
            session.permanent = True
            login_user(CurrentUser(account, token))
            return redirect(safe_next(request.args.get("next")) or home_url(account.role))
        typed = form.username.data or ""
        audit(
            db,
            Actor(
                accounts.failed_login_name(db, typed, secret=_secret()),
                None,
                None,
                request.remote_addr,
            ),
            "login_failed",
        )
        db.commit()
        flash(_("Wrong username or password."), "error")
        return render_template("auth/login.html", form=form), 401
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required_role()
def logout() -> ResponseReturnValue:
    """Revoke this session on the server, then forget it in the browser."""
    db = private_db.private_session()
    accounts.revoke_session(db, current_user.token)
    audit(db, actor(), "logout")
    db.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required_role()
def account() -> ResponseReturnValue:
    """Show one's own account; change one's password (which ends every other session)."""
    form = PasswordForm()
    if form.validate_on_submit():
        db = private_db.private_session()
        found = accounts.find_for_login(db, current_user.username)
        if not found or not verify_password(found[1], form.current.data or ""):
            flash(_("The current password is wrong."), "error")
            return render_template("auth/account.html", form=form), 400
        try:
            new = check_password_strength(
                form.new.data or "",
                min_length=current_app.config["PASSWORD_MIN_LENGTH"],
                username=current_user.username,
            )
        except InvalidInput as exc:
            flash(str(exc), "error")
            return render_template("auth/account.html", form=form), 400
        accounts.set_password_hash(db, current_user.account.id, hash_password(new))
        db.commit()
        logout_user()
        session.clear()
        flash(_("Password changed. Please log in again."), "info")
        return redirect(url_for("auth.login"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/account.html", form=form), status


# ---------------------------------------------------------------------------
# Wiring


def pretty_json(value: Any) -> str:
    """Render history and audit details readably: Chinese as is, keys sorted.

    Plain text: the template escapes it (``|safe_text``) like any user text.
    """
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str)


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """Show a stored (UTC-aware) time in the app's time zone (Asia/Shanghai by default)."""
    if value is None:
        return ""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or TZ_NAME)
    return value.astimezone(zone).strftime(fmt)


def _account_key() -> str:
    return "account:" + (request.form.get("username") or "").strip().lower()[:40]


LIMITER_DOWN = (
    "登录暂时关闭：登录限流计数存储（Redis）无法连接，为防止密码猜测，暂停登录。"
    " Login is closed: the rate limiter's store (Redis) cannot be reached, and without it "
    "password guessing could not be limited. Try again shortly."
)


def closed_without_limiter(limiter: Limiter, view: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap the login view: a POST while the limiter's store is unreachable gets 503.

    Failing open here would let anyone guess passwords at full speed for as
    long as Redis is away, so login attempts fail closed, with a message that
    says why; everything else keeps working without the limiter.
    """

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if request.method == "POST" and not limiter.storage.check():
            log.warning("login refused: the rate limiter's store is unreachable")
            response = problem(503, "Service unavailable", LIMITER_DOWN)
            response.headers["Retry-After"] = str(RETRY_AFTER_S)
            return response
        return view(*args, **kwargs)

    return guarded


def init_app(app: Flask) -> None:
    """Attach Flask-Login, the private session and the login rate limits to ``app``."""
    private_db.init_app(app)
    manager = LoginManager()
    manager.login_view = "auth.login"
    manager.session_protection = "basic"
    manager.user_loader(load_user)
    manager.init_app(app)
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(hours=8))
    limiter = Limiter(
        get_remote_address,
        app=app,
        default_limits=[],
        storage_uri=app.config.get("RATELIMIT_STORAGE_URI", "memory://"),
        key_prefix="yitu-login",
        headers_enabled=True,
        # A store that fails mid-request is logged and let through: GET pages
        # never depend on Redis.  Login attempts are closed by
        # ``closed_without_limiter`` instead, before any counter is needed.
        swallow_errors=True,
    )
    app.extensions["yitu.login_limiter"] = limiter
    view: Any = app.view_functions["auth.login"]
    view = limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])(view)
    view = limiter.limit(
        lambda: current_app.config["LOGIN_RATE_LIMIT_PER_ACCOUNT"],
        key_func=_account_key,
        methods=["POST"],
    )(view)
    app.view_functions["auth.login"] = closed_without_limiter(limiter, view)

    app.add_template_filter(pretty_json, "pretty_json")
    app.add_template_filter(local_time, "local_time")

    @app.context_processor
    def account_context() -> dict[str, Any]:
        return {
            "current_user": current_user,
            "role_labels": accounts.ROLE_LABELS,
            "has_endpoint": lambda name: name in current_app.view_functions,
        }


@bp.record_once
def _on_register(state: Any) -> None:
    init_app(state.app)
