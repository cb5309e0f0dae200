"""Team mode on PostgreSQL (PRODUCT.md §12): setting up a server database, its
three roles, granting them to colleagues, checking a server, and telling which
role the current login has.

The database enforces the roles with grants; the application only reads them
to refuse early with a clear message (:class:`cmdb_desktop.errors.NotAllowedError`)
and to grey out what a role may not do:

- ``viewer``: reads everything;
- ``editor``: a viewer who also writes CIs, relationships, batches and saved
  items, and appends to the history;
- ``admin``: an editor who also changes the catalogue (classes, attributes,
  relationship types) and grants roles.

The history is append-only for every role (the triggers of the first
migration), and no role but the owner may update or delete a history row by
grant either. Role names are per database (``<database>_viewer`` …), so one
server can hold several CMDBs with different teams.

This is a storage module (tests/test_layout.py): it holds SQL text.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from cmdb_desktop.db import connection_error, display_url, make_engine
from cmdb_desktop.dialect import pg_search_index_sql
from cmdb_desktop.errors import CmdbError, NotAllowedError, ValidationError

#: The roles, weakest first.
ROLES = ("viewer", "editor", "admin")
#: What a login that is not in any of our roles may do: on a database set up
#: without ``cmdb server setup`` (no roles), as before team mode: everything.
UNMANAGED = "admin"

#: Tables an editor writes (besides appending to change_record).
_EDITOR_TABLES = ("ci", "relationship", "import_batch", "saved_item")
#: The catalogue: only an admin writes it.
_ADMIN_TABLES = ("ci_class", "attribute_def", "relationship_type")


def role_name(database: str, role: str) -> str:
    """The PostgreSQL role that stands for ``role`` in ``database``."""
    return f"{database}_{role}"[:63]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _is_postgres(url: URL) -> bool:
    return url.get_backend_name() == "postgresql"


def _parse(url_text: str) -> URL:
    engine = make_engine(url_text)  # a clear error for a bad URL or a missing driver
    engine.dispose()
    url = make_url(url_text)
    if not _is_postgres(url):
        raise ValidationError(
            f"{display_url(url_text)} is not a PostgreSQL server: team mode needs one "
            "(postgresql://USER@HOST:PORT/DATABASE)."
        )
    return url


def _connect(url_text: str, **options: Any) -> Engine:
    engine = make_engine(url_text)
    if options:
        engine = engine.execution_options(**options)
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        engine.dispose()
        raise connection_error(url_text, exc) from None
    return engine


def _refusal(exc: DBAPIError, url_text: str, what: str) -> CmdbError:
    reason = " ".join(str(getattr(exc, "orig", exc)).split())
    password = make_url(url_text).password
    if password:
        reason = reason.replace(str(password), "***")
    return ValidationError(
        f"The server refused to {what}: {reason} Use an admin URL (a superuser, or a "
        "role with CREATEDB and CREATEROLE)."
    )


# -- the current login ---------------------------------------------------------------


def current_role(conn: Connection) -> str:
    """``viewer``, ``editor`` or ``admin``: what the login of ``conn`` may do here.

    A superuser and the database's owner are admins; a database without our
    roles is unmanaged (:data:`UNMANAGED`); a login in none of them is a viewer.
    """
    if conn.dialect.name != "postgresql":
        return UNMANAGED
    row = conn.execute(
        text(
            "SELECT current_database(), r.rolsuper, "
            "pg_get_userbyid(d.datdba) = current_user "
            "FROM pg_roles r, pg_database d "
            "WHERE r.rolname = current_user AND d.datname = current_database()"
        )
    ).one()
    database, superuser, owner = str(row[0]), bool(row[1]), bool(row[2])
    if superuser or owner:
        return "admin"
    names = {role: role_name(database, role) for role in ROLES}
    present = {
        str(n)
        for (n,) in conn.execute(
            text("SELECT rolname FROM pg_roles WHERE rolname = ANY(:names)"),
            {"names": list(names.values())},
        )
    }
    if not present:
        return UNMANAGED
    for role in reversed(ROLES):
        if names[role] in present and conn.execute(
            text("SELECT pg_has_role(current_user, :r, 'MEMBER')"), {"r": names[role]}
        ).scalar():
            return role
    return "viewer"


# -- set-up --------------------------------------------------------------------------


@dataclass
class SetupResult:
    database: str
    url: str  # without password
    created_database: bool
    created_schema: bool
    roles: dict[str, str] = field(default_factory=dict)  # role -> PostgreSQL role name

    def to_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "url": self.url,
            "created_database": self.created_database,
            "created_schema": self.created_schema,
            "roles": self.roles,
        }


def setup(admin_url: str, database: str) -> SetupResult:
    """Create ``database`` on the server of ``admin_url`` (if missing), its schema
    (Alembic, with the default catalogue), the three roles and their grants.

    Safe to run again (after an upgrade, say): it only adds what is missing and
    grants again.
    """
    from cmdb_desktop.cmdb import Cmdb

    if not database or database != database.strip() or "\x00" in database:
        raise ValidationError(f"{database!r} is not a database name.")
    url = _parse(admin_url)
    admin = _connect(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}
            ).first()
            if not exists:
                try:
                    conn.exec_driver_sql(f"CREATE DATABASE {_quote(database)}")
                except DBAPIError as exc:
                    raise _refusal(exc, admin_url, f"create the database {database}") from None
            for role in ROLES:
                name = role_name(database, role)
                if not conn.execute(
                    text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": name}
                ).first():
                    try:
                        conn.exec_driver_sql(f"CREATE ROLE {_quote(name)} NOLOGIN")
                    except DBAPIError as exc:
                        raise _refusal(exc, admin_url, f"create the role {name}") from None
    finally:
        admin.dispose()
    target = url.set(database=database).render_as_string(hide_password=False)
    with Cmdb.open(target, user=url.username or None) as cmdb:
        created_schema = cmdb.created
        with cmdb.engine.begin() as conn:
            _grant_all(conn, database)
    return SetupResult(
        database=database,
        url=display_url(target),
        created_database=not exists,
        created_schema=created_schema,
        roles={role: role_name(database, role) for role in ROLES},
    )


def _grant_all(conn: Connection, database: str) -> None:
    viewer, editor, admin = (_quote(role_name(database, r)) for r in ROLES)
    run = conn.exec_driver_sql
    run(f"REVOKE ALL ON DATABASE {_quote(database)} FROM PUBLIC")
    run(f"GRANT CONNECT, TEMPORARY ON DATABASE {_quote(database)} TO {viewer}")
    run("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    run(f"GRANT USAGE ON SCHEMA public TO {viewer}")
    run(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {viewer}")
    run(f"GRANT {viewer} TO {editor}")
    run(f"GRANT {editor} TO {admin}")
    tables = ", ".join(_EDITOR_TABLES)
    run(f"GRANT INSERT, UPDATE, DELETE ON {tables} TO {editor}")
    run(f"GRANT UPDATE ON cmdb_state TO {editor}")
    # the history: append-only by grant as well as by trigger
    run(f"REVOKE UPDATE, DELETE, TRUNCATE ON change_record FROM {viewer}, {editor}, {admin}")
    run(f"GRANT INSERT ON change_record TO {editor}")
    run(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {editor}")
    run(f"GRANT INSERT, UPDATE, DELETE ON {', '.join(_ADMIN_TABLES)} TO {admin}")
    for statement in pg_search_index_sql():  # the text search's trigram index
        run(statement)


# -- granting --------------------------------------------------------------------------


def grant(url_text: str, user: str, role: str, password: str | None = None) -> bool:
    """Give login ``user`` the ``role`` in the database of ``url_text`` (an admin's
    URL), in place of any other of our roles. A login that does not exist is
    created with ``password`` (required then). Returns True if it was created."""
    if role not in ROLES:
        raise ValidationError(f"{role!r} is not a role: choose one of {', '.join(ROLES)}.")
    if not user or user != user.strip():
        raise ValidationError(f"{user!r} is not a user name.")
    url = _parse(url_text)
    database = url.database or ""
    engine = _connect(url_text)
    created = False
    try:
        with engine.begin() as conn:
            if current_role(conn) != "admin":
                raise NotAllowedError(current_role(conn), "grant roles")
            names = {r: role_name(database, r) for r in ROLES}
            missing = [
                n
                for n in names.values()
                if not conn.execute(
                    text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": n}
                ).first()
            ]
            if missing:
                raise ValidationError(
                    f"{database} has no team roles yet ({', '.join(missing)} missing): run "
                    f"`cmdb server setup ADMIN_URL --database {database}` first."
                )
            exists = conn.execute(
                text("SELECT 1 FROM pg_roles WHERE rolname = :u"), {"u": user}
            ).first()
            if not exists:
                if not password:
                    raise ValidationError(
                        f"There is no login {user!r} on the server: give a password for it "
                        "(--password-stdin, or type it at the prompt) to create it."
                    )
                quoted_password = "'" + password.replace("'", "''") + "'"
                conn.exec_driver_sql(
                    f"CREATE ROLE {_quote(user)} LOGIN PASSWORD {quoted_password}"
                )
                created = True
            for other in ROLES:
                conn.exec_driver_sql(f"REVOKE {_quote(names[other])} FROM {_quote(user)}")
            conn.exec_driver_sql(f"GRANT {_quote(names[role])} TO {_quote(user)}")
    except DBAPIError as exc:
        raise _refusal(exc, url_text, f"grant {role} to {user}") from None
    finally:
        engine.dispose()
    return created


def login_exists(url_text: str, user: str) -> bool:
    """Whether the server of ``url_text`` has a role ``user``."""
    _parse(url_text)
    engine = _connect(url_text)
    try:
        with engine.connect() as conn:
            return (
                conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :u"), {"u": user}).first()
                is not None
            )
    finally:
        engine.dispose()


# -- checking --------------------------------------------------------------------------


def check(url_text: str) -> dict[str, Any]:
    """What ``cmdb server check`` reports: server version, schema revision against
    this program's, the roles and their members, your role, and the round-trip
    latency (median of 5, ms)."""
    from cmdb_desktop.migrations import SCHEMA_HEAD

    url = _parse(url_text)
    database = url.database or ""
    engine = _connect(url_text)
    try:
        with engine.connect() as conn:
            version = str(conn.execute(text("SHOW server_version")).scalar())
            tables = {
                str(n)
                for (n,) in conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
            }
            revision = None
            if "alembic_version" in tables:
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            roles: dict[str, dict[str, Any]] = {}
            for role in ROLES:
                name = role_name(database, role)
                members = [
                    str(m)
                    for (m,) in conn.execute(
                        text(
                            "SELECT m.rolname FROM pg_auth_members a "
                            "JOIN pg_roles r ON r.oid = a.roleid "
                            "JOIN pg_roles m ON m.oid = a.member "
                            "WHERE r.rolname = :r AND m.rolcanlogin ORDER BY m.rolname"
                        ),
                        {"r": name},
                    )
                ]
                present = conn.execute(
                    text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": name}
                ).first()
                roles[role] = {"name": name, "exists": present is not None, "members": members}
            yours = current_role(conn)
            timings = []
            for _ in range(5):
                start = time.perf_counter()
                conn.execute(text("SELECT 1")).scalar()
                timings.append((time.perf_counter() - start) * 1000)
            conn.rollback()
    except DBAPIError as exc:
        raise connection_error(url_text, exc) from None
    finally:
        engine.dispose()
    problems = []
    if revision is None:
        problems.append(
            f"no CMDB schema: run `cmdb server setup ADMIN_URL --database {database}`"
        )
    elif revision != SCHEMA_HEAD:
        problems.append(
            f"schema {revision}, this program's is {SCHEMA_HEAD}: an admin opens it once "
            "(or runs `cmdb server setup` again) to upgrade it"
        )
    if not all(r["exists"] for r in roles.values()):
        problems.append("team roles missing: run `cmdb server setup` to create them")
    return {
        "url": display_url(url_text),
        "server_version": version,
        "schema": revision,
        "program_schema": SCHEMA_HEAD,
        "roles": roles,
        "your_role": yours,
        "latency_ms": round(statistics.median(timings), 2),
        "problems": problems,
        "ok": not problems,
    }


__all__ = [
    "ROLES",
    "SetupResult",
    "check",
    "current_role",
    "grant",
    "role_name",
    "setup",
]
