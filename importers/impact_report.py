"""The impact report a change assessor hands to a change board (.xlsx, openpyxl).

Two sheets:

* **Summary** — what was assessed (the change set, the CMDB, when, by whom),
  the counts (impacted, down, degraded, services), every impacted service
  with its criticality, state and explanation path, and what the states mean.
* **Impacted CIs** — one row per impacted CI in report order (services
  first): state, distance, class, name, criticality and the path from the
  change set that explains why it is hit. Frozen header, filters on every
  column, widths that fit.

The workbook is written in openpyxl's write-only mode (a 50,000-row blast
radius takes seconds, not minutes) to a temporary file that replaces the
target only when complete. Every text cell goes through
:mod:`importers.cells`, so a CI named ``=HYPERLINK(…)`` stays text.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from cmdb_desktop.db import display_url
from cmdb_desktop.errors import BadFileError, ValidationError
from cmdb_desktop.progress import Progress
from importers.cells import header_cells, new_workbook, safe_cell, styled_cell

if TYPE_CHECKING:
    from cmdb_desktop.analysis import ImpactedCi, ImpactReport

SUMMARY_SHEET = "Summary"
IMPACTED_SHEET = "Impacted CIs"
IMPACTED_HEADER = ("State", "Distance", "Class", "Name", "ID", "Service", "Criticality", "Path")
SERVICE_HEADER = ("Criticality", "State", "Class", "Service", "ID", "Distance", "Path")

STATE_MEANING = {
    "down": "It stops working: a dependency it cannot do without is down, or too few "
    "members of its redundancy group are left up.",
    "degraded": "It keeps working at reduced resilience or performance: something it "
    "depends on is down or degraded, but redundancy absorbs it (or what it depends "
    "on is itself only degraded).",
}

_TITLE = Font(bold=True, size=14)
_BOLD = Font(bold=True)
_STATE_FILL = {
    "down": PatternFill("solid", fgColor="F4B6B6"),
    "degraded": PatternFill("solid", fgColor="FCE4B6"),
}
_WRAP = Alignment(wrap_text=True, vertical="top")
#: Widest a column grows (characters); longer paths wrap in the cell.
_MAX_WIDTH = 90
_PROGRESS_EVERY = 2000


def _header(ws: Worksheet, names: Sequence[str]) -> list[WriteOnlyCell]:
    return header_cells(ws, tuple(names))


def _path_text(path: Sequence[str]) -> str:
    return " → ".join(path)


def _width(values: Sequence[Any], minimum: int = 6) -> float:
    longest = max((len(str(v)) for v in values if v is not None), default=minimum)
    return float(min(max(longest, minimum) + 2, _MAX_WIDTH))


def write_impact_report(
    report: ImpactReport,
    path: str | os.PathLike[str],
    *,
    cmdb: str | None = None,
    user: str | None = None,
    progress: Progress | None = None,
) -> Path:
    """Write ``report`` to ``path`` (.xlsx) and return the path written.

    Raises ValidationError for another extension and BadFileError when the
    file cannot be written (missing folder, no permission, file open and
    locked by a spreadsheet program); the target is never left half-written.
    """
    target = Path(path).expanduser()
    if target.suffix.lower() != ".xlsx":
        raise ValidationError(
            f"The impact report is an .xlsx workbook; name it …{target.stem}.xlsx "
            f"instead of {target.name}.",
            {"output": "must end in .xlsx"},
        )
    if not target.parent.is_dir():
        raise BadFileError(f"Cannot write {target}: the folder {target.parent} does not exist.")
    progress = progress or Progress()
    progress.start("Writing the impact report", len(report.impacted))
    with new_workbook(target) as wb:
        _summary(wb.create_sheet(SUMMARY_SHEET), report, cmdb, user)
        _impacted(wb.create_sheet(IMPACTED_SHEET), report.impacted, progress)
    return target


def _summary(ws: Worksheet, report: ImpactReport, cmdb: str | None, user: str | None) -> None:
    services = report.services
    counts = report.counts
    rows: list[list[Any]] = []
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 14
    ws.column_dimensions["C"].width = 22
    ws.column_dimensions["D"].width = 40
    ws.column_dimensions["E"].width = 9
    ws.column_dimensions["F"].width = 10
    ws.column_dimensions["G"].width = 70
    ws.append([styled_cell(ws, "Impact assessment", font=_TITLE)])
    rows.append(["CMDB", display_url(cmdb) if cmdb else ""])  # never a password
    rows.append(["Prepared", datetime.now().strftime("%Y-%m-%d %H:%M")])
    rows.append(["By", user or _user()])
    if report.depth is not None:
        rows.append(["Depth", f"CIs at most {report.depth} step(s) from the change set"])
    for label, value in rows:
        ws.append([styled_cell(ws, label, font=_BOLD), safe_cell(ws, value)])
    ws.append([])
    ws.append([styled_cell(ws, "Change set", font=_BOLD)])
    ws.append(_header(ws, ("ID", "Class", "Name", "Note")))
    inactive = {ref.id for ref in report.inactive}
    for ref in report.changed:
        note = "Retired/Disposed: takes no part in impact" if ref.id in inactive else ""
        ws.append([ref.id, safe_cell(ws, ref.class_name), safe_cell(ws, ref.name), note])
    ws.append([])
    ws.append([styled_cell(ws, "Counts", font=_BOLD)])
    for label, value in (
        ("Impacted CIs", len(report.impacted)),
        ("Down", counts["down"]),
        ("Degraded", counts["degraded"]),
        ("Impacted services", len(services)),
    ):
        ws.append([safe_cell(ws, label), value])
    ws.append([])
    ws.append([styled_cell(ws, f"Impacted services ({len(services)})", font=_BOLD)])
    if services:
        ws.append(_header(ws, SERVICE_HEADER))
        for item in services:
            ws.append(
                [
                    item.criticality,
                    _state_cell(ws, item.state),
                    safe_cell(ws, item.ci.class_name),
                    safe_cell(ws, item.ci.name),
                    item.ci.id,
                    item.distance,
                    safe_cell(ws, _path_text(item.path)),
                ]
            )
    else:
        ws.append([safe_cell(ws, "No service is impacted.")])
    ws.append([])
    ws.append([styled_cell(ws, "What the states mean", font=_BOLD)])
    for state, meaning in STATE_MEANING.items():
        ws.append([_state_cell(ws, state), styled_cell(ws, meaning, alignment=_WRAP)])
    ws.append(
        [
            safe_cell(ws, "Distance"),
            safe_cell(
                ws,
                "The length of the path, in impact steps. The path is the shortest "
                "chain from a changed CI to the impacted one that explains its state: "
                "for a down CI, through down CIs only (see docs/impact.md).",
            ),
        ]
    )


def _state_cell(ws: Worksheet, state: str) -> WriteOnlyCell:
    fill = _STATE_FILL.get(state)
    return styled_cell(ws, state, fill=fill) if fill is not None else safe_cell(ws, state)


def _impacted(ws: Worksheet, impacted: Sequence[ImpactedCi], progress: Progress) -> None:
    sample = impacted[:2000]
    widths = [
        8.0,
        9.0,
        _width([i.ci.class_name for i in sample], 8),
        _width([i.ci.name for i in sample], 10),
        _width([i.ci.id for i in sample], 4),
        8.0,
        11.0,
        _width([_path_text(i.path) for i in sample], 10),
    ]
    for n, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(n)].width = width
    ws.freeze_panes = "A2"
    last = get_column_letter(len(IMPACTED_HEADER))
    ws.auto_filter.ref = f"A1:{last}{max(len(impacted) + 1, 2)}"
    ws.append(_header(ws, IMPACTED_HEADER))
    for n, item in enumerate(impacted, start=1):
        ws.append(
            [
                _state_cell(ws, item.state),
                item.distance,
                safe_cell(ws, item.ci.class_name),
                safe_cell(ws, item.ci.name),
                item.ci.id,
                "yes" if item.service else "",
                item.criticality,
                safe_cell(ws, _path_text(item.path)),
            ]
        )
        if n % _PROGRESS_EVERY == 0:
            progress.step(n, len(impacted))
    progress.step(len(impacted), len(impacted))


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return ""
