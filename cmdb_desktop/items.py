"""Configuration items: read, resolve references, create, update, delete.

All writes validate every field first (reporting every problem at once), run
in one transaction with their history, and return a
:class:`~cmdb_desktop.changes.ChangeSummary`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cmdb_desktop.bulk import ci_names
from cmdb_desktop.catalogue import INACTIVE_STATUSES
from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.errors import (
    ConflictError,
    DuplicateError,
    NotFoundError,
    StaleVersionError,
    ValidationError,
)
from cmdb_desktop.history import HistoryWriter, Source
from cmdb_desktop.identity import folded_equals
from cmdb_desktop.metamodel import AttributeInfo, ClassInfo, Metamodel
from cmdb_desktop.models import ConfigurationItem, ci_table, utcnow
from cmdb_desktop.progress import Progress
from cmdb_desktop.records import CiRecord, CiRef, chunks, record_from_row, resolve_reference
from cmdb_desktop.schema import GRAPH_FIELDS, MAX_NAME_LENGTH, NAME, ClassSchema
from cmdb_desktop.vocabulary import ChangeSource

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb

CI = ConfigurationItem
CI_TABLE = ci_table
__all__ = [
    "GRAPH_FIELDS",
    "MAX_NAME_LENGTH",
    "CiRecord",
    "CiRef",
    "ItemService",
    "chunks",
    "record_from_row",
]
_CHUNK = 500



class ItemService:
    def __init__(self, cmdb: Cmdb) -> None:
        self._cmdb = cmdb

    @property
    def meta(self) -> Metamodel:
        return self._cmdb.meta

    # -- reading -------------------------------------------------------------
    def get(self, ci: int | str) -> CiRecord:
        """The CI with this id (or reference text); NotFoundError otherwise."""
        ci_id = ci if isinstance(ci, int) else self.resolve(ci)
        with self._cmdb.read() as s:
            return self._get(s, ci_id)

    def _get(self, s: Session, ci_id: int) -> CiRecord:
        if not 0 < ci_id < 2**63:  # beyond what a database id can be
            raise NotFoundError(f"No CI with id #{ci_id}.")
        row = s.execute(select(CI_TABLE).where(CI.id == ci_id)).first()
        if row is None:
            raise NotFoundError(f"No CI with id #{ci_id}.")
        return record_from_row(self.meta, row)

    def get_many(self, ids: Iterable[int]) -> dict[int, CiRecord]:
        out: dict[int, CiRecord] = {}
        with self._cmdb.read() as s:
            for part in chunks(ids):
                for row in s.execute(select(CI_TABLE).where(CI.id.in_(part))):
                    out[row.id] = record_from_row(self.meta, row)
        return out

    def refs(self, ids: Iterable[int]) -> dict[int, CiRef]:
        """Names and classes of many CIs at once (missing ids are left out)."""
        names = self.meta.class_by_id
        out: dict[int, CiRef] = {}
        wanted = list(ids)
        with self._cmdb.read() as s:
            if len(wanted) > _CHUNK:
                for ci_id, name, class_id in ci_names(s, wanted):
                    out[ci_id] = CiRef(ci_id, name, names[class_id].name)
                return out
            for part in chunks(wanted):
                stmt = select(CI.id, CI.name, CI.class_id).where(CI.id.in_(part))
                for ci_id, name, class_id in s.execute(stmt):
                    out[ci_id] = CiRef(ci_id, name, names[class_id].name)
        return out

    def count(self) -> int:
        with self._cmdb.read() as s:
            return int(s.scalar(select(func.count()).select_from(CI_TABLE)) or 0)

    def counts_by_class(self) -> dict[str, int]:
        with self._cmdb.read() as s:
            rows = s.execute(select(CI.class_id, func.count()).group_by(CI.class_id)).all()
        return {self.meta.class_by_id[cid].name: n for cid, n in rows}

    def counts_by_status(self) -> dict[str, int]:
        with self._cmdb.read() as s:
            rows = s.execute(select(CI.status, func.count()).group_by(CI.status)).all()
        return {(status or ""): n for status, n in rows}

    def find_by_name(self, name: str, info: ClassInfo | None = None) -> list[CiRef]:
        """CIs named exactly ``name`` (or, failing that, case-insensitively)."""
        classes = self.meta.class_by_id
        with self._cmdb.read() as s:
            stmt = select(CI.id, CI.name, CI.class_id)
            if info is not None:
                stmt = stmt.where(CI.class_id.in_(self.meta.subtree_ids(info)))
            rows = s.execute(stmt.where(CI.name == name).order_by(CI.id)).all()
            if not rows:
                rows = s.execute(
                    stmt.where(func.lower(CI.name) == name.lower()).order_by(CI.id)
                ).all()
        return [CiRef(i, n, classes[c].name) for i, n, c in rows]

    def resolve(self, ref: str | int) -> int:
        """Resolve a CI reference: ``#ID``, ``Class/Name`` or a unique ``Name``
        (:func:`~cmdb_desktop.records.resolve_reference`, the rules every reader shares).

        Raises NotFoundError, or AmbiguousReferenceError listing the candidates.
        """
        return resolve_reference(self.meta, ref, self.find_by_name, self._exists)

    def _exists(self, ci_id: int) -> bool:
        with self._cmdb.read() as s:
            return s.scalar(select(CI.id).where(CI.id == ci_id)) is not None

    # -- validation ----------------------------------------------------------
    def prepare(
        self,
        s: Session,
        info: ClassInfo,
        fields: Mapping[str, Any],
        existing: CiRecord | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """Validate ``fields`` for a CI of class ``info``; return (name, coerced values).

        The class's schema decides (:meth:`~cmdb_desktop.schema.ClassSchema.validate`);
        references are resolved against the database here.
        """
        return self.meta.schema(info).validate(
            fields,
            existing=existing.values if existing is not None else None,
            existing_name=existing.name if existing is not None else None,
            resolve=self._resolve_reference,
        )

    def _resolve_reference(self, attr: AttributeInfo, value: int | str) -> int:
        ci_id = self.resolve(value)
        if attr.reference_class_id is not None:
            with self._cmdb.read() as s:
                target_class = s.scalar(select(CI.class_id).where(CI.id == ci_id))
            allowed = self.meta.subtree_ids(self.meta.class_by_id[attr.reference_class_id])
            if target_class not in allowed:
                want = self.meta.class_by_id[attr.reference_class_id].name
                raise ValueError(f"#{ci_id} is not a {want}")
        return ci_id

    def _check_identity(
        self,
        s: Session,
        schema: ClassSchema,
        name: str,
        values: Mapping[str, Any],
        *,
        exclude_id: int | None = None,
        changed: Iterable[str] | None = None,
    ) -> None:
        """Refuse a CI whose identity keys another CI already holds (folded:
        ``SN-1`` = ``sn-1``, ``Web01`` = ``web01``): see
        :meth:`~cmdb_desktop.schema.ClassSchema.identity_claims`."""
        dialect = s.get_bind().dialect.name
        space = sorted(schema.identification.class_ids)
        problems: dict[str, str] = {}
        for rule in schema.identity_claims(name, values, changed):
            stmt = select(CI.id, CI.name, CI.class_id).where(CI.class_id.in_(space))
            for f in rule:
                value = name if f == NAME else values.get(f)
                stmt = stmt.where(folded_equals(schema.expression(f, dialect), value, dialect))
            if exclude_id is not None:
                stmt = stmt.where(CI.id != exclude_id)
            hit = s.execute(stmt.order_by(CI.id).limit(1)).first()
            if hit is not None:
                other = self.meta.class_by_id[hit.class_id].name
                problems[rule[0]] = (
                    f"{schema.rule_label(rule)} {schema.key_values(rule, name, values)} "
                    f"already belongs to {other}/{hit.name} (#{hit.id})"
                )
        if problems:
            raise DuplicateError.from_problems(problems, f"Cannot save {schema.info.name} {name!r}")

    # -- writing -------------------------------------------------------------
    def _history(self, s: Session, source: Source | None) -> HistoryWriter:
        return HistoryWriter(s, self._cmdb.user, source or Source())

    def create(
        self,
        class_name: str,
        fields: Mapping[str, Any],
        *,
        source: Source | None = None,
        ci_id: int | None = None,
    ) -> ChangeSummary:
        """Create one CI. ``fields`` must include ``name``. Returns the summary."""
        info = self.meta.concrete_class(class_name)
        schema = self.meta.schema(info)
        with self._cmdb.write() as s:
            name, values = self.prepare(s, info, fields)
            self._check_identity(s, schema, name, values)
            history = self._history(s, source)
            new_id = self._insert(s, schema, name, values, history, ci_id=ci_id)
            history.flush()
            self._cmdb.bump(s, graph=False)
        summary = ChangeSummary(created=[new_id])
        self._cmdb.notify(summary)
        return summary

    def _insert(
        self,
        s: Session,
        schema: ClassSchema,
        name: str,
        values: Mapping[str, Any],
        history: HistoryWriter,
        ci_id: int | None = None,
        created_at: datetime | None = None,
    ) -> int:
        row = schema.encode(values)
        now = utcnow()
        row.update(class_id=schema.info.id, name=name, created_at=created_at or now, updated_at=now)
        row["version"] = 1
        if ci_id is not None:
            if s.scalar(select(CI.id).where(CI.id == ci_id)) is not None:
                raise DuplicateError(f"CI #{ci_id} already exists.", {"id": "taken"})
            row["id"] = ci_id
        result = s.execute(CI_TABLE.insert().values(**row))
        if ci_id is None:
            ci_id = int(result.inserted_primary_key[0])  # type: ignore[attr-defined]
        history.ci_created(ci_id, schema.info.name, name, values)
        return ci_id

    def update(
        self,
        ci: int,
        fields: Mapping[str, Any],
        *,
        expected_version: int | None = None,
        source: Source | None = None,
    ) -> ChangeSummary:
        """Change some fields of one CI.

        With ``expected_version`` the update is refused (StaleVersionError,
        exit code 3) if someone saved the CI since that version was read.
        A ``"class"`` field moves the CI to another class; attributes the new
        class lacks are cleared (and the history says so).
        """
        summary = ChangeSummary()
        with self._cmdb.write() as s:
            history = self._history(s, source)
            if not self._update_one(s, ci, fields, expected_version, history, summary):
                return ChangeSummary()
            history.flush()
            self._cmdb.bump(s, graph=summary.graph_changed)
        self._cmdb.notify(summary)
        return summary

    def update_many(
        self,
        changes: Mapping[int, Mapping[str, Any]],
        *,
        expected_versions: Mapping[int, int] | None = None,
        source: Source | None = None,
        progress: Progress | None = None,
    ) -> ChangeSummary:
        """Change many CIs in ONE transaction (a bulk edit): all or nothing.

        Every CI is validated; all problems are reported together (keys
        ``"#ID field"``), stale versions as one ConflictError naming them.
        Cancelling through ``progress`` rolls everything back.
        """
        summary = ChangeSummary()
        problems: dict[str, str] = {}
        stale: list[int] = []
        expected = expected_versions or {}
        progress = progress or Progress()
        progress.start("Saving changes", len(changes))
        with self._cmdb.write() as s:
            history = self._history(s, source)
            for n, (ci, fields) in enumerate(changes.items(), start=1):
                try:
                    self._update_one(s, ci, fields, expected.get(ci), history, summary)
                except StaleVersionError:
                    stale.append(ci)
                except ValidationError as exc:
                    for key, msg in (exc.problems or {"": str(exc)}).items():
                        problems[f"#{ci} {key}".strip()] = msg
                except NotFoundError as exc:
                    problems[f"#{ci}"] = str(exc)
                progress.step(n, len(changes))
            if stale:
                listed = ", ".join(f"#{i}" for i in stale[:20])
                raise ConflictError(
                    f"{len(stale)} CI(s) were changed by someone else since you read them "
                    f"({listed}); nothing was saved. Reload and apply your change again.",
                    {"stale": stale},
                )
            if problems:
                raise ValidationError.from_problems(problems, "Nothing was saved")
            if not summary.updated:
                return ChangeSummary()
            history.flush()
            self._cmdb.bump(s, graph=summary.graph_changed)
        self._cmdb.notify(summary)
        return summary

    def _update_one(
        self,
        s: Session,
        ci: int,
        fields: Mapping[str, Any],
        expected_version: int | None,
        history: HistoryWriter,
        summary: ChangeSummary,
    ) -> bool:
        """Validate and write one CI's new fields; False when nothing changes."""
        existing = self._get(s, ci)
        if expected_version is not None and existing.version != expected_version:
            raise StaleVersionError(
                f"{existing.class_name} {existing.name!r} (#{ci}) was changed by someone "
                f"else: you edited version {expected_version}, it is now at version "
                f"{existing.version}. Reload it and apply your change again.",
                ci_id=ci,
                expected=expected_version,
                actual=existing.version,
                current=existing.to_json(),
            )
        old_info = self.meta.class_by_id[existing.class_id]
        new_info = old_info
        class_field = next((v for k, v in fields.items() if k.strip().casefold() == "class"), None)
        if class_field is not None and str(class_field).strip():
            new_info = self.meta.concrete_class(str(class_field))
        schema = self.meta.schema(new_info)
        kept = {k: existing.values.get(k) for k in schema.by_key}
        name, values = schema.validate(
            fields, existing=kept, existing_name=existing.name, resolve=self._resolve_reference
        )
        diff = schema.diff(old_info, existing.name, existing.values, name, values)
        if not diff:
            return False
        state = {**kept, **values}
        self._check_identity(
            s, schema, name, state, exclude_id=existing.id, changed=diff.changes.keys()
        )
        row = schema.encode(state, clear_from=old_info if old_info.id != new_info.id else None)
        row.update(class_id=new_info.id, name=name, updated_at=utcnow(), version=CI.version + 1)
        stmt = update(CI_TABLE).where(CI.id == existing.id, CI.version == existing.version)
        if s.execute(stmt.values(**row)).rowcount != 1:  # type: ignore[attr-defined]
            raise StaleVersionError(
                f"{existing.class_name} {existing.name!r} (#{existing.id}) changed while saving; "
                "reload it and try again.",
                ci_id=existing.id,
                expected=existing.version,
                actual=existing.version + 1,
            )
        history.ci_changed(existing.id, new_info.name, name, diff.changes)
        summary.updated.append(existing.id)
        summary.before[existing.id] = {k: old for k, (old, _new) in diff.changes.items()}
        summary.after[existing.id] = {k: new for k, (_old, new) in diff.changes.items()}
        if GRAPH_FIELDS & diff.changes.keys():
            summary.graph_changed = True
        return True

    def delete(
        self,
        ci: int,
        *,
        expected_version: int | None = None,
        source: Source | None = None,
    ) -> ChangeSummary:
        """Delete a CI and its relationships (each recorded in the history).

        The summary's ``snapshots`` holds what :meth:`restore` needs to undo it.
        """
        versions = {ci: expected_version} if expected_version is not None else None
        return self.delete_many([ci], expected_versions=versions, source=source)

    def delete_many(
        self,
        ids: Sequence[int],
        *,
        expected_versions: Mapping[int, int] | None = None,
        source: Source | None = None,
        progress: Progress | None = None,
    ) -> ChangeSummary:
        """Delete CIs and their relationships in ONE transaction: all or nothing.

        A stale expected version refuses the whole delete (StaleVersionError for
        one CI, ConflictError naming them for several). ``snapshots`` in the
        summary hold what :meth:`restore_many` needs to undo it.
        """
        expected = expected_versions or {}
        progress = progress or Progress()
        unique = list(dict.fromkeys(ids))
        progress.start("Deleting", len(unique))
        with self._cmdb.write() as s:
            records: list[CiRecord] = []
            stale: list[StaleVersionError] = []
            for ci in unique:
                existing = self._get(s, ci)
                want = expected.get(ci)
                if want is not None and existing.version != want:
                    stale.append(
                        StaleVersionError(
                            f"{existing.class_name} {existing.name!r} (#{ci}) was changed by "
                            f"someone else (version {existing.version}, you have {want}); "
                            "reload it before deleting.",
                            ci_id=ci,
                            expected=want,
                            actual=existing.version,
                            current=existing.to_json(),
                        )
                    )
                records.append(existing)
            if len(stale) == 1 and len(unique) == 1:
                raise stale[0]
            if stale:
                listed = ", ".join(f"#{e.ci_id}" for e in stale[:20])
                raise ConflictError(
                    f"{len(stale)} CI(s) were changed by someone else since you read them "
                    f"({listed}); nothing was deleted. Reload and try again.",
                    {"stale": [e.ci_id for e in stale]},
                )
            history = self._history(s, source)
            summary = ChangeSummary(graph_changed=True)
            rels = self._cmdb.relations._delete_touching(s, unique, history, summary)
            for n, part in enumerate(chunks(unique), start=1):
                s.execute(CI_TABLE.delete().where(CI.id.in_(part)))
                progress.step(min(n * _CHUNK, len(unique)), len(unique))
            for rec in records:
                history.ci_deleted(rec.id, rec.class_name, rec.name, rec.values)
            history.flush()
            self._cmdb.bump(s, graph=True)
        for rec in records:
            summary.deleted.append(rec.id)
            summary.snapshots[rec.id] = {
                "id": rec.id,
                "class": rec.class_name,
                "name": rec.name,
                "values": dict(rec.values),
                "created_at": rec.created_at,
                "relationships": [r for r in rels if rec.id in (r["source_id"], r["target_id"])],
            }
        self._cmdb.notify(summary)
        return summary

    def restore(
        self, snapshot: Mapping[str, Any], *, source: Source | None = None
    ) -> ChangeSummary:
        """Re-create a deleted CI with its id, fields and relationships (undo of delete).

        Relationships whose other end no longer exists are skipped.
        """
        return self.restore_many([snapshot], source=source)

    def restore_many(
        self, snapshots: Sequence[Mapping[str, Any]], *, source: Source | None = None
    ) -> ChangeSummary:
        """Re-create deleted CIs (ids, fields, relationships) in one transaction."""
        with self._cmdb.write() as s:
            history = self._history(s, source or Source(ChangeSource.UNDO))
            summary = ChangeSummary(graph_changed=True)
            for snap in snapshots:
                schema = self.meta.schema(self.meta.concrete_class(snap["class"]))
                values = {k: v for k, v in snap["values"].items() if k in schema.by_key}
                summary.created.append(
                    self._insert(
                        s,
                        schema,
                        snap["name"],
                        values,
                        history,
                        ci_id=snap["id"],
                        created_at=snap.get("created_at"),
                    )
                )
            rels = {r["id"]: r for snap in snapshots for r in snap.get("relationships", [])}
            self._cmdb.relations._restore(s, list(rels.values()), history, summary)
            history.flush()
            self._cmdb.bump(s, graph=True)
        self._cmdb.notify(summary)
        return summary

    # -- helpers for other services -----------------------------------------
    def is_active(self, status: str | None) -> bool:
        return status not in INACTIVE_STATUSES
