"""The command line as a script would use it: exit codes, JSON shapes, messages."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from cmdb_desktop.cli import main


def run(db: Path, *args: str) -> tuple[int, Any, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--db", str(db), "--format", "json", *args], out=out, err=err)
    text = out.getvalue()
    return code, (json.loads(text) if text.strip() else None), err.getvalue()


def test_acceptance_flow(tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite"
    code, data, _ = run(db, "demo", "--size", "800", "--seed", "3")
    assert code == 0 and data["cis"] == 800
    code, data, _ = run(db, "health")
    assert code == 0 and data["cis"] == 800 and sum(data["by_class"].values()) == 800
    code, data, _ = run(db, "show", "#1")
    assert code == 0
    assert {"id", "name", "class", "version", "relationships", "status"} <= data.keys()
    rel = data["relationships"][0]
    assert set(rel) >= {"type", "direction", "other"} and set(rel["other"]) == {
        "id",
        "name",
        "class",
    }
    version = data["version"]
    code, data, _ = run(db, "set", "#1", "owner=Alice", "--if-version", str(version))
    assert code == 0 and data["owner"] == "Alice" and data["version"] == version + 1
    code, data, err = run(db, "set", "#1", "owner=Bob", "--if-version", str(version))
    assert code == 3 and "changed by someone else" in err
    code, data, _ = run(db, "history", "#1")
    assert code == 0 and data["history"][0]["field"] == "owner"
    code, data, err = run(db, "show", "no-such-ci")
    assert code == 2 and "No CI matches 'no-such-ci'" in err and "Traceback" not in err


def test_add_relate_unrelate_delete(tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite"
    assert run(db, "init")[0] == 0
    code, app, _ = run(db, "add", "Application", "crm", "status=In Use", "Version=2.1")
    assert code == 0 and app["software_version"] == "2.1"
    code, vm, _ = run(db, "add", "Virtual Machine", "vm1", "status=In Use")
    code, data, _ = run(db, "relate", "crm", "Runs on", "vm1")
    assert code == 0 and data["type"] == "Runs on"
    code, data, err = run(db, "relate", "vm1", "Runs", "crm")
    assert code == 2 and "already" in err
    code, data, _ = run(db, "unrelate", "vm1", "Runs", "crm")
    assert code == 0 and data["action"] == "deleted"
    code, data, _ = run(db, "delete", "Application/crm")
    assert code == 0 and data["deleted"]["name"] == "crm"


def test_input_errors_exit_2(tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite"
    run(db, "init")
    code, data, err = run(db, "add", "Toaster", "t")
    assert code == 2 and data["error"] == "UnknownClassError"
    code, data, err = run(db, "add", "Server", "s", "status=In Use", "cost=lots")
    assert code == 2 and "cost" in data["problems"]
    code, data, err = run(db, "add", "Server", "s", "oops")
    assert code == 2 and "FIELD=VALUE" in err
    run(db, "add", "Server", "dup", "status=In Use")
    run(db, "add", "Virtual Machine", "dup", "status=In Use")
    code, data, err = run(db, "show", "dup")
    assert code == 2 and len(data["candidates"]) == 2


def test_console_script_runs(tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite"
    result = subprocess.run(
        [sys.executable, "-m", "cmdb_desktop", "--db", str(db), "init"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "cmdb_desktop", "--db", str(db), "nonsense"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
