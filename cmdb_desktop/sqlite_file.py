"""What a SQLite file is before we open it, and what SQLite's errors mean to its user.

A file this program did not create is never modified (PRODUCT.md §8): not its
schema, not even its journal mode (switching to WAL rewrites its header). So
:func:`examine` looks at a file with SQLite itself, read-only, and — when no
other program can be half-way through a write (no ``-wal`` or ``-journal``
file beside it) — as *immutable*, which leaves no ``-wal``/``-shm`` files
behind:

- a file of 0 bytes, or a database without a single schema object (and
  without another program's mark in its header), may become a CMDB: it holds
  nothing to lose, and an empty file is what "New file" in many file dialogs
  and ``touch`` leave;
- a database carrying our mark (``PRAGMA application_id`` = ``CMDB``, set when
  we create or upgrade one) and a schema revision is ours;
- a database without any mark (written before the mark existed) is ours only
  if it holds exactly the tables of the revision it is stamped with
  (:data:`cmdb_desktop.migrations.SCHEMA_TABLES`);
- any other database is foreign (:class:`NotACmdbError`, naming its tables);
- a file that is not a whole SQLite database — no SQLite header, a page size
  SQLite never writes, a size that is not a whole number of pages, fewer pages
  than its header counts, a schema SQLite cannot read — is damaged
  (:class:`DamagedDatabaseError`).

Damage further in (a page in the middle overwritten) shows only when a query
reaches it: :func:`storage_error` turns what SQLite reports there into the same
DamagedDatabaseError, and a full disk or a read-only file into
:class:`DiskFullError` or :class:`ReadOnlyError`, wherever it happens.
"""

from __future__ import annotations

import glob
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from cmdb_desktop.errors import (
    DamagedDatabaseError,
    DiskFullError,
    NotACmdbError,
    ReadOnlyError,
    StorageError,
)
from cmdb_desktop.migrations import FTS_TABLES, SCHEMA_TABLES

#: Our mark in the header of every database we create or upgrade: "CMDB" in ASCII.
APPLICATION_ID = 0x434D4442

_MAGIC = b"SQLite format 3\x00"
_HEADER_SIZE = 100

# SQLite result codes (primary codes are the low byte of extended ones).
_READONLY = 8
_IOERR = 10
_CORRUPT = 11
_FULL = 13
_CANTOPEN = 14
_NOTADB = 26
_IOERR_READ = 266
_IOERR_SHORT_READ = 522
#: PostgreSQL's SQLSTATEs for the same situations.
_PG_DISK_FULL = "53100"
_PG_READ_ONLY = "25006"

#: How many table names a refusal lists before "and N more".
_TABLES_SHOWN = 8


@dataclass(frozen=True)
class DatabaseFile:
    """What :func:`examine` found at a path.

    ``revision`` is the schema revision stamped in a CMDB of ours, or None for
    a file that does not exist yet or holds nothing (it may become a CMDB).
    ``read_only`` says why we may not write there (None when we may); then
    ``immutable`` tells whether SQLite must read it as immutable (a WAL
    database whose folder does not let SQLite create its ``-shm`` file).
    """

    path: Path
    exists: bool
    revision: str | None
    marked: bool
    read_only: str | None
    immutable: bool

    def reader_uri(self) -> str:
        """The SQLite URI that reads this file without ever writing to it."""
        return _uri(self.path, immutable=self.immutable)

    def own_reader_uri(self) -> str:
        """The SQLite URI through which we read a CMDB of ours: read-write where we may
        write (closing it then removes the ``-wal`` and ``-shm`` files SQLite creates
        beside a WAL database for any reader, as every connection of ours does; the
        reader itself runs with ``PRAGMA query_only``), else :meth:`reader_uri`."""
        if self.read_only is not None or not self.marked:
            return self.reader_uri()
        return f"file:{_pathname2url(str(self.path.resolve()))}?mode=rw"


def default_db_path() -> Path:
    """``cmdb.sqlite`` in the platform's user data folder (``$CMDB_DB`` overrides).

    Every front end (CLI, GUI) opens this when no database is named.
    """
    env = os.environ.get("CMDB_DB")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("cmdb-desktop", appauthor=False)) / "cmdb.sqlite"


def reader_uri(path: Path) -> str:
    """The SQLite URI that reads the database at ``path`` without writing to it, nor
    beside it: immutable when its folder is read-only and no program is half-way
    through a write (SQLite could not create the ``-shm`` file a WAL reader needs)."""
    return _uri(path, immutable=_idle(path) and not os.access(path.parent, os.W_OK))


def _idle(path: Path) -> bool:
    """No program is half-way through a write: no journal of either kind beside it."""
    return not Path(f"{path}-wal").exists() and not Path(f"{path}-journal").exists()


def examine(path: Path, *, timeout: float = 15.0) -> DatabaseFile:
    """What the file at ``path`` is; raises :class:`NotACmdbError` for a database
    (or any file) that is not a CMDB of ours and :class:`DamagedDatabaseError`
    for a damaged one. Writes nothing, anywhere.

    ``timeout``: seconds to wait for another program's exclusive lock (a
    database in rollback-journal mode being written).
    """
    read_only = _read_only_reason(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(_HEADER_SIZE)
            size = os.fstat(fh.fileno()).st_size
    except FileNotFoundError:
        return DatabaseFile(path, False, None, False, read_only, False)
    except IsADirectoryError:
        raise NotACmdbError(f"{path} is a folder, not a CMDB file.") from None
    except OSError as exc:
        raise StorageError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if size == 0:
        return DatabaseFile(path, True, None, False, read_only, False)
    _check_header(path, head, size)
    # Nobody is half-way through a write: read the file as it is, leaving nothing beside it.
    idle = _idle(path)
    tables, objects, revision = _schema(path, idle=idle, timeout=timeout)
    marker = int.from_bytes(head[68:72], "big")
    user_version = int.from_bytes(head[60:64], "big")
    immutable = read_only is not None and idle and not os.access(path.parent, os.W_OK)
    if objects == 0 and marker in (0, APPLICATION_ID) and user_version == 0:
        return DatabaseFile(path, True, None, False, read_only, immutable)
    if marker == APPLICATION_ID and revision is not None:
        return DatabaseFile(path, True, revision, True, read_only, immutable)
    if marker == APPLICATION_ID:
        raise damaged(path, "it carries CMDB Desktop's mark but no schema revision")
    expected = SCHEMA_TABLES.get(revision or "")
    if marker == 0 and expected is not None and tables == expected | FTS_TABLES:
        return DatabaseFile(path, True, revision, False, read_only, immutable)
    raise NotACmdbError(
        f"{path} is not a CMDB Desktop database ({_holds(tables, marker)}); "
        "nothing was changed. Open a CMDB file, or name a new file to create one."
    )


def _holds(tables: set[str], marker: int) -> str:
    if not tables:
        return f"another program marked it as its own (application id {marker:#x})"
    names = sorted(tables)
    shown = ", ".join(names[:_TABLES_SHOWN])
    more = len(names) - _TABLES_SHOWN
    return f"it holds tables {shown}" + (f" and {more} more" if more > 0 else "")


def _check_header(path: Path, head: bytes, size: int) -> None:
    """Raise for a file that cannot be a whole SQLite database."""
    if len(head) < _HEADER_SIZE or not head.startswith(_MAGIC):
        raise NotACmdbError(
            f"{path} is not a CMDB Desktop database: it is not an SQLite file. If it was a "
            f"CMDB, it is damaged (its first bytes are gone): {restore_hint(path)}; "
            "nothing was changed."
        )
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        raise damaged(path, f"its header names no possible page size ({page_size})")
    if head[18] not in (1, 2) or head[19] not in (1, 2):
        raise damaged(path, "its header names no journal mode SQLite knows")
    if size % page_size:
        raise damaged(
            path, f"its size ({size:,} bytes) is not a whole number of {page_size}-byte pages"
        )
    pages = int.from_bytes(head[28:32], "big")
    counter_valid = head[24:28] == head[92:96]
    if counter_valid and pages * page_size > size:
        raise damaged(
            path, f"it holds {size // page_size:,} of the {pages:,} pages its header counts"
        )


def _schema(path: Path, *, idle: bool, timeout: float) -> tuple[set[str], int, str | None]:
    """(table names, how many schema objects, the stamped revision) of the database."""
    attempts = [True, False] if idle else [False, True]
    for n, immutable in enumerate(attempts):
        conn = sqlite3.connect(_uri(path, immutable=immutable), uri=True, timeout=timeout)
        try:
            rows = conn.execute("SELECT type, name FROM sqlite_master").fetchall()
            tables = {str(name) for kind, name in rows if kind == "table"}
            tables = {t for t in tables if not t.startswith("sqlite_")}
            revision = None
            if "alembic_version" in tables:
                stamps = conn.execute("SELECT * FROM alembic_version").fetchall()
                if len(stamps) == 1 and len(stamps[0]) == 1:
                    revision = str(stamps[0][0])
            return tables, len(rows), revision
        except sqlite3.Error as exc:
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            # A read-only folder without the -shm file a live WAL needs: the file alone.
            if code in (_READONLY, _CANTOPEN) and n + 1 < len(attempts):
                continue
            raise storage_error(exc, path) or StorageError(f"Cannot read {path}: {exc}.") from None
        finally:
            conn.close()
    raise AssertionError("unreachable")  # the last attempt returns or raises


def _uri(path: Path, *, immutable: bool) -> str:
    mode = "mode=ro&immutable=1" if immutable else "mode=ro"
    return f"file:{_pathname2url(str(path.resolve()))}?{mode}"


def _pathname2url(path: str) -> str:
    """``urllib.request.pathname2url`` without loading ``urllib.request`` (its HTTP,
    e-mail and TLS modules cost a small command a tenth of its start-up)."""
    if os.name == "nt":
        from nturl2path import pathname2url  # noqa: PLC0415

        return pathname2url(path)
    return quote(path)


def _read_only_reason(path: Path) -> str | None:
    """Why the database at ``path`` cannot be written (None when it can)."""
    if path.exists() and not os.access(path, os.W_OK):
        return "the file is read-only"
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # opening creates the missing folders
    if os.access(folder, os.W_OK):
        return None
    if hasattr(os, "statvfs") and os.statvfs(folder).f_flag & os.ST_RDONLY:
        return "it is on a read-only file system"
    return f"its folder {folder} is read-only"


def restore_hint(path: Path) -> str:
    """What to do about a damaged CMDB: restore a backup, the newest of ours if any."""
    ours = glob.glob(glob.escape(str(path)) + ".*.bak")
    if not ours:
        return "restore it from a backup (the .bak files beside it)"
    newest = max(ours, key=os.path.getmtime)
    return f"restore it from a backup (the .bak files beside it; the newest is {newest})"


def damaged(path: Path | str, detail: str) -> DamagedDatabaseError:
    return DamagedDatabaseError(
        f"{path} is damaged: {detail}. {restore_hint(Path(path)).capitalize()}; "
        "nothing was changed."
    )


def storage_error(
    exc: BaseException, where: Path | str
) -> StorageError | DamagedDatabaseError | None:
    """The user-facing error for what the database reported while we read or wrote
    ``where`` (a path, or the URL as shown): damaged, full, read-only… or None when
    ``exc`` is none of these (a bug, or a problem with its own handling).

    ``exc`` is a DB-API error, or SQLAlchemy's wrapper of one.
    """
    orig = getattr(exc, "orig", None) or exc
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate == _PG_DISK_FULL:
        return DiskFullError(
            f"Cannot write to {where}: the server's disk is full. "
            "Nothing was changed; ask its administrator to free some space."
        )
    if sqlstate == _PG_READ_ONLY:
        return ReadOnlyError(
            f"{where} is read-only: the server accepts no writes; nothing was changed."
        )
    code = getattr(orig, "sqlite_errorcode", None)
    if not isinstance(orig, sqlite3.Error) or not isinstance(code, int):
        return None
    primary = code & 0xFF
    said = str(orig)
    if primary in (_CORRUPT, _NOTADB) or code == _IOERR_SHORT_READ:
        return damaged(where, f"SQLite reports “{said}”")
    if primary == _FULL:
        return DiskFullError(
            f"Cannot write to {where}: the disk is full. Nothing was changed; "
            "free some space and try again."
        )
    if code == _IOERR_READ:
        return StorageError(
            f"Cannot read {where}: the disk reported an error (SQLite: {said}). "
            "Nothing was changed; check the disk, or restore a backup."
        )
    if primary == _IOERR:
        return DiskFullError(
            f"Cannot write to {where}: the disk refused the write (SQLite: {said}); it may "
            "be full, or the file too large for it. Nothing was changed; free some space "
            "and try again."
        )
    if primary == _READONLY:
        return ReadOnlyError(f"{where} is read-only: SQLite reports “{said}”; nothing was changed.")
    if primary == _CANTOPEN:
        return StorageError(f"Cannot open {where}: SQLite reports “{said}”. Nothing was changed.")
    return None
