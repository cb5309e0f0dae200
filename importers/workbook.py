"""The canonical workbook: what export writes and import reads with no mapping.

* Sheet ``CIs``: ``Name``, ``Class``, then one column per attribute, headed
  by its label (``Status``, ``Criticality``, ``Serial Number``,
  ``Redundancy (min up)``, ``Redundancy (min up %)``, custom attributes…).
* Sheet ``Relationships``: ``Source``, ``Type``, ``Target``, ``Source Class``,
  ``Target Class``. Source and Target name CIs; the class columns
  disambiguate names that several CIs share. A reverse type name
  (``Used by``) is accepted and flips the direction.
* A sheet holds at most 1,048,575 data rows (the format's limit), and an
  export keeps each sheet within the cells the importer reads at once
  (:data:`importers.untrusted.MAX_RANGE_CELLS`); longer tables continue on
  ``CIs 2``, ``CIs 3``… and ``Relationships 2``…, and import reads those as
  part of the same table.
* An exported ``CIs`` sheet ends with an ``ID`` column. Import uses it only
  as a tie-breaker when a row's keys fit several CIs (a double
  registration), never to match on its own: ids mean nothing in another CMDB.
* Columns that map to no attribute are ignored with a warning, never an
  error. Hidden sheets (such as the drop-down lists of a template) are not
  imported.

Exporting then re-importing an unedited workbook changes nothing: every value
is written in a form that reads back equal (dates as dates, numbers as
numbers, references to other CIs as ``Class/Name``), and text that a
spreadsheet program would evaluate is stored quoted (:mod:`importers.cells`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from cmdb_desktop.metamodel import AttributeInfo, ClassInfo, Metamodel

CIS_SHEET = "CIs"
RELATIONSHIPS_SHEET = "Relationships"
LISTS_SHEET = "Lists"
#: The data model (classes, attributes, relationship types): importers.model_sheet.
MODEL_SHEET = "Model"
NAME_HEADER = "Name"
CLASS_HEADER = "Class"
#: Last column of an exported CIs sheet: the CI's id, used only to tell apart
#: CIs that share their identification keys (never to match on its own).
ID_HEADER = "ID"
RELATIONSHIP_HEADERS = ("Source", "Type", "Target", "Source Class", "Target Class")
#: Data rows per sheet: the format's 1,048,576 rows minus the header.
MAX_DATA_ROWS = 1_048_575

KIND_CIS = "cis"
KIND_RELATIONSHIPS = "relationships"

_ROLE = re.compile(r"^\s*(cis|relationships)(?:\s*\(?\s*(\d+)\s*\)?)?\s*$", re.IGNORECASE)


def sheet_role(name: str) -> str | None:
    """ "cis" or "relationships" for a canonical sheet name (continuations too), else None.

    >>> sheet_role("CIs"), sheet_role("Relationships 2"), sheet_role("Notes")
    ('cis', 'relationships', None)
    """
    m = _ROLE.match(name)
    if not m:
        return None
    return KIND_CIS if m.group(1).casefold() == "cis" else KIND_RELATIONSHIPS


def sheet_name(base: str, part: int) -> str:
    """The name of the ``part``-th sheet (1-based) of a table: ``CIs``, ``CIs 2``…"""
    return base if part == 1 else f"{base} {part}"


def ci_attributes(
    meta: Metamodel, classes: Iterable[ClassInfo] | None = None
) -> list[AttributeInfo]:
    """The attribute columns of the CIs sheet, in order: common attributes first,
    then those of subclasses in class-tree order; one column per attribute key."""
    infos = list(classes) if classes is not None else [c for c in meta.classes if not c.abstract]
    seen: set[str] = set()
    out: list[AttributeInfo] = []
    for info in _tree_order(meta, infos):
        for attr in meta.attributes_of(info):
            if attr.key not in seen:
                seen.add(attr.key)
                out.append(attr)
    return out


def _tree_order(meta: Metamodel, infos: list[ClassInfo]) -> list[ClassInfo]:
    wanted = {c.id for c in infos}
    ordered = [c for c in meta.descendants(meta.root) if c.id in wanted]
    ordered += [c for c in infos if c not in ordered]
    return ordered


def ci_headers(meta: Metamodel, classes: Iterable[ClassInfo] | None = None) -> list[str]:
    return [NAME_HEADER, CLASS_HEADER, *(a.label for a in ci_attributes(meta, classes))]


def concrete_classes(meta: Metamodel, under: ClassInfo | None = None) -> list[ClassInfo]:
    """Classes that can hold CIs (below ``under``, or all), in tree order."""
    root = under or meta.root
    return [c for c in meta.descendants(root) if not c.abstract]


def relationship_type_names(meta: Metamodel) -> list[str]:
    """Forward then reverse names of every relationship type (what a Type cell may say)."""
    forward = [t.name for t in meta.relationship_types]
    reverse = [t.reverse_name for t in meta.relationship_types]
    return forward + reverse
