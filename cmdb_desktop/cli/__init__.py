"""The ``cmdb`` command line (PRODUCT.md §6).

``cmdb [--db PATH_OR_URL] [--format json] COMMAND …``. Exit codes: 0 ok,
2 bad input or reference, 3 conflict (1 only for a bug, with its traceback
in the log). This package is a front end: it is the only part of the core
that may import :mod:`importers`.

**Start-up rule (issue 20).** Every command module in :data:`COMMAND_MODULES`
is imported for every command, ``cmdb show`` included, so a module's top
level and its ``register(subparsers, parents)`` import only the standard
library and light core modules (``cli.common``, ``errors``, ``values``,
``vocabulary``…). Anything heavy — :mod:`importers` (calamine, openpyxl),
``cmdb_desktop.analysis``/``graph``/``impact`` (numpy), networkx, PySide6 —
is imported inside the command function that needs it, and named for type
hints under ``if TYPE_CHECKING:``. Option choices come from light modules
(``vocabulary`` StrEnums), not from the module that uses them. The pattern::

    if TYPE_CHECKING:
        from importers.apply import ImportResult

    def register(sub, parents):
        p = sub.add_parser("import", parents=parents, help=...)
        p.set_defaults(func=cmd_import)

    def cmd_import(ctx, args):
        from importers.apply import import_file  # only when the command runs
        ...

``tests/cmdb_desktop/test_cli_imports.py`` checks which packages ``show``,
``set`` and ``impact`` load; ``bench/bench_cli.py`` measures the start-up.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from cmdb_desktop.cli import analysis as analysis_commands
from cmdb_desktop.cli import assets as assets_commands
from cmdb_desktop.cli import audit as audit_commands
from cmdb_desktop.cli import changes as change_commands
from cmdb_desktop.cli import io as io_commands
from cmdb_desktop.cli import items as items_commands
from cmdb_desktop.cli import model as model_commands
from cmdb_desktop.cli import server as server_commands
from cmdb_desktop.cli import timetravel as timetravel_commands
from cmdb_desktop.cli.common import EXIT_BAD_INPUT, Context, common_options
from cmdb_desktop.errors import CmdbError

log = logging.getLogger("cmdb_desktop.cli")

#: Modules that add commands; each has ``register(subparsers, parents)``.
COMMAND_MODULES = [
    items_commands,
    analysis_commands,
    io_commands,
    audit_commands,
    model_commands,
    change_commands,
    assets_commands,
    timetravel_commands,
    server_commands,
]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    common = common_options()
    parser = _Parser(
        prog="cmdb",
        description="CMDB Desktop command line: CIs, relationships, impact, import and audit.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in COMMAND_MODULES:
        module.register(sub, [common])
    return parser


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run one command; returns (and, as a console script, exits with) its exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_BAD_INPUT
    ctx = Context(args, out, err)
    try:
        return int(args.func(ctx, args))
    except CmdbError as exc:
        if ctx.json:
            ctx.emit(exc.to_json())
        print(f"error: {exc}", file=err)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=err)
        return 130
    finally:
        ctx.close()


def run() -> None:
    """Console-script entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (``| head``) went away: not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = 0
    sys.stderr.flush()
    # Output is flushed and the database closed (main's ``finally``): skip the
    # interpreter's teardown, which would add ~80 ms to every command.
    os._exit(code)
