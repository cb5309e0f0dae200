"""Reconciliation: which CI does a row of a spreadsheet describe?

The rules are PRODUCT.md §3: for each class an ordered list of key rules
(Hardware: serial number → asset tag → name, over the whole Hardware
subtree; every other class: name within the class). The **first rule whose
values are all present in the row decides**: the row is that CI if exactly
one CI of the identity space has those values, a new CI if none has, and an
*ambiguous match* error if several have — never a guess. An import (or an
audit) may replace the rules with ranked keys of its own.

Reusable pieces (the import and the audit share them):

* :class:`IdentityIndex` — the identity keys of every CI, loaded in one
  query into dictionaries (1M CIs in a few seconds), so matching a row is a
  dictionary lookup, not a query.
* :class:`Matcher` — applies the rules to one row's typed values.
* :class:`DuplicateTracker` — finds rows of one file that identify the same
  CI (by the same key values, or by matching the same existing CI).

Keys compare case-insensitively with runs of white space folded
(``"WEB01 "`` = ``"web01"``); when several CIs share the folded value, the
one equal exactly wins, else the match is ambiguous.

>>> key_of("  Web01 "), key_of(3.0), key_of(None)
('web01', 3, None)
"""

from __future__ import annotations

import json
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmdb_desktop.bulk import rows_with_folded_keys
from cmdb_desktop.catalogue import HARDWARE_CLASS
from cmdb_desktop.identity import fold_key
from cmdb_desktop.metamodel import ClassInfo, Identification, Metamodel
from cmdb_desktop.models import ci_table
from cmdb_desktop.progress import Progress
from cmdb_desktop.schema import ClassSchema

NAME = "name"


#: The form a key value is compared in (the core's one folding rule).
key_of = fold_key


@dataclass(frozen=True)
class Match:
    """The outcome of matching one row.

    ``rule`` is the key rule that decided (None when no rule had all its
    values); ``candidates`` are the CIs it found: one → ``ci_id`` is set,
    several → ambiguous.
    """

    ci_id: int | None
    rule: tuple[str, ...] | None
    candidates: tuple[int, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return len(self.candidates) > 1

    @property
    def new(self) -> bool:
        return self.rule is not None and not self.candidates


class IdentityIndex:
    """Identity keys of CIs: field → folded value → [(ci id, exact value)].

    Also keeps each CI's class and name, which relationship references and
    messages need.
    """

    def __init__(self, fields: Sequence[str]) -> None:
        self.fields = tuple(dict.fromkeys([NAME, *fields]))
        self.by_field: dict[str, dict[Hashable, list[tuple[int, Any]]]] = {
            f: {} for f in self.fields
        }
        self.class_of: dict[int, int] = {}
        self.name_of: dict[int, str] = {}

    @classmethod
    def load(
        cls,
        session: Session,
        meta: Metamodel,
        fields: Iterable[str] = (),
        *,
        class_ids: Collection[int] | None = None,
        progress: Progress | None = None,
    ) -> IdentityIndex:
        """Load the keys of every CI (or of ``class_ids``) in one query."""
        index = cls(list(fields))
        columns = [ci_table.c.id, ci_table.c.class_id]
        plain: list[str] = []
        custom: list[str] = []
        attrs = meta.all_attribute_keys
        for f in index.fields:
            column = "name" if f == NAME else (attrs[f].column if f in attrs else None)
            if column is not None:
                plain.append(f)
                columns.append(ci_table.c[column])
            else:
                custom.append(f)
        if custom:
            columns.append(ci_table.c.attributes)
        stmt = select(*columns)
        if class_ids is not None:
            stmt = stmt.where(ci_table.c.class_id.in_(list(class_ids)))
        stmt = stmt.execution_options(yield_per=50_000)
        by = index.by_field
        for n, row in enumerate(session.execute(stmt), start=1):
            ci_id, class_id = row[0], row[1]
            index.class_of[ci_id] = class_id
            for pos, f in enumerate(plain, start=2):
                value = row[pos]
                if f == NAME:
                    index.name_of[ci_id] = value
                if value is None:
                    continue
                k = key_of(value)
                if k is not None:
                    by[f].setdefault(k, []).append((ci_id, value))
            if custom:
                doc = row[-1] or {}
                if isinstance(doc, str):
                    doc = json.loads(doc)
                for f in custom:
                    value = doc.get(f)
                    k = key_of(value)
                    if k is not None:
                        by[f].setdefault(k, []).append((ci_id, value))
            if progress is not None and n % 50_000 == 0:
                progress.step(n)
        return index

    @classmethod
    def from_rows(
        cls, fields: Iterable[str], rows: Iterable[Sequence[Any]], positions: Mapping[str, int]
    ) -> IdentityIndex:
        """The index of rows fetched by the caller: ``rows[i][0]`` is the CI id,
        ``[1]`` its class, ``positions[f]`` where field ``f`` (a plain column,
        ``name`` included) is. The same index :meth:`load` builds."""
        index = cls(list(fields))
        by = index.by_field
        plain = [(f, positions[f]) for f in index.fields]
        name_at = positions[NAME]
        class_of, name_of = index.class_of, index.name_of
        for row in rows:
            ci_id = row[0]
            class_of[ci_id] = row[1]
            name_of[ci_id] = row[name_at]
            for f, pos in plain:
                value = row[pos]
                if value is None:
                    continue
                k = key_of(value)
                if k is not None:
                    by[f].setdefault(k, []).append((ci_id, value))
        return index

    @classmethod
    def load_matching(
        cls,
        session: Session,
        meta: Metamodel,
        wanted: Mapping[str, Collection[Hashable]],
    ) -> IdentityIndex:
        """Only the CIs that some ``wanted`` key could match (SQLite, plain text columns).

        ``wanted`` maps each field to the keys (as :func:`key_of` folds them)
        that will be looked up; the index then answers every such lookup
        exactly as :meth:`load`'s would, reading a fraction of a large CMDB.
        The database narrows the rows down with ASCII folding (``lower(trim())``)
        and passes every value that folding could miss (anything outside
        printable ASCII, runs of spaces); the exact comparison happens here.
        """
        index = cls(list(wanted))
        attrs = meta.all_attribute_keys
        columns: list[tuple[str, str]] = []
        for f in index.fields:
            column = "name" if f == NAME else attrs[f].column
            assert column is not None, f
            columns.append((f, column))
        keys = {f: sorted(str(k) for k in wanted.get(f, ()) if k is not None) for f in index.fields}
        sets = {f: set(keys[f]) for f in index.fields}
        by_column = {column: keys[f] for f, column in columns}
        by = index.by_field
        for row in rows_with_folded_keys(session, [c for _, c in columns], by_column):
            ci_id = row[0]
            hit = False
            for pos, (f, _) in enumerate(columns, start=2):
                value = row[pos]
                k = key_of(value) if value is not None else None
                if k is not None and k in sets[f]:
                    by[f].setdefault(k, []).append((ci_id, value))
                    hit = True
            if hit:
                index.class_of[ci_id] = row[1]
                index.name_of[ci_id] = row[2]
        return index

    def lookup(self, field_: str, value: Any) -> list[tuple[int, Any]]:
        k = key_of(value)
        if k is None:
            return []
        return self.by_field.get(field_, {}).get(k, [])

    def add(self, ci_id: int, class_id: int, values: Mapping[str, Any]) -> None:
        """Index a CI created after loading (keeps a long-lived index current)."""
        self.class_of[ci_id] = class_id
        if values.get(NAME) is not None:
            self.name_of[ci_id] = values[NAME]
        for f in self.fields:
            k = key_of(values.get(f))
            if k is not None:
                self.by_field[f].setdefault(k, []).append((ci_id, values[f]))


def fields_for(meta: Metamodel, keys: Sequence[Sequence[str]] | None = None) -> list[str]:
    """Every field some identification rule (or the given keys) uses."""
    out: list[str] = [NAME]
    for info in meta.classes:
        for rule in meta.identification(info).rules:
            out.extend(f for f in rule if f not in out)
    for key_rule in keys or ():
        out.extend(f for f in key_rule if f not in out)
    return out


class Matcher:
    """Applies identification rules (PRODUCT.md §3, or ranked ``keys``) to rows.

    ``match(info, values)`` takes the row's class (None when the row has
    none: then every class is one identity space and the Hardware rules
    serial → asset tag → name apply) and its typed values by attribute key
    (plus ``"name"``).
    """

    def __init__(
        self,
        meta: Metamodel,
        index: IdentityIndex,
        keys: Sequence[Sequence[str]] | None = None,
    ) -> None:
        self.meta = meta
        self.index = index
        self.keys = tuple(tuple(k) for k in keys) if keys else None
        self._ident: dict[int | None, Identification] = {}
        self._base: dict[int, Identification] = {}
        self._all = frozenset(c.id for c in meta.classes)

    def identification(self, info: ClassInfo | None) -> Identification:
        """The rules and identity space for rows of class ``info`` (cached)."""
        key = info.id if info is not None else None
        ident = self._ident.get(key)
        if ident is None:
            if info is None:
                hardware = self.meta.find_class(HARDWARE_CLASS)
                rules = (
                    self.meta.identification(hardware).rules if hardware is not None else ((NAME,),)
                )
                ident = Identification(self.keys or rules, self._all)
            else:
                base = self.meta.identification(info)
                ident = Identification(self.keys or base.rules, base.class_ids)
            self._ident[key] = ident
        return ident

    def decisive_rule(
        self, info: ClassInfo | None, values: Mapping[str, Any]
    ) -> tuple[str, ...] | None:
        """The first rule whose values are all present in the row."""
        for rule in self.identification(info).rules:
            if all(key_of(values.get(f)) is not None for f in rule):
                return rule
        return None

    def candidates(
        self, rule: Sequence[str], values: Mapping[str, Any], space: Collection[int]
    ) -> tuple[int, ...]:
        """CIs of ``space`` whose values equal the row's for every field of ``rule``."""
        found: dict[int, int] | None = None
        for f in rule:
            hits = self.index.lookup(f, values.get(f))
            exact = values.get(f)
            ids: dict[int, int] = {}
            for ci_id, stored in hits:
                if self.index.class_of.get(ci_id) in space:
                    ids[ci_id] = ids.get(ci_id, 0) + (1 if stored == exact else 0)
            if found is None:
                found = ids
            else:
                found = {i: found[i] + ids[i] for i in found if i in ids}
            if not found:
                return ()
        if not found:
            return ()
        if len(found) > 1:
            best = max(found.values())
            exact_ones = [i for i, score in found.items() if score == best]
            if best == len(rule) and len(exact_ones) == 1:
                return (exact_ones[0],)
        return tuple(sorted(found))

    def match(self, info: ClassInfo | None, values: Mapping[str, Any]) -> Match:
        rule = self.decisive_rule(info, values)
        if rule is None:
            return Match(None, None)
        cands = self.candidates(rule, values, self.identification(info).class_ids)
        return Match(cands[0] if len(cands) == 1 else None, rule, cands)

    def identity_conflicts(
        self,
        schema: ClassSchema,
        values: Mapping[str, Any],
        claims: Sequence[Sequence[str]],
        ci_id: int | None,
    ) -> list[tuple[tuple[str, ...], int]]:
        """Other CIs already holding identity keys this row claims
        (:meth:`~cmdb_desktop.schema.ClassSchema.identity_claims`): the rule the
        item service checks against the database, here against the index."""
        out = []
        by_field = self.index.by_field
        space = schema.identification.class_ids
        for rule in claims:
            if not all(by_field.get(f) for f in rule):
                continue  # no CI has any value for it yet: nothing to clash with
            for other in self.candidates(rule, values, space):
                if other != ci_id:
                    out.append((tuple(rule), other))
                    break
        return out


@dataclass
class DuplicateTracker:
    """Rows of one file that claim the same identity.

    ``claim(space, rule, values, ref)`` registers a row's key (``ref`` is any
    int that identifies the row, e.g. its position in the plan); rows sharing
    a key are duplicates — all of them, not just the later ones: which one is
    right is the user's call. ``claim_ci`` does the same for rows matched to
    one existing CI through different rules.
    """

    _keys: dict[tuple[Any, ...], list[int]] = field(default_factory=dict)

    def claim(
        self,
        space: frozenset[int],
        rule: Sequence[str],
        values: Mapping[str, Any],
        ref: int,
    ) -> None:
        if len(rule) == 1:
            folded: tuple[Any, ...] = (key_of(values.get(rule[0])),)
        else:
            folded = tuple([key_of(values.get(f)) for f in rule])
        key = (space, tuple(rule), folded)
        self._keys.setdefault(key, []).append(ref)

    def claim_ci(self, ci_id: int, ref: int) -> None:
        self._keys.setdefault(("ci", ci_id), []).append(ref)

    def duplicates(self) -> dict[int, list[int]]:
        """Ref → the other refs that identify the same CI (only refs with duplicates)."""
        out: dict[int, set[int]] = {}
        for rows in self._keys.values():
            unique = sorted(set(rows))
            if len(unique) > 1:
                for r in unique:
                    out.setdefault(r, set()).update(x for x in unique if x != r)
        return {r: sorted(others) for r, others in out.items()}
