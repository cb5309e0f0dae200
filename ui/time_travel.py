"""The CMDB as it was, in the main window (PRODUCT.md §11).

* :class:`AsOfPicker`: the toolbar's "as of" date and time (UTC, as the
  history shows times) with a *View as of* button and a drop-down of the
  baselines (named moments);
* :class:`AsOfBanner`: the bar under the toolbar that says which moment every
  view shows, read-only, with *Back to now*;
* :class:`TimeTravel` (``window.time_travel``): opens the CMDB as it was in the
  worker (:func:`ui.jobs_time_travel.open_as_of`: a rewound private copy, with
  progress and cancel) and shows it the way a CMDB is opened
  (:meth:`MainWindow._set_cmdb`), so every view follows the context to it.
  That copy is read-only (``Cmdb.read_only``), so ``Cmdb.may("write")`` is
  false and every editing action greys out exactly as it does for a viewer's
  role in team mode; *Back to now* shows the CMDB as it is again.

The context keeps the CMDB as it is now (:attr:`ui.context.AppContext.present`)
for what reads or writes the present (the What Changed workspace, baselines).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QDateTime, QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QDateTimeEdit,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolBar,
    QToolButton,
    QWidget,
)

from cmdb_desktop.asof import BaselineInfo
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import CancelledError
from cmdb_desktop.models import utcnow
from ui import jobs_time_travel
from ui.jobs_time_travel import AsOfOpened
from ui.tasks import Task
from ui.theme import icon
from ui.window_menus import make_action

if TYPE_CHECKING:
    from cmdb_desktop.asof import AsOfView
    from ui.main_window import MainWindow

#: How the picker writes a moment (what :func:`cmdb_desktop.asof.parse_moment` reads).
MOMENT_FORMAT = "yyyy-MM-ddTHH:mm:ss"
#: How the picker shows it.
DISPLAY_FORMAT = "yyyy-MM-dd HH:mm:ss"


def to_qt(moment: datetime) -> QDateTime:
    """A naive UTC moment as the picker holds it (its fields, no time zone)."""
    return QDateTime.fromString(moment.strftime("%Y-%m-%dT%H:%M:%S"), MOMENT_FORMAT)


class MomentEdit(QDateTimeEdit):
    """A date and time; Return or Enter asks to view the CMDB as of it (``submitted``)."""

    submitted = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class AsOfPicker(QWidget):
    """The toolbar's moment: a date and time (UTC), *View as of*, and the baselines.

    ``momentChosen(text)``: the user asked for the CMDB as of ``text`` (a time as
    :func:`cmdb_desktop.asof.parse_moment` reads it, or a baseline's name).
    """

    momentChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("asOfPicker")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.edit = MomentEdit(self)
        self.edit.setObjectName("asOfEdit")
        self.edit.setDisplayFormat(DISPLAY_FORMAT)
        self.edit.setCalendarPopup(True)
        self.edit.setDateTime(to_qt(utcnow()))
        self.edit.setToolTip(
            "See the CMDB as it was at this moment (UTC, as the history shows times): "
            "pick it, then press Enter or View as of (Ctrl+Shift+T)"
        )
        self.edit.submitted.connect(self.choose)
        self.go_button = QToolButton(self)
        self.go_button.setObjectName("asOfGo")
        self.go_button.setIcon(icon("history"))
        self.go_button.setAutoRaise(True)
        self.go_button.setToolTip("View the CMDB as it was at this moment, read-only")
        self.go_button.clicked.connect(self.choose)
        self.baselines_button = QToolButton(self)
        self.baselines_button.setObjectName("asOfBaselines")
        self.baselines_button.setIcon(icon("star"))
        self.baselines_button.setAutoRaise(True)
        self.baselines_button.setToolTip("Baselines: view the CMDB as it was at a named moment")
        self.baselines_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu = QMenu(self.baselines_button)
        self.menu.setObjectName("asOfBaselineMenu")
        self.baselines_button.setMenu(self.menu)
        self.baselines: list[BaselineInfo] = []
        self.add_baseline_action: QAction | None = None
        layout.addWidget(self.edit)
        layout.addWidget(self.go_button)
        layout.addWidget(self.baselines_button)
        self.set_baselines([])

    def moment_text(self) -> str:
        """The chosen moment as text :func:`~cmdb_desktop.asof.parse_moment` reads (UTC)."""
        return self.edit.dateTime().toString(MOMENT_FORMAT)

    def set_moment(self, moment: datetime) -> None:
        self.edit.setDateTime(to_qt(moment))

    def choose(self) -> None:
        """View the CMDB as of the moment in the date and time box."""
        self.momentChosen.emit(self.moment_text())

    def choose_baseline(self, name: str) -> None:
        """View the CMDB as of a baseline (and show its moment in the box)."""
        found = next((b for b in self.baselines if b.name == name), None)
        if found is not None:
            self.set_moment(found.at)
        self.momentChosen.emit(name)

    def focus(self) -> None:
        self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.edit.setSelectedSection(QDateTimeEdit.Section.DaySection)

    def set_add_baseline_action(self, action: QAction) -> None:
        self.add_baseline_action = action
        self.set_baselines(self.baselines)

    def set_baselines(self, baselines: list[BaselineInfo]) -> None:
        self.baselines = list(baselines)
        self.menu.clear()
        for b in self.baselines:
            action = self.menu.addAction(f"{b.name}  ({b.at:%Y-%m-%d %H:%M:%S} UTC)")
            action.setToolTip(f"Named by {b.user}")
            action.triggered.connect(lambda _c=False, n=b.name: self.choose_baseline(n))
        if not self.baselines:
            none = self.menu.addAction("No baselines yet")
            none.setEnabled(False)
        if self.add_baseline_action is not None:
            self.menu.addSeparator()
            self.menu.addAction(self.add_baseline_action)


class AsOfBanner(QWidget):
    """"Viewing the CMDB as of <moment> — read-only", with *Back to now*."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("asOfBanner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.setSpacing(8)
        self.label = QLabel(self)
        self.label.setObjectName("asOfBannerLabel")
        self.label.setProperty("role", "banner")
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.back_button = QPushButton(icon("back"), "Back to now", self)
        self.back_button.setObjectName("asOfBack")
        self.back_button.setToolTip("Show the CMDB as it is now, editable again (Alt+Home)")
        layout.addWidget(self.label, 1)
        layout.addWidget(self.back_button)

    def set_label(self, label: str) -> None:
        text = f"Viewing the CMDB as of {label} — read-only"
        self.label.setText(text)
        # the whole wording, should a narrow window cut it
        self.label.setToolTip(f"{text}: editing is off until you go back to now.")


class TimeTravel(QObject):
    """The window's time travel: the picker, the banner, their actions (see the module)."""

    #: The moment the window shows (a label), or None for now.
    momentChanged = Signal(object)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.context = context = window.context
        self.runner = context.runner
        self.view: AsOfView | None = None
        self._request = 0
        self._baselines_for: Cmdb | None = None

        self.picker = AsOfPicker(window)
        self.picker.momentChosen.connect(self.view_as_of)
        self.banner = AsOfBanner(window)
        self.banner.back_button.clicked.connect(self.back_to_now)
        self.bar = QToolBar("As of", window)
        self.bar.setObjectName("asOfBar")
        self.bar.setMovable(False)
        self.bar.setFloatable(False)
        self.bar.toggleViewAction().setVisible(False)  # shown while in the past, never by hand
        self.bar.addWidget(self.banner)
        self.banner.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

        self.pick_action = make_action(
            window,
            "View &As Of…",
            self.picker.focus,
            QKeySequence("Ctrl+Shift+T"),
            "history",
            "Pick a moment: every view shows the CMDB as it was then, read-only (Ctrl+Shift+T)",
        )
        self.now_action = make_action(
            window,
            "Back to &Now",
            self.back_to_now,
            QKeySequence("Alt+Home"),
            "back",
            "Show the CMDB as it is now, editable again (Alt+Home)",
        )
        self.add_baseline_action = make_action(
            window,
            "Name This Moment as a &Baseline…",
            self.ask_add_baseline,
            None,
            "star",
            "Name the CMDB as it is now, to view or compare with later",
        )
        self.picker.set_add_baseline_action(self.add_baseline_action)

        tb = window.toolbar
        tb.insertWidget(window.search_action, self.picker)
        tb.insertSeparator(window.search_action)
        window.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        window.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.bar)
        self.bar.hide()
        menu = window.menus["view"]
        first = menu.actions()[0]  # the docks' toggles come first in View
        menu.insertActions(first, [self.pick_action, self.now_action, self.add_baseline_action])
        menu.insertSeparator(first)
        context.databaseChanged.connect(self._database_changed)
        if window.theme is not None:
            window.theme.style(self.bar)
        self._update_actions()

    # -- state ---------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """Whether the window shows the CMDB as it was (not as it is now)."""
        return self.view is not None

    def restore_state(self) -> None:
        """The banner shows only while in the past (a saved layout must not bring it back)."""
        self.bar.setVisible(self.active)

    def _update_actions(self) -> None:
        present = self.context.present
        self.picker.setEnabled(present is not None)
        self.pick_action.setEnabled(present is not None)
        self.now_action.setEnabled(self.active)
        self.add_baseline_action.setEnabled(
            present is not None and not self.active and present.may("write")
        )

    def _database_changed(self, _cmdb: Cmdb | None) -> None:
        present = self.context.present
        if present is not self._baselines_for:
            self._baselines_for = present
            self.picker.set_baselines([])
            self.picker.set_moment(utcnow())
            if present is not None:
                self.load_baselines()
        self._update_actions()

    def load_baselines(self) -> None:
        present = self.context.present
        if present is None:
            return
        self.runner.submit(
            "Loading baselines",
            jobs_time_travel.baselines,
            present,
            on_done=lambda found: self._baselines_loaded(present, found),
            on_error=lambda _exc: None,  # an older file without baselines: none to offer
            key="baselines",
            replace=True,
            visible=False,
        )

    def _baselines_loaded(self, present: Cmdb, found: list[BaselineInfo]) -> None:
        if present is self.context.present:
            self.picker.set_baselines(found)

    # -- going back in time ----------------------------------------------------------
    def view_as_of(self, text: str) -> None:
        """Show every view on the CMDB as it was at ``text`` (a time or a baseline)."""
        present = self.context.present
        if present is None or not text.strip():
            return
        panel = self.window.panel
        if panel.dirty and not panel.confirm_discard():
            return
        self._request += 1
        request = self._request
        columns, limit, prefetch = self.window.browser.first_page_request()

        def arrived(result: AsOfOpened) -> None:
            self._arrived(request, present, result, task)

        task: Task = self.runner.submit(
            f"Opening the CMDB as of {text}",
            jobs_time_travel.open_as_of,
            present,
            text,
            columns,
            limit,
            prefetch,
            on_done=arrived,
            on_error=self._failed,
            deliver_if_cancelled=True,  # a view made anyway is closed, never left behind
            key="as-of",
            replace=True,
        )

    def _arrived(self, request: int, present: Cmdb, result: AsOfOpened, task: Task) -> None:
        view = result.view
        stale = (
            task.cancelled
            or request != self._request
            or present is not self.context.present
            or self.window._closing
        )
        if stale:
            self._close_view(view)
            return
        old = self.view
        self.view = view
        self.context.set_as_of(present, view.label)
        self.window._set_cmdb(view.cmdb, result.opened)
        if old is not None:
            self._close_view(old)
        self._shown(present, view)

    def _shown(self, present: Cmdb, view: AsOfView) -> None:
        window = self.window
        window.setWindowTitle(f"{present.describe()} as of {view.label} — CMDB Desktop")
        window.db_label.setText(f"{present.describe()} as of {view.label} (read-only)")
        self.picker.set_moment(view.moment)
        self.banner.set_label(view.label)
        self.bar.show()
        self._update_actions()
        self.momentChanged.emit(view.label)
        window.show_message(
            f"Showing the CMDB as it was at {view.label}, read-only; Alt+Home goes back to now."
        )

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, CancelledError):
            self.context.show_message("Stopped: the CMDB as it was is not shown.")
            return
        self.context.report_error("Cannot show the CMDB as it was", exc)

    def back_to_now(self) -> None:
        """Show the CMDB as it is now again (editing back on)."""
        if self.view is None:
            return
        panel = self.window.panel
        if panel.dirty and not panel.confirm_discard():
            return
        present = self.context.present
        self.runner.cancel("as-of")
        self._request += 1
        view = self.view
        self.view = None
        self.context.set_as_of(None, None)
        self.window._set_cmdb(present)
        self._close_view(view)
        self.bar.hide()
        self.picker.set_moment(utcnow())
        self._update_actions()
        self.momentChanged.emit(None)
        self.context.show_message("Showing the CMDB as it is now.")

    def leave(self) -> Cmdb | None:
        """The window closes its CMDB: forget the past (its copy is removed in the
        worker) and give back the CMDB as it is now, or None if not in the past."""
        self.runner.cancel("as-of")
        self._request += 1
        view = self.view
        if view is None:
            return None
        present = self.context.present
        self.view = None
        self.context.set_as_of(None, None)
        self._close_view(view)
        self.bar.hide()
        self._update_actions()
        self.momentChanged.emit(None)
        return present

    def close_now(self) -> None:
        """The window is gone and its worker stopped: remove the copy here."""
        view, self.view = self.view, None
        if view is not None:
            view.close()

    def _close_view(self, view: AsOfView) -> None:
        self.runner.submit(
            "Closing the CMDB as it was",
            jobs_time_travel.close_as_of,
            view,
            visible=False,
            cancellable=False,
        )

    # -- baselines -------------------------------------------------------------------
    def ask_add_baseline(self) -> None:
        present = self.context.present
        if present is None or self.active:
            return
        name, ok = QInputDialog.getText(
            self.window, "Name this moment", "Baseline name (e.g. audit-2026-q2):"
        )
        if ok and name.strip():
            self.add_baseline(name)

    def add_baseline(self, name: str) -> None:
        present = self.context.present
        if present is None:
            return

        def added(info: BaselineInfo) -> None:
            self.context.show_message(
                f"Baseline “{info.name}” names {info.at:%Y-%m-%d %H:%M:%S} UTC."
            )
            self.load_baselines()

        self.runner.submit(
            "Naming this moment",
            jobs_time_travel.add_baseline,
            present,
            name,
            on_done=added,
            on_error=lambda exc: self.context.report_error("Cannot add the baseline", exc),
            cancellable=False,
        )
