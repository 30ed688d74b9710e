"""Where the base map's tiles come from, and the coordinate system they are drawn in.

Shared by the map builders (``web/maps.py``) and the security headers
(``web/security.py``, whose CSP ``img-src`` lists the tile hosts).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from geo.places.crs import from_wgs84_arrays

OSM_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
TILE_CRSES = ("wgs84", "gcj02")


@dataclass(frozen=True)
class TileSource:
    """Where the base map's tiles come from and which system they are drawn in.

    Parameters
    ----------
    url
        Leaflet URL template (``{z}``, ``{x}``, ``{y}``, optional ``{s}``).
    attribution
        HTML attribution text; operator configuration, not user input.
    crs
        ``"wgs84"`` (OpenStreetMap and most tile servers) or ``"gcj02"``
        (Amap/Gaode, Tencent).  Decides whether drawn points are shifted.
    subdomains
        Values of ``{s}``.
    max_zoom
        Highest zoom level the server has tiles for.
    """

    url: str = OSM_TILE_URL
    attribution: str = OSM_ATTRIBUTION
    crs: str = "wgs84"
    subdomains: str = "abc"
    max_zoom: int = 19

    def __post_init__(self) -> None:
        if self.crs not in TILE_CRSES:
            raise ValueError(f"TILE_CRS {self.crs!r} is not one of {', '.join(TILE_CRSES)}")
        if not self.url.startswith(("https://", "http://", "/")):
            raise ValueError(f"TILE_URL {self.url!r} must be an http(s) URL or a local path")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TileSource:
        """Read the ``TILE_URL``, ``TILE_ATTRIBUTION``, ``TILE_CRS``, ``TILE_SUBDOMAINS``
        and ``TILE_MAX_ZOOM`` settings."""
        return cls(
            url=config.get("TILE_URL") or OSM_TILE_URL,
            attribution=config.get("TILE_ATTRIBUTION") or OSM_ATTRIBUTION,
            crs=str(config.get("TILE_CRS") or "wgs84").lower(),
            subdomains=str(config.get("TILE_SUBDOMAINS") or "abc"),
            max_zoom=int(config.get("TILE_MAX_ZOOM") or 19),
        )

    def origins(self) -> tuple[str, ...]:
        """Return the origins tiles are fetched from, for the CSP ``img-src``.

        ``{s}`` is expanded to each subdomain, so the policy lists exact hosts
        rather than a wildcard.  A relative URL (tiles served by this app)
        gives no extra origin.
        """
        parts = urlsplit(self.url)
        if not parts.scheme:
            return ()
        host = parts.netloc
        hosts = [host.replace("{s}", s) for s in self.subdomains] if "{s}" in host else [host]
        return tuple(f"{parts.scheme}://{h}" for h in hosts)

    def matches(self, url: str) -> bool:
        """Return whether ``url`` is a tile of this source (used to audit requests)."""
        pattern = re.escape(self.url)
        for placeholder, regex in (
            (r"\{s\}", "[^./]+"),
            (r"\{z\}", r"\d+"),
            (r"\{x\}", r"\d+"),
            (r"\{y\}", r"\d+"),
            (r"\{r\}", "(?:@2x)?"),
        ):
            pattern = pattern.replace(placeholder, regex)
        return re.fullmatch(pattern, url) is not None

    def to_display(
        self, lon: np.ndarray | list[float], lat: np.ndarray | list[float]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Shift WGS-84 ``lon``/``lat`` degree arrays into the tiles' system."""
        return from_wgs84_arrays(
            np.asarray(lon, dtype=float), np.asarray(lat, dtype=float), crs=self.crs
        )
