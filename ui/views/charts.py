"""Small painted charts for the health dashboard (QPainter; no chart library).

* :class:`ScoreGauge`: a 0–100 score as a ring, coloured red → amber → green;
* :class:`BarChart`: labelled horizontal bars, one per item, clickable
  (``chosen(key)``), with a tooltip per bar;
* :class:`FindingCard`: a count with a title, clickable, red/amber/green.

They take their colours from a palette dict (``ui.theme.LIGHT`` / ``DARK``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from ui.theme import LIGHT

GOOD, FAIR, POOR = "#2ea043", "#d4870f", "#d1242f"


def score_colour(score: float) -> str:
    return GOOD if score >= 90 else FAIR if score >= 70 else POOR


class ScoreGauge(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scoreGauge")
        self.score: float | None = None
        self.caption = "overall health"
        self.colours: Mapping[str, str] = LIGHT
        self.setFixedSize(160, 160)

    def set_score(self, score: float | None, caption: str = "overall health") -> None:
        self.score, self.caption = score, caption
        self.setToolTip(
            "Average over the classes, weighted by their number of CIs, of the share of CIs "
            "free of each problem and of the completeness of required and recommended fields."
        )
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(12, 12, self.width() - 24, self.height() - 24)
        p.setPen(
            QPen(QColor(self.colours["grid"]), 14, Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap)
        )
        p.drawArc(rect, 0, 360 * 16)
        if self.score is not None:
            p.setPen(
                QPen(
                    QColor(score_colour(self.score)),
                    14,
                    Qt.PenStyle.SolidLine,
                    Qt.PenCapStyle.RoundCap,
                )
            )
            p.drawArc(rect, 90 * 16, -int(360 * 16 * max(0.0, min(self.score, 100.0)) / 100))
        p.setPen(QColor(self.colours["text"]))
        font = QFont(self.font())
        font.setPointSizeF(26)
        font.setBold(True)
        p.setFont(font)
        text = "…" if self.score is None else f"{self.score:.0f}"
        p.drawText(rect.adjusted(0, -12, 0, -12), Qt.AlignmentFlag.AlignCenter, text)
        small = QFont(self.font())
        small.setPointSizeF(8.5)
        p.setFont(small)
        p.setPen(QColor(self.colours["muted"]))
        p.drawText(rect.adjusted(0, 40, 0, 0), Qt.AlignmentFlag.AlignCenter, self.caption)
        p.end()


@dataclass(frozen=True)
class Bar:
    key: Any
    label: str
    value: float
    text: str
    colour: str
    tooltip: str = ""


class BarChart(QWidget):
    """Horizontal bars; ``chosen(key)`` when one is clicked."""

    chosen = Signal(object)

    def __init__(self, parent: QWidget | None = None, *, maximum: float | None = None) -> None:
        super().__init__(parent)
        self.bars: list[Bar] = []
        self.maximum = maximum
        self.row_height = 24
        self.label_width = 170.0
        self.colours: Mapping[str, str] = LIGHT
        self.selected: Any = None
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)

    def set_bars(self, bars: Sequence[Bar]) -> None:
        self.bars = list(bars)
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(360, 8 + self.row_height * max(1, len(self.bars)))

    def minimumSizeHint(self) -> QSize:
        return QSize(240, self.sizeHint().height())

    def _at(self, y: float) -> Bar | None:
        row = int((y - 4) // self.row_height)
        return self.bars[row] if 0 <= row < len(self.bars) else None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        bar = self._at(event.position().y())
        if bar is not None:
            self.selected = bar.key
            self.update()
            self.chosen.emit(bar.key)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        bar = self._at(event.position().y())
        self.setCursor(Qt.CursorShape.PointingHandCursor if bar else Qt.CursorShape.ArrowCursor)
        if bar is not None and bar.tooltip:
            QToolTip.showText(event.globalPosition().toPoint(), bar.tooltip, self)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        c = self.colours
        top_value = self.maximum or max((b.value for b in self.bars), default=1.0) or 1.0
        fm = QFontMetricsF(self.font())
        # The values are read whole: their column is as wide as the widest one.
        value_w = max((fm.horizontalAdvance(b.text) for b in self.bars), default=40.0) + 4
        bar_x = self.label_width + 8
        bar_w = max(30.0, self.width() - bar_x - value_w - 8)
        for n, bar in enumerate(self.bars):
            top = 4 + n * self.row_height
            if bar.key == self.selected:
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QColor(c["chip"]))
                p.drawRoundedRect(QRectF(0, top, self.width(), self.row_height - 2), 4, 4)
            p.setPen(QColor(c["text"]))
            p.drawText(
                QRectF(6, top, self.label_width - 6, self.row_height - 2),
                int(Qt.AlignmentFlag.AlignVCenter),
                fm.elidedText(bar.label, Qt.TextElideMode.ElideRight, self.label_width - 8),
            )
            track = QRectF(bar_x, top + 6, bar_w, self.row_height - 14)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(c["grid"]))
            p.drawRoundedRect(track, 3, 3)
            width = bar_w * max(0.0, min(bar.value / top_value, 1.0))
            p.setBrush(QColor(bar.colour))
            p.drawRoundedRect(QRectF(bar_x, track.top(), max(width, 2.0), track.height()), 3, 3)
            p.setPen(QColor(c["muted"]))
            p.drawText(
                QRectF(bar_x + bar_w + 8, top, value_w, self.row_height - 2),
                int(Qt.AlignmentFlag.AlignVCenter),
                bar.text,
            )
        p.end()


#: A finding card's height: the count, a title on up to two lines, a detail line.
CARD_HEIGHT = 94


class FindingCard(QWidget):
    """A finding's count and title; ``clicked(key)``."""

    clicked = Signal(str)

    def __init__(self, key: str, title: str, hint: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"card_{key}")
        self.key = key
        self.title = title
        self.hint = hint
        self.count: int | None = None
        self.detail = ""
        self.selected = False
        self.colours: Mapping[str, str] = LIGHT
        self.setToolTip(f"{title}: {hint}")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setMinimumSize(110, CARD_HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_count(self, count: int | None, detail: str = "") -> None:
        self.count, self.detail = count, detail
        self.setToolTip(f"{self.title}: {self.hint}" + (f"\n{detail}" if detail else ""))
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(170, CARD_HEIGHT)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.clicked.emit(self.key)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        c = self.colours
        rect = QRectF(1, 1, self.width() - 2, self.height() - 2)
        p.setPen(
            QPen(QColor(c["accent"] if self.selected else c["border"]), 2 if self.selected else 1)
        )
        p.setBrush(QColor(c["base"]))
        p.drawRoundedRect(rect, 8, 8)
        colour = GOOD if self.count == 0 else (FAIR if (self.count or 0) < 50 else POOR)
        if self.count is None:
            colour = c["muted"]
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(colour))
        p.drawRoundedRect(QRectF(1, 1, 5, self.height() - 2), 2, 2)
        big = QFont(self.font())
        big.setPointSizeF(17)
        big.setBold(True)
        p.setFont(big)
        p.setPen(QColor(colour))
        p.drawText(
            QRectF(16, 6, rect.width() - 20, 30),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            "…" if self.count is None else f"{self.count:,}",
        )
        p.setFont(self.font())
        p.setPen(QColor(c["text"]))
        # the title wraps onto a second line rather than being cut (issue 15)
        p.drawText(
            QRectF(16, 38, rect.width() - 22, 36),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap),
            self.title,
        )
        small = QFont(self.font())
        small.setPointSizeF(7.5)
        p.setFont(small)
        p.setPen(QColor(c["muted"]))
        sfm = QFontMetricsF(small)
        p.drawText(
            QPointF(16, CARD_HEIGHT - 8),
            sfm.elidedText(self.detail, Qt.TextElideMode.ElideRight, rect.width() - 22),
        )
        p.end()
