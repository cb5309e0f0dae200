"""A label whose text changes repaint it and nothing else.

``QLabel.setText`` always calls ``updateGeometry()``, which invalidates every
layout up to the main window; ``QMainWindow`` answers a relayout by
repainting the whole window, table included. For labels that change while
the user types or a job runs (match counts, progress phases) that is a full
repaint per keystroke. :class:`StableLabel` has a fixed width chosen from a
template text, keeps its text to itself and only calls ``update()``; the
stylesheet still styles it as a ``QLabel`` (``role`` property and all).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QLabel, QWidget


class StableLabel(QLabel):
    def __init__(
        self,
        template: str,
        parent: QWidget | None = None,
        *,
        alignment: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
        padding: int = 12,
    ) -> None:
        super().__init__(parent)
        self._text = ""
        self._padding = padding
        self.setAlignment(alignment)
        self.set_template(template)

    def set_template(self, template: str) -> None:
        """Size the label for the longest text it is expected to show."""
        metrics = self.fontMetrics()
        self.setFixedWidth(metrics.horizontalAdvance(template) + self._padding)
        self.setMinimumHeight(metrics.height() + 4)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 - Qt name
        if text != self._text:
            self._text = text
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt name
        super().paintEvent(event)  # background, frame and padding from the stylesheet
        if not self._text:
            return
        painter = QPainter(self)
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(self._text, Qt.TextElideMode.ElideRight, rect.width())
        self.style().drawItemText(
            painter,
            rect,
            int(self.alignment().value),
            self.palette(),
            self.isEnabled(),
            shown,
            QPalette.ColorRole.WindowText,
        )
        painter.end()
