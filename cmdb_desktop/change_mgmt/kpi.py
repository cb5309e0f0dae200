"""Change KPIs over a period (PRODUCT.md §9)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from cmdb_desktop.change_mgmt.records import ChangeKind, ChangeState


class KpiChange(NamedTuple):
    """A change of the period: its state, kind and the services it touches by name."""

    state: str
    kind: str
    services: Sequence[str]


@dataclass(frozen=True)
class Kpis:
    changes: int
    completed: int
    failed: int
    backed_out: int
    emergency: int
    per_service: dict[str, int]

    @property
    def success_rate(self) -> float | None:
        """Completed / (Completed + Failed + Backed Out); None when none has ended."""
        ended = self.completed + self.failed + self.backed_out
        return self.completed / ended if ended else None

    @property
    def emergency_share(self) -> float | None:
        return self.emergency / self.changes if self.changes else None

    def to_json(self) -> dict[str, Any]:
        return {
            "changes": self.changes,
            "completed": self.completed,
            "failed": self.failed,
            "backed_out": self.backed_out,
            "success_rate": self.success_rate,
            "emergency": self.emergency,
            "emergency_share": self.emergency_share,
            "per_service": [
                {"service": name, "changes": n}
                for name, n in sorted(self.per_service.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
        }


def kpis(changes: Iterable[KpiChange]) -> Kpis:
    """The KPIs of the changes of a period (cancelled ones count nowhere).

    >>> k = kpis([KpiChange("Completed", "Normal", ["Mail"]),
    ...           KpiChange("Failed", "Emergency", ["Mail", "Web"])])
    >>> k.success_rate, k.emergency_share, k.per_service
    (0.5, 0.5, {'Mail': 2, 'Web': 1})
    """
    states: Counter[str] = Counter()
    emergency = 0
    per_service: Counter[str] = Counter()
    n = 0
    for c in changes:
        if c.state == ChangeState.CANCELLED:
            continue
        n += 1
        states[c.state] += 1
        emergency += c.kind == ChangeKind.EMERGENCY
        per_service.update(set(c.services))
    return Kpis(
        changes=n,
        completed=states[ChangeState.COMPLETED],
        failed=states[ChangeState.FAILED],
        backed_out=states[ChangeState.BACKED_OUT],
        emergency=emergency,
        per_service=dict(per_service),
    )
