"""Report photos: accept JPEG, PNG or WebP, re-encode them with no metadata at all.

A phone photo carries EXIF (GPS position, time, camera serial), XMP, ICC
profiles and maker notes.  Re-saving with Pillow is not enough (``info``
and ``exif`` can travel along), so the pixels are copied into a brand-new
image, which has no metadata to carry, after applying the EXIF orientation
so the picture stays upright.  The result is a JPEG at most
``max_side_px`` on its longer side.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from geo.errors import InvalidInput

ACCEPTED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP")
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_SIDE_PX = 1600
# Pillow's bomb guard: refuse anything above this many pixels before decoding.
MAX_PIXELS = 40_000_000
JPEG_QUALITY = 82


class PhotoTooLarge(InvalidInput):
    """The photo is larger than the limit (answered as 413)."""


@dataclass(frozen=True)
class CleanPhoto:
    """A re-encoded photo: JPEG bytes without any metadata, and its size in pixels."""

    data: bytes
    width: int
    height: int
    mime: str = "image/jpeg"


def clean_photo(
    data: bytes, *, max_bytes: int = MAX_PHOTO_BYTES, max_side_px: int = MAX_SIDE_PX
) -> CleanPhoto:
    """Check and re-encode an uploaded photo, dropping every metadata field.

    Parameters
    ----------
    data : bytes
        The uploaded file.
    max_bytes : int, keyword-only
        Largest upload accepted, in bytes (5 MB by default).
    max_side_px : int, keyword-only
        The longer side of the result, in pixels, at most.

    Returns
    -------
    CleanPhoto

    Raises
    ------
    PhotoTooLarge
        ``data`` is longer than ``max_bytes``.
    InvalidInput
        Not a JPEG, PNG or WebP image, or a damaged or oversized one.
    """
    if len(data) > max_bytes:
        raise PhotoTooLarge(
            f"the photo is larger than {max_bytes // (1024 * 1024)} MB", field="photo"
        )
    if not data:
        raise InvalidInput("the photo is empty", field="photo")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in ACCEPTED_FORMATS:
                    raise InvalidInput("the photo must be a JPEG, PNG or WebP image", field="photo")
                if probe.width * probe.height > MAX_PIXELS:
                    raise InvalidInput("the photo has too many pixels", field="photo")
                probe.load()
                upright = ImageOps.exif_transpose(probe)
                rgb = upright.convert("RGB")
    except InvalidInput:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise InvalidInput("the photo must be a JPEG, PNG or WebP image", field="photo") from None
    rgb.thumbnail((max_side_px, max_side_px), Image.Resampling.LANCZOS)
    # A new image has an empty ``info`` and no EXIF: only the pixels cross over.
    bare = Image.new("RGB", rgb.size)
    bare.paste(rgb)
    out = io.BytesIO()
    bare.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return CleanPhoto(out.getvalue(), bare.width, bare.height)
