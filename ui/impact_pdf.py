"""The change-board PDF of an impact assessment (QPdfWriter + QPainter).

Page 1 says what was assessed (change set, CMDB, when, by whom), the counts,
and shows the impact picture (change set → impacted services with the paths
that explain them) with its legend. The next pages list every impacted
service and then the impacted CIs in report order (the first
:data:`MAX_CI_ROWS`; the .xlsx report has them all), each with state,
distance, class and the explanation path. Landscape A4, page numbers in
the footer.

Runs in the worker: QPdfWriter and QPainter are allowed off the GUI thread.
The file is written to a temporary name and moved into place when complete.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPageLayout, QPageSize, QPainter, QPdfWriter

from cmdb_desktop.analysis import ImpactReport
from cmdb_desktop.errors import BadFileError, ValidationError
from cmdb_desktop.history import current_user
from ui.dependency_picture import Picture
from ui.picture_paint import STATE_STYLE, IconRenderers, paint_picture

#: Impacted CIs listed in the PDF (a change board reads; the .xlsx has everything).
MAX_CI_ROWS = 1500
#: Device units per inch: 96, so that fonts and the picture measure as on screen.
DPI = 96
MARGIN = 40.0


def _font(size: float, bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSizeF(size)
    font.setBold(bold)
    return font


class _Pages:
    """A cursor over landscape A4 pages: ``line()`` moves down, new pages as needed."""

    def __init__(self, painter: QPainter, writer: QPdfWriter, footer: str) -> None:
        self.p = painter
        self.writer = writer
        self.footer = footer
        self.number = 1
        rect = writer.pageLayout().paintRectPixels(DPI)
        self.page = QRectF(0, 0, rect.width(), rect.height())
        self.body = self.page.adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN - 16)
        self.y = self.body.top()

    def new_page(self) -> None:
        self._footer()
        self.writer.newPage()
        self.number += 1
        self.y = self.body.top()

    def need(self, height: float) -> bool:
        """Start a new page unless ``height`` still fits; True if it started one."""
        if self.y + height > self.body.bottom():
            self.new_page()
            return True
        return False

    def text(
        self, text: str, size: float = 9.0, *, bold: bool = False, colour: str = "#1f2328"
    ) -> None:
        font = _font(size, bold)
        fm = QFontMetricsF(font)
        rect = fm.boundingRect(
            QRectF(0, 0, self.body.width(), 10_000), int(Qt.TextFlag.TextWordWrap), text
        )
        self.need(rect.height())
        self.p.setFont(font)
        self.p.setPen(QColor(colour))
        self.p.drawText(
            QRectF(self.body.left(), self.y, self.body.width(), rect.height() + 2),
            int(Qt.TextFlag.TextWordWrap),
            text,
        )
        self.y += rect.height() + 4

    def _footer(self) -> None:
        self.p.setFont(_font(7.5))
        self.p.setPen(QColor("#636c76"))
        rect = QRectF(self.body.left(), self.page.bottom() - MARGIN, self.body.width(), 14)
        self.p.drawText(rect, Qt.AlignmentFlag.AlignLeft, self.footer)
        self.p.drawText(rect, Qt.AlignmentFlag.AlignRight, f"Page {self.number}")

    def finish(self) -> None:
        self._footer()


def _table(
    pages: _Pages,
    title: str,
    header: Sequence[str],
    widths: Sequence[float],
    rows: Sequence[Sequence[str]],
    states: Sequence[str | None],
    check: Callable[[], None],
) -> None:
    """A table with a repeated header on every page; ``widths`` are fractions."""
    font = _font(8.0)
    bold = _font(8.0, True)
    fm = QFontMetricsF(font)
    row_h = fm.height() + 5
    xs = [pages.body.left()]
    for w in widths:
        xs.append(xs[-1] + w * pages.body.width())

    def draw_header() -> None:
        pages.p.fillRect(
            QRectF(pages.body.left(), pages.y, pages.body.width(), row_h), QColor("#305496")
        )
        pages.p.setFont(bold)
        pages.p.setPen(QColor("#ffffff"))
        for i, h in enumerate(header):
            pages.p.drawText(
                QRectF(xs[i] + 4, pages.y, xs[i + 1] - xs[i] - 8, row_h),
                int(Qt.AlignmentFlag.AlignVCenter),
                h,
            )
        pages.y += row_h

    pages.need(row_h * 3 + 24)
    pages.text(title, 12, bold=True)
    draw_header()
    for n, (row, state) in enumerate(zip(rows, states, strict=True)):
        if n % 200 == 0:
            check()
        if pages.need(row_h):
            draw_header()
        if n % 2:
            pages.p.fillRect(
                QRectF(pages.body.left(), pages.y, pages.body.width(), row_h), QColor("#f5f7fa")
            )
        pages.p.setFont(font)
        for i, cell in enumerate(row):
            colour = "#1f2328"
            if i == 0 and state in STATE_STYLE:
                colour = STATE_STYLE[state][0]
                pages.p.setFont(bold)
            pages.p.setPen(QColor(colour))
            width = xs[i + 1] - xs[i] - 8
            pages.p.drawText(
                QRectF(xs[i] + 4, pages.y, width, row_h),
                int(Qt.AlignmentFlag.AlignVCenter),
                fm.elidedText(cell, Qt.TextElideMode.ElideMiddle, width),
            )
            pages.p.setFont(font)
        pages.y += row_h
    pages.y += 12


def write_impact_pdf(
    path: str | os.PathLike[str],
    report: ImpactReport,
    picture: Picture | None,
    colours: Mapping[str, str],
    *,
    cmdb: str = "",
    title: str = "",
    check: Callable[[], None] | None = None,
) -> Path:
    """Write the change-board PDF (see the module docstring); returns the path."""
    check = check or (lambda: None)
    target = Path(path).expanduser()
    if target.suffix.lower() != ".pdf":
        raise ValidationError(f"Name the PDF …{target.stem}.pdf instead of {target.name}.")
    if not target.parent.is_dir():
        raise BadFileError(f"Cannot write {target}: the folder {target.parent} does not exist.")
    partial = target.with_name(f".{target.name}.partial")
    writer = QPdfWriter(str(partial))
    writer.setResolution(DPI)
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Landscape,
            QMarginsF(0, 0, 0, 0),
        )
    )
    writer.setTitle(title or "Impact assessment")
    writer.setCreator("CMDB Desktop")
    painter = QPainter()
    if not painter.begin(writer):
        raise BadFileError(f"Cannot write {target}: check the folder is writable.")
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    pages = _Pages(painter, writer, f"Impact assessment · {cmdb} · {when}")
    try:
        changed = ", ".join(f"{c.name} ({c.class_name})" for c in report.changed)
        counts = report.counts
        services = report.services
        pages.text(title or "Impact assessment", 18, bold=True)
        pages.text(f"CMDB {cmdb} · {when} · prepared by {current_user()}", 8.5, colour="#636c76")
        pages.y += 4
        pages.text(f"Change set: {changed}", 10, bold=True)
        depth = f" within {report.depth} steps" if report.depth is not None else ""
        pages.text(
            f"{len(report.columns):,} CIs impacted{depth}: {counts['down']:,} down, "
            f"{counts['degraded']:,} degraded; {len(services):,} impacted services.",
            10,
        )
        if report.inactive:
            names = ", ".join(c.name for c in report.inactive)
            pages.text(
                f"Note: {names} is retired or disposed and takes no part in impact.",
                9,
                colour="#c62828",
            )
        if picture is not None and picture.nodes:
            drawn = sum(1 for n in picture.nodes if n.service and n.state in ("down", "degraded"))
            explained = (
                f"the {drawn:,} most critical impacted services (of {len(services):,}; the "
                "tables below list them all)"
                if drawn < len(services)
                else "every impacted service"
                if services
                else "the nearest impacted CIs"
            )
            legend = (
                "Boxes are CIs: violet = change set, red = down, amber = degraded. A line runs "
                "from a CI down to what it depends on; impact flows up. The picture shows the "
                f"paths that explain {explained}."
            )
            top = pages.y + 6
            area = QRectF(
                pages.body.left(), top, pages.body.width(), pages.body.bottom() - top - 30
            )
            painter.setPen(QColor("#d0d7de"))
            painter.drawRoundedRect(area, 6, 6)
            paint_picture(painter, picture, colours, IconRenderers(), area.adjusted(6, 6, -6, -6))
            pages.y = area.bottom() + 6
            pages.text(legend, 7.5, colour="#636c76")
        check()
        pages.new_page()
        path_text = " → ".join
        if services:
            _table(
                pages,
                f"Impacted services ({len(services):,})",
                ("State", "Criticality", "Service", "Class", "Distance", "Why (impact path)"),
                (0.08, 0.07, 0.2, 0.12, 0.06, 0.47),
                [
                    (
                        s.state,
                        str(s.criticality) if s.criticality is not None else "",
                        s.ci.name,
                        s.ci.class_name,
                        str(s.distance),
                        path_text(s.path),
                    )
                    for s in services
                ],
                [s.state for s in services],
                check,
            )
        cols = report.columns
        shown = min(len(cols), MAX_CI_ROWS)
        more = (
            f" — the first {shown:,}; the .xlsx report lists all {len(cols):,}"
            if shown < len(cols)
            else ""
        )
        _table(
            pages,
            f"Impacted CIs ({len(cols):,}){more}",
            ("State", "Distance", "Name", "Class", "Why (impact path)"),
            (0.08, 0.06, 0.2, 0.13, 0.53),
            [
                (
                    cols.states[k],
                    str(cols.distances[k]),
                    cols.names[k],
                    cols.classes[k],
                    path_text(cols.paths[k]),
                )
                for k in range(shown)
            ],
            cols.states[:shown],
            check,
        )
        pages.finish()
    except BaseException:
        painter.end()
        partial.unlink(missing_ok=True)
        raise
    painter.end()
    try:
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BadFileError(
            f"Cannot write {target}: {exc.strerror or exc}. Close it if a PDF viewer has it "
            "open, or choose another file."
        ) from None
    return target
