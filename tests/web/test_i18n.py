"""Chinese by default, English from the browser or a switch; every string translated."""

from __future__ import annotations

import subprocess
from pathlib import Path

from babel.messages.pofile import read_po
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "web/translations/zh/LC_MESSAGES/messages.po"


def test_every_extracted_string_has_a_chinese_translation(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(ROOT / ".venv/bin/pybabel"),
            "-q",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_",
            "-k",
            "gettext",
            "-k",
            "ngettext:1,2",
            "-k",
            "lazy_gettext",
            "-k",
            "N_",
            "-o",
            str(pot),
            "web",
        ],
        cwd=ROOT,
        check=True,
    )
    with pot.open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    with PO.open("rb") as f:
        catalog = read_po(f, locale="zh")
    missing = sorted(
        str(mid)
        for mid in wanted
        if catalog.get(mid) is None or not catalog.get(mid).string or catalog.get(mid).fuzzy
    )
    assert missing == [], "run scripts/i18n.sh update and translate: " + ", ".join(missing)


def test_chinese_is_the_default(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "找驿站" in page and 'lang="zh-CN"' in page


def test_english_from_the_browser(client: FlaskClient) -> None:
    page = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert "Find a station" in page and 'lang="en"' in page
    other = client.get("/", headers={"Accept-Language": "fr-FR, en;q=0.5"}).get_data(as_text=True)
    assert "Find a station" in other
    chinese = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert "找驿站" in chinese.get_data(as_text=True)


def test_switch_sets_a_cookie_that_sticks(client: FlaskClient) -> None:
    response = client.get("/?lang=en", headers={"Accept-Language": "zh-CN"})
    assert "Find a station" in response.get_data(as_text=True)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=en") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    later = client.get("/", headers={"Accept-Language": "zh-CN"})
    assert "Find a station" in later.get_data(as_text=True)
    back = client.get("/?lang=zh")
    assert "找驿站" in back.get_data(as_text=True)
    assert "Accept-Language" in back.headers["Vary"] and "Cookie" in back.headers["Vary"]


def test_unknown_language_falls_back_to_chinese(client: FlaskClient) -> None:
    response = client.get("/?lang=xx")
    assert "找驿站" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers or "lang=" not in response.headers["Set-Cookie"]
