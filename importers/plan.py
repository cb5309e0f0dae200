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
fits several CIs is an error, never a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmdb_desktop.errors import BadFileError, ValidationError
from cmdb_desktop.items import MAX_NAME_LENGTH, CiRecord, chunks, record_from_row
from cmdb_desktop.metamodel import AttributeInfo, ClassInfo, Metamodel, RelationshipTypeInfo
from cmdb_desktop.models import CmdbState, ci_table, relationship_table
from cmdb_desktop.progress import Progress
from cmdb_desktop.values import coerce, to_storage, to_text
from importers.mapping import (
    BLANK,
    BLANK_CLEAR,
    CLASS,
    ID,
    KIND_SKIP,
    NAME,
    RELATIONSHIP_LABELS,
    SOURCE,
    SOURCE_CLASS,
    TARGET,
    TARGET_CLASS,
    TYPE,
    ImportMapping,
    SheetMapping,
    apply_profile,
    column_date_order,
    converter,
    header_scorer,
    is_blank_cell,
    suggest_sheet,
    translate,
)
from importers.readers import Table, open_spreadsheet
from importers.reconcile import DuplicateTracker, IdentityIndex, Matcher, fields_for, key_of
from importers.workbook import KIND_CIS, KIND_RELATIONSHIPS, sheet_role

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"
ERROR = "error"
STATUSES = (CREATED, UPDATED, UNCHANGED, ERROR)

#: Above this many relationship rows, existing relationships are loaded in one scan.
_SCAN_RELATIONSHIPS = 5000


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


@dataclass
class RowOutcome:
    """What importing one row does (see the module docstring for the invariants)."""

    sheet: str
    row: int
    kind: str
    status: str = UNCHANGED
    ci_id: int | None = None
    class_name: str | None = None
    name: str | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    note: str | None = None
    # What the writer needs (not part of the preview).
    class_id: int | None = None
    values: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, Any] | None = None
    rel: tuple[Any, ...] | None = None

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


def _shown(value: Any) -> str:
    return "∅" if value is None else to_text(value)


@dataclass
class ImportSource:
    """A file read once: its tables, and the sheets left out (with why)."""

    path: Path
    format: str
    tables: list[Table]
    warnings: list[str] = field(default_factory=list)

    def table(self, sheet: str) -> Table | None:
        return next((t for t in self.tables if t.sheet == sheet), None)


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

    def rows_with(self, status: str) -> list[RowOutcome]:
        return [r for r in self.rows if r.status == status]


# -- reading -----------------------------------------------------------------------


def load_source(
    path: str | Path,
    *,
    meta: Metamodel | None = None,
    sheets: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> ImportSource:
    """Read the sheets to import (BadFileError if the file cannot be read).

    Without ``sheets``: hidden sheets are left out; if any sheet has a
    canonical name (``CIs``, ``Relationships``, continuations) only those are
    read, else every visible sheet. ``meta`` improves header detection.
    """
    progress = progress or Progress()
    p = Path(path)
    progress.start(f"Reading {p.name}")
    scorer = header_scorer(meta) if meta is not None else None
    with open_spreadsheet(p) as book:
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
                if s.name not in names and s.visible:
                    warnings.append(
                        f"Sheet {s.name!r} was not imported (not CIs or Relationships)."
                    )
            if not names:
                raise BadFileError(f"{p.name} has no visible sheet to import.")
        tables = []
        empty: list[str] = []
        for name in names:
            progress.check()
            try:
                table = book.read(name, scorer=scorer, progress=progress)
            except BadFileError as exc:
                if "is empty" in str(exc) and len(names) > 1:
                    empty.append(name)
                    continue
                raise
            warnings.extend(table.warnings)
            tables.append(table)
        for name in empty:
            warnings.append(f"Sheet {name!r} is empty and was skipped.")
    if not any(len(t) for t in tables):
        raise BadFileError(f"{p.name} contains no data rows (only headers).")
    return ImportSource(p, book.format, tables, warnings)


def suggest_mapping(
    source: ImportSource,
    meta: Metamodel,
    profile: ImportMapping | None = None,
    *,
    blank: str | None = None,
) -> ImportMapping:
    """A mapping for every table of ``source``: the profile's where it fits, else suggestions."""
    base = profile or ImportMapping()
    if blank is not None:
        base = ImportMapping(base.sheets, base.keys, dict(base.defaults), blank)
    sheets: list[SheetMapping] = []
    for table in source.tables:
        if profile is not None:
            sm = apply_profile(base, table, meta)
        else:
            sm = suggest_sheet(table, meta, blank=base.blank)
        if blank is not None:
            explicit = profile.sheet(table.sheet) if profile is not None else None
            for col in sm.columns:
                if explicit is None or explicit.column(col.column) is None:
                    col.blank = blank
        sheets.append(sm)
    # In a workbook of several non-canonical sheets, sheets that map neither a
    # Name nor Source/Target columns are notes or summaries: skip them.
    if len(sheets) > 1:
        for sm in sheets:
            if sheet_role(sm.sheet) is None and not _usable(sm):
                sm.kind = KIND_SKIP
    return ImportMapping(sheets, base.keys, dict(base.defaults), base.blank)


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
) -> ImportPlan:
    """Classify every row (the dry run). Reads the CMDB in one short read session
    (or ``session``, e.g. the write transaction that re-checks before applying)."""
    progress = progress or Progress()
    if session is not None:
        return _Planner(cmdb, source, mapping, progress).run(session)
    with cmdb.read() as s:
        return _Planner(cmdb, source, mapping, progress).run(s)


_ColumnPlan = tuple[int, str, str, Any, bool, Callable[[Any], Any] | None, bool]


class _Planner:
    def __init__(
        self, cmdb: Cmdb, source: ImportSource, mapping: ImportMapping, progress: Progress
    ) -> None:
        self.cmdb = cmdb
        self.meta = cmdb.meta
        self.source = source
        self.mapping = mapping
        self.progress = progress
        self.rows: list[RowOutcome] = []
        self.errors: list[RowError] = []
        self.warnings: list[str] = list(source.warnings)
        self.unmapped: list[tuple[str, str]] = []
        self.tracker = DuplicateTracker()
        self._classes: dict[str, ClassInfo | str] = {}
        self._types: dict[str, tuple[RelationshipTypeInfo, bool] | str] = {}
        self._defaults: dict[int, dict[str, Any]] = {}

    # -- driver --------------------------------------------------------------
    def run(self, s: Session) -> ImportPlan:
        meta = self.meta
        generation = int(s.scalar(select(CmdbState.data_generation).where(CmdbState.id == 1)) or 0)
        pairs: list[tuple[Table, SheetMapping]] = []
        for sm in self.mapping.sheets:
            table = self.source.table(sm.sheet)
            if table is None:
                self._error(None, None, None, f"The file has no sheet {sm.sheet!r} to import.")
                continue
            if sm.kind == KIND_SKIP:
                continue
            pairs.append((table, sm))
        keys = self.mapping.keys
        if keys:
            for rule in keys:
                for f in rule:
                    if f != NAME and f not in meta.all_attribute_keys:
                        self._error(None, None, None, f"Unknown identification key {f!r}.")
        self.progress.start("Loading the CMDB's identification keys")
        self.index = IdentityIndex.load(s, meta, fields_for(meta, keys), progress=self.progress)
        self.matcher = Matcher(meta, self.index, keys)
        ci_pairs = [(t, m) for t, m in pairs if m.kind == KIND_CIS]
        rel_pairs = [(t, m) for t, m in pairs if m.kind == KIND_RELATIONSHIPS]
        total = sum(len(t) for t, _ in ci_pairs)
        self.progress.start("Checking CIs", total)
        pending: list[tuple[int, RowOutcome, ClassInfo | None]] = []
        done = 0
        for table, sm in ci_pairs:
            done = self._ci_sheet(table, sm, pending, done, total)
        self._compare(s, pending)
        self._duplicates()
        if rel_pairs:
            total = sum(len(t) for t, _ in rel_pairs)
            self.progress.start("Checking relationships", total)
            self._relationships(s, rel_pairs, total)
        self.errors.sort(key=lambda e: (self._sheet_order(e.sheet), e.row or 0))
        return ImportPlan(
            self.source,
            self.mapping,
            self.rows,
            self.errors,
            self.warnings,
            self.unmapped,
            generation,
        )

    def _sheet_order(self, sheet: str | None) -> int:
        names = [t.sheet for t in self.source.tables]
        return names.index(sheet) if sheet in names else -1

    def _error(
        self, sheet: str | None, row: int | None, column: str | None, message: str
    ) -> RowError:
        err = RowError(sheet, row, column, message)
        self.errors.append(err)
        return err

    def _fail(self, outcome: RowOutcome, column: str | None, message: str) -> None:
        outcome.errors.append(self._error(outcome.sheet, outcome.row, column, message))
        outcome.status = ERROR

    # -- CI sheets -------------------------------------------------------------
    def _class(self, text: str) -> ClassInfo | str:
        """A class by name, or the error message."""
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

    def _sheet_columns(self, table: Table, sm: SheetMapping) -> dict[str, Any]:
        """Validate a CI sheet's mapping; returns name/class columns and attribute columns."""
        meta = self.meta
        attrs = meta.all_attribute_keys
        by_header = {c.header.casefold(): c for c in table.columns}
        name_col = class_col = id_col = None
        attr_cols: list[tuple[Any, Any]] = []
        seen: dict[str, str] = {}
        for cm in sm.columns:
            col = by_header.get(cm.column.casefold())
            if col is None:
                continue
            if cm.target is None:
                self.unmapped.append((table.sheet, col.header))
                self.warnings.append(
                    f"Sheet {table.sheet!r}: column {col.header!r} ({col.letter}) maps to no "
                    "attribute and was ignored."
                )
                continue
            if cm.target in seen:
                self._error(
                    table.sheet,
                    table.header_row,
                    col.header,
                    f"maps to {cm.target!r} like column {seen[cm.target]!r}; map only one "
                    "column to each attribute",
                )
                continue
            seen[cm.target] = col.header
            if cm.target == NAME:
                name_col = (col, cm)
            elif cm.target == CLASS:
                class_col = (col, cm)
            elif cm.target == ID:
                id_col = (col, cm)
            elif cm.target in attrs:
                attr_cols.append((col, cm))
            else:
                self._error(
                    table.sheet,
                    table.header_row,
                    col.header,
                    f"is mapped to {cm.target!r}, which is no attribute of any class",
                )
        return {"name": name_col, "class": class_col, "id": id_col, "attrs": attr_cols}

    def _column_plans(
        self, table: Table, attr_cols: list[tuple[Any, Any]]
    ) -> Callable[[ClassInfo | None], list[_ColumnPlan]]:
        """Per class: (index, header, key, converter, clear-on-blank, translate, applicable)."""
        meta = self.meta
        orders: dict[str, Any] = {}
        for col, cm in attr_cols:
            attr = meta.all_attribute_keys[cm.target]
            if attr.type == "date":
                orders[cm.target] = cm.date_order or column_date_order(
                    r[col.index] for r in table.rows
                )
        cache: dict[int | None, list[_ColumnPlan]] = {}
        convs: dict[int, Any] = {}

        def plans(info: ClassInfo | None) -> list[_ColumnPlan]:
            key = info.id if info is not None else None
            found = cache.get(key)
            if found is not None:
                return found
            amap = meta.attribute_map(info) if info is not None else meta.all_attribute_keys
            out: list[_ColumnPlan] = []
            for col, cm in attr_cols:
                attr: AttributeInfo | None = amap.get(cm.target)
                applicable = attr is not None
                if attr is None:
                    attr = meta.all_attribute_keys[cm.target]
                conv = convs.get(attr.id)
                if conv is None:
                    conv = convs[attr.id] = converter(attr, orders.get(cm.target))
                trans = translate(cm.values) if cm.values else None
                out.append(
                    (
                        col.index,
                        col.header,
                        cm.target,
                        conv,
                        cm.blank == BLANK_CLEAR,
                        trans,
                        applicable,
                    )
                )
            cache[key] = out
            return out

        return plans

    def _ci_sheet(
        self,
        table: Table,
        sm: SheetMapping,
        pending: list[tuple[int, RowOutcome, ClassInfo | None]],
        done: int,
        total: int,
    ) -> int:
        meta = self.meta
        sheet = table.sheet
        cols = self._sheet_columns(table, sm)
        fatal = None
        if cols["name"] is None:
            fatal = self._error(
                sheet,
                table.header_row,
                None,
                "no Name column: map one column to Name (a header such as Name or Hostname)",
            )
        default_class: ClassInfo | None = None
        if sm.default_class:
            found = self._class(sm.default_class)
            if isinstance(found, str):
                fatal = self._error(sheet, None, None, f"Default class: {found}.")
            else:
                default_class = found
        if fatal is not None:
            for n in table.row_numbers:
                self.rows.append(RowOutcome(sheet, n, KIND_CIS, ERROR, errors=[fatal]))
            return done + len(table)
        name_col, name_map = cols["name"]
        class_col = cols["class"][0] if cols["class"] else None
        id_col = cols["id"][0] if cols["id"] else None
        plans = self._column_plans(table, cols["attrs"])
        matcher = self.matcher
        tracker = self.tracker
        references = any(
            meta.all_attribute_keys[cm.target].type == "reference" for _, cm in cols["attrs"]
        )
        name_trans = translate(name_map.values) if name_map.values else None
        for i, raw_row in enumerate(table.rows):
            outcome = RowOutcome(sheet, table.row_numbers[i], KIND_CIS)
            ref = len(self.rows)
            self.rows.append(outcome)
            # name
            raw = raw_row[name_col.index]
            if name_trans is not None:
                raw = name_trans(raw)
            name = _name(raw)
            if isinstance(name, tuple):
                self._fail(outcome, name_col.header, name[0])
                name = None
            outcome.name = name
            # class
            info = default_class
            if class_col is not None:
                raw = raw_row[class_col.index]
                if not is_blank_cell(raw):
                    found = self._class(str(raw).strip())
                    if isinstance(found, str):
                        self._fail(outcome, class_col.header, found)
                    else:
                        info = found
            if info is not None:
                outcome.class_name = info.name
                outcome.class_id = info.id
            # attribute values
            values: dict[str, Any] = {}
            for idx, header, key, conv, clear, trans, applicable in plans(info):
                raw = raw_row[idx]
                if raw == "" or raw is None:
                    if clear and applicable:
                        values[key] = None
                    continue
                if trans is not None:
                    raw = trans(raw)
                try:
                    value = conv(raw)
                except ValueError as exc:
                    self._fail(outcome, header, str(exc))
                    continue
                if value is BLANK:
                    if clear and applicable:
                        values[key] = None
                    continue
                if not applicable:
                    assert info is not None
                    self._fail(outcome, header, f"class {info.name} has no attribute {header!r}")
                    continue
                values[key] = value
            if references:
                self._references(outcome, info, values, cols["attrs"])
            outcome.values = values
            # identity
            if name is not None:
                values_with_name = {**values, NAME: name}
            else:
                values_with_name = values
            match = matcher.match(info, values_with_name)
            ident = matcher.identification(info)
            ci_id = match.ci_id
            if match.ambiguous and id_col is not None:
                # The export's ID column tells apart CIs that share their keys
                # (e.g. a double registration); it never overrides the rules.
                hint = _int(raw_row[id_col.index])
                if hint in match.candidates:
                    ci_id = hint
            if match.rule is None:
                keys = ", ".join("+".join(r) for r in ident.rules)
                self._fail(outcome, None, f"none of its identification keys has a value ({keys})")
            elif ci_id is None and match.ambiguous:
                listed = ", ".join(self._ci_label(c) for c in match.candidates[:5])
                more = f" and {len(match.candidates) - 5} more" if len(match.candidates) > 5 else ""
                what = _labels(meta, match.rule)
                self._fail(
                    outcome,
                    None,
                    f"ambiguous match: {what} {_rule_values(match.rule, values_with_name)} fits "
                    f"{len(match.candidates)} CIs ({listed}{more}); add a Class column or a "
                    "key column (serial number, asset tag) that tells them apart",
                )
            elif ci_id is not None:
                outcome.ci_id = ci_id
                tracker.claim_ci(ci_id, ref)
            elif match.rule is not None and info is not None:
                # A new CI: its keys must be unique in the file and its hard keys
                # (serial, asset tag…) must not belong to a CI already.
                tracker.claim(ident.class_ids, match.rule, values_with_name, ref)
                for rule in meta.identification(info).rules[:-1]:
                    if rule != match.rule and all(
                        key_of(values_with_name.get(f)) is not None for f in rule
                    ):
                        tracker.claim(ident.class_ids, rule, values_with_name, ref)
                if outcome.status != ERROR:
                    for rule, other in matcher.hard_conflicts(info, values_with_name, None):
                        self._fail(
                            outcome,
                            None,
                            f"{_labels(meta, rule)} {_rule_values(rule, values_with_name)} "
                            f"already belongs to {self._ci_label(other)}",
                        )
            if ci_id is None and outcome.status != ERROR and match.rule is not None:
                if info is None:
                    self._fail(
                        outcome,
                        None,
                        "a new CI needs a class: add a Class column or choose a class for the rows",
                    )
                elif name is None:
                    self._fail(outcome, name_col.header, "a name is required for a new CI")
            pending.append((ref, outcome, info))
            done += 1
            if done % 2000 == 0:
                self.progress.step(done, total)
        return done

    def _references(
        self,
        outcome: RowOutcome,
        info: ClassInfo | None,
        values: dict[str, Any],
        attr_cols: list[tuple[Any, Any]],
    ) -> None:
        meta = self.meta
        headers = {cm.target: col.header for col, cm in attr_cols}
        for key, value in list(values.items()):
            attr = meta.all_attribute_keys.get(key)
            if attr is None or attr.type != "reference" or value is None:
                continue
            if info is not None:
                attr = meta.attribute_map(info).get(key, attr)
            try:
                values[key] = self._resolve_reference(attr, value)
            except ValueError as exc:
                del values[key]
                self._fail(outcome, headers.get(key), str(exc))

    def _resolve_reference(self, attr: AttributeInfo, value: int | str) -> int:
        meta = self.meta
        index = self.index
        if isinstance(value, int):
            if value not in index.class_of:
                raise ValueError(f"no CI #{value}")
            found = [value]
        else:
            cls_info = None
            name = value
            if "/" in value:
                cls_text, _, rest = value.partition("/")
                cand = meta.find_class(cls_text)
                if cand is not None and rest.strip():
                    cls_info, name = cand, rest.strip()
            space = meta.subtree_ids(cls_info) if cls_info is not None else None
            found = sorted(
                {
                    ci
                    for ci, _ in index.lookup(NAME, name)
                    if space is None or index.class_of[ci] in space
                }
            )
            if not found:
                raise ValueError(f"no CI named {value!r} in the CMDB")
            if len(found) > 1:
                listed = ", ".join(self._ci_label(c) for c in found[:5])
                raise ValueError(f"{value!r} names {len(found)} CIs ({listed}); write Class/Name")
        if attr.reference_class_id is not None:
            allowed = meta.subtree_ids(meta.class_by_id[attr.reference_class_id])
            if index.class_of[found[0]] not in allowed:
                want = meta.class_by_id[attr.reference_class_id].name
                raise ValueError(f"{self._ci_label(found[0])} is not a {want}")
        return found[0]

    def _ci_label(self, ci_id: int) -> str:
        class_id = self.index.class_of.get(ci_id)
        cls = self.meta.class_by_id[class_id].name if class_id is not None else "?"
        return f"{cls}/{self.index.name_of.get(ci_id, '?')} (#{ci_id})"

    def _duplicates(self) -> None:
        for ref, others in self.tracker.duplicates().items():
            outcome = self.rows[ref]
            listed = ", ".join(self._row_label(self.rows[o], outcome.sheet) for o in others[:5])
            more = f" and {len(others) - 5} more" if len(others) > 5 else ""
            self._fail(
                outcome,
                None,
                f"duplicate: {listed}{more} of the file identify the same CI; keep one row per CI",
            )

    @staticmethod
    def _row_label(outcome: RowOutcome, sheet: str) -> str:
        if outcome.sheet == sheet:
            return f"row {outcome.row}"
        return f"row {outcome.row} of {outcome.sheet!r}"

    def _defaults_for(self, info: ClassInfo) -> dict[str, Any]:
        """The mapping's default values, coerced for ``info`` (errors reported once)."""
        found = self._defaults.get(info.id)
        if found is None:
            found = {}
            amap = self.meta.attribute_map(info)
            for key, raw in self.mapping.defaults.items():
                attr = amap.get(key) or self.meta.find_attribute(info, key)
                if attr is None:
                    continue
                try:
                    value = coerce(attr, raw)
                except ValueError as exc:
                    self._error(None, None, attr.label, f"default value: {exc}")
                    continue
                if value is not None:
                    found[attr.key] = value
            self._defaults[info.id] = found
        return found

    def _compare(self, s: Session, pending: list[tuple[int, RowOutcome, ClassInfo | None]]) -> None:
        """Second pass: diff matched rows with their CIs; complete new ones."""
        meta = self.meta
        matched = [o.ci_id for _, o, _ in pending if o.ci_id is not None and o.status != ERROR]
        records: dict[int, CiRecord] = {}
        for part in chunks(matched, 900):
            for row in s.execute(select(ci_table).where(ci_table.c.id.in_(part))):
                records[row.id] = record_from_row(meta, row)
        for ref, outcome, info in pending:
            if outcome.status == ERROR:
                outcome.values = {}
                continue
            if outcome.ci_id is None:
                self._complete_new(outcome, info)
            else:
                self._diff(ref, outcome, info, records[outcome.ci_id])

    def _complete_new(self, outcome: RowOutcome, info: ClassInfo | None) -> None:
        assert info is not None
        values = {k: v for k, v in outcome.values.items() if v is not None}
        for key, value in self._defaults_for(info).items():
            values.setdefault(key, value)
        if outcome.name is not None and len(outcome.name) > MAX_NAME_LENGTH:
            self._fail(outcome, None, f"the name is longer than {MAX_NAME_LENGTH} characters")
        for key in self.meta.required_fields(info):
            if key != NAME and values.get(key) is None:
                attr = self.meta.attribute_map(info).get(key)
                label = attr.label if attr else key
                self._fail(outcome, label, f"{label} is required for a new {info.name}")
        if outcome.status == ERROR:
            return
        outcome.values = values
        outcome.status = CREATED

    def _diff(
        self, ref: int, outcome: RowOutcome, info: ClassInfo | None, existing: CiRecord
    ) -> None:
        meta = self.meta
        old_info = meta.class_by_id[existing.class_id]
        new_info = info or old_info
        new_attrs = meta.attribute_map(new_info)
        changes: dict[str, tuple[Any, Any]] = {}
        custom_changed = False
        if new_info.id != old_info.id:
            changes[CLASS] = (old_info.name, new_info.name)
            for key, old_attr in meta.attribute_map(old_info).items():
                if key not in new_attrs and existing.values.get(key) is not None:
                    changes[key] = (existing.values[key], None)
                    custom_changed |= old_attr.column is None
        name = outcome.name or existing.name
        if name != existing.name:
            changes[NAME] = (existing.name, name)
        for key, value in outcome.values.items():
            attr = new_attrs.get(key)
            if attr is None:
                if value is not None:
                    label = meta.all_attribute_keys[key].label
                    self._fail(outcome, label, f"class {new_info.name} has no attribute {label!r}")
                continue
            old = existing.values.get(key)
            if old != value:
                changes[key] = (old, value)
                custom_changed |= attr.column is None
        for key in meta.required_fields(new_info):
            if key == NAME:
                continue
            now = changes[key][1] if key in changes else existing.values.get(key)
            if now is None:
                required = new_attrs.get(key)
                label = required.label if required else key
                self._fail(outcome, label, f"{label} is required for {new_info.name}")
        hard = [r for r in meta.identification(new_info).rules[:-1] if any(f in changes for f in r)]
        if hard and outcome.status != ERROR:
            after = {**existing.values, NAME: name, **{k: v[1] for k, v in changes.items()}}
            ident = meta.identification(new_info)
            for rule in hard:
                if all(key_of(after.get(f)) is not None for f in rule):
                    self.tracker.claim(ident.class_ids, rule, after, ref)
            for rule, other in self.matcher.hard_conflicts(new_info, after, existing.id):
                if rule in hard:
                    self._fail(
                        outcome,
                        None,
                        f"{_labels(meta, rule)} {_rule_values(rule, after)} already belongs "
                        f"to {self._ci_label(other)}",
                    )
        outcome.class_name = new_info.name
        outcome.class_id = new_info.id
        outcome.name = name
        if outcome.status == ERROR:
            outcome.values = {}
            return
        outcome.changes = changes
        if custom_changed:
            custom: dict[str, Any] = {}
            for key, attr in new_attrs.items():
                if attr.column is None:
                    value = changes[key][1] if key in changes else existing.values.get(key)
                    if value is not None:
                        custom[key] = to_storage(attr, value)
            outcome.custom = custom
        outcome.status = UPDATED if changes else UNCHANGED

    # -- relationship sheets -------------------------------------------------------
    def _relationships(
        self, s: Session, pairs: list[tuple[Table, SheetMapping]], total: int
    ) -> None:
        file_names: dict[Any, list[int]] = {}
        for ref, outcome in enumerate(self.rows):
            if outcome.kind == KIND_CIS and outcome.name is not None:
                file_names.setdefault(key_of(outcome.name), []).append(ref)
        self._file_names = file_names
        self._ends: dict[tuple[Any, int | None], tuple[Any, ...] | str] = {}
        parsed: list[tuple[RowOutcome, Any, RelationshipTypeInfo, Any]] = []
        done = 0
        for table, sm in pairs:
            cols = self._rel_columns(table, sm)
            if isinstance(cols, RowError):
                for n in table.row_numbers:
                    self.rows.append(
                        RowOutcome(table.sheet, n, KIND_RELATIONSHIPS, ERROR, errors=[cols])
                    )
                done += len(table)
                continue
            for i, raw_row in enumerate(table.rows):
                outcome = RowOutcome(table.sheet, table.row_numbers[i], KIND_RELATIONSHIPS)
                self.rows.append(outcome)
                item = self._rel_row(outcome, raw_row, cols)
                if item is not None:
                    parsed.append((outcome, item[0], item[1], item[2]))
                done += 1
                if done % 5000 == 0:
                    self.progress.step(done, total)
        existing = self._existing_triples(s, parsed)
        seen: dict[tuple[Any, int, Any], RowOutcome] = {}
        for outcome, src, rtype, dst in parsed:
            key = (src, rtype.id, dst)
            first = seen.get(key)
            if first is not None:
                outcome.status = UNCHANGED
                outcome.note = f"repeats {self._row_label(first, outcome.sheet)}"
                continue
            seen[key] = outcome
            if src[0] == "ci" and dst[0] == "ci" and (src[1], rtype.id, dst[1]) in existing:
                outcome.status = UNCHANGED
            else:
                outcome.status = CREATED
            outcome.rel = (src, rtype.id, dst)

    def _rel_columns(self, table: Table, sm: SheetMapping) -> dict[str, Any] | RowError:
        by_header = {c.header.casefold(): c for c in table.columns}
        found: dict[str, Any] = {}
        for cm in sm.columns:
            col = by_header.get(cm.column.casefold())
            if col is None:
                continue
            if cm.target is None:
                self.unmapped.append((table.sheet, col.header))
                self.warnings.append(
                    f"Sheet {table.sheet!r}: column {col.header!r} ({col.letter}) maps to nothing "
                    "and was ignored."
                )
                continue
            if cm.target not in RELATIONSHIP_LABELS:
                self._error(
                    table.sheet,
                    table.header_row,
                    col.header,
                    f"{cm.target!r} is not a relationship column (use Source, Type, "
                    "Target, Source Class or Target Class)",
                )
                continue
            found[cm.target] = col
        missing = [RELATIONSHIP_LABELS[t] for t in (SOURCE, TYPE, TARGET) if t not in found]
        if missing:
            return self._error(
                table.sheet,
                table.header_row,
                None,
                f"a relationships sheet needs {', '.join(missing)} column(s) "
                "(Source, Type, Target; optionally Source Class, Target Class)",
            )
        return found

    def _rel_row(
        self, outcome: RowOutcome, raw_row: list[Any], cols: dict[str, Any]
    ) -> tuple[Any, RelationshipTypeInfo, Any] | None:
        texts: dict[str, str | None] = {}
        for target, col in cols.items():
            raw = raw_row[col.index]
            texts[target] = None if is_blank_cell(raw) else _text(raw)
        for target in (SOURCE, TYPE, TARGET):
            if texts.get(target) is None:
                self._fail(outcome, cols[target].header, f"{RELATIONSHIP_LABELS[target]} is empty")
        classes: dict[str, ClassInfo | None] = {SOURCE_CLASS: None, TARGET_CLASS: None}
        for target in (SOURCE_CLASS, TARGET_CLASS):
            text = texts.get(target)
            if text is not None:
                found = self._class_any(text)
                if isinstance(found, str):
                    self._fail(outcome, cols[target].header, found)
                else:
                    classes[target] = found
        rtype: RelationshipTypeInfo | None = None
        reverse = False
        type_text = texts.get(TYPE)
        if type_text is not None:
            got = self._type(type_text)
            if isinstance(got, str):
                self._fail(outcome, cols[TYPE].header, got)
            else:
                rtype, reverse = got
        if outcome.status == ERROR:
            return None
        assert rtype is not None
        src = self._end(outcome, texts[SOURCE] or "", classes[SOURCE_CLASS], cols[SOURCE].header)
        dst = self._end(outcome, texts[TARGET] or "", classes[TARGET_CLASS], cols[TARGET].header)
        if src is None or dst is None:
            return None
        if reverse:
            src, dst = dst, src
        if src == dst:
            self._fail(outcome, None, "a relationship cannot join a CI to itself")
            return None
        outcome.name = f"{texts[SOURCE]} {type_text} {texts[TARGET]}"
        outcome.class_name = rtype.name
        return src, rtype, dst

    def _class_any(self, text: str) -> ClassInfo | str:
        info = self.meta.find_class(text)
        if info is None:
            known = ", ".join(c.name for c in self.meta.classes)
            return f"unknown class {text!r} (known: {known})"
        return info

    def _type(self, text: str) -> tuple[RelationshipTypeInfo, bool] | str:
        found = self._types.get(text)
        if found is None:
            try:
                found = self.meta.relationship_type(text)
            except ValidationError:
                names = ", ".join(
                    f"{t.name} / {t.reverse_name}" for t in self.meta.relationship_types
                )
                found = f"unknown relationship type {text!r} (known: {names})"
            self._types[text] = found
        return found

    def _end(
        self, outcome: RowOutcome, name: str, info: ClassInfo | None, header: str
    ) -> tuple[str, int] | None:
        """("ci", id) for a CI of the CMDB, ("row", ref) for a CI the file creates."""
        cache_key = (key_of(name), info.id if info is not None else None)
        found = self._ends.get(cache_key)
        if found is None:
            found = self._resolve_end(name, info)
            self._ends[cache_key] = found
        if isinstance(found, str):
            self._fail(outcome, header, found)
            return None
        kind, ident = found
        if kind == "row":
            target = self.rows[ident]
            if target.status == ERROR:
                self._fail(
                    outcome,
                    header,
                    f"{name!r} is {self._row_label(target, outcome.sheet)}, which has errors",
                )
                return None
            if target.ci_id is not None:
                return ("ci", target.ci_id)
        return (kind, ident)

    def _resolve_end(self, name: str, info: ClassInfo | None) -> tuple[str, int] | str:
        meta = self.meta
        index = self.index
        space = meta.subtree_ids(info) if info is not None else None
        ends: dict[tuple[str, int], bool] = {}
        for ref in self._file_names.get(key_of(name), []):
            row = self.rows[ref]
            if space is not None and (row.class_id is None or row.class_id not in space):
                continue
            end = ("ci", row.ci_id) if row.ci_id is not None else ("row", ref)
            ends[end] = ends.get(end, False) or row.name == name
        for ci_id, stored in index.lookup(NAME, name):
            if space is not None and index.class_of[ci_id] not in space:
                continue
            end = ("ci", ci_id)
            ends[end] = ends.get(end, False) or stored == name
        if len(ends) > 1:
            exact = [e for e, is_exact in ends.items() if is_exact]
            if len(exact) == 1:
                return exact[0]
        if len(ends) == 1:
            return next(iter(ends))
        what = f"{info.name} named {name!r}" if info is not None else f"CI named {name!r}"
        if not ends:
            return f"no {what} in the file or the CMDB"
        labels = []
        for kind, ident in list(ends)[:5]:
            if kind == "ci":
                labels.append(self._ci_label(ident))
            else:
                row = self.rows[ident]
                labels.append(f"{row.class_name or '?'}/{row.name} (new, row {row.row})")
        more = f" and {len(ends) - 5} more" if len(ends) > 5 else ""
        return (
            f"ambiguous: {len(ends)} CIs are named {name!r} ({', '.join(labels)}{more}); "
            "add Source Class / Target Class columns to tell them apart"
        )

    def _existing_triples(
        self, s: Session, parsed: list[tuple[RowOutcome, Any, RelationshipTypeInfo, Any]]
    ) -> set[tuple[int, int, int]]:
        rel = relationship_table.c
        sources = {src[1] for _, src, _, dst in parsed if src[0] == "ci" and dst[0] == "ci"}
        out: set[tuple[int, int, int]] = set()
        if not sources:
            return out
        if len(parsed) > _SCAN_RELATIONSHIPS:
            stmt = select(rel.source_id, rel.type_id, rel.target_id).execution_options(
                yield_per=100_000
            )
            for triple in s.execute(stmt):
                if triple[0] in sources:
                    out.add((triple[0], triple[1], triple[2]))
            return out
        for part in chunks(sources, 900):
            for triple in s.execute(
                select(rel.source_id, rel.type_id, rel.target_id).where(rel.source_id.in_(part))
            ):
                out.add((triple[0], triple[1], triple[2]))
        return out


def _int(raw: Any) -> int | None:
    """An integer in a cell (``12``, ``12.0``, ``"#12"``), else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str):
        text = raw.strip().lstrip("#")
        if text.isdigit():
            return int(text)
    return None


def _text(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return " ".join(str(raw).split())


def _name(raw: Any) -> str | None | tuple[str]:
    """The CI name in a cell: text, None for blank, or (error message,)."""
    if is_blank_cell(raw):
        return None
    text = _text(raw) if not isinstance(raw, str) else raw.strip()
    if "\x00" in text:
        return ("contains a NUL character",)
    if len(text) > MAX_NAME_LENGTH:
        return (f"is {len(text)} characters; the limit is {MAX_NAME_LENGTH}",)
    return text


def _labels(meta: Metamodel, rule: Iterable[str]) -> str:
    out = []
    for f in rule:
        attr = meta.all_attribute_keys.get(f)
        out.append(attr.label if attr is not None else f.capitalize())
    return "+".join(out)


def _rule_values(rule: Iterable[str], values: dict[str, Any]) -> str:
    return ", ".join(repr(to_text(values.get(f))) for f in rule)
