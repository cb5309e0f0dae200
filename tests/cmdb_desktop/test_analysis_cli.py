"""`cmdb impact | depends | spof | path`: the JSON shapes of PRODUCT.md §6, text, exit codes."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

from cmdb_desktop.cli import main
from cmdb_desktop.cmdb import Cmdb

CI_KEYS = {"id", "name", "class"}


def run(db: Path, *args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = main(["--db", str(db), *args], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def run_json(db: Path, *args: str) -> tuple[int, Any]:
    code, out, err = run(db, "--format", "json", *args)
    return code, json.loads(out)


@pytest.fixture
def shop(cmdb: Cmdb, db_path: Path) -> Path:
    """A web shop: two web VMs behind a cluster (min up 1) on two hosts, one database."""
    for args in (
        ("Business Service", "Web Shop", "criticality=1"),
        ("Application", "shop-web"),
        ("Cluster", "web-cluster", "redundancy_min_up=1"),
        ("Virtual Machine", "web1"),
        ("Virtual Machine", "web2"),
        ("Server", "host1"),
        ("Server", "host2"),
        ("Database", "orders-db"),
        ("Server", "=cmd|' /C calc'!A0"),  # a hostile name for the report
    ):
        code, _, err = run(db_path, "add", args[0], args[1], "status=In Use", *args[2:])
        assert code == 0, err
    for a, t, b in (
        ("Web Shop", "Depends on", "shop-web"),
        ("Web Shop", "Depends on", "orders-db"),
        ("shop-web", "Runs on", "web-cluster"),
        ("web-cluster", "Has member", "web1"),
        ("web-cluster", "Has member", "web2"),
        ("web1", "Hosted on", "host1"),
        ("web2", "Hosted on", "host2"),
        ("orders-db", "Hosted on", "host1"),
        ("orders-db", "Backed up by", "host2"),
        ("=cmd|' /C calc'!A0", "Hosts", "orders-db"),
    ):
        code, _, err = run(db_path, "relate", a, t, b)
        assert code == 0, err
    return db_path


def test_impact_json_shape(shop: Path) -> None:
    code, data = run_json(shop, "impact", "host1")
    assert code == 0
    assert list(data)[:3] == ["changed", "impacted", "counts"]
    assert [set(c) for c in data["changed"]] == [CI_KEYS]
    assert data["changed"][0]["name"] == "host1"
    assert set(data["counts"]) == {"down", "degraded"}
    for item in data["impacted"]:
        assert set(item) == CI_KEYS | {"state", "distance", "path"}
        assert item["path"][0] == "host1" and item["path"][-1] == item["name"]
        assert len(item["path"]) == item["distance"] + 1
    states = {i["name"]: (i["state"], i["distance"]) for i in data["impacted"]}
    assert states == {
        "Web Shop": ("down", 2),  # through orders-db (no redundancy there)
        "web1": ("down", 1),
        "orders-db": ("down", 1),
        "web-cluster": ("degraded", 2),
        "shop-web": ("degraded", 3),
    }
    assert data["impacted"][0]["name"] == "Web Shop", "services first"
    assert data["counts"] == {"down": 3, "degraded": 2}


def test_impact_of_several_cis_and_depth(shop: Path) -> None:
    code, data = run_json(shop, "impact", "web1", "Virtual Machine/web2")
    assert code == 0
    assert [c["name"] for c in data["changed"]] == ["web1", "web2"]
    states = {i["name"]: i["state"] for i in data["impacted"]}
    assert states == {"web-cluster": "down", "shop-web": "down", "Web Shop": "down"}
    code, data = run_json(shop, "impact", "host1", "--depth", "1")
    assert code == 0 and data["depth"] == 1
    assert sorted(i["name"] for i in data["impacted"]) == ["orders-db", "web1"]
    assert data["counts"] == {"down": 2, "degraded": 0}


def test_impact_text_reads_like_an_assessment(shop: Path) -> None:
    code, out, _ = run(shop, "impact", "host1")
    assert code == 0
    assert out.startswith("Change set: #")
    assert "Impacted: 5 CIs — 3 down, 2 degraded; 1 services" in out
    assert "Impacted services (1):" in out
    assert "host1 → orders-db → Web Shop" in out
    assert "degraded:" in out.splitlines()[-1]
    code, out, _ = run(shop, "impact", "Web Shop")
    assert "Nothing is impacted." in out


def test_impact_report_option(shop: Path, tmp_path: Path) -> None:
    report = tmp_path / "change-42.xlsx"
    code, data = run_json(shop, "impact", "host1", "-o", str(report))
    assert code == 0 and report.is_file()
    assert data["report"] == str(report)
    code, out, err = run(shop, "impact", "host1", "-o", str(tmp_path / "report.csv"))
    assert code == 2 and ".xlsx" in err
    code, out, err = run(shop, "impact", "host1", "-o", str(tmp_path / "missing" / "r.xlsx"))
    assert code == 2 and "does not exist" in err


def test_bad_references_exit_2(shop: Path) -> None:
    code, out, err = run(shop, "impact", "no-such-ci")
    assert code == 2 and "No CI matches" in err
    code, out, err = run(shop, "add", "Server", "web1", "status=In Use")
    assert code == 0
    code, data = run_json(shop, "impact", "web1")
    assert code == 2 and len(data["candidates"]) == 2
    code, out, err = run(shop, "impact", "host1", "--depth", "-1")
    assert code == 2 and "--depth" in err
    for command in (["depends", "nope"], ["spof", "#999999"], ["path", "host1", "nope"]):
        code, _, _ = run(shop, *command)
        assert code == 2, command


def test_depends_json_and_text(shop: Path) -> None:
    code, data = run_json(shop, "depends", "Web Shop")
    assert code == 0
    assert set(data["ci"]) == CI_KEYS and data["ci"]["name"] == "Web Shop"
    deps = {d["name"]: d["distance"] for d in data["dependencies"]}
    assert deps == {
        "shop-web": 1,
        "orders-db": 1,
        "web-cluster": 2,
        "host1": 2,
        "=cmd|' /C calc'!A0": 2,
        "web1": 3,
        "web2": 3,
        "host2": 4,
    }
    assert all(set(d) == CI_KEYS | {"distance"} for d in data["dependencies"])
    assert [d["distance"] for d in data["dependencies"]] == sorted(deps.values())
    assert data["layers"][0] == {"class": "Application", "count": 1, "distance": 1}
    code, out, _ = run(shop, "depends", "Web Shop")
    assert code == 0 and "depends on 8 CIs" in out and "Layers:" in out
    code, out, _ = run(shop, "depends", "host2")
    assert "Nothing can impact" in out
    code, data = run_json(shop, "depends", "Web Shop", "--depth", "1")
    assert sorted(d["name"] for d in data["dependencies"]) == ["orders-db", "shop-web"]


def test_spof_json_and_text(shop: Path) -> None:
    code, data = run_json(shop, "spof", "Web Shop")
    assert code == 0
    assert set(data["ci"]) == CI_KEYS
    assert [s["name"] for s in data["spof"]] == [
        "shop-web",  # nearest first, then by class, then by name
        "orders-db",
        "web-cluster",
        "=cmd|' /C calc'!A0",
        "host1",
    ]
    assert all(CI_KEYS <= set(s) for s in data["spof"])
    code, out, _ = run(shop, "spof", "Web Shop")
    assert "5 of its 8 dependencies take it down on their own" in out
    code, out, _ = run(shop, "spof", "web-cluster")
    assert "no single point of failure among its 4 dependencies" in out


def test_path_json_and_text(shop: Path) -> None:
    code, data = run_json(shop, "path", "host2", "Web Shop")
    assert code == 0
    assert [p["name"] for p in data["path"]] == [
        "host2",
        "web2",
        "web-cluster",
        "shop-web",
        "Web Shop",
    ]
    assert all(set(p) == CI_KEYS for p in data["path"])
    code, out, _ = run(shop, "path", "host2", "Web Shop")
    assert out.startswith("4 step(s): #")
    code, data = run_json(shop, "path", "Web Shop", "host2")
    assert code == 0 and data == {"path": []}
    code, out, _ = run(shop, "path", "Web Shop", "host2")
    assert "Impact does not flow from" in out


def test_retired_cis_are_explained(shop: Path) -> None:
    assert run(shop, "set", "host2", "status=Retired", "Retirement Reason=spare")[0] == 0
    code, out, _ = run(shop, "impact", "host2")
    assert "takes no part in impact" in out and "Nothing is impacted." in out
    code, out, _ = run(shop, "depends", "host2")
    assert "Retired/Disposed" in out
    code, out, _ = run(shop, "spof", "host2")
    assert "Retired/Disposed" in out


def test_big_blast_radius_json_is_complete_and_parses(demo_cmdb: Cmdb) -> None:
    assert demo_cmdb.path is not None
    site = demo_cmdb.items.find_by_name("Amsterdam DC1")[0].id
    code, data = run_json(demo_cmdb.path, "impact", f"#{site}")
    assert code == 0
    report = demo_cmdb.analysis.impact([site])
    assert len(data["impacted"]) == len(report.impacted) > 300
    assert data["impacted"][5] == report.impacted[5].to_json()
    assert data["counts"] == report.counts
    code, out, _ = run(demo_cmdb.path, "impact", f"#{site}")
    assert "(-o REPORT.xlsx or --format json lists all)" in out
