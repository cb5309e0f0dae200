"""A search box that finds one CI as you type (name, serial number, ``#ID``…).

Lookups run in the worker (through a :data:`~ui.views.editors.SearchFn`);
choosing a completion, or pressing Enter on a single match, emits
``picked(CiRef)`` and clears the box, ready for the next one.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QLineEdit, QWidget

from cmdb_desktop.items import CiRef
from ui.theme import icon
from ui.views.editors import CiCompletion, SearchFn


class CiSearchBox(CiCompletion):
    picked = Signal(object)

    def __init__(
        self,
        search: SearchFn,
        placeholder: str = "Add a CI: name, serial, #ID…",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(search, self.pick, 180, parent)
        self.setPlaceholderText(placeholder)
        self.setClearButtonEnabled(True)
        self.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.returnPressed.connect(self._enter)

    def _enter(self) -> None:
        refs = self.model.refs
        if len(refs) == 1 or (refs and refs[0].name.casefold() == self.text().strip().casefold()):
            self.pick(refs[0])

    def pick(self, ref: CiRef) -> None:
        self.picked.emit(ref)
        # the completer writes the name into the box after activation: clear later
        QTimer.singleShot(0, self.clear)
        self.model.set_refs([])
