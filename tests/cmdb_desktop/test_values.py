"""Value coercion: what people type becomes typed values, with messages to act on."""

from __future__ import annotations

import doctest
from datetime import date

import pytest

from cmdb_desktop import values
from cmdb_desktop.values import coerce_boolean, coerce_date, coerce_decimal, coerce_integer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234.50", 1234.5),
        ("1.234,50", 1234.5),
        ("1 234,5", 1234.5),
        ("€ 99", 99.0),
        ("12,5", 12.5),
        ("-3", -3.0),
        ("1,000,000", 1_000_000.0),
        (7, 7.0),
    ],
)
def test_decimals(text: object, expected: float) -> None:
    assert coerce_decimal(text) == expected


@pytest.mark.parametrize("text", ["abc", "1.2.3x", "nan", "inf"])
def test_bad_decimals(text: str) -> None:
    with pytest.raises(ValueError):
        coerce_decimal(text)


def test_integers() -> None:
    assert coerce_integer("12") == 12
    assert coerce_integer(3.0) == 3
    with pytest.raises(ValueError, match="whole number"):
        coerce_integer("2.5")


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("2024-01-31", None, date(2024, 1, 31)),
        ("31/01/2024", None, date(2024, 1, 31)),
        ("01/31/2024", None, date(2024, 1, 31)),
        ("3/4/24", "MDY", date(2024, 3, 4)),
        ("3/4/24", "DMY", date(2024, 4, 3)),
        ("31 Jan 2024", None, date(2024, 1, 31)),
        ("Jan 31, 2024", None, date(2024, 1, 31)),
        ("31.01.2024", None, date(2024, 1, 31)),
        ("2024-01-31T10:00:00", None, date(2024, 1, 31)),
        (45322, None, date(2024, 1, 31)),
    ],
)
def test_dates(text: object, order: str | None, expected: date) -> None:
    assert coerce_date(text, order) == expected


def test_ambiguous_date_needs_an_order() -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        coerce_date("03/04/2024")
    assert values.infer_date_order(["03/04/2024", "25/12/2023"]) == "DMY"
    assert values.infer_date_order(["12/25/2023"]) == "MDY"


def test_booleans() -> None:
    assert coerce_boolean("Yes") is True and coerce_boolean("0") is False
    with pytest.raises(ValueError):
        coerce_boolean("maybe")


def test_text_rejects_nul() -> None:
    with pytest.raises(ValueError, match="NUL"):
        values.coerce_text("a\x00b")


def test_doctests() -> None:
    import cmdb_desktop.cmdb
    import cmdb_desktop.search

    for mod in (values, cmdb_desktop.search, cmdb_desktop.cmdb):
        result = doctest.testmod(mod)
        assert result.failed == 0, mod.__name__
