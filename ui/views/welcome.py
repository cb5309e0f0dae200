"""What the window shows with no CMDB open: create the demo, a new one, or open one.

On the very first start (no CMDB in the default place yet) the demo offer
comes first, so a new user sees a realistic CMDB within seconds.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ui.theme import app_icon, icon


class WelcomePage(QWidget):
    """Signals: ``demoRequested(size)``, ``newRequested()``, ``openRequested()``,
    ``recentChosen(path)``."""

    demoRequested = Signal(int)
    newRequested = Signal()
    openRequested = Signal()
    recentChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        box = QVBoxLayout()
        box.setSpacing(10)
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(64, 64))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(logo)
        title = QLabel("CMDB Desktop")
        title.setProperty("role", "heading")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(title)
        self.intro = QLabel("No CMDB is open.")
        self.intro.setProperty("role", "subheading")
        self.intro.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.intro.setWordWrap(True)
        box.addWidget(self.intro)

        demo_row = QHBoxLayout()
        demo_row.addStretch(1)
        self.demo_button = QPushButton(icon("database"), "Create the demo CMDB")
        self.demo_button.setObjectName("demoButton")
        self.demo_button.setDefault(True)
        self.size_box = QSpinBox()
        self.size_box.setRange(100, 2_000_000)
        self.size_box.setSingleStep(1000)
        self.size_box.setValue(5000)
        self.demo_button.clicked.connect(lambda: self.demoRequested.emit(self.size_box.value()))
        self.size_box.setSuffix(" CIs")
        self.size_box.setGroupSeparatorShown(True)
        demo_row.addWidget(self.demo_button)
        demo_row.addWidget(self.size_box)
        demo_row.addStretch(1)
        box.addLayout(demo_row)

        row = QHBoxLayout()
        row.addStretch(1)
        new_button = QPushButton(icon("new"), "New empty CMDB…")
        new_button.clicked.connect(self.newRequested)
        open_button = QPushButton(icon("open"), "Open a CMDB…")
        open_button.clicked.connect(self.openRequested)
        row.addWidget(new_button)
        row.addWidget(open_button)
        row.addStretch(1)
        box.addLayout(row)

        self.recent_label = QLabel("Recent")
        self.recent_label.setProperty("role", "muted")
        box.addWidget(self.recent_label)
        self.recent = QListWidget()
        self.recent.setObjectName("recentList")
        self.recent.setMaximumHeight(140)
        self.recent.itemActivated.connect(
            lambda item: self.recentChosen.emit(item.data(Qt.ItemDataRole.UserRole))
        )
        self.recent.itemDoubleClicked.connect(
            lambda item: self.recentChosen.emit(item.data(Qt.ItemDataRole.UserRole))
        )
        box.addWidget(self.recent)

        centre = QHBoxLayout()
        centre.addStretch(1)
        centre.addLayout(box, 2)
        centre.addStretch(1)
        outer.addLayout(centre)
        outer.addStretch(2)

    def set_first_start(self, default_path: Path | None) -> None:
        """Say that this is the first start and where the demo will be written."""
        if default_path is None:
            self.intro.setText("No CMDB is open.")
        else:
            self.intro.setText(
                "Welcome! There is no CMDB yet. Create the demo CMDB to explore a realistic "
                f"data centre, or start an empty one.\nIt will be saved in {default_path}."
            )

    def set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        for path in paths:
            item = QListWidgetItem(icon("database"), Path(path).name)
            item.setToolTip(path)
            item.setData(Qt.ItemDataRole.UserRole, path)
            self.recent.addItem(item)
        self.recent.setVisible(bool(paths))
        self.recent_label.setVisible(bool(paths))
