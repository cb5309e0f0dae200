"""Reading spreadsheets: workbooks through python-calamine, CSV/TSV through :mod:`csv`.

>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as d:
...     path = pathlib.Path(d) / "assets.csv"
...     _ = path.write_bytes(b"Inventory 2024\\nName;Serial\\nweb01;SN1\\n")
...     with open_spreadsheet(path) as book:
...         table = book.read(book.sheet_names[0])
>>> table.header_row, [c.header for c in table.columns], table.row_numbers
(2, ['Name', 'Serial'], [3])

What a :class:`Table` guarantees:

* ``row_numbers[i]`` is the 1-based row number a spreadsheet program shows for
  ``rows[i]`` (header detection and blank rows never shift it); for CSV it is
  the record number (a quoted multi-line cell is one row, as in Excel).
* every column has a unique, non-empty ``header``: a repeated header becomes
  ``"Category (2)"`` and a blank header over data becomes ``"Column E"`` (both
  with a warning); columns with neither header nor data are left out.
* ``rows[i][column.index]`` is the raw cell value: ``str``, ``int``,
  ``float``, ``bool``, ``date``/``datetime``/``time`` or ``""`` for blank.
  Nothing is coerced here; :mod:`importers.mapping` does that per column.
* a cell holding a formula with no saved result reads ``""`` as well, and is
  listed in ``no_result`` (sheet row → indexes): its value is unknown, so the
  planners make it an error of its row, never a blank (PRODUCT.md §8).

Files are checked for what they really are (by content, then extension) and
anything that cannot be read raises :class:`~cmdb_desktop.errors.BadFileError`
with a message naming the file; :mod:`importers.untrusted` makes sure no sheet
can exhaust memory or crash the process.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import stat
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Any

import python_calamine as pc

from cmdb_desktop.errors import BadFileError
from cmdb_desktop.progress import Progress
from importers import untrusted
from importers.untrusted import column_letter

WORKBOOK_FORMATS = ("xlsx", "xlsm", "xlsb", "xls", "ods")
TEXT_FORMATS = ("csv", "tsv")
#: Extensions offered in file dialogs.
EXTENSIONS = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".csv", ".tsv", ".txt")

#: Largest CSV file read. It is decoded in memory, where its text may take twice
#: its size (Windows-1252 with a euro sign decodes to two bytes a character):
#: with the bytes, that stays within the memory a file may take
#: (:data:`importers.untrusted.READ_MEMORY_LIMIT`) before its cells are counted.
MAX_TEXT_BYTES = 256 * 1024 * 1024
#: Most columns a row may have: a spreadsheet's width (A to XFD). A text file
#: with more is no table; building its columns would take minutes and gigabytes.
MAX_COLUMNS = 16_384
#: CSV records parsed per call (the GIL is released between slices).
_CSV_SLICE = 20_000
#: How many leading rows header detection looks at.
HEADER_WINDOW = 30

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_NOT_SPREADSHEETS = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"GIF8": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x1f\x8b": "a gzip archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"Rar!": "a RAR archive",
    b"SQLite format 3": "an SQLite database",
}
_DELIMITERS = (",", ";", "\t", "|")

#: The row error of a cell holding a formula with no saved result (PRODUCT.md §8): a
#: program wrote the formula without calculating it (openpyxl does), so what the
#: cell holds is unknown; reading it as blank would clear or skip a value.
NO_RESULT_MESSAGE = (
    "a formula with no saved result: open the file in a spreadsheet program and save it, "
    "or paste values"
)

#: Scores a header candidate (how many cells name known attributes); optional.
HeaderScorer = Callable[[Sequence[str]], int]


@dataclass(frozen=True)
class Column:
    """One column of a table: where its values sit and what it is called."""

    index: int
    letter: str
    header: str
    original: str


@dataclass
class Table:
    """The data rows of one sheet below its header row (see the module docstring)."""

    sheet: str
    header_row: int
    columns: list[Column]
    rows: list[list[Any]]
    row_numbers: list[int]
    warnings: list[str] = field(default_factory=list)
    #: Sheet row number → indexes (in its row) of the cells that hold a formula with
    #: no saved result: they read as ``""``, but their value is unknown, never blank.
    no_result: dict[int, list[int]] = field(default_factory=dict)
    # (number of columns it was built for, casefolded header → first such column)
    _by_header: tuple[int, dict[str, Column]] | None = field(
        default=None, repr=False, compare=False
    )

    def column(self, header: str) -> Column | None:
        # A lookup table, built once: callers ask for every column of sheets that
        # may have 100,000 of them (a scan per call was quadratic).
        cached = self._by_header
        if cached is None or cached[0] != len(self.columns):
            by_header: dict[str, Column] = {}
            for col in self.columns:
                by_header.setdefault(col.header.casefold(), col)
            cached = self._by_header = (len(self.columns), by_header)
        return cached[1].get(header.strip().casefold())

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class SheetInfo:
    name: str
    visible: bool = True


def sniff_format(path: Path) -> str:
    """What the file really is: one of WORKBOOK_FORMATS or "csv"/"tsv".

    Raises BadFileError for files that are no spreadsheet at all.
    """
    require_regular_file(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(8192)
    except FileNotFoundError:
        raise BadFileError(f"{path} does not exist.") from None
    except IsADirectoryError:
        raise BadFileError(f"{path} is a folder, not a spreadsheet.") from None
    except OSError as exc:
        raise BadFileError(f"Cannot read {path}: {exc.strerror}.") from None
    ext = path.suffix.lower().lstrip(".")
    if not head:
        raise BadFileError(f"{path.name} is empty (0 bytes).")
    if head.startswith(b"PK"):
        return _zip_format(path, ext)
    if head.startswith(_OLE_MAGIC):
        if b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d\x00P\x00a\x00c\x00k\x00a\x00g\x00e" in (
            _whole_head(path)
        ):
            raise BadFileError(
                f"{path.name} is password-protected (encrypted); save an unprotected copy "
                "and import that."
            )
        return "xls"
    for magic, what in _NOT_SPREADSHEETS.items():
        if head.startswith(magic):
            raise BadFileError(f"{path.name} is {what}, not a spreadsheet.")
    lowered = head.lstrip(b"\xef\xbb\xbf \r\n\t").lower()
    if lowered.startswith((b"<html", b"<!doctype html", b"<table")):
        raise BadFileError(
            f"{path.name} is a web page (HTML) saved with a spreadsheet name; open it in a "
            "spreadsheet program, save it as .xlsx and import that."
        )
    if lowered.startswith(b"<?xml"):
        raise BadFileError(
            f"{path.name} is an XML document (perhaps Excel 2003 XML); save it as .xlsx "
            "and import that."
        )
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise BadFileError(f"{path.name} is a binary file, not a spreadsheet or CSV text.")
    if ext in WORKBOOK_FORMATS:
        # e.g. "CSV saved as .xls" by some exporters: read it as the text it is.
        return "csv"
    return "tsv" if ext == "tsv" else "csv"


def require_regular_file(path: Path) -> None:
    """Refuse anything but a regular file (or a link to one), without opening it.

    A FIFO or a pipe (``/dev/stdin``, ``<(command)``) can be read only once and
    may never end: opening a FIFO nobody writes to blocks forever, and the
    readers open a file more than once (to tell its format, then to read it),
    which would lose a pipe's first bytes. A device (``/dev/zero``) never ends
    either. ``os.stat`` follows links and never blocks, so the check is safe
    on all of them; the user is told to save the data to a file.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise BadFileError(f"{path} does not exist.") from None
    except OSError as exc:
        raise BadFileError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise BadFileError(f"{path} is a folder, not a spreadsheet.")
    if stat.S_ISFIFO(mode):
        what = "a pipe (FIFO)"
    elif stat.S_ISSOCK(mode):
        what = "a socket"
    else:
        what = "a device"
    raise BadFileError(
        f"{path} is {what}, not a file: its data can be read only once and may never end, "
        "so it is not imported. Save the data to a file first (for example "
        "`command > data.csv`) and import that file."
    )


def _whole_head(path: Path, size: int = 1 << 20) -> bytes:
    with path.open("rb") as fh:
        return fh.read(size)


def _zip_format(path: Path, ext: str) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "xl/workbook.xml" in names:
                return "xlsm" if ext == "xlsm" else "xlsx"
            if "xl/workbook.bin" in names:
                return "xlsb"
            if "content.xml" in names:
                try:
                    mime = zf.read("mimetype")[:100]
                except KeyError:
                    mime = b""
                if b"spreadsheet" in mime:
                    return "ods"
                raise BadFileError(
                    f"{path.name} is an OpenDocument file but not a spreadsheet "
                    f"({mime.decode('ascii', 'replace') or 'unknown type'})."
                )
            if "word/document.xml" in names:
                raise BadFileError(f"{path.name} is a Word document, not a spreadsheet.")
            if "ppt/presentation.xml" in names:
                raise BadFileError(f"{path.name} is a PowerPoint file, not a spreadsheet.")
    except zipfile.BadZipFile:
        raise BadFileError(
            f"{path.name} is damaged or truncated: it starts like a ZIP package (as .xlsx "
            "and .ods files do) but its contents cannot be read. Save it again from your "
            "spreadsheet program."
        ) from None
    raise BadFileError(f"{path.name} is a ZIP archive without a workbook inside.")


class Spreadsheet:
    """An open spreadsheet file: its sheets, and a way to read each one as a Table.

    Use as a context manager (or call :meth:`close`). ``warnings`` collects
    file-level notes (e.g. the text encoding guessed for a CSV file).
    """

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.format = fmt
        self.warnings: list[str] = []
        self.encoding: str | None = None
        self.delimiter: str | None = None
        self._book: Any = None
        self._zip: zipfile.ZipFile | None = None
        self._parts: dict[str, str] = {}
        self._checked: set[str] = set()
        self._strings: untrusted.SharedStrings | None = None
        # Memory the sheets checked so far will take once read (untrusted.SheetCheck).
        self._used = 0
        # Sheet → cells (0-based row, column) holding a formula with no saved result.
        self._no_result: dict[str, list[tuple[int, int]]] = {}
        self._text_rows: list[list[str]] | None = None
        self.sheets: list[SheetInfo] = []
        if fmt in TEXT_FORMATS:
            self._open_text()
        else:
            self._open_workbook()

    # -- opening -------------------------------------------------------------
    def _open_workbook(self) -> None:
        path = self.path
        if self.format in ("xlsx", "xlsm"):
            try:
                self._zip = zipfile.ZipFile(path)
                untrusted.check_zip_members(path, self._zip)
                self._parts = untrusted.xlsx_sheet_parts(self._zip)
                # calamine loads every shared string on opening: measure them first.
                self._strings = untrusted.shared_strings(path, self._zip)
            except (zipfile.BadZipFile, EOFError, zlib.error):
                raise BadFileError(f"{path.name} is damaged or truncated.") from None
            except BadFileError:
                self.close()
                raise
        else:
            probed = untrusted.probe_in_child(path)
            self._checked = {p.name for p in probed}
            if self.format == "ods":
                try:
                    self._no_result = untrusted.ods_no_result(path)
                except (zipfile.BadZipFile, EOFError, zlib.error, KeyError):
                    raise BadFileError(f"{path.name} is damaged or truncated.") from None
        try:
            self._book = pc.CalamineWorkbook.from_path(str(path))
        except pc.CalamineError as exc:
            self.close()
            raise BadFileError(
                untrusted.describe_calamine_error(path, type(exc).__name__, str(exc))
            ) from None
        self.sheets = [
            SheetInfo(m.name, str(m.visible).endswith(".Visible"))
            for m in self._book.sheets_metadata
            if str(m.typ).endswith(".WorkSheet")
        ]
        if not self.sheets:
            self.close()
            raise BadFileError(f"{path.name} has no worksheets.")

    def _open_text(self) -> None:
        path = self.path
        size = path.stat().st_size
        if size > MAX_TEXT_BYTES:
            raise BadFileError(
                f"{path.name} is {size / 1e6:,.0f} MB; text files over "
                f"{MAX_TEXT_BYTES / 1e6:,.0f} MB are not read. Split it, or save it as .xlsx."
            )
        raw = path.read_bytes()
        try:
            text, encoding, note = decode_text(raw)
        except BadFileError as exc:
            raise BadFileError(f"{path.name}: {exc}") from None
        del raw  # the text is all that is needed now: don't hold the file twice
        self.encoding = encoding
        if note:
            self.warnings.append(f"{path.name}: {note}")
        if not text.strip():
            raise BadFileError(f"{path.name} holds no data (only blank lines).")
        self.delimiter = sniff_delimiter(text, prefer_tab=self.format == "tsv")
        # Before parsing: a file of millions of tiny cells takes many times its size.
        untrusted.check_text_memory(path, text, self.delimiter)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter)
        rows: list[list[str]] = []
        try:
            # In slices: list(reader) is one C call that holds the GIL for the
            # whole file (a second for a million lines), freezing a GUI meanwhile.
            while chunk := list(islice(reader, _CSV_SLICE)):
                rows.extend(chunk)
        except csv.Error as exc:
            raise BadFileError(
                f"{path.name}: line {reader.line_num} cannot be read as CSV ({exc})."
            ) from None
        self._text_rows = rows
        self.sheets = [SheetInfo(path.stem or path.name)]

    # -- reading -------------------------------------------------------------
    @property
    def sheet_names(self) -> list[str]:
        return [s.name for s in self.sheets]

    def _check(self, sheet: str) -> None:
        """Make sure calamine can load ``sheet`` in bounded memory (see :mod:`untrusted`)."""
        if self._book is None:
            raise BadFileError(f"{self.path.name} is closed.")
        if sheet not in self.sheet_names:
            known = ", ".join(repr(s) for s in self.sheet_names)
            raise BadFileError(f"{self.path.name} has no sheet {sheet!r} (sheets: {known}).")
        if self._zip is None or sheet in self._checked:
            return
        names = self._zip.namelist()
        member = self._parts.get(sheet)
        if member in names:
            members = [member]
        else:
            # The sheet's part could not be told from the workbook's relationships
            # the way calamine will find it: check every worksheet part instead.
            members = [n for n in names if "worksheets/" in n.lower().replace("\\", "/")]
        for part in members:
            try:
                check = untrusted.check_xlsx_sheet(
                    self.path, self._zip, sheet, part, self._strings, self._used
                )
            except BadFileError:
                raise
            except Exception as exc:  # BadZipFile, zlib.error, EOFError: a damaged member
                raise BadFileError(
                    f"{self.path.name}: sheet {sheet!r} is damaged or truncated ({exc})."
                ) from None
            self._used += check.python_bytes
            if check.no_result and len(members) == 1:
                self._no_result[sheet] = check.no_result
            elif check.no_result:
                # Which part is this sheet's is unknown: its formulas cannot be placed.
                row, col = check.no_result[0]
                raise BadFileError(
                    f"{self.path.name}: sheet {sheet!r} holds formulas with no saved result "
                    f"(such as {column_letter(col)}{row + 1}), so their values are unknown. "
                    + untrusted.NO_RESULT_FIX
                )
        self._checked.add(sheet)

    def _load(self, sheet: str) -> Any:
        """The calamine sheet (checked first). calamine releases the GIL while loading."""
        self._check(sheet)
        try:
            return self._book.get_sheet_by_name(sheet)
        except pc.CalamineError as exc:
            raise BadFileError(
                untrusted.describe_calamine_error(self.path, type(exc).__name__, str(exc))
            ) from None

    def _rows(self, cal_sheet: Any) -> tuple[list[list[Any]], int, int]:
        start = cal_sheet.start
        if start is None:
            return [], 0, 0
        try:
            rows = cal_sheet.to_python()
        except pc.CalamineError as exc:
            raise BadFileError(
                untrusted.describe_calamine_error(self.path, type(exc).__name__, str(exc))
            ) from None
        return rows, start[0], start[1]

    def raw_rows(self, sheet: str) -> tuple[list[list[Any]], int, int]:
        """All rows of ``sheet`` as (rows, first row index, first column index), 0-based:
        ``rows[i]`` is sheet row ``first_row + i + 1``."""
        if self._text_rows is not None:
            return self._text_rows, 0, 0
        return self._rows(self._load(sheet))

    def read(
        self,
        sheet: str,
        *,
        header_row: int | None = None,
        scorer: HeaderScorer | None = None,
        progress: Progress | None = None,
    ) -> Table:
        """Read ``sheet`` as a Table. ``header_row`` (1-based) overrides detection."""
        result = self.read_many([sheet], header_row=header_row, scorer=scorer, progress=progress)
        if isinstance(result[0], BadFileError):
            raise result[0]
        return result[0]

    def read_many(
        self,
        sheets: Sequence[str],
        *,
        header_row: int | None = None,
        scorer: HeaderScorer | None = None,
        progress: Progress | None = None,
    ) -> list[Table | BadFileError]:
        """Read several sheets; a sheet that fails gives its BadFileError in its place."""
        return [
            t
            for _, t in self.iter_tables(
                sheets, header_row=header_row, scorer=scorer, progress=progress
            )
        ]

    def iter_tables(
        self,
        sheets: Sequence[str],
        *,
        header_row: int | None = None,
        scorer: HeaderScorer | None = None,
        progress: Progress | None = None,
        while_loading: Callable[[Callable[[], bool]], None] | None = None,
    ) -> Iterator[tuple[str, Table | BadFileError]]:
        """Yield (sheet, Table or its BadFileError) in order, loading ahead.

        A helper thread checks and loads sheet *n* + 1 with calamine (which
        releases the GIL) while the caller works on sheet *n*, so a consumer
        that plans one sheet while the next loads uses both cores.

        ``while_loading(busy)`` is called once, when this thread would otherwise
        wait for the first sheet to load (workbooks only): work that needs no
        sheet can use that time, checking ``busy()`` (False once the sheet is
        there) to stop when the wait is over.
        """
        progress = progress or Progress()
        if self._text_rows is not None:
            for sheet in sheets:
                try:
                    yield (
                        sheet,
                        build_table(sheet, self._text_rows, header_row=header_row, scorer=scorer),
                    )
                except BadFileError as exc:
                    yield sheet, exc
            return
        # The extent checks (regular expressions: they hold the GIL) run here,
        # each while calamine (which does not) loads the sheet before it. The
        # first sheet's check runs here too, alone: two checks at once would only
        # take turns with the GIL and hold back the first load.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="calamine") as pool:
            pending = None
            if sheets:
                try:
                    self._check(sheets[0])
                    pending = _submit(pool, self._load, sheets[0])
                except BadFileError as exc:
                    pending = _submit(pool, _raise, exc)
            for n, sheet in enumerate(sheets):
                progress.step(n, len(sheets))
                assert pending is not None
                problem: BadFileError | None = None
                if n + 1 < len(sheets):
                    try:
                        self._check(sheets[n + 1])
                    except BadFileError as exc:
                        problem = exc
                if while_loading is not None:
                    hook, while_loading = while_loading, None
                    if not pending.done():
                        hook(_not_done(pending))
                try:
                    cal_sheet = pending.result()
                except BadFileError as exc:
                    cal_sheet = exc
                pending = None
                if n + 1 < len(sheets):
                    if problem is None:
                        pending = _submit(pool, self._load, sheets[n + 1])
                    else:
                        pending = _submit(pool, _raise, problem)
                if isinstance(cal_sheet, BadFileError):
                    yield sheet, cal_sheet
                    continue
                try:
                    rows, first_row, first_col = self._rows(cal_sheet)
                    table: Table | BadFileError = build_table(
                        sheet,
                        rows,
                        first_col,
                        first_row=first_row,
                        header_row=header_row,
                        scorer=scorer,
                        no_result=self._no_result.get(sheet, ()),
                    )
                except BadFileError as exc:
                    table = exc
                yield sheet, table

    def close(self) -> None:
        if self._book is not None:
            try:
                self._book.close()
            except pc.CalamineError:
                pass
            self._book = None
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def __enter__(self) -> Spreadsheet:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_spreadsheet(path: str | Path) -> Spreadsheet:
    """Open a workbook or CSV/TSV file (format by content); BadFileError if unreadable."""
    p = Path(path).expanduser()
    return Spreadsheet(p, sniff_format(p))


# -- text files ------------------------------------------------------------------


#: Bytes that UTF-8 could not decode, after ``errors="surrogateescape"``.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
#: Characters that UTF-8 decoded from more than one byte.
_FROM_UTF8 = re.compile("[^\x00-\x7f\udc80-\udcff]")
#: How much evidence (lines with non-ASCII bytes) the encoding detector sees: it
#: is slow on megabytes and no surer for them.
_DETECT_SAMPLE = 256 * 1024
#: Legacy code pages a text file that is not UTF-8 may be in: Windows-1252
#: (Western European, the default of PRODUCT.md §4) and the non-Latin scripts'
#: Windows code pages, whose text read as cp1252 would be gibberish. Latin-script
#: neighbours (cp1250 Central European, cp1257 Baltic, cp1254 Turkish) are left
#: out: they differ from cp1252 in a few letters only, and charset-normalizer
#: takes Western files for cp1250 and the reverse (docs/import.md, "Encodings").
_LEGACY_CANDIDATES = ("cp1252", "cp1251", "cp1253")
_CODEC_NAMES = {
    "cp1252": "Windows-1252",
    "cp1251": "Cyrillic Windows-1251",
    "cp1253": "Greek Windows-1253",
}
#: The bytes Windows-1252 does not define.
_CP1252_UNDEFINED = b"\x81\x8d\x8f\x90\x9d"
#: Row numbers a message lists before "and N more".
_ROWS_SHOWN = 10


def decode_text(raw: bytes) -> tuple[str, str, str | None]:
    """Decode a text file: (text, encoding, a note for the user or None).

    UTF-8 (with or without BOM) and UTF-16 with BOM are taken as they are. A
    file that is UTF-8 except for some rows, or that mixes UTF-8 rows into a
    legacy encoding, is refused (BadFileError naming the rows as a spreadsheet
    numbers them): read either way, one of its parts would be misread. Anything
    else is legacy: a file with old-Mac CR-only line ends is read as Mac Roman
    (that is what "CSV (Macintosh)" writes), otherwise charset-normalizer picks
    among :data:`_LEGACY_CANDIDATES`, cp1252 on a tie; bytes cp1252 leaves
    undefined become U+FFFD.

    >>> decode_text("Zürich".encode("cp1252"))[1:]
    ('cp1252', 'not UTF-8; read as Windows-1252 (cp1252)')
    >>> decode_text("Zürich".encode() + b"\\nZ" + "ü".encode("cp1252") + b"rich\\n")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cmdb_desktop.errors.BadFileError: Row 2 is not UTF-8, ...
    """
    if raw.startswith(codecs.BOM_UTF8):
        try:
            return raw[3:].decode("utf-8"), "utf-8-sig", None
        except UnicodeDecodeError:
            raise _mixed_encodings(*_rows_by_encoding(raw[3:]), marker=True) from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "utf-16", None
        except UnicodeDecodeError:
            raise BadFileError("The file claims to be UTF-16 text but is not.") from None
    try:
        return raw.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError:
        pass
    # Text in a legacy single-byte code page rarely holds a valid multi-byte UTF-8
    # sequence (its accented letters are lone bytes): decoded with every other
    # byte kept as one character, it is as long as it was. If it is not, the rows
    # tell whether UTF-8 text was mixed in, or the sequences are accidents.
    if len(raw.decode("utf-8", errors="surrogateescape")) != len(raw):
        not_utf8, utf8 = _rows_by_encoding(raw)
        if utf8:
            raise _mixed_encodings(not_utf8, utf8)
    cr_only = b"\r" in raw and b"\n" not in raw
    if cr_only:
        return raw.decode("mac_roman"), "mac_roman", "not UTF-8; read as Mac Roman (old Mac CSV)"
    encoding = legacy_encoding(raw)
    name = f"{_CODEC_NAMES[encoding]} ({encoding})"
    try:
        return raw.decode(encoding), encoding, f"not UTF-8; read as {name}"
    except UnicodeDecodeError:
        text = raw.decode(encoding, errors="replace")
        bad = text.count("\ufffd")
        return (
            text,
            encoding,
            f"not UTF-8; read as {name} with {bad} undecodable byte(s) shown as �",
        )


def legacy_encoding(raw: bytes) -> str:
    """Which of :data:`_LEGACY_CANDIDATES` a text that is not UTF-8 is in.

    charset-normalizer judges the lines that hold non-ASCII bytes (the others
    say nothing about the code page). cp1252 wins unless another candidate
    reads the text with less mess than it does, so a Western file whose few
    accents fit several code pages stays Western. A file with bytes cp1252
    leaves undefined changes code page only when the other one reads it as a
    language; otherwise those bytes are noise in a Western file.
    """
    from charset_normalizer import from_bytes  # only files that are not UTF-8 need it

    evidence: list[bytes] = []
    size = 0
    for line in raw[: 16 * _DETECT_SAMPLE].splitlines():
        if not line.isascii():
            evidence.append(line)
            size += len(line) + 1
            if size >= _DETECT_SAMPLE:
                break
    matches = from_bytes(b"\n".join(evidence), cp_isolation=list(_LEGACY_CANDIDATES))
    best = matches.best()
    if best is None or best.encoding not in _LEGACY_CANDIDATES or best.encoding == "cp1252":
        return "cp1252"
    western = [m for m in matches if "cp1252" in m.could_be_from_charset]
    if western and western[0].chaos <= best.chaos:
        return "cp1252"
    fits_cp1252 = not any(bytes([b]) in raw for b in _CP1252_UNDEFINED)
    if not fits_cp1252 and not best.coherence:
        return "cp1252"
    return str(best.encoding)


def _mixed_encodings(
    not_utf8: Sequence[int], utf8: Sequence[int], *, marker: bool = False
) -> BadFileError:
    """The error for a text file that is not consistently in one encoding, naming its
    odd rows: those that are not UTF-8 in a file that mostly is (or declares it is,
    with a byte-order mark), else the UTF-8 rows in a legacy-encoded file."""
    if marker:
        odd, what = not_utf8, "not UTF-8, although the file starts with a UTF-8 marker (BOM)"
    elif len(not_utf8) <= len(utf8):
        odd, what = not_utf8, "not UTF-8, while the rest of the file is"
    else:
        odd = utf8
        what = "UTF-8, while the rest of the file is in another encoding (such as Windows-1252)"
    one = len(odd) == 1
    return BadFileError(
        f"{_rows_text(odd)} {'is' if one else 'are'} {what}. The file is not consistently in "
        "one encoding: read as either one, part of it would be misread, so nothing was read. "
        f"Correct {'that row' if one else 'those rows'} and save the whole file as UTF-8 "
        '(Excel: Save As, "CSV UTF-8"), then try again.'
    )


def _rows_by_encoding(raw: bytes) -> tuple[list[int], list[int]]:
    """(rows with bytes that are not UTF-8, rows of UTF-8 text with non-ASCII
    characters), numbered as a spreadsheet shows a CSV file's rows (its records).

    A row counts as UTF-8 text only if UTF-8 reads every byte of it and every
    character it reads from several bytes is one people type (a letter, digit,
    punctuation, symbol or space): a legacy row can hold a valid sequence by
    accident, and it then reads as a combining mark or a control.
    """
    text = raw.decode("utf-8", errors="surrogateescape")
    not_utf8: list[int] = []
    utf8: list[int] = []

    def classify(n: int, row: str) -> None:
        if row.isascii():
            return
        if _NOT_UTF8.search(row):
            not_utf8.append(n)
        elif all(unicodedata.category(c)[0] in "LNPSZ" for c in _FROM_UTF8.findall(row)):
            utf8.append(n)

    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
        for n, record in enumerate(reader, start=1):
            classify(n, "\x1f".join(record))
    except csv.Error:  # not even CSV: the lines as a text editor numbers them
        not_utf8.clear()
        utf8.clear()
        for n, line in enumerate(text.splitlines(), start=1):
            classify(n, line)
    return not_utf8, utf8


def _rows_text(rows: Sequence[int]) -> str:
    """ "Row 7", "Rows 7 and 9", "Rows 2, 3, 5, … and 12 more"."""
    shown = [f"{n:,}" for n in rows[:_ROWS_SHOWN]]
    more = len(rows) - len(shown)
    if len(shown) == 1:
        return f"Row {shown[0]}"
    if more:
        return f"Rows {', '.join(shown)} and {more:,} more"
    return f"Rows {', '.join(shown[:-1])} and {shown[-1]}"


def sniff_delimiter(text: str, *, prefer_tab: bool = False) -> str:
    """The delimiter that splits the first lines into the most consistent columns."""
    sample_lines = text[:65536].splitlines()[:50]
    sample = "\n".join(line for line in sample_lines if line.strip())
    best = "\t" if prefer_tab else ","
    best_score = 0.0
    for delim in _DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO(sample), delimiter=delim))
        except csv.Error:
            continue
        widths = [len(r) for r in rows if r]
        if not widths:
            continue
        common = max(set(widths), key=widths.count)
        if common < 2:
            continue
        consistency = widths.count(common) / len(widths)
        score = consistency * 10 + min(common, 50) / 50
        if prefer_tab and delim == "\t":
            score += 0.5
        if score > best_score:
            best, best_score = delim, score
    return best


# -- header detection and table building ------------------------------------------


def _cell_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def detect_header(rows: Sequence[Sequence[Any]], scorer: HeaderScorer | None = None) -> int:
    """0-based index of the header row among ``rows`` (the first 30 non-blank are considered).

    With a ``scorer`` (how many cells name known attributes) the best-scoring
    row wins; otherwise the first row whose cells are all text and fill at
    least half of the widest row, so a title line above the table is skipped.
    """
    window: list[int] = []
    for i, row in enumerate(rows):
        if any(not _is_blank(v) for v in row):
            window.append(i)
            if len(window) >= HEADER_WINDOW:
                break
    if not window:
        return 0
    counts = {i: sum(1 for v in rows[i] if not _is_blank(v)) for i in window}
    if scorer is not None:
        scores = {i: scorer([_cell_text(v) for v in rows[i] if not _is_blank(v)]) for i in window}
        top = max(scores.values())
        if top >= 1:
            return next(i for i in window if scores[i] == top)
    widest = max(counts.values())
    for i in window:
        cells = [v for v in rows[i] if not _is_blank(v)]
        if all(isinstance(v, str) for v in cells) and len(cells) * 2 >= widest:
            return i
    return window[0]


def build_table(
    sheet: str,
    rows: list[list[Any]],
    first_col: int = 0,
    *,
    first_row: int = 0,
    header_row: int | None = None,
    scorer: HeaderScorer | None = None,
    no_result: Sequence[tuple[int, int]] = (),
) -> Table:
    """Split raw rows into header and data (see :class:`Table` for the guarantees).

    ``no_result`` lists the cells (0-based sheet row and column) that hold a
    formula with no saved result; they read as blank, so the table keeps where
    they are (:attr:`Table.no_result`), and a row holding one is never left out
    as blank, even past the last row with a value."""
    if not any(any(not _is_blank(v) for v in r) for r in rows):
        raise BadFileError(f"Sheet {sheet!r} is empty.")
    if max(map(len, rows)) > MAX_COLUMNS:
        # Before anything looks at every cell of a row (header detection, columns).
        at = next(i for i, r in enumerate(rows) if len(r) > MAX_COLUMNS)
        raise BadFileError(
            f"Sheet {sheet!r}: row {first_row + at + 1:,} has {len(rows[at]):,} columns; a "
            f"spreadsheet has at most {MAX_COLUMNS:,}, so this is not read as a table. Check "
            "that row (is it really one record of the table?) and save the file with fewer "
            "columns."
        )
    if header_row is not None:
        h = header_row - 1 - first_row
        if h < 0 or h >= len(rows):
            raise BadFileError(
                f"Sheet {sheet!r} has no row {header_row} to use as the header "
                f"(its data is in rows {first_row + 1} to {first_row + len(rows)})."
            )
    else:
        h = detect_header(rows, scorer)
    header_cells = rows[h]
    data = rows[h + 1 :]
    width = max(len(header_cells), max(map(len, data), default=0))
    warnings: list[str] = []
    columns: list[Column] = []
    seen: dict[str, Column] = {}
    for idx in range(width):
        raw = header_cells[idx] if idx < len(header_cells) else ""
        letter = column_letter(first_col + idx)
        original = "" if _is_blank(raw) else _cell_text(raw)
        if not original:
            if not any(idx < len(r) and not _is_blank(r[idx]) for r in data):
                continue  # neither header nor data: not a column
            label = f"Column {letter}"
            warnings.append(f"Sheet {sheet!r}: column {letter} has data but no header.")
        else:
            label = original
        key = label.casefold()
        if key in seen:
            n = 2
            while f"{label} ({n})".casefold() in seen:
                n += 1
            first = seen[key]
            warnings.append(
                f"Sheet {sheet!r}: header {original!r} of column {letter} repeats column "
                f"{first.letter}; it is read as '{label} ({n})'."
            )
            label = f"{label} ({n})"
            key = label.casefold()
        col = Column(idx, letter, label, original)
        seen[key] = col
        columns.append(col)
    if not columns:
        raise BadFileError(f"Sheet {sheet!r} has no header row.")
    header_number = first_row + h + 1
    gaps = _gaps_by_row(sheet, no_result, first_col, width, header_number, warnings)
    body: list[list[Any]] = []
    numbers: list[int] = []
    base = first_row + h + 2
    for offset, row in enumerate(data):
        n = len(row)
        blanks = row.count("")
        # Only sparse rows can be white space alone; don't test every full one.
        if (blanks == n or (blanks + 3 >= n and all(_is_blank(v) for v in row))) and (
            not gaps or base + offset not in gaps
        ):
            continue
        if n < width:
            row = row + [""] * (width - n)
        body.append(row)
        numbers.append(base + offset)
    # calamine's range ends at the last value: rows with only such formulas come after.
    for number in sorted(n for n in gaps if n >= base + len(data)):
        body.append([""] * width)
        numbers.append(number)
    return Table(sheet, header_number, columns, body, numbers, warnings, no_result=gaps)


def _gaps_by_row(
    sheet: str,
    no_result: Sequence[tuple[int, int]],
    first_col: int,
    width: int,
    header_number: int,
    warnings: list[str],
) -> dict[int, list[int]]:
    """Formula cells with no saved result below the header: sheet row number → indexes
    in the row (a cell outside every column is in no column that can be mapped)."""
    gaps: dict[int, list[int]] = {}
    for row, col in no_result:
        idx = col - first_col
        number = row + 1
        if idx < 0 or idx >= width or number < header_number:
            continue
        if number == header_number:
            warnings.append(
                f"Sheet {sheet!r}: the header cell {column_letter(col)}{number} is a formula "
                "with no saved result; it is read as blank."
            )
            continue
        gaps.setdefault(number, []).append(idx)
    return gaps


def _submit(pool: ThreadPoolExecutor, fn: Callable[[Any], Any], arg: Any) -> Future[Any]:
    return pool.submit(fn, arg)


def _not_done(future: Future[Any]) -> Callable[[], bool]:
    return lambda: not future.done()


def _raise(problem: BadFileError) -> Any:
    raise problem


def read_table(
    path: str | Path,
    sheet: str | None = None,
    *,
    header_row: int | None = None,
    scorer: HeaderScorer | None = None,
) -> Table:
    """Read one sheet (default: the first visible one) of a file in one call."""
    with open_spreadsheet(path) as book:
        name = sheet or next((s.name for s in book.sheets if s.visible), book.sheet_names[0])
        table = book.read(name, header_row=header_row, scorer=scorer)
        table.warnings[:0] = book.warnings
        return table
