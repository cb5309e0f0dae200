"""Benchmarks: ``make bench`` (``python -m bench``). Figures are ratios against a
reference measured in the same run, never absolute timings."""
