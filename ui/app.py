"""GUI entry point: ``cmdb-desktop [--db PATH_OR_URL] [--screenshot OUT.png …]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

from cmdb_desktop.cli.common import default_db_path
from cmdb_desktop.cmdb import Cmdb


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cmdb-desktop")
    parser.add_argument("--db", default=None, help="CMDB file or SQLAlchemy URL")
    parser.add_argument("--screenshot", metavar="OUT.png", help="render offscreen, save, exit")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    cmdb = Cmdb.open(args.db or default_db_path())
    window = QMainWindow()
    window.setWindowTitle(f"CMDB Desktop — {cmdb.describe()}")
    window.setCentralWidget(QLabel(f"{cmdb.items.count():,} CIs"))
    window.resize(800, 500)
    if args.screenshot:
        window.grab().save(args.screenshot)
        cmdb.close()
        return 0
    window.show()
    code = app.exec()
    cmdb.close()
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())
