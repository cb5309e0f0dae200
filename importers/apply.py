"""Applying an import plan: one transaction, one batch, and the rejected rows.

:func:`apply_import` writes what an :class:`~importers.plan.ImportPlan`
classified, inside ONE write transaction, as one batch
(:class:`~cmdb_desktop.batches.BatchWriter`): bulk inserts of the created
CIs (one history record each, pointing at batch, sheet and row), one UPDATE
per changed CI with one history record per changed field, bulk inserts of the
new relationships. Rules:

* **All or nothing** by default: a plan with any error writes nothing (the
  result says ``written=False`` and carries every error).
* ``skip_errors=True`` commits the rows that passed and writes the rejected
  rows back as a workbook with an ``Error`` column (:func:`write_rejects`;
  ``result.rejects`` says where).
* The plan is re-checked inside the write transaction: if the CMDB changed
  since the dry run (another user, another process), the rows are classified
  again against the current data before anything is written, so a stale
  preview can never overwrite newer edits silently.
* Cancelling through the Progress (or any failure) rolls the whole
  transaction back: the batch is there completely or not at all.

:func:`import_file` is the one-call version the command line uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from sqlalchemy import select

from cmdb_desktop.batches import BatchWriter, CiChange, NewCi, NewRelationship
from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.models import CmdbState
from cmdb_desktop.progress import Progress
from importers.cells import safe_cell
from importers.mapping import ImportMapping
from importers.plan import (
    CREATED,
    ERROR,
    UPDATED,
    ImportPlan,
    RowError,
    gc_paused,
    load_source,
    plan_import,
    suggest_mapping,
)
from importers.workbook import KIND_CIS

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb


@dataclass
class ImportResult:
    """What an import did (or, for a dry run or a refused file, would do)."""

    plan: ImportPlan
    dry_run: bool
    batch_id: int | None = None
    written: bool = False
    rejects: Path | None = None
    summary: ChangeSummary | None = None

    @property
    def errors(self) -> list[RowError]:
        return self.plan.errors

    @property
    def warnings(self) -> list[str]:
        return self.plan.warnings

    def to_json(self) -> dict[str, Any]:
        """The ``import`` JSON of PRODUCT.md §6 (plus file, written, rejects)."""
        counts = self.plan.counts()
        return {
            "dry_run": self.dry_run,
            "batch": self.batch_id,
            "cis": counts["cis"],
            "relationships": counts["relationships"],
            "errors": [e.to_json() for e in self.plan.errors],
            "warnings": list(self.plan.warnings),
            "file": str(self.plan.source.path),
            "written": self.written,
            "rejects": str(self.rejects) if self.rejects else None,
        }


def import_file(
    cmdb: Cmdb,
    path: str | Path,
    *,
    mapping: ImportMapping | None = None,
    keys: list[list[str]] | None = None,
    blank: str | None = None,
    default_class: str | None = None,
    defaults: dict[str, Any] | None = None,
    sheets: Sequence[str] | None = None,
    dry_run: bool = False,
    skip_errors: bool = False,
    rejects_path: str | Path | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Read, map (profile + suggestions), plan and — unless ``dry_run`` — apply."""
    progress = progress or Progress()
    meta = cmdb.meta
    source = load_source(path, meta=meta, sheets=sheets, progress=progress)
    full = suggest_mapping(source, meta, mapping, blank=blank)
    if keys:
        full.keys = keys
    if defaults:
        full.defaults.update(defaults)
    if default_class:
        for sm in full.sheets:
            sm.default_class = sm.default_class or default_class
    plan = plan_import(cmdb, source, full, progress=progress)
    if dry_run:
        return ImportResult(plan, dry_run=True)
    return apply_import(
        cmdb, plan, skip_errors=skip_errors, rejects_path=rejects_path, progress=progress
    )


def apply_import(
    cmdb: Cmdb,
    plan: ImportPlan,
    *,
    skip_errors: bool = False,
    rejects_path: str | Path | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Write ``plan`` as one batch in one transaction (see the module docstring)."""
    progress = progress or Progress()
    if plan.errors and not (skip_errors and _row_errors_only(plan)):
        return ImportResult(plan, dry_run=False)
    summary: ChangeSummary | None = None
    batch_id: int | None = None
    with gc_paused(), cmdb.write() as s:
        generation = s.scalar(select(CmdbState.data_generation).where(CmdbState.id == 1))
        if int(generation or 0) != plan.generation:
            plan = plan_import(cmdb, plan.source, plan.mapping, progress=progress, session=s)
            if plan.errors and not (skip_errors and _row_errors_only(plan)):
                return ImportResult(plan, dry_run=False)
        if _has_work(plan):
            summary = _write(cmdb, s, plan, progress)
            batch_id = summary.batch_id
    if summary is not None:
        cmdb.notify(summary)
    result = ImportResult(plan, dry_run=False, batch_id=batch_id, written=True, summary=summary)
    if skip_errors and any(r.status == ERROR for r in plan.rows):
        target = Path(rejects_path) if rejects_path else default_rejects_path(plan.source.path)
        try:
            result.rejects = write_rejects(plan, target)
        except OSError as exc:
            plan.warnings.append(f"The rejected rows could not be written to {target}: {exc}.")
    return result


def _row_errors_only(plan: ImportPlan) -> bool:
    """True when every error belongs to rows (none to the file or the mapping as a whole)."""
    return all(e.sheet is not None for e in plan.errors)


def _has_work(plan: ImportPlan) -> bool:
    return any(r.status in (CREATED, UPDATED) for r in plan.rows)


def _write(cmdb: Cmdb, s: Any, plan: ImportPlan, progress: Progress) -> ChangeSummary:
    source = plan.source
    writer = BatchWriter(
        cmdb,
        s,
        kind="import",
        file=str(source.path),
        sheets=[sm.sheet for sm in plan.mapping.sheets if sm.kind != "skip"],
        mapping=plan.mapping.to_json(),
        progress=progress,
    )
    creates: list[tuple[int, NewCi]] = []
    updates: list[CiChange] = []
    rel_rows: list[int] = []
    for ref, outcome in enumerate(plan.rows):
        if outcome.kind == KIND_CIS:
            if outcome.status == CREATED:
                assert outcome.class_id is not None and outcome.name is not None
                creates.append(
                    (
                        ref,
                        NewCi(
                            outcome.class_id,
                            outcome.name,
                            outcome.values,
                            outcome.sheet,
                            outcome.row,
                        ),
                    )
                )
            elif outcome.status == UPDATED:
                assert outcome.ci_id is not None and outcome.class_id is not None
                updates.append(
                    CiChange(
                        outcome.ci_id,
                        outcome.class_id,
                        outcome.name or "",
                        outcome.changes,
                        outcome.custom,
                        outcome.sheet,
                        outcome.row,
                    )
                )
        elif outcome.status == CREATED:
            rel_rows.append(ref)
    total = len(creates) + len(updates) + len(rel_rows)
    progress.start("Writing", total)
    new_ids = writer.create_cis([c for _, c in creates], total=total)
    id_of_row = {ref: ci_id for (ref, _), ci_id in zip(creates, new_ids, strict=True)}
    writer.update_cis(updates, done_before=len(creates), total=total)
    rels: list[NewRelationship] = []
    rows = plan.rows
    for ref in rel_rows:
        o = rows[ref]
        assert o.rel is not None
        src, type_id, dst = o.rel
        # Ends: a CI id (> 0), or -(plan index + 1) of a CI this import creates.
        if src < 0:
            src = id_of_row[-src - 1]
        if dst < 0:
            dst = id_of_row[-dst - 1]
        rels.append(NewRelationship(src, type_id, dst, o.sheet, o.row))
    writer.create_relationships(rels, done_before=len(creates) + len(updates), total=total)
    return writer.finish(plan.counts())


# -- rejected rows -------------------------------------------------------------------


def default_rejects_path(source: Path) -> Path:
    """``<file>-rejects.xlsx`` beside the imported file (numbered if it exists)."""
    base = source.with_name(f"{source.stem}-rejects.xlsx")
    n = 2
    out = base
    while out.exists():
        out = source.with_name(f"{source.stem}-rejects-{n}.xlsx")
        n += 1
    return out


def write_rejects(plan: ImportPlan, path: str | Path) -> Path:
    """The rows with errors, as they were in the file, plus an ``Error`` column.

    One sheet per imported sheet that had rejected rows; the first column
    gives the row number in the original file. Every text cell goes through
    :mod:`importers.cells`, so nothing in it is evaluated as a formula.
    """
    out = Path(path)
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    fill = PatternFill("solid", start_color="FFF4CCCC")
    by_sheet: dict[str, list[Any]] = {}
    for outcome in plan.rows:
        if outcome.status == ERROR:
            by_sheet.setdefault(outcome.sheet, []).append(outcome)
    for table in plan.source.tables:
        rejected = by_sheet.get(table.sheet)
        if not rejected:
            continue
        ws = wb.create_sheet(_sheet_title(table.sheet))
        ws.freeze_panes = "A2"
        header = ["Row", *(c.original or c.header for c in table.columns), "Error"]
        cells = []
        for text in header:
            cell = safe_cell(ws, text)
            cell.font = bold
            cells.append(cell)
        cells[-1].fill = fill
        ws.append(cells)
        position = {n: i for i, n in enumerate(table.row_numbers)}
        for outcome in rejected:
            i = position.get(outcome.row)
            values = table.rows[i] if i is not None else []
            row = [outcome.row]
            for col in table.columns:
                raw = values[col.index] if col.index < len(values) else None
                row.append(None if raw == "" else raw)
            row.append(outcome.describe())
            ws.append([safe_cell(ws, v) for v in row])
    wb.save(out)
    return out


def _sheet_title(name: str) -> str:
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in name).strip("'")
    return (cleaned or "Rejected")[:31]
