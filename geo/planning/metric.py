"""Service radii and the metric CRS that distances are measured in."""

from __future__ import annotations

import math

import numpy as np
import pyproj

from geo.errors import InvalidInput
from geo.places.crs import local_metric_crs

#: Service distance used when none is given, in metres: about a 6-minute
#: walk, or 2 minutes by e-bike.
DEFAULT_RADIUS_M = 500.0


#: Largest service distance accepted, in metres.
MAX_RADIUS_M = 20_000.0


# --------------------------------------------------------------------------- #
# Numeric core (metric coordinates)
# --------------------------------------------------------------------------- #


def check_radius(radius_m: float) -> float:
    """Return ``radius_m`` as a float or raise :class:`InvalidInput`."""
    try:
        value = float(radius_m)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"radius {radius_m!r} is not a number of metres", field="radius_m"
        ) from None
    if not math.isfinite(value) or value <= 0 or value > MAX_RADIUS_M:
        raise InvalidInput(
            f"radius {radius_m!r} m is outside (0, {MAX_RADIUS_M:.0f}] metres", field="radius_m"
        )
    return value


# --------------------------------------------------------------------------- #
# Projection helpers
# --------------------------------------------------------------------------- #


def metric_crs_for(lon: np.ndarray, lat: np.ndarray) -> pyproj.CRS:
    """Return the UTM zone CRS at the median of WGS-84 points."""
    if not len(lon):
        raise InvalidInput("no points to choose a metric CRS for", field="lon")
    return local_metric_crs(float(np.nanmedian(lon)), float(np.nanmedian(lat)))


def project(lon: np.ndarray, lat: np.ndarray, *, crs: pyproj.CRS) -> np.ndarray:
    """Project WGS-84 lon/lat degrees to an (n, 2) array in ``crs`` metres."""
    transformer = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    x, y = transformer.transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.column_stack([x, y])
