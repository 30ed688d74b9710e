"""Reading ledgers (CSV, XLSX, GeoJSON, JSON) into numbered rows plus a report.

This module knows file formats, size limits, column names and reporting; it
knows nothing about what a row means.  :mod:`geo.place_rows` (places) and the
household register build on it.

Row numbers are what a person sees: in CSV and XLSX the header is row 1 and
the first data row is row 2; in JSON and GeoJSON the first item is row 1.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from geo.errors import LedgerError

Severity = Literal["error", "warning"]
Row = tuple[int, dict[str, Any]]
T = TypeVar("T")

# Keys under which GeoJSON point coordinates are handed to the row mapper.
GEOJSON_LON = "__geometry_lon__"
GEOJSON_LAT = "__geometry_lat__"


@dataclass(frozen=True)
class Limits:
    """Upper bounds that keep a hostile or broken file from exhausting memory.

    ``max_xlsx_ratio`` bounds how much an XLSX (a zip) may inflate: a 2.6 MB
    workbook that inflates to 469 MB is an XML bomb, not a ledger.
    """

    max_file_bytes: int = 64 * 1024 * 1024
    max_xlsx_inflated_bytes: int = 256 * 1024 * 1024
    max_xlsx_ratio: float = 120.0
    max_rows: int = 1_000_000


@dataclass(frozen=True)
class Issue:
    """One finding about one row; ``message`` is safe to show to users."""

    row: int
    severity: Severity
    code: str
    message: str
    field: str | None = None
    name: str | None = None


@dataclass
class Report:
    """What happened to every row of one ledger.

    ``counts`` is filled by the database step (inserted, updated, unchanged).
    """

    source: str
    rows_read: int = 0
    issues: list[Issue] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    dry_run: bool = False

    def error(self, row: int, code: str, message: str, **kw: Any) -> None:
        """Record a finding that rejects ``row``."""
        self.issues.append(Issue(row, "error", code, message, **kw))

    def warn(self, row: int, code: str, message: str, **kw: Any) -> None:
        """Record a finding that keeps ``row`` but deserves a look."""
        self.issues.append(Issue(row, "warning", code, message, **kw))

    @property
    def rejected_rows(self) -> set[int]:
        """Row numbers with at least one error."""
        return {i.row for i in self.issues if i.severity == "error"}

    @property
    def accepted(self) -> int:
        """Rows that pass validation."""
        return self.rows_read - len(self.rejected_rows)

    def by_code(self) -> dict[str, int]:
        """Count issues by code, for a summary line."""
        out: dict[str, int] = {}
        for issue in self.issues:
            out[issue.code] = out.get(issue.code, 0) + 1
        return dict(sorted(out.items()))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (the ``--report`` file)."""
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "rows_read": self.rows_read,
            "accepted": self.accepted,
            "rejected": len(self.rejected_rows),
            "warnings": sum(1 for i in self.issues if i.severity == "warning"),
            "counts": self.counts,
            "issues_by_code": self.by_code(),
            "columns": self.columns,
            "ignored_columns": self.ignored_columns,
            "issues": [asdict(i) for i in sorted(self.issues, key=lambda i: (i.row, i.severity))],
        }


def detect_format(path: Path) -> str:
    """Return ``csv``, ``xlsx``, ``geojson`` or ``json`` from the file name."""
    suffix = path.suffix.lower()
    formats = {
        ".csv": "csv",
        ".txt": "csv",
        ".xlsx": "xlsx",
        ".geojson": "geojson",
        ".json": "json",
    }
    if suffix not in formats:
        raise LedgerError(
            f"{path.name}: unknown file type {suffix or '(none)'}; expected .csv, .xlsx, .geojson or .json"
        )
    return formats[suffix]


def read_rows(path: Path, *, limits: Limits | None = None) -> Iterator[Row]:
    """Yield ``(row_number, {column: value})`` for every data row of a ledger.

    Raises
    ------
    LedgerError
        When the file is missing, too large, an XML bomb, not decodable or
        not the format its name says.
    """
    limits = limits or Limits()
    path = Path(path)
    if not path.is_file():
        raise LedgerError(f"{path}: no such file")
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise LedgerError(
            f"{path.name} is {size / 1e6:.1f} MB; the limit is {limits.max_file_bytes / 1e6:.0f} MB"
        )
    readers = {"csv": _csv_rows, "xlsx": _xlsx_rows, "geojson": _json_rows, "json": _json_rows}
    for count, row in enumerate(readers[detect_format(path)](path, limits), start=1):
        if count > limits.max_rows:
            raise LedgerError(f"{path.name} has more than {limits.max_rows} rows; split it")
        yield row


def decode_text(data: bytes, name: str) -> str:
    """Decode ledger bytes as UTF-8 (with or without BOM), else GB18030.

    GB18030 is a superset of GBK and GB2312, the encodings Excel on Chinese
    Windows writes.
    """
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise LedgerError(f"{name}: text is neither UTF-8 nor GBK/GB18030; save it as UTF-8 CSV")


def _csv_rows(path: Path, limits: Limits) -> Iterator[Row]:
    text = decode_text(path.read_bytes(), path.name)
    dialect: type[csv.Dialect] | csv.Dialect = csv.excel
    # A one-column file has no delimiter to sniff; the excel dialect reads it.
    with contextlib.suppress(csv.Error):
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header:
        raise LedgerError(f"{path.name} is empty; expected a header row and data rows")
    names = [h.strip() for h in header]
    for number, values in enumerate(reader, start=2):
        if any(v.strip() for v in values):
            yield number, dict(zip(names, values, strict=False))


def check_zip_inflation(path: Path, limits: Limits) -> None:
    """Refuse XLSX files whose contents inflate beyond the limits."""
    try:
        with zipfile.ZipFile(path) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise LedgerError(f"{path.name} is not a valid .xlsx file (not a zip archive)") from exc
    ratio = inflated / max(path.stat().st_size, 1)
    if inflated > limits.max_xlsx_inflated_bytes or ratio > limits.max_xlsx_ratio:
        raise LedgerError(
            f"{path.name} inflates to {inflated / 1e6:.0f} MB ({ratio:.0f}x its size); "
            f"the limits are {limits.max_xlsx_inflated_bytes / 1e6:.0f} MB and "
            f"{limits.max_xlsx_ratio:.0f}x"
        )


def _xlsx_rows(path: Path, limits: Limits) -> Iterator[Row]:
    import defusedxml  # noqa: F401  (openpyxl parses with defusedxml when it is importable)
    from openpyxl import load_workbook

    check_zip_inflation(path, limits)
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        header: list[str] | None = None
        for number, values in enumerate(rows, start=1):
            if header is None:
                if any(v is not None and str(v).strip() for v in values):
                    header = [str(v).strip() if v is not None else "" for v in values]
                continue
            if any(v is not None and str(v).strip() for v in values):
                yield number, dict(zip(header, values, strict=False))
        if header is None:
            raise LedgerError(f"{path.name}: the first sheet is empty; expected a header row")
    finally:
        workbook.close()


def _json_rows(path: Path, limits: Limits) -> Iterator[Row]:
    try:
        document = json.loads(decode_text(path.read_bytes(), path.name))
    except json.JSONDecodeError as exc:
        raise LedgerError(f"{path.name}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if isinstance(document, dict) and document.get("type") == "FeatureCollection":
        yield from _feature_rows(document.get("features") or [])
        return
    items = document.get("data") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise LedgerError(
            f"{path.name}: expected a GeoJSON FeatureCollection, a list of objects, "
            'or {"data": [...]}'
        )
    for number, item in enumerate(items, start=1):
        yield number, item if isinstance(item, dict) else {"__not_an_object__": item}


def _feature_rows(features: Sequence[Any]) -> Iterator[Row]:
    for number, feature in enumerate(features, start=1):
        properties = dict((feature or {}).get("properties") or {})
        geometry = (feature or {}).get("geometry") or {}
        coordinates = geometry.get("coordinates")
        if (
            geometry.get("type") == "Point"
            and isinstance(coordinates, list)
            and len(coordinates) >= 2
        ):
            properties[GEOJSON_LON], properties[GEOJSON_LAT] = coordinates[0], coordinates[1]
        elif geometry:
            properties["__geometry_type__"] = geometry.get("type")
        yield number, properties


def normalize_header(name: str) -> str:
    """Fold a column header for matching: case, spaces, brackets, full-width forms."""
    folded = name.strip().casefold()
    for char in " _-()（）[]【】:：":
        folded = folded.replace(char, "")
    return folded


def map_columns(
    headers: Sequence[str],
    synonyms: Mapping[str, Sequence[str]],
    *,
    explicit: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Match ledger headers to fields.

    Parameters
    ----------
    headers
        Column names as written in the ledger.
    synonyms
        For each field, the names it goes by (Chinese and English).
    explicit
        ``{header: field}`` given by the user; it wins over synonyms.

    Returns
    -------
    ``({header: field}, [headers left unmapped])``.

    Raises
    ------
    LedgerError
        When an explicit mapping names a header the file lacks or a field
        that does not exist.
    """
    explicit = dict(explicit or {})
    for header, target in explicit.items():
        if header not in headers:
            raise LedgerError(
                f"--map {header}={target}: the file has no column {header!r}; "
                f"its columns are: {', '.join(headers)}"
            )
        if target not in synonyms:
            raise LedgerError(
                f"--map {header}={target}: unknown field {target!r}; "
                f"fields are: {', '.join(synonyms)}"
            )
    lookup = {normalize_header(s): f for f, names in synonyms.items() for s in (f, *names)}
    mapping: dict[str, str] = {}
    taken = set(explicit.values())
    for header in headers:
        target = explicit.get(header) or lookup.get(normalize_header(header))
        if target and (header in explicit or target not in taken):
            mapping[header] = target
            taken.add(target)
    unmapped = [h for h in headers if h not in mapping]
    return mapping, unmapped


def is_blank(value: Any) -> bool:
    """True for None, empty or whitespace text, and float NaN (pandas' blank)."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def parse_mapping_option(pairs: Sequence[str]) -> dict[str, str]:
    """Parse ``["站点全称=name", ...]`` from the command line into a dict."""
    out: dict[str, str] = {}
    for pair in pairs:
        header, sep, target = pair.partition("=")
        if not sep or not header.strip() or not target.strip():
            raise LedgerError(f"--map {pair!r}: expected COLUMN=field, e.g. 站点全称=name")
        out[header.strip()] = target.strip()
    return out


def parse_all(
    rows: Iterable[Row], parse: Callable[[int, dict[str, Any]], T | None], report: Report
) -> list[tuple[int, T]]:
    """Run ``parse`` on every row, counting rows; keep ``(row_number, result)`` of the accepted.

    ``parse`` returns None for a rejected row (having written why to ``report``).

    Raises
    ------
    LedgerError
        When the ledger has no data rows at all.
    """
    accepted: list[tuple[int, T]] = []
    for number, raw in rows:
        report.rows_read += 1
        result = parse(number, raw)
        if result is not None:
            accepted.append((number, result))
    if report.rows_read == 0:
        raise LedgerError(f"{report.source}: the ledger has no data rows")
    return accepted
