"""The impact graph of PRODUCT.md §5 as compact integer arrays.

An edge u → v exists for every relationship whose type lets impact flow from
u to v (``to_source``: target → source, as in *Depends on*; ``to_target``:
source → target, as in *Member of*; ``none``: no edge). Retired and Disposed
CIs are left out entirely: they neither receive nor pass impact and are no
one's impact predecessor.

Invariants of an :class:`ImpactGraph`:

- node ``i`` is the CI ``ids[i]``; ``ids`` ascends, so a CI id is found with
  a binary search and node order equals CI id order (results are
  deterministic);
- every node has at least one edge, and no node is Retired or Disposed;
- two relationships between the same CIs in the same impact direction (say
  *Located in* and *Powered by*) give **one** edge: impact predecessors are
  CIs, so a redundancy rule counts each predecessor once;
- successors are the CSR pair ``out_ptr``/``out_idx`` (those of node ``i`` are
  ``out_idx[out_ptr[i]:out_ptr[i + 1]]``, ascending), predecessors likewise
  ``in_ptr``/``in_idx``;
- each node's redundancy rule is compiled into its *down threshold*
  (:func:`down_thresholds`): an impacted CI is down exactly when at least
  that many of its impact predecessors are down.

The graph is immutable, so a thread that holds one may use it while another
builds the next. :class:`GraphCache` keeps one per open CMDB and brings it up
to date with the database's change history (edits from this process and from
others alike) instead of reloading everything after every edit.
"""

from __future__ import annotations

import gc
import itertools
import json
import logging
import os
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from cmdb_desktop.catalogue import IMPACT_NONE, IMPACT_TO_SOURCE, INACTIVE_STATUSES
from cmdb_desktop.progress import Progress
from cmdb_desktop.records import chunks
from cmdb_desktop.schema import GRAPH_FIELDS

if TYPE_CHECKING:
    import networkx as nx
    from sqlalchemy.orm import Session

    from cmdb_desktop.cmdb import Cmdb

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float64]

#: Down threshold of a CI that can never go down (a rule of ``min up = 0``).
NEVER = int(np.iinfo(np.int32).max)
#: A percentage rule is read to this many decimal places, in exact integer arithmetic.
PCT_DECIMALS = 6
_PCT_SCALE = 10**PCT_DECIMALS
#: Beyond this many new history records, reloading beats patching.
PATCH_LIMIT = 20_000
#: CI ids must fit this many bits to be packed three to a 64-bit integer on load.
_ID_BITS = 28
_TYPE_BITS = 7

_EMPTY = np.zeros(0, dtype=np.int64)

log = logging.getLogger(__name__)


@contextmanager
def bulk_objects() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many acyclic objects.

    Materialising a blast radius creates a few hundred thousand tuples and
    lists; each creation counts towards a collection that walks every live
    object, so without this the same report takes longer the more earlier
    reports are still alive. Nothing built here forms a cycle, so nothing is
    left for the collector to find; it is switched back on afterwards (unless
    it was off already).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# -- redundancy rules ---------------------------------------------------------
def required_up(n: int | IntArray, min_up: int | IntArray, min_up_pct: float | FloatArray) -> Any:
    """How many of ``n`` impact predecessors must be *not down* (the ``k`` of §5).

    ``min_up`` < 0 and ``min_up_pct`` NaN mean "not set". A percentage ``p``
    asks for ``ceil(p·n/100)``, computed exactly on ``p`` rounded to
    :data:`PCT_DECIMALS` places: 64.4 % of 250 is exactly 161, where floating
    point says 161.00000000000003 and would round up to 162. When both are
    set the CI needs both, so the larger ``k`` wins. Without either, the
    result is -1. Works on scalars and arrays.

    >>> int(required_up(3, -1, 50.0)), int(required_up(3, -1, 33.3)), int(required_up(4, 1, 50.0))
    (2, 1, 2)
    >>> int(required_up(250, -1, 64.4))
    161
    """
    n_arr = np.asarray(n, dtype=np.int64)
    k_count = np.asarray(min_up, dtype=np.int64)
    pct = np.asarray(min_up_pct, dtype=np.float64)
    has_pct = ~np.isnan(pct)
    scaled = np.where(has_pct, np.rint(np.where(has_pct, pct, 0.0) * _PCT_SCALE), 0).astype(
        np.int64
    )
    denominator = 100 * _PCT_SCALE
    k_pct = np.where(has_pct, -((-scaled * n_arr) // denominator), -1)
    return np.maximum(k_count, k_pct)


def down_thresholds(indegree: IntArray, min_up: IntArray, min_up_pct: FloatArray) -> Int32Array:
    """Compile redundancy rules into down thresholds, one per CI.

    An impacted CI (one with a down or degraded predecessor) is down exactly
    when at least ``threshold`` of its ``n`` predecessors are down:

    - no rule: 1 (any down predecessor takes it down);
    - rule ``k`` ≥ 1: ``n - k + 1`` (fewer than ``k`` left not down); when that
      is ≤ 0 (the rule asks for more than ``n``) it is down as soon as it is
      impacted at all;
    - rule ``k`` ≤ 0: :data:`NEVER` (it is at worst degraded).

    >>> down_thresholds(np.array([2, 2, 3, 1]), np.array([-1, 1, -1, 0]),
    ...                 np.array([np.nan, np.nan, 50.0, np.nan])).tolist() == [1, 2, 2, NEVER]
    True
    """
    k = required_up(indegree, min_up, min_up_pct)
    has_rule = k >= 0
    threshold = np.where(has_rule, np.where(k <= 0, NEVER, indegree - k + 1), 1)
    return np.clip(threshold, -1, NEVER).astype(np.int32)


# -- the raw rows a graph is compiled from -------------------------------------
@dataclass(frozen=True)
class GraphRows:
    """What the database says, in CI ids: the input :func:`compile_graph` compiles.

    ``sources``/``targets`` are the impact edges (impact flows from source to
    target) of *every* impact-carrying relationship, including those that touch
    Retired CIs, so that reactivating a CI needs no reload. ``inactive`` holds
    the ids of Retired/Disposed CIs, ascending; ``rule_ids`` (ascending) the
    CIs with a redundancy rule, with ``min_up`` (-1 = unset) and ``min_up_pct``
    (NaN = unset). ``generation``/``catalogue`` are the database counters the
    rows were read at and ``last_change`` the newest history record they
    include (None: not tracked, reload on every change).
    """

    sources: IntArray
    targets: IntArray
    inactive: IntArray
    rule_ids: IntArray
    min_up: IntArray
    min_up_pct: FloatArray
    generation: int = 0
    catalogue: int = 0
    last_change: int | None = None

    @classmethod
    def from_edges(
        cls,
        edges: Iterable[tuple[int, int]],
        *,
        rules: Mapping[int, tuple[int | None, float | None]] | None = None,
        inactive: Iterable[int] = (),
    ) -> GraphRows:
        """Rows for a graph given directly as impact edges ``(from, to)``."""
        pairs = np.array(list(edges), dtype=np.int64).reshape(-1, 2)
        rule_items = sorted((rules or {}).items())
        return cls(
            sources=pairs[:, 0].copy(),
            targets=pairs[:, 1].copy(),
            inactive=unique_sorted(np.array(list(inactive), dtype=np.int64)),
            rule_ids=np.array([i for i, _ in rule_items], dtype=np.int64),
            min_up=np.array(
                [-1 if r[0] is None else int(r[0]) for _, r in rule_items], dtype=np.int64
            ),
            min_up_pct=np.array(
                [np.nan if r[1] is None else float(r[1]) for _, r in rule_items], dtype=np.float64
            ),
        )


def unique_sorted(values: IntArray) -> IntArray:
    """The distinct values, ascending (a sort and a mask: several times quicker than
    ``np.unique``, whose hashing is slow on large integer arrays)."""
    if values.size == 0:
        return values.astype(np.int64)
    ordered = np.sort(values)
    keep = np.empty(ordered.size, dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    out: IntArray = ordered[keep]
    return out


def unique_first(values: IntArray) -> tuple[IntArray, IntArray]:
    """The distinct values ascending, and where each first occurs in ``values``."""
    if values.size == 0:
        return values.astype(np.int64), np.zeros(0, dtype=np.int64)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    keep = np.empty(ordered.size, dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep], order[keep]


def _member(sorted_values: IntArray, x: IntArray) -> npt.NDArray[np.bool_]:
    """``x[i] in sorted_values`` for every i (``sorted_values`` ascends, ids are ≥ 0).

    A lookup table when the ids are dense enough, else a binary search.
    """
    if sorted_values.size == 0 or x.size == 0:
        return np.zeros(x.shape, dtype=bool)
    top = int(max(int(sorted_values[-1]), int(x.max())))
    if top <= 4 * x.size + 1_000_000:
        table = np.zeros(top + 1, dtype=bool)
        table[sorted_values] = True
        return np.asarray(table[x])
    pos = np.searchsorted(sorted_values, x)
    pos[pos == sorted_values.size] = 0
    return np.asarray(sorted_values[pos] == x)


# -- the compiled graph --------------------------------------------------------
class ImpactGraph:
    """An immutable impact graph; see the module docstring for its invariants.

    Build one from the database with :meth:`load` (or through
    ``cmdb.analysis.graph()``, which caches it), or from plain edges for
    experiments and tests:

    >>> g = ImpactGraph.from_edges([(1, 2), (2, 3), (4, 3)], rules={3: (1, None)})
    >>> len(g), g.edge_count, g.successors(2), g.predecessors(3), g.threshold(3)
    (4, 3, [3], [2, 4], 2)
    """

    __slots__ = (
        "ids",
        "out_ptr",
        "out_idx",
        "in_ptr",
        "in_idx",
        "thresholds",
        "rows",
    )

    def __init__(
        self,
        ids: IntArray,
        out_ptr: IntArray,
        out_idx: IntArray,
        in_ptr: IntArray,
        in_idx: IntArray,
        thresholds: Int32Array,
        rows: GraphRows,
    ) -> None:
        self.ids = ids
        self.out_ptr = out_ptr
        self.out_idx = out_idx
        self.in_ptr = in_ptr
        self.in_idx = in_idx
        self.thresholds = thresholds
        self.rows = rows

    # -- construction ---------------------------------------------------------
    @classmethod
    def from_edges(
        cls,
        edges: Iterable[tuple[int, int]],
        *,
        rules: Mapping[int, tuple[int | None, float | None]] | None = None,
        inactive: Iterable[int] = (),
    ) -> ImpactGraph:
        """A graph of impact edges ``(from, to)``; ``rules``: CI → ``(min_up, min_up_pct)``."""
        return compile_graph(GraphRows.from_edges(edges, rules=rules, inactive=inactive))

    @classmethod
    def load(cls, session: Session, progress: Progress | None = None) -> ImpactGraph:
        """Read the whole graph from the database in one read transaction."""
        return compile_graph(load_rows(session, progress))

    # -- size and lookup -------------------------------------------------------
    def __len__(self) -> int:
        return int(self.ids.size)

    @property
    def edge_count(self) -> int:
        return int(self.out_idx.size)

    @property
    def generation(self) -> int:
        return self.rows.generation

    def index(self, ci_ids: Iterable[int] | IntArray) -> IntArray:
        """Node index of each CI id, -1 for CIs outside the graph (isolated or Retired)."""
        wanted = np.asarray(list(ci_ids) if not isinstance(ci_ids, np.ndarray) else ci_ids)
        wanted = wanted.astype(np.int64, copy=False).reshape(-1)
        if self.ids.size == 0 or wanted.size == 0:
            return np.full(wanted.shape, -1, dtype=np.int64)
        pos = np.searchsorted(self.ids, wanted)
        pos[pos == self.ids.size] = 0
        return np.where(self.ids[pos] == wanted, pos, -1).astype(np.int64)

    def __contains__(self, ci_id: object) -> bool:
        return isinstance(ci_id, int | np.integer) and int(self.index([int(ci_id)])[0]) >= 0

    def successors(self, ci_id: int) -> list[int]:
        """CIs that ``ci_id`` impacts directly (ascending ids)."""
        i = int(self.index([ci_id])[0])
        if i < 0:
            return []
        return [int(x) for x in self.ids[self.out_idx[self.out_ptr[i] : self.out_ptr[i + 1]]]]

    def predecessors(self, ci_id: int) -> list[int]:
        """CIs that impact ``ci_id`` directly (ascending ids)."""
        i = int(self.index([ci_id])[0])
        if i < 0:
            return []
        return [int(x) for x in self.ids[self.in_idx[self.in_ptr[i] : self.in_ptr[i + 1]]]]

    def threshold(self, ci_id: int) -> int:
        """The down threshold of a CI (1 for a CI outside the graph)."""
        i = int(self.index([ci_id])[0])
        return 1 if i < 0 else int(self.thresholds[i])

    def rule(self, ci_id: int) -> tuple[int | None, float | None]:
        """The redundancy rule ``(min_up, min_up_pct)`` the graph was built with."""
        rows = self.rows
        pos = int(np.searchsorted(rows.rule_ids, ci_id))
        if pos < rows.rule_ids.size and int(rows.rule_ids[pos]) == ci_id:
            k = int(rows.min_up[pos])
            p = float(rows.min_up_pct[pos])
            return (None if k < 0 else k, None if np.isnan(p) else p)
        return (None, None)

    def edges(self) -> Iterable[tuple[int, int]]:
        """Every impact edge as ``(from, to)`` CI ids."""
        owners = np.repeat(self.ids, np.diff(self.out_ptr))
        return zip(owners.tolist(), self.ids[self.out_idx].tolist(), strict=True)

    # -- NetworkX views ----------------------------------------------------------
    def to_networkx(self, ci_ids: Iterable[int] | None = None) -> nx.DiGraph:
        """The graph (or the subgraph induced by ``ci_ids``) as a ``networkx.DiGraph``.

        Nodes are CI ids with attributes ``min_up``, ``min_up_pct`` and
        ``threshold``; edges point the way impact flows. Meant for
        neighbourhoods and drawing: a whole million-CI graph is better left
        in arrays.
        """
        import networkx as nx

        if ci_ids is None:
            nodes = np.arange(self.ids.size, dtype=np.int64)
        else:
            nodes = self.index(list(ci_ids))
            nodes = unique_sorted(nodes[nodes >= 0])
        graph = nx.DiGraph()
        keep = np.zeros(self.ids.size, dtype=bool)
        keep[nodes] = True
        for i in nodes.tolist():
            ci_id = int(self.ids[i])
            min_up, pct = self.rule(ci_id)
            graph.add_node(ci_id, min_up=min_up, min_up_pct=pct, threshold=int(self.thresholds[i]))
        if nodes.size:
            counts = self.out_ptr[nodes + 1] - self.out_ptr[nodes]
            owners = np.repeat(nodes, counts)
            targets = self.out_idx[_ranges(self.out_ptr[nodes], counts)]
            inside = keep[targets]
            graph.add_edges_from(
                zip(
                    self.ids[owners[inside]].tolist(),
                    self.ids[targets[inside]].tolist(),
                    strict=True,
                )
            )
        return graph


def _ranges(starts: IntArray, counts: IntArray) -> IntArray:
    """The concatenation of ``range(s, s + c)`` for each start/count pair (vectorised)."""
    total = int(counts.sum())
    if total == 0:
        return _EMPTY
    ends = np.cumsum(counts)
    out: IntArray = np.arange(total, dtype=np.int64) + np.repeat(starts - (ends - counts), counts)
    return out


def gather(ptr: IntArray, idx: IntArray, nodes: IntArray) -> tuple[IntArray, IntArray]:
    """Neighbours of ``nodes`` in a CSR pair: (neighbour, the node it came from), in order."""
    starts = ptr[nodes]
    counts = ptr[nodes + 1] - starts
    return idx[_ranges(starts, counts)], np.repeat(nodes, counts)


def _number_nodes(src: IntArray, dst: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Number the CIs that occur in the edges 0…n-1 in id order: (ids, from, to).

    CI ids are mostly dense (autoincrement), so a lookup table indexed by id
    does it in linear time; ids that are too sparse for a table (explicit
    huge ids) fall back to sorting.
    """
    if src.size == 0:
        return _EMPTY, _EMPTY, _EMPTY
    top = int(max(int(src.max()), int(dst.max())))
    if top <= 4 * src.size + 1_000_000:
        present = np.zeros(top + 1, dtype=bool)
        present[src] = True
        present[dst] = True
        slot = np.cumsum(present, dtype=np.int64) - 1
        return np.flatnonzero(present).astype(np.int64), slot[src], slot[dst]
    ids, inverse = np.unique(np.concatenate([src, dst]), return_inverse=True)
    m = int(src.size)
    return ids.astype(np.int64), inverse[:m].astype(np.int64), inverse[m:].astype(np.int64)


def compile_graph(rows: GraphRows) -> ImpactGraph:
    """Turn database rows into an :class:`ImpactGraph` (vectorised, O(E log E))."""
    src, dst = rows.sources, rows.targets
    if rows.inactive.size:
        live = ~(_member(rows.inactive, src) | _member(rows.inactive, dst))
        src, dst = src[live], dst[live]
    ids, u, v = _number_nodes(src, dst)
    n = int(ids.size)
    # One edge per (from, to): sorting the packed pair also orders the CSR.
    packed = unique_sorted(u * max(n, 1) + v)
    u, v = packed // max(n, 1), packed % max(n, 1)
    out_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(u, minlength=n), out=out_ptr[1:])
    out_idx = v.astype(np.int64)
    # Predecessor lists: sorting the pairs packed the other way round groups them
    # by target, each group ascending (np.sort is far quicker than a stable argsort).
    in_idx = np.sort(v * max(n, 1) + u) % max(n, 1)
    in_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(v, minlength=n), out=in_ptr[1:])
    indegree = np.diff(in_ptr)
    min_up = np.full(n, -1, dtype=np.int64)
    min_pct = np.full(n, np.nan, dtype=np.float64)
    if rows.rule_ids.size and n:
        at = np.searchsorted(ids, rows.rule_ids)
        at[at == n] = 0
        hit = ids[at] == rows.rule_ids
        min_up[at[hit]] = rows.min_up[hit]
        min_pct[at[hit]] = rows.min_up_pct[hit]
    thresholds = down_thresholds(indegree, min_up, min_pct)
    return ImpactGraph(ids, out_ptr, out_idx, in_ptr, in_idx, thresholds, rows)


# -- reading the database ------------------------------------------------------
# SQLAlchemy is imported by the functions that build queries with it: a command
# that finds its graph kept on disk checks it and computes without loading
# SQLAlchemy at all (cmdb_desktop.quickread, issue 20).

#: Runs one parameterless, portable SQL query and returns its rows: a session's
#: own connection (:func:`driver_query`) or the quick reader's.
Query = Callable[[str], list[Any]]


def driver_query(session: Session) -> Query:
    """A :data:`Query` that runs in ``session``'s transaction, on the driver's cursor."""
    return lambda sql: _driver_rows(session, sql)


def _impact_types(query: Query) -> dict[int, str]:
    """Relationship type id → impact flow, for the types that carry impact."""
    rows = query("SELECT id, impact FROM relationship_type")
    return {int(i): str(flow) for i, flow in rows if flow != IMPACT_NONE}


def _newest_change(query: Query) -> int:
    """The id of the newest history record (0 for none)."""
    return int(query("SELECT max(id) FROM change_record")[0][0] or 0)


def _orient(triples: IntArray, flows: Mapping[int, str]) -> tuple[IntArray, IntArray]:
    """(source, type, target) rows → impact edges (from, to), dropping non-impact types."""
    if triples.size == 0:
        return _EMPTY, _EMPTY
    source, rtype, target = triples[:, 0], triples[:, 1], triples[:, 2]
    lookup_size = int(max(flows, default=0)) + 1
    flow_code = np.zeros(max(lookup_size, int(rtype.max()) + 1), dtype=np.int8)
    for type_id, flow in flows.items():
        flow_code[type_id] = 1 if flow == IMPACT_TO_SOURCE else 2
    code = flow_code[rtype]
    keep = code > 0
    to_source = code[keep] == 1
    s, t = source[keep], target[keep]
    return np.where(to_source, t, s), np.where(to_source, s, t)


def fetch_relationships(session: Session, *, packed: bool = True) -> IntArray:
    """Every relationship as a row (source, type, target), as fast as the database allows.

    On SQLite (``packed``) the rows come back as one space-separated string
    of ids packed three to an integer: the database builds it in C and numpy
    parses it in C, about four times quicker than fetching a quarter of a
    million Python tuples. Ids too large to pack, and other databases, take
    the plain road.
    """
    from sqlalchemy import func, select  # noqa: PLC0415 (see "reading the database")

    from cmdb_desktop.models import RelationshipType, relationship_table  # noqa: PLC0415

    conn = session.connection()
    if packed and conn.dialect.name == "sqlite":
        rel = relationship_table.c
        top = conn.execute(select(func.max(rel.source_id), func.max(rel.target_id))).one()
        top_type = conn.execute(select(func.max(RelationshipType.id))).scalar() or 0
        biggest = max(int(top[0] or 0), int(top[1] or 0))
        if biggest < 2**_ID_BITS and top_type < 2**_TYPE_BITS:
            shift_t, shift_s = _ID_BITS, _ID_BITS + _TYPE_BITS
            text = conn.exec_driver_sql(
                f"SELECT group_concat((source_id << {shift_s}) | (type_id << {shift_t})"
                " | target_id, ' ') FROM relationship"
            ).scalar()
            values = np.fromstring(text or "", dtype=np.int64, sep=" ")
            id_mask = (1 << _ID_BITS) - 1
            type_mask = (1 << _TYPE_BITS) - 1
            return np.stack(
                [values >> shift_s, (values >> shift_t) & type_mask, values & id_mask], axis=1
            )
    rows = conn.execute(
        select(
            relationship_table.c.source_id,
            relationship_table.c.type_id,
            relationship_table.c.target_id,
        )
    )
    # the values straight into numpy (numpy probing each Row object costs ~8×)
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64)
    return flat.reshape(-1, 3)


def _rule_rows(rows: Sequence[Any]) -> tuple[IntArray, IntArray, FloatArray]:
    ordered = sorted(tuple(r) for r in rows)
    ids = np.array([r[0] for r in ordered], dtype=np.int64)
    min_up = np.array([-1 if r[1] is None else r[1] for r in ordered], dtype=np.int64)
    pct = np.array([np.nan if r[2] is None else r[2] for r in ordered], dtype=np.float64)
    return ids, min_up, pct


def _driver_rows(session: Session, sql: str) -> list[Any]:
    """Rows of a parameterless, portable query straight from the driver's cursor.

    Skips building a SQLAlchemy Row per result row, which for the tens of
    thousands of redundancy rules of a large CMDB is most of the cost.
    """
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _counters(query: Query) -> tuple[int, int]:
    """The graph and catalogue generations every write moves."""
    row = query("SELECT graph_generation, catalogue_generation FROM cmdb_state WHERE id = 1")[0]
    return int(row[0] or 0), int(row[1] or 0)


def _tracks_history(session: Session) -> bool:
    # History ids follow commit order only where writers are serialised
    # (SQLite's single writer). Elsewhere an id may commit after a larger one,
    # so the cache reloads instead of patching.
    return session.connection().dialect.name == "sqlite"


def load_rows(session: Session, progress: Progress | None = None) -> GraphRows:
    """Read everything the impact graph needs, in the caller's (read) transaction."""
    progress = progress or Progress()
    progress.start("Loading the impact graph")
    query = driver_query(session)
    generation, catalogue = _counters(query)
    last_change = _newest_change(query) if _tracks_history(session) else None
    flows = _impact_types(query)
    sources, targets = _orient(fetch_relationships(session), flows)
    progress.step(1, 3)
    statuses = ", ".join(f"'{status}'" for status in sorted(INACTIVE_STATUSES))
    inactive = unique_sorted(
        np.array(
            [
                r[0]
                for r in _driver_rows(session, f"SELECT id FROM ci WHERE status IN ({statuses})")
            ],
            dtype=np.int64,
        )
    )
    progress.step(2, 3)
    rule_ids, min_up, pct = _rule_rows(
        _driver_rows(
            session,
            "SELECT id, redundancy_min_up, redundancy_min_up_pct FROM ci"
            " WHERE redundancy_min_up IS NOT NULL OR redundancy_min_up_pct IS NOT NULL",
        )
    )
    progress.step(3, 3)
    return GraphRows(
        sources, targets, inactive, rule_ids, min_up, pct, generation, catalogue, last_change
    )


#: The columns of :func:`fetch_ci_rows`' tuples, in order.
_FACT_COLUMNS = "id, name, class_id, status, criticality"
#: :func:`fetch_ci_rows` on SQLite: every id in one JSON parameter.
SQLITE_CI_FACTS = f"SELECT {_FACT_COLUMNS} FROM ci WHERE id IN (SELECT value FROM json_each(?))"


def fetch_ci_rows(session: Session, ids: Sequence[int], chunk: int = 5000) -> list[Any]:
    """``(id, name, class_id, status, criticality)`` of the CIs ``ids`` (missing ones left out).

    On SQLite all ids travel as one JSON parameter and the rows come back
    through the driver's own cursor: for tens of thousands of CIs that is
    several times quicker than expanding ``IN (…)`` lists through the ORM.
    """
    if not ids:
        return []
    conn = session.connection()
    columns = _FACT_COLUMNS
    if conn.dialect.name == "sqlite":
        cursor = conn.connection.cursor()
        try:
            cursor.execute(SQLITE_CI_FACTS, (json.dumps([int(i) for i in ids]),))
            return list(cursor.fetchall())
        finally:
            cursor.close()
    if conn.dialect.name == "postgresql":
        # one array parameter, through the driver's own cursor (no IN list to
        # render and parse for tens of thousands of ids)
        cursor = conn.connection.cursor()
        try:
            cursor.execute(f"SELECT {columns} FROM ci WHERE id = ANY(%s)", ([int(i) for i in ids],))
            return list(cursor.fetchall())
        finally:
            cursor.close()
    from sqlalchemy import select  # noqa: PLC0415 (see "reading the database")

    from cmdb_desktop.models import ci_table  # noqa: PLC0415

    ci = ci_table.c
    out: list[Any] = []
    for part in chunks(ids, chunk):
        out.extend(
            session.execute(
                select(ci.id, ci.name, ci.class_id, ci.status, ci.criticality).where(
                    ci.id.in_(part)
                )
            ).all()
        )
    return out


def _impact_relationship_count(query: Query, flows: Mapping[int, str]) -> int:
    if not flows:
        return 0
    types = ", ".join(str(int(t)) for t in sorted(flows))
    return int(query(f"SELECT count(*) FROM relationship WHERE type_id IN ({types})")[0][0] or 0)


def patch_rows(session: Session, rows: GraphRows) -> GraphRows | None:
    """Bring ``rows`` up to date from the history written since; None if a reload is needed.

    Every CI named by a newer history record that can matter to the graph (a
    relationship added or removed, a CI created or deleted, a change of
    status, redundancy rule or class) is re-read with all its relationships;
    everything else is kept. A reload is needed when the history is not
    tracked, the catalogue changed (impact flows of types), the backlog is
    long, or the result fails the consistency check (its edge count must
    equal the database's count of impact-carrying relationships, which
    catches a writer that skipped the history).
    """
    from sqlalchemy import select  # noqa: PLC0415 (see "reading the database")

    from cmdb_desktop.models import change_record_table, ci_table, relationship_table  # noqa: PLC0415

    query = driver_query(session)
    generation, catalogue = _counters(query)
    if catalogue != rows.catalogue:
        return None
    if generation == rows.generation:
        # unchanged on every backend (the counters move inside each writing
        # transaction): no reload, also where the history is not tracked
        return rows
    if rows.last_change is None:
        return None
    history = change_record_table.c
    records = session.execute(
        select(
            history.id,
            history.entity,
            history.action,
            history.field,
            history.ci_id,
            history.related_ci_id,
        )
        .where(history.id > rows.last_change)
        .order_by(history.id)
        .limit(PATCH_LIMIT + 1)
    ).all()
    if not records or len(records) > PATCH_LIMIT:
        return None
    touched: set[int] = set()
    for _id, entity, action, field_name, ci_id, related in records:
        if entity == "relationship" or action != "update" or field_name in GRAPH_FIELDS:
            for x in (ci_id, related):
                if x is not None:
                    touched.add(int(x))
    last_change = int(records[-1][0])
    flows = _impact_types(query)
    if not touched:
        if rows.sources.size != _impact_relationship_count(query, flows):
            return None
        return replace(rows, generation=generation, last_change=last_change)
    affected = np.array(sorted(touched), dtype=np.int64)
    keep = ~(_member(affected, rows.sources) | _member(affected, rows.targets))
    rel = relationship_table.c
    fresh: set[tuple[int, int, int]] = set()
    status: list[tuple[int, str | None]] = []
    rules: list[Any] = []
    ci = ci_table.c
    for part in chunks(touched):
        for column in (rel.source_id, rel.target_id):
            for s, t, d in session.execute(
                select(rel.source_id, rel.type_id, rel.target_id).where(column.in_(part))
            ):
                fresh.add((int(s), int(t), int(d)))
        for ci_id, st, k, p in session.execute(
            select(ci.id, ci.status, ci.redundancy_min_up, ci.redundancy_min_up_pct).where(
                ci.id.in_(part)
            )
        ):
            status.append((int(ci_id), st))
            if k is not None or p is not None:
                rules.append((ci_id, k, p))
    new_src, new_dst = _orient(np.array(sorted(fresh), dtype=np.int64).reshape(-1, 3), flows)
    inactive = rows.inactive[~_member(affected, rows.inactive)]
    now_inactive = [i for i, st in status if st in INACTIVE_STATUSES]
    inactive = np.union1d(inactive, np.array(now_inactive, dtype=np.int64))
    keep_rules = ~_member(affected, rows.rule_ids)
    fresh_ids, fresh_k, fresh_p = _rule_rows(rules)
    rule_ids = np.concatenate([rows.rule_ids[keep_rules], fresh_ids])
    order = np.argsort(rule_ids, kind="stable")
    patched = GraphRows(
        sources=np.concatenate([rows.sources[keep], new_src]),
        targets=np.concatenate([rows.targets[keep], new_dst]),
        inactive=inactive,
        rule_ids=rule_ids[order],
        min_up=np.concatenate([rows.min_up[keep_rules], fresh_k])[order],
        min_up_pct=np.concatenate([rows.min_up_pct[keep_rules], fresh_p])[order],
        generation=generation,
        catalogue=catalogue,
        last_change=last_change,
    )
    if patched.sources.size != _impact_relationship_count(query, flows):
        return None
    return patched


# -- the graph kept on disk between processes -----------------------------------
#: Version of the snapshot file's layout; a file of another version is ignored.
SNAPSHOT_FORMAT = 1
_GRAPH_ARRAYS = ("ids", "out_ptr", "out_idx", "in_ptr", "in_idx", "thresholds")
_ROW_ARRAYS = ("sources", "targets", "inactive", "rule_ids", "min_up", "min_up_pct")


def snapshot_path(db_path: Path) -> Path:
    """Where the impact graph of the SQLite file ``db_path`` is kept: beside it,
    like SQLite's own ``-wal`` and ``-shm`` files."""
    return db_path.with_name(db_path.name + "-impact-graph.npz")


def history_stamp(query: Query, record_id: int) -> str:
    """When history record ``record_id`` was written ("" for none): ties a snapshot to
    the history it was taken at, so that one of another CMDB is never patched."""
    if record_id <= 0:
        return ""
    rows = query(f"SELECT at FROM change_record WHERE id = {int(record_id)}")
    return "" if not rows or rows[0][0] is None else str(rows[0][0])


def save_snapshot(path: Path, graph: ImpactGraph, stamp: str) -> None:
    """Write ``graph`` (compiled arrays and the rows with their counters) atomically.

    Best effort: a folder that cannot be written only costs the next process a load.
    """
    rows = graph.rows
    if rows.last_change is None:  # not tracked: could never be validated
        return
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    counters = np.array(
        [SNAPSHOT_FORMAT, rows.generation, rows.catalogue, rows.last_change], dtype=np.int64
    )
    try:
        with open(tmp, "wb") as fh:
            np.savez(
                fh,
                counters=counters,
                stamp=np.array(stamp),
                **{f"g_{k}": getattr(graph, k) for k in _GRAPH_ARRAYS},
                **{f"r_{k}": getattr(rows, k) for k in _ROW_ARRAYS},
            )
        os.replace(tmp, path)
    except OSError:
        log.debug("impact graph snapshot not written to %s", path, exc_info=True)
        tmp.unlink(missing_ok=True)


def load_snapshot(path: Path) -> tuple[ImpactGraph, str] | None:
    """The graph of a snapshot file and its history stamp, unchecked against the
    database; None if unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            counters = data["counters"]
            if int(counters[0]) != SNAPSHOT_FORMAT:
                return None
            sources, targets, inactive, rule_ids, min_up, min_up_pct = (
                data[f"r_{k}"] for k in _ROW_ARRAYS
            )
            rows = GraphRows(
                sources,
                targets,
                inactive,
                rule_ids,
                min_up,
                min_up_pct,
                generation=int(counters[1]),
                catalogue=int(counters[2]),
                last_change=int(counters[3]),
            )
            arrays = [data[f"g_{k}"] for k in _GRAPH_ARRAYS]
            stamp = str(data["stamp"])
    except (OSError, EOFError, KeyError, IndexError, ValueError, zipfile.BadZipFile):
        return None
    ids, out_ptr, out_idx, in_ptr, in_idx, thresholds = arrays
    n = int(ids.size)
    if not (out_ptr.size == in_ptr.size == n + 1 and thresholds.size == n):
        return None
    return ImpactGraph(ids, out_ptr, out_idx, in_ptr, in_idx, thresholds, rows), stamp


def snapshot_is_current(query: Query, rows: GraphRows) -> bool:
    """Whether ``rows`` read from a file are exactly the database's now.

    The counters every write moves (graph and catalogue generations), the newest
    history record and the count of impact-carrying relationships must all be
    those the snapshot was taken at; anything else is patched from the history
    (:func:`patch_rows`, with its own consistency check) or reloaded.
    """
    if rows.last_change is None or (rows.generation, rows.catalogue) != _counters(query):
        return False
    if _newest_change(query) != rows.last_change:
        return False
    return bool(rows.sources.size == _impact_relationship_count(query, _impact_types(query)))


def kept_graph(path: Path, query: Query) -> tuple[ImpactGraph, bool] | None:
    """The graph kept in the snapshot file ``path`` when it was taken from this
    database's history (None otherwise, or when there is none), and whether it is
    current (:func:`snapshot_is_current`); one that is not may still be patched."""
    kept = load_snapshot(path)
    if kept is None or kept[1] != history_stamp(query, kept[0].rows.last_change or 0):
        return None
    return kept[0], snapshot_is_current(query, kept[0].rows)


# -- the per-CMDB cache ---------------------------------------------------------
class GraphCache:
    """The current impact graph of one open CMDB, built once and then patched.

    :meth:`get` compares the database's graph and catalogue counters with
    those the cached graph was built at; when they moved it patches the graph
    from the history written since (:func:`patch_rows`, edits of every process
    alike) or, failing that, reloads it. Thread-safe: one build at a time, and
    the graphs it hands out never change.
    """

    def __init__(self, cmdb: Cmdb, *, snapshot: Path | None = None) -> None:
        self._cmdb = cmdb
        self._lock = threading.Lock()
        self._graph: ImpactGraph | None = None
        #: The file that keeps the graph between processes (None: memory only).
        self.snapshot = snapshot
        self.loads = 0
        self.patches = 0
        #: Graphs taken from the snapshot file as they were (no load, no patch).
        self.from_snapshot = 0

    def get(self, progress: Progress | None = None, session: Session | None = None) -> ImpactGraph:
        """The graph as of now (or as of ``session``'s snapshot, when given).

        Reading names or fields in that same session then sees exactly the
        CIs the graph was built from.
        """
        if session is None:
            with self._cmdb.read() as s:
                return self.get(progress, s)
        with self._lock:
            current = self._graph
            from_disk = False
            if current is None and self.snapshot is not None:
                kept = kept_graph(self.snapshot, driver_query(session))
                if kept is not None:
                    current, up_to_date = kept
                    if up_to_date:
                        self.from_snapshot += 1
                        self._graph = current
                        return current
                    from_disk = True
            if current is not None:
                rows = patch_rows(session, current.rows)
                if rows is current.rows:
                    if not from_disk:
                        return current
                    # Same counters but not current: a writer went around them. Reload.
                    rows = None
                if rows is not None:
                    self.patches += 1
                    self._graph = compile_graph(rows)
                    self._keep(session, self._graph)
                    return self._graph
            self.loads += 1
            self._graph = compile_graph(load_rows(session, progress))
            self._keep(session, self._graph)
            return self._graph

    def _keep(self, session: Session, graph: ImpactGraph) -> None:
        if self.snapshot is not None and graph.rows.last_change is not None:
            stamp = history_stamp(driver_query(session), graph.rows.last_change)
            save_snapshot(self.snapshot, graph, stamp)

    def peek(self) -> ImpactGraph | None:
        """The graph built last, without checking that it is current."""
        return self._graph

    def invalidate(self) -> None:
        """Forget the graph: the next :meth:`get` reloads it."""
        with self._lock:
            self._graph = None
