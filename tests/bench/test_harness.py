"""The benchmark harness: ratios, verdicts, the printed table and results.json.

The benchmarks themselves take minutes on big datasets (``make bench``); here
only what turns measurements into the report is checked, on made-up figures,
plus one real figure on a tiny CMDB so the measuring code keeps working.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.harness import Figure, Measurement, machine, markdown, measure, report


def test_ratio_and_verdict() -> None:
    ours = Measurement("ours", [0.30, 0.10, 0.20])
    ref = Measurement("reference", [0.25, 0.20, 0.15])
    assert ours.median == pytest.approx(0.20)
    assert ours.spread == pytest.approx(0.20)
    met = Figure("fast enough", ours, ref, target=1.5)
    assert met.ratio == pytest.approx(1.0)
    assert met.met is True
    missed = Figure("too slow", ours, ref, target=0.5)
    assert missed.met is False
    assert "NOT MET" in missed.summary()
    informational = Figure("no target", ours, ref)
    assert informational.met is None
    assert Figure("no reference", ours).ratio is None


def test_measure_repeats_and_runs_setup_first() -> None:
    calls: list[str] = []
    m = measure("x", lambda: calls.append("run"), repeat=3, setup=lambda: calls.append("setup"))
    assert calls == ["setup", "run"] * 3
    assert len(m.samples) == 3 and all(s >= 0 for s in m.samples)


def test_report_prints_every_figure_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    figures = [
        Figure(
            "import",
            Measurement("import", [2.0, 2.2]),
            Measurement("floor", [1.0, 1.1]),
            target=1.5,
            note="a note",
        ),
        Figure(
            "memory", Measurement("rss", [900.0], "MB"), Measurement("budget", [1536.0], "MB"), 1.0
        ),
        Figure("first page", Measurement("ours", [0.012, 0.014]), Measurement("bare", [0.010])),
    ]
    out = tmp_path / "results.json"
    report(figures, out, run={"quick": True})
    printed = capsys.readouterr().out
    for name in ("import", "memory", "first page", "NOT MET", "met", "a note", "ms", "MB"):
        assert name in printed
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["run"] == {"quick": True}
    assert set(doc["machine"]) >= {"python", "platform", "cpus"}
    by_name = {f["name"]: f for f in doc["figures"]}
    assert by_name["import"]["met"] is False
    assert by_name["import"]["ratio"] == pytest.approx(2.1 / 1.05)
    assert by_name["memory"]["met"] is True
    assert by_name["first page"]["target"] is None
    table = markdown(doc).splitlines()
    assert table[0].startswith("| figure |") and len(table) == 2 + len(figures) + 2
    assert "| import | 2.10 s ±0.20 | 1.05 s ±0.10 (floor) | 2.00× | ≤ 1.5× **not met** |" in table
    assert "≤ 1× met" in table[3] and "| – |" in table[4]


def test_machine_describes_the_computer() -> None:
    info = machine()
    assert info["cpus"] >= 1
    assert info["python"].count(".") == 2


def test_core_figures_on_a_small_cmdb(demo_db: Path) -> None:
    """The search and first-page measurements run against a real file."""
    import sqlite3

    from bench import bench_core
    from cmdb_desktop.cmdb import Cmdb

    bench_core._ours_first_page(demo_db)
    bench_core._raw_first_page(demo_db)
    with Cmdb.open(demo_db) as cmdb:
        bench_core._ours_search(cmdb)
    conn = sqlite3.connect(demo_db)
    try:
        bench_core._raw_search(conn)
    finally:
        conn.close()


def test_layout_figures_on_a_small_cmdb(demo_db: Path) -> None:
    """The layout part's neighbourhoods and measures, ours against dot, on a real file."""
    from bench import bench_layout
    from ui.graph_dot import dot_program

    found = bench_layout.cases_of(demo_db, aggregate=True, per_class=1)
    assert len(found) >= 5 and all(len(c.nodes) <= 60 and c.edges for c in found)
    if dot_program() is None:
        pytest.skip("Graphviz dot is not installed")
    got = bench_layout.measure_cases(found[:3], repeat=1)
    for program in ("ours", "dot"):
        assert len(got[program]["crossings"]) == 3
        assert all(a > 0 for a in got[program]["area"])


def test_the_layout_part_skips_without_dot(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench import bench_layout

    monkeypatch.setenv("PATH", "")
    assert bench_layout.run(10_000) == []
    assert "dot not installed" in capsys.readouterr().out
