"""The pure rules of geo/trust: report validation, hashes, freshness, photos, posters."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from xml.etree import ElementTree

import pytest
from PIL import Image
from pyzbar.pyzbar import decode

from geo.errors import InvalidInput
from geo.trust.freshness import Confirmed, freshness
from geo.trust.photos import PhotoTooLarge, clean_photo
from geo.trust.posters import PosterStation, PosterText, poster_pdf, poster_svg, qr_png
from geo.trust.reports import (
    REPORT_TYPES,
    client_hash,
    day_key,
    new_receipt,
    normalize_receipt,
    validate_report,
)

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
TEXT = PosterText("户外劳动者服务站点", "扫码：确认信息、报告问题、签到", "站点编号", "驿图")


def test_severity_orders_the_queue() -> None:
    severity = {t.code: t.severity for t in REPORT_TYPES}
    assert (
        severity["gone"]
        > severity["closed_in_hours"]
        > severity["amenity_missing"]
        > severity["wrong_hours"]
    )


def test_validate_report_keeps_only_what_the_type_needs() -> None:
    draft = validate_report(
        type="wrong_hours",
        place_amenities=["water"],
        proposed_hours=" 周一至周五 09:00-17:00 ",
        amenity="water",
        lon=101.7,
        lat=36.6,
    )
    assert (draft.proposed_hours, draft.amenity, draft.lon) == (
        "周一至周五 09:00-17:00",
        None,
        None,
    )
    point = validate_report(type="wrong_location", place_amenities=[], lon="101.5", lat=36.6)
    assert (point.lon, point.lat) == (101.5, 36.6)
    other = validate_report(type="other", place_amenities=[], text="a\x00b\u200b c")
    assert other.text == "ab c"  # NUL and zero-width space dropped
    assert (
        validate_report(type="other", place_amenities=[], text="x").dedupe_key
        != validate_report(type="other", place_amenities=[], text="y").dedupe_key
    )
    with pytest.raises(InvalidInput) as err:
        validate_report(type="wrong_location", place_amenities=[], lon="inf", lat=36)
    assert err.value.field == "lon"


def test_receipts_are_unambiguous_and_normalised() -> None:
    code = new_receipt()
    assert len(code) == 10 and not set(code) & set("ILOU")
    assert normalize_receipt(code[:5].lower() + "-" + code[5:]) == code
    for bad in ("", "ABCDEFGHIL", "12345"):
        with pytest.raises(InvalidInput):
            normalize_receipt(bad)


def test_client_hash_rotates_with_the_day_and_the_salt() -> None:
    key = day_key(b"secret", b"s" * 32)
    a = client_hash(key, date(2026, 11, 29), "203.0.113.7")
    assert a == client_hash(key, date(2026, 11, 29), "203.0.113.7")
    assert a != client_hash(key, date(2026, 11, 30), "203.0.113.7")
    assert a != client_hash(day_key(b"secret", b"t" * 32), date(2026, 11, 29), "203.0.113.7")
    assert a != client_hash(day_key(b"other", b"s" * 32), date(2026, 11, 29), "203.0.113.7")
    assert len(a) == 32 and "203" not in a


def test_freshness_only_counts_confirmations_and_goes_stale() -> None:
    facts = ("place", "hours", "amenity:hot_water")
    known = {
        "amenity:hot_water": Confirmed(2, NOW - timedelta(days=3)),
        "hours": Confirmed(0, NOW - timedelta(days=120)),
    }
    state = freshness(facts, known, now=NOW, created_at=NOW - timedelta(days=400))
    hot = state.fact("amenity:hot_water")
    assert (hot.people, hot.days_ago, hot.stale) == (2, 3, False)
    hours = state.fact("hours")
    assert (hours.days_ago, hours.stale) == (120, True)
    assert state.fact("place").days_ago is None and state.stale
    young = freshness(facts, {}, now=NOW, created_at=NOW - timedelta(days=10))
    assert not young.stale
    assert freshness(facts, known, now=NOW, stale_after_days=200).fact("hours").stale is False


def _jpeg_with_everything() -> bytes:
    image = Image.new("RGB", (300, 200), (10, 200, 10))
    image.putpixel((0, 0), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 on display
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (36.0, 37.0, 1.0), 3: "E", 4: (101.0, 46.0, 40.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=b"secret comment", icc_profile=b"\0" * 128)
    return out.getvalue()


def test_clean_photo_strips_metadata_and_keeps_it_upright() -> None:
    raw = _jpeg_with_everything()
    assert b"PhoneMaker" in raw and b"secret comment" in raw
    clean = clean_photo(raw)
    image = Image.open(io.BytesIO(clean.data))
    assert image.format == "JPEG" and (image.width, image.height) == (200, 300)
    assert not image.getexif() and "icc_profile" not in image.info
    assert "comment" not in image.info
    for secret in (b"PhoneMaker", b"secret comment", b"Exif"):
        assert secret not in clean.data


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_clean_photo_accepts_png_and_webp_and_resizes(fmt: str) -> None:
    out = io.BytesIO()
    Image.new("RGBA", (3200, 1600), (1, 2, 3, 128)).save(out, format=fmt)
    clean = clean_photo(out.getvalue())
    assert (clean.width, clean.height) == (1600, 800) and clean.mime == "image/jpeg"


def test_clean_photo_refuses_what_is_not_a_photo() -> None:
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    for data in (b"not an image", gif.getvalue(), b""):
        with pytest.raises(InvalidInput):
            clean_photo(data)
    with pytest.raises(PhotoTooLarge):
        clean_photo(b"x" * 101, max_bytes=100)


def test_qr_png_decodes_to_the_url() -> None:
    url = "https://yitu.example.cn/s/XN-DEMO-ST16"
    found = decode(Image.open(io.BytesIO(qr_png(url))))
    assert [(d.type, d.data.decode()) for d in found] == [("QRCODE", url)]


def test_posters_escape_names_and_have_pages() -> None:
    hostile = PosterStation(
        name='驿站 <script>alert(1)</script> & "{{7*191}}"',
        number="XN-1",
        url="https://yitu.example.cn/s/XN-1",
    )
    svg = poster_svg(hostile, TEXT, size="A5")
    root = ElementTree.fromstring(svg.encode())  # well-formed XML
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert root.get("width") == "148.0mm"
    pdf = poster_pdf([hostile, PosterStation("第二站", None, "https://x.cn/p/2")], TEXT)
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type /Page\b(?!s)", pdf)) == 2
    with pytest.raises(InvalidInput):
        poster_pdf([], TEXT)
    with pytest.raises(InvalidInput):
        poster_svg(hostile, TEXT, size="B5")


def test_an_inspection_confirms_every_fact() -> None:
    facts = ("place", "hours", "amenity:water")
    known = {"hours": Confirmed(1, NOW - timedelta(days=2))}
    state = freshness(
        facts,
        known,
        now=NOW,
        created_at=NOW - timedelta(days=400),
        inspected_at=NOW - timedelta(days=10),
    )
    assert [(f.fact, f.days_ago, f.inspected) for f in state.facts] == [
        ("place", 10, True),
        ("hours", 2, False),
        ("amenity:water", 10, True),
    ]
    assert not state.stale
    old = freshness(
        facts,
        {},
        now=NOW,
        created_at=NOW - timedelta(days=400),
        inspected_at=NOW - timedelta(days=200),
    )
    assert old.stale and old.fact("place").inspected
