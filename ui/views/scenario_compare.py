"""What two impact scenarios impact differently, side by side.

One row per CI whose state differs (``ok`` = not impacted): impacted only in
the first, only in the second, or in another state (``down → degraded``).
CIs impacted alike in both are counted, not listed. Double-click a row to
open the CI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui.jobs_analysis import Comparison
from ui.models.rows import RowsModel
from ui.picture_paint import STATE_STYLE
from ui.views.toolstrip import html, opens_cis, sortable

if TYPE_CHECKING:
    from ui.context import Navigation


class ComparisonDialog(QDialog):
    def __init__(self, parent: QWidget, comparison: Comparison, navigation: Navigation) -> None:
        super().__init__(parent)
        self.setObjectName("scenarioComparison")
        a, b = comparison.first, comparison.second
        self.setWindowTitle(f"{a.name} vs {b.name}")
        layout = QVBoxLayout(self)
        (ca, cb) = comparison.counts
        summary = QLabel(
            f"<b>{html(a.name)}</b>: {ca['down']:,} down, {ca['degraded']:,} degraded"
            " &nbsp;·&nbsp; "
            f"<b>{html(b.name)}</b>: {cb['down']:,} down, {cb['degraded']:,} degraded<br>"
            f"{len(comparison.rows):,} CIs differ; {comparison.same:,} are impacted alike.",
            self,
        )
        layout.addWidget(summary)
        self.model = RowsModel(("CI", "Class", a.name, b.name, "Difference"), self)
        self.model.set_rows(
            [(r.ci.name, r.ci.class_name, r.first, r.second, r.change) for r in comparison.rows],
            [r.ci.id for r in comparison.rows],
        )
        rows = comparison.rows

        def colour(row: int, col: int) -> str | None:
            if col in (2, 3):
                state = rows[row].first if col == 2 else rows[row].second
                return STATE_STYLE[state][0] if state in STATE_STYLE else None
            return None

        self.model.foreground = colour
        self.view = QTableView(self)
        self.view.setModel(self.model)
        sortable(self.view)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        opens_cis(self.view, self.model.ci_id, navigation)
        layout.addWidget(self.view, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
        self.resize(820, 520)
