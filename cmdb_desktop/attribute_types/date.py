"""Calendar dates: ISO, d/m/y or m/d/y, 31 Jan 2024, Excel serial day numbers."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cmdb_desktop.attribute_types.base import BLANK, AttributeType, Converter, DateOrder
from cmdb_desktop.vocabulary import AttrType, EditorKind

if TYPE_CHECKING:
    from cmdb_desktop.metamodel import AttributeInfo

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}

_EXCEL_EPOCH = date(1899, 12, 30)

_ISO = re.compile(
    r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z?)?"
)
_NUMERIC = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")
_WORDY = re.compile(r"(\d{1,2})[-\s./]?([A-Za-z]{3,9})\.?[-\s,./]*(\d{2}|\d{4})")
_WORDY_US = re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})")


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        year += 2000 if year < 70 else 1900
    return year


def _make(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_date_text(text: str, order: DateOrder = None) -> date | None:
    """Parse ``text`` or return None. Ambiguous d/m vs m/d needs ``order``.

    >>> parse_date_text("2024-01-31"), parse_date_text("31/01/2024")
    (datetime.date(2024, 1, 31), datetime.date(2024, 1, 31))
    >>> parse_date_text("03/04/2024") is None, parse_date_text("03/04/2024", "MDY")
    (True, datetime.date(2024, 3, 4))
    """
    m = _ISO.fullmatch(text)
    if m:
        return _make(int(m[1]), int(m[2]), int(m[3]))
    m = _NUMERIC.fullmatch(text)
    if m:
        a, b, year = int(m[1]), int(m[2]), _year(m[3])
        if a > 12 and b <= 12:
            return _make(year, b, a)
        if b > 12 and a <= 12:
            return _make(year, a, b)
        if a == b:
            return _make(year, a, b)
        if order == "DMY":
            return _make(year, b, a)
        if order == "MDY":
            return _make(year, a, b)
        return None
    m = _WORDY.fullmatch(text)
    if m and m[2].casefold() in _MONTHS:
        return _make(_year(m[3]), _MONTHS[m[2].casefold()], int(m[1]))
    m = _WORDY_US.fullmatch(text)
    if m and m[1].casefold() in _MONTHS:
        return _make(int(m[3]), _MONTHS[m[1].casefold()], int(m[2]))
    return None


def infer_date_order(texts: list[str]) -> DateOrder:
    """Guess a column's d/m order from its unambiguous values (None if no evidence)."""
    dmy = mdy = 0
    for text in texts:
        m = _NUMERIC.fullmatch(text.strip())
        if not m:
            continue
        a, b = int(m[1]), int(m[2])
        if a > 12 >= b:
            dmy += 1
        elif b > 12 >= a:
            mdy += 1
    if dmy and not mdy:
        return "DMY"
    if mdy and not dmy:
        return "MDY"
    return None


def parse_date(raw: Any, order: DateOrder = None) -> date:
    """A date from a typed value, an Excel serial or text; ValueError says how to write it."""
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if 1 <= raw < 2958466:  # Excel's serial day numbers (1900-01-01 … 9999-12-31)
            return _EXCEL_EPOCH + timedelta(days=int(raw))
        raise ValueError(f"{raw!r} is not a date")
    text = str(raw).strip()
    parsed = parse_date_text(text, order)
    if parsed is not None:
        return parsed
    if order is None and parse_date_text(text, "DMY") is not None:
        raise ValueError(
            f"{text!r} could be day/month or month/day; write it as YYYY-MM-DD "
            "or choose the date order for this column"
        )
    raise ValueError(f"{text!r} is not a date (write it as YYYY-MM-DD, e.g. 2024-01-31)")


class DateType(AttributeType):
    name = AttrType.DATE
    label = "Date"
    editor = EditorKind.DATE
    short = True

    def convert(self, attr: AttributeInfo, raw: Any, date_order: DateOrder = None) -> Any:
        return parse_date(raw, date_order)

    def converter(self, attr: AttributeInfo, date_order: DateOrder = None) -> Converter:
        slow = super().converter(attr, date_order)

        def as_date(raw: Any) -> Any:
            t = type(raw)
            if t is date:
                return raw
            if t is datetime:
                return raw.date()
            if t is str:
                s = raw.strip()
                if not s:
                    return BLANK
                parsed = parse_date_text(s, date_order)
                if parsed is not None:
                    return parsed
            return slow(raw)

        return as_date

    def to_storage(self, value: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value

    def from_storage(self, stored: Any) -> Any:
        if isinstance(stored, str):
            return date.fromisoformat(stored[:10])
        return stored


DATE = DateType()
