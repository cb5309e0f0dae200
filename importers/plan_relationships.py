"""Planning the rows of a Relationships sheet (part of :mod:`importers.plan`).

A row names its two ends by name, optionally with a class
(``Source Class``/``Target Class``), and a type by its forward or reverse
name (``Used by`` flips the direction). Each end resolves against the CI rows
of the same file (CIs this import creates or renames) and the CMDB:

* exactly one CI fits → that CI (a CI the file also lists counts once);
* several fit → an error naming them, never a guess (the class columns, or
  an exact-case name, tell them apart);
* none fits, or it is a file row with errors → an error.

A relationship that exists already is *unchanged*; one the sheet repeats is
*unchanged* with a note; a CI related to itself is an error. Resolution is
cached per distinct (name, class) and type text, so a 240k-row sheet costs a
dictionary lookup per cell.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmdb_desktop.bulk import relationship_triples
from cmdb_desktop.errors import ValidationError
from cmdb_desktop.items import chunks
from cmdb_desktop.metamodel import ClassInfo
from cmdb_desktop.models import relationship_table
from importers.mapping import (
    NAME,
    RELATIONSHIP_LABELS,
    SOURCE,
    SOURCE_CLASS,
    TARGET,
    TARGET_CLASS,
    TYPE,
    SheetMapping,
    is_blank_cell,
)
from importers.plan import CREATED, ERROR, UNCHANGED, RowError, RowOutcome
from importers.readers import Table
from importers.reconcile import key_of
from importers.workbook import KIND_CIS, KIND_RELATIONSHIPS

if TYPE_CHECKING:
    from importers.plan import PlanContext

#: Above this many rows, existing relationships are read in one scan, not by source.
_SCAN_ROWS = 5000
#: Created rows handed to the context's relationship sink at a time.
SINK_BATCH = 20_000

#: An end: a CI id (> 0) of the CMDB, or ``-(plan index + 1)`` for a CI the file creates.
End = int
#: A relationship type as resolved: id, forward name, whether the text was the reverse name.
_TypeHit = tuple[int, str, bool]


class RelationshipPlanner:
    def __init__(self, ctx: PlanContext) -> None:
        self.ctx = ctx
        self.meta = ctx.meta
        self._file_names: dict[Any, list[int]] = {}
        for ref, outcome in enumerate(ctx.rows):
            if outcome.kind == KIND_CIS and outcome.name is not None:
                self._file_names.setdefault(key_of(outcome.name), []).append(ref)
        self._ends: dict[Any, dict[Any, End | str]] = {}
        self._types: dict[Any, tuple[int, str, bool] | str] = {}
        self._classes: dict[Any, ClassInfo | str | None] = {"": None}
        self._spaces: dict[int, frozenset[int]] = {}

    def prepare(self, s: Session, pairs: list[tuple[Table, SheetMapping]]) -> None:
        """Read what the check needs from the CMDB up front when the sheets are big
        (every existing relationship, in one scan); small ones check their
        new-looking rows afterwards, by source (see :attr:`needs_db_after`)."""
        rows_total = sum(len(t) for t, _ in pairs)
        self._exported: set[tuple[Any, ...]] = set()
        self._existing = self._scan_existing(s) if rows_total > _SCAN_ROWS else None

    @property
    def needs_db_after(self) -> bool:
        return self._existing is None

    def run(self, s: Session, pairs: list[tuple[Table, SheetMapping]], total: int) -> None:
        ctx = self.ctx
        if not hasattr(self, "_existing"):
            self.prepare(s, pairs)
        self._seen: dict[tuple[End, int, End], RowOutcome] = {}
        self._unsure: list[RowOutcome] = []
        done = 0
        for table, sm in pairs:
            cols = self._columns(table, sm)
            if isinstance(cols, RowError):
                for n in table.row_numbers:
                    ctx.rows.append(
                        RowOutcome(table.sheet, n, KIND_RELATIONSHIPS, ERROR, errors=[cols])
                    )
                done += len(table)
                continue
            done = self._sheet(table, cols, done, total)
        if self._unsure:
            found = self._existing_among(s, self._unsure)
            for outcome in self._unsure:
                if outcome.rel in found:
                    outcome.status = UNCHANGED
                    outcome.rel = None
        names: dict[End, str] = {}  # each end's name, looked up once
        for outcome in ctx.rows:
            if outcome.status == CREATED and outcome.kind == KIND_RELATIONSHIPS:
                assert outcome.rel is not None
                src, _, dst = outcome.rel
                src_name = names.get(src)
                if src_name is None:
                    src_name = names[src] = self._name(src)
                dst_name = names.get(dst)
                if dst_name is None:
                    dst_name = names[dst] = self._name(dst)
                outcome.name = f"{src_name} {outcome.class_name} {dst_name}"

    def _name(self, end: End) -> str:
        if end > 0:
            return self.ctx.index.name_of.get(end, f"#{end}")
        return self.ctx.rows[-end - 1].name or "?"

    def _columns(self, table: Table, sm: SheetMapping) -> dict[str, Any] | RowError:
        ctx = self.ctx
        by_header = {c.header.casefold(): c for c in table.columns}
        found: dict[str, Any] = {}
        for cm in sm.columns:
            col = by_header.get(cm.column.casefold())
            if col is None:
                continue
            if cm.target is None:
                ctx.unmapped_column(table, col.header, col.letter)
                continue
            if cm.target not in RELATIONSHIP_LABELS:
                ctx.error(
                    table.sheet,
                    table.header_row,
                    col.header,
                    f"{cm.target!r} is not a relationship column (use Source, Type, Target, "
                    "Source Class or Target Class)",
                )
                continue
            found[cm.target] = col
        missing = [RELATIONSHIP_LABELS[t] for t in (SOURCE, TYPE, TARGET) if t not in found]
        if missing:
            return ctx.error(
                table.sheet,
                table.header_row,
                None,
                f"a relationships sheet needs {', '.join(missing)} column(s) "
                "(Source, Type, Target; optionally Source Class, Target Class)",
            )
        return found

    def _sheet(
        self,
        table: Table,
        cols: dict[str, Any],
        done: int,
        total: int,
    ) -> int:
        ctx = self.ctx
        rows = ctx.rows
        sheet = table.sheet
        data = table.rows
        blank = [""] * len(data)

        def column(target: str) -> list[Any]:
            if target not in cols:
                return blank
            i = cols[target].index
            return [r[i] for r in data]

        headers = {k: c.header for k, c in cols.items()}
        no_result = table.no_result
        read_columns = {c.index: c.header for c in cols.values()}
        ends = self._ends
        types = self._types
        seen = self._seen
        exported = self._exported
        repeated: dict[tuple[Any, ...], RowOutcome] = {}
        existing = self._existing
        unsure = self._unsure.append
        append = rows.append
        progress = ctx.progress
        # Created rows are final once created (errors and repeats never come
        # later), so a sink may write them while the rest of the sheet is checked.
        sink = ctx.relationship_sink if existing is not None else None
        created: list[RowOutcome] = []
        for number, s_raw, t_raw, d_raw, sc_raw, dc_raw in zip(
            table.row_numbers,
            column(SOURCE),
            column(TYPE),
            column(TARGET),
            column(SOURCE_CLASS),
            column(TARGET_CLASS),
            strict=True,
        ):
            outcome = RowOutcome(sheet, number, KIND_RELATIONSHIPS)
            append(outcome)
            done += 1
            if no_result and number in no_result:
                if ctx.no_result(outcome, no_result[number], read_columns):
                    continue  # what the row says is unknown: nothing more to check
            if exported:
                cells = (s_raw, t_raw, d_raw, sc_raw, dc_raw)
                if cells in exported:
                    # Exactly as exported: that existing relationship, unchanged.
                    outcome.class_name = t_raw
                    first = repeated.get(cells)
                    if first is None:
                        repeated[cells] = outcome
                    else:
                        outcome.note = f"repeats {ctx.row_label(first, sheet)}"
                    continue
            got_type = types.get(t_raw)
            if got_type is None:
                got_type = types[t_raw] = self._type(t_raw)
            by_name = ends.get(sc_raw)
            if by_name is None:
                by_name = ends[sc_raw] = {}
            src = by_name.get(s_raw)
            if src is None:
                src = by_name[s_raw] = self._end(s_raw, sc_raw, SOURCE)
            if dc_raw != sc_raw:
                by_name = ends.get(dc_raw)
                if by_name is None:
                    by_name = ends[dc_raw] = {}
            dst = by_name.get(d_raw)
            if dst is None:
                dst = by_name[d_raw] = self._end(d_raw, dc_raw, TARGET)
            if type(src) is str or type(dst) is str or type(got_type) is str:
                for got, which in ((src, SOURCE), (got_type, TYPE), (dst, TARGET)):
                    if isinstance(got, str):
                        ctx.fail(outcome, _column_of(got, which, headers), _message(got))
                continue
            type_id, type_name, reverse = cast(_TypeHit, got_type)
            a, b = cast(int, src), cast(int, dst)
            # A CI row of the file: itself while it is being created (the usual
            # case, checked inline: this loop runs once per relationship row).
            if a < 0 and (rows[-a - 1].status != CREATED or rows[-a - 1].ci_id is not None):
                a = self._live(outcome, a, s_raw, headers[SOURCE])
            if b < 0 and (rows[-b - 1].status != CREATED or rows[-b - 1].ci_id is not None):
                b = self._live(outcome, b, d_raw, headers[TARGET])
            if a == 0 or b == 0:
                continue
            if reverse:
                a, b = b, a
            if a == b:
                ctx.fail(outcome, None, "a relationship cannot join a CI to itself")
                continue
            outcome.class_name = type_name
            key = (a, type_id, b)
            first = seen.get(key)
            if first is not None:
                outcome.note = f"repeats {ctx.row_label(first, sheet)}"
                continue
            seen[key] = outcome
            if a > 0 and b > 0:
                if existing is not None:
                    if key in existing:
                        continue
                else:
                    unsure(outcome)
            outcome.status = CREATED
            outcome.rel = key
            if sink is not None:
                created.append(outcome)
                if len(created) >= SINK_BATCH:
                    sink(created)
                    created = []
            if done % 10000 == 0:
                progress.step(done, total)
        if sink is not None and created:
            sink(created)
        return done

    # -- resolution ---------------------------------------------------------------
    def _type(self, raw: Any) -> tuple[int, str, bool] | str:
        """(type id, forward name, whether the text was the reverse name) or an error."""
        if is_blank_cell(raw):
            return "\x00type\x00Type is empty"
        try:
            rtype, reverse = self.meta.relationship_type(str(raw).strip())
            return rtype.id, rtype.name, reverse
        except ValidationError:
            names = ", ".join(f"{t.name} / {t.reverse_name}" for t in self.meta.relationship_types)
            return f"\x00type\x00unknown relationship type {str(raw).strip()!r} (known: {names})"

    def _class(self, raw: Any) -> ClassInfo | str | None:
        found = self._classes.get(raw)
        if found is None and raw not in self._classes:
            text = "" if is_blank_cell(raw) else str(raw).strip()
            if not text:
                found = None
            else:
                info = self.meta.find_class(text)
                if info is None:
                    known = ", ".join(c.name for c in self.meta.classes)
                    found = f"unknown class {text!r} (known: {known})"
                else:
                    found = info
            self._classes[raw] = found
        return found

    def _end(self, name_raw: Any, class_raw: Any, which: str) -> End | str:
        """Resolve one end; an error message is returned as "\\0column\\0message"."""
        label = RELATIONSHIP_LABELS[which]
        if is_blank_cell(name_raw):
            return f"\x00{which}\x00{label} is empty"
        info = self._class(class_raw)
        if isinstance(info, str):
            column = SOURCE_CLASS if which == SOURCE else TARGET_CLASS
            return f"\x00{column}\x00{info}"
        name = _text(name_raw)
        found = self._resolve(name, info)
        if isinstance(found, str):
            return f"\x00{which}\x00{found}"
        return found

    def _resolve(self, name: str, info: ClassInfo | None) -> End | str:
        ctx = self.ctx
        meta = self.meta
        index = ctx.index
        space = None
        if info is not None:
            space = self._spaces.get(info.id)
            if space is None:
                space = self._spaces[info.id] = meta.subtree_ids(info)
        key = key_of(name)
        ends: dict[End, bool] = {}
        for ref in self._file_names.get(key, ()):
            row = ctx.rows[ref]
            if space is not None and (row.class_id is None or row.class_id not in space):
                continue
            end = row.ci_id if row.ci_id is not None else -ref - 1
            ends[end] = ends.get(end, False) or row.name == name
        class_of = index.class_of
        for ci_id, stored in index.by_field[NAME].get(key, ()):
            if space is not None and class_of[ci_id] not in space:
                continue
            ends[ci_id] = ends.get(ci_id, False) or stored == name
        if len(ends) == 1:
            return next(iter(ends))
        if len(ends) > 1:
            exact = [e for e, is_exact in ends.items() if is_exact]
            if len(exact) == 1:
                return exact[0]
        what = f"{info.name} named {name!r}" if info is not None else f"CI named {name!r}"
        if not ends:
            return f"no {what} in the file or the CMDB"
        shown = []
        for end in list(ends)[:5]:
            if end > 0:
                shown.append(ctx.ci_label(end))
            else:
                row = ctx.rows[-end - 1]
                shown.append(f"{row.class_name or '?'}/{row.name} (new, row {row.row})")
        more = f" and {len(ends) - 5} more" if len(ends) > 5 else ""
        return (
            f"ambiguous: {len(ends)} CIs are named {name!r} ({', '.join(shown)}{more}); "
            "add Source Class / Target Class columns to tell them apart"
        )

    def _live(self, outcome: RowOutcome, end: End, raw: Any, header: str) -> End:
        """A file row that failed cannot be an end (0); a row matched to a CI is that CI."""
        target = self.ctx.rows[-end - 1]
        if target.status == ERROR:
            self.ctx.fail(
                outcome,
                header,
                f"{_text(raw)!r} is {self.ctx.row_label(target, outcome.sheet)}, which has errors",
            )
            return 0
        if target.ci_id is not None:
            return target.ci_id
        return end

    def _scan_existing(self, s: Session) -> set[tuple[int, int, int]]:
        """Every (source, type, target) of the CMDB, in one scan.

        Also collects, in :attr:`_exported`, the cells an export writes for
        each existing relationship whose two ends are unambiguous by name and
        class (and not shadowed by a new CI of this file): a row with exactly
        those cells is that relationship, unchanged, without resolving names.
        """
        meta = self.meta
        index = self.ctx.index
        classes = {c.id: c.name for c in meta.classes}
        types = {t.id: t.name for t in meta.relationship_types}
        # CIs that their (name, class) identifies alone, and that no new row shadows.
        class_of = index.class_of
        safe: set[int] = set()
        for hits in index.by_field[NAME].values():
            if len(hits) == 1:
                safe.add(hits[0][0])
                continue
            per_class: dict[int, list[int]] = {}
            for ci_id, _ in hits:
                per_class.setdefault(class_of[ci_id], []).append(ci_id)
            safe.update(ids[0] for ids in per_class.values() if len(ids) == 1)
        for key, refs in self._file_names.items():
            for ref in refs:
                row = self.ctx.rows[ref]
                if row.ci_id is None and row.class_id is not None:
                    for ci_id, _ in index.by_field[NAME].get(key, ()):
                        if class_of[ci_id] == row.class_id:
                            safe.discard(ci_id)
        name_of = index.name_of
        # (name, class name) of each safe CI, looked up once per CI, not per end.
        label = {ci: (name_of[ci], classes[class_of[ci]]) for ci in safe}.get
        ahead = self.ctx.ahead
        if ahead is not None and ahead.triples is not None:
            triples = ahead.triples  # read while the file loaded, still current
        else:
            triples = relationship_triples(s)
        self._exported = {
            (src[0], types[t], dst[0], src[1], dst[1])
            for a, t, b in triples
            if (src := label(a)) is not None and (dst := label(b)) is not None
        }
        return triples

    def _existing_among(self, s: Session, outcomes: list[RowOutcome]) -> set[Any]:
        """(source, type, target) of existing relationships starting at these rows' sources."""
        sources = {o.rel[0] for o in outcomes if o.rel is not None}
        rel = relationship_table.c
        out: set[Any] = set()
        for part in chunks(sorted(sources), 900):
            for a, t, b in s.execute(
                select(rel.source_id, rel.type_id, rel.target_id).where(rel.source_id.in_(part))
            ):
                out.add((a, t, b))
        return out


def _column_of(encoded: str, default: str, headers: dict[str, str]) -> str:
    if encoded.startswith("\x00"):
        target = encoded.split("\x00", 2)[1]
        return headers.get(target, RELATIONSHIP_LABELS.get(target, default))
    return headers.get(default, default)


def _message(encoded: str) -> str:
    return encoded.split("\x00", 2)[2] if encoded.startswith("\x00") else encoded


def _text(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return " ".join(str(raw).split())
