"""A printable planning report (A4 PDF): inputs, coverage by district, sites, map, curve, sources.

Drawn with reportlab (text stays text: a reader can search and copy it) and
matplotlib (a static map of the cells, stations and proposed sites, and the
coverage curve).  Words go through Babel like the page.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from geo.places.timezone import SHANGHAI
from geo.planning.siting import SitingResult
from geo.service.planning import CoverageAnswer
from web.planner_curves import _font_families, curve_image
from web.planner_words import method_in_words, proof_in_words

#: reportlab's built-in Adobe-GB1 font: Chinese and Latin, no font file to ship, and
#: its text extracts as Unicode (searchable, copyable).
_FONT = "STSong-Light"


def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if _FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(_FONT))
    return _FONT


#: Latin letters and digits are set in Helvetica (one of PDF's standard fonts,
#: present in every reader); the CID font's Latin glyphs are missing in some
#: renderers (Ghostscript drew the report's numbers blank).
_LATIN = "Helvetica"
_LATIN_RUN = re.compile(r"[\x20-\x7e\u00a0-\u024f\u2010-\u2027]+")


def _mixed(text: str) -> str:
    """Escape ``text`` for a reportlab paragraph, Latin runs in the Latin font."""

    def wrap(match: re.Match[str]) -> str:
        run = match.group(0).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return f'<font name="{_LATIN}">{run}</font>'

    return _LATIN_RUN.sub(wrap, text)


def map_image(answer: CoverageAnswer, siting: SitingResult | None) -> bytes:
    """Return a static PNG map: cells by coverage, counted stations, proposed sites numbered."""
    import matplotlib

    with matplotlib.rc_context({"font.family": _font_families()}):
        return _draw_map(answer, siting)


def _draw_map(answer: CoverageAnswer, siting: SitingResult | None) -> bytes:
    from matplotlib.figure import Figure

    cells = answer.result.cells
    figure = Figure(figsize=(6.4, 5.2), dpi=130)
    axes = figure.subplots()
    covered = cells["covered"].to_numpy(bool)
    size = 6 + 40 * (cells["weight"] / max(float(cells["weight"].max()), 1e-9))
    axes.scatter(
        cells["lon"][covered],
        cells["lat"][covered],
        s=size[covered],
        c="#3a7d44",
        alpha=0.55,
        linewidths=0,
        label=_("covered activity"),
    )
    axes.scatter(
        cells["lon"][~covered],
        cells["lat"][~covered],
        s=size[~covered],
        c="#d1495b",
        alpha=0.7,
        linewidths=0,
        label=_("uncovered activity"),
    )
    stations = answer.result.stations
    if len(stations):
        axes.scatter(
            stations["lon"],
            stations["lat"],
            marker="^",
            s=28,
            c="#1f3b73",
            label=_("counted stations"),
        )
    if siting is not None and len(siting.sites):
        axes.scatter(
            siting.sites["lon"],
            siting.sites["lat"],
            marker="*",
            s=90,
            c="#f0a202",
            edgecolors="black",
            linewidths=0.5,
            label=_("proposed sites"),
        )
        for row in siting.sites.itertuples(index=False):
            axes.annotate(
                str(row.order),
                (row.lon, row.lat),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=7,
            )
    mean_lat = float(cells["lat"].mean()) if len(cells) else 30.0
    axes.set_aspect(1 / max(0.2, math.cos(math.radians(mean_lat))))  # metres look square
    axes.set_xlabel(_("longitude (WGS-84)"))
    axes.set_ylabel(_("latitude (WGS-84)"))
    axes.grid(True, linewidth=0.3)
    axes.legend(loc="best", fontsize=7)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def report_pdf(
    answer: CoverageAnswer,
    siting: SitingResult | None,
    *,
    inputs: Sequence[tuple[str, str]],
    title: str | None = None,
) -> bytes:
    """Return the A4 report as PDF bytes.

    ``inputs`` are (label, value) pairs already in words (the question asked).
    """
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _font()
    body = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=13)
    heading = ParagraphStyle(
        "h", fontName=font, fontSize=13, leading=17, spaceBefore=8, spaceAfter=4
    )
    big = ParagraphStyle("t", fontName=font, fontSize=17, leading=22, spaceAfter=6)
    summary = answer.result.summary()

    def esc(text: Any) -> str:
        return _mixed(str(text))

    def table(rows: list[list[str]], widths: Sequence[float]) -> Table:
        cells = [[Paragraph(esc(v), body) for v in row] for row in rows]
        t = Table(cells, colWidths=[w * mm for w in widths], repeatRows=1)
        t.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa5b1")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return t

    story: list[Any] = [
        Paragraph(esc(title or _("Rest station coverage plan")), big),
        Paragraph(
            esc(
                _(
                    "Generated %(when)s (Asia/Shanghai) by Yitu.",
                    when=datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
                )
            ),
            body,
        ),
        Paragraph(esc(_("Inputs")), heading),
        table([[_("Question"), _("Value")], *[[k, v] for k, v in inputs]], (55, 115)),
        Paragraph(esc(_("Coverage")), heading),
        Paragraph(
            esc(
                _(
                    "%(share)s of activity is within reach of a counted station "
                    "(%(stations)s stations, %(r)s m, %(method)s).",
                    share=f"{100 * (summary['covered_share'] or 0):.1f} %",
                    stations=summary["stations"],
                    r=int(summary["radius_m"]),
                    method=method_in_words(summary["method"]),
                )
            ),
            body,
        ),
    ]
    if siting is not None:
        s = siting.summary()
        story += [
            Paragraph(
                esc(
                    _(
                        "With the proposed sites: from %(base)s to %(final)s.",
                        base=f"{100 * s['base_share']:.1f} %",
                        final=f"{100 * s['final_share']:.1f} %",
                    )
                ),
                body,
            ),
            Paragraph(esc(proof_in_words(s)), body),
        ]
    story += [
        Spacer(1, 4 * mm),
        Image(io.BytesIO(map_image(answer, siting)), width=150 * mm, height=122 * mm),
    ]
    story.append(Paragraph(esc(_("Coverage by district")), heading))
    rows = [[_("District"), _("Activity"), _("Covered"), _("Uncovered cells"), _("Gaps")]]
    for d in answer.result.districts.itertuples(index=False):
        rows.append(
            [
                str(d.district),
                f"{d.weight:,.0f}",
                f"{100 * d.covered_share:.1f} %",
                str(d.uncovered_cells),
                str(d.gaps),
            ]
        )
    story.append(table(rows, (50, 30, 30, 30, 30)))
    if siting is not None:
        story.append(Paragraph(esc(_("Proposed sites")), heading))
        rows = [["#", _("Site"), _("Adds"), _("Covered after"), _("Cost"), "lon, lat"]]
        for r in siting.sites.itertuples(index=False):
            rows.append(
                [
                    str(r.order),
                    str(r.name),
                    f"{100 * r.gain_share:.2f} %",
                    f"{100 * r.covered_share:.1f} %",
                    f"{r.cost:,.0f}",
                    f"{r.lon:.5f}, {r.lat:.5f}",
                ]
            )
        story.append(table(rows, (10, 55, 22, 25, 22, 36)))
        story.append(Paragraph(esc(_("Coverage curve")), heading))
        story.append(Image(io.BytesIO(curve_image(siting)), width=150 * mm, height=94 * mm))
    story.append(Paragraph(esc(_("Data sources")), heading))
    for line in _sources(answer.datasets):
        story.append(Paragraph(esc(line), body))
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=title or "Yitu coverage plan",
        author="Yitu",
    )
    doc.build(story)
    return buffer.getvalue()


def _sources(datasets: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = [
        _(
            "Rider activity: %(name)s (%(city)s), %(points)s points aggregated to H3 cells; "
            "rider ids were hashed at import and no raw point is kept.",
            name=d.get("name", ""),
            city=d.get("city", ""),
            points=f"{d.get('points', 0):,}",
        )
        for d in datasets
    ]
    lines.append(_("Stations: the places ledger (active places of the chosen kinds)."))
    lines.append(_("Map: cell centres and stations in WGS-84; no base map is drawn."))
    return lines
