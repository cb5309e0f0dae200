"""Everything the GUI runs off its thread, as plain functions (no Qt in here).

Each job is ``fn(state, *args) -> result``: it reports progress and checks for
cancellation through ``state.progress`` (a core
:class:`~cmdb_desktop.progress.Progress`), may hand over partial results
with ``state.partial(value)``, and talks to the CMDB only through the facade,
which opens a short session per call. :class:`ui.tasks.TaskRunner` runs them
one at a time on its worker thread; tests call them directly.
"""

from __future__ import annotations

import logging
import os
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cmdb_desktop import browse, demo, health
from cmdb_desktop.browse import BrowseFilter, BrowseSort
from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import CmdbError, NotFoundError
from cmdb_desktop.history import DeletedCi, HistoryEntry, Source
from cmdb_desktop.items import CiRecord, CiRef
from cmdb_desktop.metamodel import Metamodel
from cmdb_desktop.progress import Progress
from cmdb_desktop.records import RelationshipView
from cmdb_desktop.values import to_text

log = logging.getLogger(__name__)

#: How many CIs a problem list puts in the table at most (an explicit id filter).
PROBLEM_LIMIT = 20_000
#: How many history entries the CI panel shows.
HISTORY_LIMIT = 500


class JobState:
    """What a running job may use: progress + cancellation, and a partial-result channel."""

    def __init__(
        self, progress: Progress | None = None, partial: Callable[[Any], None] | None = None
    ) -> None:
        self.progress = progress or Progress()
        self._partial = partial

    def partial(self, value: Any) -> None:
        if self._partial is not None:
            self._partial(value)

    def check(self) -> None:
        """Raise CancelledError if the job was cancelled."""
        self.progress.check()


# -- opening ------------------------------------------------------------------


def warm_up(state: JobState) -> None:
    """The database layer's one-time costs (:func:`cmdb_desktop.db.warm_up`), paid at
    start-up instead of while the user waits for the first CMDB to open. A
    failure here only means the first opening pays them."""
    from cmdb_desktop import db

    try:
        db.warm_up()
    except Exception:
        log.debug("warming up the database layer failed", exc_info=True)


def open_cmdb(state: JobState, target: str | os.PathLike[str], user: str | None = None) -> Cmdb:
    """Open (creating if needed) a CMDB and load its catalogue."""
    state.progress.start("Opening the CMDB")
    cmdb = Cmdb.open(target, user=user)
    cmdb.reload_meta()
    _ = cmdb.role  # read here, so that the window greys out by role without SQL
    return cmdb


@dataclass(frozen=True)
class Opened:
    """A CMDB just opened and what the window shows first, read in the same job:
    the table paints without a second trip through the worker's queue, and the
    GUI thread never reads the database to set itself up."""

    cmdb: Cmdb
    #: The data change counter at the moment of opening (the baseline for
    #: noticing other programs' writes).
    data_generation: int | None
    #: The first page of the unfiltered table, in the default order.
    page: FirstPage | None


def open_for_browsing(
    state: JobState,
    target: str | os.PathLike[str],
    columns: Callable[[Metamodel], Sequence[str]],
    limit: int,
    prefetch: int,
) -> Opened:
    """Open a CMDB (as :func:`open_cmdb`) and read the table's first page with the
    rows of ``prefetch`` of them, for the columns ``columns(meta)`` chooses.

    Only the opening can fail: if the rest does, the window reads it again as
    it would without it (and reports what goes wrong there)."""
    cmdb = open_cmdb(state, target)
    try:
        generation: int | None = cmdb.generations()["data"]
        keys = columns(cmdb.meta)
        page: FirstPage | None = first_page(
            state, cmdb, BrowseFilter(), BrowseSort(), limit, keys, prefetch
        )
    except Exception:
        log.debug("reading the first page with the CMDB failed", exc_info=True)
        generation = page = None
    except BaseException:
        cmdb.close()
        raise
    return Opened(cmdb, generation, page)


def create_demo(state: JobState, target: str | os.PathLike[str], size: int, seed: int = 1) -> Cmdb:
    """Create a CMDB at ``target`` filled with the demo data (refuses a non-empty one)."""
    cmdb = Cmdb.open(target)
    try:
        demo.generate(cmdb, size, seed, progress=state.progress)
    except BaseException:
        cmdb.close()
        raise
    return cmdb


def close_cmdb(state: JobState, cmdb: Cmdb) -> None:
    """Close after every job queued before it has finished (the worker runs in order)."""
    cmdb.close()


def save_copy(state: JobState, cmdb: Cmdb, dest: str) -> Path:
    state.progress.start("Saving a copy")
    return cmdb.save_copy(dest)


def generations(state: JobState, cmdb: Cmdb) -> tuple[dict[str, int], bool]:
    """The change counters, and whether the catalogue had to be reloaded."""
    reloaded = cmdb.refresh()
    return cmdb.generations(), reloaded


# -- the table ----------------------------------------------------------------


@dataclass(frozen=True)
class TableRows:
    """Rows of the table (typed values of the columns ``keys``, by CI id; a CI
    deleted meanwhile is absent) and the names of the CIs their reference
    columns point at, read together so the GUI thread never reads either."""

    rows: dict[int, tuple[Any, ...]]
    ref_names: dict[int, str] = field(default_factory=dict)


def table_rows(state: JobState, cmdb: Cmdb, ids: Sequence[int], keys: Sequence[str]) -> TableRows:
    """The rows the table asked for (a few screenfuls of primary-key lookups)."""
    rows = browse.rows(cmdb, ids, keys)
    return TableRows(rows, _reference_names(cmdb, rows.values(), keys))


def _reference_names(
    cmdb: Cmdb, rows: Iterable[tuple[Any, ...]], keys: Sequence[str]
) -> dict[int, str]:
    columns = browse.column_map(cmdb.meta)
    refs = [
        n
        for n, key in enumerate(keys)
        if (col := columns.get(key)) is not None
        and col.attribute is not None
        and col.attribute.type == "reference"
    ]
    if not refs:
        return {}
    ids = {row[n] for row in rows for n in refs if isinstance(row[n], int)}
    return {ci_id: ref.name for ci_id, ref in cmdb.items.refs(ids).items()}


@dataclass(frozen=True)
class FirstPage:
    """The first ids of a result and the rows of the first few, fetched together
    so the table can paint without going back to the database."""

    ids: list[int]
    keys: tuple[str, ...]
    rows: dict[int, tuple[Any, ...]]
    ref_names: dict[int, str] = field(default_factory=dict)


def first_page(
    state: JobState,
    cmdb: Cmdb,
    flt: BrowseFilter,
    sort: BrowseSort,
    limit: int,
    keys: Sequence[str] = (),
    prefetch: int = 0,
) -> FirstPage:
    ids = browse.page_ids(cmdb, flt, sort, 0, limit)
    if not (keys and prefetch):
        return FirstPage(ids, tuple(keys), {})
    got = table_rows(state, cmdb, ids[:prefetch], keys)
    return FirstPage(ids, tuple(keys), got.rows, got.ref_names)


@dataclass(frozen=True)
class IdChunk:
    """A slice of the table's ids starting at row ``offset``."""

    offset: int
    ids: array[int]


def count_and_ids(state: JobState, cmdb: Cmdb, flt: BrowseFilter, sort: BrowseSort) -> int:
    """Count, then stream every id in order: partial results are the count (an
    ``int``) first, then :class:`IdChunk` s. Returns how many ids there were."""
    total = browse.count(cmdb, flt)
    state.partial(total)
    state.progress.start("Loading CIs", total)
    offset = 0
    for part in browse.iter_ids(cmdb, flt, sort, progress=state.progress, total=total):
        state.partial(IdChunk(offset, part))
        offset += len(part)
    return offset


def class_counts(state: JobState, cmdb: Cmdb) -> browse.ClassCounts:
    return browse.class_counts(cmdb)


def distinct_values(state: JobState, cmdb: Cmdb, key: str) -> list[Any]:
    return browse.distinct_values(cmdb, key)


def saved_filters(state: JobState, cmdb: Cmdb) -> list[tuple[str, dict[str, Any]]]:
    return [(name, cmdb.saved.load("filter", name)) for name in cmdb.saved.names("filter")]


def save_filter(state: JobState, cmdb: Cmdb, name: str, data: dict[str, Any]) -> str:
    cmdb.saved.save("filter", name, data)
    return name


def delete_filter(state: JobState, cmdb: Cmdb, name: str) -> str:
    cmdb.saved.delete("filter", name)
    return name


# -- problems (from the health checks) ----------------------------------------


@dataclass(frozen=True)
class ProblemCheck:
    key: str
    title: str
    run: Callable[[Cmdb, int], health.Finding]


#: The health checks the navigator lists; GUI part 2's dashboard shows them all.
PROBLEM_CHECKS: tuple[ProblemCheck, ...] = (
    ProblemCheck("orphans", "Orphans", lambda c, n: health.orphans(c, sample=n)),
    ProblemCheck(
        "missing_required", "Missing required fields", lambda c, n: health.missing_required(c, n)
    ),
    ProblemCheck(
        "related_to_retired",
        "Related to retired CIs",
        lambda c, n: health.relationships_to_retired(c, n),
    ),
    ProblemCheck(
        "warranty",
        "Warranty ending",
        lambda c, n: health.warranties_ending(c, date.today(), sample=n),
    ),
)


def problem_counts(state: JobState, cmdb: Cmdb) -> dict[str, int]:
    """How many CIs each problem check finds (partial results: ``(key, count)``)."""
    out: dict[str, int] = {}
    state.progress.start("Checking for problems", len(PROBLEM_CHECKS))
    for n, check in enumerate(PROBLEM_CHECKS, start=1):
        state.check()
        out[check.key] = check.run(cmdb, 0).count
        state.partial((check.key, out[check.key]))
        state.progress.step(n, len(PROBLEM_CHECKS))
    return out


def problem_ids(state: JobState, cmdb: Cmdb, key: str) -> tuple[int, tuple[int, ...]]:
    """(count, the first PROBLEM_LIMIT CI ids) of one problem check."""
    check = next(c for c in PROBLEM_CHECKS if c.key == key)
    finding = check.run(cmdb, PROBLEM_LIMIT)
    return finding.count, tuple(ref.id for ref in finding.examples)


# -- one CI -------------------------------------------------------------------


@dataclass
class CiDetails:
    """Everything the CI panel shows about one CI, read in one go."""

    record: CiRecord
    relationships: list[RelationshipView]
    history: list[HistoryEntry]
    references: dict[int, CiRef] = field(default_factory=dict)
    #: entries in the whole history (``history`` holds the newest HISTORY_LIMIT)
    history_total: int = 0


def load_ci(state: JobState, cmdb: Cmdb, ci_id: int) -> CiDetails:
    record = cmdb.items.get(ci_id)
    info = cmdb.meta.class_by_id[record.class_id]
    ref_ids = [
        record.values[a.key]
        for a in cmdb.meta.attributes_of(info)
        if a.type == "reference" and isinstance(record.values.get(a.key), int)
    ]
    history = cmdb.history.for_ci(ci_id, limit=HISTORY_LIMIT)
    total = len(history) if len(history) < HISTORY_LIMIT else cmdb.history.count_for_ci(ci_id)
    return CiDetails(
        record, cmdb.relations.of(ci_id), history, cmdb.items.refs(ref_ids), history_total=total
    )


@dataclass(frozen=True)
class DeletedHistory:
    """A deleted CI and its whole history, newest first."""

    ci: DeletedCi
    entries: list[HistoryEntry]


def deleted_history(state: JobState, cmdb: Cmdb, ref: str) -> DeletedHistory:
    """The deleted CI ``ref`` names (``#ID``, ``Class/Name``, a name) and its history;
    NotFoundError saying so when ``ref`` names an existing CI instead."""
    try:
        gone = cmdb.history.find_deleted(ref)
    except NotFoundError as missing:
        try:
            live = cmdb.items.resolve(ref)
        except CmdbError:
            raise missing from None
        found = cmdb.items.refs([live]).get(live)
        label = found.label() if found is not None else ref
        raise NotFoundError(
            f"{label} is not deleted: select it in the table, its history is in the CI panel."
        ) from None
    return DeletedHistory(gone, cmdb.history.for_ci(gone.id))


def search_cis(
    state: JobState, cmdb: Cmdb, text: str, class_ids: Iterable[int] | None, limit: int = 50
) -> list[CiRef]:
    """CIs matching ``text`` (a ``#ID`` finds that CI), for pickers and completion."""
    text = text.strip()
    if text.startswith("#") and text[1:].isdigit():
        return list(cmdb.items.refs([int(text[1:])]).values())
    ids = cmdb.search.search(
        text, limit=limit, class_ids=list(class_ids) if class_ids is not None else None
    )
    refs = cmdb.items.refs(ids)
    return [refs[i] for i in ids if i in refs]


# -- writes -------------------------------------------------------------------

GUI = Source("gui")
UNDO = Source("undo")


def create_ci(
    state: JobState, cmdb: Cmdb, class_name: str, fields: Mapping[str, Any], source: Source = GUI
) -> ChangeSummary:
    return cmdb.items.create(class_name, fields, source=source)


def update_ci(
    state: JobState,
    cmdb: Cmdb,
    ci_id: int,
    fields: Mapping[str, Any],
    expected_version: int | None,
    source: Source = GUI,
) -> ChangeSummary:
    return cmdb.items.update(ci_id, fields, expected_version=expected_version, source=source)


def update_many(
    state: JobState,
    cmdb: Cmdb,
    changes: Mapping[int, Mapping[str, Any]],
    expected_versions: Mapping[int, int] | None,
    source: Source = GUI,
) -> ChangeSummary:
    """One all-or-nothing transaction (the core's bulk edit)."""
    return cmdb.items.update_many(
        changes, expected_versions=expected_versions, source=source, progress=state.progress
    )


def bulk_set(
    state: JobState, cmdb: Cmdb, ids: Sequence[int], key: str, value: Any
) -> tuple[ChangeSummary, dict[int, int]]:
    """Set one field to one value on many CIs in one transaction (the table's
    *Set field…*). Returns the summary and the versions the CIs had before."""
    versions = versions_of(state, cmdb, ids)
    summary = update_many(state, cmdb, {i: {key: value} for i in ids}, versions)
    return summary, versions


def delete_cis(
    state: JobState, cmdb: Cmdb, ids: Sequence[int], versions: Mapping[int, int] | None = None
) -> list[ChangeSummary]:
    """Delete CIs in ONE transaction (``items.delete_many``): all or none. A CI
    changed by someone else since ``versions`` refuses the whole delete.

    Returns a list (of one summary) whose snapshots are what an undo needs.
    """
    return [
        cmdb.items.delete_many(
            ids, expected_versions=versions or None, source=GUI, progress=state.progress
        )
    ]


def restore_cis(
    state: JobState, cmdb: Cmdb, snapshots: Sequence[Mapping[str, Any]]
) -> list[ChangeSummary]:
    """Undo deletions: re-create the CIs with their ids, fields and relationships,
    all in one transaction (``items.restore_many``; a relationship between two
    of them comes back once both ends exist)."""
    state.progress.start("Restoring CIs", len(snapshots))
    return [cmdb.items.restore_many(snapshots, source=UNDO)]


def versions_of(state: JobState, cmdb: Cmdb, ids: Sequence[int]) -> dict[int, int]:
    return {i: rec.version for i, rec in cmdb.items.get_many(ids).items()}


def relate(
    state: JobState, cmdb: Cmdb, a: int, type_name: str, b: int, source: Source = GUI
) -> ChangeSummary:
    return cmdb.relations.relate(a, type_name, b, source=source)


def unrelate(
    state: JobState, cmdb: Cmdb, a: int, type_name: str, b: int, source: Source = GUI
) -> ChangeSummary:
    return cmdb.relations.unrelate(a, type_name, b, source=source)


def call(state: JobState, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one facade method (class manager operations, saved items…)."""
    return method(*args, **kwargs)


# -- export and copy ----------------------------------------------------------


def _text_rows(
    state: JobState, cmdb: Cmdb, ids: Sequence[int], keys: Sequence[str]
) -> Iterable[tuple[Any, ...]]:
    step = 2000
    for start in range(0, len(ids), step):
        state.check()
        part = list(ids[start : start + step])
        got = browse.rows(cmdb, part, keys)
        for ci_id in part:
            if ci_id in got:
                yield got[ci_id]
        state.progress.step(min(start + step, len(ids)), len(ids))


def tsv_text(state: JobState, cmdb: Cmdb, ids: Sequence[int], keys: Sequence[str]) -> str:
    """Tab-separated text with a header line; tabs and newlines in values become spaces,
    and text a spreadsheet would evaluate as a formula gets a leading apostrophe."""
    from importers.cells import needs_guard

    cols = browse.column_map(cmdb.meta)
    state.progress.start("Copying", len(ids))

    def clean(value: Any) -> str:
        text = " ".join(to_text(value).split())
        # Pasted into a spreadsheet, "=1+2" would be evaluated: an apostrophe keeps it text.
        return "'" + text if needs_guard(text) else text

    lines = ["\t".join(cols[k].label if k in cols else k for k in keys)]
    lines += ["\t".join(clean(v) for v in row) for row in _text_rows(state, cmdb, ids, keys)]
    return "\n".join(lines) + "\n"


def export_xlsx(
    state: JobState, cmdb: Cmdb, ids: Sequence[int], keys: Sequence[str], path: str
) -> Path:
    """Write the CIs to a workbook in the canonical layout (sheet ``CIs``: Name,
    Class, then attribute labels), so it can be edited and imported back."""
    from importers.cells import new_workbook, safe_row

    cols = browse.column_map(cmdb.meta)
    keys = ["name", "class", *[k for k in keys if k not in ("name", "class")]]
    state.progress.start("Exporting", len(ids))
    with new_workbook(Path(path)) as wb:
        ws = wb.create_sheet("CIs")
        ws.append(safe_row(ws, [cols[k].label if k in cols else k for k in keys]))
        for row in _text_rows(state, cmdb, ids, keys):
            ws.append(safe_row(ws, list(row)))
    return Path(path)
