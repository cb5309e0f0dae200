"""Attribute types: the importer's fast converters and ``coerce`` are one thing.

For every attribute type (and the range and choice variants the catalogue
uses), random cells of every kind a spreadsheet or a form can hand over go
through both paths; they must give the same value, or fail with the same
message.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmdb_desktop.attribute_types import BLANK, REGISTRY, attribute_type
from cmdb_desktop.metamodel import AttributeInfo
from cmdb_desktop.values import coerce
from cmdb_desktop.vocabulary import AttrType


def _attr(type_: str, **kw: Any) -> AttributeInfo:
    base = AttributeInfo(1, 1, "x", "X", type_, None, None, None, None, None, 0, "", False)
    return dataclasses.replace(base, **kw)


ATTRIBUTES = [
    _attr("text"),
    _attr("integer"),
    _attr("integer", min_value=1, max_value=4),
    _attr("integer", choices=(1, 2, 3)),
    _attr("decimal"),
    _attr("decimal", min_value=0, max_value=100),
    _attr("date"),
    _attr("boolean"),
    _attr("choice", choices=("In Use", "In Stock", "Retired")),
    _attr("reference"),
]

_texts = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "  ",
            "12",
            " 3 ",
            "2.5",
            "1,234.50",
            "1.234,50",
            "€ 99",
            "nan",
            "inf",
            "-0",
            "2024-01-31",
            "31/01/2024",
            "03/04/2024",
            "31 Jan 2024",
            "Jan 31, 2024",
            "yes",
            "No",
            "in use",
            "IN   STOCK",
            "#12",
            "Server/web01",
            "a\x00b",
            "x" * 40000,
            "9" * 30,
            "1e400",
        ]
    ),
)
CELLS = st.one_of(
    st.none(),
    _texts,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.datetimes(),
)


def _outcome(fn: Any, raw: Any) -> tuple[str, Any]:
    try:
        value = fn(raw)
    except ValueError as exc:
        return ("error", str(exc))
    if value is BLANK or value is None:
        return ("blank", None)
    return ("value", (type(value), value))


def _same(a: tuple[str, Any], b: tuple[str, Any]) -> bool:
    if a[0] == b[0] == "value":
        (ta, va), (tb, vb) = a[1], b[1]
        if isinstance(va, float) and isinstance(vb, float) and math.isnan(va) and math.isnan(vb):
            return True
        return bool(ta is tb and va == vb)
    return a == b


@pytest.mark.parametrize("attr", ATTRIBUTES, ids=lambda a: f"{a.type}{a.min_value or ''}")
@pytest.mark.parametrize("order", [None, "DMY", "MDY"])
@settings(max_examples=300, deadline=None)
@given(raw=CELLS)
def test_converter_agrees_with_coerce(attr: AttributeInfo, order: str | None, raw: Any) -> None:
    fast = attribute_type(attr.type).converter(attr, order)
    slow = _outcome(lambda r: coerce(attr, r, date_order=order), raw)
    assert _same(_outcome(fast, raw), slow), (raw, _outcome(fast, raw), slow)


def test_every_type_is_registered_and_named() -> None:
    assert set(REGISTRY) == {t.value for t in AttrType}
    for name, kind in REGISTRY.items():
        assert kind.name == name and kind.label and kind.editor


def test_messages_say_what_to_fix() -> None:
    with pytest.raises(ValueError, match="could be day/month or month/day.*YYYY-MM-DD"):
        coerce(_attr("date"), "03/04/2024")
    with pytest.raises(ValueError, match="too large"):
        coerce(_attr("integer"), 2**64)
    assert coerce(_attr("date"), datetime(2024, 1, 31, 10)) == date(2024, 1, 31)
