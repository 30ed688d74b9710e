"""Vendored front-end assets: intact, licensed, and covering every icon we use."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from geo.places.vocabulary import AMENITIES
from web.maps import GCOORD_DIR, ICONS_DIR, LEAFLET_DIR

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
VENDOR = STATIC / "vendor"


def test_files_match_their_recorded_checksums() -> None:
    lines = (VENDOR / "SHA256SUMS").read_text().splitlines()
    assert len(lines) >= 10
    for line in lines:
        digest, name = line.split(maxsplit=1)
        path = VENDOR / name.removeprefix("./")
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, name


def test_each_library_carries_its_licence_and_version_folder() -> None:
    for folder in (LEAFLET_DIR, GCOORD_DIR, ICONS_DIR):
        assert (STATIC / folder / "LICENSE").is_file(), folder
        assert folder.rsplit("-", 1)[-1] in (VENDOR / "README.md").read_text()


def test_sprite_has_an_icon_for_every_amenity_and_ui_control() -> None:
    sprite = (STATIC / ICONS_DIR / "icons.svg").read_text()
    ids = set(re.findall(r'<symbol id="([^"]+)"', sprite))
    assert {f"a-{code}" for code in AMENITIES} <= ids
    used = set()
    for template in (STATIC.parent / "templates").rglob("*.html"):
        used |= set(re.findall(r"icon\(icons, '([^']+)'\)", template.read_text()))
    assert used and used <= ids


def test_no_source_map_reference_left_dangling() -> None:
    assert "sourceMappingURL" not in (STATIC / LEAFLET_DIR / "leaflet.js").read_text()
