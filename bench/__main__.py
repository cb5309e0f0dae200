"""Run the benchmark suite: ``python -m bench [--quick]``.

``--quick`` uses the 10k dataset only (for trying the harness); the full run
includes the 1M-CI dataset.
"""

from __future__ import annotations

import argparse

from bench import bench_demo, bench_gui, bench_impact, bench_import
from bench.harness import Figure, machine, report


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="small datasets only")
    args = parser.parse_args()
    print("machine:", ", ".join(f"{k}={v}" for k, v in machine().items()))
    figures: list[Figure] = []
    sizes = [10_000] if args.quick else [10_000, 1_000_000]
    for size in sizes:
        figures += bench_demo.run(size)
    # Impact: issue 3's target graph is the ~125k-CI demo (~250k relationships).
    for size in [10_000] if args.quick else [125_000, 1_000_000]:
        figures += bench_impact.run(size)
    # Import: issue 4's workbook is ~63k CIs / 240k relationships (--quick: a tenth).
    if args.quick:
        figures += bench_import.run(6_300, 24_000, repeat=1)
    else:
        figures += bench_import.run(63_000, 240_000)
    # GUI: issue 6's targets are set at 1M CIs, against a bare QSqlQueryModel.
    figures += bench_gui.run(10_000 if args.quick else 1_000_000, repeat=1 if args.quick else 3)
    print()
    report(figures)


if __name__ == "__main__":
    main()
