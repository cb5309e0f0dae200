"""``cmdb.analysis.subgraph``: the impact graph among chosen CIs, shaped like neighbourhood."""

from __future__ import annotations

import pytest

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import NotFoundError


def test_subgraph_keeps_only_edges_among_the_chosen_cis(cmdb: Cmdb) -> None:
    ids = {}
    for cls, name in [("Application", "web"), ("Virtual Machine", "vm"), ("Server", "host")]:
        ids[name] = cmdb.items.create(cls, {"name": name, "status": "In Use"}).created[0]
    cmdb.relations.relate(ids["web"], "Runs on", ids["vm"])
    cmdb.relations.relate(ids["vm"], "Hosted on", ids["host"])
    view = cmdb.analysis.subgraph([ids["web"], ids["host"], ids["vm"]])
    # edges point the way impact flows: host -> vm -> web
    assert set(view.edges) == {(ids["host"], ids["vm"]), (ids["vm"], ids["web"])}
    assert view.edges[ids["vm"], ids["web"]]["types"] == ["Runs on"]
    assert view.nodes[ids["web"]]["class"] == "Application"
    assert view.nodes[ids["web"]]["name"] == "web"
    assert "distance" not in view.nodes[ids["web"]]
    two = cmdb.analysis.subgraph([ids["web"], ids["host"]])
    assert set(two.nodes) == {ids["web"], ids["host"]} and not two.edges
    cmdb.items.update(ids["vm"], {"status": "Retired"})
    retired = cmdb.analysis.subgraph(list(ids.values()))
    assert ids["vm"] in retired.nodes and not retired.edges
    with pytest.raises(NotFoundError):
        cmdb.analysis.subgraph([999_999])
