"""What the import and audit wizards share: pages whose *Next* runs a job, the
progress line with its Stop button, and the file and sheet pages.

A :class:`JobPage` does its work when the user presses *Next*: it starts a
job in the worker (reading the file, the dry run, the import) and returns
False from ``validatePage``; when the job succeeds the page moves on by
itself, when it fails the page stays and shows the message (a hostile or
broken file is refused with a message naming the problem, never a crash).
Stop, Back and Cancel cancel the job: a dry run or an audit writes nothing,
and a cancelled import rolls its one transaction back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from cmdb_desktop.errors import CancelledError, CmdbError
from importers.readers import EXTENSIONS
from ui import jobs_import
from ui.jobs_import import FileInfo, LoadedFile
from ui.tasks import Task
from ui.theme import icon

if TYPE_CHECKING:
    from ui.context import AppContext

NO_PROFILE = "No profile: suggest from the headers"
FILE_FILTER = "Spreadsheets (" + " ".join(f"*{e}" for e in EXTENSIONS) + ");;All files (*)"


class JobPanel(QWidget):
    """A job's progress inside a page: what it does, a bar, and Stop."""

    def __init__(self, context: AppContext, key: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.key = key
        self.task: Task | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setTextVisible(False)
        self.bar.setMaximumWidth(260)
        self.stop_button = QToolButton(self)
        self.stop_button.setIcon(icon("cancel"))
        self.stop_button.setText("Stop")
        self.stop_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.stop_button.clicked.connect(self.stop)
        row.addWidget(self.label, 1)
        row.addWidget(self.bar)
        row.addWidget(self.stop_button)
        context.runner.progressed.connect(self._progressed)
        self.hide()

    @property
    def busy(self) -> bool:
        return self.task is not None

    def run(
        self,
        title: str,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
        writes: bool = False,
    ) -> None:
        """Run ``fn`` in the worker; ``writes``: report what it did even when stopped."""

        def finished(callback: Callable[[Any], None]) -> Callable[[Any], None]:
            def call(value: Any) -> None:
                self.task = None
                self.hide()
                callback(value)

            return call

        def cancelled() -> None:
            self.task = None
            self.hide()
            on_error(CancelledError("Stopped: nothing was written."))

        self.label.setText(title + "…")
        self.bar.setRange(0, 0)
        self.show()
        self.task = self.context.runner.submit(
            title,
            fn,
            *args,
            on_done=finished(on_done),
            on_error=finished(on_error),
            on_cancelled=cancelled,
            deliver_if_cancelled=writes,
            key=self.key,
            visible=False,
        )

    def _progressed(self, task: Task, phase: str, done: int, total: int) -> None:
        if task is not self.task:
            return
        if phase:
            self.label.setText(phase + "…")
        if total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
        else:
            self.bar.setRange(0, 0)

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.label.setText("Stopping…")


class JobPage(QWizardPage):
    """A page whose *Next* runs :meth:`begin_next` (a job) before moving on."""

    def __init__(self, context: AppContext, key: str, title: str, subtitle: str = "") -> None:
        super().__init__()
        self.context = context
        self.setTitle(title)
        if subtitle:
            self.setSubTitle(subtitle)
        self.body = QVBoxLayout()
        self.panel = JobPanel(context, key, self)
        self.error = QLabel(self)
        self.error.setObjectName("pageError")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setStyleSheet("color: #c62828;")
        self.error.hide()
        outer = QVBoxLayout(self)
        outer.addLayout(self.body, 1)
        outer.addWidget(self.error)
        outer.addWidget(self.panel)
        self._advance = False

    def show_error(self, exc: BaseException | str | None) -> None:
        if exc is None:
            self.error.hide()
            return
        if isinstance(exc, str) or isinstance(exc, CmdbError):
            text = str(exc)
        else:
            text = f"Unexpected error: {exc}. Details are in the log."
        self.error.setText(text)
        self.error.show()

    def validatePage(self) -> bool:
        if self._advance:
            self._advance = False
            return True
        if not self.panel.busy:
            self.show_error(None)
            try:
                return self.begin_next()
            except CmdbError as exc:
                self.show_error(exc)
        return False

    def begin_next(self) -> bool:
        """Start the page's job and return False (:meth:`advance` moves on once it
        succeeded), or return True to move on at once (pages without a job)."""
        return True

    def advance(self) -> None:
        self._advance = True
        wizard = self.wizard()
        if wizard is not None and wizard.currentPage() is self:
            wizard.next()
        else:
            self._advance = False

    def cleanupPage(self) -> None:  # Back: stop what this page started
        self.panel.stop()
        super().cleanupPage()

    def isComplete(self) -> bool:
        return super().isComplete() and not self.panel.busy


class FilePage(JobPage):
    """Choose the file; it is opened in the worker to list its sheets."""

    def __init__(self, context: AppContext, key: str, title: str, subtitle: str) -> None:
        super().__init__(context, key, title, subtitle)
        self.info: FileInfo | None = None
        row = QHBoxLayout()
        self.path_edit = QLineEdit(self)
        self.path_edit.setObjectName("filePath")
        self.path_edit.setPlaceholderText("A spreadsheet: .xlsx .xlsm .xlsb .xls .ods .csv .tsv")
        self.path_edit.editingFinished.connect(lambda: self.set_file(self.path_edit.text()))
        # a path typed or pasted opens as soon as it names a spreadsheet: Next need not
        # wait for the field to lose focus (issue 15)
        self._typed = QTimer(self)
        self._typed.setSingleShot(True)
        self._typed.setInterval(250)
        self._typed.timeout.connect(self._typed_path)
        self.path_edit.textEdited.connect(self._edited)
        self._opening = ""
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self.browse)
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        self.body.addLayout(row)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.body.addWidget(self.summary)
        self.body.addStretch(1)

    def browse(self) -> None:
        start = (
            str(Path(self.path_edit.text()).parent)
            if self.path_edit.text()
            else str(self.context.last_folder)
        )
        path, _ = QFileDialog.getOpenFileName(self, "Choose a spreadsheet", start, FILE_FILTER)
        if path:
            self.context.remember_folder(path)
            self.set_file(path)

    def _edited(self, text: str) -> None:
        """Typing: a file opened for another path no longer counts (Next waits for the
        typed one), and the typed path opens once it names a spreadsheet."""
        if self.info is not None and str(self.info.path) != text.strip():
            self.info = None
            self.summary.setText("")
            self.completeChanged.emit()
        self._typed.start()

    def _typed_path(self) -> None:
        path = Path(self.path_edit.text().strip())
        if path.suffix.lower() in EXTENSIONS and path.is_file():
            self.set_file(str(path))

    def set_file(self, path: str) -> None:
        self._typed.stop()
        path = path.strip()
        if self.info is not None and str(self.info.path) == path:
            return
        self.path_edit.setText(path)
        self.info = None
        self.summary.setText("")
        self.show_error(None)
        self.completeChanged.emit()
        self._opening = path
        if not path:
            return
        self.panel.run(
            f"Opening {Path(path).name}",
            jobs_import.inspect_file,
            path,
            on_done=self._inspected,
            on_error=self._failed,
        )
        self.completeChanged.emit()

    def _inspected(self, info: FileInfo) -> None:
        if self.path_edit.text().strip() != self._opening:
            self.completeChanged.emit()  # typed on meanwhile: the typed path opens next
            self._typed.start()
            return
        self.info = info
        visible = [s for s in info.sheets if s.visible]
        text = f"{info.format.upper()} file, {len(visible)} sheet{'s' if len(visible) != 1 else ''}"
        hidden = len(info.sheets) - len(visible)
        if hidden:
            text += f" (and {hidden} hidden)"
        if info.warnings:
            text += ". " + " ".join(info.warnings)
        self.summary.setText(text + ".")
        self.completeChanged.emit()

    def _failed(self, exc: BaseException) -> None:
        self.info = None
        self.show_error(exc)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.info is not None and not self.panel.busy

    def validatePage(self) -> bool:
        return self.isComplete()


class SheetsPage(JobPage):
    """Tick the sheets to read (canonical or visible ones first) and pick a mapping
    profile; *Next* reads the chosen sheets in the worker into ``host.loaded``."""

    def __init__(self, host: SpreadsheetWizard, key: str, title: str, subtitle: str) -> None:
        super().__init__(host.context, key, title, subtitle)
        self.host = host
        self.list = QListWidget(self)
        self.list.setObjectName("sheetList")
        self.list.itemChanged.connect(lambda _i: self.completeChanged.emit())
        self.body.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Mapping profile", self))
        self.profiles = QComboBox(self)
        self.profiles.setObjectName("profileCombo")
        row.addWidget(self.profiles, 1)
        self.body.addLayout(row)

    def initializePage(self) -> None:
        info = self.host.file_page.info
        if info is not None:
            self.fill(info)
        self.profiles.clear()
        self.profiles.addItem(NO_PROFILE, None)
        for name in self.host.profiles:
            self.profiles.addItem(name, name)

    def begin_next(self) -> bool:
        info = self.host.file_page.info
        cmdb = self.context.cmdb
        assert info is not None and cmdb is not None

        def done(loaded: LoadedFile) -> None:
            self.host.loaded = loaded
            self.advance()

        self.panel.run(
            f"Reading {info.path.name}",
            jobs_import.load_file,
            cmdb,
            str(info.path),
            self.chosen(),
            self.profiles.currentData(),
            on_done=done,
            on_error=self.show_error,
        )
        return False

    def fill(self, info: FileInfo) -> None:
        self.list.clear()
        for sheet in info.sheets:
            label = sheet.name
            if sheet.role:
                label += f"   ({sheet.role})"
            if not sheet.visible:
                label += "   (hidden)"
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, sheet.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if sheet.default else Qt.CheckState.Unchecked)
            self.list.addItem(item)

    def chosen(self) -> list[str]:
        return [
            str(self.list.item(i).data(Qt.ItemDataRole.UserRole))
            for i in range(self.list.count())
            if self.list.item(i).checkState() == Qt.CheckState.Checked
        ]

    def set_chosen(self, names: list[str]) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            name = item.data(Qt.ItemDataRole.UserRole)
            item.setCheckState(Qt.CheckState.Checked if name in names else Qt.CheckState.Unchecked)

    def isComplete(self) -> bool:
        return bool(self.chosen()) and not self.panel.busy


class SpreadsheetWizard(QWizard):
    """What the import and audit wizards share: the application context, the worker's job
    key, the saved mapping profiles, the File and Sheets pages (the rest of the
    pages follow them) and Cancel that stops the running job."""

    def __init__(
        self,
        context: AppContext,
        key: str,
        profiles: list[str] | None,
        title: str,
        file_help: str,
        sheets_help: str,
    ) -> None:
        super().__init__(context.dialog_parent)
        self.setWindowTitle(title)
        self.context = context
        self.key = key
        self.profiles = list(profiles or [])
        self.loaded: LoadedFile | None = None
        self.file_page = FilePage(context, key, "File", file_help)
        self.sheets_page = SheetsPage(self, key, "Sheets", sheets_help)

    def add_pages(self, *pages: QWizardPage) -> None:
        """Add File, Sheets and then ``pages``; titles on top, Cancel never default."""
        for page in (self.file_page, self.sheets_page, *pages):
            self.addPage(page)
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.HaveHelpButton, False)
        # the file page holds one field: the wizard opens small and grows to show
        # the sheets, mappings and previews of the next pages (issue 15)
        self.resize(680, 300)
        self.currentIdChanged.connect(self._grow)

    def _grow(self, page_id: int) -> None:
        if page_id < 0 or self.page(page_id) is self.file_page:
            return
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        width, height = 1040, 720
        if screen is not None:
            width, height = min(width, screen.width() - 40), min(height, screen.height() - 60)
        if self.width() < width or self.height() < height:
            self.resize(max(self.width(), width), max(self.height(), height))

    def set_file(self, path: str | Path) -> None:
        self.file_page.set_file(str(path))

    def reject(self) -> None:
        """Cancel: stop whatever runs (a stopped job writes nothing) and close."""
        self.context.runner.cancel(self.key)
        super().reject()
