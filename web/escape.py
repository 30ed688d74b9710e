"""The one escaping helper for user text that reaches a page, a popup or a tooltip.

Plain HTML escaping is not enough on a folium map: folium writes popup and
tooltip HTML into a JavaScript template literal, so ``${...}`` inside an
already HTML-escaped station name still runs (see SECURITY.md, point 1).
:func:`safe_text` therefore HTML-escapes and then replaces the three
characters that are live inside a template literal -- ``$``, backtick and
backslash -- with numeric character references, which the browser turns back
into the same characters when it parses the HTML, after the literal is built.

It also replaces ``{`` and ``}``: branca compiles folium's output as a Jinja2
template on the server (SECURITY.md, point 11), so ``{{7*191}}``, ``{%`` and
``{#`` must never arrive there intact.  Maps keep user text out of branca
altogether (``web.maps.draw``); this is the second wall.

Every piece of user-supplied text (station names, addresses, hours text,
union names...) that reaches HTML or a map goes through this function, either
directly in Python or through the ``safe_text`` Jinja filter.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

__all__ = ["safe_text", "init_app"]

# Characters that keep a meaning inside a JavaScript template literal (or, for
# braces, a Jinja2 template) after HTML escaping.  Numeric references rather than named ones because ``&grave;``
# is not understood everywhere and ``&#36;`` is.
_TEMPLATE_LITERAL_CHARS = {
    "$": "&#36;",
    "`": "&#96;",
    "\\": "&#92;",
    "{": "&#123;",
    "}": "&#125;",
}
_TRANSLATION = str.maketrans(_TEMPLATE_LITERAL_CHARS)


def safe_text(value: Any) -> Markup:
    """Return ``value`` as HTML text that is inert in markup and in template literals.

    Parameters
    ----------
    value
        Any value; ``None`` becomes the empty string, anything else is turned
        into ``str`` first.  A :class:`markupsafe.Markup` value is taken as
        already-escaped HTML (so the function is idempotent) but still gets
        ``$``, backtick, backslash and braces replaced.

    Returns
    -------
    markupsafe.Markup
        Escaped text, safe to put in an HTML element or attribute, a folium
        ``Popup``/``Tooltip`` or a Leaflet ``bindPopup`` string.

    Examples
    --------
    >>> str(safe_text("A ${document.title} <b> {{7*191}}"))
    'A &#36;&#123;document.title&#125; &lt;b&gt; &#123;&#123;7*191&#125;&#125;'
    """
    if value is None:
        return Markup("")
    html = str(escape(value))
    # The input was escaped just above; only entities are added.
    return Markup(html.translate(_TRANSLATION))  # noqa: S704


def init_app(app: Any) -> None:
    """Register :func:`safe_text` as the ``safe_text`` Jinja filter of ``app``."""
    app.add_template_filter(safe_text, "safe_text")
