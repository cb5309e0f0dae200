"""Column → attribute mappings: suggestions, editable profiles, and per-cell coercion.

A :class:`ImportMapping` says, for each sheet of a file, whether it holds CIs
or relationships and what each column means::

    >>> m = ColumnMap("S/N", "serial_number")
    >>> m.to_json()["target"], m.blank
    ('serial_number', 'ignore')

* **Suggestions** come from header names: attribute keys and labels of the
  catalogue (case-, space- and punctuation-insensitive) and a list of
  synonyms people use ("Serial", "S/N", "Hostname" → Name…). One target is
  suggested for at most one column of a sheet (the best match wins); the
  rest stay unmapped and are reported as warnings, never errors.
* **Editing**: every field is plain data; the GUI changes ``target``,
  ``blank`` ("ignore": a blank cell leaves the CI's value alone; "clear": it
  clears it), ``values`` (translations such as "Ready to Deploy" → "In
  Stock") and ``date_order`` ("DMY"/"MDY" for 03/04/2024).
* **Profiles** are the same objects as JSON: saved as files
  (:meth:`ImportMapping.save` / :meth:`ImportMapping.load`) or in the CMDB
  (:func:`save_profile` / :func:`load_profile`, saved-item kind "mapping").
  :func:`apply_profile` lays a profile over a new file: columns are found by
  header, new columns get suggestions.
* **Coercion** turns cells into typed values with :mod:`cmdb_desktop.values`
  semantics, via fast per-column converters (:func:`converter`). A converter
  returns :data:`BLANK` for blank cells and raises ValueError with a message
  a user can act on; the caller adds sheet, row and column.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmdb_desktop.attribute_types import Converter, DateOrder, type_of
from cmdb_desktop.errors import BadFileError, NotFoundError, ValidationError
from cmdb_desktop.metamodel import AttributeInfo, Metamodel, normalise_label
from cmdb_desktop.values import infer_date_order
from cmdb_desktop.vocabulary import BlankRule
from importers.readers import Table, require_regular_file
from importers.workbook import KIND_CIS, KIND_RELATIONSHIPS, sheet_role

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb

KIND_SKIP = "skip"
SHEET_KINDS = (KIND_CIS, KIND_RELATIONSHIPS, KIND_SKIP)

BLANK_IGNORE = BlankRule.IGNORE.value
BLANK_CLEAR = BlankRule.CLEAR.value
BLANK_RULES = (BLANK_IGNORE, BLANK_CLEAR)

#: Largest mapping profile file read (a profile is a few kilobytes of JSON).
MAX_PROFILE_BYTES = 16 * 1024 * 1024

NAME = "name"
CLASS = "class"
#: The CI id column of an export: only a tie-breaker between CIs that share their keys.
ID = "id"
#: Targets of a relationships sheet.
SOURCE, TYPE, TARGET, SOURCE_CLASS, TARGET_CLASS = (
    "source",
    "type",
    "target",
    "source_class",
    "target_class",
)
RELATIONSHIP_TARGETS = (SOURCE, TYPE, TARGET, SOURCE_CLASS, TARGET_CLASS)
RELATIONSHIP_LABELS = {
    SOURCE: "Source",
    TYPE: "Type",
    TARGET: "Target",
    SOURCE_CLASS: "Source Class",
    TARGET_CLASS: "Target Class",
}

PROFILE_VERSION = 1


#: What people write in headers, by target (normalised with ``normalise_label``).
CI_SYNONYMS: dict[str, tuple[str, ...]] = {
    NAME: (
        "name",
        "ciname",
        "hostname",
        "host",
        "hostnames",
        "devicename",
        "device",
        "servername",
        "computername",
        "itemname",
        "assetname",
        "displayname",
        "nodename",
    ),
    CLASS: ("class", "ciclass", "classname", "citype", "configurationitemclass"),
    ID: ("id", "ciid", "cmdbid"),
    "serial_number": (
        "serialnumber",
        "serial",
        "sn",
        "serialno",
        "serialnum",
        "servicetag",
        "snnumber",
    ),
    "asset_tag": (
        "assettag",
        "asset",
        "assetid",
        "assetnumber",
        "assetno",
        "barcode",
        "inventorynumber",
        "inventoryno",
        "tag",
    ),
    "manufacturer": ("manufacturer", "make", "brand", "mfr", "manufacturername"),
    "model": ("model", "modelname", "productname"),
    "status": ("status", "state", "lifecycle", "lifecyclestatus", "installstatus"),
    "environment": ("environment", "env", "stage"),
    "criticality": ("criticality", "businesscriticality", "tier", "businesscriticity"),
    "owner": ("owner", "ownedby", "businessowner", "manager"),
    "support_group": ("supportgroup", "assignmentgroup", "supportteam", "team"),
    "description": ("description", "notes", "comments", "remarks", "assetnotes", "comment"),
    "tags": ("tags", "labels", "keywords"),
    "last_verified": ("lastverified", "lastseen", "lastaudit", "verified", "lastinventory"),
    "purchase_date": ("purchasedate", "purchased", "orderdate", "acquired", "dateofpurchase"),
    "cost": ("cost", "purchasecost", "price", "purchaseprice"),
    "warranty_end": (
        "warrantyend",
        "warrantyexpires",
        "warrantyexpiration",
        "warrantyenddate",
        "warrantyuntil",
        "warrantyexpirationdate",
    ),
    "assigned_to": (
        "assignedto",
        "checkedouttousername",
        "user",
        "username",
        "checkedoutto",
        "assignee",
        "usedby",
        "fullname",
    ),
    "end_of_life": ("endoflife", "eol", "eoldate", "asseteoldate", "retirementdate"),
    "software_version": ("version", "softwareversion", "release", "firmwareversion"),
    "vendor": ("vendor", "publisher"),
    "redundancy_min_up": ("redundancyminup", "minup"),
    "redundancy_min_up_pct": ("redundancyminup%", "minup%", "redundancyminuppct"),
}

RELATIONSHIP_SYNONYMS: dict[str, tuple[str, ...]] = {
    SOURCE: ("source", "from", "sourcename", "sourceci", "fromci", "parent"),
    TYPE: ("type", "relationship", "relation", "relationshiptype", "reltype", "linktype"),
    TARGET: ("target", "to", "targetname", "targetci", "toci", "child"),
    SOURCE_CLASS: ("sourceclass", "fromclass", "sourceciclass"),
    TARGET_CLASS: ("targetclass", "toclass", "targetciclass"),
}

_RELATIONSHIP_SHEETS = {"relationships", "relationship", "relations", "links", "dependencies"}


@dataclass
class ColumnMap:
    """What one column means. ``target`` None means the column is ignored."""

    column: str
    target: str | None
    blank: str = BLANK_IGNORE
    values: dict[str, str] = field(default_factory=dict)
    date_order: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"column": self.column, "target": self.target, "blank": self.blank}
        if self.values:
            data["values"] = dict(self.values)
        if self.date_order:
            data["date_order"] = self.date_order
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ColumnMap:
        blank = data.get("blank", BLANK_IGNORE)
        if blank not in BLANK_RULES:
            raise ValidationError(
                f"Column {data.get('column')!r}: blank rule must be ignore or clear, not {blank!r}."
            )
        order = data.get("date_order")
        if order not in (None, "DMY", "MDY"):
            raise ValidationError(
                f"Column {data.get('column')!r}: date order must be DMY or MDY, not {order!r}."
            )
        return cls(
            column=str(data["column"]),
            target=data.get("target"),
            blank=blank,
            values={str(k): str(v) for k, v in (data.get("values") or {}).items()},
            date_order=order,
        )


@dataclass
class SheetMapping:
    """How one sheet is read: CIs, relationships or skipped; one ColumnMap per column."""

    sheet: str
    kind: str
    columns: list[ColumnMap] = field(default_factory=list)
    header_row: int | None = None
    default_class: str | None = None

    def column(self, header: str) -> ColumnMap | None:
        wanted = header.casefold()
        return next((c for c in self.columns if c.column.casefold() == wanted), None)

    def target_column(self, target: str) -> ColumnMap | None:
        return next((c for c in self.columns if c.target == target), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "kind": self.kind,
            "header_row": self.header_row,
            "default_class": self.default_class,
            "columns": [c.to_json() for c in self.columns],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SheetMapping:
        kind = data.get("kind", KIND_CIS)
        if kind not in SHEET_KINDS:
            raise ValidationError(f"Sheet {data.get('sheet')!r}: unknown kind {kind!r}.")
        return cls(
            sheet=str(data["sheet"]),
            kind=kind,
            columns=[ColumnMap.from_json(c) for c in data.get("columns", [])],
            header_row=data.get("header_row"),
            default_class=data.get("default_class"),
        )


@dataclass
class ImportMapping:
    """A whole mapping profile: sheets, ranked identification keys, defaults.

    ``keys`` (ranked rules such as ``[["serial_number"], ["name"]]``) replace
    the identification rules of PRODUCT.md §3 for this import; ``defaults``
    fill attributes of *created* CIs the file leaves blank (e.g. a status).
    """

    sheets: list[SheetMapping] = field(default_factory=list)
    keys: list[list[str]] | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    blank: str = BLANK_IGNORE
    #: How a sheet read later is mapped (set by importers.plan.suggest_mapping; not saved).
    late: Callable[[Table], SheetMapping] | None = field(default=None, repr=False, compare=False)

    def sheet(self, name: str) -> SheetMapping | None:
        wanted = name.casefold()
        return next((s for s in self.sheets if s.sheet.casefold() == wanted), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": PROFILE_VERSION,
            "sheets": [s.to_json() for s in self.sheets],
            "keys": [list(k) for k in self.keys] if self.keys else None,
            "defaults": dict(self.defaults),
            "blank": self.blank,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImportMapping:
        if not isinstance(data, dict) or "sheets" not in data:
            raise ValidationError("Not a mapping profile: it has no 'sheets'.")
        if int(data.get("version", PROFILE_VERSION)) > PROFILE_VERSION:
            raise ValidationError("This mapping profile was written by a newer version.")
        keys = data.get("keys")
        blank = data.get("blank", BLANK_IGNORE)
        if blank not in BLANK_RULES:
            raise ValidationError(f"Blank rule must be ignore or clear, not {blank!r}.")
        return cls(
            sheets=[SheetMapping.from_json(s) for s in data["sheets"]],
            keys=[list(map(str, k)) for k in keys] if keys else None,
            defaults=dict(data.get("defaults") or {}),
            blank=blank,
        )

    def save(self, path: str | Path) -> Path:
        out = Path(path)
        out.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False), encoding="utf-8")
        return out

    @classmethod
    def load(cls, path: str | Path) -> ImportMapping:
        p = Path(path)
        if p.exists():
            require_regular_file(p)  # a FIFO would block the read forever
            if p.stat().st_size > MAX_PROFILE_BYTES:
                raise BadFileError(
                    f"{p.name} is {p.stat().st_size:,} bytes: too large for a mapping profile "
                    f"(at most {MAX_PROFILE_BYTES:,})."
                )
        try:
            data = json.loads(p.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise BadFileError(f"No mapping file {p}.") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadFileError(f"{p.name} is not a mapping profile (JSON): {exc}.") from None
        try:
            return cls.from_json(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise BadFileError(f"{p.name} is not a valid mapping profile: {exc}.") from None


def save_profile(cmdb: Cmdb, name: str, mapping: ImportMapping) -> None:
    """Store a profile in the CMDB (saved items of kind "mapping")."""
    cmdb.saved.save("mapping", name, mapping.to_json())


def load_profile(cmdb: Cmdb, name: str) -> ImportMapping:
    return ImportMapping.from_json(cmdb.saved.load("mapping", name))


def profile_names(cmdb: Cmdb) -> list[str]:
    return cmdb.saved.names("mapping")


def load_mapping(cmdb: Cmdb, spec: str) -> ImportMapping:
    """A mapping given as a JSON file path, or else as the name of a saved profile."""
    path = Path(spec).expanduser()
    if path.exists() or path.suffix.lower() == ".json":
        return ImportMapping.load(path)
    try:
        return load_profile(cmdb, spec)
    except NotFoundError:
        raise BadFileError(
            f"No mapping file {spec!r} and no saved mapping profile of that name."
        ) from None


# -- suggestions ------------------------------------------------------------------


# The last catalogue's labels: suggest_target runs once per header cell, and a
# sheet may have 100,000 columns (a hostile file), each tried as a header.
_labels_of: tuple[Metamodel, dict[str, str]] | None = None


def _attribute_labels(meta: Metamodel) -> dict[str, str]:
    """normalised key/label → attribute key, over every class (cached per catalogue)."""
    global _labels_of
    cached = _labels_of
    if cached is not None and cached[0] is meta:
        return cached[1]
    out: dict[str, str] = {}
    for attr in meta.attributes:
        out.setdefault(normalise_label(attr.key), attr.key)
        out.setdefault(normalise_label(attr.label), attr.key)
    _labels_of = (meta, out)
    return out


def suggest_target(header: str, meta: Metamodel, kind: str = KIND_CIS) -> tuple[str | None, int]:
    """The target a header most likely means and a score (higher is surer; 0 = none).

    >>> from cmdb_desktop.metamodel import Metamodel
    >>> suggest_target("S/N", Metamodel((), (), ()))[0]
    'serial_number'
    """
    norm = normalise_label(header)
    if not norm:
        return None, 0
    if kind == KIND_RELATIONSHIPS:
        for target, words in RELATIONSHIP_SYNONYMS.items():
            if norm in words:
                return target, 100 - words.index(norm)
        return None, 0
    if norm in (NAME, CLASS, ID):
        return norm, 100
    labels = _attribute_labels(meta)
    if norm in labels:
        return labels[norm], 90
    for target, words in CI_SYNONYMS.items():
        if norm in words:
            if target in (NAME, CLASS) or target in meta.all_attribute_keys or not meta.attributes:
                return target, 60 - words.index(norm)
    return None, 0


def header_scorer(meta: Metamodel) -> Callable[[Sequence[str]], int]:
    """How many cells of a candidate header row name a known target (for header detection)."""

    def score(cells: Sequence[str]) -> int:
        n = 0
        for cell in cells:
            if suggest_target(cell, meta)[0] is not None:
                n += 1
            elif suggest_target(cell, meta, KIND_RELATIONSHIPS)[0] is not None:
                n += 1
        return n

    return score


def guess_kind(table: Table) -> str:
    """ "relationships" for a sheet named like one or with Source and Target columns."""
    role = sheet_role(table.sheet)
    if role is not None:
        return role
    if normalise_label(table.sheet) in _RELATIONSHIP_SHEETS:
        return KIND_RELATIONSHIPS
    found = {
        t for t in (suggest_target(h, _EMPTY_META, KIND_RELATIONSHIPS)[0] for h in table.headers)
    }
    has_name = any(normalise_label(h) in CI_SYNONYMS[NAME][:3] for h in table.headers)
    if {SOURCE, TARGET, TYPE} <= found and not has_name:
        return KIND_RELATIONSHIPS
    return KIND_CIS


_EMPTY_META = Metamodel((), (), ())


def suggest_sheet(
    table: Table, meta: Metamodel, kind: str | None = None, blank: str = BLANK_IGNORE
) -> SheetMapping:
    """A SheetMapping for ``table`` from its headers (each target used at most once)."""
    kind = kind or guess_kind(table)
    best: dict[str, tuple[int, str]] = {}
    for col in table.columns:
        target, score = suggest_target(col.header, meta, kind)
        if target is None:
            continue
        if target not in best or score > best[target][0]:
            best[target] = (score, col.header)
    chosen = {header: target for target, (_, header) in best.items()}
    columns = [ColumnMap(c.header, chosen.get(c.header), blank) for c in table.columns]
    return SheetMapping(table.sheet, kind, columns, header_row=table.header_row)


def apply_profile(profile: ImportMapping, table: Table, meta: Metamodel) -> SheetMapping:
    """The profile's mapping for ``table``: by sheet name, else its only sheet of that kind.

    Columns the profile knows keep its settings; new columns get suggestions.
    """
    sheet = profile.sheet(table.sheet)
    if sheet is None:
        kind = guess_kind(table)
        same_kind = [s for s in profile.sheets if s.kind == kind]
        if len(same_kind) == 1:
            sheet = same_kind[0]
    suggested = suggest_sheet(table, meta, sheet.kind if sheet else None, profile.blank)
    if sheet is None:
        return suggested
    used = {c.target for c in sheet.columns if c.target and table.column(c.column) is not None}
    columns: list[ColumnMap] = []
    for col in suggested.columns:
        known = sheet.column(col.column)
        if known is not None:
            columns.append(
                ColumnMap(
                    col.column, known.target, known.blank, dict(known.values), known.date_order
                )
            )
        else:
            target = col.target if col.target not in used else None
            columns.append(ColumnMap(col.column, target, profile.blank))
    return SheetMapping(
        table.sheet,
        sheet.kind,
        columns,
        header_row=sheet.header_row,
        default_class=sheet.default_class,
    )


def resolve_key(meta: Metamodel, text: str) -> str:
    """An identification key given as attribute key or label ("Serial Number" → serial_number)."""
    norm = normalise_label(text)
    if norm == NAME:
        return NAME
    labels = _attribute_labels(meta)
    if norm in labels:
        return labels[norm]
    for target, words in CI_SYNONYMS.items():
        if (
            norm in words
            and target not in (CLASS, ID)
            and (target == NAME or target in labels.values())
        ):
            return target
    known = ", ".join(sorted({"name", *meta.all_attribute_keys}))
    raise ValidationError(f"Unknown key {text!r}: use name or one of {known}.", {"key": text})


def parse_keys(meta: Metamodel, specs: Iterable[str]) -> list[list[str]] | None:
    """``--key serial_number --key "asset tag,name"`` → ranked rules; None for no keys."""
    rules = []
    for spec in specs:
        rule = [resolve_key(meta, part) for part in spec.split(",") if part.strip()]
        if rule:
            rules.append(rule)
    return rules or None


# -- coercion -----------------------------------------------------------------------


def is_blank_cell(raw: Any) -> bool:
    return raw is None or raw == "" or (isinstance(raw, str) and not raw.strip())


def column_date_order(values: Iterable[Any]) -> DateOrder:
    """Infer d/m order from a column's typed dates (None when nothing tells)."""
    texts = [v for v in values if isinstance(v, str) and v.strip()][:5000]
    return infer_date_order(texts) if texts else None


def converter(attr: AttributeInfo, date_order: DateOrder = None) -> Converter:
    """The attribute type's fast function raw cell → typed value (BLANK for blank
    cells), with :func:`cmdb_desktop.values.coerce` semantics and messages."""
    return type_of(attr).converter(attr, date_order)


def translate(values: dict[str, str]) -> Callable[[Any], Any]:
    """A per-column value translation (case- and space-insensitive keys)."""
    table = {" ".join(k.casefold().split()): v for k, v in values.items()}

    def apply(raw: Any) -> Any:
        if isinstance(raw, str):
            return table.get(" ".join(raw.casefold().split()), raw)
        return raw

    return apply
