"""Printable station posters: the station's name and number, a QR code, a line on scanning.

The QR code (segno, ISO/IEC 18004, error correction level M, quiet zone of
four modules) holds the station's short, stable URL.  Posters come as A4 or
A5, as PDF (reportlab; the QR drawn as vector squares, so it prints sharp
at any size) or SVG.  Station names come from ledgers: they are escaped as
XML text in SVG and drawn as plain strings in PDF, never markup.

Texts are given by the caller (already translated); this module lays out.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

import segno
from reportlab.lib.pagesizes import A4, A5
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from geo.errors import InvalidInput

#: Page sizes in PostScript points (1/72 inch), portrait.
PAGE_SIZES: dict[str, tuple[float, float]] = {"A4": A4, "A5": A5}
FONT = "STSong-Light"  # Adobe's CID font for simplified Chinese; every PDF reader has it
QUIET_ZONE = 4
_MM_PER_PT = 25.4 / 72


@dataclass(frozen=True)
class PosterStation:
    """What one poster shows: the station and the URL its QR code holds."""

    name: str
    number: str | None
    url: str
    district: str | None = None


@dataclass(frozen=True)
class PosterText:
    """The words of a poster (translated by the caller)."""

    heading: str
    scan_line: str
    number_label: str
    footer: str


def qr_code(url: str) -> segno.QRCode:
    """Return the QR code of ``url`` (level M, never a Micro QR)."""
    if not url or len(url) > 400:
        raise InvalidInput("a poster URL must have 1..400 characters", field="url")
    return segno.make_qr(url, error="m", boost_error=False)


def qr_png(url: str, *, scale: int = 8) -> bytes:
    """Return the QR code of ``url`` as a PNG (``scale`` pixels per module)."""
    out = io.BytesIO()
    qr_code(url).save(out, kind="png", scale=scale, border=QUIET_ZONE)
    return out.getvalue()


def _dark_modules(qr: segno.QRCode) -> list[tuple[int, int]]:
    return [(x, y) for y, row in enumerate(qr.matrix) for x, bit in enumerate(row) if bit & 1]


def _check_size(size: str) -> tuple[float, float]:
    if size not in PAGE_SIZES:
        raise InvalidInput(f"size must be one of {', '.join(PAGE_SIZES)}", field="size")
    return PAGE_SIZES[size]


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _layout(size: str) -> dict[str, float]:
    width, height = _check_size(size)
    scale = width / A4[0]
    return {
        "width": width,
        "height": height,
        "scale": scale,
        "qr_side": 120 * mm * scale,
        "margin": 18 * mm * scale,
    }


def poster_pdf(stations: Sequence[PosterStation], text: PosterText, *, size: str = "A4") -> bytes:
    """Return a PDF with one poster page per station.

    Parameters
    ----------
    stations : sequence of PosterStation
        One page each, in order (at least one).
    text : PosterText
        The poster's words.
    size : {"A4", "A5"}, keyword-only
        Page size, portrait.
    """
    if not stations:
        raise InvalidInput("there is no station to print", field="stations")
    box = _layout(size)
    font = _font()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(box["width"], box["height"]), invariant=True)
    pdf.setTitle(text.heading)
    for station in stations:
        _pdf_page(pdf, station, text, box, font)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def _pdf_page(
    pdf: canvas.Canvas, station: PosterStation, text: PosterText, box: dict[str, float], font: str
) -> None:
    width, height, s = box["width"], box["height"], box["scale"]
    centre = width / 2
    y = height - box["margin"] - 16 * s
    pdf.setFillColorRGB(0.78, 0.16, 0.16)
    pdf.setFont(font, 26 * s)
    pdf.drawCentredString(centre, y, text.heading)
    pdf.setFillColorRGB(0, 0, 0)
    y -= 22 * mm * s
    pdf.setFont(font, _fit(station.name, 30 * s, width - 2 * box["margin"]))
    pdf.drawCentredString(centre, y, station.name)
    if station.number:
        y -= 11 * mm * s
        pdf.setFont(font, 16 * s)
        pdf.drawCentredString(centre, y, f"{text.number_label} {station.number}")
    qr = qr_code(station.url)
    modules = qr.symbol_size(scale=1, border=QUIET_ZONE)[0]
    side = box["qr_side"]
    unit = side / modules
    left = centre - side / 2
    top = y - 8 * mm * s
    pdf.setFillColorRGB(1, 1, 1)
    pdf.rect(left, top - side, side, side, stroke=0, fill=1)
    pdf.setFillColorRGB(0, 0, 0)
    for x, row in _dark_modules(qr):
        pdf.rect(
            left + (x + QUIET_ZONE) * unit,
            top - (row + QUIET_ZONE + 1) * unit,
            unit,
            unit,
            stroke=0,
            fill=1,
        )
    y = top - side - 12 * mm * s
    pdf.setFont(font, 17 * s)
    pdf.drawCentredString(centre, y, text.scan_line)
    y -= 9 * mm * s
    pdf.setFont("Helvetica", 10 * s)
    pdf.drawCentredString(centre, y, station.url)
    pdf.setFont(font, 10 * s)
    pdf.drawCentredString(centre, box["margin"], text.footer)


def _fit(line: str, size: float, width: float) -> float:
    # CJK glyphs are about one em wide; shrink long names to stay on the page.
    return min(size, width / max(len(line), 1))


def poster_svg(station: PosterStation, text: PosterText, *, size: str = "A4") -> str:
    """Return one station's poster as an SVG document (millimetre user units)."""
    width_pt, height_pt = _check_size(size)
    width, height = width_pt * _MM_PER_PT, height_pt * _MM_PER_PT
    s = width / (A4[0] * _MM_PER_PT)
    qr = qr_code(station.url)
    modules = qr.symbol_size(scale=1, border=QUIET_ZONE)[0]
    side = 120 * s
    unit = side / modules
    left = (width - side) / 2
    top = 80 * s
    path = "".join(
        f"M{(x + QUIET_ZONE) * unit + left:.3f} {(y + QUIET_ZONE) * unit + top:.3f}"
        f"h{unit:.3f}v{unit:.3f}h-{unit:.3f}z"
        for x, y in _dark_modules(qr)
    )

    def line(y: float, words: str, font_mm: float, colour: str = "#000") -> str:
        return (
            f'<text x="{width / 2:.1f}" y="{y:.1f}" font-size="{font_mm:.1f}" '
            f'fill="{colour}" text-anchor="middle">{escape(words)}</text>'
        )

    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.1f}mm" height="{height:.1f}mm" '
        f'viewBox="0 0 {width:.1f} {height:.1f}" '
        'font-family="Noto Sans CJK SC, Source Han Sans SC, sans-serif">',
        f"<title>{escape(text.heading)} {escape(station.name)}</title>",
        f'<rect width="{width:.1f}" height="{height:.1f}" fill="#fff"/>',
        line(30 * s, text.heading, 9 * s, "#c62828"),
        line(50 * s, station.name, min(10.5 * s, (width - 30 * s) / max(len(station.name), 1))),
    ]
    if station.number:
        parts.append(line(63 * s, f"{text.number_label} {station.number}", 6 * s))
    parts += [
        f'<path d="{path}" fill="#000"/>',
        line(top + side + 16 * s, text.scan_line, 6 * s),
        line(top + side + 26 * s, station.url, 3.6 * s, "#333"),
        line(height - 15 * s, text.footer, 3.6 * s, "#555"),
        "</svg>",
    ]
    return "\n".join(parts)
