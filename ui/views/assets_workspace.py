"""The *Assets* workspace (PRODUCT.md §10) for asset managers.

Everything it shows comes from one worker job (:func:`ui.jobs_assets.asset_overview`):

* **Lifecycle**: a board of the assets per state (click a state to list its
  assets; double-click one to open it) and their book value by age;
* **Custody**: what is checked out to whom, overdue ones marked; *Check out…*
  (Ctrl+Alt+O) the asset chosen in the lifecycle list or the table, *Check in*
  (Ctrl+Alt+I) the chosen check-out;
* **Calendars**: warranty, lease, end-of-life and licence expiries within the
  chosen number of days, and warranty expiries per month for a year;
* **Licences**: compliance per software; choosing one lists its installations
  and licences (drill-down);
* **Stock**: In Stock by model and location against reorder thresholds.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cmdb_desktop.cmdb import Cmdb
from ui import jobs_assets
from ui.jobs_assets import AssetOverview
from ui.models.rows import RowsModel
from ui.theme import STATUS_COLOURS
from ui.views.charts import Bar, BarChart
from ui.views.toolstrip import ToolStrip, html, make_action, opens_cis, rows_table, tool_button

if TYPE_CHECKING:
    from ui.context import AppContext

OVERDUE = "#c62828"
SHORT = "#e3a008"


class CheckoutDialog(QDialog):
    """Whom an asset goes to, and when it is due back (optional)."""

    def __init__(self, asset: str, people: list[dict[str, Any]], parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("checkoutDialog")
        self.setWindowTitle(f"Check out {asset}")
        self.person = QComboBox(self)
        for p in people:
            if p["active"]:
                self.person.addItem(
                    p["name"] + (f" <{p['email']}>" if p["email"] else ""), f"#{p['id']}"
                )
        self.has_due = QCheckBox("Due back on", self)
        self.due = QDateEdit(self)
        self.due.setCalendarPopup(True)
        self.due.setDate(QDate.currentDate().addDays(14))
        self.due.setEnabled(False)
        self.has_due.toggled.connect(self.due.setEnabled)
        form = QFormLayout(self)
        form.addRow("Person", self.person)
        form.addRow(self.has_due, self.due)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(self.person.count() > 0)
        form.addRow(buttons)

    def choice(self) -> tuple[str, date | None]:
        due = self.due.date().toPython() if self.has_due.isChecked() else None
        return str(self.person.currentData()), due  # type: ignore[return-value]


class AssetsWorkspace(QWidget):
    """Follows the context's CMDB; reads again when shown after a change."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("assetsWorkspace")
        self.context = context
        self.cmdb: Cmdb | None = None
        self.overview: AssetOverview | None = None
        self._loaded_for: Cmdb | None = None
        self.state: str | None = None

        self.strip = ToolStrip(self)
        self.refresh_action = make_action(self, "Refresh", "refresh", "Read the assets again", "F5")
        self.refresh_action.triggered.connect(self.refresh)
        self.checkout_action = make_action(
            self,
            "Check out…",
            "forward",
            "Check the chosen asset out to a person",
            "Ctrl+Alt+O",
        )
        self.checkout_action.triggered.connect(self.check_out)
        self.checkin_action = make_action(
            self, "Check in", "back", "Return the chosen checked-out asset", "Ctrl+Alt+I"
        )
        self.checkin_action.triggered.connect(self.check_in)
        for action in (self.refresh_action, self.checkout_action, self.checkin_action):
            self.addAction(action)
            self.strip.layout_.addWidget(tool_button(self, action, text=True))
        self.strip.layout_.addWidget(QLabel("Ends within", self))
        self.days = QSpinBox(self)
        self.days.setObjectName("daysWindow")
        self.days.setRange(0, 3650)
        self.days.setValue(90)
        self.days.setSuffix(" days")
        self.days.editingFinished.connect(self.refresh)
        self.strip.layout_.addWidget(self.days)
        self.summary = QLabel(self)
        self.summary.setProperty("role", "muted")
        # The summary wraps rather than widening the window (1366 px with the CI dock).
        self.summary.setWordWrap(True)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.strip.layout_.addWidget(self.summary, 1)

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("assetTabs")
        # lifecycle board
        self.state_chart = BarChart(self)
        self.state_chart.setObjectName("stateBoard")
        self.state_chart.chosen.connect(self.show_state)
        self.age_chart = BarChart(self)
        self.age_chart.setObjectName("valueByAge")
        self.state_model = RowsModel(("Name", "Class", "Model", "Assigned To"), self)
        self.state_view = rows_table(self, self.state_model, "stateList")
        opens_cis(self.state_view, self.state_model.ci_id, context.navigation)
        self.state_title = QLabel("Click a state to list its assets.", self)
        left = QWidget(self)
        ll = QVBoxLayout(left)
        ll.addWidget(self._heading("Assets per state", left))
        ll.addWidget(self.state_chart)
        ll.addWidget(self._heading("Book value by age", left))
        ll.addWidget(self.age_chart)
        ll.addStretch(1)
        right = QWidget(self)
        rl = QVBoxLayout(right)
        rl.addWidget(self.state_title)
        rl.addWidget(self.state_view, 1)
        board = QSplitter(Qt.Orientation.Horizontal, self)
        board.addWidget(left)
        board.addWidget(right)
        self.tabs.addTab(board, "Lifecycle")
        # custody
        self.custody_model = RowsModel(("Asset", "Person", "Out", "Due", "Location"), self)
        self.custody_model.foreground = self._custody_colour
        self.custody_view = rows_table(self, self.custody_model, "custodyList")
        opens_cis(self.custody_view, self.custody_model.ci_id, context.navigation)
        self.tabs.addTab(self.custody_view, "Custody")
        # calendars
        self.month_chart = BarChart(self)
        self.month_chart.setObjectName("warrantyByMonth")
        self.calendar_model = RowsModel(("Ends", "What", "CI", "Class"), self)
        self.calendar_view = rows_table(self, self.calendar_model, "calendarList")
        opens_cis(self.calendar_view, self.calendar_model.ci_id, context.navigation)
        cal = QSplitter(Qt.Orientation.Horizontal, self)
        months = QWidget(self)
        ml = QVBoxLayout(months)
        ml.addWidget(self._heading("Warranties ending per month", months))
        ml.addWidget(self.month_chart)
        ml.addStretch(1)
        cal.addWidget(months)
        cal.addWidget(self.calendar_view)
        self.tabs.addTab(cal, "Calendars")
        # licences
        self.compliance_model = RowsModel(
            ("Software", "Metric", "Entitled", "Consumed", "Status", "Shortfall", "Spare"), self
        )
        self.compliance_model.foreground = self._compliance_colour
        self.compliance_view = rows_table(self, self.compliance_model, "complianceList")
        self.compliance_view.selectionModel().currentRowChanged.connect(
            lambda current, _prev: self.show_software(current.row())
        )
        self.installs_model = RowsModel(("Installed on", "Class", "Assigned To"), self)
        self.installs_view = rows_table(self, self.installs_model, "installationList")
        opens_cis(self.installs_view, self.installs_model.ci_id, context.navigation)
        self.licences_model = RowsModel(("Licence", "Seats", "Metric", "Expires", "Counted"), self)
        self.licences_view = rows_table(self, self.licences_model, "licenceList")
        opens_cis(self.licences_view, self.licences_model.ci_id, context.navigation)
        self.drill_title = QLabel("Choose a software to see its installations.", self)
        drill = QWidget(self)
        dl = QVBoxLayout(drill)
        dl.addWidget(self.drill_title)
        dl.addWidget(self.installs_view, 2)
        dl.addWidget(self.licences_view, 1)
        lic = QSplitter(Qt.Orientation.Horizontal, self)
        lic.addWidget(self.compliance_view)
        lic.addWidget(drill)
        self.tabs.addTab(lic, "Licences")
        # stock
        self.stock_model = RowsModel(("Model", "Location", "In Stock", "Threshold", "Alert"), self)
        self.stock_model.foreground = self._stock_colour
        self.stock_view = rows_table(self, self.stock_model, "stockList")
        self.tabs.addTab(self.stock_view, "Stock")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.strip)
        layout.addWidget(self.tabs, 1)
        context.databaseChanged.connect(self.set_cmdb)
        context.bridge.changed.connect(lambda _summary: self._out_of_date())
        context.bridge.external.connect(lambda _catalogue: self._out_of_date())
        self._enable()
        if context.cmdb is not None:
            self.set_cmdb(context.cmdb)

    def _heading(self, text: str, parent: QWidget) -> QLabel:
        label = QLabel(text, parent)
        label.setProperty("role", "subheading")
        return label

    def styled_parts(self) -> list[QWidget]:
        return [self.strip]

    def set_colours(self, colours: dict[str, str]) -> None:
        for chart in (self.state_chart, self.age_chart, self.month_chart):
            chart.colours = colours
            chart.update()

    # -- loading -----------------------------------------------------------------------
    def set_cmdb(self, cmdb: Cmdb | None) -> None:
        self.cmdb = cmdb
        self.overview = None
        self._loaded_for = None
        for model in (
            self.state_model,
            self.custody_model,
            self.calendar_model,
            self.compliance_model,
            self.installs_model,
            self.licences_model,
            self.stock_model,
        ):
            model.set_rows([])
        for chart in (self.state_chart, self.age_chart, self.month_chart):
            chart.set_bars([])
        self.summary.setText("")
        self._enable()
        if cmdb is not None and self.isVisible():
            self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.cmdb is not None and self._loaded_for is not self.cmdb:
            self.refresh()

    def _out_of_date(self) -> None:
        self._loaded_for = None
        if self.isVisible():
            self.refresh()

    def _enable(self) -> None:
        has = self.cmdb is not None
        writes = has and self.cmdb is not None and self.cmdb.may("write")
        self.refresh_action.setEnabled(has)
        self.checkout_action.setEnabled(writes)
        self.checkin_action.setEnabled(writes and self.overview is not None)

    def refresh(self) -> None:
        if self.cmdb is None:
            return
        self._loaded_for = self.cmdb
        self.summary.setText("Reading assets…")
        self.context.runner.submit(
            "Reading assets",
            jobs_assets.asset_overview,
            self.cmdb,
            date.today(),
            self.days.value(),
            on_done=self.show_overview,
            on_error=lambda exc: self.context.report_error("Cannot read the assets", exc),
            key="assets",
            replace=True,
        )

    def show_overview(self, ov: AssetOverview) -> None:
        self.overview = ov
        counts = {k: len(v) for k, v in ov.by_status.items()}
        total = sum(counts.values())
        overdue = len(ov.overdue_ids)
        short = sum(1 for c in ov.compliance if c.shortfall)
        self.summary.setText(
            f"{total:,} assets, book value {ov.total_value:,.2f} on {ov.at.isoformat()}; "
            f"{overdue:,} overdue, {short:,} software over-deployed, "
            f"{sum(1 for s in ov.stock if s.alert):,} stock alerts."
        )
        self.state_chart.set_bars(
            [
                Bar(st, st, n, f"{n:,}", STATUS_COLOURS.get(st, "#8e9aaf"))
                for st, n in sorted(counts.items(), key=lambda kv: -kv[1])
            ]
        )
        self.age_chart.set_bars(
            [
                Bar(
                    label,
                    label,
                    value,
                    f"{value:,.0f} ({n:,})",
                    "#2d6cdf",
                    f"{n:,} assets worth {value:,.2f}",
                )
                for label, n, value in ov.value_by_age
            ]
        )
        self.month_chart.set_bars(
            [Bar(m, m, n, f"{n:,}", "#e3a008") for m, n in ov.warranty_by_month]
        )
        self.custody_model.set_rows(
            [
                (
                    c["ci"]["name"],
                    c["person"]["name"],
                    c["checked_out"],
                    c["due"] or "",
                    c["location"] or "",
                )
                for c in ov.custody
            ],
            [c["ci"]["id"] for c in ov.custody],
        )
        self.calendar_model.set_rows(
            [(e.on.isoformat(), e.kind, e.ci["name"], e.ci["class"]) for e in ov.calendar],
            [e.ci["id"] for e in ov.calendar],
        )
        self.compliance_model.set_rows(
            [
                (
                    c.software["name"],
                    c.metric,
                    c.entitled,
                    c.consumed,
                    c.status,
                    c.shortfall,
                    c.spare,
                )
                for c in ov.compliance
            ],
            [c.software["id"] for c in ov.compliance],
        )
        self.stock_model.set_rows(
            [
                (
                    s.model,
                    s.location,
                    s.in_stock,
                    s.threshold if s.threshold is not None else "",
                    "reorder" if s.alert else "",
                )
                for s in ov.stock
            ]
        )
        if self.state is not None:
            self.show_state(self.state)
        self._enable()

    # -- drill-downs ---------------------------------------------------------------------
    def show_state(self, state: Any) -> None:
        if self.overview is None:
            return
        self.state = str(state)
        self.state_chart.selected = self.state
        self.state_chart.update()
        rows = self.overview.by_status.get(self.state, [])
        self.state_model.set_rows([r[1:] for r in rows], [r[0] for r in rows])
        self.state_title.setText(f"<b>{html(self.state)}</b>: {len(rows):,} assets")

    def show_software(self, row: int) -> None:
        if self.overview is None or row < 0:
            return
        c = self.overview.compliance[self.compliance_model.source_row(row)]
        self.installs_model.set_rows(
            [(d["name"], d["class"], d["assigned_to"] or "") for d in c.devices],
            [d["id"] for d in c.devices],
        )
        self.licences_model.set_rows(
            [
                (
                    lic["name"],
                    lic["seats"],
                    lic["metric"],
                    lic["expiry_date"] or "",
                    "yes" if lic["counted"] else "no (expired or retired)",
                )
                for lic in c.licences
            ],
            [lic["id"] for lic in c.licences],
        )
        people = f", {len(c.people):,} people" if c.metric == "Per user" else ""
        self.drill_title.setText(
            f"<b>{html(c.software['name'])}</b>: installed on {len(c.devices):,} active "
            f"devices{people}; {c.entitled:,} seats"
        )

    def _custody_colour(self, source: int, _col: int) -> str | None:
        ov = self.overview
        if ov is None or source >= len(ov.custody):
            return None
        return OVERDUE if ov.custody[source]["id"] in ov.overdue_ids else None

    def _compliance_colour(self, source: int, _col: int) -> str | None:
        ov = self.overview
        if ov is None or source >= len(ov.compliance):
            return None
        return OVERDUE if ov.compliance[source].shortfall else None

    def _stock_colour(self, source: int, _col: int) -> str | None:
        ov = self.overview
        if ov is None or source >= len(ov.stock):
            return None
        return SHORT if ov.stock[source].alert else None

    # -- custody actions -------------------------------------------------------------------
    def _chosen_asset(self) -> tuple[int, str] | None:
        index = self.state_view.currentIndex()
        if self.tabs.currentIndex() == 0 and index.isValid():
            ci = self.state_model.ci_id(index.row())
            if ci is not None:
                return ci, str(self.state_model.row_values(index.row())[0])
        ci = self.context.chosen_ci()
        return (ci, f"#{ci}") if ci is not None else None

    def check_out(self) -> None:
        if self.cmdb is None or self.overview is None:
            return
        chosen = self._chosen_asset()
        if chosen is None:
            self.context.show_message("Choose an asset first (Lifecycle list or the table).")
            return
        if not any(p["active"] for p in self.overview.people):
            self.context.show_message("Add people first: cmdb person add, or import a users file.")
            return
        dialog = CheckoutDialog(chosen[1], self.overview.people, self)
        self.context.style(dialog)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        person, due = dialog.choice()
        self.context.runner.submit(
            "Checking out",
            jobs_assets.checkout,
            self.cmdb,
            chosen[0],
            person,
            due,
            on_done=lambda c: self.context.show_message(
                f"Checked out {c['ci']['name']} to {c['person']['name']}."
            ),
            on_error=lambda exc: self.context.report_error("Cannot check out", exc),
        )

    def check_in(self) -> None:
        if self.cmdb is None:
            return
        index = self.custody_view.currentIndex()
        ci = self.custody_model.ci_id(index.row()) if index.isValid() else None
        if ci is None:
            self.context.show_message("Choose a checked-out asset on the Custody tab.")
            return
        self.context.runner.submit(
            "Checking in",
            jobs_assets.checkin,
            self.cmdb,
            ci,
            on_done=lambda c: self.context.show_message(
                f"Checked in {c['ci']['name']} from {c['person']['name']}."
            ),
            on_error=lambda exc: self.context.report_error("Cannot check in", exc),
        )
