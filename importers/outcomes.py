"""Every row of an import plan as a record: JSON rows, a text sample, a workbook.

A dry run must be a full record of what the import would do (PRODUCT.md §4):
each row of each imported sheet, with its outcome (created, updated,
unchanged, error), the identity it matched or would create (its *key*), the
CI, the field changes and the errors. :func:`row_records` gives them as the
``rows`` of the import JSON; :func:`sample_lines` a readable sample per
outcome for the terminal (saying how many more there are and where to see
them); :func:`write_outcomes` the workbook of ``cmdb import --dry-run -o
diff.xlsx``, one sheet per outcome, every text cell formula-safe.

A row's key, as a person would look it up:

* a CI matched or created by name: ``Class/Name`` (``Server/web01``);
* by another rule (serial number, asset tag, keys of the import): the row's
  values of that rule as the cells hold them (``SN-0042``);
* a relationship: its Source, Type and Target cells (``crm Runs on web01``).

>>> _joined(["crm", " Runs on", "web01 "])
'crm Runs on web01'
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from cmdb_desktop.values import to_text
from importers.cells import header_cells, safe_row, save_workbook
from importers.mapping import NAME, SOURCE, TARGET, TYPE
from importers.plan import CREATED, ERROR, UNCHANGED, UPDATED, ImportPlan, RowOutcome
from importers.readers import Table
from importers.workbook import KIND_CIS

#: Rows shown per outcome in text output.
SAMPLE_ROWS = 10
#: Outcomes in the order every report lists them, with their sheet titles.
OUTCOME_TITLES = {
    CREATED: "Created",
    UPDATED: "Updated",
    UNCHANGED: "Unchanged",
    ERROR: "Errors",
}
_MARKS = {CREATED: "+", UPDATED: "~", UNCHANGED: "=", ERROR: "!"}


def _text(value: Any) -> str | None:
    return to_text(value) if value is not None else None


def _joined(parts: Sequence[Any]) -> str:
    return " ".join(t for t in (str(p).strip() for p in parts) if t)


@dataclass
class _Sheet:
    """One imported sheet: where each row number sits, and the column of each target."""

    table: Table
    position: dict[int, int]
    column: dict[str, int]


class RowKeys:
    """Works out each row's key (see the module docstring) from the plan's sheets."""

    def __init__(self, plan: ImportPlan) -> None:
        self._sheets: dict[str, _Sheet] = {}
        for table in plan.source.tables:
            sm = plan.mapping.sheet(table.sheet)
            columns: dict[str, int] = {}
            for cm in sm.columns if sm is not None else ():
                col = table.column(cm.column)
                if cm.target is not None and col is not None:
                    columns.setdefault(cm.target, col.index)
            position = {n: i for i, n in enumerate(table.row_numbers)}
            self._sheets[table.sheet] = _Sheet(table, position, columns)

    def _cell(self, sheet: _Sheet | None, row: int, target: str) -> Any:
        if sheet is None:
            return None
        i, col = sheet.position.get(row), sheet.column.get(target)
        if i is None or col is None:
            return None
        cells = sheet.table.rows[i]
        value = cells[col] if col < len(cells) else None
        return None if value == "" else value

    def key(self, outcome: RowOutcome) -> str | None:
        sheet = self._sheets.get(outcome.sheet)
        if outcome.kind != KIND_CIS:
            parts = [self._cell(sheet, outcome.row, t) for t in (SOURCE, TYPE, TARGET)]
            return _joined([to_text(p) for p in parts]) or None
        rule = outcome.rule
        if rule is None or tuple(rule) == (NAME,):
            if outcome.name is None:
                return None
            return f"{outcome.class_name}/{outcome.name}" if outcome.class_name else outcome.name
        values = [
            outcome.name if f == NAME else self._cell(sheet, outcome.row, f) for f in rule
        ]
        return ", ".join(to_text(v).strip() for v in values if v is not None) or None


def row_record(outcome: RowOutcome, key: str | None) -> dict[str, Any]:
    """One row of the import JSON's ``rows`` (PRODUCT.md §6)."""
    record: dict[str, Any] = {
        "sheet": outcome.sheet,
        "row": outcome.row,
        "kind": "ci" if outcome.kind == KIND_CIS else "relationship",
        "outcome": outcome.status,
        "key": key,
        "ci": outcome.ci_id,
        "class": outcome.class_name if outcome.kind == KIND_CIS else None,
        "name": outcome.name if outcome.kind == KIND_CIS else None,
        "changes": [
            {"field": f, "old": _text(old), "new": _text(new)}
            for f, (old, new) in outcome.changes.items()
        ],
        "errors": [e.to_json() for e in outcome.errors],
    }
    if outcome.kind != KIND_CIS:
        record["type"] = outcome.class_name
    if outcome.status == CREATED and outcome.kind == KIND_CIS:
        record["values"] = {k: _text(v) for k, v in outcome.values.items() if v is not None}
    if outcome.note:
        record["note"] = outcome.note
    return record


def row_records(plan: ImportPlan) -> list[dict[str, Any]]:
    """Every row of the plan, in file order (see :func:`row_record`)."""
    keys = RowKeys(plan)
    return [row_record(o, keys.key(o)) for o in plan.rows]


def _describe(outcome: RowOutcome, key: str | None) -> str:
    where = f"{outcome.sheet} row {outcome.row}"
    what = key or "(no key)"
    if outcome.ci_id is not None:
        what += f" (#{outcome.ci_id})"
    detail = outcome.describe()
    return f"  {_MARKS[outcome.status]} {where}: {what}" + (f" — {detail}" if detail else "")


def sample_lines(plan: ImportPlan, per_outcome: int = SAMPLE_ROWS) -> Iterator[str]:
    """A few rows of each outcome (errors are listed on their own: see the caller),
    each part saying how many more there are."""
    keys = RowKeys(plan)
    by_status: dict[str, list[RowOutcome]] = {s: [] for s in OUTCOME_TITLES}
    for outcome in plan.rows:
        by_status[outcome.status].append(outcome)
    hidden = 0
    for status in (CREATED, UPDATED, UNCHANGED):
        rows = by_status[status]
        if not rows:
            continue
        yield f"{OUTCOME_TITLES[status]} ({len(rows):,}):"
        for outcome in rows[:per_outcome]:
            yield _describe(outcome, keys.key(outcome))
        if len(rows) > per_outcome:
            hidden += len(rows) - per_outcome
            yield f"  … and {len(rows) - per_outcome:,} more"
    rejected = by_status[ERROR]
    if rejected:
        yield f"Rows with errors: {len(rejected):,} (each error is listed below)"
    if hidden:
        yield (
            "Every row: --format json (its \"rows\"), or -o FILE.xlsx (one sheet per outcome)."
        )


_HEADERS = {
    CREATED: ("Sheet", "Row", "Kind", "Key", "Class", "Values"),
    UPDATED: ("Sheet", "Row", "Kind", "Key", "CI", "Field", "Old", "New"),
    UNCHANGED: ("Sheet", "Row", "Kind", "Key", "CI", "Note"),
    ERROR: ("Sheet", "Row", "Kind", "Key", "Column", "Message"),
}


def _lines(outcome: RowOutcome, key: str | None) -> Iterator[list[Any]]:
    """The workbook lines of one row (an update: one per field; an error: one per error)."""
    kind = "CI" if outcome.kind == KIND_CIS else "Relationship"
    head: list[Any] = [outcome.sheet, outcome.row, kind, key]
    if outcome.status == CREATED:
        values = "; ".join(f"{k}: {to_text(v)}" for k, v in outcome.values.items() if v is not None)
        cls = outcome.class_name if outcome.kind == KIND_CIS else None
        yield [*head, cls, values or None]
    elif outcome.status == UPDATED:
        for f, (old, new) in outcome.changes.items():
            yield [*head, outcome.ci_id, f, _text(old), _text(new)]
    elif outcome.status == UNCHANGED:
        yield [*head, outcome.ci_id, outcome.note]
    else:
        for e in outcome.errors:
            yield [*head, e.column, e.message]


def write_outcomes(plan: ImportPlan, path: str | Path, *, dry_run: bool = True) -> Path:
    """The workbook of every row's outcome: a *Summary* sheet, then one sheet per
    outcome (an updated row has a line per changed field, a row with errors a
    line per error; errors of no one row — the file, a sheet's mapping — come first
    in *Errors*)."""
    wb = Workbook(write_only=True)
    summary = wb.create_sheet("Summary")
    summary.append(header_cells(summary, ["", "CIs", "Relationships"]))
    counts = plan.counts()
    summary.append(safe_row(summary, ["File", str(plan.source.path), None]))
    summary.append(
        safe_row(summary, ["What", "dry run: nothing was written" if dry_run else "imported", None])
    )
    for status, title in OUTCOME_TITLES.items():
        key = "errors" if status == ERROR else status
        summary.append(
            safe_row(summary, [title, counts["cis"][key], counts["relationships"].get(key)])
        )
    keys = RowKeys(plan)
    sheets = {}
    for status, title in OUTCOME_TITLES.items():
        ws = sheets[status] = wb.create_sheet(title)
        ws.freeze_panes = "A2"
        ws.append(header_cells(ws, list(_HEADERS[status])))
    errors = sheets[ERROR]
    of_rows = {id(e) for outcome in plan.rows for e in outcome.errors}
    for e in plan.errors:
        if id(e) not in of_rows:  # the file, a sheet or a column as a whole
            errors.append(safe_row(errors, [e.sheet, e.row, None, None, e.column, e.message]))
    for outcome in plan.rows:
        ws = sheets[outcome.status]
        for line in _lines(outcome, keys.key(outcome)):
            ws.append(safe_row(ws, line))
    return save_workbook(wb, Path(path))
