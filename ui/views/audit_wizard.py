"""*File › Audit Against a Spreadsheet…*: what does the CMDB get wrong?

1. **File** and 2. **Sheets**, as for an import (the same safe readers).
3. **Mapping, keys and scope**: the columns (suggested, editable), ranked
   identification keys, and which CIs "only in CMDB" looks at — by default
   the classes that occur in the sheet, narrowed by class, location (CIs
   *Located in* a site or rack, however deep) and status.
4. **Findings** in tabs: mismatched fields with both values, rows only in
   the sheet (unregistered assets), CIs only in the CMDB, rows that could not
   be judged; the styled .xlsx report; and, optionally, *Mark matched as
   verified*, which stamps *last verified* on the matched CIs as one batch
   (undone by rolling that batch back in the Batches view).

The audit itself never writes (:mod:`importers.audit`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QTabWidget,
    QWidget,
)

from cmdb_desktop.values import to_text
from importers.audit import AuditResult
from ui import jobs_import
from ui.models.rows import RowsModel
from ui.views.mapping_editor import MappingEditor
from ui.views.toolstrip import html, opens_cis, rows_table
from ui.views.wizard_pages import JobPage, SpreadsheetWizard

if TYPE_CHECKING:
    from ui.context import AppContext

KEY = "audit-wizard"


def findings_table(parent: QWidget, model: RowsModel, name: str, context: AppContext) -> QTableView:
    view = rows_table(parent, model, name)
    opens_cis(view, model.ci_id, context.navigation)
    return view


class ScopePage(JobPage):
    def __init__(self, wizard: AuditWizard) -> None:
        super().__init__(
            wizard.context,
            KEY,
            "Mapping, keys and scope",
            "How rows are read and matched to CIs, and which CIs should have been in the sheet.",
        )
        self.host = wizard
        self.editor = MappingEditor(self, audit=True)
        self.body.addWidget(self.editor, 1)
        form = QFormLayout()
        self.classes = QLineEdit(self)
        self.classes.setPlaceholderText(
            "Default: the classes that occur in the sheet. E.g. Server, Workstation"
        )
        self.locations = QLineEdit(self)
        self.locations.setPlaceholderText(
            "Sites or racks (name or #ID), comma-separated; blank: anywhere"
        )
        status_row = QHBoxLayout()
        self.status_boxes: dict[str, QCheckBox] = {}
        self._status_row = status_row
        form.addRow("Only in CMDB: classes", self.classes)
        form.addRow("located in", self.locations)
        form.addRow("with status", status_row)
        self.body.addLayout(form)

    def initializePage(self) -> None:
        loaded = self.host.loaded
        cmdb = self.context.cmdb
        assert loaded is not None and cmdb is not None
        self.editor.set_mapping(cmdb.meta, loaded.source, loaded.mapping)
        if not self.status_boxes:
            attr = cmdb.meta.find_attribute(cmdb.meta.root, "status")
            for choice in (attr.choices or ()) if attr else ():
                box = QCheckBox(str(choice), self)
                self.status_boxes[str(choice)] = box
                self._status_row.addWidget(box)
            self._status_row.addStretch(1)

    def set_scope(
        self,
        classes: Sequence[str] = (),
        locations: Sequence[str] = (),
        statuses: Sequence[str] = (),
    ) -> None:
        self.classes.setText(", ".join(classes))
        self.locations.setText(", ".join(locations))
        for name, box in self.status_boxes.items():
            box.setChecked(name in statuses)

    def begin_next(self) -> bool:
        loaded = self.host.loaded
        cmdb = self.context.cmdb
        assert loaded is not None and cmdb is not None
        mapping = self.editor.mapping()
        statuses = ", ".join(n for n, b in self.status_boxes.items() if b.isChecked())
        scope = jobs_import.scope_from(self.classes.text(), self.locations.text(), statuses)
        for name in scope.classes:
            cmdb.meta.get_class(name)  # an unknown class is refused here, with its name

        def done(result: AuditResult) -> None:
            self.host.audit_result = result
            self.advance()

        self.panel.run(
            "Comparing with the CMDB",
            jobs_import.audit,
            cmdb,
            str(loaded.source.path),
            mapping,
            mapping.keys,
            None,
            [t.sheet for t in loaded.source.tables],
            scope,
            on_done=done,
            on_error=self.show_error,
        )
        return False


class FindingsPage(JobPage):
    def __init__(self, wizard: AuditWizard) -> None:
        super().__init__(wizard.context, KEY, "Findings", "The audit wrote nothing to the CMDB.")
        self.host = wizard
        self.summary = QLabel(self)
        self.summary.setObjectName("auditSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.body.addWidget(self.summary)
        self.mismatched = RowsModel(
            ("CI", "Class", "Field", "In the CMDB", "In the sheet", "Row"), self
        )
        self.mismatched.foreground = lambda r, c: "#9a6700" if c in (3, 4) else None
        self.only_sheet = RowsModel(("Row", "Key", "Name", "Class", "Sheet"), self)
        self.only_cmdb = RowsModel(("CI", "Class"), self)
        self.errors = RowsModel(("Sheet", "Row", "Column", "Problem"), self)
        self.matched = RowsModel(("CI", "Class", "Row"), self)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("auditTabs")
        self._tabs: list[tuple[RowsModel, str]] = [
            (self.mismatched, "Mismatched"),
            (self.only_sheet, "Only in sheet"),
            (self.only_cmdb, "Only in CMDB"),
            (self.errors, "Errors"),
            (self.matched, "Matched"),
        ]
        for model, title in self._tabs:
            self.tabs.addTab(findings_table(self, model, title, self.context), title)
        self.body.addWidget(self.tabs, 1)
        row = QHBoxLayout()
        self.report_button = QPushButton("Export report (.xlsx)…", self)
        self.report_button.clicked.connect(self.ask_report)
        self.stamp_button = QPushButton("Mark matched as verified", self)
        self.stamp_button.setToolTip(
            "Set Last Verified to today on every matched CI, as one batch you can roll back"
        )
        self.stamp_button.clicked.connect(self.stamp)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.RichText)
        self.note.linkActivated.connect(self._link)
        row.addWidget(self.report_button)
        row.addWidget(self.stamp_button)
        row.addWidget(self.note, 1)
        self.body.addLayout(row)

    def validatePage(self) -> bool:
        return True

    def initializePage(self) -> None:
        result = self.host.audit_result
        assert result is not None
        self.show_result(result)

    def show_result(self, result: AuditResult) -> None:
        c = result.counts()
        scope = ", ".join(result.scope_classes) or "no class"
        self.summary.setText(
            f"<span style='font-size:13pt'>{c['rows']:,} rows: <b>{c['matched']:,}</b> matched · "
            f"<b style='color:#9a6700'>{c['mismatched_cis']:,}</b> CIs with "
            f"{c['mismatched_fields']:,} differing fields · <b style='color:#1a7f37'>"
            f"{c['only_in_sheet']:,}</b> only in the sheet · <b style='color:#c62828'>"
            f"{c['only_in_cmdb']:,}</b> only in the CMDB · {c['errors']:,} errors</span>"
            f"<br><span style='color:gray'>Only in CMDB looked at: {html(scope)}.</span>"
            + "".join(
                f"<br><span style='color:#7a5d00'>{html(w)}</span>" for w in result.warnings[:3]
            )
        )
        self.mismatched.set_rows(
            [
                (m.ci.name, m.ci.class_name, m.label, _text(m.cmdb), _text(m.sheet), m.row)
                for m in result.mismatched
            ],
            [m.ci.id for m in result.mismatched],
        )
        self.only_sheet.set_rows(
            [
                (s.row, s.key, s.name or "", s.class_name or "", s.sheet_name)
                for s in result.only_in_sheet
            ]
        )
        self.only_cmdb.set_rows(
            [(r.name, r.class_name) for r in result.only_in_cmdb],
            [r.id for r in result.only_in_cmdb],
        )
        self.errors.set_rows(
            [(e.sheet or "", e.row or "", e.column or "", e.message) for e in result.errors]
        )
        self.matched.set_rows(
            [(r.name, r.class_name, row) for r, row in result.matched],
            [r.id for r, _ in result.matched],
        )
        for n, (model, title) in enumerate(self._tabs):
            self.tabs.setTabText(n, f"{title} ({model.rowCount():,})")
        for n in range(self.tabs.count()):
            view = self.tabs.widget(n)
            if isinstance(view, QTableView):
                view.resizeColumnsToContents()
        self.stamp_button.setEnabled(bool(result.matched))
        self.note.setText("")

    def ask_report(self) -> None:
        result = self.host.audit_result
        if result is None:
            return
        default = Path(result.file).with_name(f"{Path(result.file).stem}-audit.xlsx")
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the audit report", str(default), "Excel workbook (*.xlsx)"
        )
        if path:
            self.write_report(path)

    def write_report(self, path: str) -> None:
        result = self.host.audit_result
        assert result is not None
        self.panel.run(
            "Writing the audit report",
            jobs_import.audit_report,
            result,
            path,
            on_done=lambda out: self.note.setText(f"Report saved to <b>{html(str(out))}</b>."),
            on_error=self.show_error,
        )

    def stamp(self) -> None:
        result = self.host.audit_result
        cmdb = self.context.cmdb
        assert result is not None and cmdb is not None

        def done(batch: int | None) -> None:
            self.stamp_button.setEnabled(False)
            if batch is None:
                self.note.setText("Every matched CI was already verified today.")
                return
            self.host.stamped = batch
            self.note.setText(
                f"Last Verified set on {len(result.matched):,} CIs as <a href='batch:{batch}'>"
                f"batch #{batch}</a> (roll it back there to undo)."
            )

        self.panel.run(
            "Marking matched CIs as verified",
            jobs_import.stamp,
            cmdb,
            result,
            on_done=done,
            on_error=self.show_error,
            writes=True,
        )

    def _link(self, link: str) -> None:
        if link.startswith("batch:"):
            self.context.navigation.show_batches(int(link[6:]))
            self.host.accept()


def _text(value: Any) -> str:
    return "(blank)" if value is None or value == "" else to_text(value)


class AuditWizard(SpreadsheetWizard):
    def __init__(self, context: AppContext, profiles: list[str] | None = None) -> None:
        super().__init__(
            context,
            KEY,
            profiles,
            "Audit the CMDB against a spreadsheet",
            "The spreadsheet that says what is really there (an inventory, a scan, another "
            "system's export). The audit writes nothing.",
            "Tick the sheets that list what you found (relationship sheets are not audited).",
        )
        self.setObjectName("auditWizard")
        self.audit_result: AuditResult | None = None
        self.stamped: int | None = None
        self.scope_page = ScopePage(self)
        self.findings_page = FindingsPage(self)
        self.add_pages(self.scope_page, self.findings_page)
