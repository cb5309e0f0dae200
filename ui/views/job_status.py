"""The status bar's job indicator: what the worker is doing, its progress, cancel.

It appears only for visible jobs that last longer than ``SHOW_AFTER_MS``, so
quick jobs do not flicker.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QToolButton, QWidget

from ui.tasks import Task, TaskRunner
from ui.theme import icon
from ui.views.stable_label import StableLabel

SHOW_AFTER_MS = 300


class JobStatus(QWidget):
    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("jobStatus")
        self.runner = runner
        self.task: Task | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.label = StableLabel("Generating the demo CMDB (1,000,000 CIs)", self)
        self.bar = QProgressBar()
        self.bar.setFixedWidth(160)
        self.bar.setTextVisible(False)
        self.cancel_button = QToolButton()
        self.cancel_button.setIcon(icon("cancel"))
        self.cancel_button.setToolTip("Cancel this job (nothing is written)")
        self.cancel_button.setAutoRaise(True)
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.label)
        row.addWidget(self.bar)
        row.addWidget(self.cancel_button)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SHOW_AFTER_MS)
        self._timer.timeout.connect(self._appear)
        runner.started.connect(self._started)
        runner.progressed.connect(self._progressed)
        runner.finished.connect(self._finished)
        self.hide()

    def _started(self, task: Task) -> None:
        if not task.visible:
            return
        self.task = task
        self.label.setText(task.title)
        self.bar.setRange(0, 0)
        self.cancel_button.setEnabled(task.cancellable)
        if not self.isVisible():
            self._timer.start()

    def _appear(self) -> None:
        if self.task is not None:
            self.show()

    def _progressed(self, task: Task, phase: str, done: int, total: int) -> None:
        if task is not self.task:
            return
        if phase:
            self.label.setText(phase)
        if total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
            self.bar.setToolTip(f"{done:,} of {total:,}")
        else:
            self.bar.setRange(0, 0)

    def _finished(self, task: Task) -> None:
        if task is self.task:
            self.task = None
            self._timer.stop()
            self.hide()

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.label.setText("Cancelling…")
