"""The dependency graph view on a small hand-made CMDB and on the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QImage

from cmdb_desktop.cmdb import Cmdb
from tests.ui.waits import settle


def small_cmdb(path: Path) -> dict[str, int]:
    """shop (Business Service) → web (Application) runs on vm1; vm1 hosted on host;
    host located in rack; db (Database) used by web; two feeds power the host."""
    ids: dict[str, int] = {}
    with Cmdb.open(path, user="tester") as c:
        for cls, name in [
            ("Business Service", "shop"),
            ("Application", "web"),
            ("Database", "db"),
            ("Virtual Machine", "vm1"),
            ("Server", "host"),
            ("Rack", "rack"),
            ("Power Device", "feed-a"),
            ("Power Device", "feed-b"),
            ("Workstation", "alone"),
        ]:
            ids[name] = c.items.create(cls, {"name": name, "status": "In Use"}).created[0]
        for a, rel, b in [
            ("shop", "Depends on", "web"),
            ("web", "Runs on", "vm1"),
            ("web", "Depends on", "db"),
            ("vm1", "Hosted on", "host"),
            ("host", "Located in", "rack"),
            ("host", "Powered by", "feed-a"),
            ("host", "Powered by", "feed-b"),
        ]:
            c.relations.relate(ids[a], rel, ids[b])
    return ids


def drawn_of(picture: Any, class_name: str) -> set[int]:
    """The CIs of a class drawn as boxes of their own."""
    return {n.ci_id for n in picture.nodes if n.ci_id is not None and n.class_name == class_name}


def wait_drawn(qtbot: Any, window: Any) -> Any:
    view = window.workbench.graph
    qtbot.waitUntil(lambda: view.result is not None and not window.runner.busy_with("graph"))
    settle(qtbot, window)
    return view


def test_graph_of_a_small_cmdb_shows_the_expected_nodes_and_edges(
    qtbot: Any, make_window: Any, tmp_path: Path
) -> None:
    db = tmp_path / "small.sqlite"
    ids = small_cmdb(db)
    window = make_window(db)
    window.show_ci(ids["web"])
    window.workbench.graph_action.trigger()
    assert window.workspaces.currentWidget() is window.workbench.graph
    view = wait_drawn(qtbot, window)
    view.depth_box.setValue(6)
    qtbot.waitUntil(lambda: view.result.request.depth == 6)
    wait_drawn(qtbot, window)
    canvas = view.canvas
    name = {v: k for k, v in ids.items()}
    drawn = {name[k] for k in canvas.items_by_key if isinstance(k, int)}
    assert drawn == {"shop", "web", "db", "vm1", "host", "rack", "feed-a", "feed-b"}
    edges = {(name[e.edge.upper], name[e.edge.lower], e.edge.label) for e in canvas.edge_items}
    assert edges == {
        ("shop", "web", "Depends on"),
        ("web", "vm1", "Runs on"),
        ("web", "db", "Depends on"),
        ("vm1", "host", "Hosted on"),
        ("host", "rack", "Located in"),
        ("host", "feed-a", "Powered by"),
        ("host", "feed-b", "Powered by"),
    }
    y = {name[k]: item.pos().y() for k, item in canvas.items_by_key.items()}
    assert y["shop"] < y["web"] < y["vm1"] < y["host"] < y["rack"] == y["feed-a"]
    assert canvas.items_by_key[ids["web"]].node.centre
    # what it depends on only
    view.direction.setCurrentIndex(view.direction.findData("upstream"))
    qtbot.waitUntil(lambda: view.result.request.direction == "upstream")
    wait_drawn(qtbot, window)
    drawn = {name[k] for k in canvas.items_by_key}
    assert drawn == {"web", "db", "vm1", "host", "rack", "feed-a", "feed-b"}
    # a click shows the CI's details
    canvas.nodeClicked.emit(ids["host"])
    settle(qtbot, window)
    assert window.panel.ci_id == ids["host"]


def test_focus_path_and_impact_colours(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    db = tmp_path / "small.sqlite"
    ids = small_cmdb(db)
    window = make_window(db)
    window.workbench.show_graph(ids["rack"], depth=1, direction="downstream")
    view = wait_drawn(qtbot, window)
    assert set(view.canvas.items_by_key) == {ids["rack"], ids["host"]}
    view.focus_path(ids["shop"])
    qtbot.waitUntil(lambda: view.result.request.path_to == ids["shop"])
    wait_drawn(qtbot, window)
    on_path = [n.node.ci_id for n in view.canvas.items_by_key.values() if n.node.on_path]
    assert set(on_path) == {ids[n] for n in ("rack", "host", "vm1", "web", "shop")}
    assert "rack → host → vm1 → web → shop" in view.note.text()
    assert all(e.edge.on_path for e in view.canvas.edge_items)
    # an impact in the workspace colours the graph
    window.workbench.impact.add_ids([ids["feed-a"], ids["feed-b"]])
    qtbot.waitUntil(lambda: window.workbench.impact.table is not None)
    wait_drawn(qtbot, window)
    qtbot.waitUntil(lambda: view.result.request.states is not None)
    wait_drawn(qtbot, window)
    state = {n.node.ci_id: n.node.state for n in view.canvas.items_by_key.values()}
    assert state[ids["host"]] == "down" and state[ids["shop"]] == "down"


def test_big_neighbourhoods_are_grouped_and_expand(
    qtbot: Any, make_window: Any, demo_path: Path, tmp_path: Path
) -> None:
    window = make_window(demo_path)
    dc = window.cmdb.items.resolve("Amsterdam DC1")
    window.workbench.show_graph(dc, depth=1, direction="downstream")
    view = wait_drawn(qtbot, window)
    picture = view.picture
    with Cmdb.open(demo_path) as other:
        total = len(other.analysis.neighbourhood(dc, 1, "downstream"))
    assert picture.total_cis == total > 100
    assert len(picture.nodes) < 40 and picture.groups
    group = max(picture.groups, key=lambda g: len(g.members))
    assert view.canvas.items_by_key[group.key].node.label == group.label
    before = drawn_of(picture, group.class_name)
    view.canvas.nodeDoubleClicked.emit(group.key)  # double-click: show more
    qtbot.waitUntil(lambda: view.picture is not picture)
    wait_drawn(qtbot, window)
    # (the drawing now holds more than 60 boxes: other classes may be aggregated,
    # the siblings the user opened never are)
    assert len(drawn_of(view.picture, group.class_name)) == len(before) + min(
        48, len(group.members)
    )
    # collapse the centre: everything hides behind groups; expand brings it back
    view.collapse(dc)
    qtbot.waitUntil(lambda: dc in view.result.request.collapsed)
    wait_drawn(qtbot, window)
    assert view.picture.ci_ids == {dc}
    view.expand(dc)
    qtbot.waitUntil(lambda: dc not in view.result.request.collapsed)
    wait_drawn(qtbot, window)
    # exports
    view.export(str(tmp_path / "g.png"))
    view.export(str(tmp_path / "g.svg"))
    settle(qtbot, window)
    image = QImage(str(tmp_path / "g.png"))
    assert image.width() > 500 and image.height() > 100
    assert b"<svg" in (tmp_path / "g.svg").read_bytes()[:2000]


def test_the_view_alone_redraws_when_the_graph_moves(
    qtbot: Any, make_context: Any, tmp_path: Path
) -> None:
    """Built with an AppContext and no main window: a new relationship redraws the
    neighbourhood (same centre and depth), an edit that moves no edge does not,
    and a group's *List them in the table* goes to the navigation."""
    from ui.views.graph_view import GraphView

    db = tmp_path / "small.sqlite"
    ids = small_cmdb(db)
    context = make_context(db)
    view = GraphView(context)
    qtbot.addWidget(view)
    view.show_ci(ids["host"], depth=1, direction="both")
    qtbot.waitUntil(lambda: view.result is not None and context.runner.is_idle())
    first = view.result
    assert ids["alone"] not in view.canvas.items_by_key
    # an owner changes: nothing drawn moves, nothing is drawn again
    done: list[Any] = []
    context.editor.bulk_set([ids["host"]], "owner", "Ops", "Owner", on_done=done.append)
    qtbot.waitUntil(lambda: bool(done) and context.runner.is_idle())
    assert view.result is first
    # the workstation now sits in the rack next to the host: the view redraws itself
    with qtbot.waitSignal(view.drawn, timeout=20_000):
        context.editor.relate(ids["alone"], "Connected to", ids["host"], ("alone", "host"))
    assert view.result is not first and view.result.request.centre == ids["host"]
    assert ids["alone"] in view.canvas.items_by_key
    # a click asks the navigation to show the CI
    view.canvas.nodeClicked.emit(ids["alone"])
    assert context.navigation.calls[-1] == ("show_ci", ids["alone"])
    assert context.errors == []


def test_fit_never_shrinks_text_below_readable(
    qtbot: Any, make_window: Any, demo_path: Path
) -> None:
    """Issue 15: Fit on a big drawing scrolls instead of shrinking it to a sliver."""
    from ui.views.graph_canvas import READABLE_ZOOM

    window = make_window(demo_path)
    dc = window.cmdb.items.resolve("Amsterdam DC1")
    window.workbench.show_graph(dc, depth=2, direction="both")
    view = wait_drawn(qtbot, window)
    view.canvas.zoom_by(0.1)
    view.fit_action.trigger()
    assert view.canvas.zoom() >= READABLE_ZOOM - 1e-9
    centre = next(i for i in view.canvas.items_by_key.values() if i.node.centre)
    shown = view.canvas.mapToScene(view.canvas.viewport().rect()).boundingRect()
    assert shown.contains(centre.sceneBoundingRect().center())  # the focus CI is in view


def test_big_drawings_aggregate_by_class_and_layer_and_open_on_demand(
    qtbot: Any, make_window: Any, demo_path: Path
) -> None:
    """Issue 15: beyond 60 boxes each class on each layer is one box with its count;
    lines between two boxes are drawn once, with one label; Enter on an aggregate
    opens it, the toolbar's toggle draws every box."""
    from PySide6.QtCore import Qt

    from ui.graph_layout import AGGREGATE_OVER

    window = make_window(demo_path)
    dc = window.cmdb.items.resolve("Amsterdam DC1")
    window.workbench.show_graph(dc, depth=2, direction="both")
    view = wait_drawn(qtbot, window)
    picture = view.picture
    assert picture.aggregates and len(picture.nodes) <= AGGREGATE_OVER
    canvas = view.canvas
    biggest = max(picture.aggregates, key=lambda a: len(a.members))
    box = canvas.items_by_key[biggest.key].node
    assert box.count >= len(biggest.members) >= 3
    assert box.label.startswith(f"{box.count:,} ")  # "80 Servers"
    assert "layer" in canvas.items_by_key[biggest.key].toolTip()
    assert not set(biggest.members) & set(canvas.items_by_key)
    # one line per pair of boxes, thick with its count; one label per line end
    pairs = [(e.edge.upper, e.edge.lower) for e in canvas.edge_items]
    assert len(pairs) == len(set(pairs))
    assert any(e.edge.count > 1 for e in canvas.edge_items)
    ends = [(lab.label.x, lab.label.y, lab.label.climbs) for lab in canvas.label_items]
    assert len(ends) == len(set(ends))
    assert any("×" in lab.label.text for lab in canvas.label_items)
    # a label or a name too long for its room is elided; the tooltip gives it whole
    assert all(lab.toolTip() == lab.label.text for lab in canvas.label_items)
    for item in canvas.items_by_key.values():
        assert item.toolTip().startswith(item.node.label)
    # Enter on the selected aggregate opens it: its members are boxes again
    canvas.setFocus()
    assert canvas.select(biggest.key)
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: biggest.key in view.result.request.expanded_aggregates)
    wait_drawn(qtbot, window)
    assert biggest.key not in canvas.items_by_key
    assert set(biggest.members) <= set(canvas.items_by_key)
    assert view.picture.aggregates  # the others stay closed
    # the toggle draws every box
    view.aggregate_action.trigger()
    qtbot.waitUntil(lambda: not view.result.request.aggregate)
    wait_drawn(qtbot, window)
    assert not view.picture.aggregates and len(view.picture.nodes) > AGGREGATE_OVER


def test_the_mini_map_shows_big_drawings_and_moves_the_view(
    qtbot: Any, make_window: Any, demo_path: Path, tmp_path: Path
) -> None:
    """Issue 15: a drawing bigger than the view gets a mini-map in the corner; a click
    on it centres the view there; a small graph has none."""
    from PySide6.QtCore import QPoint, Qt

    window = make_window(demo_path)
    view = window.workbench.graph
    view.set_aggregate(False)  # every box: far wider than the view
    dc = window.cmdb.items.resolve("Amsterdam DC1")
    window.workbench.show_graph(dc, depth=2, direction="both")
    view = wait_drawn(qtbot, window)
    canvas = view.canvas
    minimap = canvas.minimap
    qtbot.waitUntil(minimap.isVisible)
    # in the bottom-right corner of the view, the visible part outlined inside it
    port = canvas.viewport().geometry()
    assert port.contains(minimap.geometry())
    assert minimap.geometry().right() > port.center().x()
    outline = minimap.visible_rect()
    assert 0 < outline.width() < minimap.width()
    # a click at its left end brings the left end of the drawing into view
    before = canvas.mapToScene(canvas.viewport().rect().center())
    qtbot.mouseClick(minimap, Qt.MouseButton.LeftButton, pos=QPoint(3, minimap.height() // 2))
    after = canvas.mapToScene(canvas.viewport().rect().center())
    assert after.x() < before.x() or minimap.visible_rect().left() <= 1
    assert minimap.visible_rect().left() <= 1
    # a small graph: no mini-map
    db = tmp_path / "small.sqlite"
    ids = small_cmdb(db)
    window.open_database(db)
    settle(qtbot, window)
    window.workbench.show_graph(ids["web"], depth=1, direction="both")
    view = wait_drawn(qtbot, window)
    assert view.picture is not None and not minimap.isVisible()
