"""Engine, connection pragmas, sessions, schema upgrades and backups.

One SQLite file per CMDB by default (WAL, foreign keys on, a busy timeout so a
second writer waits instead of failing), or any SQLAlchemy URL (PostgreSQL for
team mode). Sessions are short-lived and owned by the caller; never share one
across threads.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, QueuePool

from cmdb_desktop.errors import (
    DatabaseConnectionError,
    NotACmdbError,
    SchemaError,
    StorageError,
)
from cmdb_desktop.identity import sql_fold
from cmdb_desktop.migrations import (
    FTS_TABLES,
    SCHEMA_HEAD,
    SCHEMA_REVISIONS,
    SCHEMA_TABLES,
)
from cmdb_desktop.sqlite_file import APPLICATION_ID, DatabaseFile, reader_uri, storage_error
from cmdb_desktop.sqlite_file import default_db_path as default_db_path

log = logging.getLogger(__name__)

#: How long a writer waits for another one before SQLite reports "locked" (ms).
BUSY_TIMEOUT_MS = 15000


def to_url(target: str | os.PathLike[str]) -> str:
    """A path becomes a ``sqlite:///`` URL; anything with ``://`` is already a URL."""
    text_target = os.fspath(target)
    if "://" in text_target:
        return text_target
    return "sqlite:///" + str(Path(text_target).expanduser().resolve())


#: Query parameters that carry a secret (libpq accepts the password there too).
_SECRET_PARAMETERS = frozenset({"password", "sslpassword"})
#: For text SQLAlchemy cannot parse, or parses with part of the password in the
#: host (a raw ``@`` in it): ``scheme://user:SECRET@`` up to the *last* ``@``,
#: and ``password=SECRET``. Masking too much is harmless; too little is not.
_USERINFO_SECRET = re.compile(r"(://[^/?#@:]*:).*@")
_PARAMETER_SECRET = re.compile(r"((?:^|[?&;\s])(?:ssl)?password=)[^&;\s]*", re.IGNORECASE)


def display_url(target: str | os.PathLike[str]) -> str:
    """A database path or URL as it may be shown anywhere: a password becomes ``***``.

    Every output naming the database (CLI text and JSON, messages, reports,
    the window) goes through this; credentials are never printed.

    >>> display_url("postgresql://ann:s3cret@db.example:5432/cmdb")
    'postgresql://ann:***@db.example:5432/cmdb'
    >>> display_url("postgresql://ann@db.example/cmdb?password=s3cret&sslmode=require")
    'postgresql://ann@db.example/cmdb?password=***&sslmode=require'
    >>> display_url("/home/ann/cmdb.sqlite")
    '/home/ann/cmdb.sqlite'
    """
    text_target = os.fspath(target)
    if "://" not in text_target:
        return text_target
    if text_target.count("@") <= 1:
        try:
            parsed = make_url(text_target)
        except (ArgumentError, ValueError):
            pass  # not a URL SQLAlchemy can read (a bad port, say)
        else:
            hidden = {k: "***" for k in parsed.query if k.lower() in _SECRET_PARAMETERS}
            if hidden:
                parsed = parsed.update_query_dict(hidden)
            shown = parsed.render_as_string(hide_password=True)
            return shown.replace("%2A%2A%2A", "***")
    masked = _USERINFO_SECRET.sub(r"\1***@", text_target, count=1)
    return _PARAMETER_SECRET.sub(r"\1***", masked)


@lru_cache(maxsize=64)
def sqlite_path(url: str) -> Path | None:
    """The database file behind a SQLite URL, or None (memory, other dialects, a URL
    that cannot be parsed: :func:`make_engine` says what is wrong with it).

    Cached: opening a CMDB asks several times, and parsing a URL is not free.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def in_memory(url: str) -> bool:
    """Whether ``url`` names an in-memory SQLite database (``sqlite://``)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return False
    return parsed.get_backend_name() == "sqlite" and sqlite_path(url) is None


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    _sqlite_pragmas(dbapi_conn)
    # WAL: readers never wait for a writer. A read-only connection leaves the
    # file's journal mode alone (changing it is a write).
    _set_wal(dbapi_conn)


def _set_wal(dbapi_conn: Any) -> None:
    """``PRAGMA journal_mode = WAL``, waiting like any write for another program.

    SQLite does not always call the busy handler here: while another program
    creates the same new file (or switches it to WAL), the pragma can fail at
    once with "database is locked". It is tried again until the same
    ``BUSY_TIMEOUT_MS`` any other write waits; after that the error stands
    (and becomes the usual BusyError)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            dbapi_conn.execute("PRAGMA journal_mode = WAL").close()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() >= deadline:
                raise
        time.sleep(pause)  # a back-off between attempts, not a synchronisation
        pause = min(pause * 2, 0.1)


def _sqlite_pragmas(dbapi_conn: Any) -> None:
    # isolation_level=None hands transaction control to SQLAlchemy's BEGIN
    # events below, so that a write transaction takes the lock up front
    # (BEGIN IMMEDIATE) instead of failing on upgrade from a read lock.
    dbapi_conn.isolation_level = None
    # Identity keys compare folded (cmdb_desktop.identity); queries only, never
    # an index or trigger, so other programs can still write this file.
    dbapi_conn.create_function("cmdb_fold", 1, sql_fold, deterministic=True)
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.execute("PRAGMA temp_store = MEMORY")
    cur.execute("PRAGMA cache_size = -65536")
    cur.close()


#: Key of a pooled connection's ``info``: its foreign-key checks are off for one
#: transaction (see :func:`_sqlite_on_begin`) and go back on when it is checked in.
_FOREIGN_KEYS_OFF = "cmdb_foreign_keys_off"


def _sqlite_on_begin(conn: Any) -> None:
    options = conn.get_execution_options()
    if options.get("sqlite_foreign_keys") is False:
        # A bulk writer that checks the references it writes itself
        # (cmdb_desktop.batches.BatchWriter): SQLite's own checks look up every
        # parent row by row. The pragma only takes effect outside a transaction.
        conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
        conn.connection.info[_FOREIGN_KEYS_OFF] = True
    mode = options.get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def _sqlite_on_checkin(dbapi_conn: Any, record: Any) -> None:
    """Foreign-key checks back on before the connection serves anyone else."""
    if record.info.pop(_FOREIGN_KEYS_OFF, False) and dbapi_conn is not None:
        dbapi_conn.execute("PRAGMA foreign_keys = ON").close()


def make_engine(url: str, *, reader: DatabaseFile | None = None) -> Engine:
    """An engine with the pragmas and transaction handling this application relies on.

    A ``postgresql://`` URL without a driver uses psycopg (version 3, what the
    ``postgres`` extra installs), not SQLAlchemy's default psycopg2. Raises
    DatabaseConnectionError for a URL that cannot be read or whose driver is
    missing.

    ``reader``: a SQLite file we may only read (:func:`cmdb_desktop.sqlite_file.examine`
    says so): every connection opens it read-only, and SQLite itself refuses
    any write.
    """
    if reader is not None:
        uri = reader.reader_uri()
        engine = create_engine(
            "sqlite://",
            creator=lambda: sqlite3.connect(
                uri, uri=True, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
            ),
            poolclass=QueuePool,
        )
        event.listen(engine, "connect", lambda conn, _record: _sqlite_pragmas(conn))
        event.listen(engine, "begin", _sqlite_on_begin)
        event.listen(engine, "checkin", _sqlite_on_checkin)
        return engine
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise DatabaseConnectionError(
            f"{display_url(url)} is not a database URL SQLAlchemy can read "
            f"({_scrubbed(str(exc), url)}). Write it as "
            "postgresql://USER@HOST:PORT/DATABASE, or give a file path."
        ) from None
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
            poolclass=NullPool if path is None else None,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        event.listen(engine, "checkin", _sqlite_on_checkin)
        return engine
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except NoSuchModuleError:
        raise DatabaseConnectionError(
            f"Cannot open {display_url(url)}: SQLAlchemy knows no database kind or driver "
            f"{parsed.drivername!r}. Use postgresql://USER@HOST:PORT/DATABASE or a file path."
        ) from None
    except ImportError as exc:
        raise DatabaseConnectionError(
            f"Cannot open {display_url(url)}: its database driver is not installed "
            f"({exc.name or exc}). For PostgreSQL: pip install 'cmdb-desktop[postgres]'."
        ) from None


def check_connection(engine: Engine, url: str) -> None:
    """Connect once to a database server, so that an unreachable server, a refused
    login or a missing database is a DatabaseConnectionError up front (SQLite files
    are checked by their own rules, and opening one connects to nothing)."""
    if engine.dialect.name == "sqlite":
        return
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        raise connection_error(url, exc) from None


def connection_error(url: str, exc: BaseException) -> DatabaseConnectionError:
    """The user-facing error for a failed connection to ``url`` (server unreachable,
    login refused, no such database), with the driver's reason, what to check for
    that reason, and no password."""
    reason = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(reason).splitlines() if line.strip()]
    detail = _scrubbed(" ".join(lines), url) if lines else type(reason).__name__
    if not detail.endswith((".", "?", "!")):
        detail += "."
    return DatabaseConnectionError(
        f"Cannot connect to {display_url(url)}: {detail} {_connection_hint(detail)}"
    )


def _connection_hint(detail: str) -> str:
    """What to check, for the reasons a server gives most often."""
    lowered = detail.lower()
    if "password authentication failed" in lowered or "role" in lowered and (
        "does not exist" in lowered
    ):
        return (
            "The server refused the login: check the user name and the password (the "
            "password comes from the URL, the saved connection's keyring entry or the "
            "prompt; ask the CMDB admin to run `cmdb server grant USER ROLE`)."
        )
    if "no password supplied" in lowered:
        return (
            "The server wants a password: save the connection with its password (GUI: "
            "File › Connect to server…), or put it in the URL."
        )
    if "database" in lowered and "does not exist" in lowered:
        return (
            "The server is reachable but has no such database: check the name, or create "
            "it with `cmdb server setup ADMIN_URL --database NAME`."
        )
    if "ssl" in lowered or "certificate" in lowered:
        return "Check the TLS options (sslmode, sslrootcert) against the server's set-up."
    return (
        "Check that the server is running and reachable, the user name and password, "
        "and that the database exists."
    )


def _scrubbed(text_value: str, url: str) -> str:
    """``text_value`` without the URL's password (drivers sometimes echo what they got)."""
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):
        password = None
    if password:
        text_value = text_value.replace(str(password), "***")
    if url in text_value:
        text_value = text_value.replace(url, display_url(url))
    return text_value


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def warm_up(engine: Engine | None = None) -> None:
    """Pay the one-time costs of the ORM (mapper configuration) and of the first
    engine, connection and typed SQL text query of the process (about 2.5 ms of
    the first opening of a CMDB), so that a front end can pay them while the
    user looks at it instead of while the first CMDB opens.

    Uses ``engine`` if given (a temporary table only, rolled back), else a
    private in-memory SQLite database that is disposed of afterwards.
    """
    from sqlalchemy import bindparam
    from sqlalchemy.orm import configure_mappers

    from cmdb_desktop.items import CI_TABLE

    configure_mappers()
    own = engine is None
    target = make_engine("sqlite://") if engine is None else engine
    try:
        with make_sessionmaker(target)() as session:
            conn = session.connection(execution_options={"sqlite_begin": "DEFERRED"})
            conn.exec_driver_sql("CREATE TEMP TABLE warm_up (id INTEGER, updated_at TEXT)")
            # the shapes of browse.page_ids and browse.rows
            conn.execute(
                text("SELECT id FROM warm_up ORDER BY id LIMIT :limit OFFSET :offset"),
                {"limit": 1, "offset": 0},
            ).all()
            typed = (
                text("SELECT id, updated_at FROM warm_up WHERE id IN :ids")
                .bindparams(bindparam("ids", expanding=True))
                .columns(CI_TABLE.c.id, CI_TABLE.c.updated_at)
            )
            conn.execute(typed, {"ids": [1, 2]}).all()
            session.rollback()
    finally:
        if own:
            target.dispose()


def current_revision(engine: Engine) -> str | None:
    """The schema revision stamped in the database, or None for an empty database.

    Raises NotACmdbError for a database that holds anything but a CMDB of ours:
    on SQLite one marked as ours (``PRAGMA application_id``), or, unmarked, one
    holding exactly the tables of the revision it is stamped with; on
    PostgreSQL (no mark there) the tables of its revision, or at least those of
    ours for a revision newer than this program.
    """
    with engine.connect() as conn:
        names, objects, revision, marked = _schema_of(conn)
        conn.rollback()
    if not objects:
        return None
    if marked and revision is not None:
        return revision
    sqlite = engine.dialect.name == "sqlite"
    expected = SCHEMA_TABLES.get(revision or "")
    if expected is not None and names == (expected | FTS_TABLES if sqlite else expected):
        return revision
    if revision is not None and not sqlite and expected is None:
        if names >= SCHEMA_TABLES[SCHEMA_HEAD]:
            return revision  # a newer version's schema: ensure_schema says so
    shown = ", ".join(sorted(names)[:8]) + (" …" if len(names) > 8 else "")
    raise NotACmdbError(
        f"This database is not a CMDB Desktop database (it holds tables {shown}); nothing "
        "was changed. Choose another database, or an empty one to create a CMDB in."
    )


def _schema_of(conn: Connection) -> tuple[set[str], int, str | None, bool]:
    """(table names, how many schema objects, stamped revision, carries our mark)."""
    if conn.dialect.name == "sqlite":
        # What the inspector asks, without building one (every open pays for this).
        rows = conn.exec_driver_sql("SELECT type, name FROM sqlite_master").all()
        names = {str(n) for t, n in rows if t == "table" and not str(n).startswith("sqlite_")}
        objects = len(rows)
        marked = conn.exec_driver_sql("PRAGMA application_id").scalar() == APPLICATION_ID
    else:
        names = set(inspect(conn).get_table_names())
        objects = len(names)
        marked = False
    revision = None
    if "alembic_version" in names:
        stamps = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        revision = str(stamps[0][0]) if len(stamps) == 1 else None
    return names, objects, revision, marked


def _mark(conn: Connection) -> None:
    """Stamp our mark in a SQLite database's header (inside the writing transaction)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run Alembic migrations on ``engine`` up to ``revision``; a SQLite database gets
    our mark in the same transaction."""
    from alembic import command  # imported lazily: opening a current database needs none of it

    cfg = alembic_config()
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        _mark(conn)


#: SQLSTATEs of PostgreSQL's refusals of a transaction that another one got in the
#: way of: lock wait timed out (lock_timeout), serialization failure, deadlock.
PG_BUSY_STATES = ("55P03",)
PG_CONFLICT_STATES = ("40001", "40P01")


def take_write_lock(conn: Connection) -> None:
    """PostgreSQL: take the CMDB's write lock at the start of a writing transaction,
    as SQLite's ``BEGIN IMMEDIATE`` does: one transaction-scoped advisory lock per
    database (the same one schema creation takes), released at commit or rollback.

    Writers then run one at a time, each seeing every write committed before it,
    so a read-check-write inside a transaction (a rollback's conflict check, an
    import's plan against the rows it updates) cannot lose someone's save, and two
    writers can never deadlock on rows. Readers never wait. Waiting is bounded by
    ``BUSY_TIMEOUT_MS`` as on SQLite: past it the server refuses with SQLSTATE
    55P03 (:data:`PG_BUSY_STATES`), which the caller retries, then reports as busy
    (as it does a row lock waited for as long later in the transaction).
    A file has its own lock: nothing to do.
    """
    if conn.dialect.name != "postgresql":
        return
    # For the whole transaction: a row locked by a program that does not take this
    # lock (psql, an older client) is not waited for forever either.
    conn.exec_driver_sql(f"SET LOCAL lock_timeout = {BUSY_TIMEOUT_MS}")
    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({APPLICATION_ID})")


def create_schema(engine: Engine, fill: Callable[[Session], None]) -> bool:
    """Create the schema at the head revision, marked as ours, and ``fill`` it (the
    default catalogue), all in one transaction: another program opening the same
    new database at that moment waits for it, then finds a whole CMDB; nobody ever
    sees half a schema. Returns False, having done nothing, when the database is
    no longer empty once the write lock is ours (another program created it).
    """
    from alembic import command

    cfg = alembic_config()
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            # PostgreSQL has no database-wide write lock: two creators queue here.
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({APPLICATION_ID})")
        if _schema_of(conn)[1]:
            return False
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        _mark(conn)
        # The catalogue joins the same transaction (the session never commits it).
        with Session(bind=conn, join_transaction_mode="rollback_only") as session:
            fill(session)
            session.flush()
    return True


def downgrade(engine: Engine, revision: str) -> None:
    """Run Alembic migrations on ``engine`` down to ``revision`` (tests build old files so)."""
    from alembic import command

    cfg = alembic_config()
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def alembic_config() -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return cfg


def backup_sqlite(path: Path, suffix: str) -> Path:
    """Copy a live SQLite database consistently (online backup API) beside it."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    dest = path.with_name(f"{path.name}.{suffix}-{stamp}.bak")
    n = 1
    while dest.exists():
        n += 1
        dest = path.with_name(f"{path.name}.{suffix}-{stamp}-{n}.bak")
    copy_sqlite(path, dest)
    return dest


def copy_sqlite(source: Path, dest: Path) -> None:
    """Write a consistent copy of a (possibly open, WAL) SQLite database to ``dest``.

    Raises StorageError (DiskFullError…) naming ``dest`` when it cannot be
    written; no partial copy is left behind.
    """
    tmp = dest.with_name(dest.name + ".partial")
    try:
        src = sqlite3.connect(reader_uri(source), uri=True)
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode = DELETE")
            finally:
                dst.close()
        finally:
            src.close()
        shutil.move(str(tmp), str(dest))
    except (sqlite3.Error, OSError) as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise StorageError(
                f"Cannot write {dest}: {exc.strerror or exc}. Nothing was changed."
            ) from None
        raise storage_error(exc, dest) or StorageError(
            f"Cannot copy {source} to {dest}: {exc}. Nothing was changed."
        ) from None


def ensure_schema(
    engine: Engine, url: str, fill: Callable[[Session], None], *, backup: bool = True
) -> tuple[bool, Path | None]:
    """Bring the schema to the head revision; a new, empty database is created and
    filled by ``fill`` (:func:`create_schema`).

    Returns (created, backup_path): ``created`` is True for a new, empty
    database; ``backup_path`` is where the pre-upgrade copy went, if one was
    needed.
    """
    rev = current_revision(engine)
    if rev is None:
        if create_schema(engine, fill):
            return True, None
        rev = current_revision(engine)  # another program created it first
    if rev == SCHEMA_HEAD:
        return False, None
    if rev is None:
        raise SchemaError("The database changed while it was being created; open it again.")
    if rev not in SCHEMA_REVISIONS:
        raise SchemaError(
            f"This CMDB was written by a newer version of CMDB Desktop (schema {rev}); "
            "update the program to open it."
        )
    backup_path = None
    path = sqlite_path(url)
    if backup and path is not None:
        backup_path = backup_sqlite(path, f"schema-{rev}")
        log.info("backed up %s to %s before upgrading schema %s", path, backup_path, rev)
    upgrade(engine)
    return False, backup_path


@contextmanager
def read_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for reading; it never holds a write lock."""
    with factory() as session, session.connection(execution_options={"sqlite_begin": "DEFERRED"}):
        yield session
        session.rollback()
