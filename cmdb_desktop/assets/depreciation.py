"""Depreciation exactly as PRODUCT.md §10.

With m = whole months from the purchase date to the date (0 if negative; a
month is complete on the purchase's day of month, or on the month's last day
when the month is shorter):

* straight-line value = cost − (cost − salvage) × min(m, L) / L
* declining value = max(salvage, cost × (1 − 2/L)^m)  (double declining balance)

rounded half-up to cents. Computed in :class:`decimal.Decimal`, so 0.1 + 0.2
is 0.3 and a half cent always goes up.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from cmdb_desktop.catalogue import DECLINING, DEPRECIATION_NONE, STRAIGHT_LINE

CENT = Decimal("0.01")
METHODS = (DEPRECIATION_NONE, STRAIGHT_LINE, DECLINING)


def whole_months(purchased: date, at: date) -> int:
    """Whole months from ``purchased`` to ``at`` (0 when ``at`` is earlier).

    A month is complete on the purchase's day of month, or on the month's last
    day when that month is shorter: bought on 31 January, a month is complete
    on 28 February (29 in a leap year), two on 31 March.
    """
    if at <= purchased:
        return 0
    months = (at.year - purchased.year) * 12 + (at.month - purchased.month)
    anchor = min(purchased.day, calendar.monthrange(at.year, at.month)[1])
    if at.day < anchor:
        months -= 1
    return max(months, 0)


def _money(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def book_value(
    method: str | None,
    cost: Any,
    purchased: date | None,
    life_months: int | None,
    salvage: Any,
    at: date,
) -> Decimal | None:
    """An asset's book value at ``at``, rounded half-up to cents; None when it
    cannot be known (no cost; a depreciation method without purchase date or life).

    Method None (or blank): the cost, undepreciated.
    """
    if cost is None:
        return None
    c = _money(cost)
    if method in (None, "", DEPRECIATION_NONE):
        return c.quantize(CENT, ROUND_HALF_UP)
    if purchased is None or not life_months or life_months <= 0:
        return None
    s = _money(salvage) if salvage is not None else Decimal(0)
    m = whole_months(purchased, at)
    life = Decimal(life_months)
    with localcontext() as ctx:
        ctx.prec = 34
        if method == STRAIGHT_LINE:
            value = c - (c - s) * Decimal(min(m, life_months)) / life
        elif method == DECLINING:
            value = max(s, c * (1 - 2 / life) ** m)
        else:
            raise ValueError(f"unknown depreciation method {method!r}")
        return value.quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class AssetValue:
    """One asset's book value at a date, with what it is grouped by."""

    ci_id: int
    name: str
    class_name: str
    method: str
    cost: Decimal | None
    book_value: Decimal | None
    location: str | None
    cost_centre: str | None
    purchase_date: date | None


def value_of(record: Mapping[str, Any], at: date) -> Decimal | None:
    """Book value of a CI's values (attribute key → typed value) at ``at``."""
    return book_value(
        record.get("depreciation_method"),
        record.get("cost"),
        record.get("purchase_date"),
        record.get("useful_life_months"),
        record.get("salvage_value"),
        at,
    )


def totals(values: Iterable[AssetValue], by: str) -> dict[str, dict[str, Decimal | int]]:
    """Cost and book value summed per ``by`` (``class``, ``location``, ``cost_centre``).

    Assets whose book value is unknown count in ``unvalued``, not in the sums.
    """
    field = {"class": "class_name", "location": "location", "cost_centre": "cost_centre"}[by]
    out: dict[str, dict[str, Decimal | int]] = {}
    for v in values:
        key = getattr(v, field) or "(none)"
        row = out.setdefault(
            key, {"assets": 0, "cost": Decimal(0), "book_value": Decimal(0), "unvalued": 0}
        )
        row["assets"] = int(row["assets"]) + 1
        if v.book_value is None:
            row["unvalued"] = int(row["unvalued"]) + 1
            continue
        row["cost"] = Decimal(row["cost"]) + (v.cost or Decimal(0))
        row["book_value"] = Decimal(row["book_value"]) + v.book_value
    return dict(sorted(out.items()))
