"""Reading ledgers (CSV, XLSX, GeoJSON, JSON) into numbered rows plus a report.

This module knows file formats, size limits, column names and reporting; it
knows nothing about what a row means.  :mod:`geo.places.rows` (places) and the
household register build on it.

Row numbers are what a person sees: in CSV and XLSX the header is row 1 and
the first data row is row 2; in JSON and GeoJSON the first item is row 1.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException

from geo.errors import LedgerError

Severity = Literal["error", "warning"]
Row = tuple[int, dict[str, Any]]
T = TypeVar("T")

# Keys under which GeoJSON point coordinates are handed to the row mapper.
GEOJSON_LON = "__geometry_lon__"
GEOJSON_LAT = "__geometry_lat__"

# CSV delimiters that may be guessed, in order of preference on a tie, with their names.
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
# Encodings tried in order, with the name the report gives them.  GB18030 is a
# superset of GBK and GB2312, the encodings Excel on Chinese Windows writes.
ENCODINGS = {"utf-8-sig": "UTF-8", "gb18030": "GB18030 (GBK)"}
# What zipfile, openpyxl and defusedxml raise on a damaged or hostile workbook:
# sizes or checksums that lie, entity bombs, malformed XML, missing parts.
XLSX_FAILURES = (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError, ParseError)


@dataclass(frozen=True)
class Limits:
    """Upper bounds that keep a hostile or broken file from exhausting memory.

    ``max_xlsx_ratio`` bounds how much an XLSX (a zip) may inflate: a 2.6 MB
    workbook that inflates to 469 MB is an XML bomb, not a ledger.
    ``max_rejected`` stops an import after that many rejected rows (0: never),
    so that a garbage file is refused in seconds, not validated to its end.
    """

    max_file_bytes: int = 64 * 1024 * 1024
    max_xlsx_inflated_bytes: int = 256 * 1024 * 1024
    max_xlsx_ratio: float = 120.0
    max_rows: int = 1_000_000
    max_rejected: int = 1_000


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
    ``detected`` says how the file was read (format, encoding, CSV delimiter);
    ``stopped`` why reading stopped early, if it did.  ``rejected_rows`` is
    kept up to date by :meth:`error`, so asking for it costs nothing.
    """

    source: str
    rows_read: int = 0
    issues: list[Issue] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    dry_run: bool = False
    detected: dict[str, str] = field(default_factory=dict)
    stopped: str | None = None
    rejected_rows: set[int] = field(default_factory=set, init=False)

    def error(self, row: int, code: str, message: str, **kw: Any) -> None:
        """Record a finding that rejects ``row``."""
        self.issues.append(Issue(row, "error", code, message, **kw))
        self.rejected_rows.add(row)

    def warn(self, row: int, code: str, message: str, **kw: Any) -> None:
        """Record a finding that keeps ``row`` but deserves a look."""
        self.issues.append(Issue(row, "warning", code, message, **kw))

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
            "detected": self.detected,
            "stopped": self.stopped,
            "rows_read": self.rows_read,
            "accepted": self.accepted,
            "rejected": len(self.rejected_rows),
            "warnings": sum(1 for i in self.issues if i.severity == "warning"),
            "counts": self.counts,
            "issues_by_code": self.by_code(),
            "columns": self.columns,
            "ignored_columns": self.ignored_columns,
            # vars(), not asdict(): an issue holds only scalars, and asdict's deep copy
            # was most of a large report's cost.
            "issues": [
                dict(vars(i)) for i in sorted(self.issues, key=lambda i: (i.row, i.severity))
            ],
        }


# First bytes of the formats recognised by content.
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls, old .doc
SUFFIX_FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".geojson": "geojson",
    ".json": "json",
}
FORMAT_LABELS = {"csv": "CSV", "xlsx": "XLSX workbook", "geojson": "GeoJSON", "json": "JSON"}


def detect_format(path: Path, detected: dict[str, str] | None = None) -> str:
    """Return ``csv``, ``xlsx``, ``geojson`` or ``json``, recognised by the file's content.

    The name must end in a ledger suffix (``.csv``, ``.txt``, ``.xlsx``,
    ``.geojson``, ``.json``), but the first bytes decide how it is read: a
    zip holding ``xl/workbook.xml`` is an XLSX workbook whatever its name
    (Excel users save workbooks as ``站点.csv``), a text file named
    ``.xlsx`` is read as CSV, and an Excel 97-2003 ``.xls`` is refused by
    name.  When content and name disagree, ``detected["note"]`` says so, for
    the report.

    Raises
    ------
    LedgerError
        Unknown suffix, an old ``.xls`` workbook, or a zip that is no workbook.
    """
    suffix = path.suffix.lower()
    if suffix not in SUFFIX_FORMATS:
        raise LedgerError(
            f"{path.name}: unknown file type {suffix or '(none)'}; expected .csv, .xlsx, .geojson or .json"
        )
    named = SUFFIX_FORMATS[suffix]
    with path.open("rb") as f:
        head = f.read(8)
    if head.startswith(OLE_MAGIC):
        raise LedgerError(
            f"{path.name} is an Excel 97-2003 (.xls) workbook; open it in Excel "
            "or WPS and save it as .xlsx or CSV (UTF-8)"
        )
    if head.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as archive:
                is_workbook = "xl/workbook.xml" in archive.namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise LedgerError(
                f"{path.name} starts like a zip archive but is damaged; save "
                "it again as .xlsx or CSV"
            ) from exc
        if not is_workbook:
            raise LedgerError(
                f"{path.name} is a zip archive but not an Excel workbook "
                "(no xl/workbook.xml); expected .xlsx, CSV, GeoJSON or JSON"
            )
        found = "xlsx"
    elif named == "xlsx":
        found = "csv"  # text named .xlsx: CSV is the one text format Excel writes
    else:
        found = named
    if detected is not None:
        detected["format"] = found
    if detected is not None and found != named:
        detected["note"] = (
            f"named {suffix} but recognised by its content as "
            f"{FORMAT_LABELS[found]}; read as {FORMAT_LABELS[found]}"
        )
    return found


def read_rows(
    path: Path, *, limits: Limits | None = None, detected: dict[str, str] | None = None
) -> Iterator[Row]:
    """Yield ``(row_number, {column: value})`` for every data row of a ledger.

    Parameters
    ----------
    path
        The ledger file.
    limits
        Size bounds (default :class:`Limits`).  CSV and JSON rows are counted
        before the first row is yielded, so an oversized file is refused before
        any row is validated; XLSX rows are counted as they stream (the
        inflation limit bounds that work).
    detected
        Filled with how the file is read: ``format``, and ``encoding`` and
        ``delimiter`` where they apply.

    Raises
    ------
    LedgerError
        When the file is missing, too large, has too many rows, is an XML
        bomb or a damaged zip, is not decodable or not the format its name says.
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
    detected = {} if detected is None else detected
    detect_format(path, detected)
    readers = {"csv": _csv_rows, "xlsx": _xlsx_rows, "geojson": _json_rows, "json": _json_rows}
    for count, row in enumerate(readers[detected["format"]](path, limits, detected), start=1):
        check_row_count(count, path.name, limits)
        yield row


def check_row_count(count: int, name: str, limits: Limits) -> None:
    """Refuse a ledger with more than ``limits.max_rows`` data rows."""
    if count > limits.max_rows:
        raise LedgerError(
            f"{name} has at least {count:,} data rows; a ledger may have at most "
            f"{limits.max_rows:,}. Split it into files of at most {limits.max_rows:,} rows "
            "and import each"
        )


def sniff_encoding(head: bytes) -> str:
    """Return the codec of text that starts with ``head``: UTF-8 (BOM or not), else GB18030.

    GB18030 is what Excel on Chinese Windows writes (a superset of GBK).  A
    character cut at the end of ``head`` is fine, so callers may pass only
    the first bytes of a large file (ledgers and activity files alike).
    """
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """Decode ledger bytes in the encoding :func:`sniff_encoding` finds.

    Returns
    -------
    ``(text, name of the encoding)``.
    """
    encoding = sniff_encoding(data)
    try:
        return data.decode(encoding), ENCODINGS[encoding]
    except UnicodeDecodeError:
        raise LedgerError(
            f"{name}: text is neither UTF-8 nor GBK/GB18030; save it as UTF-8 CSV"
        ) from None


def guess_delimiter(text: str) -> str:
    """Return the delimiter that splits the header into the most fields (comma on a tie).

    Only the delimiter is guessed.  Quoting is always RFC 4180's (double
    quotes, doubled inside a field): guessing the quote character as well let
    one apostrophe in a name (``Workers' Home``) change how the whole file
    was read.
    """
    head = text[:65536]
    return max(DELIMITERS, key=lambda d: len(next(csv.reader(io.StringIO(head), delimiter=d), [])))


def _csv_rows(path: Path, limits: Limits, detected: dict[str, str]) -> Iterator[Row]:
    text, detected["encoding"] = decode_text(path.read_bytes(), path.name)
    delimiter = guess_delimiter(text)
    detected["delimiter"] = DELIMITERS[delimiter]
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise LedgerError(f"{path.name} is empty; expected a header row and data rows")
    # Counting first (in C, nothing validated) refuses an oversized file in a second or two.
    records = csv.reader(io.StringIO(text), delimiter=delimiter)
    filled = sum(1 for values in records if any(map(str.strip, values)))
    check_row_count(filled - 1, path.name, limits)
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


def xlsx_failure(name: str, exc: Exception) -> LedgerError:
    """Return the error for a workbook that zipfile, openpyxl or defusedxml could not read."""
    cause = exc.__cause__ or exc  # openpyxl wraps what the XML parser raised in a ValueError
    if isinstance(cause, DefusedXmlException):
        why = "its XML declares entities or a DTD, which a workbook never needs (an XML bomb?)"
    elif isinstance(cause, zipfile.BadZipFile | zlib.error | EOFError):
        why = "its zip archive is damaged: the sizes or checksums it declares do not match its data"
    else:
        why = "its contents are not a valid workbook"
    return LedgerError(
        f"{name} cannot be read as an .xlsx workbook: {why}. Nothing was imported; expected a "
        "workbook saved by Excel or WPS. Open it there and save it again, or export it as UTF-8 CSV"
    )


def _xlsx_rows(path: Path, limits: Limits, detected: dict[str, str]) -> Iterator[Row]:
    check_zip_inflation(path, limits)
    try:
        yield from _sheet_rows(path)
    except LedgerError:
        raise
    except XLSX_FAILURES as exc:
        raise xlsx_failure(path.name, exc) from exc


def _sheet_rows(path: Path) -> Iterator[Row]:
    # openpyxl parses with defusedxml because it is importable (imported above).
    from openpyxl import load_workbook

    # An open file, not the path: openpyxl refuses any name not ending in
    # .xlsx, and a workbook saved as 站点.csv is still a workbook.
    stream = path.open("rb")
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except BaseException:
        stream.close()
        raise
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
        stream.close()


def _json_rows(path: Path, limits: Limits, detected: dict[str, str]) -> Iterator[Row]:
    text, detected["encoding"] = decode_text(path.read_bytes(), path.name)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LedgerError(f"{path.name}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if isinstance(document, dict) and document.get("type") == "FeatureCollection":
        features = document.get("features") or []
        check_row_count(len(features), path.name, limits)
        yield from _feature_rows(features)
        return
    items = document.get("data") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise LedgerError(
            f"{path.name}: expected a GeoJSON FeatureCollection, a list of objects, "
            'or {"data": [...]}'
        )
    check_row_count(len(items), path.name, limits)
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
        chosen = explicit.get(header) or lookup.get(normalize_header(header))
        if chosen and (header in explicit or chosen not in taken):
            mapping[header] = chosen
            taken.add(chosen)
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
    rows: Iterable[Row],
    parse: Callable[[int, dict[str, Any]], T | None],
    report: Report,
    *,
    max_rejected: int = 0,
) -> list[tuple[int, T]]:
    """Run ``parse`` on every row, counting rows; keep ``(row_number, result)`` of the accepted.

    ``parse`` returns None for a rejected row (having written why to ``report``).
    After ``max_rejected`` rejected rows (0: never) reading stops and
    ``report.stopped`` says so; the caller must then write nothing.

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
        elif max_rejected and len(report.rejected_rows) >= max_rejected:
            report.stopped = (
                f"stopped at row {number} after {max_rejected:,} rejected rows: the rest of the "
                "file was not read and nothing was written. Fix the rejected rows listed in the "
                "report, or allow more with --max-rejected, and import again"
            )
            break
    if report.rows_read == 0:
        raise LedgerError(f"{report.source}: the ledger has no data rows")
    return accepted
