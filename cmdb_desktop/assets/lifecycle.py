"""Lifecycle rules (PRODUCT.md §10): which status may follow which, the fields a
transition requires, and the date sanity rules of assets.

The rules are data (``ci_class.lifecycle``, inherited); :class:`Lifecycle` reads
them and :func:`state_problems` is the one check every write path runs through
:class:`~cmdb_desktop.schema.ClassSchema` (form, bulk edit, CLI, import rows).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from cmdb_desktop.catalogue import STATUSES

STATUS = "status"

#: (later date, earlier date, label of the rule): the later may not come before the earlier.
DATE_RULES: tuple[tuple[str, str], ...] = (
    ("warranty_end", "purchase_date"),
    ("disposal_date", "purchase_date"),
)


@dataclass(frozen=True)
class Lifecycle:
    """Allowed transitions (status → statuses) and required fields per target status.

    ``transitions`` None means every move is allowed (a class without rules).
    """

    transitions: Mapping[str, tuple[str, ...]] | None
    requires: Mapping[str, tuple[str, ...]]

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Lifecycle:
        raw = doc.get("transitions")
        transitions = (
            {str(k): tuple(str(t) for t in v or ()) for k, v in raw.items()}
            if isinstance(raw, Mapping)
            else None
        )
        req = doc.get("requires") or {}
        return cls(transitions, {str(k): tuple(str(f) for f in v or ()) for k, v in req.items()})

    @classmethod
    def unrestricted(cls) -> Lifecycle:
        return cls(None, {})

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"requires": {k: list(v) for k, v in self.requires.items() if v}}
        if self.transitions is not None:
            out["transitions"] = {k: list(v) for k, v in self.transitions.items()}
        return out

    def allowed(self, old: str | None, new: str | None) -> bool:
        """May a CI in status ``old`` move to ``new``? (Staying, or no status, always may.)"""
        if old is None or new is None or old == new or self.transitions is None:
            return True
        if old not in self.transitions:  # a status the rules do not know: unrestricted
            return True
        return new in self.transitions[old]

    def next_statuses(self, old: str | None) -> tuple[str, ...]:
        """The statuses a CI in ``old`` may move to (all when unrestricted)."""
        if old is None or self.transitions is None or old not in self.transitions:
            return tuple(s for s in STATUSES if s != old)
        return self.transitions[old]

    def refusal(self, old: str, new: str) -> str:
        """The one message for a transition not allowed."""
        nxt = self.next_statuses(old)
        if not nxt:
            return f"cannot change from {old} to {new}: {old} is final"
        return f"cannot change from {old} to {new}; from {old} a CI may move to {', '.join(nxt)}"


def state_problems(
    lifecycle: Lifecycle,
    labels: Mapping[str, str],
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    changed: Collection[str] | None = None,
) -> dict[str, str]:
    """What the lifecycle and date rules refuse in a write (field key → message).

    ``before``: the stored CI's values (None for a new CI, whose first status is
    free); ``after``: its whole state once written; ``labels``: the class's
    attribute keys → labels (a required key the class lacks is not asked for);
    ``changed``: the fields the write sets (None: all) — a date rule is checked
    when it sets one of its dates, so an older CI's other fields stay editable.
    """
    problems: dict[str, str] = {}
    new = after.get(STATUS)
    if before is not None:
        old = before.get(STATUS)
        if old != new and old is not None and new is not None:
            if not lifecycle.allowed(old, new):
                problems[STATUS] = lifecycle.refusal(old, new)
            else:
                for key in lifecycle.requires.get(new, ()):
                    if key in labels and after.get(key) in (None, ""):
                        problems[key] = f"{labels[key]} is required to move to {new}"
    for later, earlier in DATE_RULES:
        if later not in labels or earlier not in labels:
            continue
        if before is not None and changed is not None:
            if later not in changed and earlier not in changed:
                continue
        end, start = after.get(later), after.get(earlier)
        if isinstance(end, date) and isinstance(start, date) and end < start:
            problems.setdefault(
                later,
                f"{labels[later]} ({end.isoformat()}) is before "
                f"{labels[earlier]} ({start.isoformat()})",
            )
    return problems
