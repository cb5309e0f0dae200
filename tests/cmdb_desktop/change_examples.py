"""CMDBs for the change-management tests (core and GUI tests share them)."""

from __future__ import annotations

from typing import Any

#: Two power feeds behind a group that needs one of them: the rack (and the payroll
#: service on it) survives either feed alone, not both. The rack is in room-1.
POWER: Any = (
    [
        ("Power Device", "pdu-a", {}),
        ("Power Device", "pdu-b", {}),
        ("Cluster", "feeds", {"redundancy_min_up": 1}),
        ("Rack", "rack1", {}),
        ("Site", "room-1", {}),
        ("Business Service", "Payroll", {"criticality": 1}),
    ],
    [
        ("pdu-a", "Member of", "feeds"),
        ("pdu-b", "Member of", "feeds"),
        ("rack1", "Powered by", "feeds"),
        ("rack1", "Located in", "room-1"),
        ("Payroll", "Depends on", "rack1"),
    ],
)

#: Three nodes behind a cluster that needs 50 % of them up: ceil(0.5·3) = 2.
PERCENT: Any = (
    [
        ("Server", "n1", {}),
        ("Server", "n2", {}),
        ("Server", "n3", {}),
        ("Cluster", "grid", {"redundancy_min_up_pct": 50}),
        ("Business Service", "Search", {"criticality": 2}),
    ],
    [
        ("n1", "Member of", "grid"),
        ("n2", "Member of", "grid"),
        ("n3", "Member of", "grid"),
        ("Search", "Depends on", "grid"),
    ],
)
