"""CMDBs for the impact tests, built through the facade (core and GUI tests share them)."""

from __future__ import annotations

from typing import Any

from cmdb_desktop.cmdb import Cmdb

#: CIs ``(class, name, fields)`` and relationships ``(name, type, name)``.
Example = tuple[list[tuple[str, str, dict[str, Any]]], list[tuple[str, str, str]]]


def add(cmdb: Cmdb, cls: str, name: str, **fields: Any) -> int:
    values = {"name": name, "status": "In Use"}
    values.update({k: str(v) for k, v in fields.items()})
    return cmdb.items.create(cls, values).created[0]


def build(
    cmdb: Cmdb,
    cis: list[tuple[str, str, dict[str, Any]]],
    relationships: list[tuple[str, str, str]],
) -> dict[str, int]:
    """CIs ``(class, name, fields)`` and relationships ``(name, type, name)``; name → id."""
    ids = {name: add(cmdb, cls, name, **fields) for cls, name, fields in cis}
    for a, rtype, b in relationships:
        cmdb.relations.relate(ids[a], rtype, ids[b])
    return ids


#: host1 carries web1 (one of two VMs of a cluster with min up 1) and the database
#: of the shop; the shop needs both the cluster and the database.
SHOP: Example = (
    [
        ("Server", "host1", {}),
        ("Server", "host2", {}),
        ("Cluster", "web-cluster", {"redundancy_min_up": 1}),
        ("Virtual Machine", "web1", {}),
        ("Virtual Machine", "web2", {}),
        ("Database", "orders-db", {}),
        ("Business Service", "Web Shop", {"criticality": 1}),
    ],
    [
        ("web1", "Hosted on", "host1"),
        ("web2", "Hosted on", "host2"),
        ("web1", "Member of", "web-cluster"),
        ("web2", "Member of", "web-cluster"),
        ("orders-db", "Hosted on", "web1"),
        ("Web Shop", "Depends on", "web-cluster"),
        ("Web Shop", "Depends on", "orders-db"),
    ],
)
