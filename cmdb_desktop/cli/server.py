"""``cmdb server …``: team mode on PostgreSQL (PRODUCT.md §12).

``server setup ADMIN_URL --database NAME`` creates the database, its schema and
the three roles; ``server grant USER ROLE`` (with ``--db`` an admin's URL of
that database) gives a colleague a role; ``server check`` reports the server
version, the schema, the roles and the latency. The work is in
:mod:`cmdb_desktop.team`.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterable
from typing import Any

from cmdb_desktop.cli.common import EXIT_BAD_INPUT, EXIT_OK, Context
from cmdb_desktop.errors import ValidationError


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("server", parents=parents, help="team mode: set up and check a server")
    server = p.add_subparsers(dest="server_command", metavar="SERVER_COMMAND")
    server.required = True

    s = server.add_parser(
        "setup",
        parents=parents,
        help="create a CMDB database on a PostgreSQL server, its schema and the three roles",
    )
    s.add_argument("admin_url", metavar="ADMIN_URL", help="postgresql://ADMIN@HOST:PORT/postgres")
    s.add_argument("--database", required=True, metavar="NAME", help="the CMDB's database")
    s.set_defaults(func=cmd_setup)

    g = server.add_parser(
        "grant",
        parents=parents,
        help="give USER a role (viewer, editor or admin) in the --db database",
    )
    g.add_argument("user", metavar="USER")
    g.add_argument("role", metavar="ROLE", choices=("viewer", "editor", "admin"))
    g.add_argument(
        "--password-stdin",
        action="store_true",
        help="read a new login's password from standard input (else it is asked for)",
    )
    g.set_defaults(func=cmd_grant)

    c = server.add_parser(
        "check", parents=parents, help="server version, schema, roles and latency of --db"
    )
    c.set_defaults(func=cmd_check)


def _server_url(ctx: Context) -> str:
    from cmdb_desktop.db import display_url  # noqa: PLC0415 (see cli/__init__.py's start-up rule)

    if "://" not in ctx.db_target:
        raise ValidationError(
            f"{display_url(ctx.db_target)} is a file: `cmdb server` works on a PostgreSQL "
            "server; give --db postgresql://USER@HOST:PORT/DATABASE."
        )
    return ctx.db_target


def cmd_setup(ctx: Context, args: argparse.Namespace) -> int:
    from cmdb_desktop import team

    result = team.setup(args.admin_url, args.database)

    def lines() -> Iterable[str]:
        done = "created" if result.created_database else "already there"
        yield f"Database {result.database}: {done}; schema " + (
            "created" if result.created_schema else "up to date"
        )
        for role, name in result.roles.items():
            yield f"  role {role:<7} {name}"
        yield f"Connect with: {result.url}"
        yield "Add colleagues with: cmdb --db URL server grant USER viewer|editor|admin"

    ctx.emit(result.to_json(), lines)
    return EXIT_OK


def cmd_grant(ctx: Context, args: argparse.Namespace) -> int:
    from cmdb_desktop import team

    url = _server_url(ctx)
    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not team.login_exists(url, args.user) and sys.stdin.isatty():
        password = ask_password(args.user)
    created = team.grant(url, args.user, args.role, password)
    ctx.emit(
        {"user": args.user, "role": args.role, "created_login": created},
        f"{args.user} is now {args.role}" + (" (new login)" if created else ""),
    )
    return EXIT_OK


def ask_password(user: str) -> str:
    """A new login's password, typed twice at the terminal (never echoed)."""
    first = getpass.getpass(f"Password for the new login {user}: ")
    if first != getpass.getpass("Again: "):
        raise ValidationError("The two passwords differ; nothing was changed.")
    return first


def cmd_check(ctx: Context, args: argparse.Namespace) -> int:
    from cmdb_desktop import team

    report = team.check(_server_url(ctx))

    def lines() -> Iterable[str]:
        yield f"Server      {report['url']}"
        yield f"Version     PostgreSQL {report['server_version']}"
        yield f"Schema      {report['schema'] or 'none'} (this program: {report['program_schema']})"
        for role, info in report["roles"].items():
            state = ", ".join(info["members"]) or "no members"
            if not info["exists"]:
                state = "missing"
            yield f"Role {role:<7}{info['name']}: {state}"
        yield f"Your role   {report['your_role']}"
        yield f"Latency     {report['latency_ms']} ms"
        for problem in report["problems"]:
            yield f"problem: {problem}"

    ctx.emit(report, lines)
    return EXIT_OK if report["ok"] else EXIT_BAD_INPUT
