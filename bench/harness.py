"""Measuring, recording and printing benchmark figures.

A *figure* is a measured operation; a *reference* is what it is compared
with in the same run; the *ratio* figure/reference is judged against a
target. Every measurement is repeated and reported as median and spread.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
CACHE = BENCH_DIR / "cache"
RESULTS = BENCH_DIR / "results.json"


#: Sizes of the datasets a run uses: ``{"small": …, "medium": …, "large": …}``.
Sizes = dict[str, int]
#: A part of the suite: ``(sizes, quick) -> figures``.
Part = Callable[[Sizes, bool], "list[Figure]"]

#: Parts registered by bench modules with :func:`part`, in registration order.
PARTS: dict[str, Part] = {}


def part(name: str) -> Callable[[Part], Part]:
    """Register a part of the suite: the one line a new benchmark needs.

    ``python -m bench`` imports every ``bench/bench_*.py`` module, so a new
    file only has to decorate its entry point::

        @part("conflicts")
        def run_part(sizes: Sizes, quick: bool) -> list[Figure]:
            return run(sizes["large"], repeat=1 if quick else 3)

    Its figures then appear, with their references and verdicts, in the
    printed table, ``bench/results.json`` and ``python -m bench --markdown``.
    """

    def register(fn: Part) -> Part:
        if name in PARTS:
            raise ValueError(f"benchmark part {name!r} registered twice")
        PARTS[name] = fn
        return fn

    return register


@dataclass
class Measurement:
    name: str
    samples: list[float]
    unit: str = "s"

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> float:
        return (max(self.samples) - min(self.samples)) if len(self.samples) > 1 else 0.0


@dataclass
class Figure:
    name: str
    value: Measurement
    reference: Measurement | None = None
    target: float | None = None  # maximum ratio value/reference
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.reference is None or self.reference.median == 0:
            return None
        return self.value.median / self.reference.median

    @property
    def met(self) -> bool | None:
        if self.target is None or self.ratio is None:
            return None
        return self.ratio <= self.target

    def summary(self) -> str:
        """One line: value, reference, ratio and verdict (printed as figures come in)."""
        line = f"{self.name}: {_fmt(self.value)}"
        if self.reference is not None:
            line += f" vs {_fmt(self.reference)} ({self.reference.name})"
        if self.ratio is not None:
            line += f" = {self.ratio:.2f}×"
        if self.target is not None:
            line += f", target ≤ {self.target:g}× {'met' if self.met else 'NOT MET'}"
        return line


def measure(
    name: str,
    fn: Callable[[], Any],
    repeat: int = 3,
    unit: str = "s",
    setup: Callable[[], Any] | None = None,
) -> Measurement:
    samples = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return Measurement(name, samples, unit)


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo", encoding="utf-8") as fh:
            info["memory_gib"] = round(int(fh.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        info["load_average"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        pass
    try:
        info["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=BENCH_DIR,
            check=False,
        ).stdout.strip()
    except OSError:
        pass
    return info


def _fmt(m: Measurement | None) -> str:
    """Median ± spread; seconds below one read as milliseconds."""
    if m is None:
        return "-"
    if m.unit == "s":
        if m.median < 0.001:
            return f"{m.median * 1e6:.0f} µs ±{m.spread * 1e6:.0f}"
        if m.median < 1:
            return f"{m.median * 1000:.1f} ms ±{m.spread * 1000:.1f}"
        return f"{m.median:.2f} s ±{m.spread:.2f}"
    spread = f" ±{m.spread:,.0f}" if m.spread else ""
    return f"{m.median:,.0f} {m.unit}{spread}"


def markdown(doc: dict[str, Any]) -> str:
    """The figures of a results file as a Markdown table (for docs/performance.md)."""

    def meas(d: dict[str, Any] | None) -> Measurement | None:
        return Measurement(d["name"], d["samples"], d.get("unit", "s")) if d else None

    lines = [
        "| figure | ours | reference | ratio | target |",
        "|---|---|---|---|---|",
    ]
    for f in doc["figures"]:
        ref = meas(f["reference"])
        ratio = f"{f['ratio']:.2f}×" if f["ratio"] is not None else "–"
        target = "–"
        if f["target"] is not None:
            target = f"≤ {f['target']:g}× " + ("met" if f["met"] else "**not met**")
        reference = f"{_fmt(ref)} ({ref.name})" if ref else "–"
        lines.append(
            f"| {f['name']} | {_fmt(meas(f['value']))} | {reference} | {ratio} | {target} |"
        )
    m, run = doc.get("machine", {}), doc.get("run", {})
    lines.append("")
    when, commit = doc.get("when", "?"), m.get("commit", "?")
    lines.append(
        f"Measured {when} at commit {commit} on {m.get('cpu', '?')}, {m.get('cpus', '?')} cores, "
        f"{m.get('memory_gib', '?')} GiB, Python {m.get('python', '?')}; load average at the "
        f"end {m.get('load_average', '?')}; whole run {run.get('wall_s', 0) / 60:.1f} min."
    )
    if built := run.get("datasets_built_s"):
        done = ", ".join(f"{k} in {v:.0f} s" for k, v in built.items())
        lines[-1] += f" Demo datasets built in the run (included): {done}."
    return "\n".join(lines)


def report(figures: list[Figure], out: Path = RESULTS, run: dict[str, Any] | None = None) -> None:
    """Print the table (and the notes under it) and write ``out`` as JSON."""
    rows = []
    for f in figures:
        ratio = f"{f.ratio:.2f}×" if f.ratio is not None else "-"
        target = f"≤ {f.target:g}×" if f.target is not None else "-"
        met = {True: "met", False: "NOT MET", None: ""}[f.met]
        rows.append(
            (
                f.name,
                _fmt(f.value),
                f.reference.name if f.reference else "-",
                _fmt(f.reference),
                ratio,
                target,
                met,
            )
        )
    headers = ("figure", "value", "reference", "ref value", "ratio", "target", "")
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    for n, row in enumerate([headers, *rows]):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    for f in figures:
        if f.note:
            print(f"  {f.name}: {f.note}")
    doc = {
        "machine": machine(),
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "run": run or {},
        "figures": [
            {
                "name": f.name,
                "value": asdict(f.value) | {"median": f.value.median, "spread": f.value.spread},
                "reference": (
                    asdict(f.reference) | {"median": f.reference.median} if f.reference else None
                ),
                "ratio": f.ratio,
                "target": f.target,
                "met": f.met,
                "note": f.note,
                **f.extra,
            }
            for f in figures
        ],
    }
    out.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    print(f"\nresults written to {out}")
