"""`change conflicts` against a brute force written from PRODUCT.md §9 and §5.

The brute force knows nothing of the engine: impact states are the least
fixpoint of the three rules of §5, iterated over every CI from "all ok";
conflicts are the five definitions of §9 read literally, every pair of
changes and every window tried. Hypothesis draws small graphs (cycles,
``min up`` and ``min up %`` rules, rules asking for more than there is),
schedules on whole hours (so windows touch end-to-start often) with active
and inactive changes, and one-off blackout and maintenance windows.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cmdb_desktop.change_mgmt.conflicts import (
    BLACKOUT_CONFLICT,
    COMBINED,
    OUTSIDE_MAINTENANCE,
    OVERLAP,
    SAME_CI,
    ConflictFinder,
    Planned,
    ScopedWindow,
)
from cmdb_desktop.change_mgmt.windows import WindowRule
from cmdb_desktop.graph import ImpactGraph

BASE = datetime(2026, 12, 7)
OK, DEGRADED, DOWN = 0, 1, 2


def naive_states(
    nodes: list[int],
    edges: set[tuple[int, int]],
    rules: dict[int, tuple[int | None, float | None]],
    change_set: set[int],
) -> dict[int, int]:
    preds = {n: [a for a, b in edges if b == n] for n in nodes}
    state = {n: (DOWN if n in change_set else OK) for n in nodes}
    moved = True
    while moved:
        moved = False
        for n in nodes:
            if n in change_set:
                continue
            ps = preds[n]
            if not any(state[p] != OK for p in ps):
                new = OK
            elif n not in rules:
                new = DOWN if any(state[p] == DOWN for p in ps) else DEGRADED
            else:
                k_abs, pct = rules[n]
                k = k_abs if k_abs is not None else math.ceil((pct or 0) * len(ps) / 100)
                up = sum(state[p] != DOWN for p in ps)
                new = DOWN if up < k else DEGRADED
            if new != state[n]:
                state[n] = new
                moved = True
    return state


def brute_conflicts(
    nodes: list[int],
    edges: set[tuple[int, int]],
    rules: dict[int, tuple[int | None, float | None]],
    changes: list[Planned],
    windows: list[ScopedWindow],
    c: Planned,
) -> list[tuple[str, int | None, str | None, tuple[int, ...]]]:
    def down(s: set[int]) -> set[int]:
        st_ = naive_states(nodes, edges, rules, s)
        return {n for n in nodes if n not in s and st_[n] == DOWN}

    def impacted(s: set[int]) -> set[int]:
        st_ = naive_states(nodes, edges, rules, s)
        return {n for n in nodes if n not in s and st_[n] != OK}

    out = []
    sc = set(c.change_set)
    for d in sorted(changes, key=lambda x: (x.start, x.id)):
        if d.id == c.id or not d.active or not (d.start < c.end and c.start < d.end):
            continue
        sd = set(d.change_set)
        same = sc & sd
        if same:
            out.append((SAME_CI, d.id, None, tuple(sorted(same))))
        ic, id_ = impacted(sc), impacted(sd)
        hit = ((ic & (sd | id_)) | (id_ & sc)) - same
        if hit:
            out.append((OVERLAP, d.id, None, tuple(sorted(hit))))
        combined = down(sc | sd) - down(sc) - down(sd) - sc - sd
        if combined:
            out.append((COMBINED, d.id, None, tuple(sorted(combined))))
    exposed = sc | down(sc)
    for w in windows:
        if w.rule.kind == "blackout":
            assert w.rule.start is not None and w.rule.end is not None
            meets = w.rule.start < c.end and c.start < w.rule.end
            if meets and exposed & w.scope:
                out.append((BLACKOUT_CONFLICT, None, w.name, tuple(sorted(exposed & w.scope))))
    maintenance = [w for w in windows if w.rule.kind == "maintenance"]

    def inside(w: ScopedWindow) -> bool:
        assert w.rule.start is not None and w.rule.end is not None
        return w.rule.start <= c.start and c.end <= w.rule.end

    for w in maintenance:
        bad = [
            x
            for x in c.change_set
            if x in w.scope and not any(inside(v) for v in maintenance if x in v.scope)
        ]
        if bad:
            out.append((OUTSIDE_MAINTENANCE, None, w.name, tuple(bad)))
    return out


@st.composite
def scenarios(draw: st.DrawFn) -> tuple:
    n = draw(st.integers(2, 7))
    nodes = list(range(1, n + 1))
    pairs = [(a, b) for a in nodes for b in nodes if a != b]
    edges = set(draw(st.lists(st.sampled_from(pairs), min_size=n - 1, max_size=16)))
    rules: dict[int, tuple[int | None, float | None]] = {}
    for node in nodes:
        kind = draw(st.sampled_from(["none", "k", "k", "pct"]))
        if kind == "k":
            rules[node] = (draw(st.sampled_from([0, 1, 1, 2, 4])), None)
        elif kind == "pct":
            rules[node] = (None, float(draw(st.sampled_from([1, 34, 50, 66, 100]))))
    changes = []
    for cid in range(1, draw(st.integers(1, 5)) + 1):
        start = draw(st.integers(0, 6))
        length = draw(st.integers(1, 4))
        cis = tuple(sorted(set(draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=3)))))
        changes.append(
            Planned(
                cid,
                BASE + timedelta(hours=start),
                BASE + timedelta(hours=start + length),
                cis,
                draw(st.booleans()) or cid == 1,
            )
        )
    windows = []
    for w in range(draw(st.integers(0, 3))):
        start = draw(st.integers(0, 12))
        length = draw(st.integers(1, 6))
        scope = frozenset(draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=3)))
        rule = WindowRule(
            f"w{w}",
            draw(st.sampled_from(["blackout", "maintenance"])),
            BASE + timedelta(hours=start),
            BASE + timedelta(hours=start + length),
        )
        windows.append(ScopedWindow(rule, scope))
    return nodes, edges, rules, changes, windows


@settings(max_examples=250, deadline=None)
@given(scenarios())
def test_conflicts_match_the_brute_force(scenario: tuple) -> None:
    nodes, edges, rules, changes, windows = scenario
    graph = ImpactGraph.from_edges(sorted(edges), rules=rules)
    finder = ConflictFinder(graph, changes, windows)
    for c in changes:
        got = [(k.kind, k.with_change, k.window, k.cis) for k in finder.conflicts(c)]
        assert got == brute_conflicts(nodes, edges, rules, changes, windows, c)
