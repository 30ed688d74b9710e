"""Read the shapes a server-rendered map sends as data (``web.maps.draw``)."""

from __future__ import annotations

import html
import json
import re
from typing import Any

_DRAW_CALL = re.compile(r"^window\.yituDrawData\(\"([^\"]*)\", (\{.*\})\);$", re.MULTILINE)


def map_features(script: str) -> list[dict[str, Any]]:
    """Return the features of the one ``yituDrawData`` call in a map script."""
    calls = _DRAW_CALL.findall(script)
    assert len(calls) == 1, f"expected one yituDrawData call, found {len(calls)}"
    return json.loads(calls[0][1])["features"]


def shown_text(fragment: str) -> str:
    """Return the text a browser shows for an HTML fragment (tags dropped, entities read)."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))
