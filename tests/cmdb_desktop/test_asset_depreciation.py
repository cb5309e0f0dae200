"""Depreciation against hand-computed tables (PRODUCT.md §10)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from cmdb_desktop.assets.depreciation import book_value, whole_months
from cmdb_desktop.catalogue import DECLINING, STRAIGHT_LINE


@pytest.mark.parametrize(
    ("purchased", "at", "months"),
    [
        (date(2024, 1, 15), date(2024, 1, 15), 0),
        (date(2024, 1, 15), date(2024, 2, 14), 0),  # one day short
        (date(2024, 1, 15), date(2024, 2, 15), 1),  # on the purchase's day
        (date(2024, 1, 15), date(2023, 12, 1), 0),  # before purchase: 0, not negative
        (date(2023, 1, 31), date(2023, 2, 27), 0),
        (date(2023, 1, 31), date(2023, 2, 28), 1),  # the 31st: February's last day
        (date(2024, 1, 31), date(2024, 2, 28), 0),  # leap year: February has 29
        (date(2024, 1, 31), date(2024, 2, 29), 1),
        (date(2024, 1, 31), date(2024, 3, 30), 1),
        (date(2024, 1, 31), date(2024, 3, 31), 2),
        (date(2024, 1, 31), date(2024, 4, 30), 3),  # April's last day
        (date(2024, 2, 29), date(2025, 2, 28), 12),  # leap day: Feb 28 completes the year
        (date(2024, 2, 29), date(2025, 2, 27), 11),
        (date(2024, 2, 29), date(2024, 3, 29), 1),
        (date(2023, 12, 31), date(2024, 1, 1), 0),  # across a year
        (date(2023, 12, 31), date(2024, 12, 31), 12),
    ],
)
def test_whole_months(purchased: date, at: date, months: int) -> None:
    assert whole_months(purchased, at) == months


# cost 1000, salvage 100, life 36 months: (1000 - 100) / 36 = 25 a month.
@pytest.mark.parametrize(
    ("at", "value"),
    [
        (date(2023, 1, 31), "1000.00"),
        (date(2023, 2, 27), "1000.00"),
        (date(2023, 2, 28), "975.00"),
        (date(2023, 12, 31), "725.00"),  # 11 months
        (date(2024, 1, 31), "700.00"),  # 12
        (date(2025, 12, 31), "125.00"),  # 35
        (date(2026, 1, 31), "100.00"),  # 36: life reached, salvage left
        (date(2030, 6, 1), "100.00"),  # beyond life: still salvage
        (date(2020, 1, 1), "1000.00"),  # before purchase
    ],
)
def test_straight_line(at: date, value: str) -> None:
    got = book_value(STRAIGHT_LINE, 1000, date(2023, 1, 31), 36, 100, at)
    assert got == Decimal(value)


def test_straight_line_rounds_half_up_to_cents() -> None:
    # 1000 / 3 per month, no salvage: 1000 - 333.333… = 666.666… → 666.67
    assert book_value(STRAIGHT_LINE, 1000, date(2024, 1, 1), 3, 0, date(2024, 2, 1)) == Decimal(
        "666.67"
    )
    # 0.05 left after 1 of 2 months of 0.10: exactly 0.05
    assert book_value(STRAIGHT_LINE, "0.10", date(2024, 1, 1), 2, 0, date(2024, 2, 1)) == Decimal(
        "0.05"
    )
    # 0.01 over 2 months: 0.005 → half-up 0.01
    assert book_value(STRAIGHT_LINE, "0.01", date(2024, 1, 1), 2, 0, date(2024, 2, 1)) == Decimal(
        "0.01"
    )


# double declining: cost 1000, life 10 → rate 0.2; 1000 × 0.8^m
@pytest.mark.parametrize(
    ("at", "value"),
    [
        (date(2024, 2, 28), "1000.00"),  # 0 months (leap year, bought on the 29th)
        (date(2024, 2, 29), "1000.00"),
        (date(2024, 3, 29), "800.00"),  # 1
        (date(2024, 4, 29), "640.00"),  # 2
        (date(2024, 5, 29), "512.00"),  # 3
        (date(2024, 6, 29), "409.60"),  # 4
        (date(2024, 7, 29), "327.68"),  # 5
        (date(2024, 8, 29), "262.14"),  # 6: 262.144
        (date(2024, 9, 29), "209.72"),  # 7: 209.7152
        (date(2024, 10, 29), "200.00"),  # 8: 167.77 < salvage floor 200
        (date(2025, 2, 28), "200.00"),  # 12 and beyond: the floor
    ],
)
def test_declining_with_salvage_floor(at: date, value: str) -> None:
    got = book_value(DECLINING, 1000, date(2024, 2, 29), 10, 200, at)
    assert got == Decimal(value)


def test_declining_without_salvage_keeps_declining() -> None:
    # 1000 × 0.8^9 = 134.217728 → 134.22
    assert book_value(DECLINING, 1000, date(2024, 1, 1), 10, None, date(2024, 10, 1)) == Decimal(
        "134.22"
    )


def test_unknown_values() -> None:
    assert book_value(None, 500, None, None, None, date(2024, 1, 1)) == Decimal("500.00")
    assert book_value("None", 500, None, None, None, date(2024, 1, 1)) == Decimal("500.00")
    assert book_value(STRAIGHT_LINE, None, date(2024, 1, 1), 12, 0, date(2024, 5, 1)) is None
    assert book_value(STRAIGHT_LINE, 500, None, 12, 0, date(2024, 5, 1)) is None
    assert book_value(DECLINING, 500, date(2024, 1, 1), None, 0, date(2024, 5, 1)) is None
