"""Risk of a change with its reasons (PRODUCT.md §9).

Each rule that fires adds a reason and the level it asks for; the change
gets the highest. Low comes with its own reason, so every level is explained.

=====================================================  ==========
rule                                                   level
=====================================================  ==========
a service of criticality 1 goes down                   Very High
a service goes down                                    High
a member of the change set alone takes a service down  High
a same-ci, combined or blackout conflict               High
past changes on these CIs failed at least half the     High
time (at least one failure)
an overlap or outside-maintenance conflict             Medium
a service is degraded                                  Medium
a past change on these CIs failed                      Medium
an Emergency change                                    Medium
=====================================================  ==========
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from cmdb_desktop.change_mgmt.conflicts import (
    BLACKOUT_CONFLICT,
    COMBINED,
    SAME_CI,
    Conflict,
)

LOW = "Low"
MEDIUM = "Medium"
HIGH = "High"
VERY_HIGH = "Very High"
RISK_LEVELS = (LOW, MEDIUM, HIGH, VERY_HIGH)


class ServiceHit(NamedTuple):
    name: str
    state: str  # "down" or "degraded"
    criticality: int | None


class SpofHit(NamedTuple):
    ci: str
    service: str


@dataclass(frozen=True)
class Risk:
    level: str
    reasons: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"level": self.level, "reasons": list(self.reasons)}


def _crit(value: int | None) -> str:
    return f"criticality {value}" if value is not None else "no criticality set"


def assess(
    *,
    kind: str,
    services: Sequence[ServiceHit],
    spofs: Sequence[SpofHit],
    conflicts: Sequence[Conflict],
    past_failed: int,
    past_total: int,
) -> Risk:
    """The level and reasons of a change from its facts.

    >>> assess(kind="Normal", services=[], spofs=[], conflicts=[], past_failed=0,
    ...        past_total=0).level
    'Low'
    >>> r = assess(kind="Normal", services=[ServiceHit("Payroll", "down", 1)], spofs=[],
    ...            conflicts=[], past_failed=0, past_total=0)
    >>> r.level, r.reasons
    ('Very High', ('service Payroll down (criticality 1)',))
    """
    found: list[tuple[str, str]] = []
    for svc in services:
        if svc.state == "down":
            level = VERY_HIGH if svc.criticality == 1 else HIGH
            found.append((level, f"service {svc.name} down ({_crit(svc.criticality)})"))
        else:
            found.append((MEDIUM, f"service {svc.name} degraded ({_crit(svc.criticality)})"))
    for spof in spofs:
        found.append((HIGH, f"{spof.ci} alone takes {spof.service} down (single point of failure)"))
    for c in conflicts:
        level = HIGH if c.kind in (SAME_CI, COMBINED, BLACKOUT_CONFLICT) else MEDIUM
        other = f"change {c.with_change}" if c.with_change is not None else f"window {c.window}"
        n = len(c.cis)
        found.append((level, f"{c.kind} conflict with {other} ({n} CI{'s' if n != 1 else ''})"))
    if past_failed:
        rate = past_failed / past_total
        level = HIGH if rate >= 0.5 else MEDIUM
        found.append(
            (level, f"{past_failed} of {past_total} past changes on these CIs failed ({rate:.0%})")
        )
    if kind == "Emergency":
        found.append((MEDIUM, "emergency change"))
    if not found:
        return Risk(LOW, ("no service impacted, no conflict, no failed past change on these CIs",))
    # The reasons behind the level first (a stable sort keeps the order within a level).
    found.sort(key=lambda f: RISK_LEVELS.index(f[0]), reverse=True)
    return Risk(found[0][0], tuple(reason for _, reason in found))
