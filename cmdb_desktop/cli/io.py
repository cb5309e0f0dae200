"""Commands that move data in and out: import, batches, rollback, export, template.

``import`` prints the JSON of PRODUCT.md §6 — also when row errors make the
exit code 2, in which case nothing was written — with every row's outcome in
``"rows"``; its text output shows a sample of each outcome. ``-o FILE.xlsx``
writes every row's outcome as a workbook (one sheet per outcome), with or
without ``--dry-run``. With ``--skip-errors`` the rows that passed are
committed and the rejected ones are written to a workbook with an ``Error``
column (``"rejects"`` in the JSON says where); the exit code is then 0.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmdb_desktop.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    Context,
    as_of_option,
    capped_lines,
    parse_assignments,
    sheet_options,
    table,
    whole_number,
)
from cmdb_desktop.errors import BadFileError, ValidationError
from cmdb_desktop.values import to_text
from cmdb_desktop.vocabulary import BlankRule

if TYPE_CHECKING:  # the importers load calamine and openpyxl: only inside a command
    from importers.apply import ImportResult
    from importers.mapping import ImportMapping

#: Errors listed in text output (JSON lists all).
TEXT_ERRORS = 50


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "import",
        parents=parents,
        help="import a spreadsheet (CIs and relationships) as one batch",
        description="Import .xlsx/.xlsm/.xlsb/.xls/.ods/.csv/.tsv. Every row is checked "
        "first; by default a file with any error writes nothing.",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    p.add_argument(
        "--skip-errors",
        action="store_true",
        help="commit the rows that passed; write the rejected rows to a workbook",
    )
    sheet_options(p, "import only these sheets")
    p.add_argument(
        "--blank",
        choices=[rule.value for rule in BlankRule],
        help="blank cells: ignore (keep the CI's value, the default) or clear it",
    )
    p.add_argument(
        "--default",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="value for new CIs that the file leaves blank (e.g. status='In Use')",
    )
    p.add_argument("--rejects", metavar="FILE", help="where --skip-errors writes rejected rows")
    p.add_argument(
        "--create-attributes",
        action="store_true",
        help="unmapped columns become new attributes of their sheet's class (type inferred "
        "from the values; listed by --dry-run; rollback removes them)",
    )
    p.add_argument(
        "--profile",
        choices=("snipe-it", "netbox", "glpi", "itop"),
        help="the built-in mapping of a known tool's export (assets, users, licences, "
        "devices, sites, computers: the kind is told by the file's headers)",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE.xlsx",
        help="also write every row's outcome to a workbook, one sheet per outcome "
        "(with --dry-run: what the import would do)",
    )
    p.add_argument(
        "--save-mapping",
        metavar="FILE",
        help="also write the mapping used (suggested + options) as a JSON profile",
    )
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("batches", parents=parents, help="list import batches, newest first")
    p.add_argument(
        "--limit", type=whole_number(0), default=50, help="how many (default 50; 0 for all)"
    )
    p.set_defaults(func=cmd_batches)

    p = sub.add_parser(
        "rollback",
        parents=parents,
        help="undo a whole batch (refused, exit 3, naming CI, field and both values, where "
        "that would undo a later change still in place)",
    )
    p.add_argument("batch", metavar="BATCH", type=_batch_id)
    p.set_defaults(func=cmd_rollback)

    p = sub.add_parser("export", parents=parents, help="write the canonical workbook (.xlsx)")
    p.add_argument("-o", "--output", required=True, metavar="FILE")
    p.add_argument(
        "--class",
        dest="classes",
        action="append",
        default=[],
        metavar="CLASS",
        help="only this class and its subclasses (repeatable)",
    )
    as_of_option(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "template", parents=parents, help="write an empty workbook with drop-down lists"
    )
    p.add_argument("-o", "--output", required=True, metavar="FILE")
    p.add_argument("--class", dest="cls", metavar="CLASS", help="columns of this class only")
    p.set_defaults(func=cmd_template)


def _batch_id(text: str) -> int:
    try:
        value = int(text.lstrip("#"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a batch number") from None
    if value < 1 or value > 2**63 - 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a batch number")
    return value


def _profile_mapping(ctx: Context, path: Path, args: argparse.Namespace) -> ImportMapping | None:
    """The built-in profile's mapping for this file; for an export of people (Snipe-IT
    users) the people are imported here and None is returned."""
    from importers.plan import load_source
    from importers.profiles import choose, import_people

    cmdb = ctx.open()
    source = load_source(path, meta=cmdb.meta)
    if not source.tables:
        raise ValidationError(f"{path.name} holds no table to import.", {"file": "empty"})
    table = source.tables[0]
    variant = choose(args.profile, [c.header for c in table.columns])
    ctx.note(f"{args.profile} profile: {variant.name} export")
    if not variant.people:
        return variant.mapping_for(table.sheet, [c.header for c in table.columns])
    result = import_people(cmdb, table, dry_run=args.dry_run)
    ctx.emit(
        {
            "dry_run": bool(args.dry_run),
            "people": {"created": len(result.added), "skipped": len(result.skipped)},
            "skipped": result.skipped,
        },
        f"{'Would add' if args.dry_run else 'Added'} {len(result.added)} people"
        + (
            f"; skipped {len(result.skipped)} already known or without a name"
            if result.skipped
            else ""
        ),
    )
    return None


def _mapping(ctx: Context, spec: str | None) -> ImportMapping | None:
    from importers.mapping import load_mapping

    return load_mapping(ctx.open(), spec) if spec else None


def _import_lines(result: ImportResult, outcomes: Path | None) -> Iterable[str]:
    from importers.outcomes import sample_lines

    counts = result.plan.counts()
    cis, rels = counts["cis"], counts["relationships"]
    if result.dry_run:
        head = "Dry run (nothing written)"
    elif result.written and result.batch_id is not None:
        head = f"Imported as batch {result.batch_id}"
    elif result.written:
        head = "Nothing to change"
    else:
        head = "Nothing written: fix the errors below, or use --skip-errors"
    yield f"{head}: {result.plan.source.path.name}"
    yield (
        f"  CIs: {cis['created']} created, {cis['updated']} updated, "
        f"{cis['unchanged']} unchanged, {cis['errors']} with errors"
    )
    yield (
        f"  Relationships: {rels['created']} created, {rels['unchanged']} unchanged, "
        f"{rels['errors']} with errors"
    )
    if result.dry_run or not result.written:
        yield from sample_lines(result.plan)
    if outcomes is not None:
        yield f"Every row's outcome written to {outcomes}"
    if result.errors:
        yield f"Errors ({len(result.errors)}):"
        yield from capped_lines([str(e) for e in result.errors], TEXT_ERRORS)
    if result.rejects is not None:
        yield f"Rejected rows written to {result.rejects}"
    for warning in result.warnings[:TEXT_ERRORS]:
        yield f"warning: {warning}"


def cmd_import(ctx: Context, args: argparse.Namespace) -> int:
    from importers.apply import import_file
    from importers.mapping import parse_keys
    from importers.outcomes import write_outcomes

    # Like `demo`, importing into a path that holds no CMDB yet creates one.
    cmdb = ctx.open(create=True)
    path = Path(args.file).expanduser()
    try:
        mapping = _mapping(ctx, args.mapping)
        if args.profile:
            if mapping is not None:
                raise ValidationError(
                    "Give --profile or --mapping, not both.", {"profile": "with --mapping"}
                )
            mapping = _profile_mapping(ctx, path, args)
            if mapping is None:
                return 0
        keys = parse_keys(cmdb.meta, args.key)
        defaults = parse_assignments(args.default) if args.default else None
        if args.cls:
            cmdb.meta.concrete_class(args.cls)
        result = import_file(
            cmdb,
            path,
            mapping=mapping,
            keys=keys,
            blank=args.blank,
            default_class=args.cls,
            defaults={k: v for k, v in (defaults or {}).items() if v is not None},
            sheets=args.sheet or None,
            dry_run=args.dry_run,
            skip_errors=args.skip_errors,
            rejects_path=args.rejects,
            progress=ctx.progress(),
            create_attributes=args.create_attributes,
        )
    except BadFileError as exc:
        # The file itself is unreadable: still the import document, plus the error.
        data = {
            "dry_run": bool(args.dry_run),
            "batch": None,
            "cis": {"created": 0, "updated": 0, "unchanged": 0, "errors": 0},
            "relationships": {"created": 0, "unchanged": 0, "errors": 0},
            "errors": [{"sheet": None, "row": None, "column": None, "message": str(exc)}],
            "warnings": [],
            "file": str(path),
            "written": False,
            "rejects": None,
            "error": type(exc).__name__,
            "message": str(exc),
        }
        if ctx.json:
            ctx.emit(data)
        print(f"error: {exc}", file=ctx.err)
        return EXIT_BAD_INPUT
    if args.save_mapping:
        result.plan.mapping.save(Path(args.save_mapping).expanduser())
    outcomes = None
    if args.output:
        target = Path(args.output).expanduser()
        if target.suffix.lower() != ".xlsx":
            target = target.with_name(target.name + ".xlsx")
        try:
            outcomes = write_outcomes(result.plan, target, dry_run=result.dry_run)
        except BadFileError as exc:
            if result.dry_run or not result.written:
                raise
            # the import is written: say so, and that its record is not
            result.plan.warnings.append(f"The import was written, but {exc}")
    data = result.to_json() if ctx.json else {}
    if outcomes is not None:
        data["outcomes"] = str(outcomes)
    ctx.emit(data, lambda: _import_lines(result, outcomes))
    if result.errors and not (args.skip_errors and result.written):
        return EXIT_BAD_INPUT
    return EXIT_OK


def cmd_batches(ctx: Context, args: argparse.Namespace) -> int:
    cmdb = ctx.open()
    batches = cmdb.batches.list(limit=args.limit or None)
    data = {"batches": [b.to_json() for b in batches]}

    def lines() -> Iterable[str]:
        if not batches:
            yield "No batches yet."
            return
        rows = []
        for b in batches:
            counts = b.counts.get("cis", b.counts)
            if isinstance(counts, dict) and "created" in counts:
                what = f"{counts.get('created', 0)} new, {counts.get('updated', 0)} updated CIs"
                rels = b.counts.get("relationships", {})
                if isinstance(rels, dict) and rels.get("created"):
                    what += f", {rels['created']} relationships"
            else:
                what = ", ".join(f"{k} {v}" for k, v in b.counts.items())
            rows.append(
                (
                    b.id,
                    to_text(b.created_at),
                    b.user,
                    b.kind,
                    Path(b.file).name if b.file else "",
                    what,
                    "rolled back" if b.status == "rolled_back" else "",
                )
            )
        yield from table(rows, ("batch", "when (UTC)", "who", "kind", "file", "changes", ""))

    ctx.emit(data, lines)
    return EXIT_OK


def cmd_rollback(ctx: Context, args: argparse.Namespace) -> int:
    cmdb = ctx.open()
    summary = cmdb.batches.rollback(args.batch, progress=ctx.progress())
    data = {
        "batch": args.batch,
        "rolled_back": True,
        "cis": {"deleted": len(summary.deleted), "restored": len(summary.updated)},
        "relationships": {"deleted": len(summary.relationships_deleted)},
    }
    ctx.emit(
        data,
        f"Rolled back batch {args.batch}: {len(summary.deleted)} CIs deleted, "
        f"{len(summary.updated)} restored, {len(summary.relationships_deleted)} relationships "
        "deleted",
    )
    return EXIT_OK


def cmd_export(ctx: Context, args: argparse.Namespace) -> int:
    from importers.export import export_workbook

    cmdb = ctx.open()
    result = export_workbook(
        cmdb, args.output, classes=args.classes or None, progress=ctx.progress()
    )
    ctx.emit(
        result.to_json(),
        f"Exported {result.cis:,} CIs and {result.relationships:,} relationships to "
        f"{result.path} ({', '.join(result.sheets)})",
    )
    return EXIT_OK


def cmd_template(ctx: Context, args: argparse.Namespace) -> int:
    from importers.export import write_template

    cmdb = ctx.open()
    out = write_template(cmdb, args.output, class_name=args.cls)
    ctx.emit({"file": str(out), "class": args.cls}, f"Template written to {out}")
    return EXIT_OK
