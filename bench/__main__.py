"""Run the benchmark suite: ``python -m bench [--quick] [--only PART,…]``.

The full run (``make bench``) uses the 10k, 100k and 1M-CI demo datasets
(built on first use and cached in ``bench/cache/``) and writes every figure
to ``bench/results.json``. ``--quick`` runs every part on 10k CIs to check the
harness in a couple of minutes. ``--only`` runs some parts (their results go
to ``bench/cache/results-partial.json``, leaving the suite's file alone):
the quick way to re-measure one thing while making it faster.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from collections.abc import Callable

import bench
from bench import (
    bench_asof,
    bench_assets,
    bench_audit,
    bench_changes,
    bench_core,
    bench_demo,
    bench_export,
    bench_gui,
    bench_impact,
    bench_import,
    bench_team,
)
from bench.datasets import dataset
from bench.harness import CACHE, PARTS, RESULTS, Figure, machine, markdown, report

#: Dataset sizes (CIs) of the full run and of ``--quick``.
FULL = {"small": 10_000, "medium": 100_000, "large": 1_000_000}
QUICK = {"small": 10_000, "medium": 10_000, "large": 10_000}


def registered_parts() -> dict[str, Callable[..., list[Figure]]]:
    """Parts registered with :func:`bench.harness.part` by any ``bench/bench_*.py``."""
    for info in pkgutil.iter_modules(bench.__path__):
        if info.name.startswith("bench_"):
            importlib.import_module(f"bench.{info.name}")
    return PARTS


def parts(sizes: dict[str, int], quick: bool) -> dict[str, Callable[[], list[Figure]]]:
    """Each part of the suite, in the order the full run goes through them.

    The first parts are listed here; later ones register themselves with
    :func:`bench.harness.part` (see there) and run after them.
    """
    medium, large = sizes["medium"], sizes["large"]
    listed: dict[str, Callable[[], list[Figure]]] = {
        "demo": lambda: bench_demo.run(medium),
        # Issue 3 set the cold-CLI target on a ~200k-relationship graph (the 100k demo).
        "impact": lambda: [f for n in dict.fromkeys((medium, large)) for f in bench_impact.run(n)],
        # Issue 8: a 100k-row CI sheet and its relationships (240k rows, as issue 4 had).
        "import": lambda: bench_import.run(
            medium, 24_000 if quick else 240_000, repeat=1 if quick else 3
        ),
        "audit": lambda: bench_audit.run(large, rows=2_000 if quick else 100_000),
        "export": lambda: bench_export.run(large),
        "core": lambda: bench_core.run(large),
        "gui": lambda: bench_gui.run(large, repeat=1 if quick else 3),
        "changes": lambda: bench_changes.run(large),
        # Issue 17: book values of 1M assets, compliance over 100k installations.
        "assets": lambda: bench_assets.run(
            large, installs=10_000 if quick else 100_000, repeat=1 if quick else 3
        ),
        # Issue 18: --as-of export and impact against the same commands now (cold).
        "asof": lambda: bench_asof.run(large, repeat=1 if quick or large > 200_000 else 2),
        # Issue 19: team mode, PostgreSQL vs SQLite in the same run (≤ 2×).
        "team": lambda: bench_team.run(medium, 24_000 if quick else 240_000),
    }
    for name, fn in registered_parts().items():
        if name in listed:
            raise ValueError(f"benchmark part {name!r} is both listed and registered")
        listed[name] = lambda fn=fn: fn(sizes, quick)  # type: ignore[misc]
    return listed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="every part on 10k CIs")
    parser.add_argument("--only", default="", metavar="PART,…", help="run only these parts")
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="print bench/results.json as a Markdown table and stop",
    )
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(json.loads(RESULTS.read_text(encoding="utf-8"))))
        return
    sizes = QUICK if args.quick else FULL
    available = parts(sizes, args.quick)
    chosen = [p.strip() for p in args.only.split(",") if p.strip()] or list(available)
    unknown = [p for p in chosen if p not in available]
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(available)}")
    print("machine:", ", ".join(f"{k}={v}" for k, v in machine().items()), flush=True)
    began = time.perf_counter()
    built: dict[str, float] = {}
    for size in sorted(set(sizes.values())):
        start = time.perf_counter()
        _, seconds = dataset(size)
        if seconds is not None:
            built[f"{size:,} CIs"] = seconds
        print(f"dataset {size:,} CIs ready ({time.perf_counter() - start:.1f} s)", flush=True)
    figures: list[Figure] = []
    timings: dict[str, float] = {}
    for name in chosen:
        print(f"== {name} ==", flush=True)
        start = time.perf_counter()
        got = available[name]()
        timings[name] = round(time.perf_counter() - start, 1)
        for f in got:
            print(f"   {f.summary()}", flush=True)
        figures += got
    wall = time.perf_counter() - began
    print()
    out = RESULTS if len(chosen) == len(available) else CACHE / "results-partial.json"
    report(
        figures,
        out,
        run={
            "quick": args.quick,
            "parts": chosen,
            "seconds_per_part": timings,
            "datasets_built_s": built,
            "wall_s": round(wall, 1),
            "argv": sys.argv[1:],
        },
    )
    print(f"total {wall / 60:.1f} min ({', '.join(f'{k} {v:.0f} s' for k, v in timings.items())})")


if __name__ == "__main__":
    main()
