"""The import plan: every row classified before anything is written (the dry run).

Three steps, each a plain function a GUI can run off its thread (they take a
:class:`~cmdb_desktop.progress.Progress` for progress and cancel)::

    source = load_source(path, meta=cmdb.meta)           # read the sheets once
    mapping = suggest_mapping(source, cmdb.meta)         # editable; or a saved profile
    plan = plan_import(cmdb, source, mapping)             # the dry run, nothing written
    plan.counts(), plan.errors, plan.rows                 # the preview
    result = importers.apply.apply_import(cmdb, plan)     # one transaction, one batch

Invariants of an :class:`ImportPlan`:

* every data row of every imported sheet has exactly one :class:`RowOutcome`
  whose ``status`` is ``created``, ``updated`` (``changes`` holds field →
  (old, new)), ``unchanged`` or ``error`` (``errors`` says why, each with
  sheet, sheet row number and column);
* all rows are validated — errors never stop the check half-way;
* planning only reads: the database is unchanged, byte for byte in content.

CI rows are matched to CIs by :mod:`importers.reconcile` (PRODUCT.md §3
rules or the mapping's ranked keys). Rows of one file that identify the same
CI are all errors. Relationship rows name their ends by name (plus optional
class) and are resolved against the file's CI rows and the CMDB; a name that
fits several CIs is an error, never a guess. The sheet planners live in
:mod:`importers.plan_cis` and :mod:`importers.plan_relationships`.
"""

from __future__ import annotations

import gc
import re
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmdb_desktop.bulk import count_cis, is_sqlite
from cmdb_desktop.errors import BadFileError
from cmdb_desktop.metamodel import ClassInfo, Metamodel
from cmdb_desktop.models import CmdbState
from cmdb_desktop.progress import Progress
from cmdb_desktop.values import to_text
from importers.mapping import (
    KIND_SKIP,
    NAME,
    SOURCE,
    TARGET,
    ImportMapping,
    SheetMapping,
    apply_profile,
    header_scorer,
    suggest_sheet,
)
from importers.readers import NO_RESULT_MESSAGE, Table, open_spreadsheet
from importers.reconcile import DuplicateTracker, IdentityIndex, Matcher, fields_for
from importers.workbook import KIND_CIS, KIND_RELATIONSHIPS, MODEL_SHEET, sheet_role

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb


class Outcome(StrEnum):
    """What the plan says a row does (for an audit: created = only in the sheet)."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    ERROR = "error"


CREATED = Outcome.CREATED
UPDATED = Outcome.UPDATED
UNCHANGED = Outcome.UNCHANGED
ERROR = Outcome.ERROR
STATUSES = tuple(Outcome)


@dataclass(frozen=True)
class RowError:
    """One problem, where it is: sheet, 1-based sheet row (None: the whole file), column."""

    sheet: str | None
    row: int | None
    column: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = [
            p
            for p in (
                self.sheet and f"sheet {self.sheet!r}",
                self.row and f"row {self.row}",
                self.column and f"column {self.column!r}",
            )
            if p
        ]
        return f"{', '.join(where)}: {self.message}" if where else self.message


_NO_CHANGES: dict[str, tuple[Any, Any]] = {}
_NO_ERRORS: list[RowError] = []
_NO_VALUES: dict[str, Any] = {}


class RowOutcome:
    """What importing one row does (see the module docstring for the invariants).

    ``changes`` maps field → (old, new) for updates; ``errors`` lists the
    row's problems; ``note`` explains an unchanged relationship row (e.g.
    "repeats row 12"); ``rule`` is the identification rule (attribute keys)
    that matched a CI row or that a new CI claims. ``class_id``, ``values``,
    ``custom`` and ``rel`` are
    what the writer needs. Slotted and lazily filled: a plan holds one per
    row of the file, so they must stay small.
    """

    __slots__ = (
        "sheet",
        "row",
        "kind",
        "status",
        "ci_id",
        "class_name",
        "name",
        "changes",
        "errors",
        "note",
        "rule",
        "class_id",
        "values",
        "custom",
        "rel",
    )

    def __init__(
        self,
        sheet: str,
        row: int,
        kind: str,
        status: Outcome = UNCHANGED,
        *,
        errors: list[RowError] | None = None,
    ) -> None:
        self.sheet = sheet
        self.row = row
        self.kind = kind
        self.status = status
        self.ci_id: int | None = None
        self.class_name: str | None = None
        self.name: str | None = None
        self.changes: dict[str, tuple[Any, Any]] = _NO_CHANGES
        self.errors: list[RowError] = errors if errors is not None else _NO_ERRORS
        self.note: str | None = None
        self.rule: tuple[str, ...] | None = None
        self.class_id: int | None = None
        self.values: dict[str, Any] = _NO_VALUES
        self.custom: dict[str, Any] | None = None
        self.rel: tuple[Any, ...] | None = None

    def fail(self, error: RowError) -> None:
        if self.errors is _NO_ERRORS:
            self.errors = []
        self.errors.append(error)
        self.status = ERROR

    def describe(self) -> str:
        """One line for a preview table: the changes, the errors, or the relationship."""
        if self.errors:
            return "; ".join(
                e.message if not e.column else f"{e.column}: {e.message}" for e in self.errors
            )
        if self.changes:
            return "; ".join(
                f"{k}: {_shown(old)} → {_shown(new)}" for k, (old, new) in self.changes.items()
            )
        return self.note or ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "sheet": self.sheet,
            "row": self.row,
            "kind": self.kind,
            "status": self.status,
            "ci": self.ci_id,
            "class": self.class_name,
            "name": self.name,
        }
        if self.changes:
            data["changes"] = {
                k: {
                    "old": to_text(old) if old is not None else None,
                    "new": to_text(new) if new is not None else None,
                }
                for k, (old, new) in self.changes.items()
            }
        if self.errors:
            data["errors"] = [e.to_json() for e in self.errors]
        if self.note:
            data["note"] = self.note
        return data

    def __repr__(self) -> str:
        return f"<RowOutcome {self.sheet}:{self.row} {self.kind} {self.status}>"


def _shown(value: Any) -> str:
    return "∅" if value is None else to_text(value)


@dataclass
class ImportSource:
    """A file read once: its tables, and the sheets left out (with why).

    With ``load_source(..., defer_relationships=True)`` the Relationships
    sheets may still be loading in the background; :meth:`finish` waits for
    them (the planner calls it when it gets to them).
    """

    path: Path
    format: str
    tables: list[Table]
    warnings: list[str] = field(default_factory=list)
    _rest: Iterator[tuple[str, Table | BadFileError]] | None = field(default=None, repr=False)
    _several: bool = field(default=False, repr=False)
    #: Every sheet of the book, imported or not (a CSV has one).
    sheet_names: list[str] = field(default_factory=list)

    def table(self, sheet: str) -> Table | None:
        return next((t for t in self.tables if t.sheet == sheet), None)

    @property
    def loading(self) -> bool:
        return self._rest is not None

    def _take(self, name: str, table: Table | BadFileError) -> None:
        if isinstance(table, BadFileError):
            if "is empty" in str(table) and self._several:
                self.warnings.append(f"Sheet {name!r} is empty and was skipped.")
                return
            raise naming_file(self.path, table)
        self.warnings.extend(table.warnings)
        self.tables.append(table)

    def finish(self) -> list[Table]:
        """Wait for sheets still loading; returns the tables that arrived."""
        rest, self._rest = self._rest, None
        before = len(self.tables)
        if rest is not None:
            for name, table in rest:
                self._take(name, table)
            if not any(len(t) for t in self.tables):
                raise BadFileError(f"{self.path.name} contains no data rows (only headers).")
        return self.tables[before:]


@dataclass
class ReadAhead:
    """CMDB rows read while the file was loading (:func:`importers.plan_cis.read_ahead`),
    for a plan that runs in a later transaction.

    It holds only for the ``generation`` it was read at: every write moves
    ``data_generation``, so a transaction that sees the same generation sees
    the same rows (:class:`PlanContext` checks, and reads afresh otherwise).
    A part left None was not read in time.
    """

    generation: int
    fields: list[str]
    ci_rows: dict[int, tuple[Any, ...]] | None = None
    index: IdentityIndex | None = None
    triples: set[tuple[int, int, int]] | None = None


@dataclass
class ImportPlan:
    """The dry run's result (see the module docstring)."""

    source: ImportSource
    mapping: ImportMapping
    rows: list[RowOutcome]
    errors: list[RowError]
    warnings: list[str]
    unmapped: list[tuple[str, str]]
    generation: int

    @property
    def ok(self) -> bool:
        return not self.errors

    def counts(self) -> dict[str, dict[str, int]]:
        cis = dict.fromkeys(STATUSES, 0)
        rels = dict.fromkeys((CREATED, UNCHANGED, ERROR), 0)
        for outcome in self.rows:
            if outcome.kind == KIND_CIS:
                cis[outcome.status] += 1
            else:
                rels[outcome.status] += 1
        return {
            "cis": {
                "created": cis[CREATED],
                "updated": cis[UPDATED],
                "unchanged": cis[UNCHANGED],
                "errors": cis[ERROR],
            },
            "relationships": {
                "created": rels[CREATED],
                "unchanged": rels[UNCHANGED],
                "errors": rels[ERROR],
            },
        }

    def rows_with(self, status: Outcome) -> list[RowOutcome]:
        return [r for r in self.rows if r.status == status]


# -- bulk work without the cyclic garbage collector -----------------------------------

_gc_lock = threading.Lock()
_gc_pauses = 0


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector during bulk work.

    Planning creates a few objects per cell and keeps them all; the collector
    would otherwise walk the growing heap again and again (a third of the
    time). Reference counting still frees everything; the collector resumes
    (and nests) when the outermost pause ends.

    The objects made meanwhile (millions, for a big file) would all still sit
    in the youngest generation, so the first collection after the pause would
    walk every one of them (half a second for 340,000 rows). They are moved
    to the oldest generation instead (``gc.freeze`` then ``gc.unfreeze``: two
    list splices, nothing walked), where the next full collection looks at
    them as it would have anyway; nothing is kept alive or left uncollected
    (skipped if something else keeps objects frozen).
    """
    global _gc_pauses
    with _gc_lock:
        _gc_pauses += 1
        was_enabled = gc.isenabled() if _gc_pauses == 1 else False
        if _gc_pauses == 1:
            gc.disable()
            _gc_state.append(was_enabled)
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_state.pop():
                if not gc.get_freeze_count():  # nobody else froze objects on purpose
                    gc.freeze()
                    gc.unfreeze()
                gc.enable()


_gc_state: list[bool] = []


# -- reading -----------------------------------------------------------------------


def load_source(
    path: str | Path,
    *,
    meta: Metamodel | None = None,
    sheets: Sequence[str] | None = None,
    progress: Progress | None = None,
    defer_relationships: bool = False,
    while_loading: Callable[[Callable[[], bool]], None] | None = None,
) -> ImportSource:
    """Read the sheets to import (BadFileError if the file cannot be read).

    Without ``sheets``: hidden sheets are left out; if any sheet has a
    canonical name (``CIs``, ``Relationships``, continuations) only those are
    read, else every visible sheet. ``meta`` improves header detection.
    With ``defer_relationships``, canonical Relationships sheets that come
    after other sheets keep loading in the background (see
    :meth:`ImportSource.finish`), so the CIs can be planned meanwhile.
    ``while_loading`` is handed to :meth:`~importers.readers.Spreadsheet.iter_tables`
    (work for the wait while the first sheet loads).
    """
    progress = progress or Progress()
    p = Path(path)
    progress.start(f"Reading {p.name}")
    scorer = header_scorer(meta) if meta is not None else None
    try:
        book = open_spreadsheet(p)
    except BadFileError as exc:
        raise naming_file(p, exc) from None
    try:
        warnings = list(book.warnings)
        if sheets:
            names = list(sheets)
            missing = [n for n in names if n not in book.sheet_names]
            if missing:
                known = ", ".join(repr(n) for n in book.sheet_names)
                raise BadFileError(f"{p.name} has no sheet {missing[0]!r} (its sheets: {known}).")
        else:
            visible = [s.name for s in book.sheets if s.visible]
            canonical = [n for n in visible if sheet_role(n) is not None]
            names = canonical or visible
            for s in book.sheets:
                if canonical and s.name == MODEL_SHEET:
                    continue  # read by importers.model_sheet, before the rows
                if s.name not in names and s.visible:
                    warnings.append(
                        f"Sheet {s.name!r} was not imported (not CIs or Relationships)."
                    )
                elif not s.visible and (sheet_role(s.name) is not None or not canonical):
                    # Hidden data is never imported, nor ignored without a word (a
                    # template's hidden drop-down lists are not data).
                    warnings.append(
                        f"Sheet {s.name!r} is hidden and was not imported; unhide it "
                        "(or name it with --sheet) to import it."
                    )
            if not names:
                raise BadFileError(f"{p.name} has no visible sheet to import.")
    except BaseException:
        book.close()
        raise
    source = ImportSource(
        p, book.format, [], warnings, _several=len(names) > 1, sheet_names=book.sheet_names
    )
    stream = _stream(book, names, scorer, progress, while_loading)
    with gc_paused():
        try:
            for n, (name, table) in enumerate(stream):
                source._take(name, table)
                later = names[n + 1 :]
                if (
                    defer_relationships
                    and later
                    and source.tables
                    and all(sheet_role(x) == KIND_RELATIONSHIPS for x in later)
                ):
                    source._rest = stream
                    break
        except BaseException:
            stream.close()
            raise
    if source._rest is None and not any(len(t) for t in source.tables):
        raise BadFileError(f"{p.name} contains no data rows (only headers).")
    return source


def naming_file(path: Path, exc: BadFileError) -> BadFileError:
    """``exc``, its message starting with the file's name unless it names it already
    (a message shown beside a list of files must say which one it is about)."""
    if path.name in str(exc):
        return exc
    return BadFileError(f"{path.name}: {exc}")


def _stream(
    book: Any,
    names: list[str],
    scorer: Any,
    progress: Progress,
    while_loading: Callable[[Callable[[], bool]], None] | None = None,
) -> Generator[tuple[str, Table | BadFileError], None, None]:
    """The book's tables in order (loading ahead); closes the book when done."""
    try:
        yield from book.iter_tables(
            names, scorer=scorer, progress=progress, while_loading=while_loading
        )
    finally:
        book.close()


def suggest_mapping(
    source: ImportSource,
    meta: Metamodel,
    profile: ImportMapping | None = None,
    *,
    blank: str | None = None,
) -> ImportMapping:
    """A mapping for every table of ``source``: the profile's where it fits, else suggestions.

    ``blank`` sets the blank rule of every column the profile does not set.
    Sheets still loading (see :func:`load_source`) are mapped the same way
    when they arrive (:func:`map_late_sheets`).
    """
    base = profile or ImportMapping()
    if blank is not None:
        base = ImportMapping(base.sheets, base.keys, dict(base.defaults), blank)
    sheets = [_sheet_mapping(table, meta, profile, base, blank) for table in source.tables]
    # In a workbook of several non-canonical sheets, sheets that map neither a
    # Name nor Source/Target columns are notes or summaries: skip them.
    if len(sheets) > 1:
        for sm in sheets:
            if sheet_role(sm.sheet) is None and not _usable(sm):
                sm.kind = KIND_SKIP
    mapping = ImportMapping(sheets, base.keys, dict(base.defaults), base.blank)
    mapping.late = lambda table: _sheet_mapping(table, meta, profile, base, blank)
    return mapping


def _sheet_mapping(
    table: Table,
    meta: Metamodel,
    profile: ImportMapping | None,
    base: ImportMapping,
    blank: str | None,
) -> SheetMapping:
    if profile is not None:
        sm = apply_profile(base, table, meta)
    else:
        sm = suggest_sheet(table, meta, blank=base.blank)
    if blank is not None:
        explicit = profile.sheet(table.sheet) if profile is not None else None
        for col in sm.columns:
            if explicit is None or explicit.column(col.column) is None:
                col.blank = blank
    return sm


def map_late_sheets(source: ImportSource, mapping: ImportMapping, meta: Metamodel) -> None:
    """Wait for sheets still loading and add their mappings (suggested like the others)."""
    for table in source.finish():
        if mapping.sheet(table.sheet) is None:
            late = mapping.late
            mapping.sheets.append(late(table) if late else suggest_sheet(table, meta))


def _usable(sm: SheetMapping) -> bool:
    targets = {c.target for c in sm.columns}
    if sm.kind == KIND_RELATIONSHIPS:
        return {SOURCE, TARGET} <= targets
    return NAME in targets


# -- planning ---------------------------------------------------------------------


def plan_import(
    cmdb: Cmdb,
    source: ImportSource,
    mapping: ImportMapping,
    *,
    progress: Progress | None = None,
    session: Session | None = None,
    audit: bool = False,
    after_cis: Callable[[PlanContext], None] | None = None,
    ahead: ReadAhead | None = None,
) -> ImportPlan:
    """Classify every row (the dry run). Reads the CMDB in one short read session
    (or ``session``, e.g. the write transaction that re-checks before applying).

    ``audit=True`` plans for :mod:`importers.audit`, which compares and never
    creates: an unmatched row is ``created`` ("only in sheet") without the
    checks a new CI needs (class, name, required fields), its identifying key
    goes in ``note``; a matched row is compared in the CI's own class (a
    different Class cell is one difference, not a class change).

    ``after_cis(context)`` is called once every CI row has its final status,
    before (or, for small sheets, after) the relationships are checked, when
    the session is free: an import uses it to start writing the CIs while the
    relationships are checked.

    ``ahead`` is what :func:`importers.plan_cis.read_ahead` read while the file
    loaded; it is used only if the CMDB has not changed since.
    """
    progress = progress or Progress()
    with gc_paused():
        if session is not None:
            ctx = PlanContext(cmdb, source, mapping, progress, audit=audit, ahead=ahead)
            return ctx.run(session, after_cis)
        with cmdb.read() as s:
            ctx = PlanContext(cmdb, source, mapping, progress, audit=audit, ahead=ahead)
            return ctx.run(s, after_cis)


class PlanContext:
    """State shared by the sheet planners of one plan: the index, the matcher,
    the rows so far, errors and warnings."""

    def __init__(
        self,
        cmdb: Cmdb,
        source: ImportSource,
        mapping: ImportMapping,
        progress: Progress,
        *,
        audit: bool = False,
        ahead: ReadAhead | None = None,
    ) -> None:
        self.cmdb = cmdb
        self.audit = audit
        #: Rows read ahead; :meth:`run` drops them unless they are still current.
        self.ahead = ahead
        self.meta = cmdb.meta
        self.source = source
        self.mapping = mapping
        self.progress = progress
        self.rows: list[RowOutcome] = []
        self.errors: list[RowError] = []
        self.warnings: list[str] = list(source.warnings)
        self.unmapped: list[tuple[str, str]] = []
        self.tracker = DuplicateTracker()
        #: Set by ``after_cis`` to take created relationship rows as soon as they are
        #: final, in order and in batches (an import writes them meanwhile).
        self.relationship_sink: Callable[[list[RowOutcome]], None] | None = None
        self._classes: dict[str, ClassInfo | str] = {}
        self._whole: Any = None  # plan_cis.DbRecords of every CI, read with the index
        self._cmdb_size = 0  # how many CIs, when the index holds only some of them
        self._missing: set[str] = set()
        self._planned: set[str] = set()

    def _pairs(self, kind: str, after: set[str] | None = None) -> list[tuple[Table, SheetMapping]]:
        """(table, mapping) of the sheets of ``kind`` to plan (not those in ``after``)."""
        out = []
        for sm in self.mapping.sheets:
            if sm.kind != kind or (after is not None and sm.sheet in after):
                continue
            table = self.source.table(sm.sheet)
            if table is None:
                if sm.sheet not in self._missing:
                    self._missing.add(sm.sheet)
                    self.error(None, None, None, f"The file has no sheet {sm.sheet!r} to import.")
                continue
            out.append((table, sm))
        return out

    def _plan_cis(self, s: Session, pairs: list[tuple[Table, SheetMapping]]) -> None:
        from importers.plan_cis import CiSheetPlanner, load_records

        if not pairs:
            return
        total = sum(len(t) for t, _ in pairs)
        self.progress.start("Matching CIs", total)
        planners = [CiSheetPlanner(self, t, m) for t, m in pairs]
        done = 0
        for planner in planners:
            done = planner.identify(done, total)
        matched = [ci for p in planners for ci in p.matched_ids()]
        size = self._cmdb_size or len(self.index.class_of)
        records = self._whole or load_records(s, self.meta, matched, size)
        self.progress.start("Checking CIs", total)
        done = 0
        for planner in planners:
            done = planner.complete(records, done, total)
        self._planned.update(sm.sheet for _, sm in pairs)

    def run(self, s: Session, after_cis: Callable[[PlanContext], None] | None = None) -> ImportPlan:
        from importers.plan_cis import matching_keys
        from importers.plan_relationships import RelationshipPlanner

        meta = self.meta
        generation = int(s.scalar(select(CmdbState.data_generation).where(CmdbState.id == 1)) or 0)
        if self.ahead is not None and self.ahead.generation != generation:
            self.ahead = None  # the CMDB changed since: read it afresh
        keys = self.mapping.keys
        for rule in keys or ():
            for f in rule:
                if f != NAME and f not in meta.all_attribute_keys:
                    self.error(None, None, None, f"Unknown identification key {f!r}.")
        self.progress.start("Loading the CMDB's identification keys")
        fields = fields_for(meta, keys)
        whole = self._load_whole(s, fields)
        if whole is not None:
            self.index, self._whole = whole
        elif (matching := matching_keys(self, s, fields)) is not None:
            wanted, self._cmdb_size = matching
            self.index = IdentityIndex.load_matching(s, meta, wanted)
        else:
            self.index = IdentityIndex.load(s, meta, fields, progress=self.progress)
        self.matcher = Matcher(meta, self.index, keys)
        self._plan_cis(s, self._pairs(KIND_CIS))
        if self.source.loading:
            # Relationships sheets were loading while the CIs were checked.
            self.progress.start(f"Reading {self.source.path.name}")
            known = len(self.source.warnings)
            map_late_sheets(self.source, self.mapping, meta)
            self.warnings.extend(self.source.warnings[known:])
            self._plan_cis(s, self._pairs(KIND_CIS, after=self._planned))
        self.duplicates()
        rel_pairs = self._pairs(KIND_RELATIONSHIPS)
        if rel_pairs:
            total = sum(len(t) for t, _ in rel_pairs)
            self.progress.start("Checking relationships", total)
            planner = RelationshipPlanner(self)
            planner.prepare(s, rel_pairs)
            if after_cis is not None and not planner.needs_db_after:
                after_cis(self)
                after_cis = None
            planner.run(s, rel_pairs, total)
        if after_cis is not None:
            after_cis(self)
        order = {t.sheet: n for n, t in enumerate(self.source.tables)}
        self.errors.sort(key=lambda e: (order.get(e.sheet, -1) if e.sheet else -1, e.row or 0))
        return ImportPlan(
            self.source,
            self.mapping,
            self.rows,
            self.errors,
            self.warnings,
            self.unmapped,
            generation,
        )

    def _load_whole(self, s: Session, fields: list[str]) -> tuple[IdentityIndex, Any] | None:
        """Index and records in one scan when the CI sheets list about every CI."""
        from importers.plan_cis import WHOLE_SHARE, load_whole

        if not is_sqlite(s):
            return None
        rows = 0
        for sm in self.mapping.sheets:
            table = self.source.table(sm.sheet) if sm.kind == KIND_CIS else None
            rows += len(table) if table is not None else 0
        size = count_cis(s)
        if not size or rows < size * WHOLE_SHARE:
            return None
        return load_whole(s, self.meta, fields, self.ahead)

    # -- helpers shared by the sheet planners ----------------------------------
    def error(
        self, sheet: str | None, row: int | None, column: str | None, message: str
    ) -> RowError:
        err = RowError(sheet, row, column, shorten(message))
        self.errors.append(err)
        return err

    def fail(self, outcome: RowOutcome, column: str | None, message: str) -> None:
        outcome.fail(self.error(outcome.sheet, outcome.row, column, message))

    def no_result(
        self, outcome: RowOutcome, indexes: Iterable[int], read: dict[int, str]
    ) -> set[int]:
        """An error for each cell of the row at ``indexes`` that holds a formula with no
        saved result, in a column the sheet reads (``read``: index → header); those
        indexes. Such a cell is never a blank (PRODUCT.md §8): its value is unknown."""
        failed = {i for i in indexes if i in read}
        for i in sorted(failed):
            self.fail(outcome, read[i], NO_RESULT_MESSAGE)
        return failed

    def concrete_class(self, text: str) -> ClassInfo | str:
        """A class that can hold CIs, by name, or the error message (cached)."""
        found = self._classes.get(text)
        if found is None:
            info = self.meta.find_class(text)
            if info is None:
                known = ", ".join(c.name for c in self.meta.classes if not c.abstract)
                found = f"unknown class {text!r} (known: {known})"
            elif info.abstract:
                subs = ", ".join(c.name for c in self.meta.descendants(info) if not c.abstract)
                found = f"class {info.name!r} is abstract; use one of {subs}"
            else:
                found = info
            self._classes[text] = found
        return found

    def ci_label(self, ci_id: int) -> str:
        class_id = self.index.class_of.get(ci_id)
        cls = self.meta.class_by_id[class_id].name if class_id is not None else "?"
        return f"{cls}/{self.index.name_of.get(ci_id, '?')} (#{ci_id})"

    @staticmethod
    def row_label(outcome: RowOutcome, sheet: str) -> str:
        if outcome.sheet == sheet:
            return f"row {outcome.row}"
        return f"row {outcome.row} of {outcome.sheet!r}"

    def unmapped_column(self, table: Table, header: str, letter: str) -> None:
        self.unmapped.append((table.sheet, header))
        self.warnings.append(
            f"Sheet {table.sheet!r}: column {header!r} ({letter}) maps to no attribute "
            "and was ignored."
        )

    def duplicates(self) -> None:
        for ref, others in self.tracker.duplicates().items():
            outcome = self.rows[ref]
            listed = ", ".join(self.row_label(self.rows[o], outcome.sheet) for o in others[:5])
            more = f" and {len(others) - 5} more" if len(others) > 5 else ""
            self.fail(
                outcome,
                None,
                f"duplicate: this row and {listed}{more} identify the same CI; keep one row per CI",
            )


_LONG_QUOTED = re.compile(r"'([^'\n]{100,})'" + r'|"([^"\n]{100,})"')
#: The longest message one problem gets (a cell of 60,000 characters is named, not repeated).
MESSAGE_LIMIT = 600


def shorten(message: str) -> str:
    """Cut long quoted values in a message to their start, and the message to a limit."""
    if len(message) <= MESSAGE_LIMIT:
        return message

    def cut(m: re.Match[str]) -> str:
        text = m.group(1) if m.group(1) is not None else m.group(2)
        return f"'{text[:60]}…' ({len(text):,} characters)"

    short = _LONG_QUOTED.sub(cut, message)
    return short if len(short) <= MESSAGE_LIMIT else short[: MESSAGE_LIMIT - 1] + "…"


def labels(meta: Metamodel, rule: Iterable[str]) -> str:
    """Attribute labels of a key rule ("Serial Number", "Name+Site")."""
    out = []
    for f in rule:
        attr = meta.all_attribute_keys.get(f)
        out.append(attr.label if attr is not None else f.capitalize())
    return "+".join(out)


def rule_values(rule: Iterable[str], values: dict[str, Any]) -> str:
    return ", ".join(repr(to_text(values.get(f))) for f in rule)
