"""The facade: one object that opens a CMDB and hands out its services.

>>> import tempfile, os
>>> with tempfile.TemporaryDirectory() as d:
...     with Cmdb.open(os.path.join(d, "x.sqlite")) as cmdb:
...         summary = cmdb.items.create("Server", {"name": "web01", "status": "In Use"})
...         cmdb.items.get(summary.created[0]).name
'web01'
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, text, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from cmdb_desktop import catalogue
from cmdb_desktop.assets.service import AssetService
from cmdb_desktop.batches import BatchService
from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.classes import ClassService
from cmdb_desktop.db import (
    BUSY_TIMEOUT_MS,
    PG_BUSY_STATES,
    PG_CONFLICT_STATES,
    check_connection,
    copy_sqlite,
    display_url,
    ensure_schema,
    in_memory,
    make_engine,
    make_sessionmaker,
    sqlite_path,
    take_write_lock,
    to_url,
)
from cmdb_desktop.errors import (
    BusyError,
    CmdbError,
    ConflictError,
    DatabaseConnectionError,
    NotAllowedError,
    ReadOnlyError,
    SchemaError,
)
from cmdb_desktop.history import HistoryService, current_user
from cmdb_desktop.items import ItemService
from cmdb_desktop.metamodel import Metamodel
from cmdb_desktop.migrations import SCHEMA_HEAD
from cmdb_desktop.models import AttributeDef, CiClass, CmdbState, RelationshipType
from cmdb_desktop.relations import RelationService
from cmdb_desktop.saved import SavedItemService
from cmdb_desktop.search import SearchService
from cmdb_desktop.sqlite_file import examine, storage_error

if TYPE_CHECKING:
    from cmdb_desktop.analysis import AnalysisService
    from cmdb_desktop.live import ChangeWatcher

log = logging.getLogger(__name__)

Listener = Callable[[ChangeSummary], None]

#: How many times a write waits the busy timeout for another writer's lock.
WRITE_LOCK_ATTEMPTS = 2


class Cmdb:
    """An open CMDB database.

    Services: :attr:`items`, :attr:`relations`, :attr:`history`,
    :attr:`classes`, :attr:`search`, :attr:`saved`, :attr:`analysis`. Each call opens its own
    short-lived session, so one ``Cmdb`` may be used from several threads;
    sessions themselves are never shared.
    """

    def __init__(
        self, url: str, engine: Engine, *, user: str | None = None, read_only: str | None = None
    ) -> None:
        self.url = url
        self.engine = engine
        self.path: Path | None = sqlite_path(url)
        #: Why this CMDB may be read but not written (a read-only file or folder), or None.
        self.read_only = read_only
        self.user = user or current_user()
        self._sessions: sessionmaker[Session] = make_sessionmaker(engine)
        self._listeners: list[Listener] = []
        self._meta_lock = threading.Lock()
        self._meta: Metamodel | None = None
        self._meta_generation = -1
        self.created = False
        self.backup_path: Path | None = None
        self.items = ItemService(self)
        self.relations = RelationService(self)
        self.history = HistoryService(self)
        self.classes = ClassService(self)
        self.search = SearchService(self)
        self.saved = SavedItemService(self)
        self.assets = AssetService(self)
        self.batches = BatchService(self)
        self._analysis: AnalysisService | None = None
        self._analysis_lock = threading.Lock()
        self._role: str | None = None

    @property
    def role(self) -> str:
        """The team role of this login (:mod:`cmdb_desktop.team`): ``viewer``, ``editor``
        or ``admin``; a file is the admin's own. Read once, when first asked."""
        if self._role is None:
            if self.path is not None:
                self._role = "admin"
            else:
                from cmdb_desktop.team import current_role

                with self.read() as s:
                    self._role = current_role(s.connection())
        return self._role

    def may(self, what: str) -> bool:
        """Whether this login's role may ``"write"`` (CIs, relationships, imports) or
        change the ``"catalogue"``: front ends grey out what it may not. A read-only
        CMDB (:attr:`read_only`: a read-only file, the CMDB as it was at a moment)
        may do neither."""
        if self.read_only is not None:
            return False
        if what == "catalogue":
            return self.role == "admin"
        return self.role in ("editor", "admin")

    @property
    def analysis(self) -> AnalysisService:
        """Impact analysis (:mod:`cmdb_desktop.analysis`), created on first use.

        Lazy so that commands which never analyse do not load numpy.
        """
        with self._analysis_lock:
            if self._analysis is None:
                from cmdb_desktop.analysis import AnalysisService

                self._analysis = AnalysisService(self)
            return self._analysis

    # -- opening -------------------------------------------------------------
    @classmethod
    def open(
        cls,
        target: str | os.PathLike[str],
        *,
        user: str | None = None,
        create: bool = True,
        backup: bool = True,
    ) -> Cmdb:
        """Open (and, if ``create``, create) the CMDB at a path or SQLAlchemy URL.

        An older schema is upgraded after a backup copy is written beside the
        file (``backup_path`` tells where).

        A file is examined before anything else touches it
        (:func:`cmdb_desktop.sqlite_file.examine`): a database this program did
        not create, or a damaged one, is refused untouched. A file or folder we
        may not write opens read-only (:attr:`read_only` says why; writes raise
        ReadOnlyError). An empty file (0 bytes, or a database without any
        schema) becomes a CMDB like a new one, if ``create``.
        """
        url = to_url(target)
        path = sqlite_path(url)
        if in_memory(url):
            raise DatabaseConnectionError(
                f"{display_url(url)} names an in-memory database: a CMDB there would vanish "
                "when the program ends. Give a file path."
            )
        found = None
        if path is not None:
            found = examine(path, timeout=BUSY_TIMEOUT_MS / 1000)
            if found.revision is None and not create:
                what = "is empty" if found.exists else "does not exist"
                raise SchemaError(
                    f"No CMDB at {path}: the file {what}. Create one with `cmdb init`."
                )
            if found.read_only is not None:
                _check_readable(path, found.read_only, found.revision)
            elif not found.exists:
                path.parent.mkdir(parents=True, exist_ok=True)
        read_only = found.read_only if found is not None else None
        engine = make_engine(url, reader=found if read_only is not None else None)
        try:
            with _storage_errors(path or display_url(url)):
                check_connection(engine, url)
                created, backup_path = ensure_schema(engine, url, _seed, backup=backup)
            cmdb = cls(url, engine, user=user, read_only=read_only)
            cmdb.created = created
            cmdb.backup_path = backup_path
        except Exception:
            engine.dispose()
            raise
        return cmdb

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Cmdb:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- sessions ------------------------------------------------------------
    @contextmanager
    def read(self) -> Iterator[Session]:
        """A short-lived session for reading (never takes the write lock)."""
        with _storage_errors(self.describe()), self._sessions() as s:
            s.connection(execution_options={"sqlite_begin": "DEFERRED"})
            try:
                yield s
            finally:
                s.rollback()

    @contextmanager
    def write(self, *, checked_bulk: bool = False) -> Iterator[Session]:
        """A short-lived session whose work commits as one transaction on success.

        ``checked_bulk``: the transaction writes through a
        :class:`~cmdb_desktop.batches.BatchWriter`, which checks that every
        row it inserts names a CI, class and type that exist (its history
        statements join them and count), so SQLite's own foreign-key lookups,
        one per reference and row, are off for it (on SQLite).

        On SQLite the transaction starts with ``BEGIN IMMEDIATE`` so a second
        writer waits (busy timeout) instead of failing half-way. Taking the lock
        is the only step that can wait: it is retried once (nothing has been
        done yet, so that is safe), then :class:`BusyError` says who to wait for,
        never a raw "database is locked". On PostgreSQL the same lock is an advisory
        lock (:func:`cmdb_desktop.db.take_write_lock`), with the same wait and the
        same BusyError; a deadlock or serialization failure the server reports all
        the same (a writer that does not take it) is a ConflictError, nothing written.

        A read-only CMDB refuses (:class:`ReadOnlyError`) before anything else;
        a full disk or a damaged file ends the transaction with the error that
        says so (:func:`cmdb_desktop.sqlite_file.storage_error`), nothing written.
        """
        if self.read_only is not None:
            raise ReadOnlyError(
                f"{self.describe()} is read-only: {self.read_only}; nothing was changed. "
                "Make it writable (or work on a copy) to change it."
            )
        if self.path is None and self.role == "viewer":
            raise NotAllowedError("viewer")
        with (
            _storage_errors(self.describe()),
            _role_errors(self),
            _server_conflicts(self.describe()),
            self._sessions() as s,
        ):
            for attempt in range(WRITE_LOCK_ATTEMPTS):
                try:
                    options: dict[str, Any] = {"sqlite_begin": "IMMEDIATE"}
                    if checked_bulk:
                        options["sqlite_foreign_keys"] = False
                    take_write_lock(s.connection(execution_options=options))
                    break
                except OperationalError as exc:
                    if not _is_busy(exc):
                        raise
                    s.rollback()
                    if attempt + 1 == WRITE_LOCK_ATTEMPTS:
                        raise BusyError(
                            f"The CMDB is busy: another program (an import, a rollback, "
                            f"another window) has been writing to {self.describe()} for "
                            "longer than we waited. Nothing was written; try again when it "
                            "has finished."
                        ) from None
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    # -- catalogue -----------------------------------------------------------
    @property
    def meta(self) -> Metamodel:
        """The current class catalogue (reloaded when another process changed it)."""
        meta = self._meta
        if meta is None:
            return self.reload_meta()
        return meta

    def reload_meta(self) -> Metamodel:
        with self._meta_lock, self.read() as s:
            # Plain SQL: opening a CMDB waits for this, and a new engine compiles afresh.
            gen = (
                s.connection()
                .exec_driver_sql("SELECT catalogue_generation FROM cmdb_state WHERE id = 1")
                .scalar()
            )
            self._meta = Metamodel.load(s)
            self._meta_generation = int(gen or 0)
            return self._meta

    def refresh(self) -> bool:
        """Reload the catalogue if another process changed it; True if it did."""
        gen = self.generations()["catalogue"]
        if gen != self._meta_generation:
            self.reload_meta()
            return True
        return False

    # -- state and notifications --------------------------------------------
    def generations(self) -> dict[str, int]:
        """Counters that move when data, the impact graph or the catalogue change."""
        with self.read() as s:
            # Plain SQL: polled every few seconds and read when a CMDB opens (no
            # ORM objects, nothing to compile on a new engine).
            data, graph, catalogue = (
                s.connection()
                .exec_driver_sql(
                    "SELECT data_generation, graph_generation, catalogue_generation"
                    " FROM cmdb_state WHERE id = 1"
                )
                .one()
            )
            return {"data": int(data), "graph": int(graph), "catalogue": int(catalogue)}

    def bump(self, s: Session, *, graph: bool = False, catalogue: bool = False) -> None:
        """Move the change counters inside the writing transaction ``s``."""
        values: dict[str, Any] = {"data_generation": CmdbState.data_generation + 1}
        if graph:
            values["graph_generation"] = CmdbState.graph_generation + 1
        if catalogue:
            values["catalogue_generation"] = CmdbState.catalogue_generation + 1
        s.execute(update(CmdbState).where(CmdbState.id == 1).values(**values))
        if self.path is None and self.engine.dialect.name == "postgresql":
            from cmdb_desktop.live import notify_sql

            # delivered to the open windows at commit (cmdb_desktop.live)
            s.execute(text(notify_sql()))

    def watch(self, on_change: Callable[[], None]) -> ChangeWatcher | None:
        """Call ``on_change()`` (from another thread) after each commit by anyone, on a
        server database; None for a file (the window's poll sees those)."""
        if self.path is not None or self.engine.dialect.name != "postgresql":
            return None
        from cmdb_desktop.live import ChangeWatcher

        return ChangeWatcher(self.url, on_change).start()

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(summary)`` after every committed write (from the writing thread)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def notify(self, summary: ChangeSummary) -> None:
        if summary.catalogue_changed:
            self.reload_meta()
        for listener in list(self._listeners):
            try:
                listener(summary)
            except Exception:  # a broken view must not undo a committed write
                log.exception("change listener failed")

    # -- files ---------------------------------------------------------------
    def save_copy(self, dest: str | os.PathLike[str]) -> Path:
        """Write a consistent copy of this (SQLite) CMDB to ``dest``."""
        if self.path is None:
            raise CmdbError("Only a CMDB stored in a file can be saved as a copy.")
        out = Path(dest).expanduser().resolve()
        if out == self.path.resolve():
            raise CmdbError("Choose a different file: that is the open CMDB itself.")
        copy_sqlite(self.path, out)
        return out

    def describe(self) -> str:
        """The database as users see it: the file's path, or the URL without its password."""
        return str(self.path) if self.path is not None else display_url(self.url)


def _seed(s: Session) -> None:
    """The default catalogue of a new CMDB (classes, attributes, relationship types),
    written inside the transaction that creates the schema."""
    by_name: dict[str, CiClass] = {}
    for spec in catalogue.DEFAULT_CLASSES:
        row = CiClass(
            name=spec.name,
            parent_id=by_name[spec.parent].id if spec.parent else None,
            abstract=spec.abstract,
            service=spec.service,
            icon=spec.icon,
            description=spec.description,
            id_rules=spec.id_rules,
            identity_scope=spec.identity_scope,
            required_fields=list(spec.required),
            defaults=dict(spec.defaults) or None,
            recommended_fields=list(spec.recommended),
            expects_relationships=spec.expects_relationships,
            lifecycle=spec.lifecycle,
            builtin=True,
        )
        s.add(row)
        s.flush()
        by_name[spec.name] = row
        for pos, attr in enumerate(spec.attributes):
            s.add(
                AttributeDef(
                    class_id=row.id,
                    key=attr.key,
                    label=attr.label,
                    type=attr.type,
                    column=attr.column,
                    choices=attr.choices,
                    min_value=attr.min_value,
                    max_value=attr.max_value,
                    position=pos,
                    description=attr.description,
                    builtin=True,
                )
            )
    for rt in catalogue.RELATIONSHIP_TYPES:
        s.add(
            RelationshipType(
                name=rt.name,
                reverse_name=rt.reverse_name,
                impact=rt.impact,
                description=rt.description,
                builtin=True,
            )
        )
    s.execute(update(CmdbState).values(catalogue_generation=CmdbState.catalogue_generation + 1))


def _is_busy(exc: OperationalError) -> bool:
    if getattr(exc.orig, "sqlstate", None) in PG_BUSY_STATES:  # PostgreSQL: lock_timeout
        return True
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return code in (5, 6) or "database is locked" in str(exc.orig)  # SQLITE_BUSY, _LOCKED


@contextmanager
def _server_conflicts(where: str) -> Iterator[None]:
    """A transaction PostgreSQL refused because another one got in its way (deadlock,
    serialization failure, a lock waited for too long) was rolled back whole: the
    user hears that, and that trying again is safe, never the driver's words."""
    try:
        yield
    except DBAPIError as exc:
        state = getattr(getattr(exc, "orig", None), "sqlstate", None)
        if state in PG_BUSY_STATES:
            raise BusyError(
                f"The CMDB is busy: another user (an import, a rollback) has been writing to "
                f"{where} for longer than we waited. Nothing was written; try again when it "
                "has finished."
            ) from None
        if state in PG_CONFLICT_STATES:
            raise ConflictError(
                f"Another user's change to {where} got in the way of this one at the same "
                "moment; nothing was written. Try again: it will see their change."
            ) from None
        raise


def _check_readable(path: Path, why: str, revision: str | None) -> None:
    """Refuse to open a read-only file that would have to be written first: a new
    CMDB (created in it) or an older one (its schema upgraded)."""
    if revision is None:
        raise ReadOnlyError(f"Cannot create a CMDB at {path}: {why}; nothing was changed.")
    if revision != SCHEMA_HEAD:
        raise ReadOnlyError(
            f"{path} is read-only: {why}; nothing was changed. It was written by an older "
            "version of CMDB Desktop, and its schema must be upgraded (written) before this "
            "version can read it: make it writable and open it again."
        )


@contextmanager
def _role_errors(cmdb: Cmdb) -> Iterator[None]:
    """A write the server refused for want of a grant (SQLSTATE 42501) is the role's
    refusal (NotAllowedError), never a raw driver error."""
    try:
        yield
    except DBAPIError as exc:
        if getattr(getattr(exc, "orig", None), "sqlstate", None) == "42501":
            what = "change the class catalogue" if cmdb.role == "editor" else "change this CMDB"
            raise NotAllowedError(cmdb.role, what) from None
        raise


@contextmanager
def _storage_errors(where: Path | str) -> Iterator[None]:
    """Turn what the database reports about its storage (damaged, full, read-only…)
    into the user-facing error that says so; anything else goes on as it is."""
    try:
        yield
    except (DBAPIError, sqlite3.Error) as exc:
        err = storage_error(exc, where)
        if err is None:
            raise
        raise err from exc
