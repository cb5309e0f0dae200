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
  **child process** opens them first under an address-space limit
  (``RLIMIT_AS`` where the platform has it) and reports each sheet's size.
  If the child dies, the file is refused; the parent never touched it.

A sheet whose value cells span more than :data:`MAX_RANGE_CELLS` cells is
refused with a :class:`~cmdb_desktop.errors.BadFileError` naming the far-away
cells, so the user can delete them. ZIP members whose uncompressed size is
absurd (ZIP bombs) are refused before anything is inflated. calamine does not
expand XML entities, and the few XML parts parsed here go through defusedxml.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
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
CHILD_MEMORY_LIMIT = 3 * 1024**3
CHILD_TIMEOUT_S = 300

_CHUNK = 16 * 1024 * 1024

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


def _chunks(zf: zipfile.ZipFile, member: str) -> Iterator[tuple[bytes, int]]:
    """The member's bytes as (buffer, end) pairs; ``buffer[:end]`` ends after a ``>``,
    so no tag is split between two pieces (slicing is left to the caller's
    ``pos``/``endpos`` arguments to avoid copies)."""
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
            tail = data[cut:]
            if cut:
                yield data, cut
    if tail:
        yield tail, len(tail)


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
# A namespace-prefixed cell or row tag (``<x:c …>``): only the precise pass reads those.
_PREFIXED = re.compile(rb":(?:c|row)[\s>/]")
# One <row …> or <c …> tag (any namespace prefix); group 3 is "/" when self-closing.
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)\b([^>]*?)(/?)>")
# The r attribute (any value: the precise pass validates it).
_R_ATTR = re.compile(rb'\br\s*=\s*(["\'])(.*?)\1')


def _quick_bound(zf: zipfile.ZipFile, member: str) -> int | None:
    """An upper bound of the sheet's range in cells, or None when only the precise pass knows.

    Every cell is assumed to hold a value. Columns are bounded by Z unless a
    reference with 2-3 letters occurs (one regex pass finds the few such
    references in ordinary sheets); rows by 99,999, or by the first digit of
    the 6-digit row numbers that occur (a few searches bisect it), or by
    9,999,999 if a 7-digit one occurs (or longer: beyond the format's limit,
    which calamine does not enforce). A cell tag in any other form than
    ``<c r="A1"`` (positions implied, other attribute order or case) or
    namespace-prefixed tags defer to the precise pass.
    """
    last_col = 25
    last_row = _ROWS_WITHOUT_FAR_REFS
    for data, end in _chunks(zf, member):
        if _PREFIXED.search(data, 0, end):
            return None
        found = _WIDE_REF.findall(data, 0, end)
        if b"" in found:
            return None  # a cell tag in another form: only the precise pass reads it
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


def _precise_extent(zf: zipfile.ZipFile, member: str) -> tuple[Extent | None, list[str]]:
    """The exact extent of value cells (formatting-only cells skipped), and far-away refs."""
    row = -1
    col = -1
    first_row = first_col = 1 << 62
    last_row = last_col = -1
    last_row_ref = last_col_ref = ""
    for data, end in _chunks(zf, member):
        for tag, attrs, closed in _TAG.findall(data, 0, end):
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


def check_xlsx_sheet(path: Path, zf: zipfile.ZipFile, sheet: str, member: str) -> None:
    """Raise BadFileError unless calamine can load ``sheet`` in bounded memory."""
    bound = _quick_bound(zf, member)
    if bound is not None and bound <= MAX_RANGE_CELLS:
        return
    try:
        extent, far = _precise_extent(zf, member)
    except BadFileError as exc:
        raise BadFileError(f"{path.name}: sheet {sheet!r} cannot be read safely: {exc}") from None
    if extent is not None and extent.cells > MAX_RANGE_CELLS:
        raise _too_big(path, sheet, extent, far)


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


def too_much_memory(path: Path, what: str, need: int, why: str) -> BadFileError:
    """The refusal of a file (or ``what`` of it) that would take ``need`` bytes to read."""
    return BadFileError(
        f"{path.name} is refused: reading {what} would take about {need / 1e9:,.1f} GB of "
        f"memory ({why}); a file may take at most {CELLS_MEMORY_BUDGET / 1e9:,.1f} GB, so "
        "that any file is read within 1.5 GB. Split it into smaller files (fewer rows or "
        "sheets each) and import them one after the other."
    )


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
    for meta in wb.sheets_metadata:
        sheet = wb.get_sheet_by_name(meta.name)
        out.append({"name": meta.name, "visible": str(meta.visible).endswith(".Visible"),
                    "start": sheet.start, "end": sheet.end})
    print(json.dumps({"sheets": out}))
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
            f"{path.name} cannot be read safely: opening it exhausted the memory allowed "
            f"({CHILD_MEMORY_LIMIT // 1024**3} GiB) or crashed the reader. The file is damaged, "
            "or a sheet has cells very far from its data; delete stray cells "
            "(Ctrl+End jumps to the last used cell), save as .xlsx and import again."
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
