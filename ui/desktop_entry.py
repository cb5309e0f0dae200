"""``cmdb-desktop --install-desktop-entry``: put CMDB Desktop in the desktop's menu.

On a freedesktop.org desktop (Linux, the BSDs) this writes
``applications/cmdb-desktop.desktop`` and the app icon
``icons/hicolor/scalable/apps/cmdb-desktop.svg`` under the user's data folder
(``platformdirs.user_data_path()``, ``~/.local/share`` unless ``XDG_DATA_HOME``
says otherwise). The entry starts the very ``cmdb-desktop`` that wrote it (its
absolute path), so it works from a pipx or virtualenv install that is not on
the menu's ``PATH``. Windows and macOS have no such entries: there the command
says how the installed ``cmdb-desktop`` is started instead.

No Qt here: the command runs without starting a GUI.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import resources
from cmdb_desktop.errors import ValidationError

APP_ID = "cmdb-desktop"


def _quote(arg: str) -> str:
    """An Exec= argument, quoted as the Desktop Entry Specification asks."""
    if not any(ch in arg for ch in " \t\n\"'\\><~|&;$*?#()`"):
        return arg
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
    return f'"{escaped}"'


def launcher() -> str:
    """The command that starts this installation's GUI."""
    here = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
    if here is not None and here.name.startswith(APP_ID) and here.is_file():
        return _quote(str(here))
    found = shutil.which(APP_ID)
    if found:
        return _quote(str(Path(found).resolve()))
    return f"{_quote(sys.executable)} -m ui.app"


def entry_text(exec_line: str, icon: str) -> str:
    return "\n".join(
        [
            "[Desktop Entry]",
            "Type=Application",
            "Version=1.5",
            "Name=CMDB Desktop",
            "GenericName=Configuration management database",
            "Comment=Configuration items, impact analysis, spreadsheet import and audit",
            f"Exec={exec_line}",
            f"Icon={icon}",
            "Terminal=false",
            "Categories=Office;Database;Qt;",
            "Keywords=CMDB;ITSM;inventory;impact;",
            "StartupWMClass=cmdb-desktop",
            "",
        ]
    )


def install(data_home: Path | None = None, platform: str | None = None) -> list[Path]:
    """Write the entry and its icon; return the files written.

    Raises :class:`ValidationError` (exit 2) where the desktop has no such entries."""
    platform = platform or sys.platform
    if platform.startswith(("win", "cygwin", "darwin")):
        raise ValidationError(
            "Desktop entries are a Linux/BSD desktop feature. On this system start CMDB "
            f"Desktop with the installed '{APP_ID}' command (pipx puts it on your PATH); "
            "pin it to the Start menu or Dock from there.",
            {"install-desktop-entry": "not a freedesktop.org desktop"},
        )
    if data_home is None:
        from platformdirs import user_data_path

        data_home = user_data_path()
    icon = data_home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    entry = data_home / "applications" / f"{APP_ID}.desktop"
    icon.parent.mkdir(parents=True, exist_ok=True)
    entry.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(resources.path("icons", "app.svg"), icon)
    entry.write_text(entry_text(launcher(), str(icon)), encoding="utf-8")
    return [entry, icon]
