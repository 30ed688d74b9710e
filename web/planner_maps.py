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

from geo.coverage import CoverageResult, cell_polygon
from geo.siting import SitingResult
from web.escape import safe_text
from web.maps import TileSource, base_map, default_asset_url

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
        return base_map(tiles=tiles, map_id=MAP_ID, asset_url=asset_url, zoom=4,
                        center=(104.0, 35.0))
    cells = result.cells
    pad = 0.005
    bounds = (float(cells["lon"].min()) - pad, float(cells["lat"].min()) - pad,
              float(cells["lon"].max()) + pad, float(cells["lat"].max()) + pad)
    m = base_map(tiles=tiles, map_id=MAP_ID, asset_url=asset_url, bounds=bounds)
    density = folium.FeatureGroup(name=_("Rider activity"), show=True)
    drawn = cells.nlargest(max_cells, "weight") if len(cells) > max_cells else cells
    classes = _density_class(drawn["weight"].to_numpy(float))
    for row, cls in zip(drawn.itertuples(index=False), classes, strict=True):
        colour = DENSITY_COLOURS[int(cls)]
        folium.Polygon(
            locations=_ring(tiles, cell_polygon(row.cell)), color=colour, weight=0.5,
            fill=True, fill_color=colour, fill_opacity=0.55,
            tooltip=folium.Tooltip(safe_text(
                _("Activity %(w)s · %(d)s", w=f"{row.weight:,.0f}", d=row.district)
                + ("" if row.covered else " · " + _("not covered")))),
        ).add_to(density)
    density.add_to(m)

    service = folium.FeatureGroup(name=_("Service areas"), show=True)
    if service_lines is not None:
        for line in service_lines:
            folium.PolyLine(_ring(tiles, line), color=SERVICE_COLOUR, weight=3,
                            opacity=0.7).add_to(service)
    for row in result.stations.itertuples(index=False):
        lon, lat = tiles.to_display([row.lon], [row.lat])
        location = (float(lat[0]), float(lon[0]))
        if service_lines is None:
            folium.Circle(location=location, radius=float(result.radius_m), color=SERVICE_COLOUR,
                          weight=1, fill=True, fill_opacity=0.08).add_to(service)
        is_added = str(row.id).startswith("what-if")
        folium.CircleMarker(
            location=location, radius=5, color=ADDED_COLOUR if is_added else SERVICE_COLOUR,
            fill=True, fill_opacity=0.9,
            tooltip=folium.Tooltip(safe_text(f"{row.name} (#{row.id})")),
        ).add_to(service)
    service.add_to(m)

    gaps = folium.FeatureGroup(name=_("Coverage gaps"), show=True)
    for gap in result.gaps.head(max_gaps).itertuples(index=False):
        members = cells.loc[cells["gap_id"] == gap.gap_id, "cell"].to_numpy()
        # One outline per gap (the union of its cells), not one per cell.
        shape = h3i.cells_to_h3shape([int(c) for c in members]).__geo_interface__
        polygons = ([shape["coordinates"]] if shape["type"] == "Polygon"
                    else shape["coordinates"])
        tooltip = safe_text(_("Gap %(name)s: activity %(w)s", name=gap.name,
                              w=f"{gap.weight:,.0f}"))
        for rings in polygons:
            folium.Polygon(locations=_ring(tiles, rings[0]), color=GAP_COLOUR, weight=2,
                           dash_array="6 4", fill=False,
                           tooltip=folium.Tooltip(tooltip)).add_to(gaps)
    gaps.add_to(m)

    if siting is not None and len(siting.sites):
        proposed = folium.FeatureGroup(name=_("Proposed sites"), show=True)
        for site in siting.sites.itertuples(index=False):
            lon, lat = tiles.to_display([site.lon], [site.lat])
            folium.CircleMarker(
                location=(float(lat[0]), float(lon[0])), radius=8, color=SITE_COLOUR,
                fill=True, fill_opacity=0.9,
                tooltip=folium.Tooltip(safe_text(
                    _("#%(n)d %(name)s: +%(gain)s", n=site.order, name=site.name,
                      gain=f"{site.gain_share:.1%}"))),
            ).add_to(proposed)
        proposed.add_to(m)
    for lon_w, lat_w in added:
        lon, lat = tiles.to_display([lon_w], [lat_w])
        folium.CircleMarker(location=(float(lat[0]), float(lon[0])), radius=7,
                            color=ADDED_COLOUR, fill=False, weight=3,
                            tooltip=folium.Tooltip(safe_text(_("What-if station")))).add_to(m)
    folium.LayerControl(collapsed=True, position="topright").add_to(m)
    return m


def layer_summary(result: CoverageResult) -> dict[str, Any]:
    """Counts shown in the map legend."""
    return {"cells": int(len(result.cells)), "gaps": int(len(result.gaps)),
            "stations": int(len(result.stations))}
