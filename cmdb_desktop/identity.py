"""How identity keys compare (PRODUCT.md §3 and the trust rules of §8).

Names within a class, serial numbers and asset tags are one identity when
they differ only in case or surrounding white space (``"Web01 "`` =
``"web01"``), in every path: the form, the CLI, an import, an audit. This
module is that rule, once: :func:`fold_key` in Python and
:func:`folded_equals` in SQL (the item service checks a single CI against the
database; the importer folds whole columns in memory with
:func:`fold_key`).

>>> fold_key("  Web01 "), fold_key("SN  1"), fold_key(3.0), fold_key(None)
('web01', 'sn 1', 3, None)
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import date
from typing import Any

from sqlalchemy import and_, func, literal, or_
from sqlalchemy.sql.elements import ColumnElement

#: Control characters a key loses when folded (white space ones fold to a space):
#: an .xlsx cell cannot hold them, so an exported name comes back without them.
_DROP = {c: None for c in (*range(32), *range(127, 160)) if chr(c) not in "\t\n\r\x0b\x0c"}


def fold_text(text: str) -> str:
    """Case-folded, stripped, control characters dropped, runs of white space one space."""
    return " ".join(text.translate(_DROP).casefold().split())


def fold_key(value: Any) -> Hashable | None:
    """The form a key value is compared in (None for blank)."""
    if value is None:
        return None
    if type(value) is str:
        # The usual key needs no more than this (every import row's keys come here).
        folded = value.strip().casefold()
        if "  " in folded or not folded.isprintable():
            folded = fold_text(folded)
        return folded or None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, date):
        return value.isoformat()
    return value if isinstance(value, Hashable) else str(value)


def sql_fold(value: Any) -> Any:
    """The SQLite function ``cmdb_fold`` (registered on every connection): :func:`fold_text`."""
    return fold_text(value) if isinstance(value, str) else value


def folded_equals(expr: Any, value: Any, dialect: str) -> ColumnElement[bool]:
    """SQL: ``expr`` folds to the same key as ``value``.

    On SQLite the indexable-speed ``lower(trim())`` (ASCII folding) decides
    for plain ASCII values; values it could fold differently (anything
    outside printable ASCII, runs of spaces) go through ``cmdb_fold``, the
    Python fold itself, so the answer is exactly :func:`fold_key`'s.
    """
    key = fold_key(value)
    if not isinstance(key, str):
        return and_(expr.is_not(None), expr == literal(value))
    if dialect == "postgresql":
        return func.lower(func.regexp_replace(func.btrim(expr), r"\s+", " ", "g")) == key
    unusual = or_(expr.op("GLOB")("*[^ -~]*"), func.instr(expr, "  ") > 0)
    return or_(
        func.lower(func.trim(expr)) == key,
        and_(unusual, func.cmdb_fold(expr) == key),
    )
