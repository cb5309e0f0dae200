"""Writing the canonical workbook and per-class templates (openpyxl).

* :func:`export_workbook` streams the whole CMDB (or some classes) into the
  canonical workbook of :mod:`importers.workbook` with openpyxl's
  write-only mode and server-side batches of rows, so memory stays flat
  even for 1M CIs (tables longer than a sheet continue on ``CIs 2``…),
  and ends with the ``Model`` sheet (:mod:`importers.model_sheet`).
* :func:`write_template` writes an empty workbook for people to fill in:
  the columns of one class (or all), with drop-down lists for class,
  status, environment, criticality, every choice attribute, booleans and
  relationship types (the lists sit on a hidden ``Lists`` sheet, so they
  are not limited to 255 characters and are not imported).

Every text cell goes through :mod:`importers.cells`: a value that begins
with ``=``, ``+``, ``-``, ``@``, a tab or a CR is stored as quoted text, so no
spreadsheet program evaluates it, and it reads back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select
from sqlalchemy.orm import aliased

from cmdb_desktop.attribute_types import type_of
from cmdb_desktop.errors import BadFileError
from cmdb_desktop.metamodel import AttributeInfo, ClassInfo
from cmdb_desktop.models import ConfigurationItem, Relationship, ci_table, relationship_table
from cmdb_desktop.progress import Progress
from importers.cells import (
    cell_value,
    needs_guard,
    new_workbook,
    safe_cell,
    save_workbook,
    set_safe,
)
from importers.model_sheet import write_model_sheet
from importers.untrusted import MAX_RANGE_CELLS
from importers.workbook import (
    CIS_SHEET,
    CLASS_HEADER,
    ID_HEADER,
    LISTS_SHEET,
    MAX_DATA_ROWS,
    NAME_HEADER,
    RELATIONSHIP_HEADERS,
    RELATIONSHIPS_SHEET,
    ci_attributes,
    concrete_classes,
    relationship_type_names,
    sheet_name,
)

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb

_BATCH = 5000
_HEADER_FONT = Font(bold=True, color="FFFFFFFF")
_HEADER_FILL = PatternFill("solid", start_color="FF35506B")


@dataclass(frozen=True)
class ExportResult:
    path: Path
    cis: int
    relationships: int
    sheets: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "cis": self.cis,
            "relationships": self.relationships,
            "sheets": self.sheets,
        }


def _check_target(path: Path) -> None:
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise BadFileError(f"Write the export to an .xlsx file (not {path.name}).")
    if path.is_dir():
        raise BadFileError(f"{path} is a folder; give a file name ending in .xlsx.")
    if not path.parent.exists():
        raise BadFileError(f"The folder {path.parent} does not exist.")


def _header(ws: Any, titles: list[str]) -> list[Any]:
    cells = []
    for title in titles:
        cell = safe_cell(ws, title)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cells.append(cell)
    return cells


def _value(ws: Any, value: Any) -> Any:
    """A cell value for ``ws.append`` (write-only): plain where safe, a guarded cell otherwise."""
    if isinstance(value, str):
        return safe_cell(ws, value) if needs_guard(value) else cell_value(value)
    # Dates get openpyxl's date format (yyyy-mm-dd) on their own.
    return cell_value(value)


class _Sheets:
    """A table spread over as many sheets as the row limit needs (``CIs``, ``CIs 2``…)."""

    def __init__(self, wb: Workbook, base: str, headers: list[str], widths: list[int]) -> None:
        self.wb = wb
        self.base = base
        self.headers = headers
        self.widths = widths
        self.names: list[str] = []
        # Keep each sheet within what the importer reads in one go
        # (importers.untrusted.MAX_RANGE_CELLS), so every export imports back.
        self.limit = max(1, min(MAX_DATA_ROWS, MAX_RANGE_CELLS // max(len(headers), 1) - 1))
        self.rows = self.limit
        self.ws: Any = None

    def append(self, values: list[Any]) -> None:
        if self.rows >= self.limit:
            self._new_sheet()
        self.ws.append([_value(self.ws, v) for v in values])
        self.rows += 1

    def _new_sheet(self) -> None:
        name = sheet_name(self.base, len(self.names) + 1)
        ws = self.wb.create_sheet(name)
        ws.freeze_panes = "A2"
        for i, width in enumerate(self.widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.append(_header(ws, self.headers))
        self.ws = ws
        self.names.append(name)
        self.rows = 0

    def finish(self) -> list[str]:
        if not self.names:
            self._new_sheet()
        return self.names


def export_workbook(
    cmdb: Cmdb,
    path: str | Path,
    *,
    classes: list[str] | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Write the canonical workbook of the CMDB (or of ``classes`` and their subclasses).

    Re-importing the file unchanged changes nothing. Cancelling through
    ``progress`` leaves no file behind.
    """
    progress = progress or Progress()
    out = Path(path).expanduser()
    _check_target(out)
    meta = cmdb.meta
    infos: list[ClassInfo] | None = None
    if classes:
        infos = []
        for name in classes:
            infos.extend(concrete_classes(meta, meta.get_class(name)))
    attrs = ci_attributes(meta, infos)
    class_ids = [c.id for c in infos] if infos is not None else None
    total_cis = cmdb.items.count() if class_ids is None else None
    with new_workbook(out) as wb:
        ci_headers = [NAME_HEADER, CLASS_HEADER, *(a.label for a in attrs), ID_HEADER]
        widths = [28, 18, *(_width(a) for a in attrs), 9]
        cis_sheets = _Sheets(wb, CIS_SHEET, ci_headers, widths)
        rel_sheets = _Sheets(
            wb, RELATIONSHIPS_SHEET, list(RELATIONSHIP_HEADERS), [28, 16, 28, 18, 18]
        )
        n_cis = n_rels = 0
        progress.start("Exporting CIs", total_cis or 0)
        references = {a.key for a in attrs if a.type == "reference"}
        for row in _ci_rows(cmdb, attrs, class_ids, references):
            cis_sheets.append(row)
            n_cis += 1
            if n_cis % 2000 == 0:
                progress.step(n_cis, total_cis or 0)
        cis_sheets.finish()
        total_rels = cmdb.relations.count() if class_ids is None else 0
        progress.start("Exporting relationships", total_rels)
        for row in _relationship_rows(cmdb, class_ids):
            rel_sheets.append(row)
            n_rels += 1
            if n_rels % 5000 == 0:
                progress.step(n_rels, total_rels)
        rel_sheets.finish()
        model_sheet = write_model_sheet(wb, meta)
        progress.start("Saving the workbook")
    return ExportResult(out, n_cis, n_rels, [*cis_sheets.names, *rel_sheets.names, model_sheet])


def _width(attr: AttributeInfo) -> int:
    if type_of(attr).short:
        return max(12, min(len(attr.label) + 2, 24))
    return max(14, min(len(attr.label) + 4, 30))


def _ci_rows(
    cmdb: Cmdb,
    attrs: list[AttributeInfo],
    class_ids: list[int] | None,
    references: set[str],
) -> Iterator[list[Any]]:
    """One list per CI: name, class, then each attribute (None where the class lacks it)."""
    meta = cmdb.meta
    schemas = {info.id: meta.schema(info) for info in meta.classes}
    keys = [a.key for a in attrs]
    ci = ci_table.c
    stmt = select(ci_table).order_by(ci.class_id, ci.name, ci.id)
    if class_ids is not None:
        stmt = stmt.where(ci.class_id.in_(class_ids))
    ref_text: dict[int, str] = {}
    with cmdb.read() as s:
        result = s.execute(stmt.execution_options(yield_per=_BATCH))
        for part in result.partitions():
            if references:
                ref_text.update(_reference_texts(cmdb, part, references, ref_text))
            for row in part:
                schema = schemas[row.class_id]
                decoded = schema.decode(row)
                values: list[Any] = [row.name, schema.info.name]
                for key in keys:
                    value = decoded.get(key)
                    if key in references and value is not None:
                        value = ref_text.get(value, f"#{value}")
                    values.append(value)
                values.append(row.id)
                yield values


def _reference_texts(
    cmdb: Cmdb, rows: Any, references: set[str], known: dict[int, str]
) -> dict[int, str]:
    """``Class/Name`` for CIs that reference attributes point at (``#id`` if that is ambiguous)."""
    wanted: set[int] = set()
    for row in rows:
        custom = row.attributes or {}
        for key in references:
            value = custom.get(key)
            if isinstance(value, int) and value not in known:
                wanted.add(value)
    if not wanted:
        return {}
    out: dict[int, str] = {}
    refs = cmdb.items.refs(wanted)
    for ci_id, ref in refs.items():
        same = cmdb.items.find_by_name(ref.name, cmdb.meta.get_class(ref.class_name))
        out[ci_id] = f"{ref.class_name}/{ref.name}" if len(same) == 1 else f"#{ci_id}"
    return out


def _relationship_rows(cmdb: Cmdb, class_ids: list[int] | None) -> Iterator[list[Any]]:
    meta = cmdb.meta
    names = {info.id: info.name for info in meta.classes}
    types = {t.id: t.name for t in meta.relationship_types}
    src = aliased(ConfigurationItem)
    dst = aliased(ConfigurationItem)
    rel = Relationship
    stmt = (
        select(src.name, rel.type_id, dst.name, src.class_id, dst.class_id)
        .select_from(relationship_table)
        .join(src, src.id == rel.source_id)
        .join(dst, dst.id == rel.target_id)
        .order_by(rel.id)
    )
    if class_ids is not None:
        stmt = stmt.where(src.class_id.in_(class_ids), dst.class_id.in_(class_ids))
    with cmdb.read() as s:
        result = s.execute(stmt.execution_options(yield_per=_BATCH * 4))
        for s_name, type_id, d_name, s_class, d_class in result:
            yield [s_name, types[type_id], d_name, names[s_class], names[d_class]]


# -- templates --------------------------------------------------------------------

_TEMPLATE_ROWS = 5000


def write_template(cmdb: Cmdb, path: str | Path, *, class_name: str | None = None) -> Path:
    """An empty canonical workbook with drop-down validation, for one class or all."""
    out = Path(path).expanduser()
    _check_target(out)
    meta = cmdb.meta
    if class_name:
        info = meta.get_class(class_name)
        classes = concrete_classes(meta, info)
        if not classes:
            raise BadFileError(f"Class {info.name!r} has no concrete classes to fill in.")
    else:
        classes = concrete_classes(meta)
    attrs = ci_attributes(meta, classes)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = CIS_SHEET
    rel_ws = wb.create_sheet(RELATIONSHIPS_SHEET)
    lists = wb.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"
    list_columns: dict[str, str] = {}

    def add_list(title: str, values: list[Any]) -> str:
        col = get_column_letter(len(list_columns) + 1)
        set_safe(lists.cell(row=1, column=len(list_columns) + 1), title)
        for i, v in enumerate(values, start=2):
            set_safe(lists[f"{col}{i}"], v)
        ref = f"{quote_sheetname(LISTS_SHEET)}!${col}$2:${col}${len(values) + 1}"
        list_columns[title] = ref
        return ref

    headers = [NAME_HEADER, CLASS_HEADER, *(a.label for a in attrs)]
    _template_header(ws, headers, [28, 18, *(_width(a) for a in attrs)])
    last = _TEMPLATE_ROWS + 1
    _validate(
        ws,
        "B",
        last,
        add_list("Class", [c.name for c in classes]),
        "Class",
        "Choose the CI's class.",
    )
    for i, attr in enumerate(attrs, start=3):
        col = get_column_letter(i)
        choices = type_of(attr).choice_list(attr)
        if choices is None:
            continue
        _validate(
            ws,
            col,
            last,
            add_list(attr.label, choices),
            attr.label,
            attr.description or f"Choose a {attr.label.lower()}.",
        )
    _template_header(rel_ws, list(RELATIONSHIP_HEADERS), [28, 18, 28, 18, 18])
    all_classes = add_list("All classes", [c.name for c in concrete_classes(meta)])
    _validate(
        rel_ws,
        "B",
        last,
        add_list("Relationship type", relationship_type_names(meta)),
        "Type",
        "Forward (Depends on) or reverse (Used by) names.",
    )
    for col in ("D", "E"):
        _validate(rel_ws, col, last, all_classes, "Class", "Only needed when names repeat.")
    return save_workbook(wb, out)


def _template_header(ws: Any, headers: list[str], widths: list[int]) -> None:
    for i, (title, width) in enumerate(zip(headers, widths, strict=True), start=1):
        cell = ws.cell(row=1, column=i)
        set_safe(cell, title)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(vertical="center")
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"


def _validate(ws: Any, col: str, last: int, ref: str, title: str, prompt: str) -> None:
    dv = DataValidation(
        type="list",
        formula1=f"={ref}",
        allow_blank=True,
        showDropDown=False,
        promptTitle=title[:32],
        prompt=prompt[:255],
        errorTitle=f"Not a valid {title.lower()}"[:32],
        error="Pick a value from the list.",
    )
    dv.showInputMessage = True
    dv.showErrorMessage = True
    ws.add_data_validation(dv)
    dv.add(f"{col}2:{col}{last}")
