"""The coverage curve of a siting result, drawn with matplotlib (PNG or SVG)."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import IO, Any

import numpy as np

from geo.errors import InvalidInput
from geo.planning.siting import SitingResult
from web.planner_words import _, method_in_words

# --------------------------------------------------------------------------- #
# Outputs
# --------------------------------------------------------------------------- #


def plot_curve(
    result: SitingResult, out: str | Path | IO[bytes], *, fmt: str = "png", title: str | None = None
) -> None:
    """Draw the coverage curve (covered share against new stations) to a file.

    Parameters
    ----------
    result : SitingResult
    out : path or binary file
        Where to write.
    fmt : {"png", "svg"}
        Image format.
    title : str, optional
        Title above the plot.
    """
    import matplotlib
    from matplotlib.figure import Figure  # no pyplot: no global state, safe in threads

    with matplotlib.rc_context({"font.family": _font_families()}):
        _draw(result, out, fmt=fmt, title=title, figure_type=Figure)


def _font_families() -> list[str]:
    """DejaVu Sans for Latin, then a CJK font the machine has (glyph by glyph fallback)."""
    from matplotlib import font_manager

    have = {f.name for f in font_manager.fontManager.ttflist}
    cjk = [n for n in _CJK_FAMILIES if n in have]
    return ["DejaVu Sans", *cjk]


#: CJK families tried for chart labels (Debian: fonts-noto-cjk, fonts-droid-fallback).
_CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Droid Sans Fallback",
    "WenQuanYi Zen Hei",
)


def _draw(
    result: SitingResult,
    out: str | Path | IO[bytes],
    *,
    fmt: str,
    title: str | None,
    figure_type: Any,
) -> None:
    Figure = figure_type  # noqa: N806

    if fmt not in ("png", "svg"):
        raise InvalidInput(f"plot format {fmt!r}: expected png or svg", field="plot")
    figure = Figure(figsize=(6.4, 4.0), dpi=110)
    axes = figure.subplots()
    curve = result.curve
    axes.plot(
        curve["stations"],
        curve["optimal"] * 100,
        marker="o",
        markersize=3,
        label=_("optimal set (HiGHS), ordered by gain"),
    )
    axes.plot(
        curve["stations"], curve["greedy"] * 100, linestyle="--", label=_("greedy + swap preview")
    )
    axes.axhline(
        result.base_share * 100,
        color="grey",
        linewidth=0.8,
        linestyle=":",
        label=_("existing stations only"),
    )
    axes.set_xlabel(_("new stations"))
    axes.set_ylabel(_("activity covered (percent)"))
    # Zoom on the part of the scale the curve uses: a 5-point gain must be visible.
    low = max(
        0.0,
        math.floor(result.base_share * 100 - 2) if result.base_share == result.base_share else 0.0,
    )
    top = float(np.nanmax(curve[["optimal", "greedy"]].to_numpy())) * 100 if len(curve) else 100
    axes.set_ylim(low, min(100.0, max(low + 5.0, math.ceil(top + 2))))
    axes.set_xlim(0, max(1, int(curve["stations"].max()) if len(curve) else 1))
    axes.grid(True, linewidth=0.3)
    axes.legend(loc="best", fontsize=8)
    axes.set_title(
        title
        or _(
            "Coverage within %(r)s m (%(method)s)",
            r=f"{result.radius_m:.0f}",
            method=method_in_words(result.method),
        ),
        fontsize=10,
    )
    figure.tight_layout()
    figure.savefig(out, format=fmt, metadata={"Software": None} if fmt == "png" else None)


def curve_image(result: SitingResult, *, fmt: str = "png") -> bytes:
    """Return the coverage curve plot as PNG or SVG bytes."""
    buffer = io.BytesIO()
    plot_curve(result, buffer, fmt=fmt)
    return buffer.getvalue()
