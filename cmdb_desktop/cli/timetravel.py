"""Time-travel commands (PRODUCT.md §11): ``diff``, ``baseline add|list``, ``restore``.

``--as-of`` itself is an option of show, export, impact, depends, spof, path
and health (:func:`cmdb_desktop.cli.common.as_of_option`).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cmdb_desktop.cli.common import EXIT_OK, Context, table


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "diff",
        parents=parents,
        help="net changes between two moments (times or baselines; TO defaults to now)",
        description=(
            "List what changed between FROM and TO: CIs created and deleted, fields "
            "changed (a field changed and changed back is not listed), relationships "
            "created and deleted. A moment is a date (2026-06-30: the end of that day), "
            "a date and time (UTC unless it carries an offset), or a baseline name."
        ),
    )
    p.add_argument("start", metavar="FROM")
    p.add_argument("end", metavar="TO", nargs="?")
    p.add_argument("-o", "--output", metavar="FILE.xlsx", help="also write the changes as a report")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("baseline", parents=parents, help="named moments to compare with")
    bsub = p.add_subparsers(dest="baseline_command", metavar="add|list")
    bsub.required = True
    q = bsub.add_parser("add", parents=parents, help="name this moment (or --at TIME)")
    q.add_argument("name", metavar="NAME")
    q.add_argument("--at", metavar="TIME", help="name an earlier moment instead of now")
    q.set_defaults(func=cmd_baseline_add)
    q = bsub.add_parser("list", parents=parents, help="the baselines, oldest first")
    q.set_defaults(func=cmd_baseline_list)

    p = sub.add_parser(
        "restore",
        parents=parents,
        help="bring a deleted CI back with its fields and surviving relationships",
    )
    p.add_argument("ci", metavar="CI", help="#ID, or the Class/Name or name of a deleted CI")
    p.set_defaults(func=cmd_restore)


def _diff_lines(data: dict[str, Any]) -> Iterable[str]:
    cis, rels = data["cis"], data["relationships"]
    yield f"Changes from {data['from']} to {data['to']}"
    for kind in ("created", "deleted"):
        items = cis[kind]
        yield f"CIs {kind}: {len(items)}"
        for ci in items:
            yield f"  #{ci['id']} {ci['class']}/{ci['name']}"
    changed = cis["changed"]
    yield f"Fields changed: {len(changed)}"
    if changed:
        rows = [
            (f"#{c['ci']['id']} {c['ci']['name']}", c["field"], c["old"] or "∅", c["new"] or "∅")
            for c in changed
        ]
        yield from ("  " + line for line in table(rows, ("CI", "Field", "Old", "New")))
    for kind in ("created", "deleted"):
        items = rels[kind]
        yield f"Relationships {kind}: {len(items)}"
        for r in items:
            yield f"  {r['source']} {r['type']} {r['target']}"


def cmd_diff(ctx: Context, args: argparse.Namespace) -> int:
    from cmdb_desktop.asof import diff  # noqa: PLC0415

    data = diff(ctx.open(), args.start, args.end)
    if args.output:
        from importers.diff_report import write_diff_report  # noqa: PLC0415 (openpyxl)

        write_diff_report(data, Path(args.output))
        ctx.note(f"Report written to {args.output}")
    ctx.emit(data, lambda: _diff_lines(data))
    return EXIT_OK


def cmd_baseline_add(ctx: Context, args: argparse.Namespace) -> int:
    from cmdb_desktop.asof import add_baseline  # noqa: PLC0415

    info = add_baseline(ctx.open(), args.name, args.at)
    ctx.emit(info.to_json(), f"Baseline {info.name!r} at {info.at:%Y-%m-%d %H:%M:%S} UTC")
    return EXIT_OK


def cmd_baseline_list(ctx: Context, args: argparse.Namespace) -> int:
    from cmdb_desktop.asof import list_baselines  # noqa: PLC0415

    found = list_baselines(ctx.open())
    rows = [(b.name, f"{b.at:%Y-%m-%d %H:%M:%S}", b.user) for b in found]
    ctx.emit(
        {"baselines": [b.to_json() for b in found]},
        lambda: table(rows, ("Name", "At (UTC)", "By")) if rows else iter(["No baselines yet."]),
    )
    return EXIT_OK


def cmd_restore(ctx: Context, args: argparse.Namespace) -> int:
    from cmdb_desktop.asof import restore  # noqa: PLC0415

    cmdb = ctx.open()
    summary = restore(cmdb, args.ci, source=ctx.source)
    ci_id = summary.created[0]
    ref = cmdb.items.refs([ci_id])[ci_id]
    data = {
        "ci": ref.to_json(),
        "relationships": len(summary.relationships_created),
    }
    ctx.emit(
        data,
        f"Restored #{ref.id} {ref.class_name}/{ref.name} with "
        f"{len(summary.relationships_created)} relationship(s)",
    )
    return EXIT_OK
