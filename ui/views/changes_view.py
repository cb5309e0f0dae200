"""The *Changes* workspace (PRODUCT.md §9): the change list with filters, the
change form, and the change calendar.

The list shows every change with its risk and conflict count, filtered by
state and by text. The form edits the selected change (fields, change set,
approvals); its state buttons offer only the moves the life cycle allows.
Every write runs in the worker with the version the form was read at, so a
change someone else edited meanwhile is refused (and reloaded), never
overwritten. The calendar reschedules by dragging; *Undo* (Ctrl+Z in this
workspace) moves the change back. *New from selection* and *From scenario*
create Draft changes from the table's CIs or a saved impact scenario;
*Board pack* writes the .xlsx or PDF for the change board.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDateTime, Qt, QTimeZone
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateTimeEdit,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from cmdb_desktop.change_mgmt.records import (
    Assessment,
    ChangeKind,
    ChangeState,
    ChangeView,
    allowed_moves,
)
from cmdb_desktop.change_mgmt.windows import format_time
from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.cmdb import Cmdb
from ui import jobs_analysis, jobs_changes
from ui.models.rows import RowsModel
from ui.views.change_calendar import MONTH, WEEK, Bar, ChangeCalendar, Shade, local
from ui.views.toolstrip import ToolStrip, make_action, sortable, tool_button

if TYPE_CHECKING:
    from ui.context import AppContext

ALL_STATES = "All states"
ACTIVE = "Active"
RISK_COLOURS = {"Low": None, "Medium": "#bf8700", "High": "#bc4c00", "Very High": "#cf222e"}


def to_qt(utc: datetime) -> QDateTime:
    """Naive UTC as a QDateTime (shown in local time)."""
    return QDateTime.fromSecsSinceEpoch(int(utc.replace(tzinfo=UTC).timestamp()))


def from_qt(value: QDateTime) -> datetime:
    """The editor's time as naive UTC."""
    return datetime.fromtimestamp(value.toSecsSinceEpoch(), UTC).replace(tzinfo=None)


#: Risk reasons the change form lists before it counts the rest.
RISK_REASONS_SHOWN = 5


class RescheduleCommand(QUndoCommand):
    """A drag on the calendar; undo moves the change back (with its version)."""

    def __init__(
        self, view: ChangesView, change_id: int, old: tuple[datetime, datetime],
        new: tuple[datetime, datetime], version: int,
    ) -> None:  # fmt: skip
        super().__init__(f"Reschedule change #{change_id}")
        self.view, self.change_id, self.old, self.new = view, change_id, old, new
        self.version = version
        self._first = True

    def redo(self) -> None:
        if self._first:
            self._first = False
            return
        self.view.reschedule(self.change_id, *self.new, self.version, undoable=False)
        self.version += 1

    def undo(self) -> None:
        self.view.reschedule(self.change_id, *self.old, self.version, undoable=False)
        self.version += 1


class ChangesView(QWidget):
    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("changesView")
        self.context = context
        self.cmdb: Cmdb | None = None
        self.board: jobs_changes.ChangeBoard | None = None
        self.shown: list[Assessment] = []
        self.current: Assessment | None = None
        self.undo_stack = QUndoStack(self)
        self._select_after: int | None = None

        self.strip = ToolStrip(self)
        self.new_action = make_action(
            self, "New from selection", "add", "A Draft change with the CIs selected in the table",
            "Ctrl+Alt+N",
        )  # fmt: skip
        self.new_action.triggered.connect(self.new_from_selection)
        self.scenario_action = make_action(
            self, "From scenario…", "open", "A Draft change from a saved impact scenario"
        )
        self.scenario_action.triggered.connect(self.new_from_scenario)
        self.pack_action = make_action(
            self, "Board pack…", "export", "Write the change-board pack (.xlsx or PDF)",
            "Ctrl+Shift+B",
        )  # fmt: skip
        self.pack_action.triggered.connect(self.ask_pack)
        self.refresh_action = make_action(self, "Refresh", "refresh", "Read the changes again")
        self.refresh_action.triggered.connect(self.refresh)
        for action in (self.new_action, self.scenario_action, self.pack_action,
                       self.refresh_action):  # fmt: skip
            self.addAction(action)
            # Text beside the icons would set the window's minimum width.
            self.strip.layout_.addWidget(tool_button(self, action))
        self.state_filter = QComboBox(self)
        self.state_filter.addItems([ALL_STATES, ACTIVE, *[s.value for s in ChangeState]])
        self.state_filter.currentIndexChanged.connect(lambda _i: self._fill_table())
        self.text_filter = QLineEdit(self)
        self.text_filter.setPlaceholderText("Filter by title, CI or assignee")
        self.text_filter.setClearButtonEnabled(True)
        self.text_filter.textChanged.connect(lambda _t: self._fill_table())
        self.strip.layout_.addWidget(self.state_filter)
        self.strip.layout_.addWidget(self.text_filter, 1)
        self.note = QLabel(self)
        self.note.setProperty("role", "muted")
        self.strip.layout_.addWidget(self.note)

        self.model = RowsModel(
            ("Change", "Title", "Kind", "State", "Start", "End", "Risk", "Conflicts"), self
        )
        self.model.foreground = self._colour
        self.table = QTableView(self)
        self.table.setObjectName("changesTable")
        self.table.setModel(self.model)
        sortable(self.table)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._selected())

        self.calendar = ChangeCalendar(self)
        self.calendar.rescheduleRequested.connect(self._dragged)
        self.calendar.changeClicked.connect(self.select)
        self.mode = QComboBox(self)
        self.mode.addItems(["Week", "Month"])
        self.mode.currentIndexChanged.connect(
            lambda i: self.calendar.set_mode(WEEK if i == 0 else MONTH)
        )
        prev_button = QPushButton("◀", self)
        prev_button.setToolTip("Earlier (Ctrl+Alt+Left)")
        prev_button.setShortcut(QKeySequence("Ctrl+Alt+Left"))
        prev_button.clicked.connect(lambda: self.calendar.shift(-1))
        next_button = QPushButton("▶", self)
        next_button.setToolTip("Later (Ctrl+Alt+Right)")
        next_button.setShortcut(QKeySequence("Ctrl+Alt+Right"))
        next_button.clicked.connect(lambda: self.calendar.shift(1))
        self.undo_button = QPushButton("Undo", self)
        self.undo_button.setToolTip("Undo the last reschedule (Ctrl+Z)")
        self.undo_button.clicked.connect(self.undo_stack.undo)
        self.undo_stack.canUndoChanged.connect(self.undo_button.setEnabled)
        self.undo_button.setEnabled(False)
        undo = QShortcut(QKeySequence.StandardKey.Undo, self)
        undo.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        undo.activated.connect(self.undo_stack.undo)
        calendar_bar = QHBoxLayout()
        calendar_bar.addWidget(QLabel("Drag to reschedule", self))
        calendar_bar.addStretch(1)
        for w in (self.undo_button, self.mode, prev_button, next_button):
            calendar_bar.addWidget(w)
        calendar_box = QWidget(self)
        box = QVBoxLayout(calendar_box)
        box.setContentsMargins(4, 0, 4, 0)
        box.addLayout(calendar_bar)
        box.addWidget(self.calendar, 1)

        self.form = self._build_form()
        left = QSplitter(Qt.Orientation.Vertical, self)
        left.addWidget(self.table)
        left.addWidget(calendar_box)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(left)
        # In a scroll area: the form's rows (nine state buttons) must not widen the window.
        form_scroll = QScrollArea(self)
        form_scroll.setWidgetResizable(True)
        form_scroll.setWidget(self.form)
        split.addWidget(form_scroll)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.strip)
        layout.addWidget(split, 1)
        self._show_change(None)
        context.databaseChanged.connect(self.set_cmdb)
        context.bridge.changed.connect(self._changed)
        context.bridge.external.connect(lambda _catalogue: self._changed(None))
        if context.cmdb is not None:
            self.set_cmdb(context.cmdb)

    # -- the form -------------------------------------------------------------------
    def _build_form(self) -> QWidget:
        form = QWidget(self)
        form.setObjectName("changeForm")
        outer = QVBoxLayout(form)
        self.heading = QLabel(form)
        self.heading.setObjectName("changeHeading")
        self.heading.setWordWrap(True)
        outer.addWidget(self.heading)
        fields = QFormLayout()
        self.title_edit = QLineEdit(form)
        self.kind_edit = QComboBox(form)
        self.kind_edit.addItems([k.value for k in ChangeKind])
        self.start_edit = QDateTimeEdit(form)
        self.end_edit = QDateTimeEdit(form)
        for edit in (self.start_edit, self.end_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            edit.setTimeZone(QTimeZone.systemTimeZone())
        self.assignee_edit = QLineEdit(form)
        self.description_edit = QPlainTextEdit(form)
        self.description_edit.setMaximumHeight(70)
        fields.addRow("&Title", self.title_edit)
        fields.addRow("&Kind", self.kind_edit)
        fields.addRow("&Start", self.start_edit)
        fields.addRow("&End", self.end_edit)
        fields.addRow("&Assignee", self.assignee_edit)
        fields.addRow("&Description", self.description_edit)
        outer.addLayout(fields)
        self.save_button = QPushButton("Save", form)
        self.save_button.setShortcut(QKeySequence("Ctrl+Return"))
        self.save_button.setToolTip("Save the fields (Ctrl+Return)")
        self.save_button.clicked.connect(self.save_fields)
        outer.addWidget(self.save_button)
        self.states_row = QHBoxLayout()
        self.state_buttons: dict[str, QPushButton] = {}
        for state in ChangeState:
            button = QPushButton(state.value, form)
            button.clicked.connect(lambda _c=False, s=state.value: self.move_to(s))
            self.state_buttons[state.value] = button
            self.states_row.addWidget(button)
        self.states_row.addStretch(1)
        outer.addWidget(QLabel("Move to:", form))
        outer.addLayout(self.states_row)
        self.risk_label = QLabel(form)
        self.risk_label.setWordWrap(True)
        self.risk_label.setTextFormat(Qt.TextFormat.PlainText)
        outer.addWidget(self.risk_label)
        outer.addWidget(QLabel("Change set", form))
        self.cis_list = QListWidget(form)
        self.cis_list.setMaximumHeight(90)
        outer.addWidget(self.cis_list)
        ci_row = QHBoxLayout()
        self.add_cis_button = QPushButton("Add selected CIs", form)
        self.add_cis_button.setToolTip("Add the CIs selected in the table to the change set")
        self.add_cis_button.clicked.connect(self.add_selected_cis)
        self.remove_ci_button = QPushButton("Remove", form)
        self.remove_ci_button.clicked.connect(self.remove_ci)
        ci_row.addWidget(self.add_cis_button)
        ci_row.addWidget(self.remove_ci_button)
        ci_row.addStretch(1)
        outer.addLayout(ci_row)
        outer.addWidget(QLabel("Conflicts", form))
        self.conflicts_list = QListWidget(form)
        self.conflicts_list.setMaximumHeight(90)
        outer.addWidget(self.conflicts_list)
        outer.addWidget(QLabel("Approvals", form))
        self.approvals_list = QListWidget(form)
        self.approvals_list.setMaximumHeight(70)
        outer.addWidget(self.approvals_list)
        approve_row = QHBoxLayout()
        self.note_edit = QLineEdit(form)
        self.note_edit.setPlaceholderText("Note (approval, or outcome when it ends)")
        self.approve_button = QPushButton("Approve", form)
        self.approve_button.clicked.connect(lambda: self.decide("approve"))
        self.reject_button = QPushButton("Reject", form)
        self.reject_button.clicked.connect(lambda: self.decide("reject"))
        approve_row.addWidget(self.note_edit, 1)
        approve_row.addWidget(self.approve_button)
        approve_row.addWidget(self.reject_button)
        outer.addLayout(approve_row)
        outer.addStretch(1)
        return form

    def styled_parts(self) -> list[QWidget]:
        return [self.strip]

    def set_colours(self, colours: dict[str, str]) -> None:
        """The calendar paints with the palette; nothing to keep."""

    def _colour(self, row: int, col: int) -> str | None:
        if col != 6:
            return None
        return RISK_COLOURS.get(str(self.model.row_values(row)[6]))

    # -- loading --------------------------------------------------------------------
    def set_cmdb(self, cmdb: Cmdb | None) -> None:
        self.cmdb = cmdb
        self.board = None
        self.undo_stack.clear()
        self._fill_table()
        for action in (self.new_action, self.scenario_action, self.refresh_action):
            action.setEnabled(cmdb is not None)
        if cmdb is not None and not cmdb.may("write"):
            self.new_action.setEnabled(False)
            self.scenario_action.setEnabled(False)
        if cmdb is not None and self.isVisible():
            self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.board is None:
            self.refresh()

    def _changed(self, summary: ChangeSummary | None) -> None:
        """Conflicts and risk follow the CMDB: any write may change an impact."""
        if self.isVisible():
            self.refresh()
        else:
            self.board = None

    def refresh(self) -> None:
        if self.cmdb is None:
            return
        self.context.runner.submit(
            "Assessing changes",
            jobs_changes.load_board,
            self.cmdb,
            on_done=self.show_board,
            key="changes",
            replace=True,
        )

    def show_board(self, board: jobs_changes.ChangeBoard) -> None:
        self.board = board
        self._fill_table()
        self.calendar.set_data(
            [
                Bar(
                    a.change.id,
                    a.change.title,
                    a.change.state,
                    a.change.start,
                    a.change.end,
                    len(a.conflicts),
                )  # fmt: skip
                for a in board.assessments
            ],
            [Shade(w.name, w.kind, w.start, w.end) for w in board.windows],
        )

    def _matches(self, a: Assessment) -> bool:
        state = self.state_filter.currentText()
        c = a.change
        if state == ACTIVE and c.state not in ("Submitted", "Approved", "Scheduled",
                                               "In Progress"):  # fmt: skip
            return False
        if state not in (ALL_STATES, ACTIVE) and c.state != state:
            return False
        words = self.text_filter.text().strip().casefold()
        if not words:
            return True
        hay = " ".join([c.title, c.assignee or "", *(r.name for r in c.change_set)]).casefold()
        return words in hay

    def _fill_table(self) -> None:
        keep = self._select_after or (self.current.change.id if self.current else None)
        self._select_after = None
        all_ = self.board.assessments if self.board is not None else []
        self.shown = [a for a in all_ if self._matches(a)]
        rows = [
            (a.change.id, a.change.title, a.change.kind, a.change.state,
             local(a.change.start).strftime("%Y-%m-%d %H:%M"),
             local(a.change.end).strftime("%Y-%m-%d %H:%M"), a.risk.level, len(a.conflicts))
            for a in self.shown
        ]  # fmt: skip
        self.model.set_rows(rows, [a.change.id for a in self.shown])
        self.note.setText(f"{len(self.shown):,} of {len(all_):,} changes")
        if keep is None or not self.select(keep):
            self._show_change(None)

    def select(self, change_id: int) -> bool:
        for row in range(self.model.rowCount()):
            if self.model.ci_id(row) == change_id:
                self.table.selectRow(row)
                self.table.setCurrentIndex(self.model.index(row, 0))
                self._selected()
                return True
        return False

    def _selected(self) -> None:
        index = self.table.currentIndex()
        change_id = self.model.ci_id(index.row()) if index.isValid() else None
        found = next((a for a in self.shown if a.change.id == change_id), None)
        self._show_change(found)

    def _show_change(self, a: Assessment | None) -> None:
        self.current = a
        # a viewer's role, or the CMDB as it was: change records are read, not edited
        writes = self.cmdb is not None and self.cmdb.may("write")
        editable = writes and a is not None and a.change.state not in (
            "Completed", "Failed", "Backed Out", "Cancelled",
        )  # fmt: skip
        for w in (self.title_edit, self.kind_edit, self.start_edit, self.end_edit,
                  self.assignee_edit, self.description_edit, self.save_button,
                  self.add_cis_button, self.remove_ci_button):  # fmt: skip
            w.setEnabled(editable)
        self.pack_action.setEnabled(a is not None)
        for list_ in (self.cis_list, self.conflicts_list, self.approvals_list):
            list_.clear()
        allowed = {s.value for s in allowed_moves(a.change.state)} if a is not None else set()
        for state, button in self.state_buttons.items():
            button.setVisible(state in allowed)
            button.setEnabled(writes)
        takes_approvals = writes and a is not None and a.change.state == "Submitted"
        self.approve_button.setEnabled(takes_approvals)
        self.reject_button.setEnabled(takes_approvals)
        if a is None:
            self.heading.setText("Select a change, or make one from the table's selection.")
            self.risk_label.clear()
            self.risk_label.setToolTip("")
            return
        c = a.change
        self.heading.setText(
            f"Change #{c.id} · {c.state} · version {c.version} · requested by {c.requester}"
        )
        self.title_edit.setText(c.title)
        self.kind_edit.setCurrentText(c.kind)
        self.start_edit.setDateTime(to_qt(c.start))
        self.end_edit.setDateTime(to_qt(c.end))
        self.assignee_edit.setText(c.assignee or "")
        self.description_edit.setPlainText(c.description or "")
        if not self.calendar.shows(c.start):  # the calendar follows the change chosen
            self.calendar.show_time(c.start)
        # One reason a line, the ones behind the level first; the tooltip has them all.
        reasons = a.risk.reasons
        shown_reasons = [f"• {r}" for r in reasons[:RISK_REASONS_SHOWN]]
        if len(reasons) > RISK_REASONS_SHOWN:
            shown_reasons.append(f"… and {len(reasons) - RISK_REASONS_SHOWN:,} more")
        self.risk_label.setText("\n".join([f"Risk {a.risk.level}:", *shown_reasons]))
        self.risk_label.setToolTip("\n".join(reasons))
        for ref in c.change_set:
            self.cis_list.addItem(ref.label())
        names = {r.id: r.name for r in c.change_set}
        for k in a.conflicts:
            other = f"change #{k.with_change}" if k.with_change is not None else k.window
            shown = ", ".join(names.get(i, f"#{i}") for i in k.cis[:6])
            more = f" and {len(k.cis) - 6} more" if len(k.cis) > 6 else ""
            self.conflicts_list.addItem(f"{k.kind} with {other}: {shown}{more}")
        for p in c.approvals:
            note = f": {p['note']}" if p.get("note") else ""
            self.approvals_list.addItem(f"{p['decision']} by {p['who']} at {p['when']}{note}")

    # -- writing --------------------------------------------------------------------
    def _write(self, title: str, fn: Any, *args: Any, select: int | None = None) -> None:
        if self.cmdb is None:
            return

        def done(view: ChangeView) -> None:
            self._select_after = view.id
            self.context.show_message(f"{title}: change #{view.id}, version {view.version}.")
            self.refresh()

        def failed(exc: BaseException) -> None:
            self.context.report_error(title, exc)
            self.refresh()

        self.context.runner.submit(title, fn, self.cmdb, *args, on_done=done, on_error=failed)

    def save_fields(self) -> None:
        a = self.current
        if a is None:
            return
        fields = {
            "title": self.title_edit.text(),
            "kind": self.kind_edit.currentText(),
            "start": format_time(from_qt(self.start_edit.dateTime())),
            "end": format_time(from_qt(self.end_edit.dateTime())),
            "assignee": self.assignee_edit.text() or None,
            "description": self.description_edit.toPlainText() or None,
        }
        self._write("Saving the change", jobs_changes.update_change, a.change.id, fields,
                    a.change.version)  # fmt: skip

    def move_to(self, state: str) -> None:
        a = self.current
        if a is not None:
            note = self.note_edit.text().strip() or None
            self._write(f"Moving to {state}", jobs_changes.move_change, a.change.id, state, note,
                        a.change.version)  # fmt: skip

    def decide(self, decision: str) -> None:
        a = self.current
        if a is not None:
            note = self.note_edit.text().strip() or None
            self._write(f"Recording {decision}", jobs_changes.approve_change, a.change.id,
                        decision, note, a.change.version)  # fmt: skip

    def add_selected_cis(self) -> None:
        a = self.current
        ids = self.context.chosen_ids()
        if a is None:
            return
        if not ids:
            self.context.show_message("Select the CIs to add in the table first.")
            return
        self._write("Adding CIs", jobs_changes.edit_cis, a.change.id, ids, [], a.change.version)

    def remove_ci(self) -> None:
        a = self.current
        row = self.cis_list.currentRow()
        if a is None or row < 0 or row >= len(a.change.change_set):
            return
        ci = a.change.change_set[row].id
        self._write("Removing a CI", jobs_changes.edit_cis, a.change.id, [], [ci],
                    a.change.version)  # fmt: skip

    def _default_window(self) -> tuple[datetime, datetime]:
        start = datetime.now(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
        start += timedelta(days=1)
        return start, start + timedelta(hours=2)

    def new_from_selection(self) -> None:
        ids = self.context.chosen_ids()
        if not ids:
            self.context.show_message("Select the CIs of the change in the table first.")
            return
        start, end = self._default_window()
        self._write("New change", jobs_changes.add_change, "New change", start, end, ids)

    def new_from_scenario(self, name: str | None = None) -> None:
        if self.cmdb is None:
            return
        if name:
            start, end = self._default_window()
            self._write("Draft from scenario", jobs_changes.draft_from_scenario, name, start, end)
            return

        def choose(names: list[str]) -> None:
            if not names:
                self.context.show_message("No saved scenario: save one in the Impact workspace.")
                return
            picked, ok = QInputDialog.getItem(
                self, "Draft change from a scenario", "Scenario:", names, 0, False
            )
            if ok and picked:
                self.new_from_scenario(picked)

        self.context.runner.submit(
            "Loading scenarios", jobs_analysis.scenario_names, self.cmdb, on_done=choose,
            visible=False,
        )  # fmt: skip

    def ask_pack(self) -> None:
        a = self.current
        if a is None:
            return
        folder = self.context.last_folder / f"change-{a.change.id}.xlsx"
        path, _ = QFileDialog.getSaveFileName(
            self, "Change-board pack", str(folder), "Excel workbook (*.xlsx);;PDF (*.pdf)"
        )
        if path:
            self.write_pack(path)

    def write_pack(self, path: str) -> None:
        a = self.current
        if a is None or self.cmdb is None:
            return
        self.context.remember_folder(path)
        self.context.runner.submit(
            "Writing the board pack", jobs_changes.write_pack, self.cmdb, a.change.id, path,
            on_done=lambda p: self.context.show_message(f"Board pack written: {p}"),
            on_error=lambda exc: self.context.report_error("Board pack", exc),
        )  # fmt: skip

    # -- rescheduling ------------------------------------------------------------------
    def _dragged(self, change_id: int, start: datetime, end: datetime) -> None:
        found = next((a for a in (self.board.assessments if self.board else [])
                      if a.change.id == change_id), None)  # fmt: skip
        if found is None:
            return
        c = found.change
        command = RescheduleCommand(self, change_id, (c.start, c.end), (start, end), c.version + 1)
        self.reschedule(change_id, start, end, c.version, command=command)

    def reschedule(
        self, change_id: int, start: datetime, end: datetime, version: int, *,
        undoable: bool = True, command: RescheduleCommand | None = None,
    ) -> None:  # fmt: skip
        if self.cmdb is None:
            return

        def done(view: ChangeView) -> None:
            if command is not None:
                self.undo_stack.push(command)
            self._select_after = view.id
            self.context.show_message(
                f"Change #{view.id} moved to {local(view.start):%Y-%m-%d %H:%M}."
            )
            self.refresh()

        def failed(exc: BaseException) -> None:
            self.context.report_error("Rescheduling", exc)
            self.refresh()

        self.context.runner.submit(
            f"Rescheduling change #{change_id}", jobs_changes.reschedule, self.cmdb, change_id,
            start, end, version, on_done=done, on_error=failed,
        )  # fmt: skip
