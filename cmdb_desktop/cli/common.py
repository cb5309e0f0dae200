"""What every command shares: options, opening the CMDB, output and errors.

A command is a function ``(ctx, args) -> exit code`` registered by a module's
``register(subparsers, parents)``. It prints through :meth:`Context.emit`,
which writes one JSON document with ``--format json`` and readable text
otherwise; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from cmdb_desktop.errors import ValidationError
from cmdb_desktop.progress import Progress, stderr_bar
from cmdb_desktop.records import CiRef
from cmdb_desktop.sqlite_file import default_db_path
from cmdb_desktop.vocabulary import PROFILE_PREFIX

if TYPE_CHECKING:  # SQLAlchemy and the services load when a command opens the CMDB
    from cmdb_desktop.cmdb import Cmdb
    from cmdb_desktop.history import Source
    from cmdb_desktop.quickread import QuickReader

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_CONFLICT = 3

Command = Callable[["Context", argparse.Namespace], int]


def common_options() -> argparse.ArgumentParser:
    """Options accepted before or after the command name."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        default=argparse.SUPPRESS,
        help="CMDB file or SQLAlchemy URL (default: cmdb.sqlite in your user data folder)",
    )
    parent.add_argument(
        "--format",
        choices=("text", "json"),
        default=argparse.SUPPRESS,
        help="output format (json prints one document on stdout)",
    )
    return parent


class Context:
    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.args = args
        self.out = out
        self.err = err
        self.json = getattr(args, "format", "text") == "json"
        self._db_target: str = getattr(args, "db", None) or str(default_db_path())
        self._cmdb: Cmdb | None = None
        self._as_of: Any = None

    @property
    def source(self) -> Source:
        """Where this command's changes come from, as the history records it."""
        from cmdb_desktop.history import Source  # noqa: PLC0415 (see the module's start-up rule)

        return Source.cli()

    @property
    def db_target(self) -> str:
        """The database to open: a path, a URL, or ``profile:NAME`` (a saved connection,
        its password from the keyring or asked for at the terminal)."""
        if self._db_target.startswith(PROFILE_PREFIX):
            from cmdb_desktop.connections import resolve  # noqa: PLC0415 (SQLAlchemy's URL)

            self._db_target = resolve(self._db_target, ask=_ask_password)
        return self._db_target

    def quick(self) -> QuickReader | None:
        """A read-only reader of the CMDB file through SQLite's driver alone, for a
        command that only reads and must start fast; None when the command must
        :meth:`open` the CMDB (a server, an older file, ``--as-of``, an open CMDB).
        """
        if self._cmdb is not None or getattr(self.args, "as_of", None):
            return None
        from cmdb_desktop.quickread import QuickReader  # noqa: PLC0415

        return QuickReader.open(self.db_target)

    def open(self, *, create: bool = False) -> Cmdb:
        from cmdb_desktop.cmdb import Cmdb  # noqa: PLC0415 (see the module's start-up rule)

        as_of = getattr(self.args, "as_of", None)
        if self._cmdb is None and as_of:
            from cmdb_desktop.asof import open_as_of  # noqa: PLC0415 (only with --as-of)

            live = Cmdb.open(self.db_target, create=False)
            try:
                self._as_of = open_as_of(live, as_of)
            finally:
                live.close()
            self._cmdb = self._as_of.cmdb
            self.note(f"As of {self._as_of.label} UTC (read-only)")
        if self._cmdb is None:
            self._cmdb = Cmdb.open(self.db_target, create=create)
            if self._cmdb.backup_path is not None:
                self.note(f"Upgraded the database schema; backup at {self._cmdb.backup_path}")
        return self._cmdb

    def close(self) -> None:
        if self._as_of is not None:
            self._as_of.close()
            self._as_of = None
            self._cmdb = None
        if self._cmdb is not None:
            self._cmdb.close()
            self._cmdb = None

    def progress(self) -> Progress:
        return Progress(stderr_bar(self.err), interval=0.2)

    def note(self, text: str) -> None:
        print(text, file=self.err)

    def emit(self, data: Any, text: str | Callable[[], Iterable[str]] | None = None) -> None:
        """Print ``data`` as JSON, or ``text`` (a string or a line generator) as text."""
        if self.json:
            json.dump(data, self.out, ensure_ascii=False, indent=2, default=str)
            self.out.write("\n")
            return
        if text is None:
            json.dump(data, self.out, ensure_ascii=False, indent=2, default=str)
            self.out.write("\n")
        elif isinstance(text, str):
            print(text, file=self.out)
        else:
            for line in text():
                print(line, file=self.out)

    def resolve(self, ref: str) -> int:
        return self.open().items.resolve(ref)


def as_of_option(p: argparse.ArgumentParser) -> None:
    """``--as-of TIME``: run the command on the CMDB as it was (PRODUCT.md §11)."""
    p.add_argument(
        "--as-of",
        dest="as_of",
        metavar="TIME",
        help="the CMDB as it was at TIME (2026-06-30, 2026-06-30T14:00 UTC, or a baseline)",
    )


def _ask_password(prompt: str) -> str | None:
    """A password typed at the terminal (not echoed), or None without one."""
    if not sys.stdin.isatty():
        return None
    import getpass

    return getpass.getpass(prompt)


def sheet_options(p: argparse.ArgumentParser, sheets_help: str) -> None:
    """The options of commands that read a spreadsheet the import's way
    (``import`` and ``audit``): identification keys, mapping, class, sheets."""
    p.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="ATTR[,ATTR]",
        help="identification key (repeat for ranked fallbacks)",
    )
    p.add_argument(
        "--mapping",
        metavar="FILE",
        help="mapping profile: a JSON file, or the name of a profile saved in the CMDB",
    )
    p.add_argument("--class", dest="cls", metavar="CLASS", help="class of rows without one")
    p.add_argument("--sheet", action="append", default=[], metavar="SHEET", help=sheets_help)


def whole_number(low: int, high: int = 2**63 - 1) -> Callable[[str], int]:
    """An argparse ``type``: a whole number from ``low`` to ``high`` (by default what a
    database integer holds). Anything else is a usage error (exit 2) naming the
    option, never an overflow deep inside a query."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is not between {low:,} and {high:,}")
        return value

    return parse


def parse_assignments(pairs: Sequence[str]) -> dict[str, str | None]:
    """``FIELD=VALUE`` arguments; an empty value clears the field."""
    fields: dict[str, str | None] = {}
    problems: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            problems[pair] = "expected FIELD=VALUE (quote values with spaces)"
            continue
        fields[key.strip()] = value if value.strip() else None
    if problems:
        raise ValidationError.from_problems(problems, "Bad field assignment")
    return fields


def ref_text(ref: CiRef) -> str:
    return f"#{ref.id} {ref.class_name}/{ref.name}"


def capped_lines(items: Sequence[str], limit: int, indent: str = "  ") -> Iterator[str]:
    """The first ``limit`` items, one per line, then how many more there are.

    Text output stays readable at any size; ``--format json`` has them all.
    """
    for item in items[:limit]:
        yield f"{indent}{item}"
    if len(items) > limit:
        yield f"{indent}… and {len(items) - limit:,} more (--format json lists all)"


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> Iterable[str]:
    """A plain, aligned text table."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        yield "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        if n == 0:
            yield "  ".join("-" * w for w in widths).rstrip()


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()
