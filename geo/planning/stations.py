"""Which stations count for coverage: kinds, status and opening during a time window."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime

import numpy as np
import pandas as pd

from geo.activity.windows import TimeWindow

# --------------------------------------------------------------------------- #
# Station selection
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class StationFilter:
    """Which places count as supply.

    Attributes
    ----------
    kinds : tuple of str
        Place kinds that count (``geo.places.KINDS``); empty = all kinds.
    amenities : tuple of str
        Amenities every counted place must offer.
    window : TimeWindow or None
        Places must be open during the window (by their opening hours) for
        at least ``min_open_share`` of it.
    unknown_hours_open : bool
        Whether a place with no opening hours on record counts as open.
        True by default: most ledgers lack hours and leaving those stations
        out would invent gaps; the result reports how many there were.
    """

    kinds: tuple[str, ...] = ("station",)
    amenities: tuple[str, ...] = ()
    window: TimeWindow | None = None
    unknown_hours_open: bool = True
    min_open_share: float = 0.5


def select_stations(
    stations: pd.DataFrame, selection: StationFilter
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Return the active stations that count under ``selection`` and the counts dropped.

    Parameters
    ----------
    stations : pandas.DataFrame
        Columns ``id``, ``name``, ``kind``, ``lon``, ``lat`` (WGS-84), and
        optionally ``status``, ``amenities`` (sequence of codes) and
        ``opening_hours`` (OSM syntax or None).
    selection : StationFilter

    Returns
    -------
    (pandas.DataFrame, dict)
        The stations kept, and ``{reason: count}`` of those left out.
    """
    frame = stations.reset_index(drop=True)
    dropped: dict[str, int] = {}
    keep = np.ones(len(frame), dtype=bool)

    def drop(mask: np.ndarray, reason: str) -> None:
        nonlocal keep
        newly = keep & ~mask
        if newly.any():
            dropped[reason] = int(newly.sum())
        keep &= mask

    if "status" in frame:
        drop((frame["status"].fillna("active") == "active").to_numpy(), "not active")
    if selection.kinds:
        drop(frame["kind"].isin(selection.kinds).to_numpy(), "other kind")
    if selection.amenities and len(frame):
        have = frame.get("amenities", pd.Series([()] * len(frame)))
        wanted = set(selection.amenities)
        drop(np.array([wanted <= set(a or ()) for a in have], dtype=bool), "missing amenity")
    if selection.window is not None and len(frame):
        hours = frame.get("opening_hours", pd.Series([None] * len(frame)))
        open_mask, unknown = open_during_window(
            hours.tolist(),
            selection.window,
            unknown_open=selection.unknown_hours_open,
            min_open_share=selection.min_open_share,
        )
        if unknown.any():
            dropped[
                "hours unknown (counted as open)"
                if selection.unknown_hours_open
                else "hours unknown"
            ] = int((unknown & keep).sum())
        drop(open_mask, f"closed during {selection.window.name}")
    return frame[keep].reset_index(drop=True), dropped


#: A reference week with no Chinese public holiday (Monday 4 March 2024), on
#: which weekly windows are evaluated against opening hours.
REFERENCE_MONDAY = date(2024, 3, 4)


def window_open_share(osm: str, window: TimeWindow) -> float:
    """Return the share (0..1) of a weekly window during which a place is open.

    The window's day spans are laid on :data:`REFERENCE_MONDAY`'s week and
    measured with :func:`geo.places.hours_open.open_share` (Asia/Shanghai local time).
    """
    from geo.places.hours_open import open_share

    spans = window.day_ranges()
    total = sum(end - start for _, start, end in spans)
    if total <= 0:
        return 0.0
    opened = 0.0
    for day, start_min, end_min in spans:
        midnight = datetime.combine(REFERENCE_MONDAY + timedelta(days=day), dtime(0, 0))
        opened += (end_min - start_min) * open_share(
            osm,
            start=midnight + timedelta(minutes=start_min),
            end=midnight + timedelta(minutes=end_min),
        )
    return opened / total


def open_during_window(
    opening_hours: Sequence[str | None],
    window: TimeWindow,
    *,
    unknown_open: bool = True,
    min_open_share: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (open during ``window``, hours unknown) per place.

    A place counts as open when it is open for at least ``min_open_share``
    of the window (summed over the window's days): a station open 12:00-
    13:30 serves most of the 11:00-13:30 lunch peak, one open only at 13:00
    does not.  Hours that cannot be evaluated count as unknown.
    """
    from geo.errors import GeoError

    opened = np.zeros(len(opening_hours), dtype=bool)
    unknown = np.zeros(len(opening_hours), dtype=bool)
    cache: dict[str, float | None] = {}
    for i, text in enumerate(opening_hours):
        key = (
            ""
            if text is None or (isinstance(text, float) and math.isnan(text))
            else str(text).strip()
        )
        if key and key not in cache:
            try:
                cache[key] = window_open_share(key, window)
            except GeoError:
                cache[key] = None  # unreadable hours are as good as none
        share = cache.get(key) if key else None
        if share is None:
            unknown[i] = True
            opened[i] = unknown_open
        else:
            opened[i] = share >= min_open_share - 1e-9
    return opened, unknown
