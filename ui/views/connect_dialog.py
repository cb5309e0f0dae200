"""File › Connect to server…: open a CMDB on a team server (PRODUCT.md §12).

Saved connections (host, port, database, user, TLS) come from
:mod:`cmdb_desktop.connections`; the password is typed here or comes from the
OS keyring, and is never written to any settings file.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cmdb_desktop import connections
from cmdb_desktop.connections import SSL_MODES, Profile
from cmdb_desktop.errors import ValidationError

NEW = "New connection"


class ConnectDialog(QDialog):
    """Choose or describe a connection; :attr:`url` is what to open once accepted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Connect to a CMDB server")
        self.url: str | None = None
        self.profiles = connections.load()
        self.saved = QComboBox()
        self.saved.addItem(NEW)
        self.saved.addItems(sorted(self.profiles))
        self.saved.currentTextChanged.connect(self._choose)
        self.name = QLineEdit()
        self.host = QLineEdit()
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(5432)
        self.database = QLineEdit()
        self.user = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.sslmode = QComboBox()
        self.sslmode.addItems(SSL_MODES)
        self.sslmode.setCurrentText("prefer")
        self.rootcert = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_cert)
        cert_row = QHBoxLayout()
        cert_row.addWidget(self.rootcert)
        cert_row.addWidget(browse)
        self.remember = QCheckBox("Remember the password in the system keyring")
        has_keyring = connections.keyring_available()
        self.remember.setEnabled(has_keyring)
        self.remember.setChecked(has_keyring)
        if not has_keyring:
            self.remember.setToolTip(
                "No system keyring is available: the password is asked for each time."
            )
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.hide()
        form = QFormLayout()
        form.addRow("&Saved connection", self.saved)
        form.addRow("&Name", self.name)
        form.addRow("&Host", self.host)
        form.addRow("&Port", self.port)
        form.addRow("&Database", self.database)
        form.addRow("&User", self.user)
        form.addRow("Pass&word", self.password)
        form.addRow("&TLS mode", self.sslmode)
        form.addRow("CA &certificate", cert_row)
        form.addRow("", self.remember)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("&Connect")
        self.forget = buttons.addButton("&Forget", QDialogButtonBox.ButtonRole.DestructiveRole)
        self.forget.setEnabled(False)
        self.forget.clicked.connect(self._forget)
        buttons.accepted.connect(self._connect)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        if self.profiles:
            self.saved.setCurrentIndex(1)

    def _choose(self, name: str) -> None:
        profile = self.profiles.get(name)
        self.forget.setEnabled(profile is not None)
        if profile is None:
            return
        self.name.setText(profile.name)
        self.host.setText(profile.host)
        self.port.setValue(profile.port)
        self.database.setText(profile.database)
        self.user.setText(profile.user)
        self.sslmode.setCurrentText(profile.sslmode)
        self.rootcert.setText(profile.sslrootcert)
        self.password.clear()
        stored = connections.stored_password(profile) is not None
        self.password.setPlaceholderText("from the keyring" if stored else "")

    def _browse_cert(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "The server's CA certificate", "", "Certificates (*.crt *.pem);;All files (*)"
        )
        if path:
            self.rootcert.setText(path)

    def profile(self) -> Profile:
        """The connection as filled in (raises ValidationError saying what to fix)."""
        return Profile(
            name=self.name.text().strip() or self.host.text().strip(),
            host=self.host.text().strip(),
            port=self.port.value(),
            database=self.database.text().strip(),
            user=self.user.text().strip(),
            sslmode=self.sslmode.currentText(),
            sslrootcert=self.rootcert.text().strip(),
        )

    def _connect(self) -> None:
        try:
            profile = self.profile()
        except ValidationError as exc:
            self.problem.setText(str(exc))
            self.problem.show()
            return
        password = self.password.text() or connections.stored_password(profile)
        connections.save(profile)
        if self.password.text() and self.remember.isChecked():
            connections.store_password(profile, self.password.text())
        self.url = profile.url(password)
        self.accept()

    def _forget(self) -> None:
        name = self.saved.currentText()
        connections.remove(name)
        self.profiles.pop(name, None)
        self.saved.removeItem(self.saved.currentIndex())
