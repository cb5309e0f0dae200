"""Planning the rows of a CIs sheet (part of :mod:`importers.plan`).

Two passes per sheet, so the CMDB is read in bulk, never row by row:

1. :meth:`CiSheetPlanner.identify` reads each row's name, class and key
   values and matches it (:class:`~importers.reconcile.Matcher`):
   ambiguous → error; several rows on one CI → errors (at the end).
2. :meth:`CiSheetPlanner.complete`, once the matched CIs are loaded
   (:func:`load_records`, one scan), coerces every mapped cell (an error per
   bad cell), then diffs against the CI (updated/unchanged) or checks what a
   new CI needs (created).

Fast path, which makes an unchanged re-import cheap: a matched row whose
cells equal what an export of that CI would hold (same name, class and
attribute values, compared as raw cells) is *unchanged* without coercing
anything. Any difference, even one that coerces to the same value (" 2" vs
2), takes the full path, which decides correctly.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from contextlib import closing
from datetime import date
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmdb_desktop.attribute_types import BLANK, type_of
from cmdb_desktop.bulk import (
    ci_rows_by_id,
    count_cis,
    is_sqlite,
    scan_ci_rows,
    scan_relationship_triples,
)
from cmdb_desktop.items import CiRecord, record_from_row
from cmdb_desktop.metamodel import AttributeInfo, ClassInfo, Metamodel
from cmdb_desktop.models import CmdbState
from cmdb_desktop.schema import (
    CI_COLUMNS,
    CI_DATE_POSITIONS,
    CI_POSITION,
    ClassSchema,
    document,
    name_problem,
)
from cmdb_desktop.values import from_storage
from importers.mapping import (
    BLANK_CLEAR,
    CLASS,
    ID,
    KIND_SKIP,
    NAME,
    ColumnMap,
    SheetMapping,
    column_date_order,
    is_blank_cell,
    translate,
)
from importers.plan import (
    CREATED,
    ERROR,
    UNCHANGED,
    UPDATED,
    ReadAhead,
    RowError,
    RowOutcome,
    labels,
)
from importers.plan import rule_values as values_text
from importers.readers import Column, Table
from importers.reconcile import IdentityIndex, key_of
from importers.workbook import KIND_CIS

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb
    from importers.plan import PlanContext

_T = TypeVar("_T")
_CI_COLUMNS = list(CI_COLUMNS)
_POS = CI_POSITION
#: Load every CI in one scan (instead of by id) when the file matches this share of them.
_SCAN_SHARE = 0.2
#: Read the index and every CI's row in one scan when the sheets list this share of the CMDB.
WHOLE_SHARE = 0.8
#: Below this many CIs, indexing every CI costs too little to narrow it down first.
MATCHING_MIN_CIS = 50_000
#: Key fields :func:`load_whole` reads as stored (text compares as the index expects).
_TEXT_TYPES = frozenset({"text"})

_ColumnPlan = tuple[int, str, str, Any, bool, Callable[[Any], Any] | None, bool]


# -- the matched CIs, loaded in bulk --------------------------------------------------


class DbRecords:
    """Rows of ``ci`` for the matched CIs: raw (for the fast compare) and typed."""

    def __init__(self, meta: Metamodel) -> None:
        self.meta = meta
        self.raw: dict[int, tuple[Any, ...]] = {}
        self._cells: dict[int, list[Any]] = {}

    def cells(self, ci_id: int) -> list[Any]:
        """The CI as cells of an export would hold it: "" for empty, dates as dates,
        then the class name and the custom attributes document appended."""
        found = self._cells.get(ci_id)
        if found is None:
            raw = self.raw[ci_id]
            found = ["" if v is None else v for v in raw]
            for p in CI_DATE_POSITIONS:
                v = found[p]
                if v != "" and not isinstance(v, date):
                    found[p] = date.fromisoformat(str(v)[:10])
            found.append(self.meta.class_by_id[raw[_POS["class_id"]]].name)
            found.append(document(raw[_POS["attributes"]]))
            self._cells[ci_id] = found
        return found

    def record(self, ci_id: int) -> CiRecord:
        """The CI with typed values (the full path)."""
        return record_from_row(self.meta, self.raw[ci_id])


def _key_positions(meta: Metamodel, fields: Sequence[str]) -> dict[str, int] | None:
    """Where each key field sits in a ``ci`` row, when every one is a plain text
    column (else None: the index is read another way)."""
    attrs = meta.all_attribute_keys
    positions: dict[str, int] = {NAME: _POS["name"]}
    for f in fields:
        attr = attrs.get(f)
        if f == NAME:
            continue
        if attr is None or attr.column is None or attr.type not in _TEXT_TYPES:
            return None
        positions[f] = _POS[attr.column]
    return positions


def load_whole(
    s: Session, meta: Metamodel, fields: Sequence[str], ahead: ReadAhead | None = None
) -> tuple[IdentityIndex, DbRecords] | None:
    """Every CI's row in one scan, as both the identity index and the records
    (SQLite, when every key field is a plain text column; else None).

    For a sheet that lists about every CI (a re-import of an export), this is
    one read of the table where the index and the records would take two.
    ``ahead`` (valid for this transaction: the caller checks) supplies what
    was read while the file loaded.
    """
    if not is_sqlite(s):
        return None
    positions = _key_positions(meta, fields)
    if positions is None:
        return None
    records = DbRecords(meta)
    if ahead is not None and ahead.ci_rows is not None:
        records.raw = ahead.ci_rows
        if ahead.index is not None and ahead.fields == list(fields):
            return ahead.index, records
    else:
        records.raw = {raw[0]: raw for part in scan_ci_rows(s) for raw in part}
    index = IdentityIndex.from_rows(fields, records.raw.values(), positions)
    return index, records


#: Rows fetched at a time while reading ahead (how late a finished load is noticed).
_AHEAD_ROWS = 10_000


def _drain(
    parts: Generator[list[_T], None, None],
    busy: Callable[[], bool],
    take: Callable[[list[_T]], Any],
) -> bool:
    """Hand ``take`` every part a scan yields while ``busy()`` holds (the work overlaps
    the file's loading); False if the load ended first."""
    with closing(parts):
        while busy():
            part = next(parts, None)
            if part is None:
                return True
            take(part)
    return False


def read_ahead(cmdb: Cmdb, fields: Sequence[str], busy: Callable[[], bool]) -> ReadAhead | None:
    """Read every CI row (and, time permitting, the identity index and every
    relationship) while ``busy()`` says the file is still loading.

    SQLite only; reading stops as soon as the load is over, and a part not read
    completely is dropped (the plan reads it itself), so this never costs more
    than the wait it fills plus one batch of rows. The result holds for the
    data generation it was read at (see :class:`~importers.plan.ReadAhead`).
    """
    if cmdb.engine.dialect.name != "sqlite":
        return None
    with cmdb.read() as s:
        generation = int(s.scalar(select(CmdbState.data_generation).where(CmdbState.id == 1)) or 0)
        ahead = ReadAhead(generation, list(fields))
        rows: dict[int, tuple[Any, ...]] = {}
        if not _drain(
            scan_ci_rows(s, _AHEAD_ROWS), busy, lambda p: rows.update((r[0], r) for r in p)
        ):
            return None
        ahead.ci_rows = rows
        positions = _key_positions(cmdb.meta, fields)
        if positions is not None and busy():
            ahead.index = IdentityIndex.from_rows(fields, rows.values(), positions)
        triples: set[tuple[int, int, int]] = set()
        if _drain(scan_relationship_triples(s, _AHEAD_ROWS), busy, triples.update):
            ahead.triples = triples
    return ahead


def matching_keys(
    ctx: PlanContext, s: Session, fields: Sequence[str]
) -> tuple[dict[str, set[Any]], int] | None:
    """The keys the CI sheets can look up (and the CMDB's size), when only CIs
    holding them need indexing.

    That is when a large SQLite CMDB meets a much smaller sheet that names no
    relationships and no reference attributes, with single-field rules over
    plain text columns and no value translations: then every lookup the plan
    makes is of a value in the sheet, and :meth:`IdentityIndex.load_matching`
    can read a fraction of the CMDB. None means: load every CI's keys.
    """
    meta = ctx.meta
    if not is_sqlite(s) or ctx.source.loading:
        return None
    if any(sm.kind not in (KIND_CIS, KIND_SKIP) for sm in ctx.mapping.sheets):
        return None
    rules = [r for info in meta.classes for r in meta.identification(info).rules]
    if any(len(r) != 1 for r in [*rules, *(ctx.mapping.keys or ())]):
        return None
    attrs = meta.all_attribute_keys
    for f in fields:
        if f != NAME and (f not in attrs or attrs[f].column is None or attrs[f].type != "text"):
            return None
    tables: list[tuple[Table, SheetMapping]] = []
    for sm in ctx.mapping.sheets:
        table = ctx.source.table(sm.sheet) if sm.kind == KIND_CIS else None
        if table is None:
            continue
        for cm in sm.columns:
            target = attrs.get(cm.target or "")
            if (target is not None and target.type == "reference") or (
                cm.values and (cm.target == NAME or cm.target in fields)
            ):
                return None
        tables.append((table, sm))
    rows = sum(len(t) for t, _ in tables)
    size = count_cis(s)
    if size < 4 * rows or size < MATCHING_MIN_CIS:
        return None
    wanted: dict[str, set[Any]] = {f: set() for f in dict.fromkeys([NAME, *fields])}
    for table, sm in tables:
        by_header = {c.header.casefold(): c for c in table.columns}
        for cm in sm.columns:
            col = by_header.get(cm.column.casefold())
            if col is None or cm.target not in wanted:
                continue
            found = wanted[cm.target]
            i = col.index
            if cm.target == NAME:
                for row in table.rows:
                    raw = row[i]
                    if type(raw) is str:
                        found.add(key_of(raw))
                    elif not is_blank_cell(raw):
                        found.add(key_of(_cell_text(raw)))
                continue
            attr = attrs[cm.target]
            conv = type_of(attr).converter(attr)
            for row in table.rows:
                raw = row[i]
                if raw == "" or raw is None:
                    continue
                try:
                    value = conv(raw)
                except ValueError:
                    continue
                if value is not BLANK:
                    found.add(key_of(value))
    return wanted, size


def load_records(s: Session, meta: Metamodel, ids: Sequence[int], cmdb_size: int) -> DbRecords:
    """The ``ci`` rows of ``ids``: one scan when they are many, else by id in chunks."""
    records = DbRecords(meta)
    if not ids:
        return records
    wanted = set(ids)
    if is_sqlite(s) and len(wanted) >= cmdb_size * _SCAN_SHARE:
        for part in scan_ci_rows(s):
            for raw in part:
                if raw[0] in wanted:
                    records.raw[raw[0]] = raw
        return records
    for raw in ci_rows_by_id(s, sorted(wanted)):
        records.raw[raw[0]] = raw
    return records


# -- one sheet ------------------------------------------------------------------------


class CiSheetPlanner:
    """Plans one CIs sheet within a :class:`~importers.plan.PlanContext`."""

    def __init__(self, ctx: PlanContext, table: Table, sm: SheetMapping) -> None:
        self.ctx = ctx
        self.meta = ctx.meta
        self.table = table
        self.sm = sm
        self.fatal: RowError | None = None
        self.default_class: ClassInfo | None = None
        self.name_col: Column | None = None
        self.class_col: Column | None = None
        self.class_map: ColumnMap | None = None
        self.id_col: Column | None = None
        self.attr_cols: list[tuple[Column, Any]] = []
        self.translated = False
        # (plan index, outcome, class, raw row)
        self.entries: list[tuple[int, RowOutcome, ClassInfo | None, list[Any]]] = []
        self._defaults: dict[int, dict[str, Any]] = {}
        self._required: dict[int, list[str]] = {}
        self._columns()

    # -- the mapping ---------------------------------------------------------
    def _columns(self) -> None:
        ctx, meta, table, sm = self.ctx, self.meta, self.table, self.sm
        attrs = meta.all_attribute_keys
        by_header = {c.header.casefold(): c for c in table.columns}
        seen: dict[str, str] = {}
        for cm in sm.columns:
            col = by_header.get(cm.column.casefold())
            if col is None:
                continue
            if cm.target is None:
                ctx.unmapped_column(table, col.header, col.letter)
                continue
            if cm.target in seen:
                ctx.error(
                    table.sheet,
                    table.header_row,
                    col.header,
                    f"maps to {cm.target!r} like column {seen[cm.target]!r}; map only one "
                    "column to each attribute",
                )
                continue
            seen[cm.target] = col.header
            if cm.values:
                self.translated = True
            if cm.target == NAME:
                self.name_col = col
                self.name_map = cm
            elif cm.target == CLASS:
                self.class_col = col
                self.class_map = cm
            elif cm.target == ID:
                self.id_col = col
            elif cm.target in attrs:
                self.attr_cols.append((col, cm))
            else:
                ctx.error(
                    table.sheet,
                    table.header_row,
                    col.header,
                    f"is mapped to {cm.target!r}, which is no attribute of any class",
                )
        if self.name_col is None:
            self.fatal = ctx.error(
                table.sheet,
                table.header_row,
                None,
                "no Name column: map one column to Name (a header such as Name or Hostname)",
            )
        if sm.default_class:
            found = ctx.concrete_class(sm.default_class)
            if isinstance(found, str):
                self.fatal = ctx.error(table.sheet, None, None, f"Default class: {found}.")
            else:
                self.default_class = found
        self.plans = self._column_plans()
        # Key fields any identification rule may need, with this sheet's converters.
        needed = {f for rule in _all_rules(ctx) for f in rule}
        generic = self.plans(None)
        self.key_cols = [(key, idx, conv) for idx, _, key, conv, *_ in generic if key in needed]
        # Fast compare: file cells vs a CI's export cells, same order.
        file_idx: list[int] = []
        db_pos: list[int] = []
        custom_keys: list[tuple[int, str, AttributeInfo]] = []
        if self.name_col is not None:
            file_idx.append(self.name_col.index)
            db_pos.append(_POS["name"])
        if self.class_col is not None:
            file_idx.append(self.class_col.index)
            db_pos.append(len(_CI_COLUMNS))
        for col, cm in self.attr_cols:
            attr = attrs[cm.target]
            if attr.type == "reference":
                continue  # exported as Class/Name: always the full path
            if attr.column is not None:
                file_idx.append(col.index)
                db_pos.append(_POS[attr.column])
            else:
                custom_keys.append((col.index, cm.target, attr))
        self.fast = not self.translated and self.name_col is not None
        self.file_getter = _getter(file_idx)
        self.db_getter = _getter(db_pos)
        self.custom_keys = custom_keys

    def _column_plans(self) -> Callable[[ClassInfo | None], list[_ColumnPlan]]:
        """Per class: (index, header, key, converter, clear-on-blank, translate, applicable)."""
        meta = self.meta
        table = self.table
        # The closure holds no reference to the planner: a planner → plans → planner
        # cycle would keep the whole plan (every row of the file) alive until the
        # cyclic collector runs, instead of freeing it as soon as it is dropped.
        attr_cols = self.attr_cols
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
                    conv = convs[attr.id] = type_of(attr).converter(attr, orders.get(cm.target))
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

    # -- pass 1: identity ------------------------------------------------------
    def identify(self, done: int, total: int) -> int:
        ctx, meta, table = self.ctx, self.meta, self.table
        sheet = table.sheet
        rows = ctx.rows
        if self.fatal is not None:
            for n in table.row_numbers:
                rows.append(RowOutcome(sheet, n, KIND_CIS, ERROR, errors=[self.fatal]))
            return done + len(table)
        assert self.name_col is not None
        name_idx = self.name_col.index
        name_trans = translate(self.name_map.values) if self.name_map.values else None
        class_idx = self.class_col.index if self.class_col is not None else None
        class_map = self.class_map
        class_trans = translate(class_map.values) if class_map and class_map.values else None
        id_idx = self.id_col.index if self.id_col is not None else None
        classes: dict[Any, ClassInfo | str] = {}
        matcher = ctx.matcher
        tracker = ctx.tracker
        key_cols = self.key_cols
        numbers = table.row_numbers
        progress = ctx.progress
        no_result = table.no_result
        read_columns = self._read_columns()
        for i, row in enumerate(table.rows):
            outcome = RowOutcome(sheet, numbers[i], KIND_CIS)
            ref = len(rows)
            rows.append(outcome)
            raw_name_refused = False
            if no_result and numbers[i] in no_result:
                failed = ctx.no_result(outcome, no_result[numbers[i]], read_columns)
                raw_name_refused = name_idx in failed
            raw = row[name_idx]
            if name_trans is not None:
                raw = name_trans(raw)
            if type(raw) is str:
                name: str | None = raw.strip() or None
                problem = name_problem(name) if name is not None else None
                if problem is not None:
                    ctx.fail(outcome, self.name_col.header, problem)
                    name = None
                    raw_name_refused = True
            elif is_blank_cell(raw):
                name = None
            else:
                name = _cell_text(raw)
            outcome.name = name
            info = self.default_class
            if class_idx is not None:
                craw = row[class_idx]
                if class_trans is not None:
                    craw = class_trans(craw)
                if craw != "" and craw is not None:
                    found = classes.get(craw)
                    if found is None:
                        text = str(craw).strip()
                        found = ctx.concrete_class(text) if text else ""
                        classes[craw] = found
                    if isinstance(found, str):
                        if found:
                            ctx.fail(outcome, self.class_col.header, found)  # type: ignore[union-attr]
                    else:
                        info = found
            if info is not None:
                outcome.class_name = info.name
                outcome.class_id = info.id
            keys: dict[str, Any] = {NAME: name} if name is not None else {}
            for f, idx, conv in key_cols:
                kraw = row[idx]
                if kraw == "" or kraw is None:
                    continue
                try:
                    value = conv(kraw)
                except ValueError:
                    continue  # reported with the other cells in pass 2
                if value is not BLANK:
                    keys[f] = value
            match = matcher.match(info, keys)
            outcome.rule = match.rule
            ident = matcher.identification(info)
            ci_id = match.ci_id
            if match.ambiguous and id_idx is not None:
                # The export's ID column tells apart CIs that share their keys
                # (a double registration); it never overrides the rules.
                hint = _int(row[id_idx])
                if hint in match.candidates:
                    ci_id = hint
            if match.rule is None and raw_name_refused:
                pass  # the name's own error says it all
            elif match.rule is None:
                rules = ", ".join(labels(meta, r) for r in ident.rules)
                # Name is every class's last-resort key: point at its column.
                ctx.fail(
                    outcome,
                    self.name_col.header,
                    f"none of its identification keys has a value ({rules})",
                )
            elif ci_id is None and match.ambiguous:
                listed = ", ".join(ctx.ci_label(c) for c in match.candidates[:5])
                extra = len(match.candidates) - 5
                more = f" and {extra} more" if extra > 0 else ""
                ctx.fail(
                    outcome,
                    None,
                    f"ambiguous match: {labels(meta, match.rule)} "
                    f"{values_text(match.rule, keys)} fits {len(match.candidates)} CIs "
                    f"({listed}{more}); add a Class column or a key column (serial number, "
                    "asset tag) that tells them apart",
                )
            elif ci_id is not None:
                outcome.ci_id = ci_id
                tracker.claim_ci(ci_id, ref)
            elif info is not None and not ctx.audit:
                # A new CI: its keys must be unique in the file, and its hard keys
                # (serial, asset tag…) must not belong to a CI already.
                schema = meta.schema(info)
                tracker.claim(ident.class_ids, match.rule, keys, ref)
                # The rule that matched found no CI: only the other claims need a look.
                claims = [r for r in schema.identity_claims(name, keys) if r != match.rule]
                for rule in claims:
                    tracker.claim(schema.identification.class_ids, rule, keys, ref)
                for rule, other in matcher.identity_conflicts(schema, keys, claims, None):
                    ctx.fail(
                        outcome,
                        None,
                        f"{labels(meta, rule)} {values_text(rule, keys)} already belongs to "
                        f"{ctx.ci_label(other)}",
                    )
            if ci_id is None and match.rule is not None and ctx.audit:
                outcome.note = f"{labels(meta, match.rule)} {values_text(match.rule, keys)}"
            elif ci_id is None and match.rule is not None and outcome.status != ERROR:
                if info is None:
                    ctx.fail(
                        outcome,
                        None,
                        "a new CI needs a class: add a Class column or choose a class for the rows",
                    )
                elif name is None:
                    ctx.fail(outcome, self.name_col.header, "a name is required for a new CI")
            self.entries.append((ref, outcome, info, row))
            done += 1
            if done % 5000 == 0:
                progress.step(done, total)
        return done

    def _read_columns(self) -> dict[int, str]:
        """Index → header of every column this sheet reads, the Name column first."""
        cols = [self.name_col, self.class_col, self.id_col, *(c for c, _ in self.attr_cols)]
        return {c.index: c.header for c in cols if c is not None}

    def matched_ids(self) -> list[int]:
        return [o.ci_id for _, o, _, _ in self.entries if o.ci_id is not None]

    # -- pass 2: values ------------------------------------------------------------
    def complete(self, records: DbRecords, done: int, total: int) -> int:
        ctx = self.ctx
        progress = ctx.progress
        fast = self.fast
        file_getter, db_getter = self.file_getter, self.db_getter
        custom_keys = self.custom_keys
        references = any(
            self.meta.all_attribute_keys[cm.target].type == "reference" for _, cm in self.attr_cols
        )
        for ref, outcome, info, row in self.entries:
            done += 1
            if done % 5000 == 0:
                progress.step(done, total)
            ci_id = outcome.ci_id
            if fast and ci_id is not None and outcome.status != ERROR:
                cells = records.cells(ci_id)
                if file_getter(row) == db_getter(cells) and _same_custom(
                    row, cells[-1], custom_keys
                ):
                    outcome.status = UNCHANGED
                    outcome.class_name = cells[-2]
                    outcome.class_id = records.raw[ci_id][_POS["class_id"]]
                    continue
            if ci_id is not None and outcome.status != ERROR and info is None:
                info = self.meta.class_by_id[records.raw[ci_id][_POS["class_id"]]]
            values = self._values(outcome, info, row)
            if references:
                self._references(outcome, info, values)
            if outcome.status == ERROR:
                continue
            if ci_id is None and self.ctx.audit:
                outcome.status = CREATED  # only in the sheet: nothing to check for creation
            elif ci_id is None:
                self._complete_new(outcome, info, values)
            else:
                self._diff(ref, outcome, info, records.record(ci_id), values)
        return done

    def _values(
        self, outcome: RowOutcome, info: ClassInfo | None, row: list[Any]
    ) -> dict[str, Any]:
        """Every mapped cell coerced (an error per bad cell); None means "clear"."""
        values: dict[str, Any] = {}
        fail = self.ctx.fail
        audit = self.ctx.audit
        for idx, header, key, conv, clear, trans, applicable in self.plans(info):
            raw = row[idx]
            if raw == "" or raw is None:
                if clear and applicable:
                    values[key] = None
                continue
            if trans is not None:
                raw = trans(raw)
            try:
                value = conv(raw)
            except ValueError as exc:
                if audit:
                    # An audit shows what the sheet says, even when it is no valid
                    # value (status "active" vs "In Use"): one more difference.
                    if applicable:
                        values[key] = _cell_text(raw)
                    continue
                fail(outcome, header, str(exc))
                continue
            if value is BLANK:
                if clear and applicable:
                    values[key] = None
                continue
            if not applicable and audit:
                continue
            if not applicable:
                assert info is not None
                fail(outcome, header, f"class {info.name} has no attribute {header!r}")
                continue
            values[key] = value
        return values

    def _references(
        self, outcome: RowOutcome, info: ClassInfo | None, values: dict[str, Any]
    ) -> None:
        meta = self.meta
        headers = {cm.target: col.header for col, cm in self.attr_cols}
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
                self.ctx.fail(outcome, headers.get(key), str(exc))

    def _resolve_reference(self, attr: AttributeInfo, value: int | str) -> int:
        meta = self.meta
        index = self.ctx.index
        label = self.ctx.ci_label
        if isinstance(value, int):
            if value not in index.class_of:
                raise ValueError(f"no CI #{value}")
            found = [value]
        else:
            cls_info, name = meta.split_reference(value)
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
                listed = ", ".join(label(c) for c in found[:5])
                raise ValueError(f"{value!r} names {len(found)} CIs ({listed}); write Class/Name")
        if attr.reference_class_id is not None:
            allowed = meta.subtree_ids(meta.class_by_id[attr.reference_class_id])
            if index.class_of[found[0]] not in allowed:
                want = meta.class_by_id[attr.reference_class_id].name
                raise ValueError(f"{label(found[0])} is not a {want}")
        return found[0]

    def _defaults_for(self, info: ClassInfo) -> dict[str, Any]:
        """The import's own default values (``--default``, the wizard's "New CIs get"),
        typed for ``info`` (errors reported once)."""
        found = self._defaults.get(info.id)
        if found is None:
            found = {}
            schema = self.meta.schema(info)
            for key, raw in self.ctx.mapping.defaults.items():
                attr = schema.find(key)
                if attr is None:
                    continue
                try:
                    value = schema.coerce(attr, raw)
                except ValueError as exc:
                    self.ctx.error(None, None, attr.label, f"default value: {exc}")
                    continue
                if value is not None:
                    found[attr.key] = value
            self._defaults[info.id] = found
        return found

    def _fail_field(self, outcome: RowOutcome, schema: ClassSchema, key: str, message: str) -> None:
        """A row error for a field, in the column that holds it."""
        if key == NAME:
            column = self.name_col.header if self.name_col is not None else "Name"
        else:
            column = next(
                (col.header for col, cm in self.attr_cols if cm.target == key),
                schema.by_key[key].label,
            )
        self.ctx.fail(outcome, column, message)

    def _complete_new(
        self, outcome: RowOutcome, info: ClassInfo | None, values: dict[str, Any]
    ) -> None:
        assert info is not None
        schema = self.meta.schema(info)
        kept = schema.with_defaults(values, self._defaults_for(info))
        for key, problem in schema.plain_text_problems(outcome.name, kept).items():
            self._fail_field(outcome, schema, key, problem)
        for attr in schema.missing_required(kept):
            self.ctx.fail(
                outcome,
                attr.label,
                f"{schema.required_message(attr)}: fill the cell, or give new CIs a default "
                f'(--default {attr.key}=VALUE; "New CIs get" in the wizard)',
            )
        for key, problem in schema.state_problems(None, kept).items():
            self._fail_field(outcome, schema, key, problem)
        if outcome.status == ERROR:
            return
        outcome.values = kept
        outcome.status = CREATED

    def _diff(
        self,
        ref: int,
        outcome: RowOutcome,
        info: ClassInfo | None,
        existing: CiRecord,
        values: dict[str, Any],
    ) -> None:
        meta = self.meta
        ctx = self.ctx
        old_info = meta.class_by_id[existing.class_id]
        new_info = info or old_info
        name = outcome.name or existing.name
        if ctx.audit:
            # An audit compares in the CI's own class (the class is one more
            # difference), only the attributes that class has, and checks no rule.
            schema = meta.schema(old_info)
            own = {k: v for k, v in values.items() if k in schema.by_key}
            changes = schema.diff(old_info, existing.name, existing.values, name, own).changes
            if new_info.id != old_info.id:
                changes = {CLASS: (old_info.name, new_info.name), **changes}
            outcome.class_name, outcome.class_id = old_info.name, old_info.id
            outcome.name = name
            if changes:
                outcome.changes = changes
            outcome.status = UPDATED if changes else UNCHANGED
            return
        schema = meta.schema(new_info)
        given: dict[str, Any] = {}
        for key, value in values.items():
            if key in schema.by_key:
                given[key] = value
            elif value is not None:
                label = meta.all_attribute_keys[key].label
                ctx.fail(outcome, label, f"class {new_info.name} has no attribute {label!r}")
        diff = schema.diff(old_info, existing.name, existing.values, name, given)
        changed = diff.changes
        set_values = {k: new for k, (_old, new) in changed.items() if k in schema.by_key}
        set_name = name if NAME in changed else None
        for key, problem in schema.plain_text_problems(set_name, set_values).items():
            self._fail_field(outcome, schema, key, problem)
        after = {k: existing.values.get(k) for k in schema.by_key} | given
        for attr in schema.missing_required(after):
            ctx.fail(outcome, attr.label, schema.required_message(attr))
        for key, problem in schema.state_problems(existing.values, after, set_values).items():
            self._fail_field(outcome, schema, key, problem)
        claims = schema.identity_claims(name, after, diff.changes.keys())
        if claims and outcome.status != ERROR:
            keyed = {**after, NAME: name}
            space = schema.identification.class_ids
            for rule in claims:
                ctx.tracker.claim(space, rule, keyed, ref)
            for rule, other in ctx.matcher.identity_conflicts(schema, keyed, claims, existing.id):
                ctx.fail(
                    outcome,
                    None,
                    f"{labels(meta, rule)} {values_text(rule, keyed)} already belongs "
                    f"to {ctx.ci_label(other)}",
                )
        outcome.class_name = new_info.name
        outcome.class_id = new_info.id
        outcome.name = name
        if outcome.status == ERROR:
            return
        outcome.custom = diff.custom
        if diff:
            outcome.changes = diff.changes
            outcome.status = UPDATED
        else:
            outcome.status = UNCHANGED


def _all_rules(ctx: PlanContext) -> list[tuple[str, ...]]:
    rules: list[tuple[str, ...]] = []
    matcher = ctx.matcher
    for info in ctx.meta.classes:
        rules.extend(matcher.identification(info).rules)
    rules.extend(matcher.identification(None).rules)
    return rules


def _getter(positions: list[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    if not positions:
        return lambda _row: ()
    if len(positions) == 1:
        only = positions[0]
        return lambda row: (row[only],)
    return itemgetter(*positions)


def _same_custom(
    row: list[Any], document: dict[str, Any], keys: list[tuple[int, str, AttributeInfo]]
) -> bool:
    for idx, key, attr in keys:
        stored = from_storage(attr, document.get(key))
        if ("" if stored is None else stored) != row[idx]:
            return False
    return True


def _cell_text(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return " ".join(str(raw).split())


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
