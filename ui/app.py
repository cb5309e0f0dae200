"""GUI entry point: ``cmdb-desktop [--db PATH_OR_URL] [--screenshot OUT.png
[--view table|ci|impact|graph|health|import] [--select CI] [--theme light|dark]]``.

Without ``--db`` the CMDB is the default one (``cmdb.sqlite`` in the user data
folder, ``$CMDB_DB`` overrides); on the very first start it does not exist
yet and the window offers to create the demo CMDB. With ``--screenshot`` the
window renders offscreen, is saved as a PNG and the program exits: 0 on
success, 2 on bad input (unknown CI, view not available, no CMDB).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Qt is imported when needed: --help and bad arguments start fast
    from PySide6.QtCore import QMessageLogContext, QtMsgType
    from PySide6.QtWidgets import QApplication

    MessageHandler = Callable[[QtMsgType, QMessageLogContext, str], Any]

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    from ui.screenshot import ALL_VIEWS

    parser = argparse.ArgumentParser(prog="cmdb-desktop", description="CMDB Desktop")
    parser.add_argument(
        "--db",
        default=None,
        metavar="PATH_OR_URL",
        help="CMDB file or SQLAlchemy URL (default: your user data folder)",
    )
    parser.add_argument(
        "--screenshot", metavar="OUT.png", help="render a view offscreen, save it as PNG and exit"
    )
    parser.add_argument(
        "--view",
        default="table",
        choices=ALL_VIEWS,
        help="which view --screenshot renders (default: table)",
    )
    parser.add_argument("--select", metavar="CI", help="#ID, Class/Name or a unique Name")
    parser.add_argument(
        "--theme",
        choices=("system", "light", "dark"),
        default=None,
        help="colour theme (default: as last chosen, else the system's)",
    )
    parser.add_argument(
        "--install-desktop-entry",
        action="store_true",
        help="add CMDB Desktop, with its icon, to the desktop's application menu and exit",
    )
    parser.add_argument(
        "--size",
        default="1400x860",
        metavar="WxH",
        help="window size for --screenshot (default 1400x860, the window's own default)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parse_args(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_BAD_INPUT
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.install_desktop_entry:
        return _install_desktop_entry()
    if args.screenshot:
        # never on screen, even on a desktop (no effect if Qt already started)
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        return _screenshot(args)
    return _interactive(args)


def _install_desktop_entry() -> int:
    from cmdb_desktop.errors import CmdbError
    from ui.desktop_entry import install

    try:
        written = install()
    except CmdbError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: cannot write the desktop entry: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for path in written:
        print(f"Wrote {path}")
    print("CMDB Desktop is in your application menu (log out and in if it does not show yet).")
    return EXIT_OK


def _app() -> QApplication:
    from PySide6.QtWidgets import QApplication

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("CMDB Desktop")
    app.setOrganizationName("cmdb-desktop")
    app.setDesktopFileName("cmdb-desktop")
    return app


#: What the offscreen platform says about every window it cannot resize for real.
OFFSCREEN_NOISE = ("This plugin does not support ",)


def _quiet_offscreen_warnings() -> MessageHandler | None:
    """Drop the offscreen platform's harmless notices; pass everything else on.

    Returns the previous handler (to put back when done)."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    def handler(kind: QtMsgType, _context: object, message: str) -> None:
        if message.startswith(OFFSCREEN_NOISE):
            return
        level = logging.WARNING if kind != QtMsgType.QtDebugMsg else logging.DEBUG
        logging.getLogger("qt").log(level, "%s", message)

    return qInstallMessageHandler(handler)


def _interactive(args: argparse.Namespace) -> int:
    from cmdb_desktop.db import default_db_path
    from ui.main_window import MainWindow, default_settings
    from ui.theme import Theme

    app = _app()
    settings = default_settings()
    theme = Theme(app, args.theme or str(settings.value("theme", "system")))
    window = MainWindow(settings, theme)
    target = args.db or str(default_db_path())
    if args.db or Path(target).exists():
        window.open_database(target)
    else:
        window.show_welcome(first_start=True)
    window.show()
    return int(app.exec())


def _screenshot(args: argparse.Namespace) -> int:
    from cmdb_desktop.db import default_db_path
    from ui import screenshot

    if args.view not in screenshot.VIEWS:
        print(
            f"error: the {args.view!r} view is not available yet "
            f"(available: {', '.join(screenshot.VIEWS)})",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"error: --size must look like 1400x860, not {args.size!r}", file=sys.stderr)
        return EXIT_BAD_INPUT
    target = args.db or str(default_db_path())
    if "://" not in target and not Path(target).exists():
        print(
            f"error: no CMDB at {target} (create one with `cmdb --db {target} demo`)",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    previous_handler = _quiet_offscreen_warnings()
    try:
        return _render(args, target, width, height)
    finally:
        from PySide6.QtCore import qInstallMessageHandler

        qInstallMessageHandler(previous_handler)


def _render(args: argparse.Namespace, target: str, width: int, height: int) -> int:
    from PySide6.QtCore import QSettings

    from cmdb_desktop.errors import CmdbError
    from ui import screenshot
    from ui.main_window import MainWindow
    from ui.theme import Theme

    app = _app()
    theme = Theme(app, args.theme or "light")
    with tempfile.TemporaryDirectory() as tmp:
        # a private settings file: the user's layout must not change the picture
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings, theme)
        window.interactive = False
        window.resize(width, height)
        window.show()
        failures: list[str] = []
        window.errorReported.connect(lambda _title, text: failures.append(text))
        window.open_database(target, create=False)
        try:
            screenshot.settle(window)
            if window.cmdb is None:
                print(f"error: cannot open {target}: {'; '.join(failures)}", file=sys.stderr)
                return EXIT_BAD_INPUT
            out = screenshot.take(window, args.view, args.select, args.screenshot)
        except CmdbError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        finally:
            window.close()
    print(out)
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
