"""Asset management commands (PRODUCT.md §10): ``person``, ``checkout``,
``checkin``, ``value``, ``licences`` and ``assets`` (report, totals, calendar,
stock, thresholds, overdue check-outs, lifecycle rules)."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from datetime import date
from typing import Any

from cmdb_desktop.catalogue import DEPRECIATION_NONE
from cmdb_desktop.cli.common import Context, table, whole_number
from cmdb_desktop.errors import ValidationError


def _date_arg(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("person", parents=parents, help="people assets are checked out to")
    psub = p.add_subparsers(dest="person_command", metavar="ACTION")
    psub.required = True
    q = psub.add_parser("add", parents=parents, help="add a person")
    q.add_argument("name")
    q.add_argument("--email")
    q.add_argument("--department")
    q.add_argument("--employee-id", dest="employee_id")
    q.add_argument("--inactive", action="store_true", help="a person who left")
    q.set_defaults(func=cmd_person_add)
    q = psub.add_parser("list", parents=parents, help="list people")
    q.add_argument("--active", action="store_true", help="only active people")
    q.set_defaults(func=cmd_person_list)
    q = psub.add_parser("show", parents=parents, help="a person and their custody history")
    q.add_argument("person", help="#ID, name, email or employee id")
    q.set_defaults(func=cmd_person_show)
    q = psub.add_parser(
        "match",
        parents=parents,
        help="link free-text Assigned To values to people; list the rest to resolve",
    )
    q.set_defaults(func=cmd_person_match)

    p = sub.add_parser("checkout", parents=parents, help="check an asset out to a person")
    p.add_argument("asset", metavar="ASSET")
    p.add_argument("person", metavar="PERSON")
    p.add_argument("--due", type=_date_arg, metavar="DATE", help="due back (YYYY-MM-DD)")
    p.add_argument("--on", type=_date_arg, metavar="DATE", help="check-out date (today)")
    p.add_argument("--location", help="where the asset goes")
    p.set_defaults(func=cmd_checkout)

    p = sub.add_parser("checkin", parents=parents, help="return a checked-out asset")
    p.add_argument("asset", metavar="ASSET")
    p.add_argument("--on", type=_date_arg, metavar="DATE", help="check-in date (today)")
    p.set_defaults(func=cmd_checkin)

    p = sub.add_parser("value", parents=parents, help="an asset's book value (depreciation)")
    p.add_argument("asset", metavar="ASSET")
    p.add_argument("--at", type=_date_arg, metavar="DATE", help="value at this date (today)")
    p.set_defaults(func=cmd_value)

    p = sub.add_parser("licences", parents=parents, help="licence compliance per software")
    p.add_argument("--at", type=_date_arg, metavar="DATE", help="compliance at this date")
    p.set_defaults(func=cmd_licences)

    p = sub.add_parser("assets", parents=parents, help="asset reports, stock, calendars, rules")
    asub = p.add_subparsers(dest="assets_command", metavar="ACTION")
    asub.required = True
    q = asub.add_parser("report", parents=parents, help="the asset workbook (.xlsx)")
    q.add_argument("-o", "--output", required=True, metavar="FILE.xlsx")
    q.add_argument("--at", type=_date_arg, metavar="DATE", help="values at this date (today)")
    q.add_argument("--days", type=whole_number(0, 36500), default=90, help="expiries window")
    q.set_defaults(func=cmd_report)
    q = asub.add_parser("totals", parents=parents, help="cost and book value by group")
    q.add_argument("--by", choices=("class", "location", "cost_centre"), default="class")
    q.add_argument("--at", type=_date_arg, metavar="DATE")
    q.set_defaults(func=cmd_totals)
    q = asub.add_parser("calendar", parents=parents, help="what ends within N days")
    q.add_argument("--days", type=whole_number(0, 36500), default=30)
    q.add_argument("--at", type=_date_arg, metavar="DATE", help="count from this date (today)")
    q.set_defaults(func=cmd_calendar)
    q = asub.add_parser("stock", parents=parents, help="In Stock by model and location")
    q.set_defaults(func=cmd_stock)
    q = asub.add_parser("threshold", parents=parents, help="set a model's reorder threshold")
    q.add_argument("model")
    q.add_argument("minimum", nargs="?", type=whole_number(0, 10**9), help="omit to remove")
    q.set_defaults(func=cmd_threshold)
    q = asub.add_parser("overdue", parents=parents, help="check-outs past their due date")
    q.add_argument("--at", type=_date_arg, metavar="DATE")
    q.set_defaults(func=cmd_overdue)
    q = asub.add_parser("lifecycle", parents=parents, help="show or edit a class's lifecycle")
    q.add_argument("cls", metavar="CLASS")
    q.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="STATUS=NEXT[,NEXT]",
        help="the statuses a CI in STATUS may move to (empty: final)",
    )
    q.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="STATUS=FIELD[,FIELD]",
        help="fields a CI needs to move to STATUS (empty: none)",
    )
    q.add_argument("--inherit", action="store_true", help="drop the class's own rules")
    q.set_defaults(func=cmd_lifecycle)


def _pairs(items: Iterable[str], what: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, rest = item.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"--{what} {item!r}: expected STATUS=VALUE[,VALUE]", {what: item})
        out[key.strip()] = [v.strip() for v in rest.split(",") if v.strip()]
    return out


def _people_lines(rows: list[dict[str, Any]]) -> Iterable[str]:
    return table(
        [
            (
                f"#{p['id']}",
                p["name"],
                p["email"],
                p["department"],
                p["employee_id"],
                "" if p["active"] else "inactive",
            )
            for p in rows
        ],
        ["ID", "Name", "Email", "Department", "Employee ID", ""],
    )


def _custody_lines(rows: list[dict[str, Any]]) -> Iterable[str]:
    return table(
        [
            (
                c["ci"]["name"],
                c["person"]["name"],
                c["checked_out"],
                c["due"],
                c["checked_in"],
                c["location"],
            )
            for c in rows
        ],
        ["Asset", "Person", "Out", "Due", "In", "Location"],
    )


def cmd_person_add(ctx: Context, args: argparse.Namespace) -> int:
    p = ctx.open().assets.add_person(
        args.name,
        email=args.email,
        department=args.department,
        employee_id=args.employee_id,
        active=not args.inactive,
    )
    ctx.emit(p, f"Added person #{p['id']} {p['name']}")
    return 0


def cmd_person_list(ctx: Context, args: argparse.Namespace) -> int:
    rows = ctx.open().assets.people(active_only=args.active)
    ctx.emit({"people": rows}, lambda: _people_lines(rows))
    return 0


def cmd_person_show(ctx: Context, args: argparse.Namespace) -> int:
    p = ctx.open().assets.person(args.person)

    def lines() -> Iterable[str]:
        yield from _people_lines([p])
        yield ""
        yield from _custody_lines(p["custody"]) if p["custody"] else ["No custody history."]

    ctx.emit(p, lines)
    return 0


def cmd_person_match(ctx: Context, args: argparse.Namespace) -> int:
    result = ctx.open().assets.match_assignees(source=ctx.source)

    def lines() -> Iterable[str]:
        yield f"Matched {len(result['matched'])} assets to people."
        if result["unmatched"]:
            yield f"{len(result['unmatched'])} Assigned To values name nobody (or several):"
            yield from table(
                [
                    (u["ci"]["name"], u["assigned_to"], len(u["candidates"]))
                    for u in result["unmatched"]
                ],
                ["Asset", "Assigned To", "Candidates"],
            )
            yield "Add the people (cmdb person add) or correct Assigned To, then run this again."

    ctx.emit(result, lines)
    return 0


def cmd_checkout(ctx: Context, args: argparse.Namespace) -> int:
    cmdb = ctx.open()
    c = cmdb.assets.checkout(
        ctx.resolve(args.asset),
        args.person,
        due=args.due,
        on=args.on,
        location=args.location,
        source=ctx.source,
    )
    due = f", due {c['due']}" if c["due"] else ""
    ctx.emit(
        c, f"Checked out {c['ci']['name']} to {c['person']['name']} on {c['checked_out']}{due}"
    )
    return 0


def cmd_checkin(ctx: Context, args: argparse.Namespace) -> int:
    c = ctx.open().assets.checkin(ctx.resolve(args.asset), on=args.on, source=ctx.source)
    ctx.emit(c, f"Checked in {c['ci']['name']} from {c['person']['name']} on {c['checked_in']}")
    return 0


def cmd_value(ctx: Context, args: argparse.Namespace) -> int:
    v = ctx.open().assets.value(ctx.resolve(args.asset), args.at)
    method = v["method"]
    if v["book_value"] is not None:
        how = "not depreciated" if method == DEPRECIATION_NONE else method
        shown = f"{v['book_value']:,.2f} ({how})"
    elif v["cost"] is None:
        shown = "unknown — no cost recorded"
    else:
        shown = f"unknown — {method} depreciation needs a purchase date and a useful life"
    ctx.emit(v, f"{v['ci']['name']} at {v['at']}: book value {shown}")
    return 0


def cmd_licences(ctx: Context, args: argparse.Namespace) -> int:
    rows = [c.to_json() for c in ctx.open().assets.compliance(args.at)]
    ctx.emit(
        {"software": rows},
        lambda: table(
            [
                (
                    r["ci"]["name"],
                    r["metric"],
                    r["entitled"],
                    r["consumed"],
                    r["status"],
                    r["shortfall"],
                )
                for r in rows
            ],
            ["Software", "Metric", "Entitled", "Consumed", "Status", "Shortfall"],
        ),
    )
    return 0


def cmd_report(ctx: Context, args: argparse.Namespace) -> int:
    from importers.assets_report import write_assets_report

    path = write_assets_report(ctx.open(), args.output, at=args.at, days=args.days)
    ctx.emit({"output": str(path)}, f"Wrote {path}")
    return 0


def cmd_totals(ctx: Context, args: argparse.Namespace) -> int:
    found = ctx.open().assets.totals(args.by, args.at)
    data = {
        "by": args.by,
        "groups": [
            {
                "group": k,
                "assets": v["assets"],
                "cost": float(v["cost"]),
                "book_value": float(v["book_value"]),
                "unvalued": v["unvalued"],
            }
            for k, v in found.items()
        ],
    }
    ctx.emit(
        data,
        lambda: table(
            [
                (
                    g["group"],
                    g["assets"],
                    f"{g['cost']:,.2f}",
                    f"{g['book_value']:,.2f}",
                    g["unvalued"],
                )
                for g in data["groups"]
            ],
            [args.by.replace("_", " ").title(), "Assets", "Cost", "Book value", "Unvalued"],
        ),
    )
    return 0


def cmd_calendar(ctx: Context, args: argparse.Namespace) -> int:
    from cmdb_desktop.assets.service import calendar_json  # noqa: PLC0415 (start-up rule)

    entries = calendar_json(ctx.open().assets.calendar(args.days, args.at))
    ctx.emit(
        {"days": args.days, "ends": entries},
        lambda: table(
            [(e["on"], e["kind"], e["ci"]["name"], e["ci"]["class"]) for e in entries],
            ["Ends", "What", "CI", "Class"],
        ),
    )
    return 0


def cmd_stock(ctx: Context, args: argparse.Namespace) -> int:
    service = ctx.open().assets
    lines = service.stock()
    data = {
        "stock": [
            {
                "model": s.model,
                "location": s.location,
                "in_stock": s.in_stock,
                "threshold": s.threshold,
                "alert": s.alert,
            }
            for s in lines
        ],
        "alerts": service.stock_alerts(),
    }
    ctx.emit(
        data,
        lambda: table(
            [
                (s.model, s.location, s.in_stock, s.threshold, "reorder" if s.alert else "")
                for s in lines
            ],
            ["Model", "Location", "In Stock", "Threshold", "Alert"],
        ),
    )
    return 0


def cmd_threshold(ctx: Context, args: argparse.Namespace) -> int:
    ctx.open().assets.set_threshold(args.model, args.minimum)
    ctx.emit(
        {"model": args.model, "threshold": args.minimum},
        f"Reorder threshold of {args.model}: "
        + ("removed" if args.minimum is None else str(args.minimum)),
    )
    return 0


def cmd_overdue(ctx: Context, args: argparse.Namespace) -> int:
    rows = ctx.open().assets.overdue(args.at)
    ctx.emit({"overdue": rows}, lambda: _custody_lines(rows) if rows else ["Nothing is overdue."])
    return 0


def cmd_lifecycle(ctx: Context, args: argparse.Namespace) -> int:
    cmdb = ctx.open()
    if args.allow or args.require or args.inherit:
        cmdb.classes.set_lifecycle(
            args.cls,
            transitions=_pairs(args.allow, "allow") or None,
            requires=_pairs(args.require, "require") or None,
            inherit=args.inherit,
        )
    info = cmdb.meta.get_class(args.cls)
    rules = cmdb.meta.lifecycle(info).to_json()
    data = {"class": info.name, **rules}

    def lines() -> Iterable[str]:
        moves = rules.get("transitions")
        if moves is None:
            yield f"{info.name}: every status may follow every other."
        else:
            for status, nxt in moves.items():
                yield f"{status} → {', '.join(nxt) if nxt else '(final)'}"
        for status, fields in rules["requires"].items():
            yield f"to {status}: requires {', '.join(fields)}"

    ctx.emit(data, lines)
    return 0


__all__ = ["register"]
