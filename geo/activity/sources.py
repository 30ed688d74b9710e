"""Open activity files (CSV, XLSX, Parquet, optionally gzipped) and read them in chunks of raw rows."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from geo.errors import InvalidInput, LedgerError
from geo.places.ledger import Limits as LedgerLimits
from geo.places.ledger import check_zip_inflation, sniff_encoding

#: Rows read per chunk; about 50-100 MB of text in memory at most.
DEFAULT_CHUNK_ROWS = 200_000


_FILE_KINDS = {
    ".csv": "csv",
    ".txt": "csv",
    ".gz": "csv",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
    ".geoparquet": "parquet",
    ".pq": "parquet",
}


# --------------------------------------------------------------------------- #
# Reading files in chunks
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class RawChunk:
    """A slice of an input file: the needed columns plus human row numbers."""

    frame: pd.DataFrame
    rows: np.ndarray  # what a person sees: CSV line / Excel row / Parquet record
    done: int  # progress so far, in the unit of ``ActivitySource.total``


@dataclass
class ActivitySource:
    """An opened activity file: its kind, headers and a chunk iterator factory.

    Attributes
    ----------
    path : Path
    kind : str
        ``csv``, ``xlsx`` or ``parquet``.
    headers : list of str
        Column names in file order.
    row_label : str
        ``line`` (CSV), ``row`` (XLSX) or ``record`` (Parquet), for messages.
    total : int
        Progress total: bytes for CSV, rows for XLSX and Parquet.
    file_crs : str or None
        CRS declared by GeoParquet metadata (``EPSG:4326`` style), if any.
    geometry_column : str or None
        GeoParquet primary geometry column, read as point lon/lat.
    """

    path: Path
    kind: str
    headers: list[str]
    row_label: str
    total: int
    file_crs: str | None = None
    geometry_column: str | None = None
    encoding: str = "utf-8"

    def chunks(
        self,
        columns: Sequence[str],
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        text_columns: Sequence[str] = (),
    ) -> Iterator[RawChunk]:
        """Yield the given columns in chunks of at most ``chunk_rows`` rows."""
        if self.kind == "csv":
            yield from _csv_chunks(self, columns, chunk_rows, text_columns)
        elif self.kind == "xlsx":
            yield from _xlsx_chunks(self, columns, chunk_rows)
        else:
            yield from _parquet_chunks(self, columns, chunk_rows)


# Synthetic column names for GeoParquet point geometry.
GEOMETRY_LON = "__geometry_lon__"


GEOMETRY_LAT = "__geometry_lat__"


def open_activity(path: str | Path) -> ActivitySource:
    """Open an activity file and read its header.

    Parameters
    ----------
    path : str or Path
        ``.csv`` (UTF-8 or GB18030, optionally ``.csv.gz``), ``.xlsx`` or
        ``.parquet``/``.geoparquet``.

    Raises
    ------
    LedgerError
        Missing, empty, unknown type, not readable, or an XLSX that inflates
        like an XML bomb.
    """
    path = Path(path)
    if not path.is_file():
        raise LedgerError(f"{path}: no such file")
    suffix = path.suffix.lower()
    kind = _FILE_KINDS.get(suffix)
    if kind is None:
        raise LedgerError(
            f"{path.name}: unknown file type {suffix or '(none)'}; expected .csv, .xlsx or .parquet"
        )
    if path.stat().st_size == 0:
        raise LedgerError(f"{path.name} is empty; expected a header row and data rows")
    if kind == "csv":
        return _open_csv(path)
    if kind == "xlsx":
        return _open_xlsx(path)
    return _open_parquet(path)


def _sniff_encoding(path: Path) -> str:
    """The encoding of a (possibly gzipped) text file, from its first 64 KiB."""
    import gzip

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as handle:
        return sniff_encoding(handle.read(1 << 16))


def _open_csv(path: Path) -> ActivitySource:
    encoding = _sniff_encoding(path)
    try:
        header = pd.read_csv(path, nrows=0, encoding=encoding, sep=None, engine="python")
    except pd.errors.EmptyDataError:
        raise LedgerError(f"{path.name} is empty; expected a header row and data rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise LedgerError(f"{path.name}: not a readable CSV file ({type(exc).__name__})") from None
    headers = [str(c).strip() for c in header.columns]
    if not headers or all(h.startswith("Unnamed") for h in headers):
        raise LedgerError(f"{path.name} has no header row; expected lon, lat and time columns")
    return ActivitySource(
        path=path,
        kind="csv",
        headers=headers,
        row_label="line",
        total=path.stat().st_size,
        encoding=encoding,
    )


def _csv_chunks(
    source: ActivitySource, columns: Sequence[str], chunk_rows: int, text_columns: Sequence[str]
) -> Iterator[RawChunk]:
    import gzip

    opener = gzip.open if source.path.suffix.lower() == ".gz" else open
    dtypes = {c: "string" for c in text_columns}
    with opener(source.path, "rb") as raw:
        reader = (
            pd.read_csv(
                raw,
                usecols=lambda c: str(c).strip() in set(columns),
                chunksize=chunk_rows,
                encoding=source.encoding,
                dtype=dtypes,
                skipinitialspace=True,
                sep=None,
                engine="python",
            )
            if _needs_sniff(source)
            else pd.read_csv(
                raw,
                usecols=lambda c: str(c).strip() in set(columns),
                chunksize=chunk_rows,
                encoding=source.encoding,
                dtype=dtypes,
                skipinitialspace=True,
                low_memory=False,
            )
        )
        first_line = 2  # the header is line 1
        with reader:
            for frame in reader:
                frame.columns = [str(c).strip() for c in frame.columns]
                rows = np.arange(first_line, first_line + len(frame))
                first_line += len(frame)
                position = raw.fileobj.tell() if hasattr(raw, "fileobj") else raw.tell()  # type: ignore[union-attr]  # gzip or plain binary file, both seekable
                yield RawChunk(frame, rows, int(position))


def _needs_sniff(source: ActivitySource) -> bool:
    """Use the slow sniffing parser only when the file is not comma-separated."""
    with open(source.path, "rb") as handle:
        head = handle.read(4096)
    if source.path.suffix.lower() == ".gz":
        return False
    first = head.split(b"\n", 1)[0]
    return b"," not in first and (b";" in first or b"\t" in first or b"|" in first)


def _open_xlsx(path: Path) -> ActivitySource:
    import defusedxml  # noqa: F401  (openpyxl parses with defusedxml when importable)
    from openpyxl import load_workbook

    # Activity workbooks are legitimately bigger than ledgers; the ratio check
    # is what stops an XML bomb.
    check_zip_inflation(path, LedgerLimits(max_xlsx_inflated_bytes=4 * 1024**3))
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        total = int(sheet.max_row or 0)
        header = next(sheet.iter_rows(values_only=True, max_row=1), None)
    finally:
        workbook.close()
    headers = [str(v).strip() for v in header or () if v is not None and str(v).strip()]
    if not headers:
        raise LedgerError(f"{path.name}: the first sheet is empty; expected a header row")
    return ActivitySource(path=path, kind="xlsx", headers=headers, row_label="row", total=total)


def _xlsx_chunks(
    source: ActivitySource, columns: Sequence[str], chunk_rows: int
) -> Iterator[RawChunk]:
    from openpyxl import load_workbook

    workbook = load_workbook(source.path, read_only=True, data_only=True)
    try:
        values = workbook.worksheets[0].iter_rows(values_only=True)
        header = [str(v).strip() if v is not None else "" for v in next(values)]
        positions = [header.index(c) for c in columns]
        batch: list[tuple[Any, ...]] = []
        numbers: list[int] = []
        for number, row in enumerate(values, start=2):
            if not any(v is not None and str(v).strip() for v in row):
                continue
            batch.append(tuple(row[p] if p < len(row) else None for p in positions))
            numbers.append(number)
            if len(batch) >= chunk_rows:
                yield RawChunk(
                    pd.DataFrame(batch, columns=list(columns), dtype=object),
                    np.asarray(numbers),
                    number,
                )
                batch, numbers = [], []
        if batch:
            yield RawChunk(
                pd.DataFrame(batch, columns=list(columns), dtype=object),
                np.asarray(numbers),
                source.total,
            )
    finally:
        workbook.close()


def _open_parquet(path: Path) -> ActivitySource:
    import json

    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several unrelated types for junk
        raise LedgerError(
            f"{path.name}: not a readable Parquet file ({type(exc).__name__})"
        ) from None
    headers = list(meta.schema_arrow.names)
    file_crs = geometry = None
    geo_meta = (meta.schema_arrow.metadata or {}).get(b"geo")
    if geo_meta:
        info = json.loads(geo_meta)
        geometry = info.get("primary_column")
        column = info.get("columns", {}).get(geometry, {})
        crs = column.get("crs", "OGC:CRS84")  # GeoParquet: absent means CRS84
        file_crs = _crs_text(crs)
        headers = [h for h in headers if h != geometry] + [GEOMETRY_LON, GEOMETRY_LAT]
    return ActivitySource(
        path=path,
        kind="parquet",
        headers=headers,
        row_label="record",
        total=int(meta.metadata.num_rows),
        file_crs=file_crs,
        geometry_column=geometry,
    )


def _crs_text(crs: Any) -> str | None:
    """Turn GeoParquet PROJJSON (or None) into an authority string."""
    if crs is None:
        return None
    from pyproj import CRS

    found = CRS.from_user_input(crs)
    authority = found.to_authority()
    text = ":".join(authority) if authority else found.to_string()
    return "EPSG:4326" if text in ("OGC:CRS84", "EPSG:4326") else text


def _parquet_chunks(
    source: ActivitySource, columns: Sequence[str], chunk_rows: int
) -> Iterator[RawChunk]:
    import pyarrow.parquet as pq

    wanted = [c for c in columns if c not in (GEOMETRY_LON, GEOMETRY_LAT)]
    use_geometry = GEOMETRY_LON in columns or GEOMETRY_LAT in columns
    if use_geometry and source.geometry_column:
        wanted.append(source.geometry_column)
    done = 0
    with pq.ParquetFile(source.path) as handle:
        for batch in handle.iter_batches(batch_size=chunk_rows, columns=wanted):
            frame = batch.to_pandas()
            if use_geometry and source.geometry_column:
                geoms = shapely.from_wkb(frame.pop(source.geometry_column).to_numpy())
                kinds = shapely.get_type_id(geoms)
                if np.any((kinds != 0) & (kinds != -1)):
                    raise InvalidInput(
                        f"{source.path.name}: geometry column {source.geometry_column!r} holds "
                        "non-point geometries; activity must be points",
                        field="geometry",
                    )
                frame[GEOMETRY_LON] = shapely.get_x(geoms)
                frame[GEOMETRY_LAT] = shapely.get_y(geoms)
            rows = np.arange(done + 1, done + len(frame) + 1)
            done += len(frame)
            yield RawChunk(frame, rows, done)
