"""Open data in the formats GIS tools read as they are (pure helpers, no framework).

- :mod:`geo.opendata.crs`: the coordinate reference systems we serve
  (OGC CRS84, EPSG:4326, EPSG:4490 CGCS2000, EPSG:3857), their axis order and
  WGS-84 <-> Web Mercator arithmetic.
- :mod:`geo.opendata.ogc`: OGC API - Features parameter parsing (bbox,
  datetime, limit, crs) and the static documents (conformance, OpenAPI 3.0).
- :mod:`geo.opendata.tiles`: XYZ tile math and the amenity bitmask of the
  vector tiles.
- :mod:`geo.opendata.dictionary`: the data dictionary of the bulk files and
  the default licence.
"""
