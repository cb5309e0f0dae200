"""Time travel of the data model (PRODUCT.md §11): the catalogue as it was.

:class:`Catalogue` holds the rows of the catalogue's tables (classes,
attribute definitions, relationship types) of a private copy and undoes model
history records on them, newest first, while :mod:`cmdb_desktop.asof` undoes
the CI and relationship records in the same walk — so a name in any record is
resolved against the catalogue of the moment it was written (a class renamed
since, a relationship type deleted since). The changed rows are written back
by :func:`cmdb_desktop.asof_store.rewind_catalogue`.

What each record undoes (records are grouped by request, part, name and
action, as :meth:`cmdb_desktop.history.HistoryWriter.model_changed` writes
them):

* a creation removes the class, attribute or relationship type (and, for an
  attribute, its key from the rules of the classes that named it);
* an update puts every recorded property's old value back (class: name,
  parent, flags, icon, description, required, recommended, identification,
  identity scope, defaults; attribute: label, type, choices, range,
  description, required and default per class; relationship type: names,
  impact, description);
* a deletion re-creates what it removed from its snapshot (the record without
  a field that deletions carry since time travel reads the model) with the
  same ids; an older deletion without one is re-created from its property
  records as far as they go (a class with its parent and its attributes as
  text, an attribute with its label and type, a type with its names and
  impact).

Lifecycle rules are not recorded in the history and stay as they are now.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable
from typing import Any

from cmdb_desktop.asof_store import Record
from cmdb_desktop.classes import key_from_label
from cmdb_desktop.errors import CmdbError
from cmdb_desktop.metamodel import AttributeInfo, normalise_label
from cmdb_desktop.values import coerce, to_json
from cmdb_desktop.vocabulary import Action, ModelPart

Rows = dict[int, dict[str, Any]]
CLASSES, ATTRIBUTES, TYPES = "ci_class", "attribute_def", "relationship_type"
_RULE_FIELDS = ("required_fields", "recommended_fields", "id_rules", "defaults")


def _flag(text: str | None) -> bool:
    return (text or "").strip().casefold() in ("yes", "true", "1")


def _names(text: str | None) -> list[str]:
    return [k.strip() for k in (text or "").split(", ") if k.strip()]


def _literal(text: str | None) -> Any:
    if not text:
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None


def _id_rules(text: str | None) -> list[list[str]] | None:
    """Identification as recorded: ``a+b | c`` (class manager) or a list (Model sheet)."""
    if not text:
        return None
    if text.lstrip().startswith("["):
        found = _literal(text)
        return [list(r) for r in found] if isinstance(found, list) and found else None
    return [[k.strip() for k in rule.split("+") if k.strip()] for rule in text.split(" | ")]


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


class Catalogue:
    """The catalogue rows of a CMDB, rewound record by record (see the module)."""

    def __init__(self, rows: dict[str, Rows]) -> None:
        self.now = rows
        self.rows: dict[str, Rows] = {
            t: {i: dict(r) for i, r in rs.items()} for t, rs in rows.items()
        }
        self._templates = {t: dict.fromkeys(next(iter(rs.values()), {})) for t, rs in rows.items()}
        self._next = {t: max(rs, default=0) + 1 for t, rs in rows.items()}
        self._undone: set[tuple[Any, ...]] = set()
        self.changed = False
        self._class_names: dict[str, int] | None = None
        self._type_names: dict[str, int] | None = None

    @property
    def classes(self) -> Rows:
        return self.rows[CLASSES]

    @property
    def attributes(self) -> Rows:
        return self.rows[ATTRIBUTES]

    @property
    def types(self) -> Rows:
        return self.rows[TYPES]

    # -- names as of the walk -------------------------------------------------
    def class_id(self, name: str | None) -> int | None:
        """The class named ``name`` in the catalogue as rewound so far."""
        if not name:
            return None
        if self._class_names is None:
            self._class_names = {r["name"].casefold(): i for i, r in self.classes.items()}
        return self._class_names.get(name.casefold())

    def type_id(self, name: str | None) -> int | None:
        """The relationship type read forward or backward as ``name``."""
        if not name:
            return None
        if self._type_names is None:
            self._type_names = {
                normalise_label(r[k]): i
                for i, r in self.types.items()
                for k in ("reverse_name", "name")
            }
        return self._type_names.get(normalise_label(name))

    def _attribute_id(self, class_id: int | None, key: str) -> int | None:
        return next(
            (
                i
                for i, r in self.attributes.items()
                if r["class_id"] == class_id and r["key"] == key
            ),
            None,
        )

    def _subtree(self, class_id: int) -> list[int]:
        out, todo = [], [class_id]
        while todo:
            cid = todo.pop()
            out.append(cid)
            todo.extend(i for i, r in self.classes.items() if r["parent_id"] == cid)
        return out

    def _put(self, table: str, row: dict[str, Any]) -> int:
        """Insert ``row`` under its own id when that is free, else a new one; the id."""
        rows = self.rows[table]
        wanted = row.get("id")
        if not isinstance(wanted, int) or wanted in rows:
            wanted = max(self._next[table], max(rows, default=0) + 1)
        self._next[table] = max(self._next[table], wanted + 1)
        full = {
            **self._templates[table],
            **{k: v for k, v in row.items() if k in self._templates[table]},
        }
        full["id"] = wanted
        rows[wanted] = full
        return wanted

    def gone(self, table: str) -> list[int]:
        """Ids of ``table`` rows that exist now and did not then."""
        return sorted(set(self.now[table]) - set(self.rows[table]))

    def make_consistent(self) -> None:
        """Mend what an incomplete history (a deletion recorded without its
        definition) can leave: a class under a parent that did not come back goes
        under the root, an attribute of a class that did not goes, a reference to
        one points nowhere."""
        root = next((i for i, r in self.classes.items() if r["parent_id"] is None), None)
        for i, row in self.classes.items():
            if row["parent_id"] is not None and row["parent_id"] not in self.classes:
                row["parent_id"] = root if root != i else None
        for i in [i for i, a in self.attributes.items() if a["class_id"] not in self.classes]:
            del self.attributes[i]
        for row in self.attributes.values():
            if (
                row["reference_class_id"] is not None
                and row["reference_class_id"] not in self.classes
            ):
                row["reference_class_id"] = None

    # -- undoing --------------------------------------------------------------
    def undo(self, rec: Record, group: Iterable[Record]) -> None:
        """Undo the model change ``rec`` belongs to (``group``: all its records), once."""
        key = (rec.request_id, rec.ci_class, rec.ci_name, rec.action)
        if key in self._undone:
            return
        self._undone.add(key)
        self._class_names = self._type_names = None  # names may change below
        records = list(group)
        changes = {r.field: (r.old_value, r.new_value) for r in records if r.field is not None}
        definition: dict[str, Any] = {}
        for r in records:
            if r.field is None and r.old_value:
                try:
                    found = json.loads(r.old_value)
                except ValueError:
                    continue
                definition = found if isinstance(found, dict) else {}
        name = rec.ci_name or ""
        part = rec.ci_class
        self.changed = True
        if part == ModelPart.CLASS:
            self._undo_class(rec.action, name, changes, definition)
        elif part == ModelPart.ATTRIBUTE:
            self._undo_attribute(rec.action, name, changes, definition)
        elif part == ModelPart.RELATIONSHIP_TYPE:
            self._undo_type(rec.action, name, changes, definition)

    def _undo_class(
        self,
        action: str,
        name: str,
        changes: dict[str, tuple[Any, Any]],
        definition: dict[str, Any],
    ) -> None:
        if action == Action.CREATE:
            cid = self.class_id(name)
            if cid is not None:
                del self.classes[cid]
                for aid in [i for i, a in self.attributes.items() if a["class_id"] == cid]:
                    del self.attributes[aid]
            return
        if action == Action.DELETE:
            if "class" in definition:
                cid = self._put(CLASSES, definition["class"])
                for attr in definition.get("attributes") or ():
                    self._put(ATTRIBUTES, {**attr, "class_id": cid})
                return
            parent = self.class_id((changes.get("parent") or (None, None))[0])
            cid = self._put(
                CLASSES,
                {
                    "name": name,
                    "parent_id": parent,
                    "abstract": False,
                    "service": False,
                    "icon": self.classes[parent]["icon"] if parent in self.classes else "",
                    "description": "",
                    "required_fields": [],
                    "recommended_fields": [],
                    "expects_relationships": True,
                    "builtin": False,
                },
            )
            for n, label in enumerate(_names((changes.get("attributes") or (None, None))[0])):
                self._put(
                    ATTRIBUTES, self._new_attribute(cid, key_from_label(label), label, "text", n)
                )
            return
        new_name = changes.get("name", (None, name))[1]
        cid = self.class_id(new_name)
        if cid is None:
            return
        row = self.classes[cid]
        for field, (old, _new) in changes.items():
            if field == "name" and old:
                row["name"] = old
            elif field == "parent":
                row["parent_id"] = self.class_id(old)
            elif field in ("description", "icon"):
                row[field] = old or ""
            elif field in ("service", "abstract"):
                row[field] = _flag(old)
            elif field == "expects relationships":
                row["expects_relationships"] = _flag(old)
            elif field in ("required", "recommended"):
                row[f"{field}_fields"] = _names(old)
            elif field == "identification":
                row["id_rules"] = _id_rules(old)
            elif field == "identity scope":
                row["identity_scope"] = old or None
            elif field in ("defaults", "lifecycle"):
                found = _literal(old)
                row[field] = found if isinstance(found, dict) and found else None

    def _new_attribute(self, cid: int, key: str, label: str, type_: str, n: int) -> dict[str, Any]:
        own = sum(1 for a in self.attributes.values() if a["class_id"] == cid)
        return {
            "class_id": cid,
            "key": key,
            "label": label,
            "type": type_ or "text",
            "position": 100 + own + n,
            "description": "",
            "builtin": False,
        }

    def _undo_attribute(
        self,
        action: str,
        name: str,
        changes: dict[str, tuple[Any, Any]],
        definition: dict[str, Any],
    ) -> None:
        class_name, _, key = name.rpartition(".")
        cid = self.class_id(class_name)
        if cid is None:
            return
        aid = self._attribute_id(cid, key)
        if action == Action.CREATE:
            if aid is not None:
                del self.attributes[aid]
            for c in self._subtree(cid):
                self._strip(self.classes[c], key)
            return
        if action == Action.DELETE:
            if "attribute" in definition:
                self._put(ATTRIBUTES, {**definition["attribute"], "class_id": cid})
                for class_id, rules in (definition.get("classes") or {}).items():
                    row = self.classes.get(int(class_id))
                    if row is not None:
                        row.update({f: rules.get(f) for f in _RULE_FIELDS if f in rules})
                return
            if aid is None:
                label = (changes.get("label") or (key, None))[0] or key
                type_ = (changes.get("type") or ("text", None))[0] or "text"
                self._put(ATTRIBUTES, self._new_attribute(cid, key, label, type_, 0))
            return
        if aid is None:
            return
        row = self.attributes[aid]
        for field, (old, _new) in changes.items():
            if field == "label" and old:
                row["label"] = old
            elif field == "type" and old:
                row["type"] = old
            elif field == "choices":
                row["choices"] = _names(old) if old is not None else None
            elif field == "minimum":
                row["min_value"] = _number(old)
            elif field == "maximum":
                row["max_value"] = _number(old)
            elif field == "description":
                row["description"] = old or ""
        for field, (old, _new) in changes.items():
            where, _, class_name = field.partition(" in ")
            target = self.classes.get(self.class_id(class_name) or -1) if class_name else None
            if target is None:
                continue
            if where == "required":
                own = [k for k in target["required_fields"] or () if k != key]
                target["required_fields"] = [*own, key] if _flag(old) else own
            elif where == "default":
                defaults = dict(target["defaults"] or {})
                defaults.pop(key, None)
                if old is not None:
                    defaults[key] = self._default(row, old)
                target["defaults"] = defaults or None

    @staticmethod
    def _default(row: dict[str, Any], text: str) -> Any:
        """A default value as recorded (text), in the form the class stores it."""
        info = AttributeInfo(
            row["id"], row["class_id"], row["key"], row["label"], row["type"], row["column"],
            tuple(row["choices"]) if row["choices"] is not None else None,
            row["reference_class_id"], row["min_value"], row["max_value"], row["position"],
            row["description"] or "", bool(row["builtin"]),
        )  # fmt: skip
        try:
            return to_json(coerce(info, text))
        except (CmdbError, ValueError, TypeError):
            return text

    @staticmethod
    def _strip(row: dict[str, Any], key: str) -> None:
        """Take attribute ``key`` out of a class's rules (it did not exist yet)."""
        for field in ("required_fields", "recommended_fields"):
            if key in (row[field] or ()):
                row[field] = [k for k in row[field] if k != key]
        if row["id_rules"] and any(key in r for r in row["id_rules"]):
            row["id_rules"] = [r for r in row["id_rules"] if key not in r] or None
        if row["defaults"] and key in row["defaults"]:
            row["defaults"] = {k: v for k, v in row["defaults"].items() if k != key} or None

    def _undo_type(
        self,
        action: str,
        name: str,
        changes: dict[str, tuple[Any, Any]],
        definition: dict[str, Any],
    ) -> None:
        if action == Action.CREATE:
            tid = self.type_id(name)
            if tid is not None:
                del self.types[tid]
            return
        if action == Action.DELETE:
            if "relationship type" in definition:
                self._put(TYPES, definition["relationship type"])
                return
            self._put(
                TYPES,
                {
                    "name": name,
                    "reverse_name": (changes.get("reverse name") or (None, None))[0] or name,
                    "impact": (changes.get("impact") or (None, None))[0] or "none",
                    "description": "",
                    "builtin": False,
                },
            )
            return
        tid = self.type_id(changes.get("name", (None, name))[1])
        if tid is None:
            return
        row = self.types[tid]
        for field, (old, _new) in changes.items():
            if field == "name" and old:
                row["name"] = old
            elif field == "reverse name" and old:
                row["reverse_name"] = old
            elif field == "impact" and old:
                row["impact"] = old
            elif field == "description":
                row["description"] = old or ""
