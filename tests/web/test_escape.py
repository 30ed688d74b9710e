"""web.escape.safe_text: HTML escaping plus the template-literal characters."""

from __future__ import annotations

import html

import folium
import pytest
from flask import Flask, render_template_string
from markupsafe import Markup

from web.escape import init_app, safe_text

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "A ${document.title=/PWNED/.source} B",
    "`;alert(1);`",
    "\\u0060${alert(1)}",
    '"><script>alert(1)</script>',
    "' onmouseover='alert(1)",
    "</div><svg onload=alert(1)>",
    "&lt;b&gt; already escaped",
    "郑州市 ${x} 驿站 `y` \\z",
    "SSTI {{7*191}} end",
    "{% raw %}{{ lipsum.__globals__ }}{% endraw %}",
    "{# comment #} {{ 'q' }} \"dq\"",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_no_live_character_survives(name: str) -> None:
    out = str(safe_text(name))
    for char in "<>\"'`$\\{}":
        assert char not in out, (char, out)


@pytest.mark.parametrize("name", HOSTILE)
def test_browser_decodes_back_to_the_original_text(name: str) -> None:
    # html.unescape is what an HTML parser does to text content: the person
    # reading the popup sees exactly the name that was stored.
    assert html.unescape(str(safe_text(name))) == name


def test_exact_replacements() -> None:
    assert safe_text("a$b`c\\d") == Markup("a&#36;b&#96;c&#92;d")
    assert safe_text("<&>") == Markup("&lt;&amp;&gt;")


def test_none_and_non_strings() -> None:
    assert safe_text(None) == Markup("")
    assert safe_text(42) == Markup("42")
    assert safe_text(1.5) == Markup("1.5")


def test_idempotent() -> None:
    once = safe_text("A ${x} <b> & `y`")
    assert safe_text(once) == once


def test_markup_input_keeps_its_tags_but_loses_template_characters() -> None:
    assert safe_text(Markup("<b>${x}</b>")) == Markup("<b>&#36;&#123;x&#125;</b>")


def test_folium_popup_and_tooltip_carry_no_template_expression() -> None:
    # The second wall: even text pasted into folium (which branca compiles as
    # a Jinja2 template) stays inert once it went through safe_text.
    name = "A ${document.title=/PWNED/.source} B <img src=x onerror=alert(1)> {{7*191}} {%"
    m = folium.Map(location=(34.75, 113.65), tiles=None)
    folium.Marker(
        (34.75, 113.65),
        popup=folium.Popup(safe_text(name), parse_html=False),
        tooltip=folium.Tooltip(safe_text(name)),
    ).add_to(m)
    page = m.get_root().render()
    assert "${document" not in page
    assert "<img src=x" not in page
    assert "&#36;&#123;document.title=/PWNED/.source&#125;" in page
    assert "1337" not in page and "&#123;&#123;7*191&#125;&#125; &#123;%" in page


def test_jinja_filter() -> None:
    app = Flask(__name__)
    init_app(app)
    with app.app_context():
        out = render_template_string("<p>{{ name|safe_text }}</p>", name="${a}<b>")
    assert out == "<p>&#36;&#123;a&#125;&lt;b&gt;</p>"
