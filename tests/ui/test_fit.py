"""Every main view fits the window people really use (issue 15).

At 1366×768, 1400×860 (the default) and 1920×1080, light and dark, with the
CI dock open on a business service, each main view — the table, the impact
workspace on a storage array, the graph, the health dashboard, the Changes,
Assets and What Changed workspaces — is walked
label by label, button by button, tab by tab, header by header and visible
cell by cell (:mod:`tests.ui.fit`): no text may be cut without a tooltip that
gives it whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from tests.ui.fit import clipped_texts

SIZES = [(1366, 768), (1400, 860), (1920, 1080)]


@pytest.mark.parametrize("mode", ["light", "dark"])
@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_main_view_fits(
    qtbot: Any, qapp: Any, settings: QSettings, demo_path: Path, mode: str, width: int, height: int
) -> None:
    from ui import screenshot
    from ui.main_window import MainWindow
    from ui.screenshot import settle
    from ui.theme import Theme

    theme = Theme(qapp, mode)
    window = MainWindow(settings, theme)
    window.interactive = False
    problems: list[str] = []
    try:
        window.resize(width, height)
        window.show()
        window.open_database(demo_path)
        assert settle(window)
        assert window.cmdb is not None
        service = window.cmdb.items.resolve("Business Service/Retail Banking")
        array = window.cmdb.items.resolve("Storage Device/ams1-array01")
        views = [("table", None), ("impact", array), ("graph", None), ("health", None)]
        views += [("changes", None), ("assets", None), ("diff", None)]
        for view, target in views:
            screenshot.VIEWS[view](window, target)
            window.dock("ci").show()
            window.show_ci(service)
            settle(window)
            problems += [f"{view}: {p}" for p in clipped_texts(window)]
            if window.width() > width:  # a view that widens the window cuts it off screen
                problems.append(f"{view}: the window grew to {window.width()} px")
        for tab in range(window.panel.tabs.count()):  # Details, Relationships, History
            window.panel.tabs.setCurrentIndex(tab)
            settle(window)
            problems += [f"CI panel tab {tab}: {p}" for p in clipped_texts(window.panel)]
    finally:
        window.close()
        theme.set_mode("light")
    assert problems == [], "\n".join(problems)
