"""Typed attribute values: coercion from what people type, storage and display.

One place decides what ``"1,234.50"``, ``"31/01/2024"`` or ``"yes"`` mean, so
the CLI, the GUI and the importers accept the same input. Coercion raises
:class:`ValueError` with a message a user can act on; callers attach the
field, sheet, row and column.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from cmdb_desktop.metamodel import AttributeInfo

MAX_TEXT_LENGTH = 32767  # what a spreadsheet cell can hold

_TRUE = {"true", "yes", "y", "1", "x", "on", "t", "✓"}
_FALSE = {"false", "no", "n", "0", "off", "f", ""}

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

#: Day-month order for dates like 03/04/2024: "DMY", "MDY", or None (refuse ambiguity).
DateOrder = str | None

_EXCEL_EPOCH = date(1899, 12, 30)


def is_blank(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str):
        return raw.strip() == ""
    return isinstance(raw, float) and math.isnan(raw)


def coerce(attr: AttributeInfo, raw: Any, *, date_order: DateOrder = None) -> Any:
    """Turn ``raw`` (typed text, a spreadsheet cell, a Python value) into the attribute's type.

    Blank input gives None. Reference attributes return an ``int`` CI id when
    given one (``12`` or ``"#12"``) and otherwise the stripped text, which the
    item service resolves against the database.

    >>> from cmdb_desktop.metamodel import AttributeInfo
    >>> cost = AttributeInfo(0, 0, "cost", "Cost", "decimal", "cost", None, None, 0, None, 0, "",
    ...                      True)
    >>> coerce(cost, "1,234.50")
    1234.5
    """
    if is_blank(raw):
        return None
    kind = attr.type
    if kind == "text":
        value: Any = coerce_text(raw)
    elif kind == "integer":
        value = coerce_integer(raw)
    elif kind == "decimal":
        value = coerce_decimal(raw)
    elif kind == "date":
        value = coerce_date(raw, date_order)
    elif kind == "boolean":
        value = coerce_boolean(raw)
    elif kind == "choice":
        value = coerce_choice(raw, attr.choices or ())
    elif kind == "reference":
        value = coerce_reference(raw)
    else:
        raise ValueError(f"unsupported attribute type {kind!r}")
    if kind in ("integer", "decimal") and value is not None:
        if attr.choices and value not in attr.choices:
            allowed = ", ".join(str(c) for c in attr.choices)
            raise ValueError(f"{value} is not one of {allowed}")
        if attr.min_value is not None and value < attr.min_value:
            raise ValueError(
                f"{format_number(value)} is below the minimum {format_number(attr.min_value)}"
            )
        if attr.max_value is not None and value > attr.max_value:
            raise ValueError(
                f"{format_number(value)} is above the maximum {format_number(attr.max_value)}"
            )
    return value


def coerce_text(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        text = str(int(raw))  # spreadsheets hand integral numbers over as floats
    elif isinstance(raw, datetime):
        text = raw.isoformat(sep=" ")
    elif isinstance(raw, date):
        text = raw.isoformat()
    else:
        text = str(raw)
    text = text.strip()
    if "\x00" in text:
        raise ValueError("contains a NUL character")
    if len(text) > MAX_TEXT_LENGTH:
        raise ValueError(f"is {len(text)} characters long; the limit is {MAX_TEXT_LENGTH}")
    return text


_NUMBER_JUNK = re.compile(r"[\s\u00a0\u202f'’$€£¥]")


def _number_text(raw: Any) -> str:
    text = _NUMBER_JUNK.sub("", str(raw))
    if text.endswith("%"):
        text = text[:-1]
    if "," in text and "." in text:
        # Whichever comes last is the decimal separator.
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+", text):
            text = text.replace(",", "")
        else:
            text = text.replace(",", ".")
    return text


def coerce_decimal(raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a number")
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, Decimal):
        value = float(raw)
    else:
        text = _number_text(raw)
        try:
            value = float(Decimal(text))
        except (InvalidOperation, ValueError):
            raise ValueError(f"{str(raw).strip()!r} is not a number") from None
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{raw!r} is not a finite number")
    return value


def coerce_integer(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a whole number")
    if isinstance(raw, int):
        return raw
    try:
        value = coerce_decimal(raw)
    except ValueError:
        raise ValueError(f"{str(raw).strip()!r} is not a whole number") from None
    if not value.is_integer():
        raise ValueError(f"{str(raw).strip()!r} is not a whole number")
    return int(value)


def coerce_boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float) and raw in (0, 1):
        return bool(raw)
    text = str(raw).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{str(raw).strip()!r} is not yes/no (use yes, no, true, false, 1 or 0)")


def coerce_choice(raw: Any, choices: tuple[Any, ...]) -> Any:
    text = coerce_text(raw)
    folded = " ".join(text.casefold().split())
    for choice in choices:
        if " ".join(str(choice).casefold().split()) == folded:
            return choice
    allowed = ", ".join(str(c) for c in choices)
    raise ValueError(f"{text!r} is not one of: {allowed}")


def coerce_reference(raw: Any) -> int | str:
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a CI reference")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    text = coerce_text(raw)
    if re.fullmatch(r"#\d+", text):
        return int(text[1:])
    return text


def coerce_date(raw: Any, order: DateOrder = None) -> date:
    """Dates as people type them: ISO, d/m/y or m/d/y, 31 Jan 2024, Excel serials."""
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
    if parsed is None:
        raise ValueError(f"{text!r} is not a date (write it as YYYY-MM-DD, e.g. 2024-01-31)")
    return parsed


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


# -- storage ------------------------------------------------------------------


def to_storage(attr: AttributeInfo, value: Any) -> Any:
    """How a value sits in the custom-attributes JSON document."""
    if value is None:
        return None
    if attr.type == "date" and isinstance(value, date):
        return value.isoformat()
    return value


def from_storage(attr: AttributeInfo, stored: Any) -> Any:
    if stored is None:
        return None
    if attr.type == "date" and isinstance(stored, str):
        return date.fromisoformat(stored)
    if attr.type == "decimal" and isinstance(stored, int):
        return float(stored)
    return stored


# -- display ------------------------------------------------------------------


def format_number(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_text(value: Any) -> str:
    """Plain text for history, tables and reports; None becomes ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return format_number(value)
    return str(value)


def to_json(value: Any) -> Any:
    """A JSON-serialisable form (dates as ISO strings)."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value
