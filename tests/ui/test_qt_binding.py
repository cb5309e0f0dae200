"""The installed Qt binding keeps Python's reference counts right.

PySide6 6.12.0 (under Python 3.11, where ``None`` is not immortal) drops a
reference to ``None`` each time a method returning ``void`` is called; after a
few thousand calls -- one repaint of the graph view makes hundreds -- the
interpreter aborts ("deallocating None"). pyproject.toml excludes it; this
test catches a bad binding before a user does.
"""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtCore import QObject, QRectF, QSize
from PySide6.QtGui import QColor, QImage, QPainter


def test_void_calls_keep_none_alive(qapp: Any) -> None:
    image = QImage(QSize(8, 8), QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    obj = QObject()
    before = sys.getrefcount(None)
    for _ in range(200):
        painter.save()
        painter.fillRect(QRectF(0, 0, 2, 2), QColor("red"))
        painter.restore()
        obj.setObjectName("x")
    after = sys.getrefcount(None)
    painter.end()
    assert after >= before - 50, f"None lost {before - after} references in 800 void calls"
