"""Languages: Chinese first, English from ``?lang=``, a cookie or the browser."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_babel import Babel

LANG_COOKIE = "lang"


def select_locale() -> str:
    """Pick the request's language: ``?lang=``, then the cookie, then Accept-Language."""
    languages = current_app.config["LANGUAGES"]
    for candidate in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in languages:
            return candidate
    return request.accept_languages.best_match(languages) or languages[0]


def init_app(app: Flask) -> None:
    """Attach Flask-Babel with the project's translations folder."""
    Babel(app, locale_selector=select_locale, default_translation_directories="translations")
