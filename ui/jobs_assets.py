"""Worker jobs of the Assets workspace: everything it shows is computed here, off
the GUI thread, by the core's asset service (PRODUCT.md §10)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from cmdb_desktop.assets.service import CalendarEntry, Compliance, StockLine
from cmdb_desktop.cmdb import Cmdb
from ui.jobs import JobState

#: Age bands of the "value by age" chart (years since purchase, upper bound exclusive).
AGE_BANDS = (
    (1, "< 1 year"),
    (2, "1–2 years"),
    (3, "2–3 years"),
    (5, "3–5 years"),
    (None, "5+ years"),
)


@dataclass
class AssetOverview:
    at: date
    days: int
    #: status → [(ci id, name, class, model, assigned to)]
    by_status: dict[str, list[tuple[int, str, str, str, str]]] = field(default_factory=dict)
    #: age band → (assets, book value)
    value_by_age: list[tuple[str, int, float]] = field(default_factory=list)
    total_value: float = 0.0
    #: "YYYY-MM" → warranties ending that month (the next twelve months)
    warranty_by_month: list[tuple[str, int]] = field(default_factory=list)
    calendar: list[CalendarEntry] = field(default_factory=list)
    compliance: list[Compliance] = field(default_factory=list)
    stock: list[StockLine] = field(default_factory=list)
    custody: list[dict[str, Any]] = field(default_factory=list)
    overdue_ids: set[int] = field(default_factory=set)
    people: list[dict[str, Any]] = field(default_factory=list)


def _band(months: int) -> str:
    for limit, label in AGE_BANDS:
        if limit is None or months < limit * 12:
            return label
    return AGE_BANDS[-1][1]


def _month_add(d: date, n: int) -> str:
    y, m = divmod(d.month - 1 + n, 12)
    return f"{d.year + y:04d}-{m + 1:02d}"


def asset_overview(state: JobState, cmdb: Cmdb, at: date, days: int) -> AssetOverview:
    from cmdb_desktop.assets.depreciation import whole_months

    state.progress.start("Reading assets", 5)
    service = cmdb.assets
    out = AssetOverview(at, days)
    bands: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    months = {_month_add(at, n): 0 for n in range(12)}
    by_status: dict[str, list[tuple[int, str, str, str, str]]] = defaultdict(list)
    for n, a in enumerate(service.assets()):
        if n % 5000 == 0:
            state.check()
        by_status[a.status or "(none)"].append(
            (a.id, a.name, a.class_name, a.model or "", a.assigned_to or "")
        )
        value = a.value_at(at)
        if value is not None and a.purchase_date is not None:
            band = bands[_band(whole_months(a.purchase_date, at))]
            band[0] += 1
            band[1] += value
        if a.warranty_end is not None:
            key = f"{a.warranty_end.year:04d}-{a.warranty_end.month:02d}"
            if key in months:
                months[key] += 1
    out.by_status = dict(by_status)
    out.value_by_age = [
        (label, bands[label][0], float(bands[label][1]))
        for _l, label in AGE_BANDS
        if label in bands
    ]
    out.total_value = sum(v for _l, _n, v in out.value_by_age)
    out.warranty_by_month = list(months.items())
    state.progress.step(1, 5)
    state.check()
    out.calendar = service.calendar(days, at)
    state.progress.step(2, 5)
    state.check()
    out.compliance = service.compliance(at)
    state.progress.step(3, 5)
    state.check()
    out.stock = service.stock()
    state.progress.step(4, 5)
    out.custody = service.checked_out()
    out.overdue_ids = {c["id"] for c in service.overdue(at)}
    out.people = service.people()
    state.progress.step(5, 5)
    return out


def status_counts(overview: AssetOverview) -> Counter[str]:
    return Counter({k: len(v) for k, v in overview.by_status.items()})


def checkout(
    state: JobState, cmdb: Cmdb, ci_id: int, person: str, due: date | None
) -> dict[str, Any]:
    from cmdb_desktop.history import Source

    state.progress.start("Checking out")
    return cmdb.assets.checkout(ci_id, person, due=due, source=Source.gui())


def checkin(state: JobState, cmdb: Cmdb, ci_id: int) -> dict[str, Any]:
    from cmdb_desktop.history import Source

    state.progress.start("Checking in")
    return cmdb.assets.checkin(ci_id, source=Source.gui())
