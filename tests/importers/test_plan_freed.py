"""A plan is freed as soon as it is dropped, without the cyclic garbage collector.

The planners pause the collector and hand what they made to its oldest
generation (:func:`importers.plan.gc_paused`); a reference cycle through a
plan would then keep every row of the file alive until some later full
collection, which would cost a second at a random moment.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from cmdb_desktop.cmdb import Cmdb
from importers.apply import import_file
from importers.export import export_workbook


def test_an_import_and_a_reimport_free_their_plans_without_the_collector(
    demo_cmdb: Cmdb, tmp_path: Path
) -> None:
    path = tmp_path / "export.xlsx"
    export_workbook(demo_cmdb, path)
    target = tmp_path / "fresh.sqlite"
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        with Cmdb.open(target, user="tester") as fresh:
            for cmdb, options in (
                (demo_cmdb, {}),  # unchanged re-import
                (fresh, {"skip_errors": True, "rejects_path": tmp_path / "rejects.xlsx"}),
                (fresh, {"dry_run": True}),
            ):
                result = import_file(cmdb, path, **options)  # type: ignore[arg-type]
                assert result.plan.rows
                plan, source = weakref.ref(result.plan), weakref.ref(result.plan.source)
                del result
                assert plan() is None and source() is None
    finally:
        if was_enabled:
            gc.enable()
