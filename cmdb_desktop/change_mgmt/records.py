"""Change records and windows: the rules and the one service that writes them.

Every write is one transaction with its history (through the
:class:`~cmdb_desktop.history.HistoryWriter`, ``entity = "change"``) and
moves the change's ``version``; a write that names an older version is a
conflict (exit 3). Refusals (unknown CI, end before start, a transition
not allowed, approving one's own change where the settings forbid it, a
malformed RRULE) raise before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from cmdb_desktop.change_mgmt import storage
from cmdb_desktop.change_mgmt.windows import (
    WINDOW_KINDS,
    WindowRule,
    format_time,
    local_zone_name,
    parse_time,
)
from cmdb_desktop.errors import ConflictError, NotFoundError, ValidationError
from cmdb_desktop.history import HistoryWriter, Source, current_user
from cmdb_desktop.items import CiRef
from cmdb_desktop.models import Change, ChangeWindow, utcnow
from cmdb_desktop.vocabulary import Action

if TYPE_CHECKING:
    from cmdb_desktop.change_mgmt.conflicts import Conflict, ScopedWindow
    from cmdb_desktop.change_mgmt.kpi import Kpis
    from cmdb_desktop.change_mgmt.risk import Risk
    from cmdb_desktop.cmdb import Cmdb
    from cmdb_desktop.progress import Progress


class ChangeKind(StrEnum):
    STANDARD = "Standard"
    NORMAL = "Normal"
    EMERGENCY = "Emergency"


class ChangeState(StrEnum):
    DRAFT = "Draft"
    SUBMITTED = "Submitted"
    APPROVED = "Approved"
    SCHEDULED = "Scheduled"
    IN_PROGRESS = "In Progress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    BACKED_OUT = "Backed Out"
    CANCELLED = "Cancelled"


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


S = ChangeState
FINAL_STATES = frozenset({S.COMPLETED, S.FAILED, S.BACKED_OUT, S.CANCELLED})
ACTIVE_STATES = frozenset({S.SUBMITTED, S.APPROVED, S.SCHEDULED, S.IN_PROGRESS})
#: Ended changes that count for the past failure rate of their CIs.
ENDED_STATES = frozenset({S.COMPLETED, S.FAILED, S.BACKED_OUT})
FAILED_STATES = frozenset({S.FAILED, S.BACKED_OUT})

#: The allowed transitions; any non-final state may also go to Cancelled.
TRANSITIONS: dict[ChangeState, frozenset[ChangeState]] = {
    S.DRAFT: frozenset({S.SUBMITTED}),
    S.SUBMITTED: frozenset({S.APPROVED, S.DRAFT}),
    S.APPROVED: frozenset({S.SCHEDULED}),
    S.SCHEDULED: frozenset({S.IN_PROGRESS}),
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.FAILED, S.BACKED_OUT}),
}


def allowed_moves(state: str) -> list[ChangeState]:
    """Where a change in ``state`` may go, in the order of the life cycle."""
    current = ChangeState(state)
    if current in FINAL_STATES:
        return []
    targets = set(TRANSITIONS.get(current, frozenset())) | {S.CANCELLED}
    return [s for s in ChangeState if s in targets]


def parse_enum(enum: type[StrEnum], value: str, what: str) -> Any:
    for member in enum:
        if member.value.casefold() == value.strip().casefold():
            return member
    names = ", ".join(m.value for m in enum)
    raise ValidationError(f"Unknown {what} {value!r}: use one of {names}.", {what: "unknown"})


@dataclass(frozen=True)
class ChangeView:
    """A change as front ends show it (CIs named; deleted ones left out)."""

    id: int
    title: str
    description: str | None
    kind: str
    state: str
    start: datetime
    end: datetime
    change_set: tuple[CiRef, ...]
    requester: str
    assignee: str | None
    approvals: tuple[dict[str, Any], ...]
    outcome: str | None
    version: int

    @property
    def ci_ids(self) -> list[int]:
        return [c.id for c in self.change_set]

    def to_json(self, risk: Risk | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "state": self.state,
            "start": format_time(self.start),
            "end": format_time(self.end),
            "change_set": [c.to_json() for c in self.change_set],
            "risk": risk.to_json() if risk is not None else None,
            "version": self.version,
            "description": self.description,
            "requester": self.requester,
            "assignee": self.assignee,
            "approvals": list(self.approvals),
            "outcome": self.outcome,
            "allowed_moves": [s.value for s in allowed_moves(self.state)],
        }


@dataclass(frozen=True)
class Assessment:
    """A change's conflicts and risk, and the services it touches."""

    change: ChangeView
    conflicts: tuple[Conflict, ...]
    risk: Risk
    services: tuple[tuple[CiRef, str], ...]  # (service, "down"|"degraded")


#: Fields ``change set`` may write, and how each is read from text.
EDITABLE = ("title", "description", "kind", "start", "end", "assignee", "outcome", "requester")


class ChangeService:
    """Changes and windows of one CMDB (the GUI, the CLI and tests all use this)."""

    def __init__(self, cmdb: Cmdb, source: Source | None = None, user: str | None = None) -> None:
        self.cmdb = cmdb
        self.source = source or Source()
        self.user = user or current_user()

    # -- reading ----------------------------------------------------------------
    def _refs(self, s: Session, ids: Iterable[int]) -> dict[int, CiRef]:
        meta = self.cmdb.meta
        out: dict[int, CiRef] = {}
        for ci_id, row in storage.ci_rows(s, list(dict.fromkeys(ids))).items():
            info = meta.class_by_id.get(row[2])
            out[ci_id] = CiRef(ci_id, row[1], info.name if info else f"class #{row[2]}")
        return out

    def _view(self, row: Change, refs: Mapping[int, CiRef]) -> ChangeView:
        return ChangeView(
            id=row.id,
            title=row.title,
            description=row.description,
            kind=row.kind,
            state=row.state,
            start=row.start,
            end=row.end,
            change_set=tuple(refs[i] for i in row.change_set if i in refs),
            requester=row.requester,
            assignee=row.assignee,
            approvals=tuple(row.approvals or ()),
            outcome=row.outcome,
            version=row.version,
        )

    def refs(self, ids: Iterable[int]) -> dict[int, CiRef]:
        """The CIs ``ids`` that exist, as references."""
        with self.cmdb.read() as s:
            return self._refs(s, ids)

    def get(self, change_id: int) -> ChangeView:
        with self.cmdb.read() as s:
            row = self._require(s, change_id)
            return self._view(row, self._refs(s, row.change_set))

    def changes(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        states: Sequence[str] | None = None,
    ) -> list[ChangeView]:
        wanted = [parse_enum(ChangeState, st, "state").value for st in states or ()]
        with self.cmdb.read() as s:
            rows = storage.load_changes(s, start=start, end=end, states=wanted or None)
            refs = self._refs(s, [i for r in rows for i in r.change_set])
            return [self._view(r, refs) for r in rows]

    def _require(self, s: Session, change_id: int) -> Change:
        row = storage.get_change(s, change_id)
        if row is None:
            raise NotFoundError(f"No change with id {change_id}.")
        return row

    def _check_cis(self, s: Session, ids: Sequence[int]) -> None:
        found = storage.ci_rows(s, ids)
        missing = [i for i in ids if i not in found]
        if missing:
            shown = ", ".join(f"#{i}" for i in missing[:20])
            raise ValidationError(
                f"The change set names CIs that do not exist: {shown}. Remove them or "
                "pick existing CIs.",
                {"ci": "unknown"},
            )

    # -- writing ------------------------------------------------------------------
    def _writer(self, s: Session) -> HistoryWriter:
        return HistoryWriter(s, self.user, self.source)

    def _bump(self, s: Session, row: Change, if_version: int | None) -> None:
        _check_version(row, if_version)
        row.version += 1
        row.updated_at = utcnow()

    def add(
        self,
        title: str,
        start: datetime,
        end: datetime,
        cis: Sequence[int] = (),
        *,
        kind: str = ChangeKind.NORMAL,
        assignee: str | None = None,
        description: str | None = None,
    ) -> ChangeView:
        spec = self.check_new(title, start, end, kind)
        ids = list(dict.fromkeys(int(c) for c in cis))
        with self.cmdb.write() as s:
            self._check_cis(s, ids)
            history = self._writer(s)
            row = self._insert(s, history, spec, ids, assignee, description)
            history.flush()
            self.cmdb.bump(s)
            return self._view(row, self._refs(s, ids))

    def add_many(
        self, rows: Sequence[tuple[str, datetime, datetime, Sequence[int], str, str | None]]
    ) -> list[int]:
        """Several changes ``(title, start, end, cis, kind, assignee)`` in one transaction
        (a schedule import): all or none."""
        specs = [self.check_new(t, a, b, k) for t, a, b, _c, k, _w in rows]
        with self.cmdb.write() as s:
            self._check_cis(s, sorted({int(c) for r in rows for c in r[3]}))
            history = self._writer(s)
            made = [
                self._insert(s, history, spec, list(dict.fromkeys(r[3])), r[5], None).id
                for spec, r in zip(specs, rows, strict=True)
            ]
            history.flush()
            self.cmdb.bump(s)
            return made

    @staticmethod
    def check_new(
        title: str, start: datetime, end: datetime, kind: str
    ) -> tuple[str, datetime, datetime, str]:
        """A new change's title, window and kind, checked (ValidationError naming the
        problem)."""
        title = title.strip()
        if not title:
            raise ValidationError("A change needs a title.", {"title": "empty"})
        _check_window(start, end)
        return title, start, end, parse_enum(ChangeKind, kind, "kind").value

    def _insert(
        self,
        s: Session,
        history: HistoryWriter,
        spec: tuple[str, datetime, datetime, str],
        ids: list[int],
        assignee: str | None,
        description: str | None,
    ) -> Change:
        title, start, end, kind = spec
        row = Change(
            title=title,
            description=description,
            kind=kind,
            state=S.DRAFT.value,
            start=start,
            end=end,
            change_set=ids,
            requester=self.user,
            assignee=assignee,
            approvals=[],
            version=1,
        )
        s.add(row)
        s.flush()
        history.change_event(row.id, title, Action.CREATE, new=_snapshot(row))
        return row

    def update(
        self, change_id: int, fields: Mapping[str, str | None], *, if_version: int | None = None
    ) -> ChangeView:
        """Set fields from text (``start``/``end`` ISO 8601, ``kind`` a kind name)."""
        unknown = [f for f in fields if f not in EDITABLE]
        if unknown:
            raise ValidationError(
                f"Unknown change field {unknown[0]!r}: use one of {', '.join(EDITABLE)} "
                "(the state moves with `change move`, the CIs with `change ci`).",
                {unknown[0]: "unknown"},
            )
        values: dict[str, Any] = {}
        for key, value in fields.items():
            if key in ("start", "end"):
                if value is None:
                    raise ValidationError(f"A change needs its {key}.", {key: "empty"})
                values[key] = parse_time(value, key)
            elif key == "kind":
                values[key] = parse_enum(ChangeKind, value or "", "kind").value
            elif key in ("title", "requester"):
                if not (value or "").strip():
                    raise ValidationError(f"A change needs a {key}.", {key: "empty"})
                values[key] = (value or "").strip()
            else:
                values[key] = value
        with self.cmdb.write() as s:
            row = self._require(s, change_id)
            _check_window(values.get("start", row.start), values.get("end", row.end))
            history = self._writer(s)
            changed = False
            for key, value in values.items():
                old = getattr(row, key)
                if old == value:
                    continue
                setattr(row, key, value)
                history.change_event(
                    row.id, row.title, Action.UPDATE, field=key, old=_text(old), new=_text(value)
                )
                changed = True
            if changed:
                self._bump(s, row, if_version)
                history.flush()
                self.cmdb.bump(s)
            else:
                _check_version(row, if_version)
            return self._view(row, self._refs(s, row.change_set))

    def reschedule(
        self, change_id: int, start: datetime, end: datetime, *, if_version: int | None = None
    ) -> ChangeView:
        return self.update(
            change_id, {"start": format_time(start), "end": format_time(end)}, if_version=if_version
        )

    def edit_cis(
        self,
        change_id: int,
        *,
        add: Sequence[int] = (),
        remove: Sequence[int] = (),
        if_version: int | None = None,
    ) -> ChangeView:
        with self.cmdb.write() as s:
            row = self._require(s, change_id)
            if row.state in FINAL_STATES:
                raise ValidationError(
                    f"Change {row.id} is {row.state}: its CIs can no longer change.",
                    {"state": row.state},
                )
            added = [int(c) for c in add if int(c) not in row.change_set]
            self._check_cis(s, added)
            gone = {int(c) for c in remove}
            new = [c for c in row.change_set if c not in gone] + list(dict.fromkeys(added))
            if new == row.change_set:
                return self._view(row, self._refs(s, new))
            refs = self._refs(s, row.change_set + new)
            history = self._writer(s)
            history.change_event(
                row.id,
                row.title,
                Action.UPDATE,
                field="change_set",
                old=_names(row.change_set, refs),
                new=_names(new, refs),
            )
            row.change_set = new
            self._bump(s, row, if_version)
            history.flush()
            self.cmdb.bump(s)
            return self._view(row, refs)

    def move(
        self,
        change_id: int,
        state: str,
        *,
        note: str | None = None,
        if_version: int | None = None,
    ) -> ChangeView:
        target = parse_enum(ChangeState, state, "state")
        with self.cmdb.write() as s:
            row = self._require(s, change_id)
            allowed = allowed_moves(row.state)
            if target not in allowed:
                where = ", ".join(a.value for a in allowed) or "nowhere (it has ended)"
                raise ValidationError(
                    f"Change {row.id} is {row.state}: it cannot move to {target.value}. "
                    f"From {row.state} it may move to {where}.",
                    {"state": "transition not allowed"},
                )
            if target == S.APPROVED:
                decisions = [a["decision"] for a in row.approvals or ()]
                if not decisions or decisions[-1] != Decision.APPROVE:
                    raise ValidationError(
                        f"Change {row.id} has no approval standing: record one with "
                        f"`change approve {row.id} --decision approve` first.",
                        {"approvals": "missing"},
                    )
            history = self._writer(s)
            history.change_event(
                row.id, row.title, Action.UPDATE, field="state", old=row.state, new=target.value
            )
            row.state = target.value
            if note:
                if target in ENDED_STATES or target == S.CANCELLED:
                    history.change_event(
                        row.id,
                        row.title,
                        Action.UPDATE,
                        field="outcome",
                        old=row.outcome,
                        new=note,
                    )
                    row.outcome = note
                else:
                    history.change_event(row.id, row.title, Action.UPDATE, field="note", new=note)
            self._bump(s, row, if_version)
            history.flush()
            self.cmdb.bump(s)
            return self._view(row, self._refs(s, row.change_set))

    def approve(
        self,
        change_id: int,
        decision: str,
        *,
        note: str | None = None,
        if_version: int | None = None,
    ) -> ChangeView:
        decision_ = parse_enum(Decision, decision, "decision")
        with self.cmdb.write() as s:
            row = self._require(s, change_id)
            if row.state != S.SUBMITTED:
                raise ValidationError(
                    f"Change {row.id} is {row.state}: only a Submitted change takes approvals.",
                    {"state": row.state},
                )
            if row.requester == self.user and not storage.settings(s).get(
                "allow_self_approval", False
            ):
                raise ValidationError(
                    f"{self.user} requested change {row.id} and cannot decide on it: the "
                    "settings forbid approving one's own change. Ask another approver.",
                    {"who": "requester"},
                )
            entry = {
                "who": self.user,
                "when": format_time(utcnow()),
                "decision": decision_.value,
                "note": note,
            }
            history = self._writer(s)
            history.change_event(
                row.id, row.title, Action.UPDATE, field="approval", new=json.dumps(entry)
            )
            row.approvals = [*(row.approvals or ()), entry]
            self._bump(s, row, if_version)
            history.flush()
            self.cmdb.bump(s)
            return self._view(row, self._refs(s, row.change_set))

    def set_self_approval(self, allowed: bool) -> None:
        """The setting that lets a requester decide on their own change (default: no)."""
        with self.cmdb.write() as s:
            data = storage.settings(s)
            data["allow_self_approval"] = bool(allowed)
            storage.save_settings(s, data, self.user)

    # -- windows --------------------------------------------------------------------
    def add_window(
        self,
        name: str,
        kind: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        rrule: str | None = None,
        duration_min: int | None = None,
        scope: Sequence[Mapping[str, Any]] = (),
    ) -> WindowRule:
        name = name.strip()
        if not name:
            raise ValidationError("A window needs a name.", {"name": "empty"})
        if kind not in WINDOW_KINDS:
            raise ValidationError(
                f"Unknown window kind {kind!r}: use maintenance or blackout.", {"kind": "unknown"}
            )
        if rrule is not None and end is not None:
            raise ValidationError(
                "Give either --start and --end, or --rrule and --duration.", {"end": "with rrule"}
            )
        zone_name = local_zone_name()
        rule = WindowRule(
            name,
            kind,
            start,
            end,
            rrule,
            timedelta(minutes=duration_min) if duration_min is not None else None,
            zone_name,
        )
        if not scope:
            raise ValidationError(
                "A window needs a scope: --scope CI, class=CLASS or location=CI.",
                {"scope": "empty"},
            )
        with self.cmdb.write() as s:
            entries = self._check_scope(s, scope)
            if storage.window_named(s, name) is not None:
                raise ValidationError(
                    f"A window named {name!r} exists already: choose another name.",
                    {"name": "duplicate"},
                )
            s.add(
                ChangeWindow(
                    name=name,
                    kind=kind,
                    start=start if rrule is None else (start or _midnight_utc()),
                    end=end,
                    rrule=rrule,
                    duration_min=duration_min,
                    timezone=zone_name,
                    scope=entries,
                )
            )
            self.cmdb.bump(s)
        return rule

    def _check_scope(self, s: Session, scope: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for entry in scope:
            if "class" in entry:
                info = self.cmdb.meta.find_class(str(entry["class"]))
                if info is None:
                    raise ValidationError(
                        f"Unknown class {entry['class']!r} in the window's scope.",
                        {"scope": "unknown class"},
                    )
                out.append({"class": info.name})
            else:
                key = "location" if "location" in entry else "ci"
                ci_id = int(entry[key])
                self._check_cis(s, [ci_id])
                out.append({key: ci_id})
        return out

    def windows(self) -> list[tuple[WindowRule, list[dict[str, Any]]]]:
        with self.cmdb.read() as s:
            return [(_rule(w), list(w.scope or ())) for w in storage.load_windows(s)]

    def scoped_windows(self, s: Session) -> list[ScopedWindow]:
        """Every window with the CIs its scope holds now."""
        from cmdb_desktop.change_mgmt.conflicts import ScopedWindow

        meta = self.cmdb.meta
        out: list[ScopedWindow] = []
        for w in storage.load_windows(s):
            cis: set[int] = set()
            classes: set[int] = set()
            locations: list[int] = []
            for entry in w.scope or ():
                if "class" in entry:
                    info = meta.find_class(str(entry["class"]))
                    if info is not None:
                        classes |= meta.subtree_ids(info)
                elif "location" in entry:
                    locations.append(int(entry["location"]))
                elif "ci" in entry:
                    cis.add(int(entry["ci"]))
            cis |= storage.cis_of_classes(s, classes)
            cis |= storage.located_in(s, locations)
            out.append(ScopedWindow(_rule(w), frozenset(cis)))
        return out

    # -- assessing ------------------------------------------------------------------
    def assess(
        self, change_ids: Sequence[int] | None = None, progress: Progress | None = None
    ) -> dict[int, Assessment]:
        """Conflicts and risk of the changes ``change_ids`` (all when None)."""
        from cmdb_desktop.change_mgmt.assess import assess_changes

        return assess_changes(self, change_ids, progress)

    def kpis(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        progress: Progress | None = None,
    ) -> Kpis:
        """KPIs of the changes whose window meets [start, end); a change counts for
        the services in its change set and those it impacts."""
        from cmdb_desktop.change_mgmt.kpi import KpiChange, kpis

        if start is not None and end is not None and end <= start:
            raise ValidationError("The period ends before it starts.", {"to": "before from"})
        views = self.changes(start=start, end=end)
        found = self.assess([v.id for v in views], progress) if views else {}
        services = self.cmdb.meta.service_class_ids
        meta = self.cmdb.meta
        out = []
        for v in views:
            names = [r.name for r, _ in found[v.id].services]
            names += [
                r.name
                for r in v.change_set
                if (info := meta.find_class(r.class_name)) is not None and info.id in services
            ]
            out.append(KpiChange(v.state, v.kind, names))
        return kpis(out)

    def history(self, change_id: int) -> list[Any]:
        from cmdb_desktop.history import HistoryService

        with self.cmdb.read() as s:
            self._require(s, change_id)
        return HistoryService(self.cmdb).for_change(change_id)


def _check_version(row: Change, if_version: int | None) -> None:
    if if_version is not None and if_version != row.version:
        raise ConflictError(
            f"Change {row.id} is at version {row.version}, not {if_version}: someone "
            "changed it since you read it. Reload it and apply your edit again.",
            {"change": row.id, "expected_version": if_version, "version": row.version},
        )


def _check_window(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ValidationError(
            f"The change ends ({format_time(end)}) before it starts ({format_time(start)}): "
            "give an end after the start.",
            {"end": "before start"},
        )


def _midnight_utc() -> datetime:
    now = utcnow()
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def _rule(w: ChangeWindow) -> WindowRule:
    return WindowRule(
        w.name,
        w.kind,
        w.start,
        w.end,
        w.rrule,
        timedelta(minutes=w.duration_min) if w.duration_min is not None else None,
        w.timezone,
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_time(value)
    return str(value)


def _names(ids: Sequence[int], refs: Mapping[int, CiRef]) -> str:
    return "; ".join(refs[i].label() if i in refs else f"#{i}" for i in ids)


def _snapshot(row: Change) -> str:
    return json.dumps(
        {
            "title": row.title,
            "kind": row.kind,
            "state": row.state,
            "start": format_time(row.start),
            "end": format_time(row.end),
            "change_set": row.change_set,
            "assignee": row.assignee,
        },
        ensure_ascii=False,
        sort_keys=True,
    )
