"""The hostile-file corpus: spreadsheets nobody should trust, written at test time.

:func:`build` writes every :data:`CORPUS` entry into a folder (the tests use
``tests/data/bad/``, which git ignores): nothing here is a committed blob,
every byte comes from a generator below, so a reviewer can read what each
file is. Formats: .xlsx (its XML written by hand, so it can be exactly as
malformed as wanted), .ods, .xls (a BIFF8 workbook in an OLE2 compound file,
both written here), .csv and an encrypted OLE2 container.

Every file expects one of two outcomes from ``cmdb import``, both exit 2
with the database unchanged:

* ``refused``: the file as a whole cannot be read; the one error names the
  file and matches the pattern;
* ``error``: the file is read, and it carries one bad cell (a status that
  does not exist, at a known sheet, row and column) among good rows: the
  error must point at exactly that cell, which proves that row numbers
  survive merged cells, a million empty rows, formulas and so on, and
  ``created`` good rows were read correctly around it.
"""

from __future__ import annotations

import hashlib
import io
import random
import struct
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from importers.untrusted import column_letter

#: What every readable corpus file holds: two good rows, then the bad cell.
GOOD = [("web01", "Server", "In Use"), ("web02", "Server", "In Use")]
BAD_STATUS = "Exploded"
HEADER = ("Name", "Class", "Status")


@dataclass(frozen=True)
class BadFile:
    """One corpus file: how to make it and what importing it must say."""

    name: str
    about: str
    make: Callable[[], bytes]
    refused: str | None = None
    #: (sheet, 1-based row, column header) of the one bad cell
    error: tuple[str, int, str] | None = None
    #: good rows the dry run classifies as created (read correctly around the bad cell)
    created: int | None = None

    @property
    def suffix(self) -> str:
        return Path(self.name).suffix


# -- .xlsx written by hand -------------------------------------------------------------

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def cell(ref: str, value: object, extra: str = "") -> str:
    """One ``<c>`` with an inline string or a number."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'<c r="{ref}"{extra}><v>{value}</v></c>'
    text = escape(str(value))
    return f'<c r="{ref}" t="inlineStr"{extra}><is><t xml:space="preserve">{text}</t></is></c>'


def row_xml(number: int, values: Sequence[object], first_col: int = 0) -> str:
    cells = "".join(
        cell(f"{column_letter(first_col + i)}{number}", v)
        for i, v in enumerate(values)
        if v is not None and v != ""
    )
    return f'<row r="{number}">{cells}</row>'


def rows_xml(rows: Sequence[Sequence[object]], start: int = 1) -> str:
    return "".join(row_xml(start + i, r) for i, r in enumerate(rows))


def standard_rows(bad_at: int = 4) -> list[tuple[object, ...]]:
    """Header, the good rows, blank rows up to ``bad_at``, the bad row there."""
    rows: list[tuple[object, ...]] = [HEADER, *GOOD]
    while len(rows) < bad_at - 1:
        rows.append(())
    rows.append(("web03", "Server", BAD_STATUS))
    return rows


@dataclass
class XSheet:
    name: str
    body: str  # the sheetData content, or the whole <worksheet> when ``raw``
    state: str = "visible"
    after_data: str = ""  # e.g. <mergeCells>
    raw: bool = False


def xlsx(
    sheets: Sequence[XSheet],
    *,
    workbook: str | None = None,
    shared_strings: str | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A workbook package from its parts (inline strings unless ``shared_strings``)."""
    out = io.BytesIO()
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(len(sheets))
    )
    if shared_strings is not None:
        overrides += (
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        )
    types = (
        f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        f'officedocument.spreadsheetml.sheet.main+xml"/>{overrides}</Types>'
    )
    rels = (
        f'{_XML}<Relationships xmlns="{_PKG}"><Relationship Id="rId1" Type="{_R}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    )
    if workbook is None:
        entries = "".join(
            f'<sheet name="{escape(s.name)}" sheetId="{i + 1}" r:id="rId{i + 1}"'
            + ("" if s.state == "visible" else f' state="{s.state}"')
            + "/>"
            for i, s in enumerate(sheets)
        )
        workbook = (
            f'{_XML}<workbook xmlns="{_NS}" xmlns:r="{_R}"><sheets>{entries}</sheets></workbook>'
        )
    wb_rels = "".join(
        f'<Relationship Id="rId{i + 1}" Type="{_R}/worksheet" '
        f'Target="worksheets/sheet{i + 1}.xml"/>'
        for i in range(len(sheets))
    )
    if shared_strings is not None:
        wb_rels += (
            f'<Relationship Id="rId{len(sheets) + 1}" Type="{_R}/sharedStrings" '
            'Target="sharedStrings.xml"/>'
        )
    with zipfile.ZipFile(out, "w", compression) as zf:
        zf.writestr("[Content_Types].xml", types)
        zf.writestr("_rels/.rels", rels)
        zf.writestr("xl/workbook.xml", workbook)
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            f'{_XML}<Relationships xmlns="{_PKG}">{wb_rels}</Relationships>',
        )
        if shared_strings is not None:
            zf.writestr("xl/sharedStrings.xml", shared_strings)
        for i, s in enumerate(sheets):
            if s.raw:
                body = s.body
            else:
                body = (
                    f'{_XML}<worksheet xmlns="{_NS}" xmlns:r="{_R}"><sheetData>{s.body}'
                    f"</sheetData>{s.after_data}</worksheet>"
                )
            zf.writestr(f"xl/worksheets/sheet{i + 1}.xml", body)
    return out.getvalue()


def one_sheet(body: str, *, name: str = "CIs", after_data: str = "") -> bytes:
    return xlsx([XSheet(name, body, after_data=after_data)])


def good_xlsx(rows: int = 300) -> bytes:
    """An ordinary, valid workbook (the base that the truncated copies cut)."""
    data: list[tuple[object, ...]] = [HEADER]
    rng = random.Random(9)
    for i in range(rows):
        # random text compresses badly, so the cuts land inside the sheet's data
        data.append((f"srv{i:05d}-{rng.getrandbits(64):x}", "Server", "In Use"))
    return one_sheet(rows_xml(data))


def truncated(data: bytes, fraction: float) -> bytes:
    return data[: int(len(data) * fraction)]


def corrupt_member(data: bytes, member: str) -> bytes:
    """Flip bytes inside one member's compressed data: the ZIP directory stays valid."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(member)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    buf = bytearray(data)
    for i in range(start + info.compress_size // 3, start + info.compress_size // 3 + 64):
        buf[i] ^= 0x5A
    return bytes(buf)


def xml_bomb(depth: int = 10) -> str:
    """A billion-laughs DOCTYPE: ``&lol9;`` would expand to 10⁹ copies."""
    ents = ['<!ENTITY lol0 "lol">']
    for d in range(1, depth):
        ents.append(f'<!ENTITY lol{d} "{f"&lol{d - 1};" * 10}">')
    return f'<?xml version="1.0"?><!DOCTYPE worksheet [{"".join(ents)}]>'


def bomb_sheet() -> bytes:
    body = (
        xml_bomb()
        + f'<worksheet xmlns="{_NS}"><sheetData>'
        + rows_xml([HEADER, *GOOD])
        + '<row r="4"><c r="A4" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
        + "</sheetData></worksheet>"
    )
    return xlsx([XSheet("CIs", body, raw=True)])


def bomb_workbook() -> bytes:
    workbook = (
        xml_bomb().replace("worksheet", "workbook")
        + f'<workbook xmlns="{_NS}" xmlns:r="{_R}"><sheets>'
        '<sheet name="&lol9;" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    return xlsx([XSheet("CIs", rows_xml([HEADER, *GOOD]))], workbook=workbook)


def bomb_shared_strings() -> bytes:
    sst = (
        xml_bomb().replace("worksheet", "sst")
        + f'<sst xmlns="{_NS}" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'
    )
    body = rows_xml([HEADER, *GOOD]) + '<row r="4"><c r="A4" t="s"><v>0</v></c></row>'
    return xlsx([XSheet("CIs", body)], shared_strings=sst)


def external_entity() -> bytes:
    """XXE: an entity that names a local file. Its content must never show up."""
    body = (
        '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        f'<worksheet xmlns="{_NS}"><sheetData>'
        + rows_xml([HEADER, *GOOD])
        + '<row r="4"><c r="A4" t="inlineStr"><is><t>&xxe;</t></is></c>'
        f'<c r="B4" t="inlineStr"><is><t>Server</t></is></c>{cell("C4", BAD_STATUS)}</row>'
        + "</sheetData></worksheet>"
    )
    return xlsx([XSheet("CIs", body, raw=True)])


def zip_bomb() -> bytes:
    """A sheet part that inflates to 256 MiB of blanks from a few hundred KiB."""
    out = io.BytesIO()
    base = one_sheet(rows_xml([HEADER, *GOOD]))
    with (
        zipfile.ZipFile(io.BytesIO(base)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for item in src.infolist():
            if item.filename == "xl/worksheets/sheet1.xml":
                with dst.open(item.filename, "w", force_zip64=True) as fh:
                    fh.write(src.read(item).replace(b"</worksheet>", b""))
                    block = b" " * (1 << 20)
                    for _ in range(256):
                        fh.write(block)
                    fh.write(b"</worksheet>")
            else:
                dst.writestr(item, src.read(item))
    return out.getvalue()


def lying_zip_bomb() -> bytes:
    """The same bomb, its member declaring 5,000 bytes (local header and directory):
    a size check that believes the directory lets it through; inflating must not."""
    data = bytearray(zip_bomb())
    member = b"xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        offset = zf.getinfo(member.decode()).header_offset
    struct.pack_into("<I", data, offset + 22, 5000)
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        length = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46 : pos + 46 + length]) == member:
            struct.pack_into("<I", data, pos + 24, 5000)
        pos = data.find(b"PK\x01\x02", pos + 4)
    return bytes(data)


def far_cell(extra_row: str) -> bytes:
    return one_sheet(rows_xml([HEADER, *GOOD]) + extra_row)


def many_empty_rows(n: int = 1_000_000) -> bytes:
    """A million rows that hold nothing (formatting only), then the bad row."""
    bad = 3 + n + 1
    parts = [rows_xml([HEADER, *GOOD])]
    parts.append("".join(f'<row r="{r}"><c r="A{r}" s="0"/></row>' for r in range(4, bad)))
    parts.append(row_xml(bad, ("web03", "Server", BAD_STATUS)))
    return one_sheet("".join(parts))


def wide_header(columns: int) -> bytes:
    """The canonical columns, then ``columns`` more with a header and a value each."""
    extra = [f"Extra {i}" for i in range(columns)]
    rows: list[Sequence[object]] = [
        [*HEADER, *extra],
        [*GOOD[0], *[f"v{i}" for i in range(columns)]],
        GOOD[1],
        ("web03", "Server", BAD_STATUS),
    ]
    return one_sheet(rows_xml(rows))


def formulas() -> bytes:
    """Formulas with cached values (read as their values), one without in a column
    nothing reads (ignored), a live-looking text, and the bad status as a formula's
    cached result."""
    body = (
        rows_xml([HEADER]) + '<row r="2"><c r="A2" t="str"><f>"web"&amp;"01"</f><v>web01</v></c>'
        '<c r="B2" t="inlineStr"><is><t>Server</t></is></c>'
        '<c r="C2" t="str"><f>IF(TRUE,"In Use","x")</f><v>In Use</v></c>'
        '<c r="D2"><f>NOW()</f></c></row>'
        + row_xml(3, ("=cmd|' /C calc'!A0", "Server", "In Use"))
        + '<row r="4"><c r="A4" t="inlineStr"><is><t>web03</t></is></c>'
        '<c r="B4" t="inlineStr"><is><t>Server</t></is></c>'
        f'<c r="C4" t="str"><f>"{BAD_STATUS}"</f><v>{BAD_STATUS}</v></c></row>'
    )
    body = body.replace(rows_xml([HEADER]), row_xml(1, (*HEADER, "Checked")))
    return one_sheet(body)


def _no_result_row(status_cell: str, extra: str = "") -> str:
    """Row 4: web03, Server, and a Status cell holding a formula with no saved result."""
    return (
        '<row r="4"><c r="A4" t="inlineStr"><is><t>web03</t></is></c>'
        f'<c r="B4" t="inlineStr"><is><t>Server</t></is></c>{status_cell}{extra}</row>'
    )


def no_result(style: str) -> bytes:
    """A formula with no saved result in the Status cell of row 4, written as programs
    that store formulas without calculating them do (PRODUCT.md §8: an error of that
    cell, never a blank). Beside it, a formula whose saved result *is* the empty text
    (``t="str"``, ``<v></v>``): a blank, no error."""
    good = rows_xml([(*HEADER, "Owner"), *GOOD])
    empty_text = '<c r="D4" t="str"><f>""</f><v></v></c>'
    if style == "openpyxl":  # what openpyxl writes for ws["C4"] = '="In"&" Use"'
        return one_sheet(
            good + _no_result_row('<c r="C4"><f>"In"&amp;" Use"</f><v /></c>', empty_text)
        )
    if style == "no-v":
        return one_sheet(good + _no_result_row('<c r="C4" s="1"><f>C2</f></c>', empty_text))
    if style == "shared":  # a shared formula filled down from C2, results saved only there
        head = rows_xml([(*HEADER, "Owner"), GOOD[0]]).replace(
            '<c r="C2" t="inlineStr"><is><t xml:space="preserve">In Use</t></is></c>',
            '<c r="C2" t="str"><f t="shared" ref="C2:C4" si="0">"In Use"</f><v>In Use</v></c>',
        )
        row3 = rows_xml([GOOD[1]], start=3)
        return one_sheet(head + row3 + _no_result_row('<c r="C4"><f t="shared" si="0"/></c>'))
    if style == "prefixed":  # namespace-prefixed tags: the careful scan reads them
        cells = _no_result_row('<x:c r="C4"><x:f>C2</x:f></x:c>').replace(
            "<row ", f'<row xmlns:x="{_NS}" '
        )
        return one_sheet(good + cells)
    if style == "implied":  # no r attributes: positions count from the row's start
        return one_sheet(
            good + '<row r="4"><c t="inlineStr"><is><t>web03</t></is></c>'
            '<c t="inlineStr"><is><t>Server</t></is></c><c><f>C2</f><v/></c></row>'
        )
    if style == "row":  # a row of formulas only, after the last value: past calamine's range
        return one_sheet(
            good + '<row r="4"><c r="A4"><f>"web"&amp;"03"</f></c><c r="B4"><f>B3</f></c>'
            '<c r="C4"><f>C3</f></c></row>'
        )
    raise ValueError(style)


def ods_no_result() -> bytes:
    """Row 4's Status a formula with no result (no ``office:value-type``)."""
    rows = ods_rows([HEADER, *GOOD]) + (
        '<table:table-row><table:table-cell office:value-type="string"><text:p>web03</text:p>'
        '</table:table-cell><table:table-cell office:value-type="string"><text:p>Server'
        '</text:p></table:table-cell><table:table-cell table:formula="of:=[.C3]"/>'
        "</table:table-row>"
    )
    return ods({"CIs": rows})


def shared_string_bomb(cells: int = 2_000, size: int = 2 * 1024 * 1024) -> bytes:
    """A 1.3 MB workbook whose cells all name one 2 MB shared string: every cell gets
    its own copy when read (7.9 GB), and calamine aborts the process when it cannot
    have them."""
    sst = (
        f'{_XML}<sst xmlns="{_NS}" count="{cells + 3}" uniqueCount="4"><si><t>Name</t></si>'
        f"<si><t>Class</t></si><si><t>Status</t></si><si><t>{'x' * size}</t></si></sst>"
    )
    rows = [
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
        '<c r="C1" t="s"><v>2</v></c></row>'
    ]
    per_row = 3
    for r in range(2, cells // per_row + 2):
        rows.append(
            f'<row r="{r}">'
            + "".join(f'<c r="{column_letter(c)}{r}" t="s"><v>3</v></c>' for c in range(per_row))
            + "</row>"
        )
    return xlsx([XSheet("CIs", "".join(rows))], shared_strings=sst)


def shared_xlsx(rows: Sequence[Sequence[object]], name: str = "CIs") -> bytes:
    """A one-sheet workbook whose texts are shared strings, as Excel saves them."""
    index: dict[str, int] = {}
    cells = []
    for r, values in enumerate(rows, start=1):
        row = []
        for c, value in enumerate(values):
            ref = f"{column_letter(c)}{r}"
            if isinstance(value, str):
                n = index.setdefault(value, len(index))
                row.append(f'<c r="{ref}" t="s"><v>{n}</v></c>')
            elif value is not None:
                row.append(cell(ref, value))
        cells.append(f'<row r="{r}">{"".join(row)}</row>')
    strings = "".join(f"<si><t>{escape(text)}</t></si>" for text in index)
    sst = f'{_XML}<sst xmlns="{_NS}" uniqueCount="{len(index)}">{strings}</sst>'
    return xlsx([XSheet(name, "".join(cells))], shared_strings=sst)


def ods_repeated_text(repeat: int = 1_000, size: int = 1024 * 1024) -> bytes:
    """One 1 MB text cell repeated 1,000 times: 2 GB once read (calamine copies it per
    cell, and Python again)."""
    rows = ods_rows([HEADER, *GOOD]) + (
        '<table:table-row><table:table-cell office:value-type="string"><text:p>web03'
        f"</text:p></table:table-cell>{ods_cell('y' * size, repeat)}</table:table-row>"
    )
    return ods({"CIs": rows})


def merged() -> bytes:
    """Name merged over rows 2-3: row 3's own Name cell is empty (a row error)."""
    rows = [HEADER, GOOD[0], (None, "Server", "In Use"), GOOD[1], ("web03", "Server", BAD_STATUS)]
    merge = '<mergeCells count="1"><mergeCell ref="A2:A3"/></mergeCells>'
    return one_sheet(rows_xml(rows), after_data=merge)


def hidden(state: str) -> bytes:
    """The data sits on a hidden sheet; the only visible one is a note."""
    return xlsx(
        [
            XSheet("Read me", rows_xml([("Exported by a tool",), ("Nothing to see",)])),
            XSheet("CIs", rows_xml(standard_rows()), state=state),
        ]
    )


def hidden_beside_visible() -> bytes:
    """A hidden sheet beside the visible CIs sheet: only the visible one is imported."""
    return xlsx(
        [
            XSheet("CIs", rows_xml(standard_rows())),
            XSheet(
                "Relationships", rows_xml([("Source", "Type", "Target"), ("x", "y", "z")]), "hidden"
            ),
        ]
    )


def dates_as_text() -> bytes:
    rows = [
        (*HEADER, "Purchase Date"),
        (*GOOD[0], "2024-01-31"),
        (*GOOD[1], "31 Jan 2024"),
        ("web03", "Server", "In Use", "31/02/2024"),
    ]
    return one_sheet(rows_xml(rows))


def long_cells(length: int = 60_000) -> bytes:
    """60,000-character cells (beyond Excel's 32,767) in a note and the bad status."""
    long_text = ("Lorem ipsum dolor sit amet " * (length // 27 + 1))[:length]
    rows = [
        (*HEADER, "Description"),
        (*GOOD[0], long_text),
        GOOD[1],
        ("web03", "Server", BAD_STATUS + " " + long_text),
    ]
    return one_sheet(rows_xml(rows))


def control_characters() -> bytes:
    """Control characters XML 1.0 forbids, as character references."""
    body = (
        rows_xml([HEADER, *GOOD])
        + '<row r="4"><c r="A4" t="inlineStr"><is><t>web&#0;03</t></is></c>'
        f'<c r="B4" t="inlineStr"><is><t>Server</t></is></c>{cell("C4", BAD_STATUS)}</row>'
    )
    return one_sheet(body)


def duplicate_headers() -> bytes:
    """Two "Status" columns: the second is read as "Status (2)" (ignored, with a warning)."""
    rows = [
        ("Name", "Class", "Status", "Status"),
        (*GOOD[0], "Retired"),
        (*GOOD[1], "Retired"),
        ("web03", "Server", BAD_STATUS, "In Use"),
    ]
    return one_sheet(rows_xml(rows))


def empty_headers() -> bytes:
    """No header cells at all above the data."""
    return one_sheet(rows_xml([("", "", ""), *GOOD]).replace('<row r="1"></row>', ""))


def not_a_zip() -> bytes:
    rng = random.Random(1)
    return bytes(rng.getrandbits(8) for _ in range(4096))


def fake_zip() -> bytes:
    rng = random.Random(2)
    return b"PK\x03\x04" + bytes(rng.getrandbits(8) for _ in range(4096))


def not_a_workbook_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("readme.txt", "just a zip")
    return out.getvalue()


# -- OLE2 compound files: encrypted packages and .xls -----------------------------------

_FREE, _END, _FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD


def compound_file(streams: dict[str, bytes]) -> bytes:
    """A version-3 OLE2 compound file holding ``streams`` (each padded to 4 KiB, so
    no mini stream is needed)."""
    sector = 512
    names = list(streams)
    datas = [streams[n] + b"\x00" * max(0, 4096 - len(streams[n])) for n in names]
    sizes = [max(len(streams[n]), 4096) for n in names]
    chains: list[tuple[int, int]] = []  # (first sector, count)
    next_sector = 0
    for d in datas:
        count = -(-len(d) // sector)
        chains.append((next_sector, count))
        next_sector += count
    dir_entries = 1 + len(names)
    dir_sectors = -(-dir_entries * 128 // sector)
    dir_start = next_sector
    next_sector += dir_sectors
    # FAT sectors hold 128 entries each, including their own
    fat_sectors = 1
    while (next_sector + fat_sectors) > fat_sectors * 128:
        fat_sectors += 1
    fat_start = next_sector
    total = next_sector + fat_sectors
    fat = [_FREE] * (fat_sectors * 128)
    for first, count in chains:
        for k in range(count):
            fat[first + k] = first + k + 1 if k + 1 < count else _END
    for k in range(dir_sectors):
        fat[dir_start + k] = dir_start + k + 1 if k + 1 < dir_sectors else _END
    for k in range(fat_sectors):
        fat[fat_start + k] = _FATSECT
    assert total <= len(fat)

    def entry(name: str, kind: int, start: int, size: int, child: int, right: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\x00\x00"
        return (
            raw.ljust(64, b"\x00")
            + struct.pack("<HBB", len(raw), kind, 1)  # name length, type, colour (black)
            + struct.pack("<III", _FREE, right, child)  # left, right sibling, child
            + bytes(16 + 4 + 16)  # CLSID, state bits, times
            + struct.pack("<III", start, size, 0)
        )

    # Siblings as a right-leaning chain (a valid, if unbalanced, red-black tree
    # when all nodes are black, which readers accept).
    entries = [entry("Root Entry", 5, _END, 0, 1 if names else _FREE, _FREE)]
    for i, name in enumerate(names):
        right = i + 2 if i + 1 < len(names) else _FREE
        entries.append(entry(name, 2, chains[i][0], sizes[i], _FREE, right))
    directory = b"".join(entries).ljust(dir_sectors * sector, b"\x00")
    for k in range(len(entries), dir_sectors * 4):  # unused entries: empty, no links
        off = k * 128
        directory = (
            directory[: off + 68] + struct.pack("<III", _FREE, _FREE, _FREE) + directory[off + 80 :]
        )
    difat = [fat_start + k for k in range(fat_sectors)] + [_FREE] * (109 - fat_sectors)
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack("<IIIIIIIII", 0, fat_sectors, dir_start, 0, 4096, _END, 0, _END, 0)
        + struct.pack("<109I", *difat)
    )
    assert len(header) == 512
    body = b"".join(datas) + directory + struct.pack(f"<{len(fat)}I", *fat)
    return header + body


def encrypted_package() -> bytes:
    """What Excel writes for a password-protected .xlsx: an OLE2 container holding
    ``EncryptionInfo`` and ``EncryptedPackage`` streams instead of a ZIP."""
    rng = random.Random(3)
    info = struct.pack("<HHI", 4, 4, 0x40) + bytes(rng.getrandbits(8) for _ in range(200))
    package = struct.pack("<Q", 5000) + bytes(rng.getrandbits(8) for _ in range(5000))
    return compound_file({"EncryptionInfo": info, "EncryptedPackage": package})


def _record(kind: int, payload: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(payload)) + payload


def biff8(
    sheets: Sequence[tuple[str, Sequence[Sequence[object]]]],
    *,
    dimensions: tuple[int, int, int, int] | None = None,
    states: Sequence[int] | None = None,
    filepass: bool = False,
) -> bytes:
    """A minimal BIFF8 workbook stream: shared strings, text and number cells."""
    strings: list[str] = []
    index: dict[str, int] = {}
    for _, rows in sheets:
        for row in rows:
            for v in row:
                if isinstance(v, str) and v and v not in index:
                    index[v] = len(strings)
                    strings.append(v)
    bof = lambda dt: _record(0x0809, struct.pack("<HHHHII", 0x0600, dt, 0x0DBB, 0x07CC, 0, 6))  # noqa: E731
    sst = struct.pack("<II", len(strings), len(strings)) + b"".join(
        struct.pack("<HB", len(s), 1) + s.encode("utf-16-le") for s in strings
    )
    streams: list[bytes] = []
    for _name, rows in sheets:
        width = max((len(r) for r in rows), default=0)
        dims = dimensions or (0, len(rows), 0, width)
        body = bof(0x10) + _record(0x0200, struct.pack("<IIHHH", *dims, 0))
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if isinstance(v, str) and v:
                    body += _record(0x00FD, struct.pack("<HHHI", r, c, 15, index[v]))
                elif isinstance(v, int | float) and not isinstance(v, bool):
                    body += _record(0x0203, struct.pack("<HHHd", r, c, 15, float(v)))
        streams.append(body + _record(0x000A))
    xfs = b"".join(
        _record(
            0x00E0,
            struct.pack("<HHHBBBBIIH", 0, 0, 0xFFF5 if i < 15 else 1, 0x20, 0, 0, 0, 0, 0, 0x20C0),
        )
        for i in range(16)
    )
    head = bof(0x05) + (_record(0x002F, b"\x01\x00" + b"\x00" * 52) if filepass else b"")
    head += _record(0x0042, struct.pack("<H", 1200)) + xfs
    sheet_records_size = sum(4 + 8 + len(name.encode("utf-16-le")) for name, _ in sheets)
    sst_record = _record(0x00FC, sst)
    offset = len(head) + sheet_records_size + len(sst_record) + 4
    sheet_records = b""
    for i, (name, _) in enumerate(sheets):
        state = states[i] if states else 0
        sheet_records += _record(
            0x0085,
            struct.pack("<IBBBB", offset, state, 0, len(name), 1) + name.encode("utf-16-le"),
        )
        offset += len(streams[i])
    return head + sheet_records + sst_record + _record(0x000A) + b"".join(streams)


def xls(sheets: Sequence[tuple[str, Sequence[Sequence[object]]]], **kwargs: object) -> bytes:
    return compound_file({"Workbook": biff8(sheets, **kwargs)})  # type: ignore[arg-type]


def good_xls() -> bytes:
    return xls([("CIs", [HEADER, *GOOD, ("web03", "Server", BAD_STATUS)])])


# -- .ods --------------------------------------------------------------------------------

_ODS_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>{doctype}'
    '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
    "<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body>"
    "</office:document-content>"
)


def ods_cell(value: object, repeat: int = 1) -> str:
    rep = f' table:number-columns-repeated="{repeat}"' if repeat > 1 else ""
    if value is None or value == "":
        return f"<table:table-cell{rep}/>"
    return (
        f'<table:table-cell office:value-type="string"{rep}><text:p>{escape(str(value))}'
        "</text:p></table:table-cell>"
    )


def ods_rows(rows: Sequence[Sequence[object]]) -> str:
    return "".join(
        "<table:table-row>" + "".join(ods_cell(v) for v in r) + "</table:table-row>" for r in rows
    )


def ods(tables: dict[str, str], doctype: str = "") -> bytes:
    out = io.BytesIO()
    body = "".join(
        f'<table:table table:name="{escape(n)}">{t}</table:table>' for n, t in tables.items()
    )
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", _ODS_HEAD.format(doctype=doctype, tables=body))
        zf.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0"?><manifest:manifest xmlns:manifest='
            '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry '
            'manifest:full-path="/" manifest:media-type='
            '"application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>',
        )
    return out.getvalue()


def good_ods() -> bytes:
    rows = [HEADER] + [(f"srv{i:04d}", "Server", "In Use") for i in range(300)]
    return ods({"CIs": ods_rows(rows)})


def ods_far(rows_repeat: int, cols_repeat: int) -> bytes:
    far = (
        f'<table:table-row table:number-rows-repeated="{rows_repeat}">'
        f"{ods_cell(None, cols_repeat)}</table:table-row>"
        f"<table:table-row>{ods_cell(None, cols_repeat)}{ods_cell('x')}</table:table-row>"
    )
    return ods({"CIs": ods_rows([HEADER, *GOOD]) + far})


def ods_bomb() -> bytes:
    doctype = xml_bomb()[len('<?xml version="1.0"?>') :].replace(
        "worksheet", "office:document-content"
    )
    rows = ods_rows([HEADER, *GOOD]) + (
        '<table:table-row><table:table-cell office:value-type="string"><text:p>&lol9;'
        "</text:p></table:table-cell></table:table-row>"
    )
    return ods({"CIs": rows}, doctype=doctype)


def ods_standard() -> bytes:
    """Hidden-free ODS with blank rows before the bad row at sheet row 7."""
    return ods({"CIs": ods_rows(standard_rows(bad_at=7))})


# -- .csv ---------------------------------------------------------------------------------


def csv_bytes(rows: Sequence[Sequence[object]], newline: str = "\r\n") -> bytes:
    return (
        newline.join(",".join("" if v is None else str(v) for v in r) for r in rows).encode("utf-8")
        + newline.encode()
    )


def csv_standard(**kw: object) -> bytes:
    return csv_bytes(standard_rows(**kw))  # type: ignore[arg-type]


def csv_invalid_utf8() -> bytes:
    """Latin-1 bytes and bytes that no code page defines, in a UTF-8-looking file."""
    return (
        b"Name,Class,Status,Owner\r\nweb01,Server,In Use,Ren\xe9e\r\n"
        b"web02,Server,In Use,\x81\x8d\x8f\x90\x9d\r\nweb03,Server,Expl\xf6ded,x\r\n"
    )


def csv_mixed_encodings() -> bytes:
    """UTF-8 with one row pasted from a Windows-1252 file (read whole as cp1252, the
    UTF-8 rows' "Zürich DC" would become "ZÃ¼rich DC")."""
    return (
        "Name,Class,Status,Description\r\nweb01,Server,In Use,Zürich DC\r\n".encode()
        + "web02,Server,In Use,Zürich DC\r\n".encode("cp1252")
        + "web03,Server,In Use,Zürich DC\r\n".encode()
    )


def csv_bom_then_garbage() -> bytes:
    return b"\xef\xbb\xbfName,Class,Status\r\nweb01,Server,In Use\r\nweb\xff02,Server,In Use\r\n"


def csv_utf16_odd() -> bytes:
    return b"\xff\xfe" + "Name,Class\r\nweb01,Server\r\n".encode("utf-16-le") + b"\x00"


def csv_nul_late() -> bytes:
    """NUL bytes after the first 8 KiB (where a binary sniff no longer looks)."""
    filler = "".join(f"srv{i:05d},Server,In Use\r\n" for i in range(600))
    rows = "Name,Class,Status\r\n" + filler
    line = len(rows.splitlines()) + 1
    assert len(rows) > 8192
    text = rows + "web\x0003,Server,In Use\r\nweb04,Server," + BAD_STATUS + "\r\n"
    assert line == 602
    return text.encode()


def csv_nul_early() -> bytes:
    return b"Name,Class,Status\r\nweb\x0001,Server,In Use\r\n"


def csv_many_empty(n: int = 1_000_000) -> bytes:
    return csv_bytes([HEADER, *GOOD] + [()] * n + [("web03", "Server", BAD_STATUS)])


def csv_wide_line(columns: int = 1_600_000) -> bytes:
    """Good rows, then a 3 MB line of 1.6 million columns (48 s and 1.6 GB, before)."""
    return csv_bytes([HEADER, *GOOD]) + ",".join(["x"] * columns).encode() + b"\r\n"


def csv_tiny_cells(lines: int = 20_000, columns: int = 1_000) -> bytes:
    """40 MB of one-letter cells: 20 million of them, well over a gigabyte once parsed."""
    line = ",".join(["a"] * columns).encode() + b"\r\n"
    return csv_bytes([HEADER]) + line * lines


def csv_wide(columns: int = 100_000) -> bytes:
    extra = [f"Extra {i}" for i in range(columns)]
    return csv_bytes(
        [
            [*HEADER, *extra],
            [*GOOD[0], *[str(i) for i in range(columns)]],
            GOOD[1],
            ("web03", "Server", BAD_STATUS),
        ]
    )


def csv_long_cell(length: int = 60_000) -> bytes:
    text = "x" * length
    return csv_bytes(
        [
            (*HEADER, "Description"),
            (*GOOD[0], text),
            GOOD[1],
            ("web03", "Server", BAD_STATUS + text),
        ]
    )


def csv_unbalanced_quote() -> bytes:
    return b'Name,Class,Status\r\nweb01,Server,In Use\r\n"web02,Server,In Use\r\n' + b"x" * 1000


def csv_duplicate_headers() -> bytes:
    return csv_bytes(
        [
            ("Name", "Class", "Status", "Status"),
            (*GOOD[0], "Retired"),
            (*GOOD[1], "x"),
            ("web03", "Server", BAD_STATUS, "In Use"),
        ]
    )


def csv_formulas() -> bytes:
    return csv_bytes(
        [
            HEADER,
            ("=1+2", "Server", "In Use"),
            ("@SUM(A1)", "Server", "In Use"),
            ("web03", "Server", BAD_STATUS),
        ]
    )


# -- the corpus ------------------------------------------------------------------------------

_SAFE = "cannot be read safely"
_DAMAGED = "damaged or truncated"
_BROKEN_XML = "cannot be read|entit|DTD|damaged|refused"
_VAL = 't="inlineStr"><is><t>x</t></is></c></row>'
_STD = ("CIs", 4, "Status")
_MEMORY = r"is refused: reading .* would take about [\d.,]+ GB of memory"


def refused(name: str, about: str, make: Callable[[], bytes], pattern: str) -> BadFile:
    return BadFile(name, about, make, refused=pattern)


def pinpoint(
    name: str,
    about: str,
    make: Callable[[], bytes],
    where: tuple[str, int, str] | None = None,
    created: int = 2,
) -> BadFile:
    """A readable file whose one bad cell must be found at ``where`` (default: the
    standard bad row; for CSV the sheet is the file's stem)."""
    if where is None:
        sheet = Path(name).stem if name.endswith(".csv") else "CIs"
        where = (sheet, 4, "Status")
    return BadFile(name, about, make, error=where, created=created)


def far(extra: str) -> Callable[[], bytes]:
    return lambda: one_sheet(rows_xml([HEADER, *GOOD]) + extra)


def far_ods_repeat() -> bytes:
    """2³¹-1 repeated blank columns, then a value: calamine drops that one cell
    (no spreadsheet can have it), the rows around it must survive."""
    row = f"<table:table-row>{ods_cell(None, 2**31 - 1)}{ods_cell('x')}</table:table-row>"
    rows = ods_rows([HEADER, *GOOD]) + row + ods_rows([("web03", "Server", BAD_STATUS)])
    return ods({"CIs": rows})


def xfd1_and_a1048576() -> bytes:
    head = row_xml(1, HEADER).replace("</row>", cell("XFD1", "far") + "</row>")
    return one_sheet(head + rows_xml(GOOD, 2) + '<row r="1048576"><c r="A1048576" ' + _VAL)


def lying_dimension() -> bytes:
    sheet = (
        f'{_XML}<worksheet xmlns="{_NS}"><dimension ref="A1:XFD1048576"/>'
        f"<sheetData>{rows_xml(standard_rows())}</sheetData></worksheet>"
    )
    return xlsx([XSheet("CIs", sheet, raw=True)])


def lying_xls_dimensions() -> bytes:
    rows = [HEADER, *GOOD, ("web03", "Server", BAD_STATUS)]
    return xls([("CIs", rows)], dimensions=(0, 0xFFFFFFFF, 0, 0xFFFF))


def formatting_far() -> bytes:
    tail = '<row r="1048576"><c r="XFD1048576" s="0"/></row>'
    return one_sheet(rows_xml(standard_rows()) + tail)


def _corpus() -> list[BadFile]:
    good = good_xlsx()
    files = [
        # not spreadsheets at all
        refused("empty.xlsx", "0 bytes", lambda: b"", "is empty"),
        refused("empty.csv", "0 bytes", lambda: b"", "is empty"),
        refused("empty.ods", "0 bytes", lambda: b"", "is empty"),
        refused("blank-lines.csv", "only blank lines", lambda: b"\r\n \r\n\t\r\n", "no data"),
        refused("not-a-zip.xlsx", "random bytes", not_a_zip, "binary file"),
        refused("fake-zip.xlsx", "ZIP magic, then garbage", fake_zip, _DAMAGED),
        refused("plain.zip.xlsx", "a ZIP without a workbook", not_a_workbook_zip, "without a"),
        refused("image.xlsx", "a PNG image", lambda: b"\x89PNG\r\n\x1a\n" + bytes(64), "PNG"),
        # truncated at several points, and damaged inside
        *[
            refused(
                f"truncated-{round(f * 1000)}.xlsx",
                f"the first {f:.1%} of a workbook",
                lambda f=f: truncated(good, f),  # type: ignore[misc]
                _DAMAGED,
            )
            for f in (0.001, 0.1, 0.5, 0.9, 0.99)
        ],
        refused("truncated-end.xlsx", "all but the last 10 bytes", lambda: good[:-10], _DAMAGED),
        refused(
            "corrupt-sheet.xlsx",
            "bytes flipped inside the sheet's compressed data",
            lambda: corrupt_member(good, "xl/worksheets/sheet1.xml"),
            _DAMAGED,
        ),
        *[
            refused(
                f"truncated-{round(f * 100)}.ods",
                f"the first {f:.0%} of an .ods",
                lambda f=f: truncated(good_ods(), f),  # type: ignore[misc]
                _DAMAGED,
            )
            for f in (0.1, 0.5, 0.9)
        ],
        refused("truncated-50.xls", "half an .xls", lambda: good_xls()[:2816], "cannot be read"),
        # encrypted
        refused("encrypted.xlsx", "an OLE2 EncryptedPackage", encrypted_package, "password"),
        refused(
            "encrypted.xls",
            "BIFF8 with a FILEPASS record",
            lambda: xls([("CIs", [HEADER, *GOOD])], filepass=True),
            "password",
        ),
        # XML attacks
        refused("entity-bomb-sheet.xlsx", "billion laughs in a sheet", bomb_sheet, _BROKEN_XML),
        refused("entity-bomb-workbook.xlsx", "… in workbook.xml", bomb_workbook, _BROKEN_XML),
        refused("entity-bomb-strings.xlsx", "… in sharedStrings", bomb_shared_strings, _BROKEN_XML),
        refused("entity-bomb.ods", "billion laughs in content.xml", ods_bomb, _BROKEN_XML),
        refused("external-entity.xlsx", "&xxe; naming /etc/passwd", external_entity, _BROKEN_XML),
        refused("zip-bomb.xlsx", "a sheet inflating to 256 MiB", zip_bomb, "ZIP bomb"),
        refused("zip-bomb-lying.xlsx", "… declaring 5,000 bytes", lying_zip_bomb, _DAMAGED),
        refused("control-chars.xlsx", "&#0; in a cell", control_characters, "cannot be read"),
        # far-away cells: python-calamine 0.9 would abort the process on these
        refused(
            "xfd1048576.xlsx",
            "A1 and XFD1048576",
            far(f'<row r="1048576"><c r="XFD1048576" {_VAL}'),
            _SAFE,
        ),
        refused("xfd1-a1048576.xlsx", "XFD1 and A1048576", xfd1_and_a1048576, _SAFE),
        refused(
            "far-single-quotes.xlsx",
            "r='XFD1048576'",
            far("<row r='1048576'><c r='XFD1048576' " + _VAL.replace('"', "'")),
            _SAFE,
        ),
        refused(
            "far-r-last.xlsx",
            "the r attribute after t",
            far('<row r="1048576"><c t="inlineStr" r="XFD1048576"><is><t>x</t></is></c></row>'),
            _SAFE,
        ),
        refused(
            "far-lower-case.xlsx",
            'r="xfd1048576"',
            far(f'<row r="1048576"><c r="xfd1048576" {_VAL}'),
            _SAFE,
        ),
        refused(
            "far-implied.xlsx",
            "200 cells without r in row 1048576",
            far('<row r="1048576">' + '<c t="inlineStr"><is><t>x</t></is></c>' * 200 + "</row>"),
            _SAFE,
        ),
        refused(
            "far-eight-digits.xlsx",
            "row 99,999,999",
            far(f'<row r="99999999"><c r="A99999999" {_VAL}'),
            _SAFE,
        ),
        refused(
            "far-four-letters.xlsx",
            "column AAAA",
            far(f'<row r="9"><c r="AAAA1000000" {_VAL}'),
            _SAFE,
        ),
        refused(
            "far-prefixed.xlsx",
            "namespace-prefixed x:c tags",
            far(
                f'<row r="1048576"><x:c xmlns:x="{_NS}" r="XFD1048576" '
                + _VAL.replace("</c>", "</x:c>")
            ),
            _SAFE,
        ),
        refused("far.ods", "repeats reaching XFD1048576", lambda: ods_far(1048573, 16383), _SAFE),
        refused(
            "lying-dimensions.xls", "DIMENSIONS of 4 billion rows", lying_xls_dimensions, _SAFE
        ),
        # nothing that can be imported, or text that cannot be decoded
        refused(
            "only-hidden-data.xlsx", "data on a hidden sheet", lambda: hidden("hidden"), "Name"
        ),
        refused(
            "only-very-hidden.xlsx", "a veryHidden sheet", lambda: hidden("veryHidden"), "Name"
        ),
        refused("empty-headers.xlsx", "data without a header row", empty_headers, "Name"),
        refused("utf8-bom-garbage.csv", "a BOM, then not UTF-8", csv_bom_then_garbage, "not UTF-8"),
        refused(
            "mixed-encodings.csv",
            "UTF-8 with one Windows-1252 row",
            csv_mixed_encodings,
            r"^mixed-encodings\.csv: Row 3 is not UTF-8, .*save the whole file as UTF-8",
        ),
        refused("utf16-odd.csv", "a UTF-16 BOM, odd length", csv_utf16_odd, "UTF-16"),
        refused("nul-early.csv", "NUL bytes in the first line", csv_nul_early, "binary"),
        pinpoint(
            "unbalanced-quote.csv",
            "a quote that never closes",
            csv_unbalanced_quote,
            ("unbalanced-quote", 3, "Name"),
            created=1,
        ),
        # readable: the one bad cell must be pinpointed, the good rows read
        pinpoint("standard.xlsx", "the control case", lambda: one_sheet(rows_xml(standard_rows()))),
        pinpoint("standard.xls", "a BIFF8 workbook", good_xls),
        pinpoint("standard.ods", "blank rows in an .ods", ods_standard, ("CIs", 7, "Status")),
        pinpoint("standard.csv", "the control case", csv_standard),
        pinpoint("hidden-beside.xlsx", "a hidden sheet beside CIs", hidden_beside_visible),
        pinpoint("formatting-far.xlsx", "an empty, formatted XFD1048576", formatting_far),
        pinpoint("lying-dimension.xlsx", "<dimension> claims everything", lying_dimension),
        pinpoint(
            "far-huge-repeat.ods", "2³¹ repeated columns", far_ods_repeat, ("CIs", 5, "Status")
        ),
        pinpoint(
            "million-empty-rows.xlsx",
            "1,000,000 empty rows",
            many_empty_rows,
            ("CIs", 1_000_004, "Status"),
        ),
        pinpoint(
            "million-empty-rows.csv",
            "1,000,000 empty lines",
            csv_many_empty,
            ("million-empty-rows", 1_000_004, "Status"),
        ),
        pinpoint("xfd-columns.xlsx", "16,381 extra columns (to XFD)", lambda: wide_header(16_381)),
        pinpoint("xfd-columns.csv", "16,381 extra columns (to XFD)", lambda: csv_wide(16_381)),
        refused(
            "100k-columns.csv",
            "100,000 extra columns",
            csv_wide,
            r"row 1 has 100,003 columns; a spreadsheet has at most 16,384",
        ),
        refused(
            "wide-line.csv",
            "a 3 MB line of 1.6 million columns",
            csv_wide_line,
            r"row 4 has 1,600,000 columns",
        ),
        refused("tiny-cells.csv", "20 million one-letter cells", csv_tiny_cells, _MEMORY),
        refused(
            "shared-string-bomb.xlsx",
            "2,000 cells naming one 2 MB shared string",
            shared_string_bomb,
            _MEMORY,
        ),
        refused("repeated-text.ods", "a 1 MB text repeated 1,000 times", ods_repeated_text, _SAFE),
        *[
            pinpoint(
                f"no-result-{style}.xlsx",
                f"a formula with no saved result ({style})",
                lambda style=style: no_result(style),
            )  # type: ignore[misc]
            for style in ("openpyxl", "no-v", "shared", "prefixed", "implied", "row")
        ],
        pinpoint("no-result.ods", "a formula with no saved result", ods_no_result),
        pinpoint("formulas.xlsx", "formulas, cached values or none", formulas),
        pinpoint("formulas.csv", "text that looks like formulas", csv_formulas),
        pinpoint("merged.xlsx", "Name merged over two rows", merged, ("CIs", 3, "Name")),
        pinpoint("dates-as-text.xlsx", "dates as text", dates_as_text, ("CIs", 4, "Purchase Date")),
        pinpoint("60k-cells.xlsx", "60,000-character cells", long_cells, created=1),
        pinpoint("60k-cells.csv", "60,000-character cells", csv_long_cell, created=1),
        pinpoint("invalid-utf8.csv", "cp1252 and undefined bytes", csv_invalid_utf8),
        pinpoint("nul-late.csv", "NUL past 8 KiB", csv_nul_late, ("nul-late", 603, "Status"), 600),
        pinpoint("duplicate-headers.xlsx", "two Status columns", duplicate_headers),
        pinpoint("duplicate-headers.csv", "two Status columns", csv_duplicate_headers),
    ]
    names = [f.name for f in files]
    assert len(names) == len(set(names)), "corpus names must be unique"
    return files


CORPUS = _corpus()


def build(folder: Path, only: Sequence[str] | None = None) -> list[tuple[BadFile, Path]]:
    """Write the corpus (or the files named in ``only``) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    # Regenerate everything when this module changed since the files were written.
    stamp = folder / ".generator"
    digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        for old in folder.iterdir():
            if old.is_file():
                old.unlink()
        stamp.write_text(digest)
    out = []
    for bad in CORPUS:
        if only is not None and bad.name not in only:
            continue
        path = folder / bad.name
        if not path.exists():
            tmp = path.with_name(path.name + ".partial")
            tmp.write_bytes(bad.make())
            tmp.replace(path)
        out.append((bad, path))
    return out


if __name__ == "__main__":  # python -m tests.importers.badfiles [FOLDER]
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data/bad")
    for bad, path in build(target):
        print(f"{path}  ({path.stat().st_size:,} bytes): {bad.about}")
