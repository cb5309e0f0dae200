"""The asset report workbook (``cmdb assets report -o FILE.xlsx``, PRODUCT.md §10).

Sheets: Summary (assets by state, location and age), Book values (every
asset at the report's date), Totals (by class, location, cost centre),
Expiries (warranty, lease, end of life, licence expiry in the next N days),
Compliance (per software) and Stock. Every cell is written through
:func:`importers.cells.safe_cell`: an asset named ``=HYPERLINK(…)`` stays text.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl.worksheet.worksheet import Worksheet

from cmdb_desktop.assets.depreciation import totals, whole_months
from cmdb_desktop.errors import BadFileError, ValidationError
from importers.cells import header_cells, new_workbook, safe_row

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb

SHEETS = ("Summary", "Book values", "Totals", "Expiries", "Compliance", "Stock")
#: Age buckets of the summary (years since purchase, upper bound exclusive).
AGE_BUCKETS = ((1, "under 1 year"), (3, "1–3 years"), (5, "3–5 years"), (None, "5 years or more"))


def age_bucket(purchased: date | None, at: date) -> str:
    if purchased is None:
        return "unknown"
    years = whole_months(purchased, at) / 12
    for limit, label in AGE_BUCKETS:
        if limit is None or years < limit:
            return label
    return AGE_BUCKETS[-1][1]


def _rows(ws: Worksheet, header: list[str], rows: list[list[Any]]) -> None:
    ws.append(header_cells(ws, header))
    for row in rows:
        ws.append(safe_row(ws, row))


def write_assets_report(
    cmdb: Cmdb, path: str | os.PathLike[str], *, at: date | None = None, days: int = 90
) -> Path:
    """Write the asset report to ``path`` (.xlsx) and return the path written."""
    target = Path(path).expanduser()
    if target.suffix.lower() != ".xlsx":
        raise ValidationError(
            f"The asset report is an .xlsx workbook; name it …{target.stem}.xlsx "
            f"instead of {target.name}.",
            {"output": "must end in .xlsx"},
        )
    if not target.parent.is_dir():
        raise BadFileError(f"Cannot write {target}: the folder {target.parent} does not exist.")
    at = at or date.today()
    service = cmdb.assets
    assets = list(service.assets())
    values = service.values(at)
    by_id = {a.id: a for a in assets}
    compliance = service.compliance(at)
    expiries = service.calendar(days, at)
    stock = service.stock()
    with new_workbook(target) as wb:
        ws = wb.create_sheet("Summary")
        ws.append(safe_row(ws, ["Asset report", f"at {at.isoformat()}"]))
        for title, counter in (
            ("State", Counter(a.status or "(none)" for a in assets)),
            ("Location", Counter(a.location or "(none)" for a in assets)),
            ("Age", Counter(age_bucket(a.purchase_date, at) for a in assets)),
        ):
            ws.append([])
            ws.append(header_cells(ws, [title, "Assets"]))
            for key, n in sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0]))):
                ws.append(safe_row(ws, [key, n]))
        _rows(
            wb.create_sheet("Book values"),
            [
                "Name",
                "Class",
                "Status",
                "Model",
                "Location",
                "Cost Centre",
                "Method",
                "Purchase Date",
                "Cost",
                "Book Value",
            ],
            [
                [
                    v.name,
                    v.class_name,
                    by_id[v.ci_id].status,
                    by_id[v.ci_id].model,
                    v.location,
                    v.cost_centre,
                    v.method,
                    v.purchase_date,
                    float(v.cost) if v.cost is not None else None,
                    float(v.book_value) if v.book_value is not None else None,
                ]
                for v in values
            ],
        )
        ws = wb.create_sheet("Totals")
        ws.append(header_cells(ws, ["By", "Group", "Assets", "Cost", "Book Value", "Unvalued"]))
        for by in ("class", "location", "cost_centre"):
            for key, row in totals(values, by).items():
                ws.append(
                    safe_row(
                        ws,
                        [
                            by.replace("_", " "),
                            key,
                            row["assets"],
                            float(row["cost"]),
                            float(row["book_value"]),
                            row["unvalued"],
                        ],
                    )
                )
        _rows(
            wb.create_sheet("Expiries"),
            ["Ends", "What", "CI", "Class"],
            [[e.on, e.kind, e.ci["name"], e.ci["class"]] for e in expiries],
        )
        _rows(
            wb.create_sheet("Compliance"),
            ["Software", "Metric", "Entitled", "Consumed", "Status", "Shortfall", "Spare"],
            [
                [
                    c.software["name"],
                    c.metric,
                    c.entitled,
                    c.consumed,
                    c.status,
                    c.shortfall,
                    c.spare,
                ]
                for c in compliance
            ],
        )
        _rows(
            wb.create_sheet("Stock"),
            ["Model", "Location", "In Stock", "Threshold", "Alert"],
            [
                [s.model, s.location, s.in_stock, s.threshold, "reorder" if s.alert else ""]
                for s in stock
            ],
        )
    return target
