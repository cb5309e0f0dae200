"""A search box that finds one CI as you type (name, serial number, ``#ID``…).

Lookups run in the worker (through a :data:`~ui.views.editors.SearchFn`);
choosing a completion, or pressing Enter on a single match, emits
``picked(CiRef)`` and clears the box, ready for the next one.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget

from cmdb_desktop.items import CiRef
from cmdb_desktop.metamodel import Metamodel
from ui.models.ci_refs import CiRefListModel
from ui.theme import icon
from ui.views.editors import SearchFn


class CiSearchBox(QLineEdit):
    picked = Signal(object)

    def __init__(
        self,
        search: SearchFn,
        placeholder: str = "Add a CI: name, serial, #ID…",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._search = search
        self.meta: Metamodel | None = None
        self.setPlaceholderText(placeholder)
        self.setClearButtonEnabled(True)
        self.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.results = CiRefListModel(self)
        self.completer_ = QCompleter(self.results, self)
        self.completer_.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer_.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer_.activated[QModelIndex].connect(self._chosen)
        self.setCompleter(self.completer_)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(180)
        self._timer.timeout.connect(self._lookup)
        self.textEdited.connect(lambda _t: self._timer.start())
        self.returnPressed.connect(self._enter)

    def _lookup(self) -> None:
        text = self.text().strip()
        if text:
            self._search(text, None, self._deliver)

    def _deliver(self, refs: list[CiRef]) -> None:
        self.results.set_refs(refs, self.meta)
        if refs and self.hasFocus():
            self.completer_.complete()

    def _chosen(self, index: QModelIndex) -> None:
        ref = self.results.ref(index.row())
        if ref is not None:
            self.pick(ref)

    def _enter(self) -> None:
        refs = self.results.refs
        if len(refs) == 1 or (refs and refs[0].name.casefold() == self.text().strip().casefold()):
            self.pick(refs[0])

    def pick(self, ref: CiRef) -> None:
        self.picked.emit(ref)
        # the completer writes the name into the box after activation: clear later
        QTimer.singleShot(0, self.clear)
        self.results.set_refs([])
