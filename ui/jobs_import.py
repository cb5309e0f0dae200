"""Background jobs of the import and audit wizards and the batches view: plain
functions ``fn(state, cmdb, …)`` (no Qt), run by :class:`ui.tasks.TaskRunner`.

Every file is read through :mod:`importers.readers` (via
``importers.plan.load_source``), which refuses hostile files with a
:class:`~cmdb_desktop.errors.BadFileError` instead of letting them harm the
process; the wizards show that message. Mappings cross threads as copies
(:func:`copy_mapping`): the GUI edits its own, a job plans with a snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cmdb_desktop.batches import BatchInfo
from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import ValidationError
from importers.apply import ImportRequest, ImportResult, apply_import, apply_with_new_attributes
from importers.audit import AuditResult, AuditScope, audit_file, stamp_verified
from importers.mapping import (
    CLASS,
    ImportMapping,
    load_profile,
    profile_names,
    save_profile,
)
from importers.new_attributes import CheckedAttribute, NewAttribute, check, propose
from importers.plan import ImportPlan, ImportSource, load_source, plan_import, suggest_mapping
from importers.readers import open_spreadsheet
from importers.workbook import KIND_CIS, sheet_role
from ui.jobs import JobState


def copy_mapping(mapping: ImportMapping) -> ImportMapping:
    """An independent copy (the JSON round trip a saved profile makes)."""
    return ImportMapping.from_json(mapping.to_json())


@dataclass(frozen=True)
class SheetChoice:
    name: str
    visible: bool
    #: Imported unless the user says otherwise (what ``load_source`` would pick).
    default: bool
    role: str | None


@dataclass(frozen=True)
class FileInfo:
    path: Path
    format: str
    sheets: list[SheetChoice]
    warnings: list[str] = field(default_factory=list)


def inspect_file(state: JobState, path: str) -> FileInfo:
    """What the file is and which sheets it has (BadFileError when it cannot be read)."""
    state.progress.start(f"Opening {Path(path).name}")
    with open_spreadsheet(path) as book:
        visible = [s.name for s in book.sheets if s.visible]
        canonical = [n for n in visible if sheet_role(n) is not None]
        chosen = set(canonical or visible)
        sheets = [
            SheetChoice(s.name, s.visible, s.name in chosen, sheet_role(s.name))
            for s in book.sheets
        ]
        return FileInfo(book.path, book.format, sheets, list(book.warnings))


@dataclass
class LoadedFile:
    """A file read once, and the mapping suggested for it (or laid over a profile)."""

    source: ImportSource
    mapping: ImportMapping
    profile: str | None = None


def load_file(
    state: JobState,
    cmdb: Cmdb,
    path: str,
    sheets: Sequence[str] | None,
    profile: str | None = None,
) -> LoadedFile:
    meta = cmdb.meta
    source = load_source(
        path, meta=meta, sheets=list(sheets) if sheets else None, progress=state.progress
    )
    base = _profile(cmdb, source, profile)
    return LoadedFile(source, suggest_mapping(source, meta, base), profile)


def remap(state: JobState, cmdb: Cmdb, source: ImportSource, profile: str | None) -> ImportMapping:
    """The mapping for an already read file with another profile (None: suggestions)."""
    base = _profile(cmdb, source, profile)
    return suggest_mapping(source, cmdb.meta, base)


#: The built-in profiles of known tools (PRODUCT.md §10) as the wizard lists them.
BUILTIN_PROFILES = {
    "Snipe-IT export (built-in)": "snipe-it",
    "NetBox export (built-in)": "netbox",
    "GLPI export (built-in)": "glpi",
    "iTop CSV export (built-in)": "itop",
}


def _profile(cmdb: Cmdb, source: ImportSource, profile: str | None) -> ImportMapping | None:
    """A saved profile by name, or a known tool's built-in one laid over the file."""
    if not profile:
        return None
    tool = BUILTIN_PROFILES.get(profile)
    if tool is None:
        return load_profile(cmdb, profile)
    from importers.profiles import choose

    if not source.tables:
        return None
    table = source.tables[0]
    headers = [c.header for c in table.columns]
    variant = choose(tool, headers)
    if variant.people:
        raise ValidationError(
            f"This is a {tool} export of people, not CIs: add them with "
            f"`cmdb import FILE --profile {tool}`."
        )
    return variant.mapping_for(table.sheet, headers)


def mapping_profiles(state: JobState, cmdb: Cmdb) -> list[str]:
    return [*BUILTIN_PROFILES, *profile_names(cmdb)]


def save_mapping_profile(state: JobState, cmdb: Cmdb, name: str, mapping: ImportMapping) -> str:
    if not name.strip():
        raise ValidationError("Give the mapping profile a name.")
    save_profile(cmdb, name.strip(), mapping)
    return name.strip()


def dry_run(
    state: JobState, cmdb: Cmdb, source: ImportSource, mapping: ImportMapping
) -> ImportPlan:
    """Classify every row; writes nothing (PRODUCT.md §4)."""
    return plan_import(cmdb, source, copy_mapping(mapping), progress=state.progress)


def attribute_proposals(
    state: JobState, cmdb: Cmdb, source: ImportSource, mapping: ImportMapping
) -> dict[tuple[str, str], NewAttribute]:
    """(sheet, column) → the new attribute the column of a CIs sheet would become, its
    type inferred from its values (:func:`importers.new_attributes.propose`), for every
    column whose header names no attribute of the sheet's class yet, mapped or not (the
    user may unmap one and create it instead)."""
    state.progress.start("Looking at the columns' values")
    loose = copy_mapping(mapping)
    for sm in loose.sheets:
        if sm.kind == KIND_CIS:
            for cm in sm.columns:
                if cm.target != CLASS:
                    cm.target = None
    return {(p.sheet, p.column): p for p in propose(source, loose, cmdb.meta)}


@dataclass
class Preview:
    """The dry run and the new attributes it would add, as the preview page shows them."""

    plan: ImportPlan
    new_attributes: list[CheckedAttribute] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every new attribute can be created with every value of its column."""
        return all(a.ok for a in self.new_attributes)


def preview(
    state: JobState,
    cmdb: Cmdb,
    source: ImportSource,
    mapping: ImportMapping,
    new_attributes: Sequence[NewAttribute] = (),
) -> Preview:
    """The dry run (writes nothing) and the check of the chosen new attributes: their
    class as the mapping now says, their values, those that would not convert."""
    snapshot = copy_mapping(mapping)
    plan = plan_import(cmdb, source, snapshot, progress=state.progress)
    checked = check(cmdb, source, snapshot, new_attributes) if new_attributes else []
    if checked:
        # a column that becomes a new attribute is not "ignored": say what it becomes
        made = {(c.attribute.sheet, c.attribute.column) for c in checked}
        ignored = {f"Sheet {sheet!r}: column {column!r} (" for sheet, column in made}
        plan.warnings = [
            w for w in plan.warnings if not any(w.startswith(prefix) for prefix in ignored)
        ]
        plan.unmapped = [u for u in plan.unmapped if u not in made]
        plan.warnings.extend(f"Would add {c.attribute.describe()}." for c in checked)
    return Preview(plan, checked)


def apply_plan(
    state: JobState,
    cmdb: Cmdb,
    plan: ImportPlan,
    skip_errors: bool,
    rejects: str | None = None,
    new_attributes: Sequence[NewAttribute] = (),
) -> ImportResult:
    """Write the plan as one batch in one transaction; cancel rolls everything back.

    The plan is re-checked inside the transaction when the CMDB moved since
    the dry run (``apply_import`` does that). With ``new_attributes`` they are
    added first and their columns mapped to them, then the file is planned
    again inside the write; the batch remembers them, so rolling it back (or an
    import that writes nothing) removes them
    (:func:`importers.apply.apply_with_new_attributes`).
    """
    if new_attributes:
        return apply_with_new_attributes(
            cmdb,
            ImportRequest(plan.source, copy_mapping(plan.mapping)),
            new_attributes,
            skip_errors=skip_errors,
            rejects_path=rejects,
            progress=state.progress,
        )
    return apply_import(
        cmdb, plan, skip_errors=skip_errors, rejects_path=rejects, progress=state.progress
    )


# -- batches ------------------------------------------------------------------------


def list_batches(state: JobState, cmdb: Cmdb) -> list[BatchInfo]:
    return cmdb.batches.list()


def rollback_batch(state: JobState, cmdb: Cmdb, batch_id: int) -> ChangeSummary:
    """Undo a whole batch (ConflictError, naming CI, field and both values, where that
    would undo a later change)."""
    return cmdb.batches.rollback(batch_id, progress=state.progress)


def batch_ci_ids(state: JobState, cmdb: Cmdb, batch_id: int) -> list[int]:
    """The CIs a batch touched (from its history), in order, for the table."""
    seen: dict[int, None] = {}
    for entry in cmdb.history.for_batch(batch_id):
        if entry.ci_id is not None:
            seen.setdefault(entry.ci_id, None)
    return list(seen)


# -- audit ----------------------------------------------------------------------------


def audit(
    state: JobState,
    cmdb: Cmdb,
    path: str,
    mapping: ImportMapping | None,
    keys: list[list[str]] | None,
    default_class: str | None,
    sheets: Sequence[str] | None,
    scope: AuditScope,
) -> AuditResult:
    """Compare the file with the CMDB (reads only)."""
    return audit_file(
        cmdb,
        path,
        mapping=copy_mapping(mapping) if mapping is not None else None,
        keys=keys,
        default_class=default_class,
        sheets=list(sheets) if sheets else None,
        scope=scope,
        progress=state.progress,
    )


def audit_report(state: JobState, result: AuditResult, path: str) -> Path:
    from importers.audit_report import write_audit_report

    state.progress.start("Writing the audit report")
    return write_audit_report(result, path)


def stamp(state: JobState, cmdb: Cmdb, result: AuditResult) -> int | None:
    """Set *last verified* on the matched CIs as one batch (undone by rolling it back)."""
    return stamp_verified(cmdb, result, progress=state.progress)


def describe_counts(counts: dict[str, dict[str, int]]) -> str:
    """ "12 created, 3 updated, 40 unchanged, 2 errors; relationships: …" """
    cis = counts["cis"]
    rels = counts["relationships"]
    text = (
        f"CIs: {cis['created']:,} created, {cis['updated']:,} updated, "
        f"{cis['unchanged']:,} unchanged, {cis['errors']:,} with errors"
    )
    if any(rels.values()):
        text += (
            f"; relationships: {rels['created']:,} created, {rels['unchanged']:,} unchanged, "
            f"{rels['errors']:,} with errors"
        )
    return text


def scope_from(classes: str, locations: str, statuses: str) -> AuditScope:
    """An audit scope from three comma-separated lists (blank: not narrowed)."""

    def split(text: str) -> list[str]:
        return [p.strip() for p in text.split(",") if p.strip()]

    return AuditScope(split(classes), split(locations), split(statuses))


def distinct_values(source: ImportSource, sheet: str, column: str, limit: int = 500) -> list[Any]:
    """The different values of one column (for the value-translation dialog)."""
    table = source.table(sheet)
    col = table.column(column) if table is not None else None
    if table is None or col is None:
        return []
    seen: dict[str, Any] = {}
    for row in table.rows:
        value = row[col.index] if col.index < len(row) else ""
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        key = str(value).strip()
        if key not in seen:
            seen[key] = value
            if len(seen) >= limit:
                break
    return sorted(seen, key=str.casefold)
