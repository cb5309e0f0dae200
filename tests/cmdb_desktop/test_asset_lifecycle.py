"""Lifecycle rules (PRODUCT.md §10) in every write path, with one message."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from cmdb_desktop.catalogue import DEFAULT_TRANSITIONS, STATUSES
from cmdb_desktop.cli import main
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import ValidationError

DISALLOWED = [
    (old, new)
    for old in STATUSES
    for new in STATUSES
    if old != new and new not in DEFAULT_TRANSITIONS[old]
]
#: What a CI needs to be in each status (the fields moving there requires).
NEEDS: dict[str, dict[str, str]] = {
    "Retired": {"retirement_reason": "old"},
    "Disposed": {
        "retirement_reason": "old",
        "disposal_date": "2025-01-02",
        "disposal_method": "recycled",
    },
}


def message(old: str, new: str) -> str:
    nxt = DEFAULT_TRANSITIONS[old]
    if not nxt:
        return f"cannot change from {old} to {new}: {old} is final"
    return f"cannot change from {old} to {new}; from {old} a CI may move to {', '.join(nxt)}"


def run(db: Path, *args: str) -> tuple[int, Any, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--db", str(db), "--format", "json", *args], out=out, err=err)
    text = out.getvalue()
    return code, (json.loads(text) if text.strip() else None), err.getvalue()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def assets(db_path: Path) -> Path:
    """One Workstation per status, named after it."""
    with Cmdb.open(db_path, user="tester") as c:
        for status in STATUSES:
            c.items.create(
                "Workstation",
                {"name": status.replace(" ", "-"), "status": status, **NEEDS.get(status, {})},
            )
    return db_path


def test_disallowed_transitions_refused_by_the_service(assets: Path) -> None:
    with Cmdb.open(assets, user="tester") as c:
        for old, new in DISALLOWED:
            with pytest.raises(ValidationError) as exc:
                ci = c.items.resolve(old.replace(" ", "-"))
                c.items.update(ci, {"status": new, **NEEDS.get(new, {})})
            assert message(old, new) in str(exc.value)


def test_disallowed_transitions_refused_by_the_cli(assets: Path) -> None:
    before = digest(assets)
    for old, new in DISALLOWED[:12]:
        code, _out, err = run(assets, "set", old.replace(" ", "-"), f"status={new}")
        assert code == 2
        assert message(old, new) in err
        assert "Traceback" not in err
    assert digest(assets) == before


def test_disallowed_transitions_are_import_row_errors(assets: Path, tmp_path: Path) -> None:
    from importers.apply import import_file

    sheet = tmp_path / "moves.csv"
    rows = ["Name,Class,Status"] + [
        f"{old.replace(' ', '-')},Workstation,{new}" for old, new in DISALLOWED
    ]
    # one row per CI: keep the first disallowed move of each
    seen: set[str] = set()
    kept = [rows[0]]
    expected: dict[int, str] = {}
    for (old, new), row in zip(DISALLOWED, rows[1:], strict=True):
        if old in seen:
            continue
        seen.add(old)
        kept.append(row)
        expected[len(kept)] = message(old, new)
    sheet.write_text("\n".join(kept) + "\n", encoding="utf-8")
    with Cmdb.open(assets, user="tester") as c:
        result = import_file(c, sheet, dry_run=True)
    got = {e.row: e.message for e in result.errors}
    assert got == expected


def test_allowed_transitions_with_required_fields(cmdb: Cmdb) -> None:
    s1 = cmdb.items.create("Server", {"name": "s1", "status": "In Use"}).created[0]
    with pytest.raises(ValidationError) as exc:
        cmdb.items.update(s1, {"status": "Retired"})
    assert "Retirement Reason is required to move to Retired" in str(exc.value)
    cmdb.items.update(s1, {"status": "Retired", "Retirement Reason": "obsolete"})
    with pytest.raises(ValidationError) as exc:
        cmdb.items.update(s1, {"status": "Disposed"})
    text = str(exc.value)
    assert "Disposal Date is required to move to Disposed" in text
    assert "Disposal Method is required to move to Disposed" in text
    cmdb.items.update(
        s1, {"status": "Disposed", "disposal_date": "2026-01-01", "disposal_method": "sold"}
    )
    assert cmdb.items.get("s1").values["status"] == "Disposed"


def test_date_sanity(cmdb: Cmdb) -> None:
    with pytest.raises(ValidationError) as exc:
        cmdb.items.create(
            "Server", {"name": "s", "purchase_date": "2030-01-01", "warranty_end": "2020-01-01"}
        )
    assert "Warranty End (2020-01-01) is before Purchase Date (2030-01-01)" in str(exc.value)
    s = cmdb.items.create("Server", {"name": "s", "purchase_date": "2024-01-01"}).created[0]
    with pytest.raises(ValidationError) as exc:
        cmdb.items.update(s, {"disposal_date": "2023-12-31"})
    assert "Disposal Date (2023-12-31) is before Purchase Date (2024-01-01)" in str(exc.value)


def test_rules_are_editable_per_class(cmdb: Cmdb) -> None:
    cmdb.classes.set_lifecycle("Workstation", transitions={"Disposed": ["Planned"]}, requires={})
    w = cmdb.items.create("Workstation", {"name": "w", "status": "Disposed"}).created[0]
    cmdb.items.update(w, {"status": "Planned"})
    s = cmdb.items.create("Server", {"name": "s", "status": "Disposed"}).created[0]
    with pytest.raises(ValidationError):
        cmdb.items.update(s, {"status": "Planned"})
