"""Opening spreadsheets nobody vouched for without letting them harm the process.

python-calamine (Rust) builds a *dense* range for a sheet: rows × columns
cells of 32 bytes, between the first and the last cell holding a value. A
sheet with one value at A1 and one at XFD1048576 asks for 512 GiB, and
calamine 0.9 then **aborts the whole process** (a Rust allocation failure,
not an exception). A GUI must never die of a file, so nothing is handed to
calamine before its extent is known to be bounded:

* **.xlsx / .xlsm** (the common case) are checked in-process, cheaply: the
  sheet's XML is streamed out of the ZIP in chunks (never held whole) and
  scanned for cell references. The declared ``<dimension>`` is ignored (it
  can lie). A first pass only bounds the extent from the longest row numbers
  and widest column letters that occur (a few C-speed scans); when that bound
  is too large, a precise pass tokenises every ``<row>``/``<c>`` tag, skips
  formatting-only cells (``<c r="…" s="1"/>`` — calamine ignores them too,
  so sheets with formatting far away are read correctly) and computes the
  exact extent of value cells.
* **.xls / .xlsb / .ods** are parsed eagerly by calamine when opened, so a
  **child process** reads them whole first (every sheet into Python, as an
  import does) under an address-space limit of :data:`READ_MEMORY_LIMIT`
  (``RLIMIT_AS`` where the platform has it) and reports each sheet's size.
  If the child dies, the file is refused; the parent never touched it.

Every input is read within 1.5 GB or refused (PRODUCT.md §8). Besides the
extent, what an .xlsx sheet's cells will take is estimated before it is
loaded (:func:`check_xlsx_sheet`): calamine gives every cell its own copy of
the shared string it names, so 2,000 cells naming one 2 MB string take 8 GB.
The shared strings are measured before calamine loads them
(:func:`shared_strings`), and text files before they are parsed
(:func:`text_cells_memory`).

The same streaming pass finds the cells that hold a formula with no saved
result (a program wrote the formula without calculating it, as openpyxl
does): calamine reads them as blank; :class:`SheetCheck` lists them so that
each becomes an error of its row, never a blank (:func:`ods_no_result` does
the same for .ods; .xls and .xlsb always store a result).

A sheet whose value cells span more than :data:`MAX_RANGE_CELLS` cells is
refused with a :class:`~cmdb_desktop.errors.BadFileError` naming the far-away
cells, so the user can delete them. ZIP members whose uncompressed size is
absurd (ZIP bombs) are refused before anything is inflated. calamine does not
expand XML entities, and the few XML parts parsed here go through defusedxml.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import zipfile
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from cmdb_desktop.errors import BadFileError

#: Largest dense range (rows × columns between the extreme value cells) we let
#: calamine allocate: 20 M cells is ~640 MB inside calamine.
MAX_RANGE_CELLS = 20_000_000
#: Largest uncompressed XML part we inflate (sheet or shared strings).
MAX_PART_BYTES = 2 * 1024**3
#: Inflation ratio beyond which a big ZIP member is treated as a ZIP bomb.
MAX_RATIO = 200
#: Memory reading one file may take: PRODUCT.md §8, any input is read within
#: 1.5 GB of memory or refused. The probing child runs under this address-space
#: limit; in-process, what the cells will take is estimated before anything big
#: is allocated and held to :data:`CELLS_MEMORY_BUDGET`.
READ_MEMORY_LIMIT = 1_500_000_000
#: What the cells of the sheets read from one file may take in memory (the rest
#: of :data:`READ_MEMORY_LIMIT` is the program's own).
CELLS_MEMORY_BUDGET = 1_000_000_000
#: Address-space limit of the probing child process.
CHILD_MEMORY_LIMIT = READ_MEMORY_LIMIT
CHILD_TIMEOUT_S = 300
#: Formulas with no saved result one sheet may hold before it is refused as a
#: whole (each is otherwise an error of its row; more are no longer a list to read).
MAX_FORMULA_GAPS = 100_000
#: What to do about formulas with no saved result (a program wrote them without
#: calculating them, as openpyxl does).
NO_RESULT_FIX = (
    "Open the file in a spreadsheet program and save it (that calculates and saves the "
    "results), or paste the cells as values, then import again."
)

_CHUNK = 16 * 1024 * 1024
#: How far back from the end of a piece a cell still open there is looked for.
_CELL_WINDOW = 1024 * 1024

_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


@dataclass(frozen=True)
class Extent:
    """The cells calamine would allocate for one sheet (0-based, inclusive)."""

    first_row: int
    first_col: int
    last_row: int
    last_col: int

    @property
    def cells(self) -> int:
        return (self.last_row - self.first_row + 1) * (self.last_col - self.first_col + 1)

    def describe(self) -> str:
        return (
            f"{column_letter(self.first_col)}{self.first_row + 1}:"
            f"{column_letter(self.last_col)}{self.last_row + 1}"
        )


def column_letter(index: int) -> str:
    """0-based column index → spreadsheet letters (0 → A, 26 → AA)."""
    letters = ""
    n = index + 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def column_index(letters: bytes | str) -> int:
    """Spreadsheet letters → 0-based column index (A → 0)."""
    if isinstance(letters, bytes):
        letters = letters.decode("ascii")
    letters = letters.upper()
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def _too_big(path: Path, sheet: str, extent: Extent, far: list[str]) -> BadFileError:
    where = f" Far-away cells: {', '.join(far)}." if far else ""
    return BadFileError(
        f"{path.name}: sheet {sheet!r} cannot be read safely: its cells span "
        f"{extent.describe()} ({extent.cells:,} cells; the limit is {MAX_RANGE_CELLS:,}).{where} "
        "Delete the stray cells outside your data (Ctrl+End jumps to the last used cell) "
        "or copy the data to a new sheet, save, and import again."
    )


# -- xlsx / xlsm --------------------------------------------------------------


def xlsx_sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → ZIP member of its XML, from workbook.xml and its relationships."""
    try:
        wb = SafeET.fromstring(_read_small(zf, "xl/workbook.xml"))
        rels = SafeET.fromstring(_read_small(zf, "xl/_rels/workbook.xml.rels"))
    except KeyError as exc:
        raise BadFileError(f"The workbook is incomplete: {exc.args[0]} is missing.") from None
    except SafeET.ParseError as exc:
        raise BadFileError(f"The workbook's sheet list is damaged ({exc}).") from None
    except DefusedXmlException:
        raise BadFileError(
            "The workbook's sheet list declares XML entities or a DTD, which spreadsheet "
            "programs never write (an 'entity bomb' or an external reference); it was "
            "refused unread. Save the file again from your spreadsheet program."
        ) from None
    except Exception as exc:  # anything else defusedxml or the XML parser objects to
        raise BadFileError(f"The workbook's sheet list was refused: {exc}.") from None
    targets: dict[str, str] = {}
    for rel in rels.iter(f"{_PKG_REL_NS}Relationship"):
        target = rel.get("Target") or ""
        if target.startswith("/"):
            member = target.lstrip("/")
        else:
            member = str(PurePosixPath("xl") / target)
        # normalise "xl/worksheets/../worksheets/sheet1.xml"
        parts: list[str] = []
        for part in member.split("/"):
            if part == "..":
                if parts:
                    parts.pop()
            elif part and part != ".":
                parts.append(part)
        targets[rel.get("Id") or ""] = "/".join(parts)
    out: dict[str, str] = {}
    for sheet in wb.iter(f"{_MAIN_NS}sheet"):
        rid = sheet.get(f"{_REL_NS}id") or ""
        name = sheet.get("name") or ""
        if rid in targets:
            out[name] = targets[rid]
    return out


def _read_small(zf: zipfile.ZipFile, member: str, limit: int = 64 * 1024 * 1024) -> bytes:
    info = zf.getinfo(member)
    if info.file_size > limit:
        raise BadFileError(f"{member} inside the workbook is implausibly large.")
    with zf.open(info) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise BadFileError(f"{member} inside the workbook is implausibly large.")
    return data


def check_zip_members(path: Path, zf: zipfile.ZipFile) -> None:
    """Refuse ZIP bombs: members that would inflate to absurd sizes."""
    for info in zf.infolist():
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > MAX_PART_BYTES or (info.file_size > 50_000_000 and ratio > MAX_RATIO):
            raise BadFileError(
                f"{path.name} is refused: {info.filename} would inflate to "
                f"{info.file_size:,} bytes from {info.compress_size:,} (a ZIP bomb?)."
            )


def _chunks(
    zf: zipfile.ZipFile, member: str, *, whole_cells: bool = False
) -> Iterator[tuple[bytes, int]]:
    """The member's bytes as (buffer, end) pairs; ``buffer[:end]`` ends after a ``>``,
    so no tag is split between two pieces (slicing is left to the caller's
    ``pos``/``endpos`` arguments to avoid copies). With ``whole_cells``, a cell
    still open at the end of a piece goes to the next one, so patterns that
    span a whole cell (a formula and its result) see it whole — unless the
    cell is larger than :data:`_CELL_WINDOW`, which no formula cell is."""
    total = 0
    tail = b""
    with zf.open(member) as fh:
        while True:
            chunk = fh.read(_CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > MAX_PART_BYTES:
                raise BadFileError(f"{member} inflates beyond {MAX_PART_BYTES:,} bytes.")
            data = tail + chunk if tail else chunk
            cut = data.rfind(b">") + 1
            if whole_cells and cut:
                # 0 (a cell open since the start): all of it waits for more data; past
                # _CELL_WINDOW the open cell is no longer looked for, so this ends.
                cut = _open_cell(data, cut)
            tail = data[cut:]
            if cut:
                yield data, cut
    if tail:
        yield tail, len(tail)


# A tag's start: "/" for an end tag, and its local name.
_TAG_NAME = re.compile(rb"<(/?)(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")


def _open_cell(data: bytes, end: int) -> int:
    """Where the last cell of ``data[:end]`` starts if it is still open at ``end``
    (its ``</c>`` comes later), else ``end``: the tags before ``end`` are walked
    back to the nearest cell or row tag (a cell holds few tags)."""
    pos = end
    floor = max(0, end - _CELL_WINDOW)
    while True:
        lt = data.rfind(b"<", floor, pos)
        if lt < 0:
            return end
        m = _TAG_NAME.match(data, lt)
        if m is not None:
            name = m.group(2)
            if name == b"c":
                if m.group(1):
                    return end  # </c>: the last cell is closed
                gt = data.find(b">", lt, end)
                return end if data[gt - 1 : gt] == b"/" else lt
            if name in (b"row", b"sheetData"):
                return end
        pos = lt


# Cell references with 2-3 column letters (column 27 on); the same pass
# counts cell tags without ``r="`` first (all groups empty).
# Only the canonical form ``<c r="A1"`` is read here; any other cell tag (no
# ``r``, ``r`` not first, other spacing, lower case) makes the quick pass give up.
_WIDE_REF = re.compile(rb'<c(?: r="([A-Z]{2,})[0-9]|(?=[\s>/])(?! r="[A-Z]+[0-9]+"))')
# Rows of 7 or more digits (beyond Excel's 1,048,576, some writers still write them).
_SEVEN_DIGITS = re.compile(rb'<c r="[A-Z]+[0-9]{7,}"')
# 6-digit rows whose first digit is at least d (d = 1…9).
_SIX_DIGITS = {d: re.compile(rb'<c r="[A-Z]+[%d-9][0-9]{5}"' % d) for d in range(1, 10)}
_ROWS_WITHOUT_FAR_REFS = 99_999
# A namespace-prefixed cell, row, formula or value tag (``<x:c …>``): only the
# precise pass reads those.
_PREFIXED = re.compile(rb":(?:c|row|f|v)[\s>/]")
# One <row …> or <c …> tag (any namespace prefix); group 3 is "/" when self-closing.
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)\b([^>]*?)(/?)>")
# The r attribute (any value: the precise pass validates it).
_R_ATTR = re.compile(rb'\br\s*=\s*(["\'])(.*?)\1')


def _quick_bound(zf: zipfile.ZipFile, member: str, facts: _SheetFacts) -> int | None:
    """An upper bound of the sheet's range in cells, or None when only the precise pass knows.

    Every cell is assumed to hold a value. Columns are bounded by Z unless a
    reference with 2-3 letters occurs (one regex pass finds the few such
    references in ordinary sheets); rows by 99,999, or by the first digit of
    the 6-digit row numbers that occur (a few searches bisect it), or by
    9,999,999 if a 7-digit one occurs (or longer: beyond the format's limit,
    which calamine does not enforce). A cell tag in any other form than
    ``<c r="A1"`` (positions implied, other attribute order or case) or
    namespace-prefixed tags defer to the precise pass. ``facts`` collects the
    rest of what is known once the pass is over (:class:`_SheetFacts`).
    """
    last_col = 25
    last_row = _ROWS_WITHOUT_FAR_REFS
    for data, end in _chunks(zf, member, whole_cells=True):
        if _PREFIXED.search(data, 0, end):
            return None
        found = _WIDE_REF.findall(data, 0, end)
        if b"" in found:
            return None  # a cell tag in another form: only the precise pass reads it
        facts.quick(data, end)
        for letters in set(found):
            last_col = max(last_col, column_index(letters))
        if last_row >= 1_000_000 or _SEVEN_DIGITS.search(data, 0, end):
            last_row = 9_999_999
            continue
        # The largest first digit d of 6-digit rows here, by bisection: rows < (d+1)·100,000.
        lo = last_row // 100_000 + 1  # only digits above what earlier chunks showed matter
        hi = 9
        if lo <= hi and not _SIX_DIGITS[lo].search(data, 0, end):
            continue
        while lo <= hi:
            mid = (lo + hi) // 2
            if _SIX_DIGITS[mid].search(data, 0, end):
                last_row = (mid + 1) * 100_000 - 1
                lo = mid + 1
            else:
                hi = mid - 1
    return (last_row + 1) * (last_col + 1)


_FULL_REF = re.compile(rb"([A-Za-z]*)([0-9]+)")
#: The format's last column (XFD) and row, 0-based.
_LAST_COL = 16383
_LAST_ROW = 1_048_575
_FAR_ROW = 1 << 30


def _position(value: bytes) -> tuple[int | None, int]:
    """(0-based column or None when the reference has no letters, 0-based row)."""
    m = _FULL_REF.fullmatch(value)
    if m is None:
        # Entity-escaped letters and the like: an XML reader would decode them.
        raise BadFileError(
            f"a cell reference is written in an unusual form ({value[:40]!r}); "
            "open the file in a spreadsheet program and save it again"
        )
    letters, digits = m.group(1), m.group(2)
    col = column_index(letters) if letters and len(letters) <= 3 else None
    row = int(digits) - 1 if len(digits) <= 8 else _FAR_ROW
    if (letters and (col is None or col > _LAST_COL)) or row > _LAST_ROW:
        # calamine does not check the format's limits, and its arithmetic can
        # overflow on such references: no safe way to know what it would allocate.
        raise BadFileError(
            f"a cell reference lies beyond the last cell of a sheet, XFD1048576 "
            f"({value[:40].decode('ascii', 'replace')}); open the file in a spreadsheet "
            "program and save it again"
        )
    return col, row


def _precise_extent(
    zf: zipfile.ZipFile, member: str, facts: _SheetFacts
) -> tuple[Extent | None, list[str]]:
    """The exact extent of value cells (formatting-only cells skipped), and far-away
    refs; ``facts`` collects the rest (formulas with no result at their positions)."""
    row = -1
    col = -1
    first_row = first_col = 1 << 62
    last_row = last_col = -1
    last_row_ref = last_col_ref = ""
    for data, end in _chunks(zf, member, whole_cells=True):
        facts.count_values(data, end)
        # Tags one by one with their offsets only where a formula may need its place.
        formulas = _F_TAG.search(data, 0, end) is not None
        tags = (
            ((m.group(1), m.group(2), m.group(3), m.end()) for m in _TAG.finditer(data, 0, end))
            if formulas
            else ((t, a, c, 0) for t, a, c in _TAG.findall(data, 0, end))
        )
        for tag, attrs, closed, after in tags:
            m = _R_ATTR.search(attrs)
            if tag == b"row":
                row = _position(m.group(2))[1] if m else row + 1
                col = -1
                continue
            if m:
                ref_col, row_here = _position(m.group(2))
                col = ref_col if ref_col is not None else col + 1
            else:
                col += 1
                row_here = row
            if closed:
                continue  # formatting only: calamine leaves it out of the range
            if formulas and _no_result_after(data, after, attrs):
                facts.gap(row_here, col)
            first_row = min(first_row, row_here)
            first_col = min(first_col, col)
            if row_here > last_row:
                last_row = row_here
                last_row_ref = _ref_text(col, row_here)
            if col > last_col:
                last_col = col
                last_col_ref = _ref_text(col, row_here)
    if last_row < 0:
        return None, []
    far = sorted({last_row_ref, last_col_ref})
    return Extent(first_row, first_col, last_row, last_col), far


def _ref_text(col: int, row: int) -> str:
    return f"{column_letter(col)}{row + 1}"


@dataclass(frozen=True)
class SheetCheck:
    """What checking one sheet before loading it found.

    ``no_result`` lists the cells (0-based row and column, in the sheet) that
    hold a formula and no saved result: calamine reads them as blank, but
    nobody knows what they hold (PRODUCT.md §8: each is an error of its row).
    ``python_bytes`` is the memory its cells take once read into Python (it
    stays while the file's tables are used); ``peak_bytes`` what loading it
    takes on top of that while calamine's copy exists.
    """

    no_result: list[tuple[int, int]]
    python_bytes: int
    peak_bytes: int


def check_xlsx_sheet(
    path: Path,
    zf: zipfile.ZipFile,
    sheet: str,
    member: str,
    strings: SharedStrings | None = None,
    used: int = 0,
) -> SheetCheck:
    """Raise BadFileError unless calamine can load ``sheet`` in bounded memory:
    its extent (:data:`MAX_RANGE_CELLS`), and what its cells will take with the
    workbook's shared ``strings`` and the ``used`` bytes of sheets read before
    (:data:`CELLS_MEMORY_BUDGET`)."""
    facts = _SheetFacts(strings)
    try:
        cells = _quick_bound(zf, member, facts)
        if cells is None or cells > MAX_RANGE_CELLS:
            facts = _SheetFacts(strings)
            extent, far = _precise_extent(zf, member, facts)
            if extent is not None and extent.cells > MAX_RANGE_CELLS:
                raise _too_big(path, sheet, extent, far)
            cells = extent.cells if extent is not None else 0
    except BadFileError as exc:
        if path.name in str(exc):
            raise
        raise BadFileError(f"{path.name}: sheet {sheet!r} cannot be read safely: {exc}") from None
    if len(facts.gaps) > MAX_FORMULA_GAPS:
        row, col = facts.gaps[0]
        raise BadFileError(
            f"{path.name}: sheet {sheet!r} holds more than {MAX_FORMULA_GAPS:,} formulas with "
            f"no saved result (the first at {_ref_text(col, row)}), so their values are "
            f"unknown. {NO_RESULT_FIX}"
        )
    xml_bytes = zf.getinfo(member).file_size
    # Each repeated shared string becomes a copy per cell, in calamine and in Python.
    repeated = facts.shared_text(zf, member)
    python_bytes = 8 * cells + 2 * xml_bytes + repeated
    peak_bytes = 32 * cells + repeated
    need = used + python_bytes + peak_bytes + (strings.memory if strings else 0)
    if need > CELLS_MEMORY_BUDGET:
        why = (
            f"its cells name shared texts up to {strings.longest / 1e6:,.1f} MB long, and each "
            f"cell gets its own copy: {repeated / 1e9:,.1f} GB of text"
            if strings is not None and repeated > xml_bytes
            else f"{cells:,} cells, {xml_bytes / 1e6:,.0f} MB of XML"
        )
        raise too_much_memory(path, f"sheet {sheet!r}", need, why)
    return SheetCheck(sorted(facts.gaps), python_bytes, peak_bytes)


def too_much_memory(path: Path, what: str, need: int, why: str) -> BadFileError:
    """The refusal of a file (or ``what`` of it) that would take ``need`` bytes to read."""
    return BadFileError(
        f"{path.name} is refused: reading {what} would take about {need / 1e9:,.1f} GB of "
        f"memory ({why}); a file may take at most {CELLS_MEMORY_BUDGET / 1e9:,.1f} GB, so "
        "that any file is read within 1.5 GB. Split it into smaller files (fewer rows or "
        "sheets each) and import them one after the other."
    )


# -- what a sheet holds besides its extent: shared strings, formulas with no result ------

# A formula tag anywhere (any prefix): the precise pass then reads cells one by one.
_F_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")
# What follows a cell's start tag when it holds a formula and no saved result: the
# formula, then no <v>, or an empty one (openpyxl writes ``<v />``), then the end of
# the cell. Group 1 is the empty <v> when there is one. Any prefix and spacing.
_NO_RESULT_TAIL = re.compile(
    rb"\s*<(?:[A-Za-z_][\w.-]*:)?f\b(?:[^>]*/>|[^>]*>[^<]*</(?:[A-Za-z_][\w.-]*:)?f\s*>)\s*"
    rb"(<(?:[A-Za-z_][\w.-]*:)?v\b[^>]*/>|<(?:[A-Za-z_][\w.-]*:)?v\b[^>]*>\s*"
    rb"</(?:[A-Za-z_][\w.-]*:)?v\s*>)?\s*</(?:[A-Za-z_][\w.-]*:)?c\s*>"
)
# The same, as the quick pass sees canonical cells: the end of a formula (or a
# shared formula's ``<f …/>``) followed by no result and the end of the cell. A
# literal start keeps the scan as fast as a plain search.
_NO_RESULT_END = re.compile(rb"</f>(<v\s*/>|<v>\s*</v>)?</c>")
_NO_RESULT_SHARED = re.compile(rb"<f [^>]*/>(<v\s*/>|<v>\s*</v>)?</c>")
_T_ATTR = re.compile(rb'\bt\s*=\s*(["\'])(.*?)\1')


def _text_result(attrs: bytes, empty_v: bytes | None) -> bool:
    """True when a formula's empty ``<v>`` is its saved result: a formula whose result
    is the empty text is written ``t="str"`` with ``<v></v>``."""
    if empty_v is None:
        return False
    m = _T_ATTR.search(attrs)
    return m is not None and m.group(2) == b"str"


def _no_result_after(data: bytes, after: int, attrs: bytes) -> bool:
    """Does the cell whose start tag (with ``attrs``) ends at ``after`` hold a formula
    and no saved result?"""
    m = _NO_RESULT_TAIL.match(data, after)
    return m is not None and not _text_result(attrs, m.group(1))


class _SheetFacts:
    """What a pass over a sheet's XML finds besides its extent: the cells holding a
    formula and no saved result, and how many cells may name a shared string."""

    def __init__(self, strings: SharedStrings | None) -> None:
        self.strings = strings
        self.gaps: list[tuple[int, int]] = []
        self.values = 0
        self.formulas = False  # a formula was seen: every later piece is scanned

    def gap(self, row: int, col: int) -> None:
        if len(self.gaps) <= MAX_FORMULA_GAPS:
            self.gaps.append((row, col))

    def count_values(self, data: bytes, end: int) -> None:
        if self.strings is not None and self.strings.count:
            self.values += data.count(b"<v", 0, end) + data.count(b":v", 0, end)

    def quick(self, data: bytes, end: int) -> None:
        """One piece of a sheet written the usual way (``<c r="A1"…``, no prefixes)."""
        if self.strings is not None and self.strings.count:
            self.values += data.count(b"<v", 0, end)
        # Every formula ends with </f> but a shared one's copies (``<f t="shared"
        # si="0"/>``), which come after it; a four-byte search is the fastest gate.
        if not self.formulas:
            if data.find(b"</f>", 0, end) < 0:
                return
            self.formulas = True
        for pattern in (_NO_RESULT_END, _NO_RESULT_SHARED):
            for m in pattern.finditer(data, 0, end):
                start = data.rfind(b"<c ", 0, m.start())
                if start < 0:
                    continue  # not inside a cell (the piece starts inside one: never)
                attrs = data[start + 2 : data.find(b">", start, m.start())]
                ref = _R_ATTR.search(attrs)
                if ref is None or _text_result(attrs, m.group(1)):
                    continue
                col, row = _position(ref.group(2))
                self.gap(row, col if col is not None else 0)

    def shared_text(self, zf: zipfile.ZipFile, member: str) -> int:
        """Bytes of shared-string text the sheet's cells repeat (an upper bound): each
        cell gets its own copy of the string it names, in calamine and in Python."""
        strings = self.strings
        if strings is None or not strings.count:
            return 0
        bound = self.values * strings.longest
        if bound <= _SHARED_CHEAP:
            return bound
        # Long strings, many cells: count what each cell really names.
        total = 0
        for data, end in _chunks(zf, member, whole_cells=True):
            for index in _SHARED_REF.findall(data, 0, end):
                total += strings.length(int(index))
        return total


#: Repeated shared text below which the cheap bound (every cell names the longest
#: string) is taken as it is.
_SHARED_CHEAP = 256 * 1024**2
# The index a shared-string cell names: ``<c … t="s" …><v>12</v>`` (any form).
_SHARED_REF = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?c\b[^>]*?\bt\s*=\s*[\"']s[\"'][^>]*>\s*"
    rb"<(?:[A-Za-z_][\w.-]*:)?v\b[^>]*>\s*(\d{1,12})"
)


# -- text files ------------------------------------------------------------------------

#: The most a character of text can take once parsed into rows: a one-letter
#: line becomes a row (a list with room for four, 88 bytes, and its slot) and a
#: string, 146 bytes for two characters.
_TEXT_WORST = 96


def text_cells_memory(text: str, delimiter: str) -> int:
    """An upper estimate of the bytes :mod:`csv` rows of ``text`` take (with the text).

    A row is a list (88 bytes with its slot and the room lists keep to grow) of
    8-byte slots (a ninth more for that room); a field that holds anything is a
    string object (56 bytes and its characters, which the text bounds); an empty
    one is the shared empty string. Delimiters and line ends bound the fields,
    and the characters that are neither bound the fields that hold something.
    """
    size = sys.getsizeof(text)
    if size * (_TEXT_WORST + 2) <= CELLS_MEMORY_BUDGET:
        return size * (_TEXT_WORST + 2)  # small enough whatever it holds: don't count
    delimiters = text.count(delimiter)
    lines = (text.count("\n") or text.count("\r")) + 1
    fields = delimiters + lines
    filled = max(0, min(fields, len(text) - delimiters - lines))
    return 96 * lines + 9 * fields + 56 * filled + 2 * size


def check_text_memory(path: Path, text: str, delimiter: str) -> None:
    """BadFileError when the rows of ``text`` would take more than the budget."""
    need = text_cells_memory(text, delimiter)
    if need > CELLS_MEMORY_BUDGET:
        cells = text.count(delimiter) + text.count("\n") + 1
        raise too_much_memory(path, "it", need, f"about {cells:,} cells")


# -- shared strings ----------------------------------------------------------------------


class SharedStrings:
    """How long each of a workbook's shared strings is (in XML bytes: an upper bound
    of its text), measured before calamine loads them all.

    A cell names a shared string by its index, and calamine (then Python) gives
    every such cell its own copy: 2,000 cells naming one 2 MB string take 8 GB.
    """

    def __init__(self) -> None:
        self.lengths = array("Q")
        self.total = 0
        self.longest = 0

    @property
    def count(self) -> int:
        return len(self.lengths)

    @property
    def memory(self) -> int:
        """What calamine's copy of the table takes."""
        return self.total + 32 * self.count

    def length(self, index: int) -> int:
        """The length of string ``index`` (the longest for an index beyond the table:
        what calamine does with it is its business, the estimate stays an upper bound)."""
        return self.lengths[index] if 0 <= index < len(self.lengths) else self.longest

    def add(self, lengths: Iterable[int]) -> None:
        self.lengths.extend(lengths)


# The end of a shared string, or an empty one (``<si/>``), in any form.
_SI_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?si\s*>|<(?:[A-Za-z_][\w.-]*:)?si\b[^>]*/>")


def shared_strings(path: Path, zf: zipfile.ZipFile) -> SharedStrings | None:
    """The sizes of the workbook's shared strings (None when it has none); BadFileError
    when the table alone would take more than :data:`CELLS_MEMORY_BUDGET`."""
    members = [n for n in zf.namelist() if n.lower().endswith("sharedstrings.xml")]
    if not members:
        return None
    member = "xl/sharedStrings.xml" if "xl/sharedStrings.xml" in members else members[0]
    strings = _measure_strings(zf, member, plain=True)
    if strings is None:
        strings = _measure_strings(zf, member, plain=False)
    assert strings is not None
    # calamine reads every sharedStrings part it finds; count them all.
    others = sum(zf.getinfo(n).file_size for n in members if n != member)
    need = strings.memory + others
    if need > CELLS_MEMORY_BUDGET:
        raise too_much_memory(
            path,
            "its table of shared texts (sharedStrings.xml)",
            need,
            f"{strings.count:,} texts, {strings.total / 1e6:,.0f} MB",
        )
    return strings


def _measure_strings(zf: zipfile.ZipFile, member: str, *, plain: bool) -> SharedStrings | None:
    """One pass over the shared strings. ``plain``: split on ``</si>`` (fast), and
    give up (None) unless every string turned out to be written that way."""
    strings = SharedStrings()
    carried = 0  # bytes of a string that began in an earlier piece
    starts = 0
    for data, end in _chunks(zf, member):
        piece = data[:end] if end < len(data) else data
        if plain:
            starts += piece.count(b"<si")
            parts = piece.split(b"</si>")
        else:
            parts = _SI_END.split(piece)
        lengths = list(map(len, parts))
        lengths[0] += carried
        carried = lengths.pop()
        strings.add(lengths)
    if plain and starts != strings.count:
        return None  # ``<si/>``, prefixes or spaces: the careful split reads those
    strings.total = sum(strings.lengths)
    strings.longest = max(strings.lengths, default=0)
    return strings


# -- .ods: formulas with no saved result ---------------------------------------------------

# The table tags calamine reads (it matches the ``table:`` prefix literally too).
_ODS_TAG = re.compile(
    rb"<(/?)table:(table-row|table-cell|covered-table-cell|table)(?=[\s/>])([^>]*?)(/?)>"
)
_ODS_ROWS = re.compile(rb'table:number-rows-repeated\s*=\s*["\'](\d+)')
_ODS_COLUMNS = re.compile(rb'table:number-columns-repeated\s*=\s*["\'](\d+)')
_ODS_NAME = re.compile(rb'table:name\s*=\s*(["\'])(.*?)\1')


def ods_no_result(path: Path) -> dict[str, list[tuple[int, int]]]:
    """Sheet → cells (0-based row, column) of an .ods that hold a formula with no saved
    result (``table:formula`` and no ``office:value-type``): calamine reads them as
    blank. Repeated rows and cells count as often as they repeat; a sheet with more
    than :data:`MAX_FORMULA_GAPS` of them is refused."""
    with zipfile.ZipFile(path) as zf:
        if not any(b"table:formula" in data for data, _ in _chunks(zf, "content.xml")):
            return {}  # the common case: no formula at all, one quick pass
        found: dict[str, list[tuple[int, int]]] = {}
        gaps: list[tuple[int, int]] = []
        row = col = 0
        rows_here = 1
        for data, end in _chunks(zf, "content.xml"):
            for closing, tag, attrs, empty in _ODS_TAG.findall(data, 0, end):
                if tag == b"table":
                    if not closing:
                        name = _ODS_NAME.search(attrs)
                        gaps = found.setdefault(_xml_text(name.group(2) if name else b""), [])
                        row = 0
                elif tag == b"table-row":
                    if not closing:
                        m = _ODS_ROWS.search(attrs)
                        rows_here = int(m.group(1)) if m else 1
                        col = 0
                    if closing or empty:
                        row += rows_here
                elif not closing:
                    m = _ODS_COLUMNS.search(attrs)
                    repeat = int(m.group(1)) if m else 1
                    if (
                        tag == b"table-cell"
                        and b"table:formula" in attrs
                        and b"office:value-type" not in attrs
                    ):
                        if len(gaps) + repeat * rows_here > MAX_FORMULA_GAPS:
                            raise BadFileError(
                                f"{path.name}: a sheet holds more than {MAX_FORMULA_GAPS:,} "
                                "formulas with no saved result, so their values are unknown. "
                                + NO_RESULT_FIX
                            )
                        gaps.extend(
                            (r, c)
                            for r in range(row, row + rows_here)
                            for c in range(col, col + repeat)
                        )
                    col += repeat
    return {name: cells for name, cells in found.items() if cells}


def _xml_text(raw: bytes) -> str:
    """An attribute's text with XML's entities and character references decoded."""
    return html.unescape(raw.decode("utf-8", "replace"))


# -- other formats: a child process probes first --------------------------------

_PROBE = r"""
import json, sys
try:
    import resource
    limit = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
except Exception:
    pass
import python_calamine as pc
try:
    wb = pc.CalamineWorkbook.from_path(sys.argv[1])
    out = []
    kept = []  # every sheet read whole and kept, as an import keeps its tables
    for meta in wb.sheets_metadata:
        sheet = wb.get_sheet_by_name(meta.name)
        out.append({"name": meta.name, "visible": str(meta.visible).endswith(".Visible"),
                    "start": sheet.start, "end": sheet.end})
        kept.append(sheet.to_python())
        del sheet
    print(json.dumps({"sheets": out}))
except MemoryError:
    sys.exit(3)
except Exception as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
"""


@dataclass(frozen=True)
class ProbedSheet:
    name: str
    visible: bool
    extent: Extent | None


def probe_in_child(path: Path) -> list[ProbedSheet]:
    """Open the workbook in a child process first; refuse it if the child dies.

    Returns each sheet's extent. Raises BadFileError for a file calamine
    cannot read, one that kills the child, or one whose sheets are too big.
    """
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "SYSTEMROOT", "HOME", "TMP")}
    env["RUST_BACKTRACE"] = "0"
    try:
        result = subprocess.run(
            [sys.executable, "-c", _PROBE, os.fspath(path), str(CHILD_MEMORY_LIMIT)],
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            env={**env, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BadFileError(
            f"{path.name} is refused: reading it took longer than {CHILD_TIMEOUT_S} s."
        ) from None
    if result.returncode != 0 or not result.stdout.strip():
        raise BadFileError(
            f"{path.name} cannot be read safely: reading it took more than the "
            f"{CHILD_MEMORY_LIMIT / 1e9:,.1f} GB of memory any file may take, or crashed "
            "the reader. The file is damaged, too big to read at once (split it), or a "
            "sheet has cells very far from its data; delete stray cells (Ctrl+End jumps to "
            "the last used cell), save as .xlsx and import again."
        )
    data = json.loads(result.stdout.strip().splitlines()[-1])
    if "error" in data:
        raise BadFileError(describe_calamine_error(path, data["error"], data["message"]))
    sheets = []
    for item in data["sheets"]:
        start, end = item["start"], item["end"]
        extent = Extent(start[0], start[1], end[0], end[1]) if start and end else None
        if extent is not None and extent.cells > MAX_RANGE_CELLS:
            raise _too_big(path, item["name"], extent, [])
        sheets.append(ProbedSheet(item["name"], bool(item["visible"]), extent))
    return sheets


def describe_calamine_error(path: Path, kind: str, message: str) -> str:
    """A message a user can act on for an error python-calamine raised."""
    if kind == "PasswordError" or "password" in message.lower():
        return (
            f"{path.name} is password-protected (encrypted); save an unprotected copy "
            "and import that."
        )
    if kind == "ZipError" or "zip" in message.lower():
        return f"{path.name} is damaged or truncated (its ZIP structure is broken: {message})."
    if "detect" in message.lower():
        return f"{path.name} is not a spreadsheet this program can read."
    if "cell limit" in message.lower():
        return (
            f"{path.name} cannot be read safely: a sheet's cells spread too far ({message}). "
            "Delete the stray cells outside your data (Ctrl+End jumps to the last used cell), "
            "save, and import again."
        )
    return f"{path.name} cannot be read: {message}."
