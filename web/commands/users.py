"""``yitu users ...``: create and manage accounts from the server's shell.

Passwords are typed at a hidden prompt (twice) or read from standard input
with ``--password-stdin`` (for scripts: ``printf %s "$PW" | yitu users create
... --password-stdin``); they never appear on the command line, where
``ps`` and shell history would show them.
"""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from geo.db import accounts
from geo.errors import GeoError
from web.auth import check_password_strength, hash_password
from web.commands.progress import console, fail
from web.private_db import private_session

users = AppGroup("users", help="Accounts: admins, planners, caseworkers, auditors.")


def _read_password(password_stdin: bool, username: str) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        return check_password_strength(
            password, min_length=current_app.config["PASSWORD_MIN_LENGTH"], username=username
        )
    except GeoError as exc:
        fail(str(exc))
        raise  # unreachable: fail() raises


@users.command("create")
@click.option("--username", required=True, help="Login name: 3-40 of a-z 0-9 _ . -")
@click.option("--role", required=True, type=click.Choice(accounts.ROLES))
@click.option(
    "--district",
    "districts",
    multiple=True,
    metavar="ADCODE",
    help="A caseworker's district (6-digit adcode); repeat for several.",
)
@click.option("--display-name", help="Name shown in the pages and history.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create(
    username: str,
    role: str,
    districts: tuple[str, ...],
    display_name: str | None,
    password_stdin: bool,
) -> None:
    """Create an account."""
    db = private_session()
    try:
        name = accounts.check_username(username)
        accounts.check_role_districts(role, districts)
        password = _read_password(password_stdin, name)
        account = accounts.create_user(
            db,
            username=name,
            password_hash=hash_password(password),
            role=role,
            districts=districts,
            display_name=display_name,
        )
        db.commit()
    except GeoError as exc:
        db.rollback()
        fail(str(exc))
    console.print(
        f"created {account.role} {account.username}"
        + (f" for districts {', '.join(account.districts)}" if account.districts else "")
    )


@users.command("list")
def list_users() -> None:
    """List accounts."""
    for account in accounts.list_accounts(private_session()):
        state = "active" if account.is_active else "disabled"
        click.echo(f"{account.username}\t{account.role}\t{','.join(account.districts)}\t{state}")


def _find(username: str) -> accounts.Account:
    db = private_session()
    found = [a for a in accounts.list_accounts(db) if a.username == username.strip().lower()]
    if not found:
        fail(f"no account named {username}")
    return found[0]


@users.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def set_password(username: str, password_stdin: bool) -> None:
    """Set an account's password (its open sessions end)."""
    account = _find(username)
    password = _read_password(password_stdin, account.username)
    db = private_session()
    accounts.set_password_hash(db, account.id, hash_password(password))
    db.commit()
    console.print(f"password of {account.username} changed; its sessions were ended")


@users.command("disable")
@click.argument("username")
def disable(username: str) -> None:
    """Disable an account and end its sessions."""
    account = _find(username)
    db = private_session()
    accounts.set_active(db, account.id, active=False)
    db.commit()
    console.print(f"{account.username} disabled")


@users.command("enable")
@click.argument("username")
def enable(username: str) -> None:
    """Enable a disabled account."""
    account = _find(username)
    db = private_session()
    accounts.set_active(db, account.id, active=True)
    db.commit()
    console.print(f"{account.username} enabled")


def register(group: click.Group) -> None:
    """Attach ``users`` to the CLI."""
    group.add_command(users)
