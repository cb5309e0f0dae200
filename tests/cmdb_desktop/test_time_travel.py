"""Time travel (PRODUCT.md §11): --as-of, diff, baselines, restore — through the
command line a script uses, on real SQLite files, exports read back."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from cmdb_desktop.models import utcnow
from tests.commandline import cli
from tests.importers.sheets import write_xlsx

NAMES = ["web01", "web02", "db01", "app01", "app02"]
CLASSES = ["Server", "Database", "Application"]
OWNERS = ["alice", "bob", "=1+1", ""]
TYPES = ["Depends on", "Runs on"]


def _moment() -> str:
    return utcnow().isoformat(sep="T")


def _workbook(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    wb = load_workbook(path, read_only=True)
    try:
        return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb}
    finally:
        wb.close()


def _export(db: Path, out: Path, *extra: str) -> dict[str, list[tuple[Any, ...]]]:
    code, _data, err = cli(db, "export", "-o", str(out), *extra)
    assert code == 0, err
    return _workbook(out)


def _init(db: Path) -> None:
    code, _data, err = cli(db, "init")
    assert code == 0, err


steps = st.one_of(
    st.tuples(st.just("add"), st.sampled_from(NAMES), st.sampled_from(CLASSES)),
    st.tuples(st.just("set"), st.sampled_from(NAMES), st.sampled_from(OWNERS)),
    st.tuples(st.just("status"), st.sampled_from(NAMES), st.sampled_from(["In Use", "Retired"])),
    st.tuples(st.just("rename"), st.sampled_from(NAMES), st.sampled_from(NAMES)),
    st.tuples(st.just("delete"), st.sampled_from(NAMES)),
    st.tuples(
        st.just("relate"),
        st.sampled_from(NAMES),
        st.sampled_from(TYPES),
        st.sampled_from(NAMES),
    ),
    st.tuples(
        st.just("unrelate"),
        st.sampled_from(NAMES),
        st.sampled_from(TYPES),
        st.sampled_from(NAMES),
    ),
    st.tuples(
        st.just("import"),
        st.lists(
            st.tuples(st.sampled_from(NAMES), st.sampled_from(CLASSES), st.sampled_from(OWNERS)),
            min_size=1,
            max_size=3,
            unique_by=lambda r: r[0],
        ),
    ),
    st.tuples(st.just("rollback")),
    st.tuples(st.just("restore"), st.sampled_from(NAMES)),
    # the data model changes too (the export's Model sheet and columns follow it)
    st.tuples(st.just("attribute"), st.sampled_from(["add", "relabel", "retype", "delete"])),
    st.tuples(st.just("slot"), st.sampled_from(NAMES), st.sampled_from(["4", "x", ""])),
    st.tuples(
        st.just("class"), st.sampled_from([("Database", "Data Store"), ("Data Store", "Database")])
    ),
    st.tuples(st.just("reltype"), st.sampled_from(["add", "rename", "delete"])),
    st.tuples(st.just("mirror"), st.sampled_from(NAMES), st.sampled_from(NAMES)),
)

MODEL_STEPS: dict[str, list[str]] = {
    "add": ["attribute", "add", "Server", "Slot"],
    "relabel": ["attribute", "set", "Server", "slot", "--label", "Slot Number"],
    "retype": ["attribute", "set", "Server", "slot", "--type", "integer"],
    "delete": ["attribute", "delete", "Server", "slot"],
}
RELTYPE_STEPS: dict[str, list[str]] = {
    "add": ["reltype", "add", "Mirrors", "--reverse", "Mirrored by", "--flow", "none"],
    "rename": ["reltype", "set", "Mirrors", "--name", "Copies", "--reverse", "Copied by"],
    "delete": ["reltype", "delete", "Copies"],
}


def _run(db: Path, tmp: Path, n: int, step: tuple[Any, ...]) -> None:
    """One user action; a refusal (exit 2) is part of the story too."""
    kind = step[0]
    if kind == "add":
        cli(db, "add", step[2], step[1])
    elif kind == "set":
        cli(db, "set", step[1], f"owner={step[2]}")
    elif kind == "status":
        cli(db, "set", step[1], f"status={step[2]}")
    elif kind == "rename":
        cli(db, "set", step[1], f"name={step[2]}x")
    elif kind == "delete":
        cli(db, "delete", step[1])
    elif kind in ("relate", "unrelate"):
        cli(db, kind, step[1], step[2], step[3])
    elif kind == "import":
        rows = [["Name", "Class", "Owner"], *[[a, b, c or None] for a, b, c in step[1]]]
        rels = [["Source", "Type", "Target"], [step[1][0][0], "Depends on", "db01"]]
        path = write_xlsx(tmp / f"import{n}.xlsx", {"CIs": rows, "Relationships": rels})
        cli(db, "import", str(path), "--skip-errors", "--rejects", str(tmp / f"rej{n}.xlsx"))
    elif kind == "rollback":
        code, data, _err = cli(db, "batches")
        applied = [b for b in (data or {}).get("batches", []) if b.get("status") == "applied"]
        if applied:
            cli(db, "rollback", str(applied[0]["id"]))
    elif kind == "restore":
        cli(db, "restore", step[1])
    elif kind == "attribute":
        cli(db, *MODEL_STEPS[step[1]])
    elif kind == "slot":
        cli(db, "set", step[1], f"slot={step[2]}")
    elif kind == "class":
        cli(db, "class", "rename", *step[1])
    elif kind == "reltype":
        cli(db, *RELTYPE_STEPS[step[1]])
    elif kind == "mirror":
        cli(db, "relate", step[1], "Mirrors", step[2])


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(session=st.lists(steps, min_size=1, max_size=7))
def test_export_as_of_each_step_equals_the_export_taken_then(
    tmp_path_factory: pytest.TempPathFactory, session: list[tuple[Any, ...]]
) -> None:
    tmp = tmp_path_factory.mktemp("asof")
    db = tmp / "cmdb.sqlite"
    _init(db)
    taken: list[tuple[str, dict[str, list[tuple[Any, ...]]]]] = [
        (_moment(), _export(db, tmp / "start.xlsx"))
    ]
    for n, step in enumerate(session):
        _run(db, tmp, n, step)
        moment = _moment()
        taken.append((moment, _export(db, tmp / f"then{n}.xlsx")))
    for n, (moment, then) in enumerate(taken):
        again = _export(db, tmp / f"asof{n}.xlsx", "--as-of", moment)
        assert again == then, f"as of step {n} ({moment}) after {session[:n]}"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(NAMES[:3]), st.sampled_from(["alice", "bob", "carol", ""])),
        min_size=1,
        max_size=12,
    ),
    extra=st.booleans(),
)
def test_diff_of_an_edit_session_is_its_net_changes(
    tmp_path_factory: pytest.TempPathFactory, edits: list[tuple[str, str]], extra: bool
) -> None:
    db = tmp_path_factory.mktemp("diff") / "cmdb.sqlite"
    _init(db)
    for name in NAMES[:3]:
        cli(db, "add", "Server", name, "owner=alice")
    start = _moment()
    if extra:  # created and deleted in between: not listed
        cli(db, "add", "Server", "temp01")
        cli(db, "relate", "temp01", "Depends on", "db01")
        cli(db, "delete", "temp01")
    owners = dict.fromkeys(NAMES[:3], "alice")
    for name, owner in edits:
        cli(db, "set", name, f"owner={owner}")
        owners[name] = owner
    code, data, err = cli(db, "diff", start)
    assert code == 0, err
    expected = sorted((n, "alice", o or None) for n, o in owners.items() if o != "alice")
    got = sorted((c["ci"]["name"], c["old"], c["new"]) for c in data["cis"]["changed"])
    assert got == expected
    assert data["cis"]["created"] == [] and data["cis"]["deleted"] == []
    assert data["relationships"] == {"created": [], "deleted": []}
    assert set(data) >= {"from", "to", "cis", "relationships"}


def test_diff_between_two_moments_lists_creates_deletes_and_relationships(
    tmp_path: Path,
) -> None:
    db = tmp_path / "cmdb.sqlite"
    _init(db)
    cli(db, "add", "Server", "web01", "owner=alice")
    cli(db, "add", "Server", "old01")
    t0 = _moment()
    cli(db, "add", "Database", "db01")
    cli(db, "relate", "web01", "Depends on", "db01")
    cli(db, "delete", "old01")
    cli(db, "set", "web01", "owner=bob")
    t1 = _moment()
    cli(db, "set", "web01", "owner=carol")
    code, data, err = cli(db, "diff", t0, t1)
    assert code == 0, err
    assert [c["name"] for c in data["cis"]["created"]] == ["db01"]
    assert [c["name"] for c in data["cis"]["deleted"]] == ["old01"]
    assert [(c["field"], c["old"], c["new"]) for c in data["cis"]["changed"]] == [
        ("owner", "alice", "bob")
    ]
    (rel,) = data["relationships"]["created"]
    assert (rel["source"], rel["type"], rel["target"]) == ("web01", "Depends on", "db01")
    # TO before FROM is bad input, as is a moment that is not one
    assert cli(db, "diff", t1, t0)[0] == 2
    assert cli(db, "diff", "last tuesday")[0] == 2


def test_baselines_name_moments_and_diff_against_now(tmp_path: Path) -> None:
    db = tmp_path / "cmdb.sqlite"
    _init(db)
    cli(db, "add", "Server", "web01", "owner=alice")
    code, made, err = cli(db, "baseline", "add", "audit-q2")
    assert code == 0, err and made["name"] == "audit-q2"
    assert cli(db, "baseline", "add", "audit-q2")[0] == 2  # a name is used once
    cli(db, "set", "web01", 'owner==HYPERLINK("x")')
    cli(db, "add", "Server", "web02")
    code, listed, _ = cli(db, "baseline", "list")
    assert [b["name"] for b in listed["baselines"]] == ["audit-q2"]
    out = tmp_path / "changes.xlsx"
    code, data, err = cli(db, "diff", "audit-q2", "-o", str(out))
    assert code == 0, err
    assert data["from"] == "audit-q2" and data["to"] == "now"
    assert [c["name"] for c in data["cis"]["created"]] == ["web02"]
    wb = load_workbook(out)
    assert wb.sheetnames == [
        "Summary",
        "CIs created",
        "CIs deleted",
        "Fields changed",
        "Relationships created",
        "Relationships deleted",
    ]
    changed = wb["Fields changed"]
    assert changed.cell(row=2, column=6).value == '=HYPERLINK("x")'
    assert changed.cell(row=2, column=6).data_type == "s"  # text, never a formula
    assert changed.cell(row=2, column=6).quotePrefix
    # the baseline is a moment: show --as-of it shows the old owner
    code, shown, err = cli(db, "show", "web01", "--as-of", "audit-q2")
    assert code == 0, err and shown["owner"] == "alice"


def test_as_of_is_read_only_and_computes_impact_on_the_graph_of_then(tmp_path: Path) -> None:
    db = tmp_path / "cmdb.sqlite"
    _init(db)
    cli(db, "add", "Database", "db01")
    cli(db, "add", "Server", "web01")
    cli(db, "add", "Application", "app01")
    cli(db, "relate", "app01", "Depends on", "web01")
    cli(db, "relate", "web01", "Depends on", "db01")
    before = _moment()
    # Retired (with the reason the lifecycle asks for): does not propagate
    assert cli(db, "set", "web01", "status=Retired", "retirement_reason=Replaced")[0] == 0
    cli(db, "unrelate", "app01", "Depends on", "web01")
    cli(db, "relate", "app01", "Depends on", "db01")
    after = _moment()
    bytes_before = db.read_bytes()

    def impacted(*extra: str) -> list[str]:
        code, data, err = cli(db, "impact", "db01", *extra)
        assert code == 0, err
        return sorted(c["name"] for c in data["impacted"])

    assert impacted("--as-of", before) == ["app01", "web01"]
    assert impacted("--as-of", after) == ["app01"]
    code, data, _ = cli(db, "path", "db01", "app01", "--as-of", before)
    assert [c["name"] for c in data["path"]] == ["db01", "web01", "app01"]
    code, data, _ = cli(db, "spof", "app01", "--as-of", before)
    assert sorted(c["name"] for c in data["spof"]) == ["db01", "web01"]
    code, data, _ = cli(db, "depends", "app01", "--as-of", before)
    assert sorted(c["name"] for c in data["dependencies"]) == ["db01", "web01"]
    assert cli(db, "health", "--as-of", before)[0] == 0
    code, shown, _ = cli(db, "show", "web01", "--as-of", before)
    assert shown["status"] != "Retired" and shown["version"] == 1
    assert db.read_bytes() == bytes_before  # reading the past writes nothing
    # a CI that did not exist yet is not there
    early = (datetime.fromisoformat(before) - timedelta(days=1)).isoformat()
    assert cli(db, "show", "web01", "--as-of", early)[0] == 2
    assert cli(db, "show", "web01", "--as-of", "not a time")[0] == 2


def test_restore_brings_a_deleted_ci_back_with_surviving_relationships(tmp_path: Path) -> None:
    db = tmp_path / "cmdb.sqlite"
    _init(db)
    cli(db, "add", "Server", "web01", "owner=alice", "criticality=2")
    cli(db, "add", "Database", "db01")
    cli(db, "add", "Server", "gone01")
    cli(db, "relate", "web01", "Depends on", "db01")
    cli(db, "relate", "web01", "Depends on", "gone01")
    code, before, _ = cli(db, "show", "web01")
    cli(db, "delete", "web01")
    cli(db, "delete", "gone01")
    code, data, err = cli(db, "restore", "web01")
    assert code == 0, err and data["relationships"] == 1
    code, after, _ = cli(db, "show", "web01")
    assert after["id"] == before["id"]
    assert (after["owner"], after["criticality"]) == ("alice", 2)
    assert [r["other"]["name"] for r in after["relationships"]] == ["db01"]
    code, hist, _ = cli(db, "history", "web01")
    restored = hist["history"][:2]  # one write: the CI and its relationship, together
    assert {h["entity"] for h in restored} == {"ci", "relationship"}
    assert len({h["at"] for h in restored}) == 1
    assert cli(db, "restore", "web01")[0] == 2  # it exists: nothing to restore
    assert cli(db, "restore", "never-was")[0] == 2
