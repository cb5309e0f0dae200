"""Bulk statements: many rows per statement, the storage side of every batch write,
and the whole-table reads an import plans with.

On SQLite, rows go through the driver's own ``executemany`` in storage form
(dates as ISO text, JSON as text, timestamps as the ORM writes them), and
inserts into tables with triggers go through a TEMP staging table and one
``INSERT … SELECT``. On PostgreSQL, bulk inserts stream through ``COPY … FROM
STDIN`` (psycopg's ``cursor.copy``), their ids reserved from the table's
sequence first; updates go through Core statements.
Nothing here commits: every statement runs in the caller's session.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from cmdb_desktop.models import change_record_table, ci_table, relationship_table


class Bulk:
    """Bulk statements: ``executemany`` on the SQLite driver, ``COPY`` for inserts on
    PostgreSQL, Core statements otherwise.

    On SQLite, rows arrive in storage form (dates as ISO text, JSON as text,
    timestamps as the ORM's text), and inserts go through a TEMP staging
    table and one ``INSERT … SELECT``: the FTS triggers then run inside a
    single statement instead of one per row, several times faster.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        conn = session.connection()
        self.dialect = conn.dialect
        self.sqlite = conn.dialect.name == "sqlite"
        self._conn = conn

    def stamp(self, value: datetime) -> Any:
        """A timestamp as the ORM stores it (text on SQLite)."""
        if not self.sqlite:
            return value
        proc = change_record_table.c.at.type.dialect_impl(self.dialect).bind_processor(self.dialect)
        return proc(value) if proc is not None else value

    def _cursor(self) -> Any:
        return self._conn.connection.driver_connection.cursor()  # type: ignore[union-attr]

    def insert(
        self,
        table: Table,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        staged: bool = False,
    ) -> None:
        if not rows:
            return
        if self.dialect.name == "postgresql":
            self._copy(table, columns, rows)
            return
        if not self.sqlite:
            self._conn.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in rows])
            return
        cols = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        cursor = self._cursor()
        try:
            if not staged:
                cursor.executemany(f"INSERT INTO main.{table.name} ({cols}) VALUES ({marks})", rows)
                return
            stage = f"temp.stage_{table.name}"
            cursor.execute(f"DROP TABLE IF EXISTS {stage}")
            cursor.execute(f"CREATE TABLE {stage} AS SELECT {cols} FROM main.{table.name} WHERE 0")
            try:
                cursor.executemany(f"INSERT INTO {stage} VALUES ({marks})", rows)
                cursor.execute(f"INSERT INTO main.{table.name} ({cols}) SELECT {cols} FROM {stage}")
            finally:
                cursor.execute(f"DROP TABLE IF EXISTS {stage}")
        finally:
            cursor.close()

    def staged(self, name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
        """Load rows into a fresh TEMP table (SQLite) and return its name.

        A first column ``id`` is the table's INTEGER PRIMARY KEY: rows read
        back ``ORDER BY id`` then come in key order without a sort.
        """
        stage = f"temp.stage_{name}"
        cursor = self._cursor()
        try:
            cursor.execute(f"DROP TABLE IF EXISTS {stage}")
            defs = [
                f"{c} INTEGER PRIMARY KEY" if n == 0 and c == "id" else c
                for n, c in enumerate(columns)
            ]
            cursor.execute(f"CREATE TABLE {stage} ({', '.join(defs)})")
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(f"INSERT INTO {stage} VALUES ({marks})", rows)
        finally:
            cursor.close()
        return stage

    def append(self, stage: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Add rows to a :meth:`staged` table.

        Columns that are NULL in every row are left out of the statement (a
        staging table's columns default to NULL, so the rows are the same):
        binding a NULL costs the driver an adapter lookup, and most of a CI
        row's thirty columns are empty — a third of the staging time of 63,000
        software CIs.
        """
        if not rows:
            return
        values = list(zip(*rows, strict=True))
        used = [n for n, column in enumerate(values) if column.count(None) != len(column)]
        names = ", ".join(columns[n] for n in used)
        marks = ", ".join("?" for _ in used)
        cursor = self._cursor()
        try:
            cursor.executemany(
                f"INSERT INTO {stage} ({names}) VALUES ({marks})",
                zip(*(values[n] for n in used), strict=True),
            )
        finally:
            cursor.close()

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; how many rows it wrote (not counting its triggers')."""
        cursor = self._cursor()
        try:
            cursor.execute(sql, params)
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def missing_ids(self, table: Table, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` (a handful) no row of ``table`` has."""
        wanted = set(ids)
        if not wanted:
            return set()
        found = self._conn.execute(select(table.c.id).where(table.c.id.in_(sorted(wanted))))
        return wanted - {int(r[0]) for r in found}

    def insert_returning_ids(
        self, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> list[int]:
        """Insert rows without ids and return the ids they got, in order.

        PostgreSQL: the ids are taken from the table's sequence first (one
        statement), then the rows, with them, go through COPY: no statement per
        row, no ``RETURNING``. Elsewhere (not SQLite, whose bulk writes stage
        their rows instead): one ``INSERT … RETURNING``.
        """
        if not rows:
            return []
        if self.dialect.name == "postgresql":
            ids = self.reserve_ids(table, len(rows))
            self._copy(
                table, ["id", *columns], [(i, *r) for i, r in zip(ids, rows, strict=True)]
            )
            return ids
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        result = self._conn.execute(stmt, [dict(zip(columns, r, strict=True)) for r in rows])
        return [int(r[0]) for r in result]

    def reserve_ids(self, table: Table, n: int) -> list[int]:
        """PostgreSQL: ``n`` new ids from ``table``'s id sequence, ascending (as a
        multi-row INSERT would have drawn them)."""
        result = self._conn.exec_driver_sql(
            f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "
            "FROM generate_series(1, %(n)s)",
            {"n": n},
        )
        return sorted(int(r[0]) for r in result)

    def _copy(self, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """PostgreSQL: insert rows (values as Core statements take them) with one
        ``COPY … FROM STDIN``, in this session's transaction.

        Each value goes through its column type's bind processing for this
        dialect first (a JSON document is wrapped for psycopg, as an INSERT would
        do), so the rows written are the same as :func:`insert`'s. Text format:
        the server parses each value as the column's type.
        """
        quote = self.dialect.identifier_preparer.quote
        processors = [
            table.c[c].type.dialect_impl(self.dialect).bind_processor(self.dialect)
            for c in columns
        ]
        sql = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
        cursor = self._cursor()
        try:
            with cursor.copy(sql) as copy:
                if not any(processors):
                    for row in rows:
                        copy.write_row(row)
                    return
                for row in rows:
                    copy.write_row(
                        [
                            v if p is None or v is None else p(v)
                            for p, v in zip(processors, row, strict=True)
                        ]
                    )
        finally:
            cursor.close()

    def execute(
        self, sql_sqlite: str, stmt: Any, rows: list[tuple[Any, ...]], keys: list[str]
    ) -> None:
        """Run one parameterised statement for many rows (values in storage form)."""
        if not rows:
            return
        if self.sqlite:
            cursor = self._cursor()
            try:
                cursor.executemany(sql_sqlite, rows)
            finally:
                cursor.close()
        else:
            self._conn.execute(stmt, [dict(zip(keys, r, strict=True)) for r in rows])

    def next_id(self, table: Table) -> int:
        """The id SQLite's AUTOINCREMENT would hand out next (valid inside this write)."""
        conn = self._conn
        top = conn.exec_driver_sql(f"SELECT max(id) FROM {table.name}").scalar() or 0
        seq = conn.exec_driver_sql(
            "SELECT seq FROM sqlite_sequence WHERE name = ?", (table.name,)
        ).scalar()
        return int(max(top, seq or 0)) + 1

    def move_staged(self, stage: str, table: Table, columns: Sequence[str]) -> None:
        """SQLite: copy a staging table's rows into ``table`` in one statement."""
        cols = ", ".join(columns)
        self.run(f"INSERT INTO main.{table.name} ({cols}) SELECT {cols} FROM {stage}")

    def drop(self, stage: str) -> None:
        self.run(f"DROP TABLE IF EXISTS {stage}")

    def stage_json_rows(self, name: str, columns: Sequence[str], first: int, payload: str) -> str:
        """SQLite: a staging table ``id INTEGER PRIMARY KEY, *columns`` filled from a
        JSON array of arrays (``payload``; ids ``first`` on, in order) in one statement.

        Only integers and text should travel this way (JSON numbers are doubles).
        """
        stage = f"temp.stage_{name}"
        self.drop(stage)
        self.run(f"CREATE TABLE {stage} (id INTEGER PRIMARY KEY, {', '.join(columns)})")
        picks = ", ".join(f"value ->> {n}" for n in range(len(columns)))
        self.run(f"INSERT INTO {stage} SELECT ? + key, {picks} FROM json_each(?)", (first, payload))
        return stage

    def move_staged_with(
        self, stage: str, table: Table, columns: Sequence[str], extra: Mapping[str, Any]
    ) -> None:
        """SQLite: like :meth:`move_staged`, the ``extra`` columns set to one value each."""
        cols = ", ".join([*columns, *extra])
        marks = ", ".join([*columns, *("?" for _ in extra)])
        self.run(
            f"INSERT INTO main.{table.name} ({cols}) SELECT {marks} FROM {stage} ORDER BY id",
            tuple(extra.values()),
        )

    def update_rows(
        self, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
    ) -> None:
        """Set ``columns`` (then ``updated_at``) per row and bump ``version``: each row is
        (*values, updated_at, id). One executemany per call."""
        assignments = ", ".join(f"{c} = ?" for c in columns)
        sql = (
            f"UPDATE {table.name} SET {assignments}, updated_at = ?, version = version + 1 "
            "WHERE id = ?"
        )
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                {c: bindparam(f"b_{c}") for c in columns}
                | {"updated_at": bindparam("b_updated_at"), "version": table.c.version + 1}
            )
        )
        keys = [f"b_{c}" for c in columns] + ["b_updated_at", "b_id"]
        self.execute(sql, stmt, rows, keys)

    def storage(self, value: Any) -> Any:
        """A value as this session's bulk statements take it (dates as text on SQLite)."""
        if self.sqlite and isinstance(value, date) and not isinstance(value, datetime):
            return value.isoformat()
        return value


# -- bulk reads (the importer's planner reads the CMDB a table at a time) -------------


def _driver_cursor(session: Session) -> Any:
    return session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]


def is_sqlite(session: Session) -> bool:
    return session.connection().dialect.name == "sqlite"


def count_cis(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(ci_table)).scalar() or 0)


def scan_ci_rows(
    session: Session, batch: int = 10_000
) -> Generator[list[tuple[Any, ...]], None, None]:
    """Every ``ci`` row (table column order), ``batch`` rows at a time.

    On SQLite through the driver's own cursor (dates and JSON as stored text:
    :meth:`~cmdb_desktop.schema.ClassSchema.decode` reads both forms); the
    caller may stop early.
    """
    if not is_sqlite(session):
        result = session.execute(select(ci_table).execution_options(yield_per=batch))
        for part in result.partitions():
            yield [tuple(r) for r in part]
        return
    cursor = _driver_cursor(session)
    try:
        cursor.execute(_SELECT_CI)
        while part := cursor.fetchmany(batch):
            yield part
    finally:
        cursor.close()


def ci_rows_by_id(session: Session, ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    """The ``ci`` rows of ``ids`` (in no particular order; missing ids are left out)."""
    wanted = sorted(set(ids))
    if not is_sqlite(session):
        for start in range(0, len(wanted), 900):
            part = wanted[start : start + 900]
            yield from (
                tuple(r) for r in session.execute(select(ci_table).where(ci_table.c.id.in_(part)))
            )
        return
    cursor = _driver_cursor(session)
    try:
        for start in range(0, len(wanted), 900):
            part = wanted[start : start + 900]
            marks = ", ".join("?" * len(part))
            yield from cursor.execute(f"{_SELECT_CI} WHERE id IN ({marks})", part)
    finally:
        cursor.close()


def scan_relationship_triples(
    session: Session, batch: int = 10_000
) -> Generator[list[tuple[int, int, int]], None, None]:
    """Every relationship as (source id, type id, target id), ``batch`` at a time."""
    rel = relationship_table.c
    if not is_sqlite(session):
        result = session.execute(
            select(rel.source_id, rel.type_id, rel.target_id).execution_options(yield_per=batch)
        )
        for part in result.partitions():
            yield [(a, t, b) for a, t, b in part]
        return
    cursor = _driver_cursor(session)
    try:
        cursor.execute(_SELECT_TRIPLES)
        while part := cursor.fetchmany(batch):
            yield part
    finally:
        cursor.close()


def ci_names(session: Session, ids: Sequence[int]) -> Iterator[tuple[int, str, int]]:
    """(id, name, class id) of many CIs (an audit's matches): on SQLite one JSON
    parameter and the driver's own cursor, not a statement per few hundred ids."""
    ci = ci_table.c
    if not is_sqlite(session):
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            yield from session.execute(select(ci.id, ci.name, ci.class_id).where(ci.id.in_(part)))
        return
    cursor = _driver_cursor(session)
    try:
        yield from cursor.execute(
            "SELECT id, name, class_id FROM ci WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps([int(i) for i in ids]),),
        )
    finally:
        cursor.close()


def relationship_triples(session: Session) -> set[tuple[int, int, int]]:
    """Every relationship as (source id, type id, target id), as one set (built in C on
    SQLite: a re-import checks each of its relationship rows against it)."""
    if not is_sqlite(session):
        return {t for part in scan_relationship_triples(session) for t in part}
    cursor = _driver_cursor(session)
    try:
        return set(cursor.execute(_SELECT_TRIPLES))
    finally:
        cursor.close()


def rows_with_folded_keys(
    session: Session, columns: Sequence[str], keys: Mapping[str, Sequence[str]]
) -> Iterator[tuple[Any, ...]]:
    """SQLite: (id, class_id, *columns) of the CIs whose ``columns`` may fold to one of
    ``keys[column]`` (:func:`~cmdb_desktop.identity.fold_key` forms).

    The database narrows the rows down with ASCII folding (``lower(trim())``) and
    passes every value that folding could miss (anything outside printable
    ASCII, runs of spaces); the caller compares exactly.
    """
    tests = []
    params: list[Any] = []
    for column in columns:
        if keys.get(column):
            tests.append(
                f"lower(trim({column})) IN (SELECT value FROM json_each(?)) "
                f"OR {column} GLOB '*[^ -~]*' OR instr({column}, '  ') > 0"
            )
            params.append(json.dumps(list(keys[column])))
    if not tests:
        return
    sql = (
        f"SELECT id, class_id, {', '.join(columns)} FROM ci "
        f"WHERE {' OR '.join(f'({t})' for t in tests)}"
    )
    cursor = _driver_cursor(session)
    try:
        yield from cursor.execute(sql, params)
    finally:
        cursor.close()


_SELECT_TRIPLES = "SELECT source_id, type_id, target_id FROM relationship"
_SELECT_CI = f"SELECT {', '.join(c.name for c in ci_table.c)} FROM ci"
