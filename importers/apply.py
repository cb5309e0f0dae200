"""Applying an import: one flow, one transaction, one batch, and the rejected rows.

The flow is the same for the command line, the GUI and the tests: **plan**
(:func:`importers.plan.plan_import`, the dry run, writes nothing), then
**apply** (:func:`apply_import`). :func:`import_file` is read + map + plan
or apply in one call.

:func:`apply_import` takes either a plan (the GUI's preview) or an
:class:`ImportRequest` (file and mapping, not planned yet). Inside ONE write
transaction it writes one batch (:class:`~cmdb_desktop.batches.BatchWriter`):

* a plan whose CMDB has not changed since it was made is written as planned;
* otherwise (a request, or a stale plan: another user or process wrote
  meanwhile) the rows are planned inside the write transaction — so nothing
  can go stale — and, as a strategy of its own, the new CIs are moved in on
  a helper thread while the relationships are still being checked (SQLite
  runs those statements without the GIL).

Rules either way:

* **All or nothing** by default: a plan with any error writes nothing (the
  result says ``written=False`` and carries every error).
* ``skip_errors=True`` commits the rows that passed and writes the rejected
  rows back as a workbook with an ``Error`` column (:func:`write_rejects`;
  ``result.rejects`` says where).
* Cancelling through the Progress (or any failure) rolls the whole
  transaction back: the batch is there completely or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl.styles import Font, PatternFill
from sqlalchemy import select

from cmdb_desktop.batches import BatchWriter, CiChange, NewCi, NewRelationship
from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.models import CmdbState
from cmdb_desktop.progress import Progress
from cmdb_desktop.vocabulary import BatchKind
from importers.cells import new_workbook, safe_cell
from importers.mapping import ImportMapping
from importers.outcomes import row_records
from importers.plan import (
    CREATED,
    ERROR,
    UPDATED,
    ImportPlan,
    ImportSource,
    PlanContext,
    ReadAhead,
    RowError,
    RowOutcome,
    gc_paused,
    load_source,
    plan_import,
    suggest_mapping,
)
from importers.plan_cis import read_ahead
from importers.reconcile import fields_for
from importers.workbook import KIND_CIS

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb
    from cmdb_desktop.model_spec import ModelPlan
    from importers.new_attributes import NewAttribute


@dataclass
class ImportResult:
    """What an import did (or, for a dry run or a refused file, would do)."""

    plan: ImportPlan
    dry_run: bool
    batch_id: int | None = None
    written: bool = False
    rejects: Path | None = None
    summary: ChangeSummary | None = None
    #: What the workbook's Model sheet adds to the data model (created before the
    #: rows, or only listed by a dry run); None without a Model sheet.
    model: ModelPlan | None = None
    #: Attributes added for unmapped columns (``create_attributes``; a dry run's proposals).
    new_attributes: list[NewAttribute] = field(default_factory=list)

    @property
    def errors(self) -> list[RowError]:
        return self.plan.errors

    @property
    def warnings(self) -> list[str]:
        return self.plan.warnings

    def to_json(self) -> dict[str, Any]:
        """The ``import`` JSON of PRODUCT.md §6 (plus file, written, rejects, and
        ``rows``: every row's outcome, key, CI, changes and errors, see
        :func:`importers.outcomes.row_records`)."""
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
            "rows": row_records(self.plan),
            "model": self.model.to_json() if self.model is not None else None,
            "new_attributes": [a.to_json() for a in self.new_attributes],
        }


@dataclass
class ImportRequest:
    """A file read and mapped, to be planned inside the write (no dry run first).

    ``ahead`` is what was read from the CMDB while the file loaded
    (:func:`importers.plan_cis.read_ahead`), used only if nothing was written since.
    """

    source: ImportSource
    mapping: ImportMapping
    ahead: ReadAhead | None = None


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
    create_attributes: bool = False,
) -> ImportResult:
    """Read, map (profile + suggestions), then plan (``dry_run``) or apply.

    ``create_attributes``: unmapped columns of CIs sheets become new attributes
    of their sheet's class (:mod:`importers.new_attributes`): listed by a dry
    run, added before the rows are written, removed again if nothing is
    written, and remembered by the batch so its rollback removes them too."""
    progress = progress or Progress()
    meta = cmdb.meta
    ahead: list[ReadAhead | None] = [None]

    def while_loading(busy: Callable[[], bool]) -> None:
        # The CMDB's rows are read while calamine loads the first sheet (it runs
        # without the GIL); the plan uses them if nothing was written meanwhile.
        fields = fields_for(meta, keys or (mapping.keys if mapping is not None else None))
        ahead[0] = read_ahead(cmdb, fields, busy)

    source = load_source(
        path,
        meta=meta,
        sheets=sheets,
        progress=progress,
        defer_relationships=True,
        while_loading=while_loading,
    )
    model = _adopt_model(cmdb, source, dry_run) if sheets is None else None
    if model is not None and not model.empty and not dry_run:
        meta = cmdb.meta
    full = suggest_mapping(source, meta, mapping, blank=blank)
    if keys:
        full.keys = keys
    if defaults:
        full.defaults.update(defaults)
    if default_class:
        for sm in full.sheets:
            sm.default_class = sm.default_class or default_class
    new_attrs: list[NewAttribute] = []
    if create_attributes:
        from importers.new_attributes import propose

        new_attrs = propose(source, full, cmdb.meta)
    if dry_run:
        plan = plan_import(cmdb, source, full, progress=progress, ahead=ahead[0])
        _model_notes(plan, model, dry_run=True)
        plan.warnings.extend(f"Would add {a.describe()}." for a in new_attrs)
        return ImportResult(plan, dry_run=True, model=model, new_attributes=new_attrs)
    request = ImportRequest(source, full, None if new_attrs else ahead[0])
    result = apply_with_new_attributes(
        cmdb,
        request,
        new_attrs,
        skip_errors=skip_errors,
        rejects_path=rejects_path,
        progress=progress,
    )
    _model_notes(result.plan, model, dry_run=False)
    result.model = model
    return result


def apply_with_new_attributes(
    cmdb: Cmdb,
    request: ImportRequest,
    new_attrs: Sequence[NewAttribute],
    *,
    skip_errors: bool = False,
    rejects_path: str | Path | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Add ``new_attrs`` (their columns in ``request.mapping`` are mapped to them), then
    plan and write the request as one batch that remembers them, so rolling it back
    removes them; an import that writes nothing (refused, stopped, failed) keeps none."""
    new_attrs = list(new_attrs)
    if new_attrs:
        from cmdb_desktop.history import Source
        from cmdb_desktop.vocabulary import ChangeSource
        from importers.new_attributes import create

        path = request.source.path
        create(cmdb, new_attrs, request.mapping, Source(ChangeSource.IMPORT, file=str(path)))
        request = ImportRequest(request.source, request.mapping)
    try:
        result = apply_import(
            cmdb, request, skip_errors=skip_errors, rejects_path=rejects_path, progress=progress
        )
    except BaseException:
        _take_back(cmdb, new_attrs)
        raise
    names = [f"{a.class_name}.{a.key}" for a in new_attrs]
    if new_attrs and result.batch_id is not None:
        cmdb.batches.note_created_attributes(result.batch_id, names)
    elif new_attrs:
        _take_back(cmdb, new_attrs)
    if result.batch_id is not None:
        result.plan.warnings.extend(f"Added {a.describe()}." for a in new_attrs)
    result.new_attributes = new_attrs if result.batch_id is not None else []
    return result


def _take_back(cmdb: Cmdb, new_attrs: list[NewAttribute]) -> None:
    """An import that wrote nothing keeps none of the attributes it added."""
    for a in new_attrs:
        cmdb.classes.delete_attribute(a.class_name, a.key)


def _adopt_model(cmdb: Cmdb, source: ImportSource, dry_run: bool) -> ModelPlan | None:
    """Read the workbook's Model sheet and plan (dry run) or create what the CMDB lacks,
    before the rows are planned (they may use the new classes and attributes)."""
    from cmdb_desktop.history import Source
    from cmdb_desktop.model_spec import plan_model
    from cmdb_desktop.vocabulary import ChangeSource
    from importers.model_sheet import MODEL_SHEET, read_model_rows

    if MODEL_SHEET not in source.sheet_names:  # no second opening of the file for nothing
        return None
    path = source.path
    rows = read_model_rows(path)
    if not rows:
        return None
    model = plan_model(cmdb, rows)
    if not dry_run and not model.empty:
        model.apply(cmdb, Source(ChangeSource.IMPORT, file=str(path)))
    return model


def _model_notes(plan: ImportPlan, model: ModelPlan | None, *, dry_run: bool) -> None:
    if model is None:
        return
    verb = "would add" if dry_run else "added"
    for line in model.describe():
        plan.warnings.append(f"Model sheet {verb} {line}.")
    if dry_run and (model.classes or model.attributes):
        plan.warnings.append(
            "Rows of classes or columns of attributes the Model sheet adds are checked "
            "once the model is in place (when the import is applied)."
        )
    plan.warnings.extend(model.warnings)


def apply_import(
    cmdb: Cmdb,
    what: ImportPlan | ImportRequest,
    *,
    skip_errors: bool = False,
    rejects_path: str | Path | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Write a plan, or plan and write a request, as one batch in one transaction
    (see the module docstring)."""
    progress = progress or Progress()
    if isinstance(what, ImportPlan) and not _writable(what, skip_errors):
        return ImportResult(what, dry_run=False)
    try:
        # The BatchWriter checks what it inserts refers to rows that exist.
        with gc_paused(), cmdb.write(checked_bulk=True) as s:
            write = _ImportWrite(cmdb, s, skip_errors, progress)
            generation = s.scalar(select(CmdbState.data_generation).where(CmdbState.id == 1))
            if isinstance(what, ImportPlan) and int(generation or 0) == what.generation:
                plan = what
                summary = write.planned(plan)
            else:
                request = (
                    what
                    if isinstance(what, ImportRequest)
                    else ImportRequest(what.source, what.mapping)
                )
                plan, summary = write.streamed(request)
    except _Refused as refused:
        return ImportResult(refused.plan, dry_run=False)
    if summary is not None:
        cmdb.notify(summary)
    result = ImportResult(
        plan,
        dry_run=False,
        batch_id=summary.batch_id if summary else None,
        written=True,
        summary=summary,
    )
    _rejects(result, skip_errors, rejects_path)
    return result


def _writable(plan: ImportPlan, skip_errors: bool) -> bool:
    """Whether a plan may be written: no errors, or (skipping them) errors of rows only."""
    return not plan.errors or (skip_errors and _row_errors_only(plan))


def _row_errors_only(plan: ImportPlan) -> bool:
    """True when every error belongs to rows (none to the file or the mapping as a whole)."""
    return all(e.sheet is not None for e in plan.errors)


def _ci_work(rows: list[RowOutcome]) -> tuple[list[tuple[int, NewCi]], list[CiChange]]:
    creates: list[tuple[int, NewCi]] = []
    updates: list[CiChange] = []
    for ref, o in enumerate(rows):
        if o.kind != KIND_CIS:
            continue
        if o.status == CREATED:
            assert o.class_id is not None and o.name is not None
            creates.append((ref, NewCi(o.class_id, o.name, o.values, o.sheet, o.row)))
        elif o.status == UPDATED:
            assert o.ci_id is not None and o.class_id is not None
            updates.append(
                CiChange(o.ci_id, o.class_id, o.name or "", o.changes, o.custom, o.sheet, o.row)
            )
    return creates, updates


def _write_cis(
    writer: BatchWriter,
    creates: list[tuple[int, NewCi]],
    updates: list[CiChange],
    total: int,
) -> dict[int, int]:
    """Create and update the CIs; returns plan index → id of each created CI."""
    new_ids = writer.create_cis([c for _, c in creates], total=total)
    writer.update_cis(updates, done_before=len(creates), total=total)
    return {ref: ci_id for (ref, _), ci_id in zip(creates, new_ids, strict=True)}


def _note_new_ids(plan: ImportPlan, id_of_row: dict[int, int]) -> None:
    """Created rows get the id of the CI they created (the import's record shows it)."""
    rows = plan.rows
    for ref, ci_id in id_of_row.items():
        rows[ref].ci_id = ci_id


def _new_relationships(
    outcomes: Sequence[RowOutcome], id_of_row: dict[int, int]
) -> list[NewRelationship]:
    rels: list[NewRelationship] = []
    for o in outcomes:
        assert o.rel is not None
        src, type_id, dst = o.rel
        # Ends: a CI id (> 0), or -(plan index + 1) of a CI this import creates.
        if src < 0:
            src = id_of_row[-src - 1]
        if dst < 0:
            dst = id_of_row[-dst - 1]
        rels.append(NewRelationship(src, type_id, dst, o.sheet, o.row))
    return rels


def _write_relationships(
    writer: BatchWriter,
    plan: ImportPlan,
    id_of_row: dict[int, int],
    done: int,
    total: int,
    *,
    written: int = 0,
) -> None:
    """Create the plan's new relationships, but the first ``written`` (streamed already)."""
    created = [o for o in plan.rows if o.kind != KIND_CIS and o.status == CREATED]
    rels = _new_relationships(created[written:], id_of_row)
    writer.create_relationships(rels, done_before=done, total=total)


class _RelationshipStream:
    """Writes created relationship rows on the helper thread while the planner
    checks the rest (SQLite: each batch is a few statements that run without
    the GIL). Batches run in order after the CI insert queued before them."""

    def __init__(
        self, writer: BatchWriter, pool: ThreadPoolExecutor, id_of_row: dict[int, int]
    ) -> None:
        self.writer = writer
        self.pool = pool
        self.id_of_row = id_of_row
        self.futures: list[Future[list[int]]] = []
        self.written = 0

    def take(self, outcomes: list[RowOutcome]) -> None:
        rels = _new_relationships(outcomes, self.id_of_row)
        self.writer.note_relationships(rels)
        batch = self.writer.relationship_batch(rels)
        self.futures.append(self.pool.submit(self.writer.insert_relationship_batch, batch))
        self.written += len(rels)

    def finish(self) -> int:
        """Wait for every batch (raising the first failure); how many rows were written."""
        for future in self.futures:
            future.result()
        return self.written

    def cancel(self) -> None:
        for future in self.futures:
            future.cancel()


def _done(value: dict[int, int]) -> Future[dict[int, int]]:
    future: Future[dict[int, int]] = Future()
    future.set_result(value)
    return future


class _Silent(Progress):
    """Progress for a helper thread: draws nothing, but the caller's cancel stops it."""

    def __init__(self, parent: Progress) -> None:
        super().__init__(None)
        self._parent = parent

    def check(self) -> None:
        self._parent.check()


class _Refused(Exception):
    """Leaves the write transaction without committing (the plan has errors)."""

    def __init__(self, plan: ImportPlan) -> None:
        super().__init__("import refused")
        self.plan = plan


class _ImportWrite:
    """The writing of one import inside its write transaction (see :func:`apply_import`)."""

    def __init__(self, cmdb: Cmdb, session: Any, skip_errors: bool, progress: Progress) -> None:
        self.cmdb = cmdb
        self.session = session
        self.skip_errors = skip_errors
        self.progress = progress
        self.writer: BatchWriter | None = None
        #: CIs written before the relationships were checked, and their ids by plan row.
        self.cis_written = 0
        self.ids: Future[dict[int, int]] | None = None
        self.stream: _RelationshipStream | None = None

    def _writer(self, plan: ImportPlan | PlanContext) -> BatchWriter:
        if self.writer is None:
            self.writer = BatchWriter(
                self.cmdb,
                self.session,
                kind=BatchKind.IMPORT,
                file=str(plan.source.path),
                sheets=[sm.sheet for sm in plan.mapping.sheets if sm.kind != "skip"],
                mapping=plan.mapping.to_json(),
                progress=self.progress,
            )
        return self.writer

    def planned(self, plan: ImportPlan) -> ChangeSummary | None:
        """Write a complete plan as it is."""
        if not any(r.status in (CREATED, UPDATED) for r in plan.rows):
            return None
        writer = self._writer(plan)
        creates, updates = _ci_work(plan.rows)
        n_rels = sum(1 for o in plan.rows if o.kind != KIND_CIS and o.status == CREATED)
        total = len(creates) + len(updates) + n_rels
        self.progress.start("Writing", total)
        id_of_row = _write_cis(writer, creates, updates, total)
        _write_relationships(writer, plan, id_of_row, len(creates) + len(updates), total)
        _note_new_ids(plan, id_of_row)
        return writer.finish(plan.counts())

    def streamed(self, request: ImportRequest) -> tuple[ImportPlan, ChangeSummary | None]:
        """Plan inside this transaction, writing the CIs as soon as they are planned
        (on a helper thread on SQLite) while the relationships are checked.
        Raises _Refused (nothing committed) unless the whole plan may be written."""
        with ThreadPoolExecutor(1, "import-write") as pool:
            plan = plan_import(
                self.cmdb,
                request.source,
                request.mapping,
                progress=self.progress,
                session=self.session,
                after_cis=lambda ctx: self._cis_planned(ctx, pool),
                ahead=request.ahead,
            )
            if not _writable(plan, self.skip_errors):
                if self.stream is not None:
                    self.stream.cancel()
                raise _Refused(plan)
            id_of_row = self.ids.result() if self.ids is not None else {}
            written = self.stream.finish() if self.stream is not None else 0
        _note_new_ids(plan, id_of_row)
        n_rels = sum(1 for o in plan.rows if o.kind != KIND_CIS and o.status == CREATED)
        if self.writer is None and not n_rels:
            return plan, None
        writer = self._writer(plan)
        writer.progress = self.progress
        done = self.cis_written + written
        self.progress.start("Writing", self.cis_written + n_rels)
        _write_relationships(
            writer, plan, id_of_row, done, done + n_rels - written, written=written
        )
        return plan, writer.finish(plan.counts())

    def _cis_planned(self, ctx: PlanContext, pool: ThreadPoolExecutor) -> None:
        """Every CI row has its final status: start writing them."""
        if ctx.errors and not (self.skip_errors and all(e.sheet for e in ctx.errors)):
            return  # refused anyway: nothing to write
        creates, updates = _ci_work(ctx.rows)
        if not creates and not updates:
            return
        writer = self._writer(ctx)
        writer.progress = _Silent(self.progress)
        self.cis_written = len(creates) + len(updates)
        if not writer.sqlite:
            self.ids = _done(_write_cis(writer, creates, updates, self.cis_written))
            return
        # The Python part here; the two INSERT … SELECT statements (no GIL) on the
        # helper thread while the relationships are checked.
        writer.update_cis(updates)
        staged = writer.stage_cis([c for _, c in creates])
        refs = [ref for ref, _ in creates]

        def insert() -> dict[int, int]:
            ids = writer.insert_staged_cis(staged)
            return dict(zip(refs, ids, strict=True))

        self.ids = pool.submit(insert)
        # The staged CIs' ids are known already: relationships to them can be
        # written, after them, while the rest of the sheet is checked.
        first = staged.first
        self.stream = _RelationshipStream(writer, pool, {r: first + n for n, r in enumerate(refs)})
        ctx.relationship_sink = self.stream.take


def _rejects(result: ImportResult, skip_errors: bool, rejects_path: str | Path | None) -> None:
    plan = result.plan
    if skip_errors and any(r.status == ERROR for r in plan.rows):
        target = Path(rejects_path) if rejects_path else default_rejects_path(plan.source.path)
        try:
            result.rejects = write_rejects(plan, target)
        except OSError as exc:
            plan.warnings.append(f"The rejected rows could not be written to {target}: {exc}.")


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
    with new_workbook(out) as wb:
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
    return out


def _sheet_title(name: str) -> str:
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in name).strip("'")
    return (cleaned or "Rejected")[:31]
