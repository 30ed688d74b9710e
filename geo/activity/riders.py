"""Rider ids are personal: hash them with a keyed salt at the door."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geo.errors import InvalidInput

#: Shortest accepted salt for rider-id hashing, in bytes.
MIN_SALT_BYTES = 16


# --------------------------------------------------------------------------- #
# Rider ids
# --------------------------------------------------------------------------- #


def _id_text(value: Any) -> str:
    """Normalise an id so 317, 317.0 and "317" hash the same in every format."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def hash_rider_ids(values: Sequence[Any] | pd.Series, *, salt: bytes) -> NDArray[np.uint64]:
    """Replace rider ids with 64-bit keyed hashes (HMAC-SHA-256, truncated).

    Parameters
    ----------
    values : sequence
        Raw rider ids; blanks (None, NaN, empty text) give 0, "unknown".
    salt : bytes
        Secret key of at least :data:`MIN_SALT_BYTES` bytes.  The same salt
        gives the same hash, so counts merge across files of one deployment;
        without it the hashes cannot be linked back to ids.

    Returns
    -------
    numpy.ndarray of uint64
        One hash per value; 0 for blanks.
    """
    check_salt(salt)
    series = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    # Hash each distinct id once: riders are far fewer than pings.
    keyed = np.zeros(len(uniques) + 1, dtype=np.uint64)
    for position, value in enumerate(uniques):
        text = _id_text(value)
        if not text:
            continue
        digest = hmac.new(salt, text.encode("utf-8"), hashlib.sha256).digest()
        keyed[position] = int.from_bytes(digest[:8], "big") or 1
    return keyed[np.where(codes < 0, len(uniques), codes)]


def check_salt(salt: bytes) -> None:
    """Raise :class:`InvalidInput` unless ``salt`` is long enough to be secret."""
    if not isinstance(salt, bytes | bytearray) or len(salt) < MIN_SALT_BYTES:
        raise InvalidInput(
            f"the rider-id salt must be at least {MIN_SALT_BYTES} bytes of secret text; "
            "set YITU_RIDER_ID_SALT",
            field="salt",
        )
