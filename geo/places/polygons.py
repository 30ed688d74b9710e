"""Read an area polygon (GeoJSON or WKT) given in any supported coordinate system."""

from __future__ import annotations

from typing import Any

import numpy as np

from geo.errors import InvalidInput

# --------------------------------------------------------------------------- #
# Areas
# --------------------------------------------------------------------------- #

#: Largest polygon file read, in bytes.
MAX_POLYGON_BYTES = 20 * 1024 * 1024


def read_polygon(path: Any, *, crs: str = "wgs84") -> Any:
    """Read a GeoJSON polygon (geometry, Feature or FeatureCollection) as WGS-84.

    Parameters
    ----------
    path : str or Path
        GeoJSON file; every Polygon/MultiPolygon in it is merged into one area.
    crs : str
        CRS of its coordinates (``wgs84``, ``gcj02``, ``bd09`` or EPSG);
        converted to WGS-84.

    Returns
    -------
    shapely Polygon or MultiPolygon, WGS-84 degrees.

    Raises
    ------
    InvalidInput
        Unreadable, too large, or without a valid polygon.
    """
    import json
    from pathlib import Path

    import shapely
    from shapely.geometry import shape

    from geo.places.crs_points import points_to_wgs84

    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"{path}: no such polygon file", field="polygon")
    if path.stat().st_size > MAX_POLYGON_BYTES:
        raise InvalidInput(
            f"{path.name} is larger than {MAX_POLYGON_BYTES // 2**20} MB", field="polygon"
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidInput(f"{path.name} is not GeoJSON text", field="polygon") from None
    if not isinstance(document, dict):
        raise InvalidInput(f"{path.name}: expected a GeoJSON object", field="polygon")
    if document.get("type") == "FeatureCollection":
        geometries = [f.get("geometry") for f in document.get("features") or []]
    elif document.get("type") == "Feature":
        geometries = [document.get("geometry")]
    else:
        geometries = [document]
    shapes = []
    for geometry in geometries:
        if not isinstance(geometry, dict) or geometry.get("type") not in (
            "Polygon",
            "MultiPolygon",
        ):
            continue
        try:
            shapes.append(shape(geometry))
        except (ValueError, TypeError, AttributeError):
            raise InvalidInput(
                f"{path.name}: a polygon has malformed coordinates", field="polygon"
            ) from None
    if not shapes:
        raise InvalidInput(f"{path.name} holds no Polygon or MultiPolygon", field="polygon")
    area = shapely.union_all([shapely.make_valid(s) for s in shapes])

    def convert(coords: np.ndarray) -> np.ndarray:
        lon, lat = points_to_wgs84(coords[:, 0], coords[:, 1], crs=crs)
        return np.column_stack([lon, lat])

    area = shapely.transform(area, convert)
    if area.is_empty or area.area == 0:
        raise InvalidInput(f"{path.name}: the polygon is empty", field="polygon")
    return area
