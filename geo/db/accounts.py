"""Accounts, their roles and their server-side login sessions (schema ``accounts``).

Accounts live in their own schema so that the public database role
(``yitu_public``) cannot read password hashes; only ``yitu_app`` can.

A login creates a row in ``accounts.sessions`` and the browser's cookie holds
only a random token whose SHA-256 is the row's key.  Logout revokes the row,
so a copied cookie stops working at once on every server: that is the
server-side half of logging out that a signed cookie alone cannot give.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Text,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from geo.db.models import Base
from geo.errors import InvalidInput

SCHEMA = "accounts"

#: Application roles.  ``caseworker``, ``moderator`` (workers' reports,
#: issue 10) and ``inspector`` (unannounced visits, issue 11) are scoped to
#: districts (adcodes).
ROLES: tuple[str, ...] = ("admin", "planner", "caseworker", "auditor", "moderator", "inspector")
#: Roles that work only in their own districts.
DISTRICT_ROLES: tuple[str, ...] = ("caseworker", "moderator", "inspector")

ROLE_LABELS: dict[str, tuple[str, str]] = {
    "admin": ("管理员", "Administrator"),
    "planner": ("规划人员", "Planner"),
    "caseworker": ("帮扶工作人员", "Caseworker"),
    "auditor": ("审计人员", "Auditor"),
    "moderator": ("审核员", "Moderator"),
    "inspector": ("督查员", "Inspector"),
}


class User(Base):
    """One person who can log in."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN ({', '.join(repr(r) for r in ROLES)})", name="role_known"),
        CheckConstraint("username ~ '^[a-z0-9_.-]{3,40}$'", name="username_shape"),
        CheckConstraint(
            "array_to_string(districts, ',') ~ '^([0-9]{6}(,[0-9]{6})*)?$'",
            name="districts_are_adcodes",
        ),
        CheckConstraint(
            "role IN ('caseworker', 'moderator', 'inspector') OR cardinality(districts) = 0",
            name="districts_only_for_caseworkers",
        ),
        CheckConstraint("password_hash LIKE '$argon2id$%'", name="password_is_argon2id"),
        {"schema": SCHEMA},
    )

    id: Mapped[int] = mapped_column(Integer, Identity(always=True), primary_key=True)
    username: Mapped[str] = mapped_column(Text, unique=True)
    display_name: Mapped[str | None] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    districts: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    is_active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginSession(Base):
    """A server-side login session; the cookie holds only the token."""

    __tablename__ = "sessions"
    __table_args__ = (
        Index("idx_sessions_live", "user_id", postgresql_where=text("revoked_at IS NULL")),
        {"schema": SCHEMA},
    )

    token_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey(f"{SCHEMA}.users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Account:
    """What the web layer knows about a logged-in user (no password hash)."""

    id: int
    username: str
    display_name: str | None
    role: str
    districts: tuple[str, ...]
    is_active: bool


def _account(user: User) -> Account:
    return Account(
        user.id,
        user.username,
        user.display_name,
        user.role,
        tuple(user.districts or ()),
        user.is_active,
    )


def check_username(username: str) -> str:
    """Return the username folded to lower case, or raise :class:`InvalidInput`."""
    folded = username.strip().lower()
    if not 3 <= len(folded) <= 40 or not all(
        c.isascii() and (c.isalnum() or c in "_.-") for c in folded
    ):
        raise InvalidInput(
            "username must be 3-40 letters, digits, '_', '.' or '-'", field="username"
        )
    return folded


def check_role_districts(role: str, districts: Sequence[str]) -> tuple[str, ...]:
    """Validate a role and its district list; caseworkers and moderators need an adcode."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    cleaned = tuple(dict.fromkeys(d.strip() for d in districts if d.strip()))
    for adcode in cleaned:
        if len(adcode) != 6 or not adcode.isdigit():
            raise InvalidInput(f"district {adcode!r} is not a 6-digit adcode", field="district")
    if role in DISTRICT_ROLES and not cleaned:
        raise InvalidInput(
            f"a {role} needs at least one district (--district ADCODE)", field="district"
        )
    if role not in DISTRICT_ROLES and cleaned:
        raise InvalidInput(
            "only caseworkers, moderators and inspectors are scoped to districts", field="district"
        )
    return cleaned


def create_user(
    session: Session,
    *,
    username: str,
    password_hash: str,
    role: str,
    districts: Sequence[str] = (),
    display_name: str | None = None,
) -> Account:
    """Insert an account and return it (the caller commits).

    Raises
    ------
    InvalidInput
        Bad username, role or districts, or the username is taken.
    """
    name = check_username(username)
    cleaned = check_role_districts(role, districts)
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise InvalidInput(f"username {name} is taken", field="username")
    user = User(
        username=name,
        password_hash=password_hash,
        role=role,
        districts=list(cleaned),
        display_name=display_name,
    )
    session.add(user)
    session.flush()
    return _account(user)


def find_for_login(session: Session, username: str) -> tuple[Account, str] | None:
    """Return ``(account, password_hash)`` of an active account, or None."""
    try:
        name = check_username(username)
    except InvalidInput:
        return None
    user = session.scalar(select(User).where(User.username == name, User.is_active))
    return (_account(user), user.password_hash) if user else None


def existing_username(session: Session, username: str) -> str | None:
    """Return the stored name of the account (active or not) called ``username``, or None."""
    try:
        name = check_username(username)
    except InvalidInput:
        return None
    return session.scalar(select(User.username).where(User.username == name))


def get_account(session: Session, user_id: int) -> Account | None:
    """Return an account by id (active or not), or None."""
    user = session.get(User, user_id)
    return _account(user) if user else None


def list_accounts(session: Session) -> list[Account]:
    """Return every account ordered by username."""
    return [_account(u) for u in session.scalars(select(User).order_by(User.username))]


def set_password_hash(session: Session, user_id: int, password_hash: str) -> None:
    """Replace a password hash and revoke the account's sessions."""
    session.execute(update(User).where(User.id == user_id).values(password_hash=password_hash))
    revoke_all_sessions(session, user_id)


def set_active(session: Session, user_id: int, *, active: bool) -> None:
    """Enable or disable an account; disabling revokes its sessions."""
    session.execute(update(User).where(User.id == user_id).values(is_active=active))
    if not active:
        revoke_all_sessions(session, user_id)


def _hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii")).digest()


def open_session(session: Session, user_id: int, *, lifetime: timedelta) -> str:
    """Start a login session and return its token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            token_hash=_hash_token(token), user_id=user_id, expires_at=datetime.now(UTC) + lifetime
        )
    )
    session.execute(update(User).where(User.id == user_id).values(last_login_at=func.now()))
    session.flush()
    return token


def account_for_token(session: Session, token: str) -> Account | None:
    """Return the active account of a live (unrevoked, unexpired) session, else None."""
    try:
        digest = _hash_token(token)
    except (UnicodeEncodeError, AttributeError):
        return None
    user = session.scalar(
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            LoginSession.token_hash == digest,
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > func.now(),
            User.is_active,
        )
    )
    return _account(user) if user else None


def revoke_session(session: Session, token: str) -> None:
    """End one login session (logout)."""
    session.execute(
        update(LoginSession)
        .where(LoginSession.token_hash == _hash_token(token), LoginSession.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


def revoke_all_sessions(session: Session, user_id: int) -> None:
    """End every login session of an account (password change, disabling)."""
    session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


def failed_login_name(db: Session, typed: str, *, secret: bytes) -> str:
    """Name a failed login for the audit log without keeping what was typed.

    The account's name if one exists; otherwise ``unknown:`` and a keyed hash
    (HMAC-SHA256 under a key derived from ``secret``, the app's ``SECRET_KEY``;
    16 hex digits), so a
    password typed into the username box never reaches auditors, while
    repeated attempts with the same text still look alike.
    """
    name = existing_username(db, typed)
    if name is not None:
        return name
    key = hmac.new(secret, b"yitu failed-login audit", hashlib.sha256).digest()
    return "unknown:" + hmac.new(key, typed.encode(), hashlib.sha256).hexdigest()[:16]


def purge_sessions(session: Session) -> int:
    """Delete login sessions that expired or were revoked; return how many.

    Their tokens can no longer log anyone in; keeping them only keeps
    who-was-logged-in-when longer than needed.  Logins and logouts stay in
    the audit log.  The caller commits.
    """
    result = session.execute(
        delete(LoginSession).where(
            (LoginSession.expires_at <= func.now()) | LoginSession.revoked_at.is_not(None)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
