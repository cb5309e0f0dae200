"""The change-board pack of one change: .xlsx (formula-safe) or a text PDF.

Sheets: *Change* (fields, risk and reasons, approvals), *Conflicts* (kind,
with which change or window, the CIs), *Impacted services*. The PDF holds
the same facts on A4 pages for a board that reads on paper; it is written
without Qt (the command line must not load a GUI toolkit).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from cmdb_desktop.change_mgmt.windows import format_time
from cmdb_desktop.errors import BadFileError, ValidationError
from importers.cells import header_cells, new_workbook, safe_row

if TYPE_CHECKING:
    from cmdb_desktop.change_mgmt.records import Assessment, ChangeService
    from cmdb_desktop.items import CiRef
    from cmdb_desktop.progress import Progress


def board_lines(a: Assessment, refs: dict[int, CiRef]) -> list[tuple[str, str]]:
    """The pack as (section, line) pairs, in reading order."""
    c = a.change
    out: list[tuple[str, str]] = [
        ("title", f"Change {c.id}: {c.title}"),
        ("field", f"Kind: {c.kind}    State: {c.state}    Version: {c.version}"),
        ("field", f"Window: {format_time(c.start)} to {format_time(c.end)} (UTC)"),
        ("field", f"Requester: {c.requester}    Assignee: {c.assignee or '-'}"),
        ("field", "CIs: " + ("; ".join(r.label() for r in c.change_set) or "none")),
    ]
    if c.description:
        out.append(("field", f"Description: {c.description}"))
    out.append(("heading", f"Risk: {a.risk.level}"))
    out += [("item", f"- {reason}") for reason in a.risk.reasons]
    out.append(("heading", f"Impacted services ({len(a.services)})"))
    out += [("item", f"- {ref.name} ({ref.class_name}): {state}") for ref, state in a.services]
    out.append(("heading", f"Conflicts ({len(a.conflicts)})"))
    for k in a.conflicts:
        other = f"change {k.with_change}" if k.with_change is not None else f"window {k.window}"
        names = "; ".join(refs[i].label() for i in k.cis if i in refs)
        out.append(("item", f"- {k.kind} with {other}: {names}"))
    out.append(("heading", f"Approvals ({len(c.approvals)})"))
    for appr in c.approvals:
        note = f": {appr['note']}" if appr.get("note") else ""
        out.append(("item", f"- {appr['decision']} by {appr['who']} at {appr['when']}{note}"))
    if c.outcome:
        out.append(("heading", "Outcome"))
        out.append(("item", c.outcome))
    return out


def write_board_pack(
    service: ChangeService, change_id: int, target: str | os.PathLike[str], progress: Progress
) -> Path:
    path = Path(target)
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".pdf"):
        raise ValidationError(
            f"{path.name}: the change-board pack is written as .xlsx or .pdf; name the file so.",
            {"output": "unknown extension"},
        )
    found = service.assess([change_id], progress)[change_id]
    refs = service.refs([i for k in found.conflicts for i in k.cis])
    if suffix == ".xlsx":
        return write_xlsx(found, refs, path)
    return write_pdf(board_lines(found, refs), path)


def write_xlsx(a: Assessment, refs: dict[int, CiRef], path: Path) -> Path:
    c = a.change
    with new_workbook(path) as wb:
        ws = wb.create_sheet("Change")
        ws.append(header_cells(ws, ["Field", "Value"]))
        for field, value in (
            ("Id", c.id),
            ("Title", c.title),
            ("Kind", c.kind),
            ("State", c.state),
            ("Start (UTC)", format_time(c.start)),
            ("End (UTC)", format_time(c.end)),
            ("Requester", c.requester),
            ("Assignee", c.assignee),
            ("Description", c.description),
            ("CIs", "; ".join(r.label() for r in c.change_set)),
            ("Risk", a.risk.level),
            *(("Reason", reason) for reason in a.risk.reasons),
            *(
                ("Approval", f"{p['decision']} by {p['who']} at {p['when']}: {p.get('note') or ''}")
                for p in c.approvals
            ),
            ("Outcome", c.outcome),
            ("Version", c.version),
        ):
            ws.append(safe_row(ws, [field, value]))
        ws = wb.create_sheet("Conflicts")
        ws.append(header_cells(ws, ["Kind", "With change", "Window", "CI", "Class"]))
        for k in a.conflicts:
            for i in k.cis:
                ref = refs.get(i)
                ws.append(
                    safe_row(
                        ws,
                        [
                            k.kind,
                            k.with_change,
                            k.window,
                            ref.name if ref else f"#{i}",
                            ref.class_name if ref else None,
                        ],
                    )
                )
        ws = wb.create_sheet("Impacted services")
        ws.append(header_cells(ws, ["Service", "Class", "State"]))
        for ref, state in a.services:
            ws.append(safe_row(ws, [ref.name, ref.class_name, state]))
    return path


# -- a plain PDF (PDF 1.4, Helvetica, WinAnsi text) -----------------------------------
_PAGE_W, _PAGE_H, _MARGIN = 595, 842, 50
_SIZES = {"title": 16, "heading": 12, "field": 10, "item": 10}
_WRAP = 95  # characters per line at 10 pt


def _pdf_text(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _wrapped(lines: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for kind, text in lines:
        text = text.replace("\n", " ").replace("\r", " ")
        while len(text) > _WRAP:
            cut = text.rfind(" ", 0, _WRAP)
            cut = cut if cut > 20 else _WRAP
            out.append((kind, text[:cut]))
            text = "    " + text[cut:].lstrip()
        out.append((kind, text))
    return out


def write_pdf(lines: list[tuple[str, str]], path: Path) -> Path:
    """A paged text PDF of ``lines``; written beside ``path`` and moved into place."""
    pages: list[list[bytes]] = [[]]
    y = _PAGE_H - _MARGIN
    for kind, text in _wrapped(lines):
        size = _SIZES.get(kind, 10)
        step = size + (8 if kind in ("title", "heading") else 4)
        if y - step < _MARGIN:
            pages.append([])
            y = _PAGE_H - _MARGIN
        y -= step
        font = "/F2" if kind in ("title", "heading") else "/F1"
        pages[-1].append(
            b"BT "
            + font.encode()
            + b" %d Tf %d %d Td (" % (size, _MARGIN, y)
            + _pdf_text(text)
            + b") Tj ET"
        )
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, filled in below
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    ]
    kids = []
    for n, page in enumerate(pages, 1):
        footer = b"BT /F1 8 Tf %d %d Td (Page %d of %d) Tj ET" % (
            _PAGE_W - _MARGIN - 60,
            _MARGIN // 2,
            n,
            len(pages),
        )
        stream = b"\n".join([*page, footer])
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> >>" % (_PAGE_W, _PAGE_H, content)
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    body = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, obj in enumerate(objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % n + obj + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(bytes(body))
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BadFileError(
            f"Cannot write {path}: {exc.strerror or exc}. Nothing was written."
        ) from None
    return path
