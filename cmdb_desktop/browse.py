"""The queries behind the CI table: filter, sort, count, page through ids, fetch rows.

The GUI's table holds only the *ids* of the CIs a filter selects, in the
chosen order, plus a small cache of rows for what is on screen (the Anki
browser's design). Everything here is plain SQLAlchemy so the widgets never
hold SQL, and it stays fast at a million CIs:

* counting and the first page use the indexes on ``ci`` (name, class+name,
  status) and the FTS5 text index;
* :func:`iter_ids` streams every matching id straight from the DB-API cursor
  in chunks (a million ids in ~0.3 s when the order has an index), checking
  for cancellation between chunks;
* :func:`rows` fetches whole rows for a bounded set of ids by primary key.

>>> import tempfile, os
>>> from cmdb_desktop.cmdb import Cmdb
>>> with tempfile.TemporaryDirectory() as d:
...     with Cmdb.open(os.path.join(d, "x.sqlite")) as cmdb:
...         for n in ("web02", "web01", "db01"):
...             _ = cmdb.items.create("Server", {"name": n, "status": "In Use"})
...         flt = BrowseFilter(text="web")
...         ids = page_ids(cmdb, flt, BrowseSort("name"))
...         count(cmdb, flt), [rows(cmdb, ids, ["name"])[i][0] for i in ids]
(2, ['web01', 'web02'])
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, bindparam, case, func, select, text
from sqlalchemy.orm import Session

from cmdb_desktop.catalogue import DEFAULT_COLUMNS, FAMILY_COLUMNS
from cmdb_desktop.items import CI, CI_TABLE, chunks
from cmdb_desktop.metamodel import AttributeInfo, ClassInfo, Metamodel
from cmdb_desktop.progress import Progress
from cmdb_desktop.schema import field_expression, field_value

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb

#: How many ids :func:`iter_ids` hands over at a time.
ID_CHUNK = 65536

#: Columns every CI has that are not attribute definitions.
SYSTEM_COLUMNS: dict[str, tuple[str, str]] = {
    # key: (label, type)
    "id": ("ID", "id"),
    "name": ("Name", "text"),
    "class": ("Class", "class"),
    "created_at": ("Created", "timestamp"),
    "updated_at": ("Updated", "timestamp"),
    "version": ("Version", "integer"),
}


@dataclass(frozen=True)
class Column:
    """A column the table can show: a system field or an attribute of the class."""

    key: str
    label: str
    type: str
    attribute: AttributeInfo | None = None

    @property
    def is_custom(self) -> bool:
        return self.attribute is not None and self.attribute.column is None


def columns_for(meta: Metamodel, info: ClassInfo | None = None) -> list[Column]:
    """Every column that makes sense for CIs of ``info`` (and its subclasses).

    Without a class (or for the root) these are the system fields and the
    attributes every CI has. Order: name, class, the attributes as the class
    lists them, then id, created, updated, version.
    """
    info = info or meta.root
    out = [Column("name", "Name", "text"), Column("class", "Class", "class")]
    for attr in meta.attributes_of(info):
        out.append(Column(attr.key, attr.label, attr.type, attr))
    for key in ("id", "created_at", "updated_at", "version"):
        label, type_ = SYSTEM_COLUMNS[key]
        out.append(Column(key, label, type_))
    return out


def default_columns(meta: Metamodel, info: ClassInfo | None) -> list[str]:
    """What the table shows for CIs of ``info`` (None: all) before the user picks
    columns: the common ones, with the columns its family is known by after the owner."""
    head, tail = DEFAULT_COLUMNS[:6], DEFAULT_COLUMNS[6:]
    keys = list(head)
    if info is not None:
        for ancestor in meta.ancestors(info):
            keys += FAMILY_COLUMNS.get(ancestor.name, ())
    keys += tail
    available = {c.key for c in columns_for(meta, info)}
    return [k for k in dict.fromkeys(keys) if k in available]


def column_map(meta: Metamodel) -> dict[str, Column]:
    """Every column of every class by key (the first definition of a key wins)."""
    out = {c.key: c for c in columns_for(meta)}
    for key, attr in meta.all_attribute_keys.items():
        out.setdefault(key, Column(key, attr.label, attr.type, attr))
    return out


@dataclass(frozen=True)
class BrowseFilter:
    """What the table shows. Empty fields do not filter.

    ``class_id`` selects the class *and its subclasses*; ``statuses``,
    ``environments`` and ``criticalities`` are sets of allowed values;
    ``owner`` matches case-insensitively anywhere in the owner; ``text`` is
    full-text search (every word, the last one as a prefix); ``ids`` limits
    the result to an explicit set (the navigator's problem lists).
    """

    class_id: int | None = None
    statuses: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    criticalities: tuple[int, ...] = ()
    owner: str = ""
    text: str = ""
    ids: tuple[int, ...] | None = None

    @property
    def is_empty(self) -> bool:
        return self == BrowseFilter()

    def to_json(self, meta: Metamodel) -> dict[str, Any]:
        """A saved-filter document (the class by name, so it survives id changes)."""
        data: dict[str, Any] = {}
        if self.class_id is not None and self.class_id in meta.class_by_id:
            data["class"] = meta.class_by_id[self.class_id].name
        if self.statuses:
            data["status"] = list(self.statuses)
        if self.environments:
            data["environment"] = list(self.environments)
        if self.criticalities:
            data["criticality"] = list(self.criticalities)
        if self.owner:
            data["owner"] = self.owner
        if self.text:
            data["text"] = self.text
        return data

    @classmethod
    def from_json(cls, meta: Metamodel, data: Mapping[str, Any]) -> BrowseFilter:
        """The inverse of :meth:`to_json`; an unknown class name selects every class."""
        info = meta.find_class(str(data["class"])) if data.get("class") else None
        return cls(
            class_id=info.id if info is not None else None,
            statuses=tuple(str(s) for s in data.get("status", ())),
            environments=tuple(str(e) for e in data.get("environment", ())),
            criticalities=tuple(int(c) for c in data.get("criticality", ())),
            owner=str(data.get("owner", "")),
            text=str(data.get("text", "")),
        )

    def describe(self, meta: Metamodel) -> str:
        """A short human description, e.g. ``Server · In Use · "web"``."""
        parts: list[str] = []
        if self.class_id is not None and self.class_id in meta.class_by_id:
            parts.append(meta.class_by_id[self.class_id].name)
        parts.extend(self.statuses)
        parts.extend(self.environments)
        parts.extend(f"criticality {c}" for c in self.criticalities)
        if self.owner:
            parts.append(f"owner ~ {self.owner}")
        if self.text:
            parts.append(f'"{self.text}"')
        if self.ids is not None:
            parts.append(f"{len(self.ids):,} listed CIs")
        return " · ".join(parts) if parts else "All CIs"


@dataclass(frozen=True)
class BrowseSort:
    """The table's order: a column key and a direction (ties: name, then id)."""

    key: str = "name"
    descending: bool = False


@dataclass
class ClassCounts:
    """CIs per class: ``own`` (exactly that class) and ``total`` (with subclasses)."""

    own: dict[int, int] = field(default_factory=dict)
    total: dict[int, int] = field(default_factory=dict)

    @property
    def grand_total(self) -> int:
        return sum(self.own.values())


# -- building statements ------------------------------------------------------


def _column_expr(meta: Metamodel, key: str, dialect: str) -> Any:
    if key == "class":
        # Order by class *name*, which is what the table shows.
        ranked = sorted(meta.classes, key=lambda c: c.name.casefold())
        return case({c.id: n for n, c in enumerate(ranked)}, value=CI.class_id, else_=len(ranked))
    if key in ("id", "name", "created_at", "updated_at", "version"):
        return CI_TABLE.c[key]
    attr = column_map(meta).get(key)
    if attr is None or attr.attribute is None:
        raise KeyError(f"unknown column {key!r}")
    return field_expression(attr.attribute, dialect)


def conditions(cmdb: Cmdb, session: Session, flt: BrowseFilter) -> list[ColumnElement[bool]]:
    """The WHERE clauses on ``ci`` for ``flt``."""
    meta = cmdb.meta
    out: list[ColumnElement[bool]] = []
    if flt.class_id is not None:
        info = meta.class_by_id.get(flt.class_id)
        ids = sorted(meta.subtree_ids(info)) if info is not None else [flt.class_id]
        out.append(CI.class_id == ids[0] if len(ids) == 1 else CI.class_id.in_(ids))
    if flt.statuses:
        out.append(CI.status.in_(list(flt.statuses)))
    if flt.environments:
        out.append(CI.environment.in_(list(flt.environments)))
    if flt.criticalities:
        out.append(CI.criticality.in_(list(flt.criticalities)))
    if flt.owner.strip():
        pattern = "%" + flt.owner.strip().lower().replace("%", "").replace("_", "") + "%"
        out.append(func.lower(CI.owner).like(pattern))
    if flt.text.strip():
        clause = cmdb.search.filter_clause(session, flt.text)
        if clause is not None:
            out.append(clause)
    if flt.ids is not None:
        out.append(CI.id.in_(list(flt.ids)) if flt.ids else CI.id.is_(None))
    return out


def id_statement(cmdb: Cmdb, session: Session, flt: BrowseFilter, sort: BrowseSort) -> Select[Any]:
    """``SELECT ci.id … WHERE <filter> ORDER BY <sort>, name, id``.

    Ties on the sort column are broken by name (ascending) and then id, so the
    order is total and stable, and CIs of one class or status read
    alphabetically.
    """
    expr = _column_expr(cmdb.meta, sort.key, cmdb.engine.dialect.name)
    first = expr.desc() if sort.descending else expr.asc()
    if sort.key == "id":
        order = [first]
    elif sort.key == "name":
        order = [first, CI.id.desc() if sort.descending else CI.id.asc()]
    else:
        order = [first, CI.name.asc(), CI.id.asc()]
    return select(CI.id).where(*conditions(cmdb, session, flt)).order_by(*order)


# -- queries ------------------------------------------------------------------


def count(cmdb: Cmdb, flt: BrowseFilter) -> int:
    """How many CIs ``flt`` selects."""
    with cmdb.read() as s:
        where = conditions(cmdb, s, flt)
        return int(s.scalar(select(func.count()).select_from(CI_TABLE).where(*where)) or 0)


def _plain_order(cmdb: Cmdb, sort: BrowseSort) -> str | None:
    """``id_statement``'s ORDER BY as SQL text when ``sort`` is by a column of ``ci``
    (None for the class, whose order is an expression, and custom attributes)."""
    if sort.key in ("id", "name", "created_at", "updated_at", "version"):
        column = sort.key
    else:
        col = column_map(cmdb.meta).get(sort.key)
        if col is None or col.attribute is None or col.attribute.column is None:
            return None
        column = col.attribute.column
    q = cmdb.engine.dialect.identifier_preparer.quote
    way = " DESC" if sort.descending else " ASC"
    if sort.key == "id":
        return f"{q('id')}{way}"
    if sort.key == "name":
        return f"{q('name')}{way}, {q('id')}{way}"
    return f"{q(CI_TABLE.c[column].name)}{way}, {q('name')} ASC, {q('id')} ASC"


def page_ids(
    cmdb: Cmdb, flt: BrowseFilter, sort: BrowseSort, offset: int = 0, limit: int = 200
) -> list[int]:
    """One page of ids in table order (``OFFSET`` walks the index: fine for the first pages)."""
    with cmdb.read() as s:
        order = _plain_order(cmdb, sort) if flt.is_empty else None
        if order is not None:
            # The unfiltered table (what a newly opened CMDB shows first) as SQL
            # text: a statement would be compiled afresh on every new engine,
            # which costs more than the query itself.
            q = cmdb.engine.dialect.identifier_preparer.quote
            plain = text(
                f"SELECT {q('id')} FROM {q(CI_TABLE.name)} ORDER BY {order}"
                " LIMIT :limit OFFSET :offset"
            )
            rows = s.connection().execute(plain, {"limit": limit, "offset": offset})
            return [int(r[0]) for r in rows]
        stmt = id_statement(cmdb, s, flt, sort).offset(offset).limit(limit)
        # Core, not the ORM's execution path: the table waits for this page.
        return list(s.connection().execute(stmt).scalars())


def iter_ids(
    cmdb: Cmdb,
    flt: BrowseFilter,
    sort: BrowseSort,
    *,
    chunk: int | None = None,
    progress: Progress | None = None,
    total: int = 0,
) -> Iterator[array[int]]:
    """Every id ``flt`` selects, in table order, as arrays of up to ``chunk`` ids.

    Rows come straight from the DB-API cursor (ids need no type processing,
    which makes this ~4× faster than a Result at a million rows). One read
    transaction covers the whole walk, so the ids are one consistent
    snapshot. ``progress`` is stepped (and checked for cancellation) once per
    chunk; ``total`` is only used for the progress figure.
    """
    size = chunk or ID_CHUNK
    done = 0
    with cmdb.read() as s:
        result = s.connection().execute(id_statement(cmdb, s, flt, sort))
        try:
            cursor = result.cursor
            while True:
                if progress is not None:
                    progress.check()
                rows = cursor.fetchmany(size)
                if not rows:
                    break
                done += len(rows)
                if progress is not None:
                    progress.step(done, total)
                yield array("q", [r[0] for r in rows])
        finally:
            result.close()


def all_ids(
    cmdb: Cmdb, flt: BrowseFilter, sort: BrowseSort, *, progress: Progress | None = None
) -> array[int]:
    """Every id ``flt`` selects, in table order (8 bytes per CI)."""
    out: array[int] = array("q")
    for part in iter_ids(cmdb, flt, sort, progress=progress):
        out.extend(part)
    return out


def rows(cmdb: Cmdb, ids: Iterable[int], keys: Sequence[str]) -> dict[int, tuple[Any, ...]]:
    """Typed values of the columns ``keys`` for each CI id that still exists.

    ``"class"`` gives the class name; custom attributes come out of the JSON
    document converted to their type; a key the CI's class lacks gives None.
    Meant for a screenful of ids at a time (one primary-key lookup each).
    """
    meta = cmdb.meta
    cols = column_map(meta)
    plain: list[str] = []
    # What each key reads: ("class", None), ("system", column), ("column", attr),
    # ("custom", attr) or ("none", None). Decided once, not per cell: this runs
    # for every block of rows the table paints.
    plan: list[tuple[str, Any]] = []
    for key in keys:
        col = cols.get(key)
        if key == "class":
            plan.append(("class", None))
        elif key in ("id", "name", "created_at", "updated_at", "version"):
            plan.append(("system", key))
        elif col is None or col.attribute is None:
            plan.append(("none", None))
        elif col.attribute.column is not None:
            plain.append(col.attribute.column)
            plan.append(("column", col.attribute))
        else:
            plan.append(("custom", col.attribute))
    names = ["id", "class_id", "name", "created_at", "updated_at", "version"]
    names += dict.fromkeys(plain)
    if any(kind == "custom" for kind, _ in plan):
        names.append("attributes")
    wanted = [CI_TABLE.c[n] for n in names]
    position = {c.key: n for n, c in enumerate(wanted)}
    # SQL text typed by the table's columns (so values convert as usual): this
    # runs for every block of rows the table paints, and a statement would be
    # compiled afresh on every new engine.
    q = cmdb.engine.dialect.identifier_preparer.quote
    stmt = (
        text(
            f"SELECT {', '.join(q(c.name) for c in wanted)} FROM {q(CI_TABLE.name)}"
            f" WHERE {q('id')} IN :ids"
        )
        .bindparams(bindparam("ids", expanding=True))
        .columns(*wanted)
    )
    layout = [
        (kind, what, position.get(what.column if kind == "column" else what)) for kind, what in plan
    ]
    custom_at = position.get("attributes")
    class_by_id = meta.class_by_id
    out: dict[int, tuple[Any, ...]] = {}
    with cmdb.read() as s:
        conn = s.connection()
        for part in chunks(ids):
            for row in conn.execute(stmt, {"ids": part}):
                info = class_by_id.get(row[1])
                own = meta.attribute_map(info) if info is not None else {}
                doc = (row[custom_at] or {}) if custom_at is not None else {}
                out[row[0]] = tuple(
                    _cell(info, own, row, doc, kind, what, at) for kind, what, at in layout
                )
    return out


def _cell(
    info: ClassInfo | None,
    own: Mapping[str, AttributeInfo],
    row: Sequence[Any],
    doc: Mapping[str, Any],
    kind: str,
    what: Any,
    at: int | None,
) -> Any:
    if kind == "system":
        return row[at] if at is not None else None
    if kind == "class":
        return info.name if info is not None else None
    if kind == "none" or what.key not in own:
        return None
    return field_value(what, row[at] if at is not None else None, doc)


def position_of(ids: Sequence[int], ci_id: int) -> int | None:
    """The row of ``ci_id`` in an id list, or None."""
    try:
        return ids.index(ci_id)
    except ValueError:
        return None


def class_counts(cmdb: Cmdb) -> ClassCounts:
    """CIs per class, with subtree totals for the navigator (one grouped query)."""
    meta = cmdb.meta
    with cmdb.read() as s:
        own = {
            int(cid): int(n)
            for cid, n in s.execute(select(CI.class_id, func.count()).group_by(CI.class_id))
        }
    total: dict[int, int] = {}
    for info in meta.classes:
        total[info.id] = sum(own.get(c, 0) for c in meta.subtree_ids(info))
    return ClassCounts(own, total)


def distinct_values(cmdb: Cmdb, key: str, *, limit: int = 500) -> list[Any]:
    """The most common non-empty values of a column (for filter completion)."""
    expr = _column_expr(cmdb.meta, key, cmdb.engine.dialect.name)
    with cmdb.read() as s:
        stmt = (
            select(expr, func.count())
            .where(expr.is_not(None))
            .group_by(expr)
            .order_by(func.count().desc())
            .limit(limit)
        )
        return [v for v, _n in s.execute(stmt) if v not in ("", None)]
