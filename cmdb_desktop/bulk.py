"""Bulk statements: many rows per statement, the storage side of every batch write.

On SQLite, rows go through the driver's own ``executemany`` in storage form
(dates as ISO text, JSON as text, timestamps as the ORM writes them), and
inserts into tables with triggers go through a TEMP staging table and one
``INSERT … SELECT``; elsewhere the same rows go through Core statements.
Nothing here commits: every statement runs in the caller's session.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from cmdb_desktop.models import change_record_table


class Bulk:
    """Bulk statements: ``executemany`` on the SQLite driver, Core elsewhere.

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
        if not rows:
            return
        cursor = self._cursor()
        try:
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(f"INSERT INTO {stage} VALUES ({marks})", rows)
        finally:
            cursor.close()

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        cursor = self._cursor()
        try:
            cursor.execute(sql, params)
        finally:
            cursor.close()

    def insert_returning_ids(
        self, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> list[int]:
        """Insert without ids (other databases: their sequences assign them), in order."""
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        result = self._conn.execute(stmt, [dict(zip(columns, r, strict=True)) for r in rows])
        return [int(r[0]) for r in result]

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

    def storage(self, value: Any) -> Any:
        """A value as this session's bulk statements take it (dates as text on SQLite)."""
        if self.sqlite and isinstance(value, date) and not isinstance(value, datetime):
            return value.isoformat()
        return value
