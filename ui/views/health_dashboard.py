"""The *Health* workspace: how complete, connected and trustworthy the CMDB is.

The worker runs :func:`cmdb_desktop.health.report` (every check in SQL, one
scan each). Shown: the overall score, one card per finding (orphans, missing
required fields, stale, duplicate candidates, impact cycles, related to
retired, warranty ending), the score of every class and its completeness, and
the CIs per status. Click a card to list *every* CI it found (not a sample),
with why for duplicates and cycles; double-click one to open it, or *Show in
table* to browse them (the table takes the first
:data:`~ui.jobs.PROBLEM_LIMIT`). Click a class bar to see only that class's
CIs of the chosen finding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from cmdb_desktop import health
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.health import Finding, HealthReport
from cmdb_desktop.items import CiRef
from ui import jobs_analysis
from ui.models.rows import RowsModel
from ui.theme import STATUS_COLOURS
from ui.views.charts import Bar, BarChart, FindingCard, ScoreGauge, score_colour
from ui.views.toolstrip import ToolStrip, html, make_action, opens_cis, rows_table, tool_button

if TYPE_CHECKING:
    from ui.context import AppContext

#: (key, title, what it means) of every finding the dashboard shows: the core's registry.
CARDS = tuple((c.key, c.title, c.describe()) for c in health.CHECKS)


def _title(key: str) -> str:
    """A check's title as its card shows it."""
    return health.CHECKS_BY_KEY[health.CheckKey(key)].title


def _why(key: str, finding: Finding) -> dict[int, str]:
    """CI id → why it is listed (for findings that group CIs)."""
    out: dict[int, str] = {}
    if key == "duplicates":
        for group in finding.details:
            text = f"{group['reason']}: {group['value']}"
            for ref in group["cis"]:
                out.setdefault(ref["id"], text)
    elif key == "cycles":
        for n, group in enumerate(finding.details, start=1):
            names = " → ".join(r["name"] for r in group["example"])
            for ref in group["members"]:
                out.setdefault(ref["id"], f"cycle {n}: {names}")
    return out


class HealthDashboard(QWidget):
    """Follows the context's CMDB. The report scans the whole CMDB, so a change does
    not run it at once: the dashboard checks again when it is next shown, and
    while shown it says that the report is out of date (*Check again*)."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("healthDashboard")
        self.context = context
        self.cmdb: Cmdb | None = None
        self.report: HealthReport | None = None
        self.finding_key: str | None = None
        self.finding: Finding | None = None
        self.class_filter: str | None = None
        self._loaded_for: Cmdb | None = None
        self.strip = ToolStrip(self)
        self.refresh_action = make_action(self, "Check again", "refresh", "Run every check again")
        self.refresh_action.triggered.connect(self.refresh)
        self.strip.layout_.addWidget(tool_button(self, self.refresh_action, text=True))
        self.checked = QLabel(self)
        self.checked.setProperty("role", "muted")
        self.strip.layout_.addWidget(self.checked, 1)

        self.gauge = ScoreGauge(self)
        self.cards: dict[health.CheckKey, FindingCard] = {}
        cards = QGridLayout()
        cards.setSpacing(8)
        for n, (key, title, hint) in enumerate(CARDS):
            card = FindingCard(key, title, hint, self)
            card.clicked.connect(self.show_finding)
            self.cards[key] = card
            cards.addWidget(card, n // 4, n % 4)
        top = QHBoxLayout()
        top.setContentsMargins(12, 10, 12, 6)
        top.addWidget(self.gauge)
        top.addSpacing(12)
        top.addLayout(cards, 1)

        self.class_chart = BarChart(self, maximum=100.0)
        self.class_chart.setObjectName("classScores")
        self.class_chart.chosen.connect(self._class_chosen)
        self.status_chart = BarChart(self)
        self.status_chart.setObjectName("statusChart")
        self.completeness = RowsModel(("Class", "CIs", "Required", "Recommended", "Score"), self)
        self.completeness_view = rows_table(self, self.completeness, "completeness")
        charts = QWidget(self)
        cl = QVBoxLayout(charts)
        cl.setContentsMargins(12, 4, 6, 8)
        self.scores_title = self._title("Score per class (click one to narrow the list)", charts)
        cl.addWidget(self.scores_title)
        cl.addWidget(self.class_chart)
        self.status_title = self._title("CIs per status", charts)
        cl.addWidget(self.status_title)
        cl.addWidget(self.status_chart)
        self.completeness_title = self._title(
            "Completeness of required and recommended fields", charts
        )
        cl.addWidget(self.completeness_title)
        cl.addWidget(self.completeness_view)
        cl.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(charts)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)

        self.list_model = RowsModel(("Name", "Class", "Why"), self)
        self.list_view = rows_table(self, self.list_model, "findingList")
        opens_cis(self.list_view, self.list_model.ci_id, context.navigation)
        self.list_title = QLabel("Click a card to list its CIs.", self)
        self.list_title.setWordWrap(True)
        self.show_table_action = make_action(
            self, "Show in table", "search", "Browse these CIs in the table"
        )
        self.show_table_action.triggered.connect(self.show_in_table)
        self.list_head = ToolStrip(self, name="ciHeader")
        self.list_head.layout_.addWidget(self.list_title, 1)
        self.list_head.layout_.addWidget(tool_button(self, self.show_table_action, text=True))
        right = QWidget(self)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(0)
        rl.addWidget(self.list_head)
        rl.addWidget(self.list_view, 1)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(scroll)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        self.header = QWidget(self)
        self.header.setObjectName("healthHeader")
        self.header.setLayout(top)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.strip)
        layout.addWidget(self.header)
        layout.addWidget(split, 1)
        self.show_table_action.setEnabled(False)
        context.databaseChanged.connect(self.set_cmdb)
        context.bridge.changed.connect(lambda _summary: self._out_of_date())
        context.bridge.external.connect(lambda _catalogue: self._out_of_date())
        if context.cmdb is not None:  # made while a CMDB is open
            self.set_cmdb(context.cmdb)

    def _title(self, text: str, parent: QWidget) -> QLabel:
        label = QLabel(text, parent)
        label.setProperty("role", "subheading")
        return label

    def styled_parts(self) -> list[QWidget]:
        return [
            self.strip,
            self.list_head,
            self.scores_title,
            self.status_title,
            self.completeness_title,
        ]

    def set_colours(self, colours: dict[str, str]) -> None:
        painted: list[ScoreGauge | BarChart | FindingCard] = [
            self.gauge,
            self.class_chart,
            self.status_chart,
            *self.cards.values(),
        ]
        for widget in painted:
            widget.colours = colours
            widget.update()

    # -- loading ---------------------------------------------------------------------
    def set_cmdb(self, cmdb: Cmdb | None) -> None:
        self.cmdb = cmdb
        self.report = None
        self._loaded_for = None
        self.finding = None
        self.finding_key = None
        self.gauge.set_score(None)
        for card in self.cards.values():
            card.set_count(None)
            card.selected = False
        self.list_model.set_rows([])
        self.class_chart.set_bars([])
        self.status_chart.set_bars([])
        self.completeness.set_rows([])
        self.checked.setText("")
        if cmdb is not None and self.isVisible():
            self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.cmdb is not None and self._loaded_for is not self.cmdb:
            self.refresh()

    def _out_of_date(self) -> None:
        if self._loaded_for is None:
            return  # nothing checked yet (it will be when shown)
        self._loaded_for = None  # checked again when next shown
        if self.isVisible() and self.report is not None and not self.is_busy():
            self.checked.setText(
                self._checked_text(self.report) + " The CMDB changed since: check again."
            )

    def refresh(self) -> None:
        if self.cmdb is None:
            return
        self._loaded_for = self.cmdb
        self.checked.setText("Checking…")
        self.context.runner.submit(
            "Checking the CMDB's health",
            jobs_analysis.health_report,
            self.cmdb,
            on_done=self.show_report,
            on_error=lambda exc: self.context.report_error("Cannot check the health", exc),
            key="health",
            replace=True,
        )

    def is_busy(self) -> bool:
        runner = self.context.runner
        return runner.busy_with("health") or runner.busy_with("health-list")

    def show_report(self, report: HealthReport) -> None:
        self.report = report
        self.gauge.set_score(report.score)
        self.checked.setText(self._checked_text(report))
        for key, card in self.cards.items():
            finding = report.findings.get(key)
            if finding is None:
                continue
            worst = sorted(finding.by_class.items(), key=lambda kv: -kv[1])[:2]
            card.set_count(finding.count, ", ".join(f"{k} {v:,}" for k, v in worst))
        scores = sorted(report.class_scores.items(), key=lambda kv: (kv[1], kv[0]))
        self.class_chart.set_bars(
            [
                Bar(
                    cls,
                    cls,
                    score,
                    f"{score:.0f}",
                    score_colour(score),
                    self._class_tip(report, cls, score),
                )
                for cls, score in scores
            ]
        )
        self.status_chart.set_bars(
            [
                Bar(st, st, n, f"{n:,}", STATUS_COLOURS.get(st, "#8e9aaf"))
                for st, n in sorted(report.by_status.items(), key=lambda kv: -kv[1])
            ]
        )
        rows = []
        for cls, comp in sorted(report.completeness.items()):
            req = sum(comp.required.values()) / len(comp.required) if comp.required else 100.0
            rec = (
                sum(comp.recommended.values()) / len(comp.recommended)
                if comp.recommended
                else 100.0
            )
            rows.append((cls, comp.cis, f"{req:.0f} %", f"{rec:.0f} %", round(comp.score, 1)))
        self.completeness.set_rows(rows)
        self.completeness_view.resizeColumnsToContents()
        self.completeness_view.setMinimumHeight(min(22 * (len(rows) + 1) + 6, 360))
        if self.finding_key is not None:
            self.show_finding(self.finding_key)

    @staticmethod
    def _checked_text(report: HealthReport) -> str:
        return (
            f"{report.total_cis:,} CIs and {report.total_relationships:,} relationships, "
            f"checked on {report.today.isoformat()}."
        )

    def _class_tip(self, report: HealthReport, cls: str, score: float) -> str:
        lines = [f"{cls}: {score:.1f} / 100 ({report.by_class.get(cls, 0):,} CIs)"]
        for key, title, _hint in CARDS:
            n = report.findings[key].by_class.get(cls, 0) if key in report.findings else 0
            if n:
                lines.append(f"{title}: {n:,}")
        comp = report.completeness.get(cls)
        if comp is not None:
            missing = [
                f"{k} {v:.0f} %"
                for k, v in {**comp.required, **comp.recommended}.items()
                if v < 100
            ]
            if missing:
                lines.append("Filled in: " + ", ".join(missing[:6]))
        return "\n".join(lines)

    # -- findings --------------------------------------------------------------------
    def show_finding(self, key: str) -> None:
        if self.cmdb is None:
            return
        self.finding_key = key
        for k, card in self.cards.items():
            card.selected = k == key
            card.update()
        title = _title(key)
        self.list_title.setText(f"<b>{html(title)}</b>: listing…")

        def done(finding: Finding) -> None:
            if key == self.finding_key:
                self.finding = finding
                self._fill_list()

        self.context.runner.submit(
            f"Listing {title.lower()}",
            jobs_analysis.finding_cis,
            self.cmdb,
            key,
            on_done=done,
            key="health-list",
            replace=True,
        )

    def _class_chosen(self, cls: str) -> None:
        self.class_filter = None if cls == self.class_filter else cls
        self.class_chart.selected = self.class_filter
        self.class_chart.update()
        self._fill_list()

    def _fill_list(self) -> None:
        finding = self.finding
        key = self.finding_key
        if finding is None or key is None:
            return
        why = _why(key, finding)
        refs: list[CiRef] = [
            r
            for r in finding.examples
            if self.class_filter is None or r.class_name == self.class_filter
        ]
        self.list_model.set_rows(
            [(r.name, r.class_name, why.get(r.id, "")) for r in refs], [r.id for r in refs]
        )
        self.list_view.setColumnHidden(2, not why)
        self.list_view.resizeColumnToContents(0)
        self.list_view.resizeColumnToContents(1)
        title = _title(key)
        where = f" of class {html(self.class_filter)}" if self.class_filter else ""
        self.list_title.setText(f"<b>{html(title)}</b>: {len(refs):,} CIs{where}")
        self.show_table_action.setEnabled(bool(refs))

    def show_in_table(self) -> None:
        ids = self.list_model.ids()
        if not ids:
            return
        title = _title(self.finding_key) if self.finding_key else "Health"
        self.context.show_ids(ids, f"{title} ({len(ids):,})")
