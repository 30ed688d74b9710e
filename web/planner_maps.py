"""Planner map: activity density, service areas, gaps and proposed sites.

Built on :func:`web.maps.base_map` (vendored assets, tiles' CRS, strict CSP).
Every drawn coordinate goes through the tile source's ``to_display`` (GCJ-02
tiles need shifted geometry), and every piece of text -- station names,
district names, gap names -- through :func:`web.escape.safe_text`.  Only
aggregates are drawn: H3 cells with their totals, never a rider's point.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import folium
import h3.api.numpy_int as h3i
import numpy as np
from flask_babel import gettext as _

from geo.planning.coverage import CoverageResult
from geo.planning.coverage_export import cell_polygon
from geo.planning.siting import SitingResult
from web.escape import safe_text
from web.maps import DataLayer, base_map, default_asset_url, draw
from web.tile_source import TileSource

MAP_ID = "planner"

# Colour ramp for activity density (light to dark), and layer colours.
DENSITY_COLOURS = ("#fff5eb", "#fdd0a2", "#fd8d3c", "#e6550d", "#a63603")
SERVICE_COLOUR = "#2b8a3e"
GAP_COLOUR = "#c92a2a"
SITE_COLOUR = "#1864ab"
ADDED_COLOUR = "#7048e8"


def _ring(tiles: TileSource, ring: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    lons, lats = tiles.to_display([p[0] for p in ring], [p[1] for p in ring])
    return [(float(y), float(x)) for x, y in zip(lons, lats, strict=True)]


def _density_class(weights: np.ndarray) -> np.ndarray:
    """Quantile class 0..4 of each weight (equal-count classes read best on a map)."""
    if not len(weights):
        return np.zeros(0, dtype=int)
    edges = np.quantile(weights, [0.2, 0.4, 0.6, 0.8])
    return np.searchsorted(edges, weights, side="right")


def planner_map(
    result: CoverageResult | None,
    *,
    tiles: TileSource,
    siting: SitingResult | None = None,
    service_lines: list[list[tuple[float, float]]] | None = None,
    added: Sequence[tuple[float, float]] = (),
    asset_url: Callable[[str], str] = default_asset_url,
    max_cells: int = 8_000,
    max_gaps: int = 500,
) -> folium.Map:
    """Build the planner's map.

    Parameters
    ----------
    result : CoverageResult or None
        Coverage to draw; None draws an empty map of China.
    tiles : TileSource
        Configured tiles (their CRS decides the shift of drawn geometry).
    siting : SitingResult, optional
        Proposed sites, drawn as numbered markers.
    service_lines : list of polylines, optional
        Road-network service areas (WGS-84); straight-line service areas are
        drawn as circles of ``radius_m`` otherwise.
    added : sequence of (lon, lat)
        What-if stations, drawn apart from the existing ones.
    max_cells : int
        Largest number of density cells drawn (the heaviest); keeps the page
        light on a phone.  Tables and exports always hold every cell.
    max_gaps : int
        Largest number of gap outlines drawn (the heaviest gaps).
    """
    if result is None or result.cells.empty:
        return base_map(
            tiles=tiles, map_id=MAP_ID, asset_url=asset_url, zoom=4, center=(104.0, 35.0)
        )
    cells = result.cells
    pad = 0.005
    bounds = (
        float(cells["lon"].min()) - pad,
        float(cells["lat"].min()) - pad,
        float(cells["lon"].max()) + pad,
        float(cells["lat"].max()) + pad,
    )
    m = base_map(tiles=tiles, map_id=MAP_ID, asset_url=asset_url, bounds=bounds)
    layers = [
        ("density", _("Rider activity")),
        ("service", _("Service areas")),
        ("gaps", _("Coverage gaps")),
    ]
    if siting is not None and len(siting.sites):
        layers.append(("sites", _("Proposed sites")))
    for key, label in layers:
        DataLayer(key, label=label).add_to(m)
    _draw_density(m, tiles, cells, max_cells)
    _draw_service(m, tiles, result, service_lines)
    _draw_gaps(m, tiles, result, max_gaps)
    if siting is not None and len(siting.sites):
        _draw_sites(m, tiles, siting)
    for lon_w, lat_w in added:
        draw(
            m,
            "circleMarker",
            _point(tiles, lon_w, lat_w),
            options={"radius": 7, "color": ADDED_COLOUR, "fill": False, "weight": 3},
            tooltip=safe_text(_("What-if station")),
        )
    return m


def _point(tiles: TileSource, lon: float, lat: float) -> tuple[float, float]:
    """``(lat, lon)`` in the tiles' system of one WGS-84 point."""
    x, y = tiles.to_display([lon], [lat])
    return float(y[0]), float(x[0])


def _draw_density(m: folium.Map, tiles: TileSource, cells: Any, max_cells: int) -> None:
    drawn = cells.nlargest(max_cells, "weight") if len(cells) > max_cells else cells
    classes = _density_class(drawn["weight"].to_numpy(float))
    for row, cls in zip(drawn.itertuples(index=False), classes, strict=True):
        colour = DENSITY_COLOURS[int(cls)]
        draw(
            m,
            "polygon",
            _ring(tiles, cell_polygon(row.cell)),
            layer="density",
            options={
                "color": colour,
                "weight": 0.5,
                "fill": True,
                "fillColor": colour,
                "fillOpacity": 0.55,
            },
            tooltip=safe_text(
                _("Activity %(w)s · %(d)s", w=f"{row.weight:,.0f}", d=row.district)
                + ("" if row.covered else " · " + _("not covered"))
            ),
        )


def _draw_service(
    m: folium.Map,
    tiles: TileSource,
    result: CoverageResult,
    service_lines: list[list[tuple[float, float]]] | None,
) -> None:
    for line in service_lines or ():
        draw(
            m,
            "polyline",
            _ring(tiles, line),
            layer="service",
            options={"color": SERVICE_COLOUR, "weight": 3, "opacity": 0.7},
        )
    for row in result.stations.itertuples(index=False):
        location = _point(tiles, row.lon, row.lat)
        if service_lines is None:
            draw(
                m,
                "circle",
                location,
                layer="service",
                options={
                    "radius": float(result.radius_m),
                    "color": SERVICE_COLOUR,
                    "weight": 1,
                    "fill": True,
                    "fillOpacity": 0.08,
                },
            )
        is_added = str(row.id).startswith("what-if")
        draw(
            m,
            "circleMarker",
            location,
            layer="service",
            options={
                "radius": 5,
                "color": ADDED_COLOUR if is_added else SERVICE_COLOUR,
                "fill": True,
                "fillOpacity": 0.9,
            },
            tooltip=safe_text(f"{row.name} (#{row.id})"),
        )


def _draw_gaps(m: folium.Map, tiles: TileSource, result: CoverageResult, max_gaps: int) -> None:
    cells = result.cells
    for gap in result.gaps.head(max_gaps).itertuples(index=False):
        members = cells.loc[cells["gap_id"] == gap.gap_id, "cell"].to_numpy()
        # One outline per gap (the union of its cells), not one per cell.
        shape = h3i.cells_to_h3shape([int(c) for c in members]).__geo_interface__
        polygons = [shape["coordinates"]] if shape["type"] == "Polygon" else shape["coordinates"]
        tooltip = safe_text(
            _("Gap %(name)s: activity %(w)s", name=gap.name, w=f"{gap.weight:,.0f}")
        )
        for rings in polygons:
            draw(
                m,
                "polygon",
                _ring(tiles, rings[0]),
                layer="gaps",
                tooltip=tooltip,
                options={"color": GAP_COLOUR, "weight": 2, "dashArray": "6 4", "fill": False},
            )


def _draw_sites(m: folium.Map, tiles: TileSource, siting: SitingResult) -> None:
    for site in siting.sites.itertuples(index=False):
        draw(
            m,
            "circleMarker",
            _point(tiles, site.lon, site.lat),
            layer="sites",
            options={"radius": 8, "color": SITE_COLOUR, "fill": True, "fillOpacity": 0.9},
            tooltip=safe_text(
                _(
                    "#%(n)d %(name)s: +%(gain)s",
                    n=site.order,
                    name=site.name,
                    gain=f"{site.gain_share:.1%}",
                )
            ),
        )
