"""The data model from the command line: ``class``, ``attribute`` and ``reltype``.

``class list|show|add|rename|move|delete``, ``attribute add|set|delete CLASS
LABEL``, ``reltype list|add|set|delete NAME``. Every change goes through
:class:`cmdb_desktop.classes.ClassService` (validated, migrating the CIs'
values, recorded in the history) with the CLI as its source. ``attribute set
--dry-run`` shows how the stored values would convert and writes nothing.
Exit codes: 0 done, 2 refused or bad input (nothing written).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from cmdb_desktop.cli.common import EXIT_BAD_INPUT, EXIT_OK, Context, table
from cmdb_desktop.errors import ValidationError


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    _register_class(sub, parents)
    _register_attribute(sub, parents)
    _register_reltype(sub, parents)


def _group(sub: Any, name: str, text: str, parents: list[argparse.ArgumentParser]) -> Any:
    p = sub.add_parser(name, parents=parents, help=text, description=text)
    inner = p.add_subparsers(dest=f"{name}_command", metavar="ACTION", parser_class=type(p))
    inner.required = True
    return inner


def _register_class(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    g = _group(sub, "class", "list, show, add, rename, move or delete classes", parents)
    p = g.add_parser("list", parents=parents, help="the class tree with CI counts")
    p.set_defaults(func=cmd_class_list)
    p = g.add_parser("show", parents=parents, help="a class with its attributes")
    p.add_argument("cls", metavar="CLASS")
    p.set_defaults(func=cmd_class_show)
    p = g.add_parser("add", parents=parents, help="add a class under a parent class")
    p.add_argument("cls", metavar="CLASS")
    p.add_argument("--parent", required=True, metavar="CLASS")
    p.add_argument("--abstract", action="store_true", help="holds no CIs, only subclasses")
    p.add_argument("--service", action="store_true", help="a service class (impact lists it first)")
    p.add_argument("--description", default="")
    p.set_defaults(func=cmd_class_add)
    p = g.add_parser("rename", parents=parents, help="rename a class")
    p.add_argument("cls", metavar="CLASS")
    p.add_argument("new_name", metavar="NEW_NAME")
    p.set_defaults(func=cmd_class_rename)
    p = g.add_parser("move", parents=parents, help="move a class (and its subclasses)")
    p.add_argument("cls", metavar="CLASS")
    p.add_argument("--parent", required=True, metavar="CLASS")
    p.set_defaults(func=cmd_class_move)
    p = g.add_parser(
        "delete",
        parents=parents,
        help="delete a class (refused while CIs use it, unless --move-to)",
    )
    p.add_argument("cls", metavar="CLASS")
    p.add_argument("--move-to", dest="move_to", metavar="CLASS", help="move its CIs there first")
    p.set_defaults(func=cmd_class_delete)


def _register_attribute(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    g = _group(sub, "attribute", "add, change or delete attributes of a class", parents)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("cls", metavar="CLASS")
        p.add_argument("label", metavar="LABEL", help="the attribute's label or key")
        p.add_argument("--type", dest="type_", metavar="TYPE", help=_types_help())
        p.add_argument("--choices", metavar="A,B", help="the choice list (comma-separated)")
        p.add_argument("--default", metavar="VALUE", help="value new CIs get ('' removes it)")
        p.add_argument("--description")

    p = g.add_parser("add", parents=parents, help="add an attribute to a class")
    common(p)
    p.add_argument("--required", action="store_true")
    p.add_argument("--reference", metavar="CLASS", help="for --type reference: the CIs' class")
    p.set_defaults(func=cmd_attribute_add)
    p = g.add_parser(
        "set",
        parents=parents,
        help="change an attribute: label, type, choices, default, required (values migrate)",
    )
    common(p)
    p.add_argument("--label", dest="new_label", metavar="TEXT", help="a new label")
    p.add_argument(
        "--rename-choice",
        dest="renames",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="rename a choice; stored values follow (repeatable; onto an existing one merges)",
    )
    req = p.add_mutually_exclusive_group()
    req.add_argument("--required", dest="required", action="store_true", default=None)
    req.add_argument("--optional", dest="required", action="store_false")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="show how the stored values would convert, write nothing",
    )
    p.set_defaults(func=cmd_attribute_set)
    p = g.add_parser("delete", parents=parents, help="delete a custom attribute (values lost)")
    p.add_argument("cls", metavar="CLASS")
    p.add_argument("label", metavar="LABEL")
    p.set_defaults(func=cmd_attribute_delete)


def _register_reltype(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    g = _group(sub, "reltype", "list, add, change or retire relationship types", parents)
    p = g.add_parser("list", parents=parents, help="relationship types with their impact flow")
    p.set_defaults(func=cmd_reltype_list)
    flow_help = (
        "which way impact flows: t2s (a failure of the target hits the source, like Depends "
        "on), s2t (the source's failure hits the target, like Member of) or none"
    )
    p = g.add_parser("add", parents=parents, help="add a relationship type")
    p.add_argument("name", metavar="NAME", help="forward name (source NAME target)")
    p.add_argument("--reverse", required=True, metavar="NAME", help="the name read backwards")
    p.add_argument("--flow", required=True, metavar="t2s|s2t|none", help=flow_help)
    p.add_argument("--description", default="")
    p.set_defaults(func=cmd_reltype_add)
    p = g.add_parser("set", parents=parents, help="rename a type or change its impact flow")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--name", dest="new_name", metavar="NAME", help="a new forward name")
    p.add_argument("--reverse", metavar="NAME", help="a new reverse name")
    p.add_argument("--flow", metavar="t2s|s2t|none", help=flow_help)
    p.add_argument("--description")
    p.set_defaults(func=cmd_reltype_set)
    p = g.add_parser("delete", parents=parents, help="retire a type no relationship uses")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=cmd_reltype_delete)


def _types_help() -> str:
    from cmdb_desktop.catalogue import ATTRIBUTE_TYPES

    return "one of " + ", ".join(ATTRIBUTE_TYPES)


def _choices(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [c.strip() for c in text.split(",") if c.strip()]


# -- class ----------------------------------------------------------------------


def cmd_class_list(ctx: Context, args: argparse.Namespace) -> int:
    from cmdb_desktop.classes import class_json

    cmdb = ctx.open()
    meta = cmdb.meta
    counts = cmdb.items.counts_by_class()
    rows: list[tuple[str, str, str]] = []
    data: list[dict[str, Any]] = []

    def walk(parent: int | None, depth: int) -> None:
        for c in meta.children.get(parent, []):
            n = counts.get(c.name, 0)
            data.append(class_json(meta, c, n))
            flags = ", ".join(
                f for f, on in (("abstract", c.abstract), ("service", c.service)) if on
            )
            rows.append(("  " * depth + c.name, f"{n:,}", flags))
            walk(c.id, depth + 1)

    walk(None, 0)
    ctx.emit({"classes": data}, lambda: table(rows, ("class", "CIs", "")))
    return EXIT_OK


def cmd_class_show(ctx: Context, args: argparse.Namespace) -> int:
    from cmdb_desktop.classes import class_json

    cmdb = ctx.open()
    info = cmdb.meta.get_class(args.cls)
    data = class_json(
        cmdb.meta, info, cmdb.items.counts_by_class().get(info.name, 0), attributes=True
    )

    def lines() -> Iterable[str]:
        yield f"{data['name']} (under {data['parent'] or '—'}): {data['cis']:,} CI(s)"
        if data["description"]:
            yield data["description"]
        yield "identified by: " + " → ".join("+".join(r) for r in data["identification"])
        if data["subclasses"]:
            yield "subclasses: " + ", ".join(data["subclasses"])
        yield ""
        rows = [
            (
                a["label"],
                a["key"],
                a["type"] + (f" ({', '.join(map(str, a['choices']))})" if a["choices"] else ""),
                "yes" if a["required"] else "",
                "" if a["default"] is None else str(a["default"]),
                a["class"] if a["inherited"] else "",
            )
            for a in data["attributes"]
        ]
        yield from table(rows, ("attribute", "key", "type", "required", "default", "from"))

    ctx.emit(data, lines)
    return EXIT_OK


def _done(ctx: Context, data: dict[str, Any], text: str) -> int:
    ctx.emit({"ok": True, **data}, text)
    return EXIT_OK


def cmd_class_add(ctx: Context, args: argparse.Namespace) -> int:
    cmdb = ctx.open()
    cmdb.classes.add_class(
        args.cls,
        args.parent,
        abstract=args.abstract,
        service=args.service,
        description=args.description,
        source=ctx.source,
    )
    info = cmdb.meta.get_class(args.cls)
    return _done(ctx, {"class": info.name}, f"Added class {info.name} under {args.parent}")


def cmd_class_rename(ctx: Context, args: argparse.Namespace) -> int:
    cmdb = ctx.open()
    old = cmdb.meta.get_class(args.cls).name
    cmdb.classes.update_class(old, new_name=args.new_name, source=ctx.source)
    new = cmdb.meta.get_class(args.new_name.strip()).name
    return _done(ctx, {"class": new, "was": old}, f"Renamed class {old} to {new}")


def cmd_class_move(ctx: Context, args: argparse.Namespace) -> int:
    cmdb = ctx.open()
    info = cmdb.meta.get_class(args.cls)
    cmdb.classes.update_class(info.name, parent=args.parent, source=ctx.source)
    parent = cmdb.meta.get_class(args.parent).name
    return _done(ctx, {"class": info.name, "parent": parent}, f"Moved {info.name} under {parent}")


def cmd_class_delete(ctx: Context, args: argparse.Namespace) -> int:
    cmdb = ctx.open()
    info = cmdb.meta.get_class(args.cls)
    summary = cmdb.classes.delete_class(info.name, move_to=args.move_to, source=ctx.source)
    moved = len(summary.updated)
    text = f"Deleted class {info.name}"
    if moved:
        text += f"; moved {moved:,} CI(s) to {cmdb.meta.get_class(args.move_to).name}"
    return _done(ctx, {"class": info.name, "moved": moved}, text)


# -- attribute ------------------------------------------------------------------


def cmd_attribute_add(ctx: Context, args: argparse.Namespace) -> int:
    cmdb = ctx.open()
    info = cmdb.meta.get_class(args.cls)
    type_ = args.type_ or ("choice" if args.choices else "text")
    cmdb.classes.add_attribute(
        info.name,
        args.label,
        type_,
        choices=_choices(args.choices),
        reference_class=args.reference,
        description=args.description or "",
        required=args.required,
        default=args.default,
        source=ctx.source,
    )
    attr = cmdb.meta.find_attribute(cmdb.meta.get_class(info.name), args.label)
    assert attr is not None
    return _done(
        ctx,
        {"class": info.name, "key": attr.key, "label": attr.label, "type": attr.type},
        f"Added attribute {attr.label} ({attr.type}, key {attr.key}) to {info.name}",
    )


def _renames(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise ValidationError(
                f"--rename-choice {pair!r}: write OLD=NEW.", {"rename-choice": "OLD=NEW"}
            )
        out[old.strip()] = new.strip()
    return out


def cmd_attribute_set(ctx: Context, args: argparse.Namespace) -> int:
    cmdb = ctx.open()
    info = cmdb.meta.get_class(args.cls)
    attr = cmdb.meta.find_attribute(info, args.label)
    if attr is None:
        raise ValidationError(
            f"{info.name} has no attribute {args.label!r}; `cmdb class show {info.name}` "
            "lists them.",
            {"attribute": "unknown"},
        )
    renames = _renames(args.renames)
    choices = _choices(args.choices)
    type_ = args.type_
    if type_ is None and choices is not None and attr.type != "choice" and attr.column is None:
        type_ = "choice"
    data: dict[str, Any] = {"class": info.name, "key": attr.key}
    if type_ is not None or choices is not None or renames:
        preview = cmdb.classes.preview_attribute_change(
            info.name, attr.key, type_=type_, choices=choices, rename_choices=renames
        )
        data["conversion"] = preview.to_json()
        if args.dry_run or not preview.ok:
            ctx.emit({"ok": preview.ok, "dry_run": True, **data}, preview.describe())
            if not preview.ok:
                ctx.note("Nothing changed: fix or clear those values first.")
                return EXIT_BAD_INPUT
            return EXIT_OK
    elif args.dry_run:
        ctx.emit({"ok": True, "dry_run": True, **data}, "No stored value changes.")
        return EXIT_OK
    extra: dict[str, Any] = {} if args.default is None else {"default": args.default}
    cmdb.classes.update_attribute(
        info.name,
        attr.key,
        label=args.new_label,
        type_=type_,
        choices=choices,
        rename_choices=renames or None,
        description=args.description,
        required=args.required,
        source=ctx.source,
        **extra,
    )
    new = cmdb.meta.find_attribute(cmdb.meta.get_class(info.name), attr.key)
    assert new is not None
    text = f"Changed attribute {new.label} of {info.name}"
    if "conversion" in data:
        text += f" ({data['conversion']['changed']:,} stored value(s) converted)"
    return _done(ctx, {**data, "label": new.label, "type": new.type}, text)


def cmd_attribute_delete(ctx: Context, args: argparse.Namespace) -> int:
    cmdb = ctx.open()
    info = cmdb.meta.get_class(args.cls)
    attr = cmdb.meta.find_attribute(info, args.label)
    if attr is None:
        raise ValidationError(f"{info.name} has no attribute {args.label!r}.")
    summary = cmdb.classes.delete_attribute(info.name, attr.key, source=ctx.source)
    n = len(summary.updated)
    return _done(
        ctx,
        {"class": info.name, "key": attr.key, "values_removed": n},
        f"Deleted attribute {attr.label} of {info.name} ({n:,} stored value(s) removed)",
    )


# -- reltype --------------------------------------------------------------------


def cmd_reltype_list(ctx: Context, args: argparse.Namespace) -> int:
    from cmdb_desktop.classes import relationship_type_json

    cmdb = ctx.open()
    counts = cmdb.classes.relationship_counts()
    data = [relationship_type_json(t, counts.get(t.id, 0)) for t in cmdb.meta.relationship_types]
    rows = [
        (
            d["name"],
            d["reverse"],
            d["flow"],
            f"{d['relationships']:,}",
            "" if d["builtin"] else "custom",
        )
        for d in data
    ]
    ctx.emit(
        {"relationship_types": data},
        lambda: table(rows, ("type", "reverse", "flow", "relationships", "")),
    )
    return EXIT_OK


def cmd_reltype_add(ctx: Context, args: argparse.Namespace) -> int:
    from cmdb_desktop.classes import parse_flow, relationship_type_json

    cmdb = ctx.open()
    flow = parse_flow(args.flow)
    cmdb.classes.add_relationship_type(
        args.name, args.reverse, flow, args.description, source=ctx.source
    )
    rtype, _ = cmdb.meta.relationship_type(args.name.strip())
    return _done(
        ctx,
        relationship_type_json(rtype),
        f"Added relationship type {rtype.name} / {rtype.reverse_name} (impact {args.flow})",
    )


def cmd_reltype_set(ctx: Context, args: argparse.Namespace) -> int:
    from cmdb_desktop.classes import parse_flow, relationship_type_json

    cmdb = ctx.open()
    rtype, _ = cmdb.meta.relationship_type(args.name)
    cmdb.classes.update_relationship_type(
        rtype.name,
        new_name=args.new_name,
        reverse_name=args.reverse,
        impact=parse_flow(args.flow) if args.flow is not None else None,
        description=args.description,
        source=ctx.source,
    )
    data = relationship_type_json(cmdb.meta.relationship_type_by_id[rtype.id])
    return _done(
        ctx, data, f"Relationship type {data['name']} / {data['reverse']}: impact {data['flow']}"
    )


def cmd_reltype_delete(ctx: Context, args: argparse.Namespace) -> int:
    cmdb = ctx.open()
    rtype, _ = cmdb.meta.relationship_type(args.name)
    cmdb.classes.delete_relationship_type(rtype.name, source=ctx.source)
    return _done(ctx, {"name": rtype.name}, f"Retired relationship type {rtype.name}")
