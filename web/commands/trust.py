"""``yitu trust ...``: print a district's station posters from the server's shell."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from geo.db import trust as store
from geo.trust.posters import poster_pdf
from web.commands.progress import console, fail
from web.db import session

trust = AppGroup("trust", help="Workers' reports and station QR posters.")


@trust.command("posters")
@click.option("--district", "adcode", required=True, help="6-digit adcode of the district.")
@click.option("--size", type=click.Choice(["A4", "A5"]), default="A4", show_default=True)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="PDF file to write (one page per station).",
)
@click.option(
    "--base-url",
    default=None,
    help="Public URL printed in the QR codes (default: YITU_TRUST_PUBLIC_URL).",
)
def posters(adcode: str, size: str, out: Path, base_url: str | None) -> None:
    """Write every poster of a district's stations to one PDF."""
    from web.trust import poster_text, short_url, station_of

    base = base_url or current_app.config.get("TRUST_PUBLIC_URL")
    if not base or not base.startswith(("https://", "http://")):
        fail(
            "give --base-url https://... (or set YITU_TRUST_PUBLIC_URL): "
            "the QR codes must hold the public address"
        )
    if len(adcode) != 6 or not adcode.isdigit():
        fail("--district must be a 6-digit adcode")
    with current_app.test_request_context(base_url=base):
        places = store.places_of_district(session(), adcode)
        if not places:
            fail(f"no station in district {adcode}")
        data = poster_pdf(
            [station_of(p, short_url(p, base=base)) for p in places], poster_text(), size=size
        )
    out.write_bytes(data)
    console.print(f"{len(places)} posters ({size}) written to {out}")


def register(group: click.Group) -> None:
    """Attach ``trust`` to the CLI."""
    group.add_command(trust)
