"""CMDB health: how complete, connected and trustworthy the data is.

Each check is a function ``check(cmdb, …) -> Finding`` over the database,
registered once in :data:`CHECKS` with its key, title and description; the
:func:`report`, the CLI's ``health`` text and the GUI's dashboard all read that
registry, so adding a check is one entry there. :func:`report` runs them all
and scores every class. Checks run in SQL (one scan per check, not per class)
so they stay fast at a million CIs.

Scores: a class scores the share of its CIs free of each problem, averaged
over the checks that apply to it, plus its completeness; the overall score
weights classes by their number of CIs. 100 means nothing to fix.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, and_, case, exists, func, or_, select
from sqlalchemy.orm import aliased

from cmdb_desktop.catalogue import INACTIVE_STATUSES, STALE_DAYS, WARRANTY_DAYS
from cmdb_desktop.errors import ValidationError
from cmdb_desktop.items import CI, CiRef
from cmdb_desktop.metamodel import ClassInfo
from cmdb_desktop.models import Relationship

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb

REL = Relationship

#: How many example CIs each finding lists (counts are always complete).
SAMPLE = 50
#: The longest period a check looks back or ahead (a century; a date beyond is no date).
MAX_DAYS = 36_500


@dataclass
class Finding:
    """One kind of problem: how many CIs have it (overall and per class), and some of them."""

    title: str
    count: int = 0
    by_class: dict[str, int] = field(default_factory=dict)
    examples: list[CiRef] = field(default_factory=list)
    details: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "title": self.title,
            "count": self.count,
            "by_class": self.by_class,
            "examples": [e.to_json() for e in self.examples],
        }
        if self.details:
            data["details"] = self.details
        return data


@dataclass
class Completeness:
    """Per class: how many CIs, and the % of them with each required/recommended field."""

    cis: int
    required: dict[str, float]
    recommended: dict[str, float]

    @property
    def score(self) -> float:
        """Required fields weigh twice as much as recommended ones."""
        parts = [(v, 2.0) for v in self.required.values()]
        parts += [(v, 1.0) for v in self.recommended.values()]
        if not parts:
            return 100.0
        return sum(v * w for v, w in parts) / sum(w for _, w in parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "cis": self.cis,
            "required": self.required,
            "recommended": self.recommended,
            "score": round(self.score, 1),
        }


@dataclass
class HealthReport:
    today: date
    total_cis: int
    total_relationships: int
    by_class: dict[str, int]
    by_status: dict[str, int]
    completeness: dict[str, Completeness]
    #: One finding per registered check, in :data:`CHECKS` order.
    findings: dict[CheckKey, Finding]
    class_scores: dict[str, float]
    score: float

    # Shortcuts used by front ends.
    @property
    def orphans(self) -> Finding:
        return self.findings[CheckKey.ORPHANS]

    @property
    def missing_required(self) -> Finding:
        return self.findings[CheckKey.MISSING_REQUIRED]

    def to_json(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "cis": self.total_cis,
            "relationships": self.total_relationships,
            "score": round(self.score, 1),
            "by_class": self.by_class,
            "by_status": self.by_status,
            "class_scores": {k: round(v, 1) for k, v in self.class_scores.items()},
            "completeness": {k: v.to_json() for k, v in self.completeness.items()},
            **{str(key): f.to_json() for key, f in self.findings.items()},
        }


def _finding(cmdb: Cmdb, title: str, cond: Any, sample: int) -> Finding:
    """Count CIs matching ``cond`` overall and per class; list the first few.

    One scan: the matching (id, class) pairs come back and are counted here,
    which costs less than evaluating ``cond`` twice in SQL.
    """
    meta = cmdb.meta
    per_class: dict[int, int] = defaultdict(int)
    first: list[int] = []
    with cmdb.read() as s:
        for ci_id, class_id in s.execute(
            select(CI.id, CI.class_id).where(cond).order_by(CI.id)
        ).yield_per(50000):
            per_class[class_id] += 1
            if len(first) < sample:
                first.append(ci_id)
    by_class = {meta.class_by_id[c].name: n for c, n in per_class.items()}
    refs = cmdb.items.refs(first)
    return Finding(
        title,
        sum(by_class.values()),
        dict(sorted(by_class.items())),
        [refs[i] for i in first if i in refs],
    )


def _field_expr(cmdb: Cmdb, info: ClassInfo, key: str) -> Any:
    schema = cmdb.meta.schema(info)
    if key != "name" and key not in schema.by_key:
        return None
    return schema.expression(key, cmdb.engine.dialect.name)


def _blank(expr: Any) -> Any:
    if isinstance(getattr(expr, "type", None), String):
        return or_(expr.is_(None), expr == "")
    return expr.is_(None)


# -- checks -------------------------------------------------------------------


def orphans(cmdb: Cmdb, sample: int = SAMPLE) -> Finding:
    """Active CIs with no relationship at all, in classes that expect some."""
    expecting = [c.id for c in cmdb.meta.classes if c.expects_relationships and not c.abstract]
    cond = and_(
        CI.class_id.in_(expecting),
        or_(CI.status.is_(None), CI.status.not_in(INACTIVE_STATUSES)),
        ~exists().where(REL.source_id == CI.id),
        ~exists().where(REL.target_id == CI.id),
    )
    return _finding(cmdb, "Orphans (no relationships where the class expects some)", cond, sample)


def missing_required(cmdb: Cmdb, sample: int = SAMPLE) -> Finding:
    """CIs lacking a field their class requires (possible after a class change or import)."""
    meta = cmdb.meta
    conds = []
    details = []
    for info in meta.classes:
        if info.abstract:
            continue
        for key in meta.required_fields(info):
            expr = _field_expr(cmdb, info, key)
            if expr is None or key == "name":
                continue
            conds.append(and_(CI.class_id == info.id, _blank(expr)))
            details.append({"class": info.name, "field": key})
    if not conds:
        return Finding("CIs missing a required field")
    finding = _finding(cmdb, "CIs missing a required field", or_(*conds), sample)
    if finding.count:
        with cmdb.read() as s:
            counts = s.execute(
                select(*(func.sum(case((cond, 1), else_=0)) for cond in conds)).select_from(CI)
            ).one()
        finding.details = [
            {**d, "count": int(n)} for d, n in zip(details, counts, strict=True) if n
        ]
    return finding


def stale(cmdb: Cmdb, today: date, days: int = STALE_DAYS, sample: int = SAMPLE) -> Finding:
    """Active CIs neither verified nor updated in the last ``days`` days."""
    limit = today - timedelta(days=days)
    limit_dt = datetime.combine(limit, datetime.min.time())
    cond = and_(
        or_(CI.status.is_(None), CI.status.not_in(INACTIVE_STATUSES)),
        or_(CI.last_verified.is_(None), CI.last_verified < limit),
        CI.updated_at < limit_dt,
    )
    return _finding(cmdb, f"Stale (not verified or updated for {days} days)", cond, sample)


def warranties_ending(
    cmdb: Cmdb, today: date, days: int = WARRANTY_DAYS, sample: int = SAMPLE
) -> Finding:
    """Active hardware whose warranty ends within ``days`` days (or ended while in use)."""
    cond = and_(
        CI.warranty_end.is_not(None),
        CI.warranty_end <= today + timedelta(days=days),
        or_(CI.status.is_(None), CI.status.not_in(INACTIVE_STATUSES)),
    )
    finding = _finding(cmdb, f"Warranty ended or ending within {days} days", cond, sample)
    with cmdb.read() as s:
        expired = int(
            s.scalar(select(func.count()).select_from(CI).where(cond, CI.warranty_end < today)) or 0
        )
    finding.details = [{"already_expired": expired, "ending_soon": finding.count - expired}]
    return finding


def relationships_to_retired(cmdb: Cmdb, sample: int = SAMPLE) -> Finding:
    """Active CIs still related to a Retired or Disposed CI (a stale link to clean up)."""
    gone = aliased(CI)
    # Start from the (few) inactive CIs and walk their relationships by index.
    via_target = (
        select(REL.source_id)
        .join(gone, gone.id == REL.target_id)
        .where(gone.status.in_(INACTIVE_STATUSES))
    )
    via_source = (
        select(REL.target_id)
        .join(gone, gone.id == REL.source_id)
        .where(gone.status.in_(INACTIVE_STATUSES))
    )
    cond = and_(
        or_(CI.status.is_(None), CI.status.not_in(INACTIVE_STATUSES)),
        or_(CI.id.in_(via_target), CI.id.in_(via_source)),
    )
    return _finding(cmdb, "Active CIs related to retired or disposed CIs", cond, sample)


_NON_ALNUM = re.compile(r"[\W_]+", re.UNICODE)


def name_key(name: str) -> str:
    """Names that differ only in case, accents, spacing or punctuation share a key.

    >>> name_key("Web-Prod 01") == name_key("web_prod01") == name_key("Wéb prod-01")
    True
    """
    folded = name.casefold()
    if not folded.isascii():
        folded = unicodedata.normalize("NFKD", folded)
        folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return _NON_ALNUM.sub("", folded)


def duplicates(cmdb: Cmdb, sample: int = SAMPLE) -> Finding:
    """Duplicate candidates: the same serial number or asset tag in one identity space,
    and names equal within a class once case, accents and punctuation are ignored."""
    meta = cmdb.meta
    groups: list[dict[str, Any]] = []
    with cmdb.read() as s:
        # Only hardware classes have these columns (a class change clears them),
        # so the index on each column answers without a class filter.
        for column, label in ((CI.serial_number, "serial number"), (CI.asset_tag, "asset tag")):
            dup_vals = (
                select(column)
                .where(column.is_not(None), column != "")
                .group_by(column)
                .having(func.count() > 1)
            )
            same = s.execute(
                select(column, CI.id, CI.name, CI.class_id)
                .where(column.in_(dup_vals))
                .order_by(column, CI.id)
            ).all()
            by_val: dict[str | None, list[CiRef]] = defaultdict(list)
            for val, i, n, c in same:
                by_val[val].append(CiRef(i, n, meta.class_by_id[c].name))
            groups += [
                {"reason": f"same {label}", "value": v, "cis": refs} for v, refs in by_val.items()
            ]
        # Names: group in Python on a normalised key (one scan).
        rows = s.execute(select(CI.id, CI.name, CI.class_id)).all()
    keys = [(c, name_key(n)) for _, n, c in rows]
    # Count first (in C), then gather only the few keys that repeat.
    repeated = {k for k, n in Counter(keys).items() if n > 1 and k[1]}
    by_key: dict[tuple[int, str], list[tuple[int, str]]] = defaultdict(list)
    if repeated:
        for (i, n, _), k in zip(rows, keys, strict=True):
            if k in repeated:
                by_key[k].append((i, n))
    for (c, _key), members in by_key.items():
        cls = meta.class_by_id[c].name
        exact = len({n for _, n in members}) == 1
        groups.append(
            {
                "reason": "same name" if exact else "near-identical names",
                "value": members[0][1],
                "cis": [CiRef(i, n, cls) for i, n in members],
            }
        )
    groups.sort(key=lambda g: (g["reason"], str(g["value"]).casefold()))
    involved: dict[int, CiRef] = {}
    for g in groups:
        for ref in g["cis"]:
            involved[ref.id] = ref
    by_class: dict[str, int] = defaultdict(int)
    for ref in involved.values():
        by_class[ref.class_name] += 1
    return Finding(
        "Duplicate candidates",
        len(involved),
        dict(sorted(by_class.items())),
        sorted(involved.values(), key=lambda r: r.id)[:sample],
        [
            {"reason": g["reason"], "value": g["value"], "cis": [r.to_json() for r in g["cis"]]}
            for g in groups[:sample]
        ],
    )


def completeness(cmdb: Cmdb) -> dict[str, Completeness]:
    """Per concrete class with CIs: % of CIs with each required and recommended field."""
    meta = cmdb.meta
    out: dict[str, Completeness] = {}
    with cmdb.read() as s:
        for info in meta.classes:
            if info.abstract:
                continue
            required = [k for k in meta.required_fields(info) if k != "name"]
            recommended = [k for k in meta.recommended_fields(info) if k not in required]
            keys = [k for k in required + recommended if _field_expr(cmdb, info, k) is not None]
            columns: list[Any] = [func.count()]
            columns += [
                func.sum(case((_blank(_field_expr(cmdb, info, k)), 0), else_=1)) for k in keys
            ]
            row = s.execute(select(*columns).select_from(CI).where(CI.class_id == info.id)).one()
            n = int(row[0] or 0)
            if not n:
                continue
            pct = {k: round(100.0 * int(v or 0) / n, 1) for k, v in zip(keys, row[1:], strict=True)}
            out[info.name] = Completeness(
                n,
                {k: pct[k] for k in required if k in pct},
                {k: pct[k] for k in recommended if k in pct},
            )
    return out


def cycles(cmdb: Cmdb, sample: int = SAMPLE) -> Finding:
    """CIs on a cycle of the impact graph (A needs B needs … needs A).

    Cycles are legal (the impact fixpoint handles them) but usually mean a
    modelling mistake; ``details`` gives each group and one shortest cycle.
    """
    groups = cmdb.analysis.cycles()
    members = [ref for g in groups for ref in g.members]
    by_class: dict[str, int] = defaultdict(int)
    for ref in members:
        by_class[ref.class_name] += 1
    return Finding(
        "CIs on impact-graph cycles",
        len(members),
        dict(sorted(by_class.items())),
        members[:sample],
        [g.to_json() for g in groups[:sample]],
    )


# -- the registry ---------------------------------------------------------------


class CheckKey(StrEnum):
    """The key of each health check: its entry in ``cmdb health --format json``
    (never renamed), the dashboard's card and the CLI's section."""

    ORPHANS = "orphans"
    MISSING_REQUIRED = "missing_required"
    STALE = "stale"
    DUPLICATES = "duplicates"
    CYCLES = "cycles"
    RELATED_TO_RETIRED = "related_to_retired"
    WARRANTY = "warranty"


@dataclass(frozen=True)
class CheckOptions:
    """What a check may need besides the CMDB: the report's parameters."""

    today: date
    stale_days: int = STALE_DAYS
    warranty_days: int = WARRANTY_DAYS
    #: How many example CIs a finding lists (counts are always complete).
    sample: int = SAMPLE

    def __post_init__(self) -> None:
        problems = {
            key: f"{days} is not a number of days from 0 to {MAX_DAYS:,}"
            for key, days in (
                ("stale_days", self.stale_days),
                ("warranty_days", self.warranty_days),
            )
            if not 0 <= days <= MAX_DAYS
        }
        if problems:
            raise ValidationError.from_problems(problems, "Health check")


@dataclass(frozen=True)
class HealthCheck:
    """One registered check: what front ends show about it, and how to run it."""

    key: CheckKey
    #: A short name (a dashboard card, a CLI heading).
    title: str
    #: One line on what it finds; ``{stale_days}`` and ``{warranty_days}`` are
    #: filled in from the options the report ran with.
    description: str
    run: Callable[[Cmdb, CheckOptions], Finding]

    def describe(self, options: CheckOptions | None = None) -> str:
        """The description for these options (the defaults when None)."""
        stale_days = options.stale_days if options else STALE_DAYS
        warranty_days = options.warranty_days if options else WARRANTY_DAYS
        return self.description.format(stale_days=stale_days, warranty_days=warranty_days)


#: Every health check, in the order front ends list them.
CHECKS: tuple[HealthCheck, ...] = (
    HealthCheck(
        CheckKey.ORPHANS,
        "Orphans",
        "Active CIs with no relationship, in classes that expect some",
        lambda cmdb, o: orphans(cmdb, o.sample),
    ),
    HealthCheck(
        CheckKey.MISSING_REQUIRED,
        "Missing required fields",
        "CIs lacking a field their class requires",
        lambda cmdb, o: missing_required(cmdb, o.sample),
    ),
    HealthCheck(
        CheckKey.STALE,
        "Stale",
        "Active CIs neither verified nor updated for {stale_days} days",
        lambda cmdb, o: stale(cmdb, o.today, o.stale_days, o.sample),
    ),
    HealthCheck(
        CheckKey.DUPLICATES,
        "Duplicate candidates",
        "Same serial or asset tag, or near-identical names",
        lambda cmdb, o: duplicates(cmdb, o.sample),
    ),
    HealthCheck(
        CheckKey.CYCLES,
        "Impact cycles",
        "CIs that impact one another in a loop (a modelling mistake?)",
        lambda cmdb, o: cycles(cmdb, o.sample),
    ),
    HealthCheck(
        CheckKey.RELATED_TO_RETIRED,
        "Related to retired",
        "Active CIs still linked to retired CIs",
        lambda cmdb, o: relationships_to_retired(cmdb, o.sample),
    ),
    HealthCheck(
        CheckKey.WARRANTY,
        "Warranty ending",
        "Active hardware whose warranty ends within {warranty_days} days",
        lambda cmdb, o: warranties_ending(cmdb, o.today, o.warranty_days, o.sample),
    ),
)
CHECKS_BY_KEY: dict[CheckKey, HealthCheck] = {c.key: c for c in CHECKS}


def find_check(key: str) -> HealthCheck:
    """The registered check named ``key``; ValidationError for an unknown one."""
    try:
        return CHECKS_BY_KEY[CheckKey(key)]
    except (ValueError, KeyError):
        known = ", ".join(CHECKS_BY_KEY)
        raise ValidationError(f"Unknown health check {key!r} (known: {known}).") from None


def run_check(cmdb: Cmdb, key: str, *, today: date | None = None, sample: int = SAMPLE) -> Finding:
    """Run one check with the default thresholds (the dashboard lists one card's CIs)."""
    return find_check(key).run(cmdb, CheckOptions(today or date.today(), sample=sample))


def _class_scores(
    cmdb: Cmdb,
    complete: dict[str, Completeness],
    findings: dict[CheckKey, Finding],
    by_class: dict[str, int],
) -> tuple[dict[str, float], float]:
    scores: dict[str, float] = {}
    for cls, n in by_class.items():
        if not n:
            continue
        parts = [complete[cls].score] if cls in complete else []
        for finding in findings.values():
            parts.append(100.0 * (1 - min(n, finding.by_class.get(cls, 0)) / n))
        scores[cls] = sum(parts) / len(parts) if parts else 100.0
    total = sum(by_class.values())
    overall = (sum(scores[c] * by_class[c] for c in scores) / total) if total else 100.0
    return dict(sorted(scores.items())), overall


def report(
    cmdb: Cmdb,
    *,
    today: date | None = None,
    stale_days: int = STALE_DAYS,
    warranty_days: int = WARRANTY_DAYS,
    sample: int = SAMPLE,
) -> HealthReport:
    """Every check, the completeness table and the scores."""
    options = CheckOptions(today or date.today(), stale_days, warranty_days, sample)
    by_class = dict(sorted(cmdb.items.counts_by_class().items()))
    findings = {c.key: c.run(cmdb, options) for c in CHECKS}
    complete = completeness(cmdb)
    class_scores, overall = _class_scores(cmdb, complete, findings, by_class)
    return HealthReport(
        today=options.today,
        total_cis=sum(by_class.values()),
        total_relationships=cmdb.relations.count(),
        by_class=by_class,
        by_status=dict(sorted(cmdb.items.counts_by_status().items())),
        completeness=complete,
        findings=findings,
        class_scores=class_scores,
        score=overall,
    )
