"""Convert columns of points given in any supported system to WGS-84."""

from __future__ import annotations

import numpy as np

from geo.errors import InvalidInput
from geo.places.crs import to_wgs84_arrays
from geo.places.vocabulary import SOURCE_CRSES


def points_to_wgs84(lon: np.ndarray, lat: np.ndarray, *, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert points to WGS-84 from a Chinese datum or an EPSG CRS.

    Parameters
    ----------
    lon, lat : numpy.ndarray
        Coordinates in ``crs`` (degrees, or the CRS's units for EPSG codes).
    crs : str
        ``wgs84``, ``gcj02``, ``bd09`` (via :func:`geo.places.crs.to_wgs84_arrays`)
        or anything pyproj reads (``EPSG:4326``, ``EPSG:32650``, ...).

    Returns
    -------
    tuple of numpy.ndarray
        WGS-84 lon, lat in degrees.
    """
    text = str(crs).strip()
    if text.lower() in SOURCE_CRSES:
        return to_wgs84_arrays(lon, lat, crs=text.lower())
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        source = CRS.from_user_input(text)
    except CRSError:
        raise InvalidInput(
            f"crs {crs!r} is not known; expected wgs84, gcj02, bd09 or an EPSG code", field="crs"
        ) from None
    if source.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    transformer = Transformer.from_crs(source, 4326, always_xy=True)
    out_lon, out_lat = transformer.transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(out_lon), np.asarray(out_lat)
