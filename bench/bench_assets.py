"""Asset management at scale (issue 17), each against the same computation in one
SQL query run on the same file in the same run:

* **book values at a date** — :meth:`AssetService.values` (every Hardware
  asset's book value by PRODUCT.md §10, in Decimal, rounded half-up) on a CMDB
  of ``size`` assets with a third straight-line, a third double-declining and a
  third undepreciated, against one SQLite query computing the same whole
  months and values in floating point (``json_extract``, ``pow``). The values
  are compared: ``extra["differ"]`` counts assets whose values differ by more
  than a cent (float rounding can move a half cent).
* **licence compliance** — :meth:`AssetService.compliance` over ``installs``
  *Installed on* relationships (1,000 software, 2,000 licences, devices of which
  a tenth are retired), against one SQL query with the same rules; the
  per-software results are compared (``extra["differ"]``).

The dataset is built once with plain sqlite3 inserts into a new CMDB and cached
in ``bench/cache/``.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from bench.harness import CACHE, Figure, measure

AT = date(2026, 6, 30)
SOFTWARE = 1_000
LICENCES = 2_000


def _class_ids(conn: sqlite3.Connection) -> dict[str, int]:
    return {n: i for i, n in conn.execute("SELECT id, name FROM ci_class")}


def _type_ids(conn: sqlite3.Connection) -> dict[str, int]:
    return {n: i for i, n in conn.execute("SELECT id, name FROM relationship_type")}


def build(size: int, installs: int) -> Path:
    """A CMDB of ``size`` depreciating workstations plus software, licences and
    ``installs`` installations (cached)."""
    from cmdb_desktop.cmdb import Cmdb

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"assets-{size}-{installs}.sqlite"
    if path.exists():
        return path
    tmp = path.with_name(path.name + ".building")
    tmp.unlink(missing_ok=True)
    Cmdb.open(tmp, user="bench").close()
    rnd = random.Random(17)
    conn = sqlite3.connect(tmp)
    classes = _class_ids(conn)
    types = _type_ids(conn)
    now = "2026-01-01 00:00:00"
    methods = ["Straight-line", "Declining", None]
    rows = []
    for n in range(size):
        bought = date(2018, 1, 1) + timedelta(days=rnd.randrange(3000))
        method = methods[n % 3]
        doc = {}
        if method:
            doc = {
                "depreciation_method": method,
                "useful_life_months": rnd.choice([24, 36, 48, 60]),
                "salvage_value": rnd.choice([0, 50, 100.5]),
            }
        status = "Retired" if n % 10 == 0 else "In Use"
        rows.append(
            (
                classes["Workstation"],
                f"ws{n:07d}",
                status,
                round(rnd.uniform(300, 3000), 2),
                bought.isoformat(),
                json.dumps(doc) if doc else None,
                f"person{n % 5000}",
                now,
                now,
                1,
            )
        )
    conn.executemany(
        "INSERT INTO ci (class_id, name, status, cost, purchase_date, attributes, assigned_to,"
        " created_at, updated_at, version) VALUES (?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    first_sw = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM ci").fetchone()[0]
    conn.executemany(
        "INSERT INTO ci (class_id, name, status, created_at, updated_at, version)"
        " VALUES (?,?,?,?,?,1)",
        [(classes["Software"], f"sw{n:04d}", "In Use", now, now) for n in range(SOFTWARE)],
    )
    first_lic = first_sw + SOFTWARE
    lic_rows = []
    for n in range(LICENCES):
        doc = {
            "seats": rnd.randrange(0, 200),
            "licence_metric": "Per user" if n % 4 == 0 else "Per device",
        }
        if n % 5 == 0:
            doc["expiry_date"] = (AT + timedelta(days=rnd.randrange(-400, 400))).isoformat()
        status = "Retired" if n % 17 == 0 else "In Use"
        lic_rows.append((classes["Licence"], f"lic{n:04d}", status, json.dumps(doc), now, now))
    conn.executemany(
        "INSERT INTO ci (class_id, name, status, attributes, created_at, updated_at, version)"
        " VALUES (?,?,?,?,?,?,1)",
        lic_rows,
    )
    rels = {(first_lic + n, types["Covers"], first_sw + (n % SOFTWARE)) for n in range(LICENCES)}
    covers = len(rels)
    devices = min(size, max(installs // 2, 1))
    while len(rels) < covers + installs:
        rels.add(
            (first_sw + rnd.randrange(SOFTWARE), types["Installed on"], 1 + rnd.randrange(devices))
        )
    conn.executemany(
        "INSERT INTO relationship (source_id, type_id, target_id, created_at) VALUES (?,?,?,?)",
        [(*r, now) for r in sorted(rels)],
    )
    conn.commit()
    conn.close()
    tmp.rename(path)
    return path


#: Book values in one query: whole months as PRODUCT.md §10 counts them, then the method.
VALUES_SQL = """
WITH a AS (
  SELECT id, cost, json_extract(attributes, '$.depreciation_method') AS method,
         json_extract(attributes, '$.useful_life_months') AS life,
         coalesce(json_extract(attributes, '$.salvage_value'), 0) AS salvage,
         CAST(strftime('%Y', purchase_date) AS INTEGER) AS y,
         CAST(strftime('%m', purchase_date) AS INTEGER) AS m,
         CAST(strftime('%d', purchase_date) AS INTEGER) AS d
  FROM ci WHERE class_id IN ({classes})
), w AS (
  SELECT id, cost, method, life, salvage,
         max(0, (:y - y) * 12 + (:m - m) - (CASE WHEN :d < min(d, :last) THEN 1 ELSE 0 END))
           AS months
  FROM a
)
SELECT id, CASE
  WHEN cost IS NULL THEN NULL
  WHEN method IS NULL OR method = 'None' THEN round(cost, 2)
  WHEN life IS NULL THEN NULL
  WHEN method = 'Straight-line' THEN round(cost - (cost - salvage) * min(months, life) / life, 2)
  ELSE round(max(salvage, cost * pow(1 - 2.0 / life, months)), 2)
END FROM w
"""

#: Compliance per software in one query, with the same rules as AssetService.compliance.
COMPLIANCE_SQL = """
WITH lic AS (
  SELECT r.target_id AS sw,
         coalesce(json_extract(l.attributes, '$.licence_metric'), 'Per device') AS metric,
         CASE WHEN l.status NOT IN ('Retired', 'Disposed')
               AND (json_extract(l.attributes, '$.expiry_date') IS NULL
                    OR json_extract(l.attributes, '$.expiry_date') >= :at)
              THEN coalesce(json_extract(l.attributes, '$.seats'), 0) ELSE 0 END AS seats
  FROM relationship r JOIN ci l ON l.id = r.source_id
  WHERE r.type_id = :covers AND l.class_id = :licence
), ent AS (
  SELECT sw, sum(seats) AS entitled,
         CASE WHEN min(metric = 'Per user') = 1 THEN 'Per user' ELSE 'Per device' END AS metric
  FROM lic GROUP BY sw
), inst AS (
  SELECT r.source_id AS sw, d.id AS dev, lower(trim(d.assigned_to)) AS person
  FROM relationship r JOIN ci d ON d.id = r.target_id
  WHERE r.type_id = :installed AND d.status NOT IN ('Retired', 'Disposed')
), sws AS (SELECT sw FROM ent UNION SELECT source_id FROM relationship WHERE type_id = :installed)
SELECT s.sw, coalesce(e.metric, 'Per device'), coalesce(e.entitled, 0),
       CASE WHEN e.metric = 'Per user'
            THEN (SELECT count(DISTINCT person) FROM inst i WHERE i.sw = s.sw)
            ELSE (SELECT count(DISTINCT dev) FROM inst i WHERE i.sw = s.sw) END
FROM sws s LEFT JOIN ent e ON e.sw = s.sw
"""


def _sql_values(path: Path) -> dict[int, float | None]:
    import calendar

    conn = sqlite3.connect(path)
    try:
        classes = ",".join(
            str(i) for n, i in _class_ids(conn).items() if n in ("Workstation", "Server")
        )
        last = calendar.monthrange(AT.year, AT.month)[1]
        sql = VALUES_SQL.format(classes=classes)
        return dict(conn.execute(sql, {"y": AT.year, "m": AT.month, "d": AT.day, "last": last}))
    finally:
        conn.close()


def _sql_compliance(path: Path) -> dict[int, tuple[str, int, int]]:
    conn = sqlite3.connect(path)
    try:
        types = _type_ids(conn)
        params = {
            "at": AT.isoformat(),
            "covers": types["Covers"],
            "installed": types["Installed on"],
            "licence": _class_ids(conn)["Licence"],
        }
        return {r[0]: (r[1], int(r[2]), int(r[3])) for r in conn.execute(COMPLIANCE_SQL, params)}
    finally:
        conn.close()


def run(size: int, installs: int = 100_000, repeat: int = 3) -> list[Figure]:
    from cmdb_desktop.cmdb import Cmdb

    start = time.perf_counter()
    path = build(size, installs)
    print(f"   asset dataset ready ({time.perf_counter() - start:.1f} s)", flush=True)
    cmdb = Cmdb.open(path)
    try:
        ours: dict[int, Decimal | None] = {}

        def values() -> None:
            ours.clear()
            ours.update((v.ci_id, v.book_value) for v in cmdb.assets.values(AT))

        reference: dict[int, float | None] = {}

        def sql_values() -> None:
            reference.clear()
            reference.update(_sql_values(path))

        value_m = measure("AssetService.values", values, repeat)
        ref_m = measure("one SQL query", sql_values, repeat)
        differ = sum(
            1
            for k, v in ours.items()
            if (v is None) != (reference.get(k) is None)
            or (v is not None and abs(float(v) - float(reference[k] or 0)) > 0.011)
        )
        figures = [
            Figure(
                f"book values of {len(ours):,} assets at a date",
                value_m,
                ref_m,
                note="Decimal, half-up cents, per PRODUCT.md §10",
                extra={"assets": len(ours), "differ": differ},
            )
        ]
        got: dict[int, tuple[str, int, int]] = {}

        def compliance() -> None:
            got.clear()
            for c in cmdb.assets.compliance(AT):
                got[c.software["id"]] = (c.metric, c.entitled, c.consumed)

        want: dict[int, tuple[str, int, int]] = {}

        def sql_compliance() -> None:
            want.clear()
            want.update(_sql_compliance(path))

        comp_m = measure("AssetService.compliance", compliance, repeat)
        comp_ref = measure("one SQL query", sql_compliance, repeat)
        figures.append(
            Figure(
                f"licence compliance over {installs:,} installations",
                comp_m,
                comp_ref,
                extra={
                    "software": len(got),
                    "differ": sum(1 for k, v in got.items() if want.get(k) != v),
                },
            )
        )
        return figures
    finally:
        cmdb.close()
