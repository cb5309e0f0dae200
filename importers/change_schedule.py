"""Import a change schedule from a spreadsheet (PRODUCT.md §9, issue 16).

Columns: Title, Start, End, CIs (references separated by ``;``), Kind,
Assignee — found by header (common synonyms accepted) or named by a mapping
``{"Title": "Header in the sheet", …}``. Like the CI import, every row is
checked first and every problem reported with its sheet, row (as the
spreadsheet shows it) and column; then all changes are written in one
transaction as Draft changes, or nothing (``--dry-run`` writes nothing;
``--skip-errors`` writes the good rows). Times without a zone, and date
cells, are local time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cmdb_desktop.change_mgmt.records import ChangeKind, ChangeService, parse_enum
from cmdb_desktop.change_mgmt.windows import local_zone_name, parse_time, to_utc, zone
from cmdb_desktop.errors import CmdbError, ValidationError
from importers.readers import Table, read_table

FIELDS = ("Title", "Start", "End", "CIs", "Kind", "Assignee")
REQUIRED = ("Title", "Start", "End")
SYNONYMS = {
    "Title": ("title", "change", "summary", "name", "change title"),
    "Start": ("start", "planned start", "from", "begin", "start time"),
    "End": ("end", "planned end", "to", "finish", "end time"),
    "CIs": ("cis", "ci", "change set", "configuration items", "items"),
    "Kind": ("kind", "type", "change type", "change kind"),
    "Assignee": ("assignee", "implementer", "assigned to", "owner"),
}


@dataclass
class ScheduleResult:
    dry_run: bool
    created: list[int] = field(default_factory=list)
    valid: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "changes": {
                "created": len(self.created),
                "valid": self.valid,
                "errors": len({(e["sheet"], e["row"]) for e in self.errors}),
            },
            "ids": self.created,
            "errors": self.errors,
        }


def _columns(table: Table, mapping: Mapping[str, str] | None) -> dict[str, int]:
    found: dict[str, int] = {}
    for name in FIELDS:
        headers = [mapping[name]] if mapping and name in mapping else SYNONYMS[name]
        for header in headers:
            col = table.column(header)
            if col is not None:
                found[name] = col.index
                break
    missing = [f for f in REQUIRED if f not in found]
    if missing:
        raise ValidationError(
            f"Sheet {table.sheet!r} has no column for {', '.join(missing)} (its headers: "
            f"{', '.join(table.headers)}). Name the columns Title, Start, End, CIs, Kind, "
            "Assignee, or give a mapping.",
            {"columns": "missing " + ", ".join(missing)},
        )
    return found


def _time(value: Any, what: str) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone(local_zone_name()))
        return to_utc(value)
    if isinstance(value, date):
        return to_utc(datetime(value.year, value.month, value.day, tzinfo=zone(local_zone_name())))
    return parse_time(str(value), what)


def import_schedule(
    service: ChangeService,
    path: str | Path,
    *,
    sheet: str | None = None,
    mapping: Mapping[str, str] | None = None,
    dry_run: bool = False,
    skip_errors: bool = False,
) -> ScheduleResult:
    table = read_table(path, sheet)
    cols = _columns(table, mapping)
    letters = {c.index: c.letter for c in table.columns}
    result = ScheduleResult(dry_run)
    good: list[tuple[str, datetime, datetime, list[int], str, str | None]] = []
    items = service.cmdb.items

    def cell(row: list[Any], name: str) -> Any:
        i = cols.get(name)
        if i is None or i >= len(row):
            return None
        value = row[i]
        return None if value is None or (isinstance(value, str) and not value.strip()) else value

    for row, number in zip(table.rows, table.row_numbers, strict=True):
        problems: list[dict[str, Any]] = []

        def problem(name: str, message: str, _n: int = number, _into: list[Any] = problems) -> None:
            column = letters.get(cols.get(name, -1), name)
            _into.append({"sheet": table.sheet, "row": _n, "column": column, "message": message})

        title = str(cell(row, "Title") or "").strip()
        if not title:
            problem("Title", "a change needs a title")
        times: dict[str, datetime] = {}
        for name in ("Start", "End"):
            value = cell(row, name)
            if value is None:
                problem(name, f"no {name.lower()} time")
                continue
            try:
                times[name] = _time(value, name.lower())
            except CmdbError as exc:
                problem(name, str(exc))
        if len(times) == 2 and times["End"] <= times["Start"]:
            problem("End", "the change ends before it starts")
        kind = str(cell(row, "Kind") or ChangeKind.NORMAL.value)
        try:
            kind = parse_enum(ChangeKind, kind, "kind").value
        except ValidationError as exc:
            problem("Kind", str(exc))
        ids: list[int] = []
        for ref in str(cell(row, "CIs") or "").split(";"):
            if not ref.strip():
                continue
            try:
                ids.append(items.resolve(ref.strip()))
            except CmdbError as exc:
                problem("CIs", str(exc))
        assignee = cell(row, "Assignee")
        if problems:
            result.errors += problems
            continue
        good.append(
            (title, times["Start"], times["End"], ids, kind,
             str(assignee).strip() if assignee is not None else None)
        )  # fmt: skip
    result.valid = len(good)
    if dry_run or (result.errors and not skip_errors) or not good:
        return result
    result.created = service.add_many(good)
    return result
