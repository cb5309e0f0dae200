"""*File › Import Spreadsheet…*: file → sheets → mapping → preview → import → result.

1. **File**: any spreadsheet; it is opened in the worker (hostile files are
   refused with a message, see :mod:`importers.untrusted`).
2. **Sheets**: which to read, and optionally a saved mapping profile.
3. **Mapping**: suggested from the headers, editable
   (:class:`~ui.views.mapping_editor.MappingEditor`); save it as a profile.
   Ignored columns of a CIs sheet may become new attributes of the sheet's
   class, typed from their values (issue 21; the type, label and choices
   can be changed).
4. **Preview**: the dry run — counts, every row with its outcome and the
   changed cells highlighted, every error with sheet, row and column, and the
   new attributes to confirm (label, type, class, how many values, the values
   that would not convert). Import everything (refused if anything is wrong)
   or only the rows that passed.
5. **Import** runs as one transaction with progress and Stop (stopping rolls
   it all back), then the result links to the batch in the *Batches* view.
   New attributes are added just before, and belong to the batch: rolling it
   back removes them (:func:`importers.apply.apply_with_new_attributes`).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QPushButton,
    QRadioButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
    QWizard,
)

from importers.apply import ImportResult
from importers.new_attributes import CheckedAttribute, NewAttribute
from importers.plan import CREATED, ERROR, UNCHANGED, UPDATED, ImportPlan, Outcome
from ui import jobs_import
from ui.jobs_import import Preview, describe_counts
from ui.models.mapping import type_label
from ui.models.preview import PreviewModel
from ui.models.rows import RowsModel
from ui.views.batches import list_batch_cis
from ui.views.mapping_editor import MappingEditor
from ui.views.toolstrip import html, quick_resize
from ui.views.wizard_pages import JobPage, SpreadsheetWizard

if TYPE_CHECKING:
    from ui.context import AppContext

KEY = "import-wizard"
#: The worker's key of the job that infers the columns' types (replaced on each change).
COLUMNS_KEY = "import-wizard-columns"


class MappingPage(JobPage):
    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__(
            wizard.context,
            KEY,
            "Mapping",
            "Which attribute each column fills (suggested from the headers). Double-click "
            "to change; translate values such as “Ready to Deploy” → “In Stock”.",
        )
        self.host = wizard
        self.editor = MappingEditor(self)
        self.body.addWidget(self.editor, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        self.save_profile_button = QPushButton("Save as profile…", self)
        self.save_profile_button.setToolTip("Keep this mapping in the CMDB to reuse it")
        self.save_profile_button.clicked.connect(self.ask_save_profile)
        row.addWidget(self.save_profile_button)
        self.body.addLayout(row)

        self.editor.class_changed.connect(self.propose_attributes)

    def initializePage(self) -> None:
        loaded = self.host.loaded
        cmdb = self.context.cmdb
        assert loaded is not None and cmdb is not None
        self.editor.set_mapping(cmdb.meta, loaded.source, loaded.mapping)
        self.propose_attributes()

    def propose_attributes(self) -> None:
        """Infer in the worker what each column could become as a new attribute (again
        when a sheet's class changed: the attributes belong to it)."""
        loaded = self.host.loaded
        cmdb = self.context.cmdb
        if loaded is None or cmdb is None or self.editor.mapping_ is None:
            return
        self.context.runner.submit(
            "Looking at the columns' values",
            jobs_import.attribute_proposals,
            cmdb,
            loaded.source,
            jobs_import.copy_mapping(self.editor.mapping_),
            on_done=self.editor.set_offers,
            on_error=self.show_error,
            key=COLUMNS_KEY,
            replace=True,
            visible=False,
        )

    def ask_save_profile(self) -> None:
        name, ok = QInputDialog.getText(
            self,
            "Save mapping profile",
            "Name of the profile:",
            text=(self.host.loaded.profile if self.host.loaded else None) or "",
        )
        if ok and name.strip():
            self.save_profile(name.strip())

    def save_profile(self, name: str) -> None:
        cmdb = self.context.cmdb
        assert cmdb is not None
        try:
            mapping = self.editor.mapping()
        except Exception as exc:  # a ValidationError says what to fix
            self.show_error(exc)
            return
        self.context.runner.submit(
            "Saving the mapping profile",
            jobs_import.save_mapping_profile,
            cmdb,
            name,
            jobs_import.copy_mapping(mapping),
            on_done=lambda n: self.context.show_message(f"Mapping profile “{n}” saved."),
            on_error=self.show_error,
        )

    def begin_next(self) -> bool:
        loaded = self.host.loaded
        cmdb = self.context.cmdb
        assert loaded is not None and cmdb is not None
        mapping = self.editor.mapping()
        new_attributes = self.editor.new_attributes()

        def done(preview: Preview) -> None:
            self.host.plan = preview.plan
            self.host.new_attributes = preview.new_attributes
            self.advance()

        self.panel.run(
            "Checking every row",
            jobs_import.preview,
            cmdb,
            loaded.source,
            jobs_import.copy_mapping(mapping),
            new_attributes,
            on_done=done,
            on_error=self.show_error,
        )
        return False


class PreviewPage(JobPage):
    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__(
            wizard.context,
            KEY,
            "Preview",
            "Nothing has been written yet. Amber cells change, red cells are errors (hover "
            "for details), green rows are new CIs.",
        )
        self.host = wizard
        self.setButtonText(QWizard.WizardButton.NextButton, "&Import")
        self.counts = QLabel(self)
        self.counts.setObjectName("previewCounts")
        self.counts.setWordWrap(True)
        self.counts.setTextFormat(Qt.TextFormat.RichText)
        self.body.addWidget(self.counts)
        self.new_box = QGroupBox("New attributes (created with this import's batch)", self)
        self.new_box.setObjectName("newAttributes")
        nl = QVBoxLayout(self.new_box)
        self.new_model = RowsModel(
            ("Column", "New attribute", "Type", "Class", "Values", "Would not convert"), self
        )
        self.new_view = QTableView(self.new_box)
        self.new_view.setObjectName("newAttributesTable")
        self.new_view.setModel(self.new_model)
        self.new_view.verticalHeader().hide()
        self.new_view.horizontalHeader().setStretchLastSection(True)
        self.new_model.foreground = self._new_colour
        nl.addWidget(self.new_view)
        self.new_problems = QLabel(self.new_box)
        self.new_problems.setObjectName("newAttributesProblems")
        self.new_problems.setWordWrap(True)
        self.new_problems.setStyleSheet("color: #c62828;")
        nl.addWidget(self.new_problems)
        self.new_box.hide()
        self.body.addWidget(self.new_box)
        filters = QHBoxLayout()
        self.sheet_combo = QComboBox(self)
        self.sheet_combo.currentIndexChanged.connect(lambda _i: self._show_sheet())
        filters.addWidget(self.sheet_combo)
        self.model = PreviewModel(self)
        self.status_group = QButtonGroup(self)
        self.status_buttons: dict[Outcome | None, QRadioButton] = {}
        for status, text in (
            (None, "All"),
            (CREATED, "New"),
            (UPDATED, "Updated"),
            (UNCHANGED, "Unchanged"),
            (ERROR, "Errors"),
        ):
            button = QRadioButton(text, self)
            self.status_group.addButton(button)
            self.status_buttons[status] = button
            button.toggled.connect(partial(self._status_toggled, status))
            filters.addWidget(button)
        filters.addStretch(1)
        self.body.addLayout(filters)
        self.table = QTableView(self)
        self.table.setObjectName("previewTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setStretchLastSection(True)
        quick_resize(self.table)
        self.errors_model = RowsModel(("Sheet", "Row", "Column", "Problem"), self)
        self.errors_view = QTableView(self)
        self.errors_view.setObjectName("previewErrors")
        self.errors_view.setModel(self.errors_model)
        self.errors_view.verticalHeader().hide()
        quick_resize(self.errors_view)
        self.errors_view.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.table)
        errors_box = QWidget(self)
        el = QVBoxLayout(errors_box)
        el.setContentsMargins(0, 0, 0, 0)
        self.errors_title = QLabel(self)
        el.addWidget(self.errors_title)
        el.addWidget(self.errors_view, 1)
        split.addWidget(errors_box)
        split.setSizes([400, 140])
        self.body.addWidget(split, 1)
        self.warnings = QLabel(self)
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("color: #7a5d00;")
        self.body.addWidget(self.warnings)
        self.skip_errors = QCheckBox(
            "Import only the rows that passed (the rejected rows are saved beside the file "
            "with an Error column)",
            self,
        )
        self.skip_errors.setObjectName("skipErrors")
        self.skip_errors.toggled.connect(lambda _c: self.completeChanged.emit())
        self.body.addWidget(self.skip_errors)

    def _new_colour(self, row: int, _column: int) -> str | None:
        checked = self.host.new_attributes
        source = self.new_model.source_row(row)
        return "#c62828" if 0 <= source < len(checked) and not checked[source].ok else None

    def show_new_attributes(self, checked: list[CheckedAttribute]) -> None:
        """The new attributes to confirm: one row each, and what refuses any of them."""
        rows = []
        problems = []
        for c in checked:
            a = c.attribute
            kind = type_label(a.type)
            if a.choices:
                kind += ": " + ", ".join(a.choices)
            bad = ""
            if c.unconverted_cells:
                shown = ", ".join(f"“{v}”" for v in c.unconverted[:5])
                more = " …" if len(c.unconverted) > 5 else ""
                bad = f"{c.unconverted_cells:,} cell(s): {shown}{more}"
                problems.append(
                    f"{a.label}: {c.unconverted_cells:,} value(s) do not convert to "
                    f"{type_label(a.type)} ({shown}{more}). Go Back to the mapping and change "
                    "its type, translate those values, or leave the column ignored."
                )
            if c.problem:
                problems.append(f"{a.label}: {c.problem}")
            rows.append((a.column, a.label, kind, a.class_name, a.values, bad))
        self.new_model.set_rows(rows)
        self.new_view.resizeColumnsToContents()
        self.new_view.setFixedHeight(
            self.new_view.horizontalHeader().height()
            + sum(self.new_view.rowHeight(r) for r in range(min(len(rows), 5)))
            + 2 * self.new_view.frameWidth()
        )
        self.new_problems.setText("\n".join(problems))
        self.new_problems.setVisible(bool(problems))
        self.new_box.setVisible(bool(rows))

    def _status_toggled(self, status: str | None, on: bool) -> None:
        if on:
            self.model.set_status(status)

    def initializePage(self) -> None:
        plan = self.host.plan
        assert plan is not None
        self.show_plan(plan)
        self.show_new_attributes(self.host.new_attributes)

    def show_plan(self, plan: ImportPlan) -> None:
        self.host.plan = plan
        counts = plan.counts()
        cis = counts["cis"]
        rels = counts["relationships"]
        rel_text = ""
        if any(rels.values()):
            rel_text = (
                f"<br>Relationships: <b>{rels['created']:,}</b> new, {rels['unchanged']:,} "
                f"unchanged, <span style='color:#c62828'>{rels['errors']:,} errors</span>"
            )
        self.counts.setText(
            f"<span style='font-size:13pt'>CIs: <b style='color:#1a7f37'>{cis['created']:,} new</b>"
            f" · <b style='color:#9a6700'>{cis['updated']:,} updated</b> · "
            f"{cis['unchanged']:,} unchanged · <b style='color:#c62828'>{cis['errors']:,} "
            f"with errors</b></span>{rel_text}"
        )
        self.sheet_combo.blockSignals(True)
        self.sheet_combo.clear()
        for sm in plan.mapping.sheets:
            if sm.kind != "skip":
                self.sheet_combo.addItem(sm.sheet, sm.sheet)
        self.sheet_combo.blockSignals(False)
        self.sheet_combo.setVisible(self.sheet_combo.count() > 1)
        totals = {
            CREATED: cis["created"] + rels["created"],
            UPDATED: cis["updated"],
            UNCHANGED: cis["unchanged"] + rels["unchanged"],
            ERROR: cis["errors"] + rels["errors"],
        }
        for status, button in self.status_buttons.items():
            base = button.text().split(" (")[0]
            button.setText(f"{base} ({totals[status]:,})" if status is not None else base)
        self.status_buttons[None].setChecked(True)
        self._show_sheet()
        self.errors_model.set_rows(
            [(e.sheet or "", e.row or "", e.column or "", e.message) for e in plan.errors]
        )
        self.errors_view.resizeColumnsToContents()
        self.errors_view.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.errors_title.setText(
            f"{len(plan.errors):,} problem{'s' if len(plan.errors) != 1 else ''}"
            if plan.errors
            else "No problems."
        )
        shown = plan.warnings[:6]
        more = f" (and {len(plan.warnings) - 6} more)" if len(plan.warnings) > 6 else ""
        self.warnings.setText("\n".join(shown) + more)
        self.warnings.setVisible(bool(shown))
        only_rows = all(e.sheet is not None for e in plan.errors)
        self.skip_errors.setVisible(bool(plan.errors))
        self.skip_errors.setEnabled(only_rows)
        if not only_rows:
            self.skip_errors.setChecked(False)
        self.completeChanged.emit()

    def _show_sheet(self) -> None:
        status = next((s for s, b in self.status_buttons.items() if b.isChecked()), None)
        self.model.set_plan(self.host.plan, self.sheet_combo.currentData(), status)
        self.table.resizeColumnsToContents()
        for col in range(self.model.columnCount()):
            self.table.setColumnWidth(col, min(self.table.columnWidth(col), 260))

    def isComplete(self) -> bool:
        plan = self.host.plan
        if plan is None or self.panel.busy:
            return False
        if not all(c.ok for c in self.host.new_attributes):
            return False
        return plan.ok or self.skip_errors.isChecked()

    def begin_next(self) -> bool:
        plan = self.host.plan
        cmdb = self.context.cmdb
        assert plan is not None and cmdb is not None

        def done(result: ImportResult) -> None:
            if not result.written:
                self.show_plan(result.plan)
                self.show_error(
                    "The CMDB changed since the preview and some rows are now refused; "
                    "nothing was written. Check the preview again."
                )
                return
            self.host.import_result = result
            self.host.imported.emit(result)
            self.advance()

        new_attributes: list[NewAttribute] = [c.attribute for c in self.host.new_attributes]
        self.panel.run(
            "Importing",
            jobs_import.apply_plan,
            cmdb,
            plan,
            self.skip_errors.isChecked(),
            None,
            new_attributes,
            on_done=done,
            on_error=self.show_error,
            writes=True,
        )
        return False


class ResultPage(JobPage):
    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__(wizard.context, KEY, "Imported", "")
        self.host = wizard
        self.text = QLabel(self)
        self.text.setObjectName("resultText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.linkActivated.connect(self._link)
        self.body.addWidget(self.text)
        self.body.addStretch(1)

    def validatePage(self) -> bool:
        return True

    def initializePage(self) -> None:
        result = self.host.import_result
        assert result is not None
        counts = describe_counts(result.plan.counts())
        if result.batch_id is None:
            text = f"<p>Nothing needed changing.</p><p>{html(counts)}</p>"
        else:
            text = (
                f"<p style='font-size:13pt'><b>Batch #{result.batch_id}</b> written in one "
                f"transaction.</p><p>{html(counts)}</p>"
                f"<p><a href='batch:{result.batch_id}'>Show batch #{result.batch_id} in the "
                "Batches view</a> (it can be rolled back as a whole) · "
                f"<a href='cis:{result.batch_id}'>List its CIs in the table</a></p>"
            )
        if result.new_attributes:
            added = ", ".join(f"{a.label} ({a.class_name})" for a in result.new_attributes)
            text += (
                f"<p>New attribute{'s' if len(result.new_attributes) != 1 else ''}: "
                f"<b>{html(added)}</b>. Rolling the batch back removes "
                f"{'them' if len(result.new_attributes) != 1 else 'it'} too.</p>"
            )
        if result.rejects is not None:
            text += f"<p>The rejected rows are in <b>{html(str(result.rejects))}</b>.</p>"
        self.text.setText(text)

    def _link(self, link: str) -> None:
        kind, _, value = link.partition(":")
        if kind == "batch":
            self.context.navigation.show_batches(int(value))
        elif kind == "cis":
            list_batch_cis(self.context, int(value))
        self.host.accept()


class ImportWizard(SpreadsheetWizard):
    """``imported(ImportResult)`` after a batch was written."""

    imported = Signal(object)

    def __init__(self, context: AppContext, profiles: list[str] | None = None) -> None:
        super().__init__(
            context,
            KEY,
            profiles,
            "Import a spreadsheet",
            "Choose the spreadsheet to import. Nothing is written before the preview.",
            "Tick the sheets to import. Sheets named CIs and Relationships are read the "
            "canonical way; others are mapped on the next page.",
        )
        self.setObjectName("importWizard")
        self.plan: ImportPlan | None = None
        #: The new attributes the preview checked (created when the import applies).
        self.new_attributes: list[CheckedAttribute] = []
        self.import_result: ImportResult | None = None
        self.mapping_page = MappingPage(self)
        self.preview_page = PreviewPage(self)
        self.result_page = ResultPage(self)
        self.add_pages(self.mapping_page, self.preview_page, self.result_page)

    def reject(self) -> None:
        self.context.runner.cancel(COLUMNS_KEY)
        super().reject()
