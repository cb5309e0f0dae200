"""The services view: a service's dependency layers and single points of failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cmdb_desktop.cmdb import Cmdb
from tests.ui.waits import settle
from ui import jobs_analysis
from ui.jobs import JobState


def test_layers_and_spofs_match_the_core(
    qtbot: Any, qtmodeltester: Any, make_window: Any, demo_path: Path
) -> None:
    window = make_window(demo_path)
    wb = window.workbench
    window.show_workspace("services")
    view = wb.services
    qtbot.waitUntil(lambda: view.services.count() > 0, timeout=10_000)
    with Cmdb.open(demo_path) as other:
        services = jobs_analysis.service_cis(JobState(), other)
        assert view.services.count() == len(services)
        target = services[0]
        depends = other.analysis.depends(target.id)
        spof = other.analysis.spof(target.id)
    view.services.activated.emit(0)
    qtbot.waitUntil(lambda: view.result is not None, timeout=20_000)
    settle(qtbot, window)
    assert [layer.class_name for layer in view.layer_map.layers] == [
        layer.class_name for layer in depends.layers
    ]
    assert view.model.rowCount() == len(depends.dependencies)
    qtmodeltester.check(view.model)
    flagged = {
        view.model.ci_id(r) for r in range(view.model.rowCount()) if view.model.row_values(r)[3]
    }
    assert flagged == {d.ci.id for d in spof.spof}
    # SPOFs come first and are red
    n = len(flagged)
    assert all(view.model.row_values(r)[3] == "yes" for r in range(n))
    assert view.model.index(0, 1).data(9) is not None  # ForegroundRole
    assert f"{len(spof.spof):,}" in view.title.text()
    # clicking a layer lists only that class
    first = depends.layers[0]
    view.layer_map.layerChosen.emit(first.class_name)
    assert view.model.rowCount() == first.cis
    # show in graph: upstream neighbourhood of the service
    view.graph_action.trigger()
    qtbot.waitUntil(lambda: wb.graph.result is not None, timeout=20_000)
    settle(qtbot, window)
    assert wb.graph.result.request.centre == target.id
    assert wb.graph.result.request.direction == "upstream"
