"""The main window's actions, menus, toolbar and status bar.

Functions that build them onto a :class:`~ui.main_window.MainWindow` (which
keeps the actions as attributes, e.g. ``window.new_ci_action``, so later
parts can add them to their own menus). Shortcuts follow the platform's
standard keys where Qt has one (``QKeySequence.StandardKey``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QLabel, QLineEdit, QMessageBox, QToolBar, QWidget

from ui.theme import MODES, icon
from ui.views.job_status import JobStatus
from ui.views.stable_label import StableLabel

if TYPE_CHECKING:
    from ui.main_window import MainWindow

#: The table's search box waits this long after the last keystroke (ms).
SEARCH_DEBOUNCE_MS = 150


def make_action(
    window: MainWindow,
    text: str,
    slot: Any,
    shortcut: Any = None,
    icon_name: str = "",
    tip: str = "",
) -> QAction:
    action = QAction(text, window)
    if icon_name:
        action.setIcon(icon(icon_name))
        action.setData(icon_name)
    if shortcut is not None:
        if isinstance(shortcut, list):
            action.setShortcuts(shortcut)
        else:
            action.setShortcut(shortcut)
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(tip)
    action.triggered.connect(slot)
    return action


def build_actions(window: MainWindow) -> None:
    key = QKeySequence
    window.new_db_action = make_action(
        window,
        "&New CMDB…",
        window.ask_new_database,
        key("Ctrl+Shift+N"),
        "new",
        "Create an empty CMDB file",
    )
    window.open_action = make_action(
        window, "&Open…", window.ask_open_database, key.StandardKey.Open, "open", "Open a CMDB file"
    )
    window.connect_action = make_action(
        window,
        "&Connect to Server…",
        window.ask_connect,
        key("Ctrl+Shift+O"),
        "database",
        "Open a CMDB on a team server (PostgreSQL): a saved connection or a new one",
    )
    window.demo_action = make_action(
        window,
        "Create &Demo CMDB…",
        window.ask_create_demo,
        None,
        "database",
        "Create a CMDB filled with demo data",
    )
    window.save_copy_action = make_action(
        window,
        "Save a &Copy…",
        window.ask_save_copy,
        key("Ctrl+Shift+S"),
        "save",
        "Write a consistent copy of this CMDB",
    )
    window.close_action = make_action(
        window, "&Close", window.close_database, key.StandardKey.Close, "close", "Close this CMDB"
    )
    window.quit_action = make_action(window, "&Quit", window.close, key.StandardKey.Quit)
    window.find_action = make_action(
        window,
        "&Find",
        window.focus_search,
        key.StandardKey.Find,
        "search",
        "Search the CMDB (Ctrl+F)",
    )
    window.new_ci_action = make_action(
        window,
        "&New CI…",
        lambda: window.new_ci(),
        key.StandardKey.New,
        "new_ci",
        "Create a CI (Ctrl+N)",
    )
    window.edit_ci_action = make_action(
        window, "&Edit CI", window.edit_current, key("F2"), "edit", "Edit the current CI (F2)"
    )
    window.delete_action = make_action(
        window,
        "&Delete…",
        window.delete_selected,
        key.StandardKey.Delete,
        "delete",
        "Delete the selected CIs (Del)",
    )
    window.set_field_action = make_action(
        window,
        "Set &Field on Selection…",
        window.ask_bulk_set,
        None,
        "edit",
        "Give all selected CIs the same value",
    )
    window.add_relationship_action = make_action(
        window,
        "Add &Relationship…",
        window.add_relationship,
        key("Ctrl+L"),
        "link_add",
        "Relate the current CI to another one (Ctrl+L)",
    )
    window.deleted_history_action = make_action(
        window,
        "History of a &Deleted CI…",
        window.show_deleted_history,
        None,
        "history",
        "What happened to a CI that is gone (by #ID, Class/Name or name)",
    )
    window.back_action = make_action(
        window, "&Back", window.go_back, key("Alt+Left"), "back", "Previous CI (Alt+Left)"
    )
    window.forward_action = make_action(
        window, "&Forward", window.go_forward, key("Alt+Right"), "forward", "Next CI (Alt+Right)"
    )
    window.refresh_action = make_action(
        window,
        "&Refresh",
        window.refresh_all,
        key.StandardKey.Refresh,
        "refresh",
        "Reload everything (F5)",
    )
    window.class_manager_action = make_action(
        window,
        "&Class Manager…",
        window.open_class_manager,
        key("Ctrl+Shift+M"),
        "classes",
        "Classes, attributes and identification rules",
    )
    window.save_filter_action = make_action(
        window,
        "Save Current &Filter…",
        window.save_filter,
        None,
        "star",
        "Save what the table shows as a filter",
    )
    window.shortcuts_action = make_action(
        window, "&Keyboard Shortcuts", window.show_shortcuts, key("Ctrl+/")
    )
    window.about_action = make_action(window, "&About CMDB Desktop", window.show_about)
    window.panel.set_navigation_actions(window.back_action, window.forward_action)
    # The table's Delete works on the table; with focus elsewhere the
    # window's Delete would eat the key from line edits, so scope it.
    window.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    window.browser.table.addAction(window.delete_action)


def build_menus(window: MainWindow) -> None:
    bar = window.menuBar()
    window.menus = {}
    m = window.menus["file"] = bar.addMenu("&File")
    m.addActions([window.new_db_action, window.open_action, window.connect_action])
    window.recent_menu = m.addMenu("Open &Recent")
    m.addAction(window.demo_action)
    m.addSeparator()
    m.addActions([window.save_copy_action, window.close_action])
    m.addSeparator()
    m.addAction(window.quit_action)
    m = window.menus["edit"] = bar.addMenu("&Edit")
    m.addActions([window.editor.undo_action, window.editor.redo_action])
    m.addSeparator()
    m.addActions([window.browser.copy_action, window.browser.export_action])
    m.addSeparator()
    m.addAction(window.find_action)
    m = window.menus["ci"] = bar.addMenu("&CI")
    m.addActions(
        [
            window.new_ci_action,
            window.edit_ci_action,
            window.panel.save_action,
            window.panel.revert_action,
            window.delete_action,
        ]
    )
    m.addSeparator()
    m.addActions([window.set_field_action, window.add_relationship_action])
    m.addSeparator()
    m.addAction(window.deleted_history_action)
    m.addSeparator()
    m.addActions([window.back_action, window.forward_action])
    m = window.menus["view"] = bar.addMenu("&View")
    for dock in window._docks.values():
        m.addAction(dock.toggleViewAction())
    m.addAction(window.browser.columns_action)
    m.addSeparator()
    theme_menu = m.addMenu(icon("theme"), "&Theme")
    group = QActionGroup(window)
    window.theme_actions = {}
    for mode in MODES:
        action = theme_menu.addAction(
            mode.capitalize() if mode != "system" else "Follow the system"
        )
        action.setCheckable(True)
        action.setData(mode)
        group.addAction(action)
        action.triggered.connect(lambda _c=False, md=mode: window.set_theme(md))
        window.theme_actions[mode] = action
    current = window.theme.mode if window.theme is not None else "system"
    window.theme_actions[current].setChecked(True)
    m.addSeparator()
    m.addActions([window.save_filter_action, window.refresh_action])
    m = window.menus["tools"] = bar.addMenu("&Tools")
    m.addAction(window.class_manager_action)
    m = window.menus["help"] = bar.addMenu("&Help")
    m.addActions([window.shortcuts_action, window.about_action])


def build_toolbar(window: MainWindow) -> None:
    tb = window.toolbar = QToolBar("Main toolbar", window)
    tb.setObjectName("mainToolbar")
    tb.setMovable(False)
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
    tb.addActions([window.new_ci_action, window.delete_action])
    tb.addSeparator()
    tb.addActions([window.editor.undo_action, window.editor.redo_action])
    tb.addSeparator()
    tb.addActions([window.back_action, window.forward_action])
    tb.addSeparator()
    tb.addActions(
        [window.browser.export_action, window.class_manager_action, window.refresh_action]
    )
    spacer = QWidget()
    spacer.setSizePolicy(
        spacer.sizePolicy().horizontalPolicy().Expanding, spacer.sizePolicy().verticalPolicy()
    )
    tb.addWidget(spacer)
    window.search_box = QLineEdit(window)
    window.search_box.setObjectName("searchBox")
    window.search_box.setPlaceholderText("Search names, serials, owners, tags…  (Ctrl+F)")
    window.search_box.setClearButtonEnabled(True)
    window.search_box.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
    window.search_box.setMinimumWidth(220)
    window.search_box.setMaximumWidth(460)
    window.search_action = tb.addWidget(window.search_box)
    window.match_label = StableLabel("8,888,888 matches", window)
    window.match_label.setObjectName("matchLabel")
    window.match_label.setProperty("role", "muted")
    tb.addWidget(window.match_label)
    window._search_timer = QTimer(window)
    window._search_timer.setSingleShot(True)
    window._search_timer.setInterval(SEARCH_DEBOUNCE_MS)
    window._search_timer.timeout.connect(window.apply_search)
    window.search_box.textChanged.connect(lambda _t: window._search_timer.start())
    clear = QAction(window.search_box)
    clear.setShortcut(QKeySequence(Qt.Key.Key_Escape))
    clear.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
    clear.triggered.connect(window.search_box.clear)
    window.search_box.addAction(clear)


def build_status_bar(window: MainWindow) -> None:
    sb = window.statusBar()
    window.db_label = QLabel()
    window.db_label.setObjectName("dbLabel")
    right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    # labels that change often must not re-lay out (and so repaint) the window
    window.count_label = StableLabel("8,888,888 of 8,888,888 CIs", window, alignment=right)
    window.count_label.setObjectName("ciCountLabel")
    window.selection_label = StableLabel("88,888,888 selected", window, alignment=right)
    window.job_status = JobStatus(window.runner, window)
    sb.addWidget(window.db_label, 1)
    sb.addPermanentWidget(window.job_status)
    sb.addPermanentWidget(window.selection_label)
    sb.addPermanentWidget(window.count_label)


def show_shortcuts(window: MainWindow) -> None:
    rows = [
        ("Ctrl+F", "Search"),
        ("Ctrl+N", "New CI"),
        ("F2", "Edit the current CI"),
        ("Ctrl+S", "Save the CI"),
        ("Del", "Delete (asks first)"),
        ("Ctrl+Z / Ctrl+Y", "Undo / redo"),
        ("Alt+Left / Alt+Right", "Back / forward"),
        ("Ctrl+L", "Add a relationship"),
        ("Ctrl+C", "Copy the selection as text"),
        ("Ctrl+E", "Export the selection to .xlsx"),
        ("F5", "Refresh"),
        ("Ctrl+Shift+M", "Class manager"),
        ("Ctrl+O", "Open a CMDB"),
        ("Ctrl+I", "Assess the impact of the selection"),
        ("Ctrl+G", "Show the current CI in the graph"),
        ("Ctrl+Shift+I", "Import a spreadsheet"),
        ("Ctrl+Shift+T", "View the CMDB as it was at a moment (the as-of picker)"),
        ("Alt+Home", "Back to now (editable again)"),
        ("Ctrl+Shift+D", "What changed between two moments"),
        ("Ctrl+0 / Ctrl++ / Ctrl+-", "Graph: fit / zoom in / zoom out"),
    ]
    text = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in rows)
    QMessageBox.information(window, "Keyboard shortcuts", f"<table>{text}</table>")


def show_about(window: MainWindow) -> None:
    QMessageBox.about(
        window,
        "About CMDB Desktop",
        "<b>CMDB Desktop</b><br>An offline-first CMDB: CIs, relationships, "
        "impact analysis, spreadsheet import and audit.",
    )
