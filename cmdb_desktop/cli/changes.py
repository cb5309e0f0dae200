"""Change management commands: ``change …``, ``window …``, ``kpi`` (PRODUCT.md §9)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from cmdb_desktop.cli.common import (
    EXIT_OK,
    Context,
    capped_lines,
    parse_assignments,
    table,
    whole_number,
)
from cmdb_desktop.errors import ValidationError

if TYPE_CHECKING:
    from cmdb_desktop.change_mgmt.records import Assessment, ChangeService, ChangeView


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    change = sub.add_parser(
        "change",
        parents=parents,
        help="change records: add, edit, move, approve, list, conflicts, report",
        description="Change records (PRODUCT.md §9). Times are ISO 8601; a time without "
        "zone is local time.",
    )
    csub = change.add_subparsers(dest="change_command", metavar="ACTION", required=True)
    number = whole_number(1)

    p = csub.add_parser("add", parents=parents, help="a new Draft change")
    p.add_argument("title", metavar="TITLE")
    p.add_argument("--start", required=True, metavar="T")
    p.add_argument("--end", required=True, metavar="T")
    p.add_argument("--ci", action="append", default=[], metavar="REF", help="a CI of its set")
    p.add_argument("--kind", default="Normal", metavar="K", help="Standard, Normal or Emergency")
    p.add_argument("--assignee", metavar="X")
    p.add_argument("--description", metavar="TEXT")
    p.set_defaults(func=cmd_add)

    p = csub.add_parser("set", parents=parents, help="set fields of a change")
    p.add_argument("id", type=number, metavar="ID")
    p.add_argument("fields", nargs="+", metavar="FIELD=VALUE")
    p.add_argument("--if-version", type=int, dest="if_version", metavar="N")
    p.set_defaults(func=cmd_set)

    p = csub.add_parser("ci", parents=parents, help="add or remove CIs of a change set")
    p.add_argument("id", type=number, metavar="ID")
    p.add_argument("action", choices=("add", "remove"))
    p.add_argument("refs", nargs="+", metavar="REF")
    p.add_argument("--if-version", type=int, dest="if_version", metavar="N")
    p.set_defaults(func=cmd_ci)

    p = csub.add_parser("move", parents=parents, help="move a change to another state")
    p.add_argument("id", type=number, metavar="ID")
    p.add_argument("state", metavar="STATE")
    p.add_argument("--note", metavar="TEXT")
    p.add_argument("--if-version", type=int, dest="if_version", metavar="N")
    p.set_defaults(func=cmd_move)

    p = csub.add_parser("approve", parents=parents, help="record an approval decision")
    p.add_argument("id", type=number, metavar="ID")
    p.add_argument("--decision", required=True, choices=("approve", "reject"))
    p.add_argument("--note", metavar="TEXT")
    p.add_argument("--if-version", type=int, dest="if_version", metavar="N")
    p.set_defaults(func=cmd_approve)

    p = csub.add_parser("list", parents=parents, help="changes, with their risk")
    p.add_argument("--from", dest="start", metavar="T")
    p.add_argument("--to", dest="end", metavar="T")
    p.add_argument("--state", action="append", default=[], metavar="S")
    p.set_defaults(func=cmd_list)

    p = csub.add_parser("show", parents=parents, help="one change with its risk and history")
    p.add_argument("id", type=number, metavar="ID")
    p.set_defaults(func=cmd_show)

    p = csub.add_parser("conflicts", parents=parents, help="conflicts of a change")
    p.add_argument("id", type=number, metavar="ID")
    p.set_defaults(func=cmd_conflicts)

    p = csub.add_parser("report", parents=parents, help="the change-board pack (.xlsx or .pdf)")
    p.add_argument("id", type=number, metavar="ID")
    p.add_argument("-o", "--output", required=True, metavar="FILE.xlsx|FILE.pdf")
    p.set_defaults(func=cmd_report)

    p = csub.add_parser(
        "import",
        parents=parents,
        help="Draft changes from a schedule (Title, Start, End, CIs, Kind, Assignee)",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--sheet", metavar="SHEET")
    p.add_argument("--mapping", metavar="FILE", help='JSON {"Title": "header", …}')
    p.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
    p.add_argument("--skip-errors", action="store_true", help="write the rows without errors")
    p.set_defaults(func=cmd_import)

    window = sub.add_parser("window", parents=parents, help="maintenance and blackout windows")
    wsub = window.add_subparsers(dest="window_command", metavar="ACTION", required=True)
    p = wsub.add_parser("add", parents=parents, help="a new window")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--kind", required=True, choices=("maintenance", "blackout"))
    p.add_argument("--start", metavar="T")
    p.add_argument("--end", metavar="T")
    p.add_argument("--rrule", metavar="RULE", help="RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=TU")
    p.add_argument("--duration", type=whole_number(1), metavar="MIN")
    p.add_argument("--scope", action="append", default=[], metavar="REF|class=C|location=REF")
    p.set_defaults(func=cmd_window_add)
    p = wsub.add_parser("list", parents=parents, help="every window")
    p.set_defaults(func=cmd_window_list)

    p = sub.add_parser("kpi", parents=parents, help="change KPIs over a period")
    p.add_argument("--from", dest="start", metavar="T")
    p.add_argument("--to", dest="end", metavar="T")
    p.set_defaults(func=cmd_kpi)


def _service(ctx: Context) -> ChangeService:
    from cmdb_desktop.change_mgmt.records import ChangeService

    return ChangeService(ctx.open(), ctx.source)


def _time(value: str | None, what: str) -> Any:
    from cmdb_desktop.change_mgmt.windows import parse_time

    return parse_time(value, what) if value is not None else None


def _emit_change(ctx: Context, service: ChangeService, view: ChangeView) -> int:
    found = service.assess([view.id])[view.id]
    ctx.emit(found.change.to_json(found.risk), lambda: _change_lines(found))
    return EXIT_OK


#: Risk reasons, or CIs of a conflict, the text output lists before it counts the rest.
SHOWN = 10


def _change_lines(a: Assessment) -> Iterator[str]:
    from cmdb_desktop.change_mgmt.windows import format_time

    c = a.change
    yield f"Change {c.id}: {c.title} [{c.kind}, {c.state}] version {c.version}"
    yield f"  {format_time(c.start)} → {format_time(c.end)}"
    yield f"  requester {c.requester}, assignee {c.assignee or '-'}"
    yield "  CIs: " + ("; ".join(r.label() for r in c.change_set) or "none")
    yield f"  risk {a.risk.level}" + (":" if a.risk.reasons else "")
    yield from capped_lines(a.risk.reasons, SHOWN, "    ")
    for appr in c.approvals:
        yield f"  {appr['decision']} by {appr['who']} at {appr['when']}: {appr.get('note') or ''}"
    if c.outcome:
        yield f"  outcome: {c.outcome}"


def cmd_add(ctx: Context, args: argparse.Namespace) -> int:
    service = _service(ctx)
    ids = [ctx.resolve(r) for r in args.ci]
    view = service.add(
        args.title,
        _time(args.start, "start"),
        _time(args.end, "end"),
        ids,
        kind=args.kind,
        assignee=args.assignee,
        description=args.description,
    )
    return _emit_change(ctx, service, view)


def cmd_set(ctx: Context, args: argparse.Namespace) -> int:
    service = _service(ctx)
    view = service.update(args.id, parse_assignments(args.fields), if_version=args.if_version)
    return _emit_change(ctx, service, view)


def cmd_ci(ctx: Context, args: argparse.Namespace) -> int:
    service = _service(ctx)
    ids = [ctx.resolve(r) for r in args.refs]
    if args.action == "add":
        view = service.edit_cis(args.id, add=ids, if_version=args.if_version)
    else:
        view = service.edit_cis(args.id, remove=ids, if_version=args.if_version)
    return _emit_change(ctx, service, view)


def cmd_move(ctx: Context, args: argparse.Namespace) -> int:
    service = _service(ctx)
    view = service.move(args.id, args.state, note=args.note, if_version=args.if_version)
    return _emit_change(ctx, service, view)


def cmd_approve(ctx: Context, args: argparse.Namespace) -> int:
    service = _service(ctx)
    view = service.approve(args.id, args.decision, note=args.note, if_version=args.if_version)
    return _emit_change(ctx, service, view)


def cmd_list(ctx: Context, args: argparse.Namespace) -> int:
    from cmdb_desktop.change_mgmt.windows import format_time

    service = _service(ctx)
    start, end = _time(args.start, "from"), _time(args.end, "to")
    if start is not None and end is not None and end <= start:
        raise ValidationError("--to must be after --from.", {"to": "before from"})
    views = service.changes(start=start, end=end, states=args.state)
    found = service.assess([v.id for v in views], ctx.progress()) if views else {}
    data = {"changes": [found[v.id].change.to_json(found[v.id].risk) for v in views]}
    rows = [
        (
            v.id,
            v.title,
            v.kind,
            v.state,
            format_time(v.start),
            format_time(v.end),
            found[v.id].risk.level,
            len(found[v.id].conflicts),
        )
        for v in views
    ]
    headers = ("id", "title", "kind", "state", "start", "end", "risk", "conflicts")
    ctx.emit(data, lambda: table(rows, headers))
    return EXIT_OK


def cmd_show(ctx: Context, args: argparse.Namespace) -> int:
    service = _service(ctx)
    found = service.assess([args.id], ctx.progress())[args.id]
    data = found.change.to_json(found.risk)
    refs = service.refs([c for conflict in found.conflicts for c in conflict.cis])
    data["conflicts"] = [c.to_json(lambda i: refs[i].to_json()) for c in found.conflicts]
    data["history"] = [h.to_json() for h in service.history(args.id)]
    ctx.emit(data, lambda: _change_lines(found))
    return EXIT_OK


def cmd_conflicts(ctx: Context, args: argparse.Namespace) -> int:
    service = _service(ctx)
    found = service.assess([args.id], ctx.progress())[args.id]
    refs = service.refs([c for conflict in found.conflicts for c in conflict.cis])
    data = {
        "change": args.id,
        "conflicts": [c.to_json(lambda i: refs[i].to_json()) for c in found.conflicts],
    }

    meta = service.cmdb.meta

    def lines() -> Iterator[str]:
        if not found.conflicts:
            yield f"Change {args.id} has no conflict."
        for c in found.conflicts:
            other = f"change {c.with_change}" if c.with_change is not None else c.window
            known = [refs[i] for i in c.cis if i in refs]
            # The services an assessor reads first, then the rest, each in id order.
            known.sort(key=lambda r: (not meta.get_class(r.class_name).service, r.id))
            services = sum(1 for r in known if meta.get_class(r.class_name).service)
            yield f"{c.kind} with {other}: {len(c.cis):,} CIs, {services:,} of them services"
            yield from capped_lines([r.label() for r in known], SHOWN)

    ctx.emit(data, lines)
    return EXIT_OK


def cmd_report(ctx: Context, args: argparse.Namespace) -> int:
    from importers.change_board import write_board_pack

    service = _service(ctx)
    path = write_board_pack(service, args.id, args.output, ctx.progress())
    ctx.emit({"change": args.id, "report": str(path)}, f"Wrote {path}")
    return EXIT_OK


def cmd_import(ctx: Context, args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from importers.change_schedule import import_schedule

    mapping = None
    if args.mapping:
        try:
            mapping = json.loads(Path(args.mapping).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValidationError(f"Cannot read the mapping {args.mapping}: {exc}") from None
        if not isinstance(mapping, dict):
            raise ValidationError(f"The mapping {args.mapping} must be a JSON object.")
    result = import_schedule(
        _service(ctx),
        args.file,
        sheet=args.sheet,
        mapping=mapping,
        dry_run=args.dry_run,
        skip_errors=args.skip_errors,
    )

    def lines() -> Iterator[str]:
        verb = "would create" if args.dry_run else "created"
        count = result.valid if args.dry_run else len(result.created)
        yield f"{verb} {count} change(s); {len(result.errors)} problem(s)"
        for e in result.errors:
            yield f"  {e['sheet']} row {e['row']} column {e['column']}: {e['message']}"

    ctx.emit(result.to_json(), lines)
    return EXIT_OK if not result.errors or args.skip_errors else 2


def _scope(ctx: Context, entries: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for entry in entries:
        key, sep, value = entry.partition("=")
        if sep and key.strip() == "class":
            out.append({"class": value.strip()})
        elif sep and key.strip() == "location":
            out.append({"location": ctx.resolve(value)})
        else:
            out.append({"ci": ctx.resolve(entry)})
    return out


def cmd_window_add(ctx: Context, args: argparse.Namespace) -> int:
    service = _service(ctx)
    if args.rrule is None and (args.start is None or args.end is None):
        raise ValidationError(
            "Give --start and --end, or --rrule and --duration.", {"window": "no time"}
        )
    if args.rrule is not None and args.duration is None:
        raise ValidationError("A recurring window needs --duration MIN.", {"duration": "missing"})
    rule = service.add_window(
        args.name,
        args.kind,
        start=_time(args.start, "start"),
        end=_time(args.end, "end") if args.rrule is None else None,
        rrule=args.rrule,
        duration_min=args.duration,
        scope=_scope(ctx, args.scope),
    )
    ctx.emit(rule.to_json(), f"Window {rule.name!r} added.")
    return EXIT_OK


def cmd_window_list(ctx: Context, args: argparse.Namespace) -> int:
    service = _service(ctx)
    windows = service.windows()
    data = {"windows": [{**rule.to_json(), "scope": scope} for rule, scope in windows]}
    rows = [
        (r.name, r.kind, r.rrule or f"{r.to_json()['start']} → {r.to_json()['end']}", scope)
        for r, scope in windows
    ]
    ctx.emit(data, lambda: table(rows, ("name", "kind", "when", "scope")))
    return EXIT_OK


def cmd_kpi(ctx: Context, args: argparse.Namespace) -> int:
    service = _service(ctx)
    start, end = _time(args.start, "from"), _time(args.end, "to")
    result = service.kpis(start=start, end=end, progress=ctx.progress())
    data = result.to_json()

    def lines() -> Iterator[str]:
        rate = result.success_rate
        share = result.emergency_share
        yield f"changes: {result.changes}"
        yield "success rate: " + (f"{rate:.0%}" if rate is not None else "- (none ended)")
        yield "emergency share: " + (f"{share:.0%}" if share is not None else "-")
        yield from table(
            [(s["service"], s["changes"]) for s in data["per_service"]], ("service", "changes")
        )

    ctx.emit(data, lines)
    return EXIT_OK
