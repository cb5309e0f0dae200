"""The change calendar: a week or month timeline of the changes.

One row per change that meets the shown period, a bar from its start to its
end coloured by state; changes with conflicts have a red outline and a mark.
Blackout windows are shaded red and maintenance windows green across every
row. Dragging a bar sideways reschedules the change (snapped to 15 minutes
in a week, an hour in a month): the view emits :attr:`rescheduleRequested`
and the workspace writes it (and makes it undoable). Times are shown in
local time; the data is UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

WEEK = "week"
MONTH = "month"
ROW = 22
HEADER = 24
LABEL = 180
STATE_COLOURS = {
    "Draft": "#8c959f",
    "Submitted": "#4f7fd6",
    "Approved": "#2f9e6e",
    "Scheduled": "#1f6feb",
    "In Progress": "#bf8700",
    "Completed": "#57606a",
    "Failed": "#cf222e",
    "Backed Out": "#bc4c00",
    "Cancelled": "#d0d7de",
}


@dataclass(frozen=True)
class Bar:
    id: int
    label: str
    state: str
    start: datetime
    end: datetime
    conflicts: int


@dataclass(frozen=True)
class Shade:
    name: str
    kind: str
    start: datetime
    end: datetime


def local(value: datetime) -> datetime:
    """Naive UTC → naive local time (what the timeline draws)."""
    return value.replace(tzinfo=UTC).astimezone().replace(tzinfo=None)


class ChangeCalendar(QWidget):
    rescheduleRequested = Signal(int, object, object)  # change id, new start, new end (UTC)
    changeClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("changeCalendar")
        self.setMinimumHeight(140)
        self.setMouseTracking(True)
        self.mode = WEEK
        today = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
        self.origin = today - timedelta(days=today.weekday())
        self.bars: list[Bar] = []
        self.shades: list[Shade] = []
        self.selected: int | None = None
        self._drag: tuple[Bar, float] | None = None
        self._offset = timedelta(0)

    # -- period --------------------------------------------------------------------
    @property
    def span(self) -> timedelta:
        return timedelta(days=7 if self.mode == WEEK else 35)

    @property
    def snap(self) -> timedelta:
        return timedelta(minutes=15 if self.mode == WEEK else 60)

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.update()

    def shift(self, steps: int) -> None:
        self.origin += self.span * steps if self.mode == MONTH else timedelta(days=7 * steps)
        self.update()

    def shows(self, utc: datetime) -> bool:
        """Whether ``utc`` lies in the period on screen."""
        return self.origin <= local(utc) < self.origin + self.span

    def show_time(self, utc: datetime) -> None:
        """Move the period so that ``utc`` is in it."""
        day = local(utc).replace(hour=0, minute=0, second=0, microsecond=0)
        self.origin = day - timedelta(days=day.weekday())
        self.update()

    def set_data(self, bars: list[Bar], shades: list[Shade]) -> None:
        self.bars = bars
        self.shades = shades
        self.update()

    def visible_bars(self) -> list[Bar]:
        end = self.origin + self.span
        return [b for b in self.bars if local(b.start) < end and self.origin < local(b.end)]

    # -- geometry -----------------------------------------------------------------
    def _x(self, when: datetime) -> float:
        width = max(1.0, self.width() - LABEL - 4.0)
        seconds = (when - self.origin).total_seconds()
        return LABEL + width * seconds / self.span.total_seconds()

    def _time_at(self, dx: float) -> timedelta:
        width = max(1.0, self.width() - LABEL - 4.0)
        return timedelta(seconds=dx / width * self.span.total_seconds())

    def bar_rect(self, row: int, bar: Bar) -> QRectF:
        x0 = max(float(LABEL), self._x(local(bar.start)))
        x1 = min(float(self.width() - 2), self._x(local(bar.end)))
        return QRectF(x0, HEADER + row * ROW + 3, max(3.0, x1 - x0), ROW - 6)

    def _bar_at(self, pos: QPointF) -> Bar | None:
        for row, bar in enumerate(self.visible_bars()):
            if self.bar_rect(row, bar).contains(pos):
                return bar
        return None

    # -- painting -------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        p.fillRect(self.rect(), pal.base())
        text = pal.text().color()
        grid = QColor(text)
        grid.setAlpha(40)
        end = self.origin + self.span
        for shade in self.shades:
            s, e = local(shade.start), local(shade.end)
            if s >= end or e <= self.origin:
                continue
            colour = QColor("#cf222e" if shade.kind == "blackout" else "#2da44e")
            colour.setAlpha(45)
            x0, x1 = max(float(LABEL), self._x(s)), min(float(self.width()), self._x(e))
            p.fillRect(QRectF(x0, HEADER, x1 - x0, self.height() - HEADER), colour)
        day = self.origin
        p.setPen(QPen(grid))
        while day < end:
            x = self._x(day)
            p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
            p.setPen(text)
            room = self._x(day + timedelta(days=1)) - x - 4
            label = day.strftime("%a %d" if self.mode == WEEK else "%d")
            if p.fontMetrics().horizontalAdvance(label) > room:
                label = day.strftime("%d")  # a narrow week: the day of the month only
            if self.mode == WEEK or day.weekday() == 0:
                p.drawText(QRectF(x + 3, 2, 80, HEADER - 4), Qt.AlignmentFlag.AlignLeft, label)
            p.setPen(QPen(grid))
            day += timedelta(days=1)
        p.setPen(text)
        p.drawText(
            QRectF(4, 2, LABEL - 8, HEADER - 4),
            Qt.AlignmentFlag.AlignLeft,
            f"{self.origin:%d %b %Y} – {end - timedelta(days=1):%d %b}",
        )
        for row, bar in enumerate(self.visible_bars()):
            shown = bar
            if self._drag is not None and self._drag[0].id == bar.id:
                shown = Bar(bar.id, bar.label, bar.state, bar.start + self._offset,
                            bar.end + self._offset, bar.conflicts)  # fmt: skip
            rect = self.bar_rect(row, shown)
            y = HEADER + row * ROW
            p.setPen(text)
            mark = "⚠ " if bar.conflicts else ""
            p.drawText(
                QRectF(4, y, LABEL - 8, ROW),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                f"{mark}#{bar.id} {bar.label}",
            )
            p.setBrush(QColor(STATE_COLOURS.get(bar.state, "#8c959f")))
            outline = QColor("#cf222e") if bar.conflicts else QColor(0, 0, 0, 0)
            pen = QPen(outline, 2.5 if bar.conflicts else 0)
            if bar.id == self.selected:
                pen = QPen(text, 2)
            p.setPen(pen)
            p.drawRoundedRect(rect, 3, 3)
        p.end()

    # -- dragging -------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        bar = self._bar_at(event.position())
        if bar is not None and event.button() == Qt.MouseButton.LeftButton:
            self._drag = (bar, event.position().x())
            self._offset = timedelta(0)
            self.selected = bar.id
            self.changeClicked.emit(bar.id)
            self.update()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None:
            raw = self._time_at(event.position().x() - self._drag[1])
            steps = round(raw / self.snap)
            self._offset = self.snap * steps
            self.update()
        else:
            over = self._bar_at(event.position())
            self.setCursor(
                Qt.CursorShape.SizeHorCursor if over is not None else Qt.CursorShape.ArrowCursor
            )
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None:
            bar, _ = self._drag
            offset = self._offset
            self._drag = None
            self._offset = timedelta(0)
            self.update()
            if offset:
                self.rescheduleRequested.emit(bar.id, bar.start + offset, bar.end + offset)
        super().mouseReleaseEvent(event)
