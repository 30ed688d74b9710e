"""Command groups shared by several areas (``yitu import ...``, ``yitu export ...``)."""

from __future__ import annotations

from flask.cli import AppGroup

imports = AppGroup("import", help="Import ledgers and data files.")
exports = AppGroup("export", help="Export data as GeoJSON, CSV or XLSX.")
