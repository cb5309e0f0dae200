"""Impact analysis commands: impact, depends, spof, path (PRODUCT.md §5 and §6)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Iterator
from json.encoder import encode_basestring
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmdb_desktop.cli.common import EXIT_OK, Context, as_of_option, ref_text, table
from cmdb_desktop.errors import ValidationError

if TYPE_CHECKING:  # the analysis loads numpy: only when a command needs it
    from cmdb_desktop.analysis import (
        DependencyMap,
        ImpactColumns,
        ImpactedCi,
        ImpactReport,
        SpofReport,
    )

#: Non-service CIs listed in text output (JSON and the .xlsx report list all).
TEXT_LIMIT = 100


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "impact",
        parents=parents,
        help="what breaks if these CIs fail or change (blast radius)",
        description=(
            "Assume the CIs down and list every impacted CI with its state (down or "
            "degraded, honouring redundancy rules) and the shortest path from the change "
            "set that explains it (through down CIs for a down CI), whose length is its "
            "distance. Impacted services come first."
        ),
    )
    p.add_argument("cis", nargs="+", metavar="CI", help="#ID, Class/Name or a unique Name")
    p.add_argument("--depth", type=int, metavar="N", help="list only CIs at most N steps away")
    p.add_argument(
        "-o", "--output", metavar="REPORT.xlsx", help="also write a report for a change board"
    )
    as_of_option(p)
    p.set_defaults(func=cmd_impact)

    p = sub.add_parser(
        "depends", parents=parents, help="everything whose failure can reach a CI, by layer"
    )
    p.add_argument("ci", metavar="CI")
    p.add_argument("--depth", type=int, metavar="N", help="only dependencies at most N steps away")
    as_of_option(p)
    p.set_defaults(func=cmd_depends)

    p = sub.add_parser(
        "spof", parents=parents, help="CIs whose failure alone takes a CI down (honours redundancy)"
    )
    p.add_argument("ci", metavar="CI")
    as_of_option(p)
    p.set_defaults(func=cmd_spof)

    p = sub.add_parser("path", parents=parents, help="one shortest impact path from A to B")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    as_of_option(p)
    p.set_defaults(func=cmd_path)


def _check_depth(depth: int | None) -> None:
    if depth is not None and depth < 0:
        raise ValidationError(f"--depth must be 0 or more (got {depth}).", {"depth": "negative"})


def _arrow(path: Iterable[str]) -> str:
    return " → ".join(path)


def _write_json(
    ctx: Context,
    data: dict[str, Any],
    listed: str,
    lines: Iterable[str],
) -> None:
    """One JSON document whose ``listed`` entry holds one item per line (``lines``).

    Blast radii run to tens of thousands of CIs: the document is assembled as
    text and written at once, which keeps a cold ``cmdb impact`` well inside
    its budget (indented ``json.dump`` runs in Python, one call per token).
    """
    parts = ["{"]
    separator = "\n"
    for key, value in data.items():
        parts.append(f"{separator}  {json.dumps(key)}: ")
        separator = ",\n"
        if key != listed:
            parts.append(json.dumps(value, ensure_ascii=False))
            continue
        body = ",\n    ".join(lines)
        parts.append(f"[\n    {body}\n  ]" if body else "[]")
    parts.append("\n}\n")
    ctx.out.write("".join(parts))


def _json_lines(items: Iterable[Any]) -> Iterator[str]:
    for item in items:
        yield json.dumps(item.to_json(), ensure_ascii=False)


def _impacted_json_lines(columns: ImpactColumns) -> Iterator[str]:
    """Each impacted CI's ``to_json()`` encoded as ``json.dumps`` would, straight from
    the report's columns. Names recur along thousands of paths: each is escaped once."""
    escaped: dict[str, str] = {}

    def text(value: str) -> str:
        found = escaped.get(value)
        if found is None:
            found = escaped[value] = encode_basestring(value)
        return found

    for ci_id, name, cls, state, distance, path in zip(
        columns.ids,
        columns.names,
        columns.classes,
        columns.states,
        columns.distances,
        columns.paths,
        strict=True,
    ):
        steps = ", ".join([text(step) for step in path])
        yield (
            f'{{"id": {ci_id}, "name": {text(name)}, "class": {text(cls)}, '
            f'"state": {text(state)}, "distance": {distance}, "path": [{steps}]}}'
        )


# -- impact -------------------------------------------------------------------------
def cmd_impact(ctx: Context, args: argparse.Namespace) -> int:
    _check_depth(args.depth)
    report = None if args.output else _quick_impact(ctx, args)
    if report is not None:
        return _print_impact(ctx, args, report)
    cmdb = ctx.open()
    ids = [ctx.resolve(ref) for ref in args.cis]
    report = cmdb.analysis.impact(ids, depth=args.depth, progress=ctx.progress())
    if args.output:
        from importers.impact_report import write_impact_report

        written = write_impact_report(
            report,
            Path(args.output),
            cmdb=cmdb.describe(),
            user=cmdb.user,
            progress=ctx.progress(),
        )
        ctx.note(f"Impact report written to {written}")
    return _print_impact(ctx, args, report)


def _quick_impact(ctx: Context, args: argparse.Namespace) -> ImpactReport | None:
    """The report through the quick reader, on the graph kept beside a current CMDB
    file (no SQLAlchemy: issue 20's cold start); None when the services must do it."""
    quick = ctx.quick()
    if quick is None:
        return None
    with quick:
        ids = [quick.resolve(ref) for ref in args.cis]
        return quick.impact(ids, args.depth, ctx.progress())


def _print_impact(ctx: Context, args: argparse.Namespace, report: ImpactReport) -> int:
    if ctx.json:
        data = report.to_json(items=False)
        if args.output:
            data["report"] = str(Path(args.output))
        _write_json(ctx, data, "impacted", _impacted_json_lines(report.columns))
        return EXIT_OK
    ctx.emit(None, lambda: _impact_lines(report))
    return EXIT_OK


def _impact_lines(report: ImpactReport) -> Iterator[str]:
    yield "Change set: " + ", ".join(ref_text(c) for c in report.changed)
    for ref in report.inactive:
        yield f"  note: {ref_text(ref)} is Retired/Disposed and takes no part in impact"
    counts = report.counts
    scope = f" within {report.depth} step(s)" if report.depth is not None else ""
    services = report.services
    if not report.impacted:
        yield f"Nothing is impacted{scope}."
        return
    yield (
        f"Impacted{scope}: {len(report.impacted):,} CIs — {counts['down']:,} down, "
        f"{counts['degraded']:,} degraded; {len(services):,} services"
    )
    if services:
        yield ""
        yield f"Impacted services ({len(services):,}):"
        rows = [_row(i, with_criticality=True) for i in services]
        yield from table(rows, ("crit", "state", "dist", "service", "path"))
    others = [i for i in report.impacted if not i.service]
    if others:
        yield ""
        shown = others[:TEXT_LIMIT]
        more = ""
        if len(others) > len(shown):
            more = f", the first {len(shown)} (-o REPORT.xlsx or --format json lists all)"
        yield f"Other impacted CIs ({len(others):,}{more}):"
        yield from table([_row(i) for i in shown], ("state", "dist", "CI", "path"))
    yield ""
    yield (
        "down: it stops working; degraded: it runs without some of what it needs "
        "(redundancy absorbed the failure, or a dependency is degraded)."
    )


def _row(item: ImpactedCi, *, with_criticality: bool = False) -> tuple[Any, ...]:
    cells: tuple[Any, ...] = (item.state, item.distance, ref_text(item.ci), _arrow(item.path))
    if with_criticality:
        return ("-" if item.criticality is None else item.criticality, *cells)
    return cells


# -- depends, spof, path ----------------------------------------------------------------
def cmd_depends(ctx: Context, args: argparse.Namespace) -> int:
    _check_depth(args.depth)
    cmdb = ctx.open()
    deps = cmdb.analysis.depends(ctx.resolve(args.ci), depth=args.depth)
    if ctx.json:
        _write_json(ctx, deps.to_json(), "dependencies", _json_lines(deps.dependencies))
        return EXIT_OK
    ctx.emit(None, lambda: _depends_lines(deps))
    return EXIT_OK


def _depends_lines(deps: DependencyMap) -> Iterator[str]:
    if not deps.active:
        yield f"{ref_text(deps.ci)} is Retired/Disposed: it takes no part in impact."
        return
    if not deps.dependencies:
        yield f"Nothing can impact {ref_text(deps.ci)}: it has no impact predecessors."
        return
    yield (
        f"{ref_text(deps.ci)} depends on {len(deps.dependencies):,} CIs "
        "(every CI whose failure can reach it)."
    )
    yield ""
    yield "Layers:"
    yield from table(
        [(layer.class_name, layer.cis, layer.nearest) for layer in deps.layers],
        ("class", "CIs", "nearest"),
    )
    yield ""
    yield from table(
        [(d.distance, d.ci.class_name, ref_text(d.ci)) for d in deps.dependencies],
        ("dist", "class", "CI"),
    )


def cmd_spof(ctx: Context, args: argparse.Namespace) -> int:
    cmdb = ctx.open()
    report = cmdb.analysis.spof(ctx.resolve(args.ci), progress=ctx.progress())
    ctx.emit(report.to_json(), lambda: _spof_lines(report))
    return EXIT_OK


def _spof_lines(report: SpofReport) -> Iterator[str]:
    if not report.active:
        yield f"{ref_text(report.ci)} is Retired/Disposed: it takes no part in impact."
        return
    if not report.spof:
        yield (
            f"{ref_text(report.ci)} has no single point of failure among its "
            f"{report.dependencies:,} dependencies."
        )
        return
    yield (
        f"{ref_text(report.ci)}: {len(report.spof):,} of its {report.dependencies:,} "
        "dependencies take it down on their own:"
    )
    yield from table(
        [(s.distance, s.ci.class_name, ref_text(s.ci)) for s in report.spof],
        ("dist", "class", "CI"),
    )


def cmd_path(ctx: Context, args: argparse.Namespace) -> int:
    cmdb = ctx.open()
    a, b = ctx.resolve(args.a), ctx.resolve(args.b)
    path = cmdb.analysis.path(a, b)
    data = {"path": [ref.to_json() for ref in path]}

    def lines() -> Iterator[str]:
        if not path:
            refs = cmdb.items.refs([a, b])
            yield f"Impact does not flow from {ref_text(refs[a])} to {ref_text(refs[b])}."
            return
        yield f"{len(path) - 1} step(s): " + " → ".join(ref_text(r) for r in path)

    ctx.emit(data, lines)
    return EXIT_OK
