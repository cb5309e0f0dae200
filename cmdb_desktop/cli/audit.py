"""``audit FILE [--key …] [--scope …] [-o REPORT.xlsx]``: compare a spreadsheet with the CMDB.

The audit reads only; ``--stamp-verified`` additionally sets *last verified*
on the matched CIs as one batch (listed by ``batches``, undone by
``rollback``). Exit 0 whatever the findings; 2 for a file that cannot be
read or bad options.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmdb_desktop.cli.common import EXIT_OK, Context, ref_text, sheet_options, table
from cmdb_desktop.values import to_text

if TYPE_CHECKING:
    from importers.audit import AuditResult

#: Findings listed per kind in text output (JSON lists all).
TEXT_LIMIT = 25


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "audit",
        parents=parents,
        help="compare a spreadsheet (inventory, scan, export) with the CMDB",
        description="Matches sheet rows to CIs by the identification rules (or --key) and "
        "reports matched, mismatched fields, only in sheet and only in CMDB. Writes nothing "
        "unless --stamp-verified.",
    )
    p.add_argument("file", metavar="FILE")
    sheet_options(p, "sheet(s) to audit (default: the visible ones)")
    p.add_argument(
        "--scope",
        action="append",
        default=[],
        metavar="KIND=VALUE[,VALUE]",
        help="narrow 'only in CMDB': class=…, location=… (CI located in it), status=…; repeatable",
    )
    p.add_argument("-o", "--output", metavar="REPORT.xlsx", help="write the styled report")
    p.add_argument(
        "--stamp-verified",
        action="store_true",
        help="set 'last verified' to today on matched CIs (one batch)",
    )
    p.set_defaults(func=cmd_audit)


def _lines(result: AuditResult, report: Path | None, batch: int | None) -> Iterable[str]:
    from importers.audit import describe

    yield f"Audit of {result.file.name}: {describe(result)}"
    if result.mismatched:
        yield ""
        yield f"Mismatched fields ({len(result.mismatched):,}):"
        rows = [
            (ref_text(m.ci), m.label, to_text(m.cmdb) or "∅", to_text(m.sheet) or "∅", m.row)
            for m in result.mismatched[:TEXT_LIMIT]
        ]
        yield from table(rows, ("CI", "field", "CMDB", "sheet", "row"))
    if result.only_in_sheet:
        yield ""
        yield f"Only in the sheet ({len(result.only_in_sheet):,}):"
        yield from table(
            [
                (s.row, s.class_name or "", s.name or "", s.key)
                for s in result.only_in_sheet[:TEXT_LIMIT]
            ],
            ("row", "class", "name", "identified by"),
        )
    if result.only_in_cmdb:
        yield ""
        yield (
            f"Only in the CMDB ({len(result.only_in_cmdb):,}; scope: "
            f"{', '.join(result.scope_classes)}):"
        )
        for ref in result.only_in_cmdb[:TEXT_LIMIT]:
            yield f"  {ref_text(ref)}"
    if result.errors:
        yield ""
        yield f"Rows that could not be judged ({len(result.errors):,}):"
        for err in result.errors[:TEXT_LIMIT]:
            yield f"  {err}"
    shown = max(
        len(result.mismatched),
        len(result.only_in_sheet),
        len(result.only_in_cmdb),
        len(result.errors),
    )
    if shown > TEXT_LIMIT:
        yield f"(lists cut at {TEXT_LIMIT}; --format json or -o REPORT.xlsx has everything)"
    for w in result.warnings:
        yield f"note: {w}"
    if report is not None:
        yield f"Report written to {report}"
    if batch is not None:
        yield f"Stamped 'last verified' on {len(result.matched):,} CIs as batch {batch}"


def cmd_audit(ctx: Context, args: argparse.Namespace) -> int:
    # Imported here: every other command starts faster without openpyxl and friends.
    from importers.audit import AuditScope, audit_file, stamp_verified
    from importers.audit_report import write_audit_report
    from importers.mapping import load_mapping, parse_keys

    cmdb = ctx.open()
    result = audit_file(
        cmdb,
        Path(args.file).expanduser(),
        mapping=load_mapping(cmdb, args.mapping) if args.mapping else None,
        keys=parse_keys(cmdb.meta, args.key),
        default_class=args.cls,
        sheets=args.sheet or None,
        scope=AuditScope.parse(args.scope),
        progress=ctx.progress(),
    )
    report = write_audit_report(result, args.output) if args.output else None
    batch = stamp_verified(cmdb, result) if args.stamp_verified else None
    data = result.to_json()
    data["report"] = str(report) if report else None
    data["batch"] = batch
    ctx.emit(data, lambda: _lines(result, report, batch))
    return EXIT_OK
