"""Data as an older version or another program could have left it.

Today's write rules refuse two CIs of one identity (``R1`` and ``r1`` in one
class, one serial on two servers) and control characters in names and keys;
real CMDBs still hold such rows from before. Tests that check how the program
copes with them (ambiguous matches, duplicate findings, folding of odd keys)
write them here, straight into the table, past the rules.
"""

from __future__ import annotations

from typing import Any

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.models import ci_table, utcnow


def legacy_ci(cmdb: Cmdb, class_name: str, name: str, **columns: Any) -> int:
    """Insert a CI row as is (``columns``: ``ci`` columns such as ``serial_number``)."""
    info = cmdb.meta.get_class(class_name)
    now = utcnow()
    values = {"status": "In Use", **columns}
    with cmdb.write() as s:
        result = s.execute(
            ci_table.insert().values(
                class_id=info.id, name=name, created_at=now, updated_at=now, version=1, **values
            )
        )
        cmdb.bump(s, graph=True)
        return int(result.inserted_primary_key[0])
