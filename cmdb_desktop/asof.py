"""Time travel (PRODUCT.md §11): the CMDB as it was, net changes between two
moments, baselines, and bringing a deleted CI back.

*As it was*: :func:`open_as_of` writes a consistent copy of the CMDB to a
private temporary file and rewinds it — every history record newer than the
moment is undone, newest first (a field update puts its old value back, a
create removes the CI or relationship, a delete re-creates it from the
deletion's snapshot). Bulk imports record creates without a snapshot; undoing
a create never needs one, so rewinding from the present reconstructs them too.
Model records are undone in the same walk (:mod:`cmdb_desktop.asof_model`), so
the copy's catalogue is the one of then and every class or relationship type
name in a record is read against the catalogue of its own moment.
The copy opens read-only and every command (show, export, impact, depends,
spof, path, health) runs on it unchanged: one rulebook, one impact engine.

*What changed*: :func:`diff` folds the records between two moments into net
changes: a field changed and changed back is not listed, a CI or relationship
created and deleted in between is not listed.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from cmdb_desktop import asof_store as store
from cmdb_desktop.asof_model import CLASSES, TYPES, Catalogue
from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.db import copy_sqlite
from cmdb_desktop.errors import CmdbError, NotFoundError, ValidationError
from cmdb_desktop.history import Source, current_user
from cmdb_desktop.metamodel import Metamodel
from cmdb_desktop.models import utcnow
from cmdb_desktop.progress import Progress
from cmdb_desktop.schema import timestamp
from cmdb_desktop.values import coerce, to_text
from cmdb_desktop.vocabulary import Action, Entity

#: Fields a CI update record may name besides its class's attributes.
CLASS_FIELD = "class"
NAME_FIELD = "name"


# -- moments --------------------------------------------------------------------
def parse_moment(text: str) -> datetime:
    """A moment as the history stores it (naive UTC).

    ``2026-06-30T14:00``, ``2026-06-30 14:00:00+02:00`` (converted to UTC),
    ``2026-06-30`` (the end of that day: everything recorded on it), ``now``.
    A time without an offset is UTC, as the history shows times.
    """
    raw = text.strip()
    if raw.lower() == "now":
        return utcnow()
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime.combine(day, time.max)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"{text!r} is not a moment: give a date (2026-06-30), a date and time "
            "(2026-06-30T14:00, UTC unless it carries an offset), 'now' or a baseline name."
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def resolve_moment(cmdb: Cmdb, text: str) -> tuple[str, datetime]:
    """(label, moment) for a baseline name or a time (see :func:`parse_moment`)."""
    with cmdb.read() as s:
        found = store.baseline_at(s, text)
    if found is not None:
        return found[0], found[1]
    moment = parse_moment(text)
    return moment.isoformat(sep=" ", timespec="seconds"), moment


# -- the CMDB as it was ---------------------------------------------------------
@dataclass
class _CiState:
    class_id: int | None  # its class as of the moment (None: no record names one that exists)
    name: str
    values: dict[str, Any]
    version: int
    created_at: Any
    exists_now: bool


def _snapshot(text: str | None) -> dict[str, Any]:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _typed(meta: Metamodel, key: str, value: Any) -> Any:
    attr = meta.all_attribute_keys.get(key)
    if attr is None or value is None:
        return value
    try:
        return coerce(attr, value)
    except (CmdbError, ValueError, TypeError):
        return value  # a value an attribute no longer accepts is shown as it was stored


class _Names:
    """Class and relationship type names → ids, as of the record being undone: the
    catalogue rewound so far when the model changed since the moment, else the
    catalogue now."""

    def __init__(self, meta: Metamodel, catalogue: Catalogue | None) -> None:
        self.meta = meta
        self.catalogue = catalogue

    def class_id(self, name: str | None) -> int | None:
        if self.catalogue is not None:
            return self.catalogue.class_id(name)
        info = self.meta.find_class(name or "")
        return info.id if info is not None else None

    def type_id(self, name: str | None) -> int | None:
        if self.catalogue is not None:
            return self.catalogue.type_id(name)
        try:
            return self.meta.relationship_type(str(name))[0].id
        except CmdbError:
            return None


def _model_key(rec: store.Record) -> tuple[Any, ...]:
    return (rec.request_id, rec.ci_class, rec.ci_name, rec.action)


def _rewind(cmdb: Cmdb, moment: datetime) -> None:
    """Undo, in ``cmdb`` (a private copy), every record newer than ``moment``:
    the catalogue's (:mod:`cmdb_desktop.asof_model`), the CIs' and the
    relationships', in one walk, newest first."""
    meta = cmdb.meta
    with cmdb.read() as s:
        records = store.records_between(s, moment, None, newest_first=True)
        ci_ids = {r.ci_id for r in records if r.entity == Entity.CI and r.ci_id is not None}
        rows = store.ci_rows(s, ci_ids)
        rel_ids = {r.relationship_id for r in records if r.relationship_id is not None}
        rels_now = store.existing_relationships(s, rel_ids)
        groups: dict[tuple[Any, ...], list[store.Record]] = {}
        for rec in records:
            if rec.entity == Entity.MODEL:
                groups.setdefault(_model_key(rec), []).append(rec)
        catalogue = Catalogue(store.catalogue_rows(s)) if groups else None
    names = _Names(meta, catalogue)
    states: dict[int, _CiState | None] = {}
    for row in rows:
        info = meta.class_by_id[row.class_id]
        states[row.id] = _CiState(
            info.id,
            row.name,
            meta.schema(info).decode(row),
            row.version,
            row.created_at,
            exists_now=True,
        )
    undone_requests: set[tuple[int, str | None]] = set()
    rel_states: dict[int, dict[str, Any] | None] = {}
    for rec in records:
        if rec.entity == Entity.MODEL:
            if catalogue is not None:
                catalogue.undo(rec, groups[_model_key(rec)])
            continue
        if rec.entity == Entity.RELATIONSHIP:
            if rec.relationship_id is None:
                continue
            if rec.action == Action.CREATE:
                rel_states[rec.relationship_id] = None
            elif rec.action == Action.DELETE:
                rel_states[rec.relationship_id] = {
                    "id": rec.relationship_id,
                    "source_id": rec.ci_id,
                    "type_id": names.type_id(rec.field),
                    "target_id": rec.related_ci_id,
                    "created_at": rec.at,
                }
            continue
        if rec.entity != Entity.CI or rec.ci_id is None:
            continue  # change records stay
        state = states.get(rec.ci_id)
        if rec.action == Action.CREATE:
            states[rec.ci_id] = None
        elif rec.action == Action.DELETE:
            snap = _snapshot(rec.old_value)
            name = str(snap.pop(NAME_FIELD, rec.ci_name or ""))
            states[rec.ci_id] = _CiState(
                names.class_id(rec.ci_class),
                name,
                snap,
                0,
                rec.at,
                exists_now=state is not None and state.exists_now,
            )
        elif rec.action == Action.UPDATE and state is not None and rec.field:
            if rec.field == CLASS_FIELD:
                if rec.old_value:
                    state.class_id = names.class_id(rec.old_value)
            elif rec.field == NAME_FIELD:
                state.name = rec.old_value or state.name
            else:
                state.values[rec.field] = rec.old_value
            if (rec.ci_id, rec.request_id) not in undone_requests:
                undone_requests.add((rec.ci_id, rec.request_id))
                state.version -= 1
    # CIs re-created from a deletion snapshot: their version and creation time then.
    revived = [i for i, st in states.items() if st is not None and not st.exists_now]
    if revived:
        with cmdb.read() as s:
            older = store.ci_records_until(s, revived, moment)
        requests: dict[int, set[str | None]] = {}
        for rec in older:
            st = states[rec.ci_id] if rec.ci_id is not None else None
            if st is None or rec.ci_id is None:
                continue
            if rec.action == Action.CREATE:
                st.created_at = rec.at
                requests[rec.ci_id] = set()
            elif rec.action == Action.UPDATE:
                requests.setdefault(rec.ci_id, set()).add(rec.request_id)
        for ci_id in revived:
            st = states[ci_id]
            if st is not None:
                st.version = 1 + len(requests.get(ci_id, ()))
    classes_now = {row.id: row.class_id for row in rows}
    _write_rewind(cmdb, moment, catalogue, states, classes_now, rel_states, rels_now)


def _write_rewind(
    cmdb: Cmdb,
    moment: datetime,
    catalogue: Catalogue | None,
    states: Mapping[int, _CiState | None],
    classes_now: Mapping[int, int],
    rel_states: Mapping[int, dict[str, Any] | None],
    rels_now: set[int],
) -> None:
    with cmdb.write() as s:
        meta = cmdb.meta
        if catalogue is not None and catalogue.changed:
            catalogue.make_consistent()
            store.rewind_catalogue(s, catalogue.now, catalogue.rows)
            meta = Metamodel.load(s)  # the catalogue of then, for the CIs of then
        orphans = {i for i, c in classes_now.items() if c not in meta.class_by_id}
        delete_cis: list[int] = []
        updates: list[dict[str, Any]] = []
        inserts: list[dict[str, Any]] = []
        for ci_id, st in states.items():
            if st is None:
                delete_cis.append(ci_id)
                continue
            info = meta.class_by_id.get(st.class_id) if st.class_id is not None else None
            if info is None:  # a class of then that is not known: cannot be shown as it was
                if st.exists_now and ci_id in orphans:
                    delete_cis.append(ci_id)  # its class now did not exist then either
                continue
            schema = meta.schema(info)
            values = {k: _typed(meta, k, v) for k, v in st.values.items() if k in schema.by_key}
            row = schema.encode(values)
            row.update(id=ci_id, class_id=info.id, name=st.name, version=max(st.version, 1))
            if st.exists_now:
                updates.append(row)
            else:
                created = timestamp(st.created_at) if st.created_at is not None else moment
                row.update(created_at=created, updated_at=created)
                inserts.append(row)
        delete_rels = [i for i, r in rel_states.items() if r is None and i in rels_now]
        rel_inserts: list[dict[str, Any]] = []
        alive = {i for i, st in states.items() if st is not None}
        types = {t.id for t in meta.relationship_types}
        for rel in rel_states.values():
            if rel is None or rel["id"] in rels_now or rel["type_id"] not in types:
                continue  # existing now, or of a relationship type no record names
            ends = (rel["source_id"], rel["target_id"])
            if any(e in states and e not in alive for e in ends):
                continue
            rel_inserts.append(
                {
                    "id": rel["id"],
                    "source_id": rel["source_id"],
                    "type_id": rel["type_id"],
                    "target_id": rel["target_id"],
                    "created_at": timestamp(rel["created_at"]),
                }
            )
        store.rewind_copy(
            s,
            moment,
            delete_cis=delete_cis,
            ci_updates=updates,
            ci_inserts=inserts,
            delete_relationships=delete_rels,
            relationship_inserts=rel_inserts,
        )
        if catalogue is not None and catalogue.changed:
            store.drop_orphans(s, catalogue.gone(CLASSES), catalogue.gone(TYPES))
        cmdb.bump(s, graph=True, catalogue=True)
    cmdb.reload_meta()


class AsOfView:
    """A read-only CMDB as it was at a moment, in a private temporary copy.

    Close it (or use it as a context manager) to remove the copy.
    """

    def __init__(
        self,
        live: Cmdb,
        moment: datetime,
        label: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        if live.path is None:
            raise ValidationError(
                f"{live.describe()}: the CMDB as it was is available for a CMDB file only."
            )
        self.moment = moment
        self.label = label or moment.isoformat(sep=" ", timespec="seconds")
        self._dir = Path(tempfile.mkdtemp(prefix="cmdb-asof-"))
        progress = progress or Progress()
        try:
            copy = self._dir / "as-of.sqlite"
            progress.start("Copying the CMDB")
            copy_sqlite(live.path, copy)
            progress.check()
            cmdb = Cmdb.open(copy, create=False, user=live.user, backup=False)
            try:
                progress.start(f"Rewinding to {self.label}")
                _rewind(cmdb, moment)
                progress.check()
            except BaseException:
                cmdb.close()
                raise
            cmdb.read_only = f"it shows the CMDB as it was at {self.label}"
            self.cmdb = cmdb
        except BaseException:
            shutil.rmtree(self._dir, ignore_errors=True)
            raise

    def close(self) -> None:
        self.cmdb.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> AsOfView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_as_of(live: Cmdb, moment_text: str, progress: Progress | None = None) -> AsOfView:
    """The CMDB as it was at a baseline or time (text as the user typed it); ``progress``
    tells the phase (copying, rewinding) and stops it on cancel, leaving nothing behind."""
    label, moment = resolve_moment(live, moment_text)
    return AsOfView(live, moment, label, progress)


# -- what changed ---------------------------------------------------------------
@dataclass
class _CiFold:
    existed_before: bool | None = None
    exists_after: bool = True
    start: dict[str, str | None] = field(default_factory=dict)
    end: dict[str, str | None] = field(default_factory=dict)
    deleted_fields: set[str] | None = None
    name: str = ""
    class_name: str = ""


def _snapshot_texts(text: str | None) -> dict[str, str | None]:
    return {k: (to_text(v) if v is not None else None) for k, v in _snapshot(text).items()}


def _norm(value: str | None) -> str | None:
    return None if value is None or value == "" else value


def fold(records: Iterable[store.Record]) -> dict[str, Any]:
    """Net changes of history records (oldest first), in the ``diff`` shape minus the
    moments: created, deleted and changed CIs; created and deleted relationships."""
    cis: dict[int, _CiFold] = {}
    rels: dict[int, list[Any]] = {}  # id → [existed_before, exists_after, record]
    for rec in records:
        if rec.entity == Entity.RELATIONSHIP:
            if rec.relationship_id is None:
                continue
            entry = rels.setdefault(rec.relationship_id, [rec.action != Action.CREATE, True, rec])
            entry[1] = rec.action != Action.DELETE
            entry[2] = rec
            continue
        if rec.ci_id is None:
            continue
        ci = cis.setdefault(rec.ci_id, _CiFold())
        ci.name = rec.ci_name or ci.name
        ci.class_name = rec.ci_class or ci.class_name
        if ci.existed_before is None:
            ci.existed_before = rec.action != Action.CREATE
        if rec.action == Action.UPDATE and rec.field:
            ci.start.setdefault(rec.field, _norm(rec.old_value))
            ci.end[rec.field] = _norm(rec.new_value)
        elif rec.action == Action.DELETE:
            snap = _snapshot_texts(rec.old_value)
            snap.pop(NAME_FIELD, None)
            for key, value in snap.items():
                ci.start.setdefault(key, _norm(value))
                ci.end[key] = None
            for key in ci.end:
                ci.end[key] = None
            ci.deleted_fields = set(snap)
            ci.exists_after = False
        elif rec.action == Action.CREATE:
            snap = _snapshot_texts(rec.new_value)
            snap.pop(NAME_FIELD, None)
            if ci.deleted_fields is not None:
                for key, value in snap.items():
                    ci.start.setdefault(key, None)
                    ci.end[key] = _norm(value)
            ci.exists_after = True
    created: list[dict[str, Any]] = []
    deleted: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for ci_id in sorted(cis):
        ci = cis[ci_id]
        ref = {"id": ci_id, "name": ci.name, "class": ci.class_name}
        before = bool(ci.existed_before)
        if not before and ci.exists_after:
            created.append(ref)
        elif before and not ci.exists_after:
            deleted.append(ref)
        elif before and ci.exists_after:
            for key, old in ci.start.items():
                new = ci.end.get(key)
                if old != new:
                    changed.append({"ci": ref, "field": key, "old": old, "new": new})
    rel_created: list[dict[str, Any]] = []
    rel_deleted: list[dict[str, Any]] = []
    for rel_id in sorted(rels):
        before, after, rec = rels[rel_id]
        if before == after:
            continue
        text = rec.new_value or rec.old_value or ""
        item = {
            "id": rel_id,
            "source": rec.ci_name,
            "type": rec.field,
            "target": _target_name(text, rec.ci_name or "", rec.field or ""),
            "source_id": rec.ci_id,
            "target_id": rec.related_ci_id,
        }
        (rel_created if after else rel_deleted).append(item)
    return {
        "cis": {"created": created, "deleted": deleted, "changed": changed},
        "relationships": {"created": rel_created, "deleted": rel_deleted},
    }


def _target_name(text: str, source: str, type_name: str) -> str:
    prefix = f"{source} {type_name} "
    return text[len(prefix) :] if text.startswith(prefix) else text


def diff(cmdb: Cmdb, from_text: str, to_text_: str | None = None) -> dict[str, Any]:
    """Net changes between two moments (baseline names or times; ``to`` defaults to now)."""
    from_label, start = resolve_moment(cmdb, from_text)
    if to_text_ is None:
        end = utcnow()
        to_label = "now"
    else:
        to_label, end = resolve_moment(cmdb, to_text_)
    if end < start:
        raise ValidationError(f"{to_label} is before {from_label}: give the earlier moment first.")
    with cmdb.read() as s:
        records = store.records_between(s, start, end)
    result = {
        "from": from_label,
        "to": to_label,
        "from_at": start.isoformat(sep=" "),
        "to_at": end.isoformat(sep=" "),
    }
    result.update(fold(records))
    return result


# -- baselines ------------------------------------------------------------------
@dataclass(frozen=True)
class BaselineInfo:
    name: str
    at: datetime
    user: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "at": self.at.isoformat(sep=" "), "user": self.user}


def add_baseline(cmdb: Cmdb, name: str, at_text: str | None = None) -> BaselineInfo:
    """Name a moment (now unless ``at_text`` says otherwise); a name is used once."""
    clean = name.strip()
    if not clean:
        raise ValidationError("A baseline needs a name, e.g. `cmdb baseline add audit-2026-q2`.")
    moment = parse_moment(at_text) if at_text else utcnow()
    user = cmdb.user or current_user()
    with cmdb.write() as s:
        if store.baseline_at(s, clean) is not None:
            raise ValidationError(
                f"A baseline named {clean!r} exists already; choose another name."
            )
        store.add_baseline(s, clean, moment, user)
    return BaselineInfo(clean, moment, user)


def list_baselines(cmdb: Cmdb) -> list[BaselineInfo]:
    with cmdb.read() as s:
        return [BaselineInfo(n, at, u) for n, at, u in store.baselines(s)]


# -- restore --------------------------------------------------------------------
def restore(cmdb: Cmdb, ref: str, *, source: Source | None = None) -> ChangeSummary:
    """Bring a deleted CI back (same id) with its fields as its deletion recorded
    them and the relationships deleted with it whose other end still exists —
    one batch of changes, undone by deleting the CI again."""
    gone = cmdb.history.find_deleted(ref)
    with cmdb.read() as s:
        records = store.ci_records_until(s, [gone.id], utcnow() + timedelta(days=1))
        deletion = next((r for r in reversed(records) if r.action == Action.DELETE), None)
        if deletion is None:
            raise NotFoundError(f"No record of deleting {gone.label()}.")
        with_it = [
            r
            for r in store.records_between(s, deletion.at - timedelta(microseconds=1), deletion.at)
            if r.entity == Entity.RELATIONSHIP
            and r.action == Action.DELETE
            and r.request_id == deletion.request_id
            and gone.id in (r.ci_id, r.related_ci_id)
        ]
    meta = cmdb.meta
    info = meta.find_class(gone.class_name)
    if info is None:
        raise ValidationError(
            f"{gone.label()} was of class {gone.class_name!r}, which no longer exists; "
            "create the class again first."
        )
    schema = meta.schema(info)
    snap = _snapshot(deletion.old_value)
    name = str(snap.pop(NAME_FIELD, gone.name))
    values = {k: _typed(meta, k, v) for k, v in snap.items() if k in schema.by_key}
    created_at = next((r.at for r in records if r.action == Action.CREATE), None)
    snapshot = {
        "id": gone.id,
        "class": info.name,
        "name": name,
        "values": values,
        "created_at": created_at,
        "relationships": [
            {
                "id": r.relationship_id,
                "source_id": r.ci_id,
                "type": r.field,
                "target_id": r.related_ci_id,
            }
            for r in with_it
        ],
    }
    return cmdb.items.restore(snapshot, source=source)
