"""Commands on the CMDB itself: init, demo, show, history, add, set, delete,
relate, unrelate, health."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmdb_desktop.catalogue import STALE_DAYS, WARRANTY_DAYS
from cmdb_desktop.cli.common import (
    EXIT_OK,
    Context,
    as_of_option,
    parse_assignments,
    ref_text,
    table,
    whole_number,
)
from cmdb_desktop.errors import NotFoundError
from cmdb_desktop.records import CiRecord, CiRef, RelationshipView
from cmdb_desktop.values import to_text

if TYPE_CHECKING:
    from cmdb_desktop.history import DeletedCi
    from cmdb_desktop.metamodel import Metamodel

#: Relationships listed per type in text output (JSON lists all).
SHOW_PER_TYPE = 25


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("init", parents=parents, help="create an empty CMDB")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("demo", parents=parents, help="fill a new CMDB with realistic demo data")
    p.add_argument("--size", type=int, default=5000, help="number of CIs (default 5000)")
    p.add_argument("--seed", type=int, default=1, help="random seed (same seed, same CMDB)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("show", parents=parents, help="all fields and relationships of a CI")
    p.add_argument("ci", help="#ID, Class/Name or a unique Name")
    as_of_option(p)
    p.set_defaults(func=cmd_show)

    p = sub.add_parser(
        "history",
        parents=parents,
        help="what happened to a CI (a deleted one too: #ID, or its Class/Name among deleted CIs)",
    )
    p.add_argument("ci")
    p.add_argument("--limit", type=whole_number(0), default=None)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("add", parents=parents, help="create a CI")
    p.add_argument("cls", metavar="CLASS")
    p.add_argument("name", metavar="NAME")
    p.add_argument("fields", nargs="*", metavar="FIELD=VALUE")
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("set", parents=parents, help="change fields of a CI")
    p.add_argument("ci")
    p.add_argument("fields", nargs="+", metavar="FIELD=VALUE")
    p.add_argument(
        "--if-version",
        type=int,
        dest="if_version",
        metavar="N",
        help="refuse (exit 3) unless the CI is still at version N",
    )
    p.set_defaults(func=cmd_set)

    p = sub.add_parser("delete", parents=parents, help="delete a CI and its relationships")
    p.add_argument("ci")
    p.add_argument("--if-version", type=int, dest="if_version", metavar="N")
    p.set_defaults(func=cmd_delete)

    for name, func, text in (
        ("relate", cmd_relate, "add a relationship: A TYPE B (reverse names flip it)"),
        ("unrelate", cmd_unrelate, "remove a relationship A TYPE B"),
    ):
        p = sub.add_parser(name, parents=parents, help=text)
        p.add_argument("a", metavar="A")
        p.add_argument("type", metavar="TYPE", help='e.g. "Depends on" or "Used by"')
        p.add_argument("b", metavar="B")
        p.set_defaults(func=func)

    p = sub.add_parser("health", parents=parents, help="how complete and connected the CMDB is")
    p.add_argument(
        "--stale-days",
        type=int,
        default=STALE_DAYS,
        metavar="N",
        help="CIs not verified or updated for N days are stale (default 90)",
    )
    p.add_argument(
        "--warranty-days",
        type=int,
        default=WARRANTY_DAYS,
        metavar="N",
        help="list warranties ending within N days (default 90)",
    )
    as_of_option(p)
    p.set_defaults(func=cmd_health)


def cmd_init(ctx: Context, args: argparse.Namespace) -> int:
    existed = Path(ctx.db_target).exists() if "://" not in ctx.db_target else True
    cmdb = ctx.open(create=True)
    data = {"db": cmdb.describe(), "created": cmdb.created}
    if cmdb.created:
        text = f"Created an empty CMDB at {cmdb.describe()}"
    elif existed:
        text = f"{cmdb.describe()} is already a CMDB ({cmdb.items.count()} CIs); left as it was"
    else:
        text = f"Opened {cmdb.describe()}"
    ctx.emit(data, text)
    return EXIT_OK


def cmd_demo(ctx: Context, args: argparse.Namespace) -> int:
    cmdb = ctx.open(create=True)
    started = time.perf_counter()
    from cmdb_desktop import demo  # noqa: PLC0415 (see cli/__init__.py's start-up rule)

    result = demo.generate(cmdb, args.size, args.seed, ctx.progress())
    seconds = time.perf_counter() - started
    data = {
        "db": cmdb.describe(),
        "cis": result.cis,
        "relationships": result.relationships,
        "batch": result.batch_id,
        "by_class": result.counts,
        "seconds": round(seconds, 2),
    }
    ctx.emit(
        data,
        f"Demo CMDB written to {cmdb.describe()}: {result.cis:,} CIs, "
        f"{result.relationships:,} relationships in {seconds:.1f} s (batch {result.batch_id})",
    )
    return EXIT_OK


def _show_lines(
    meta: Metamodel, record: CiRecord, rels: list[RelationshipView], refs: Mapping[int, CiRef]
) -> Iterable[str]:
    yield f"#{record.id} {record.class_name}/{record.name}  (version {record.version})"
    info = meta.class_by_id[record.class_id]
    attrs = meta.attributes_of(info)
    width = max(len(a.label) for a in attrs) if attrs else 10
    for attr in attrs:
        value = record.values.get(attr.key)
        if value is not None:
            if attr.type == "reference":
                shown = ref_text(refs[value]) if value in refs else f"#{value} (deleted)"
            else:
                shown = to_text(value)
            yield f"  {attr.label:<{width}}  {shown}"
    yield f"  {'Created':<{width}}  {to_text(record.created_at)} UTC"
    yield f"  {'Updated':<{width}}  {to_text(record.updated_at)} UTC"
    if rels:
        yield f"Relationships ({len(rels)}):"
        per_label: dict[str, int] = {}
        for rel in rels:
            n = per_label[rel.label] = per_label.get(rel.label, 0) + 1
            if n <= SHOW_PER_TYPE:
                yield f"  {rel.label:<16} {ref_text(rel.other)}"
        for label, n in per_label.items():
            if n > SHOW_PER_TYPE:
                yield f"  {label:<16} … and {n - SHOW_PER_TYPE:,} more (--format json lists all)"
    else:
        yield "Relationships: none"


def _referenced(meta: Metamodel, record: CiRecord) -> list[int]:
    """The CIs the record's reference attributes point at."""
    attrs = meta.attributes_of(meta.class_by_id[record.class_id])
    return [v for a in attrs if a.type == "reference" and (v := record.values.get(a.key))]


def cmd_show(ctx: Context, args: argparse.Namespace) -> int:
    """All fields and relationships of a CI; a current CMDB file is read through the
    quick reader (no SQLAlchemy: issue 20), anything else through the services."""
    quick = ctx.quick()
    if quick is not None:
        with quick:
            meta = quick.meta
            record = quick.get(quick.resolve(args.ci))
            rels = quick.relations_of(record.id)
            refs = quick.refs(_referenced(meta, record))
    else:
        cmdb = ctx.open()
        meta = cmdb.meta
        record = cmdb.items.get(ctx.resolve(args.ci))
        rels = cmdb.relations.of(record.id)
        refs = cmdb.items.refs(_referenced(meta, record))
    data = record.to_json()
    data["relationships"] = [r.to_json() for r in rels]
    ctx.emit(data, lambda: _show_lines(meta, record, rels, refs))
    return EXIT_OK


def cmd_history(ctx: Context, args: argparse.Namespace) -> int:
    """A CI's history, newest first; a CI deleted since is found by its history
    (``#ID``, or a ``Class/Name`` or name no existing CI has)."""
    cmdb = ctx.open()
    gone: DeletedCi | None = None
    try:
        ci_id = ctx.resolve(args.ci)
    except NotFoundError:
        gone = cmdb.history.find_deleted(args.ci)
        ci_id = gone.id
    entries = cmdb.history.for_ci(ci_id, limit=args.limit)
    if gone is None:
        ref = cmdb.items.refs([ci_id])[ci_id]
        data = {"ci": ref.to_json(), "deleted": False}
        title = ref_text(ref)
    else:
        data = {"ci": gone.to_json(), "deleted": True}
        title = (
            f"#{gone.id} {gone.class_name}/{gone.name}, deleted "
            f"{to_text(gone.deleted_at)} UTC by {gone.deleted_by}"
        )
    data["history"] = [e.to_json() for e in entries]

    def lines() -> Iterable[str]:
        yield f"History of {title} (newest first)"
        rows = []
        for e in entries:
            where = e.source + (f" batch {e.batch_id}" if e.batch_id else "")
            if e.row:
                where += f" row {e.row}"
            rows.append((to_text(e.at), e.user, where, e.describe()))
        yield from table(rows, ("when (UTC)", "who", "source", "what"))

    ctx.emit(data, lines)
    return EXIT_OK


def cmd_add(ctx: Context, args: argparse.Namespace) -> int:
    cmdb = ctx.open()
    fields: dict[str, Any] = parse_assignments(args.fields)
    fields["name"] = args.name
    summary = cmdb.items.create(args.cls, fields, source=ctx.source)
    record = cmdb.items.get(summary.created[0])
    ctx.emit(record.to_json(), f"Created {ref_text(record.ref)}")
    return EXIT_OK


def cmd_set(ctx: Context, args: argparse.Namespace) -> int:
    cmdb = ctx.open()
    ci_id = ctx.resolve(args.ci)
    summary = cmdb.items.update(
        ci_id, parse_assignments(args.fields), expected_version=args.if_version, source=ctx.source
    )
    record = cmdb.items.get(ci_id)
    changes = summary.after.get(ci_id, {})
    data = record.to_json()
    data["changed"] = {
        k: {"old": to_text(summary.before[ci_id][k]), "new": to_text(v)} for k, v in changes.items()
    }

    def lines() -> Iterable[str]:
        if not changes:
            yield f"{ref_text(record.ref)} unchanged (version {record.version})"
            return
        yield f"Updated {ref_text(record.ref)} to version {record.version}"
        for key, new in changes.items():
            yield f"  {key}: {to_text(summary.before[ci_id][key]) or '∅'} → {to_text(new) or '∅'}"

    ctx.emit(data, lines)
    return EXIT_OK


def cmd_delete(ctx: Context, args: argparse.Namespace) -> int:
    cmdb = ctx.open()
    ci_id = ctx.resolve(args.ci)
    ref = cmdb.items.refs([ci_id])[ci_id]
    summary = cmdb.items.delete(ci_id, expected_version=args.if_version, source=ctx.source)
    n = len(summary.relationships_deleted)
    ctx.emit(
        {"deleted": ref.to_json(), "relationships_deleted": n},
        f"Deleted {ref_text(ref)} and {n} relationship(s)",
    )
    return EXIT_OK


def _relate(ctx: Context, args: argparse.Namespace, create: bool) -> int:
    cmdb = ctx.open()
    a, b = ctx.resolve(args.a), ctx.resolve(args.b)
    if create:
        summary = cmdb.relations.relate(a, args.type, b, source=ctx.source)
        rel_id = summary.relationships_created[0]
    else:
        summary = cmdb.relations.unrelate(a, args.type, b, source=ctx.source)
        rel_id = summary.relationships_deleted[0]
    refs = cmdb.items.refs([a, b])
    rtype, reverse = cmdb.meta.relationship_type(args.type)
    src, dst = (refs[b], refs[a]) if reverse else (refs[a], refs[b])
    data = {
        "relationship": rel_id,
        "source": src.to_json(),
        "type": rtype.name,
        "target": dst.to_json(),
        "action": "created" if create else "deleted",
    }
    verb = "Related" if create else "Removed"
    ctx.emit(data, f"{verb}: {ref_text(src)} {rtype.name} {ref_text(dst)}")
    return EXIT_OK


def cmd_relate(ctx: Context, args: argparse.Namespace) -> int:
    return _relate(ctx, args, True)


def cmd_unrelate(ctx: Context, args: argparse.Namespace) -> int:
    return _relate(ctx, args, False)


def cmd_health(ctx: Context, args: argparse.Namespace) -> int:
    cmdb = ctx.open()
    from cmdb_desktop import health  # noqa: PLC0415

    rep = health.report(cmdb, stale_days=args.stale_days, warranty_days=args.warranty_days)
    options = health.CheckOptions(rep.today, args.stale_days, args.warranty_days)

    def lines() -> Iterable[str]:
        yield (
            f"CMDB {cmdb.describe()}: {rep.total_cis:,} CIs, "
            f"{rep.total_relationships:,} relationships — health score {rep.score:.0f}/100"
        )
        yield ""
        rows = []
        for cls, n in rep.by_class.items():
            comp = rep.completeness.get(cls)
            rows.append(
                (
                    cls,
                    f"{n:,}",
                    f"{comp.score:.0f}%" if comp else "-",
                    f"{rep.class_scores.get(cls, 100):.0f}",
                )
            )
        yield from table(rows, ("class", "CIs", "complete", "score"))
        yield ""
        yield from table(
            [(k or "(none)", f"{v:,}") for k, v in rep.by_status.items()], ("status", "CIs")
        )
        for check in health.CHECKS:
            finding = rep.findings[check.key]
            yield ""
            yield f"{check.title}: {finding.count:,} ({check.describe(options)})"
            if finding.by_class:
                yield "  " + ", ".join(f"{c} {n:,}" for c, n in finding.by_class.items())
            for ref in finding.examples[:5]:
                yield f"  {ref_text(ref)}"
            if finding.count > 5:
                yield f"  … (--format json lists up to {health.SAMPLE})"

    ctx.emit(rep.to_json(), lines)
    return EXIT_OK
