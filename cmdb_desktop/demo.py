"""A realistic, deterministic demo CMDB of any size.

Layers, top to bottom (impact flows upwards):

    Business Service  ─Depends on→  Application Service
    Application Service ─Depends on→ Application, Database
    Application / Database ─Runs on→ Cluster (redundancy: min up 1 or 50 %)
    Virtual Machine ─Member of→ Cluster;  VM ─Hosted on→ Server;  VM ─Depends on→ Storage Device
    Application ─Depends on→ Software, Database;  Database ─Backed up by→ Storage Device
    Server ─Located in→ Rack ─Located in→ Site;  Server ─Connected to→ ToR switch
    Server, ToR ─Powered by→ power group (Cluster, min up 1) ←Member of─ PDU A, PDU B
    ToR ─Connected to→ core group (Cluster, min up 1) ←Member of─ core switches
    Workstation ─Located in→ Site

About 1 % of CIs are retired, 3 % miss an owner and a few are orphans (no
relationships), so the health report has something to say. The same seed
gives the same CMDB. Rows are written with bulk inserts in one transaction.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from cmdb_desktop.catalogue import ENVIRONMENTS, STRAIGHT_LINE
from cmdb_desktop.dialect import sync_id_sequence
from cmdb_desktop.errors import ValidationError
from cmdb_desktop.history import HistoryWriter, Source
from cmdb_desktop.models import (
    CmdbState,
    ConfigurationItem,
    ImportBatch,
    ci_table,
    relationship_table,
    utcnow,
)
from cmdb_desktop.progress import Progress
from cmdb_desktop.vocabulary import BatchKind, BatchStatus, ChangeSource

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb

FIRST = [
    "Alice",
    "Bram",
    "Chloé",
    "Dmitri",
    "Emma",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kavya",
    "Liam",
    "Maria",
    "Noah",
    "Olga",
    "Pedro",
    "Qin",
    "Rosa",
    "Sven",
    "Tara",
    "Umar",
    "Vera",
    "Wei",
    "Xavier",
    "Yara",
    "Zoe",
]
LAST = [
    "Andersen",
    "Brown",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Müller",
    "Nakamura",
    "Olsen",
    "Patel",
    "Quinn",
    "Rossi",
    "Smith",
    "Tanaka",
    "Usman",
    "Visser",
    "Wagner",
    "Xu",
    "Young",
    "Zhang",
]
GROUPS = [
    "Platform Engineering",
    "Database Administration",
    "Network Operations",
    "Service Desk",
    "Application Support",
    "Data Centre Operations",
    "Cloud Team",
    "Security Operations",
    "End User Computing",
    "Storage Team",
]
CITIES = [
    "Amsterdam",
    "Berlin",
    "Chicago",
    "Dublin",
    "Frankfurt",
    "Hong Kong",
    "London",
    "Madrid",
    "Mumbai",
    "New York",
    "Paris",
    "São Paulo",
    "Singapore",
    "Stockholm",
    "Sydney",
    "Tokyo",
    "Toronto",
    "Vienna",
    "Warsaw",
    "Zürich",
]
DOMAINS = [
    "Retail",
    "Corporate",
    "Wholesale",
    "Private",
    "Group",
    "Digital",
    "Partner",
    "Consumer",
    "Commercial",
    "Treasury",
]
FUNCTIONS = [
    "Banking",
    "Payments",
    "Lending",
    "Payroll",
    "Invoicing",
    "Customer Portal",
    "Trading",
    "Claims",
    "Onboarding",
    "Reporting",
    "Procurement",
    "Logistics",
    "Identity",
    "Messaging",
    "Analytics",
    "Document Management",
    "CRM",
    "HR",
]
APP_WORDS = [
    "api",
    "web",
    "batch",
    "gateway",
    "worker",
    "engine",
    "sync",
    "scheduler",
    "portal",
    "ledger",
    "search",
    "auth",
    "notify",
    "billing",
    "catalog",
    "orders",
]
SOFTWARE = [
    ("PostgreSQL", "PostgreSQL Global Development Group", "15.6"),
    ("Oracle Database", "Oracle", "19c"),
    ("Microsoft SQL Server", "Microsoft", "2019"),
    ("OpenJDK", "Eclipse Adoptium", "17.0.10"),
    ("Apache Tomcat", "Apache", "9.0.85"),
    ("nginx", "F5", "1.24.0"),
    ("Red Hat Enterprise Linux", "Red Hat", "9.3"),
    ("Windows Server", "Microsoft", "2022"),
    ("Node.js", "OpenJS Foundation", "20.11"),
    ("Python", "Python Software Foundation", "3.11.8"),
    ("Redis", "Redis Ltd", "7.2"),
    ("RabbitMQ", "Broadcom", "3.12"),
    ("Kafka", "Apache", "3.6"),
    ("Elasticsearch", "Elastic", "8.12"),
    (".NET Runtime", "Microsoft", "8.0"),
    ("IBM MQ", "IBM", "9.3"),
    ("SAP NetWeaver", "SAP", "7.5"),
    ("VMware ESXi", "Broadcom", "8.0u2"),
    ("HAProxy", "HAProxy Technologies", "2.8"),
    ("MongoDB", "MongoDB Inc", "7.0"),
]
SERVER_MODELS = [
    ("Dell", "PowerEdge R650", "CN"),
    ("Dell", "PowerEdge R750", "CN"),
    ("HPE", "ProLiant DL380 Gen10", "CZ"),
    ("HPE", "ProLiant DL360 Gen11", "CZ"),
    ("Lenovo", "ThinkSystem SR650", "J3"),
    ("Cisco", "UCS C240 M6", "WZP"),
]
NET_MODELS = [
    ("Cisco", "Nexus 93180YC-FX", "FDO"),
    ("Arista", "7050SX3-48YC8", "JPE"),
    ("Juniper", "QFX5120-48Y", "WS"),
]
PDU_MODELS = [("APC", "AP8868", "5A"), ("Eaton", "EMAB03", "EA"), ("Vertiv", "VP7C02", "VT")]
STORAGE_MODELS = [
    ("NetApp", "AFF A400", "NA"),
    ("Pure Storage", "FlashArray//X70", "PS"),
    ("Dell", "PowerStore 1200T", "PS"),
]
WS_MODELS = [
    ("Dell", "Latitude 7440", "DL"),
    ("Lenovo", "ThinkPad T14", "PF"),
    ("Apple", "MacBook Pro 14", "C02"),
    ("HP", "EliteBook 840", "5CG"),
]

_ALNUM = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass
class DemoResult:
    cis: int
    relationships: int
    batch_id: int
    counts: dict[str, int] = field(default_factory=dict)


#: The largest demo (twice the largest benchmark; the welcome screen offers as much):
#: the whole demo is built in memory before it is written.
MAX_SIZE = 2_000_000


class _Builder:
    """Accumulates CI rows and relationships with ids assigned up front."""

    def __init__(self, cmdb: Cmdb, seed: int, first_id: int, today: date) -> None:
        self.rng = random.Random(seed)
        self.meta = cmdb.meta
        self.next_id = first_id
        self.cis: list[dict[str, Any]] = []
        self.rels: list[tuple[int, int, int]] = []
        self.type_ids = {t.name: t.id for t in self.meta.relationship_types}
        self.class_ids = {c.name: c.id for c in self.meta.classes}
        self.serial_n = 0
        self.now = utcnow()
        self.today = today
        self.epoch = datetime.combine(today, datetime.min.time())

    def person(self) -> str:
        return f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"

    def serial(self, prefix: str) -> str:
        self.serial_n += 1
        n = self.serial_n * 7919 + 104729  # unique per CI, but not sequential-looking
        body = ""
        while n:
            n, r = divmod(n, len(_ALNUM))
            body = _ALNUM[r] + body
        return prefix + body.rjust(7, "0")

    def add(self, cls: str, name: str, **fields: Any) -> int:
        ci_id = self.next_id
        self.next_id += 1
        rng = self.rng
        row: dict[str, Any] = {
            "id": ci_id,
            "class_id": self.class_ids[cls],
            "name": name,
            "status": "In Use",
            "environment": None,
            "criticality": None,
            "owner": self.person(),
            "support_group": rng.choice(GROUPS),
            "description": None,
            "tags": None,
            # most CIs were verified recently; some are stale
            "last_verified": self.today
            - timedelta(days=rng.randint(0, 80) if rng.random() < 0.85 else rng.randint(91, 700)),
            "redundancy_min_up": None,
            "redundancy_min_up_pct": None,
            "asset_tag": None,
            "serial_number": None,
            "manufacturer": None,
            "model": None,
            "purchase_date": None,
            "cost": None,
            "warranty_end": None,
            "assigned_to": None,
            "end_of_life": None,
            "software_version": None,
            "vendor": None,
            "attributes": None,
            "created_at": self.now,
            "updated_at": self.now,
            "version": 1,
        }
        created = self.epoch - timedelta(days=rng.randint(30, 1500), seconds=rng.randint(0, 86399))
        row["created_at"] = created
        row["updated_at"] = created + timedelta(days=rng.randint(0, (self.epoch - created).days))
        row.update(fields)
        if rng.random() < 0.03:
            row["owner"] = None  # a data-quality flaw the health report finds
        self.cis.append(row)
        return ci_id

    def hardware(
        self,
        cls: str,
        name: str,
        model: tuple[str, str, str],
        cost: float,
        life_months: int = 60,
        **fields: Any,
    ) -> int:
        """A bought device: tag, serial, model, cost, warranty, and depreciated
        straight-line over ``life_months`` (so the Assets workspace has book values)."""
        rng = self.rng
        bought = self.today - timedelta(days=rng.randint(60, 1800))
        return self.add(
            cls,
            name,
            attributes={"depreciation_method": STRAIGHT_LINE, "useful_life_months": life_months},
            asset_tag=f"AT-{self.next_id:07d}",
            serial_number=self.serial(model[2]),
            manufacturer=model[0],
            model=model[1],
            purchase_date=bought,
            cost=round(cost * rng.uniform(0.8, 1.25), 2),
            warranty_end=bought + timedelta(days=365 * rng.choice([3, 4, 5])),
            end_of_life=bought + timedelta(days=365 * 7),
            **fields,
        )

    def rel(self, source: int, type_name: str, target: int) -> None:
        self.rels.append((source, self.type_ids[type_name], target))


def _plan(size: int) -> dict[str, int]:
    """How many CIs of each kind a demo of ``size`` CIs holds (sums to size)."""
    if size < 60:
        raise ValidationError(
            f"A demo CMDB needs at least 60 CIs (asked for {size}).", {"size": "at least 60"}
        )
    if size > MAX_SIZE:
        raise ValidationError(
            f"A demo CMDB holds at most {MAX_SIZE:,} CIs (asked for {size:,}).",
            {"size": f"at most {MAX_SIZE:,}"},
        )
    plan = {
        "sites": max(2, round(size / 4000)),
        "software": max(12, min(len(SOFTWARE) * 50, size // 2000)),
        "business": max(2, round(size * 0.005)),
        "appservices": max(4, round(size * 0.02)),
        "apps": max(6, round(size * 0.08)),
        "dbs": max(3, round(size * 0.03)),
        "servers": max(6, round(size * 0.15)),
        "storage_per_site": 2,
        "core_per_site": 2,
    }
    plan["racks"] = max(plan["sites"], -(-plan["servers"] // 8))
    per_rack = 6  # ToR pair and its group, PDUs A/B and their group
    per_site = 1 + plan["storage_per_site"] + plan["core_per_site"] + 1  # + core group
    clusters = plan["apps"] + plan["dbs"]
    # VMs: 2–3 members per cluster, on average 2.5
    plan["vms"] = round(clusters * 2.5)
    fixed = (
        plan["sites"] * per_site
        + plan["racks"] * (1 + per_rack)
        + plan["software"]
        + plan["business"]
        + plan["appservices"]
        + plan["apps"]
        + plan["dbs"]
        + plan["servers"]
        + clusters
        + plan["vms"]
    )
    plan["workstations"] = size - fixed
    while plan["workstations"] < 0:  # tiny demos: shed VMs, then servers
        if plan["vms"] > clusters * 2:
            plan["vms"] -= 1
        else:
            raise ValidationError(
                f"A demo of {size} CIs is too small for its layers; use at least 200.",
                {"size": "too small"},
            )
        plan["workstations"] += 1
    return plan


def generate(
    cmdb: Cmdb,
    size: int = 5000,
    seed: int = 1,
    progress: Progress | None = None,
    on_written: Callable[[int], None] | None = None,
    today: date | None = None,
) -> DemoResult:
    """Fill an *empty* CMDB with a demo of exactly ``size`` CIs.

    Deterministic per seed and ``today`` (dates — purchases, warranties,
    verifications — are placed relative to it).
    """
    progress = progress or Progress()
    with cmdb.read() as s:
        existing = int(s.scalar(select(func.count()).select_from(ConfigurationItem)) or 0)
        max_id = int(s.scalar(select(func.max(ConfigurationItem.id))) or 0)
        generation = _data_generation(s)
    if existing:
        raise _not_empty(existing)
    plan = _plan(size)
    progress.start("Generating demo CMDB", size)
    b = _Builder(cmdb, seed, max_id + 1, today or date.today())
    rng = b.rng

    # Sites, with core network, storage
    sites, cores, storages = [], [], []
    for i in range(plan["sites"]):
        city = CITIES[i % len(CITIES)]
        code = f"{city[:3].lower()}{i // len(CITIES) + 1}"
        site = b.add(
            "Site",
            f"{city} DC{i // len(CITIES) + 1}",
            criticality=2,
            environment="Production",
            description=f"Data centre in {city}",
        )
        group = b.add(
            "Cluster", f"{code}-core-group", redundancy_min_up=1, description="Core switch pair"
        )
        for k in range(plan["core_per_site"]):
            sw = b.hardware(
                "Network Device", f"{code}-core-sw{k + 1:02d}", rng.choice(NET_MODELS), 18000
            )
            b.rel(sw, "Located in", site)
            b.rel(sw, "Member of", group)
        st = []
        for k in range(plan["storage_per_site"]):
            arr = b.hardware(
                "Storage Device", f"{code}-array{k + 1:02d}", rng.choice(STORAGE_MODELS), 90000
            )
            b.rel(arr, "Located in", site)
            st.append(arr)
        sites.append((site, code))
        cores.append(group)
        storages.append(st)
    progress.step(len(b.cis), size)

    # Racks with a ToR switch pair and A/B power, servers
    racks = []
    for r in range(plan["racks"]):
        si = r % len(sites)
        site, code = sites[si]
        label = f"{code}-rack-{r // len(sites) + 1:03d}"
        short = f"{code}-r{r // len(sites) + 1:03d}"
        rack = b.add("Rack", label)
        b.rel(rack, "Located in", site)
        power = b.add("Cluster", f"{label}-power", redundancy_min_up=1, description="PDU pair A/B")
        for side in "AB":
            pdu = b.hardware("Power Device", f"{short}-pdu-{side}", rng.choice(PDU_MODELS), 1400)
            b.rel(pdu, "Located in", rack)
            b.rel(pdu, "Member of", power)
        tors = b.add(
            "Cluster", f"{label}-tor-pair", redundancy_min_up=1, description="ToR switch pair"
        )
        for side in "ab":
            tor = b.hardware("Network Device", f"{short}-tor-{side}", rng.choice(NET_MODELS), 9000)
            b.rel(tor, "Located in", rack)
            b.rel(tor, "Powered by", power)
            b.rel(tor, "Connected to", cores[si])
            b.rel(tor, "Member of", tors)
        racks.append((rack, power, tors, si, code))
    # servers[site index][rack] = servers in that rack
    by_site: list[dict[int, list[int]]] = [{} for _ in sites]
    # the last servers are unconnected: in stock, or retired (decommissioned)
    spares = max(2, plan["servers"] // 100)
    for n in range(plan["servers"]):
        rack, power, tors, si, code = racks[n % len(racks)]
        srv = b.hardware(
            "Server",
            f"{code}-srv-{n + 1:06d}",
            rng.choice(SERVER_MODELS),
            11000,
            environment=rng.choice(ENVIRONMENTS[:2]),
        )
        if n >= plan["servers"] - spares:
            b.cis[-1]["status"] = "In Stock" if n % 2 else "Retired"
            continue
        b.rel(srv, "Located in", rack)
        b.rel(srv, "Connected to", tors)
        b.rel(srv, "Powered by", power)
        by_site[si].setdefault(rack, []).append(srv)
    progress.step(len(b.cis), size)

    # Software products. Most applications are built in-house and record the
    # stack they are built on as attributes; only packaged (bought) applications
    # depend on their product, whose faulty release really does take them down.
    software = []
    for n in range(plan["software"]):
        prod, vendor, ver = SOFTWARE[n % len(SOFTWARE)]
        edition = n // len(SOFTWARE)
        name = prod if edition == 0 else f"{prod} ({ver}.{edition})"
        software.append(b.add("Software", name, vendor=vendor, software_version=ver))

    # Applications and databases, each on a cluster of VMs. Production clusters
    # span the sites (production databases always; a few legacy applications
    # stay on one site); the others
    # live on one site. Members sit on different racks and different storage
    # arrays, so one server, rack, switch or array degrades a cluster, never
    # downs it; a site downs the clusters that have no second site.
    n_clusters = plan["apps"] + plan["dbs"]
    base, extra = divmod(plan["vms"], n_clusters)
    sizes = [base + 1] * extra + [base] * (n_clusters - extra)
    rng.shuffle(sizes)
    multi_site = len(sites) > 1

    def place(si: int, used_racks: set[int]) -> int:
        """A server of site ``si``, in a rack the cluster does not use yet if any."""
        rack_ids = [r for r in by_site[si] if r not in used_racks] or list(by_site[si])
        rack = rng.choice(rack_ids)
        used_racks.add(rack)
        return rng.choice(by_site[si][rack])

    def cluster_of_vms(label: str, env: str, legacy: float) -> tuple[int, bool]:
        members = sizes.pop()
        spans = multi_site and env == ENVIRONMENTS[0] and rng.random() >= legacy
        home = rng.randrange(len(sites))
        rule: dict[str, Any] = {"redundancy_min_up": 1}
        if spans and members % len(sites) == 0 and rng.random() < 0.4:
            rule = {"redundancy_min_up_pct": 50.0}  # half the members: one site is enough
        cl = b.add("Cluster", f"{label}-cluster", environment=env, **rule)
        used_racks: set[int] = set()
        first_array = rng.randrange(2)
        for k in range(members):
            if spans:
                si, nth = (home + k) % len(sites), k // len(sites)
            else:
                si, nth = home, k
            vm = b.add("Virtual Machine", f"{label}-vm{k + 1:02d}", environment=env)
            b.rel(vm, "Member of", cl)
            b.rel(vm, "Hosted on", place(si, used_racks))
            site_arrays = storages[si]
            b.rel(vm, "Depends on", site_arrays[(first_array + nth) % len(site_arrays)])
        return cl, spans

    dbs = []
    for n in range(plan["dbs"]):
        env = ENVIRONMENTS[0] if rng.random() < 0.7 else rng.choice(ENVIRONMENTS[1:])
        name = f"{rng.choice(APP_WORDS)}db-{n + 1:05d}"
        db = b.add("Database", name, environment=env, criticality=rng.randint(1, 4))
        b.rel(db, "Runs on", cluster_of_vms(name, env, 0.0)[0])
        b.rel(db, "Backed up by", rng.choice(rng.choice(storages)))
        dbs.append((db, env))
    apps = []
    for n in range(plan["apps"]):
        env = ENVIRONMENTS[0] if rng.random() < 0.7 else rng.choice(ENVIRONMENTS[1:])
        name = f"{rng.choice(APP_WORDS)}-{rng.choice(APP_WORDS)}-{n + 1:05d}"
        packaged = rng.random() < 0.03
        product = rng.randrange(len(software))
        prod, vendor, _ = SOFTWARE[product % len(SOFTWARE)]
        app = b.add(
            "Application",
            name,
            environment=env,
            criticality=rng.randint(1, 4),
            software_version=f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
            vendor=vendor if packaged else "In-house",
            description=f"Packaged {prod}" if packaged else f"Built in-house on {prod}",
        )
        b.rel(app, "Runs on", cluster_of_vms(name, env, 0.03)[0])
        if packaged:
            b.rel(app, "Depends on", software[product])
        if rng.random() < 0.6:
            # an application uses a database of its own environment where there is one
            same = [d for d, e in dbs if e == env] or [d for d, _ in dbs]
            b.rel(app, "Depends on", rng.choice(same))
        apps.append((app, env))
    progress.step(len(b.cis), size)

    # Services
    appservices = []
    for n in range(plan["appservices"]):
        fn = FUNCTIONS[n % len(FUNCTIONS)]
        svc = b.add(
            "Application Service",
            f"{fn} {rng.choice(APP_WORDS).title()} Service {n // len(FUNCTIONS) + 1}",
            environment="Production",
            criticality=rng.randint(1, 4),
        )
        # production services are built on production applications and databases
        prod_apps = [a for a, e in apps if e == ENVIRONMENTS[0]] or [a for a, _ in apps]
        prod_dbs = [d for d, e in dbs if e == ENVIRONMENTS[0]] or [d for d, _ in dbs]
        for app in rng.sample(prod_apps, min(len(prod_apps), rng.randint(2, 4))):
            b.rel(svc, "Depends on", app)
        for db in rng.sample(prod_dbs, min(len(prod_dbs), rng.randint(1, 2))):
            b.rel(svc, "Depends on", db)
        appservices.append(svc)
    for n in range(plan["business"]):
        dom = DOMAINS[n % len(DOMAINS)]
        fn = FUNCTIONS[(n // len(DOMAINS)) % len(FUNCTIONS)]
        cycle = n // (len(DOMAINS) * len(FUNCTIONS))
        name = f"{dom} {fn}" + (f" {cycle + 1}" if cycle else "")
        svc = b.add(
            "Business Service", name, environment="Production", criticality=rng.randint(1, 3)
        )
        for asvc in rng.sample(appservices, min(len(appservices), rng.randint(2, 4))):
            b.rel(svc, "Depends on", asvc)

    # Workstations fill the rest
    for n in range(plan["workstations"]):
        if n % 200 == 199:
            # A double registration: same serial, name differing only in case.
            twin = dict(b.cis[-1], id=b.next_id, name=b.cis[-1]["name"].lower())
            b.next_id += 1
            b.cis.append(twin)
            continue
        site, code = sites[n % len(sites)]
        person = b.person()
        ws = b.hardware(
            "Workstation",
            f"WS-{code.upper()}-{n + 1:07d}",
            rng.choice(WS_MODELS),
            1600,
            life_months=36,
            assigned_to=person,
        )
        if rng.random() > 0.005:
            b.rel(ws, "Located in", site)  # the rest are orphans
    progress.step(len(b.cis), size)

    # Retire about 1 % of the workstations. Servers and VMs in service stay in
    # service: a retired member would silently thin a cluster's redundancy.
    for row in b.cis:
        if row["class_id"] == b.class_ids["Workstation"] and rng.random() < 0.01:
            row["status"] = "Retired"
    assert len(b.cis) == size, (len(b.cis), size)
    return _write(cmdb, b, progress, seed, generation, on_written)


def _not_empty(existing: int) -> ValidationError:
    return ValidationError(
        f"This CMDB already holds {existing} CIs; create the demo in a new file "
        "(cmdb --db NEW.sqlite demo).",
        {"size": "CMDB not empty"},
    )


def _data_generation(s: Session) -> int:
    return int(s.scalar(select(CmdbState.data_generation).where(CmdbState.id == 1)) or 0)


def _write(
    cmdb: Cmdb,
    b: _Builder,
    progress: Progress,
    seed: int,
    generation: int,
    on_written: Callable[[int], None] | None,
) -> DemoResult:
    total = len(b.cis) + len(b.rels)
    chunk = 20000
    class_names = {c.id: c.name for c in b.meta.classes}
    with cmdb.write() as s:
        # The demo was built for the CMDB as it was (its ids, classes, emptiness):
        # another program may have written since, and then the demo is not written.
        if _data_generation(s) != generation:
            existing = int(s.scalar(select(func.count()).select_from(ConfigurationItem)) or 0)
            raise ValidationError(
                "Another program wrote to this CMDB while the demo was being generated (it "
                f"now holds {existing} CIs); nothing was written. Create the demo in a new "
                "file (cmdb --db NEW.sqlite demo).",
                {"size": "CMDB changed"},
            )
        counts = {"cis": len(b.cis), "relationships": len(b.rels)}
        batch = ImportBatch(
            kind=BatchKind.DEMO,
            file=None,
            sheets=None,
            mapping={"seed": seed},
            user=cmdb.user,
            created_at=b.now,
            counts=counts,
            status=BatchStatus.APPLIED,
        )
        s.add(batch)
        s.flush()
        batch_id = batch.id
        conn = s.connection()
        history = HistoryWriter(
            s, cmdb.user, Source(ChangeSource.DEMO, batch_id=batch_id), at=b.now
        )
        progress.start("Writing CIs", total)
        for i in range(0, len(b.cis), chunk):
            part = b.cis[i : i + chunk]
            conn.execute(insert(ci_table), part)
            for r in part:
                history.ci_created(r["id"], class_names[r["class_id"]], r["name"], None)
            history.flush()
            progress.step(i + len(part), total)
        for i in range(0, len(b.rels), chunk):
            rel_part = b.rels[i : i + chunk]
            conn.execute(
                insert(relationship_table),
                [
                    {
                        "source_id": src,
                        "type_id": t,
                        "target_id": dst,
                        "created_at": b.now,
                        "batch_id": batch_id,
                    }
                    for src, t, dst in rel_part
                ],
            )
            progress.step(len(b.cis) + i + len(rel_part), total)
        history.relationships_of_batch()
        sync_id_sequence(s, "ci")
        cmdb.bump(s, graph=True)
        by_class: dict[str, int] = {}
        for r in b.cis:
            name = class_names[r["class_id"]]
            by_class[name] = by_class.get(name, 0) + 1
    result = DemoResult(len(b.cis), len(b.rels), batch_id, by_class)
    if on_written is not None:
        on_written(batch_id)
    return result
