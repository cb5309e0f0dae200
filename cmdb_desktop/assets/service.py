"""The asset service: people and custody, book values, licence compliance, stock
and calendars (PRODUCT.md §10). Reached as ``cmdb.assets``.

Every write is one transaction; a CI it changes (``Assigned To``, ``Status``,
``Location``) goes through the item service, so the lifecycle rules, the
history and the optimistic version apply as for any edit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cmdb_desktop.assets import storage
from cmdb_desktop.assets.depreciation import AssetValue, book_value, totals
from cmdb_desktop.catalogue import (
    COVERS,
    HARDWARE_CLASS,
    INACTIVE_STATUSES,
    INSTALLED_ON,
    LICENCE_CLASS,
)
from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.errors import DuplicateError, NotFoundError, ValidationError
from cmdb_desktop.history import HistoryWriter, Source
from cmdb_desktop.identity import fold_key
from cmdb_desktop.models import utcnow
from cmdb_desktop.schema import check_name, document

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb

IN_USE = "In Use"
IN_STOCK = "In Stock"
PER_USER = "Per user"
PER_DEVICE = "Per device"
OVER_DEPLOYED = "over-deployed"
COMPLIANT = "compliant"


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def parse_date(text: str | date | None, what: str) -> date | None:
    """A date the user typed (ISO ``YYYY-MM-DD``); ValidationError names ``what``."""
    if text is None or isinstance(text, date):
        return text
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"{what}: {text!r} is not a date; write it as YYYY-MM-DD", {what: "not a date"}
        ) from None


@dataclass(frozen=True)
class Asset:
    """An asset CI as asset management reads it."""

    id: int
    name: str
    class_name: str
    status: str | None
    model: str | None
    manufacturer: str | None
    asset_tag: str | None
    serial_number: str | None
    cost: Any
    purchase_date: date | None
    warranty_end: date | None
    end_of_life: date | None
    assigned_to: str | None
    custom: Mapping[str, Any]

    def get(self, key: str) -> Any:
        return self.custom.get(key)

    @property
    def location(self) -> str | None:
        value = self.custom.get("location")
        return str(value) if value not in (None, "") else None

    def ref(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "class": self.class_name}

    def value_at(self, at: date) -> Decimal | None:
        life = self.custom.get("useful_life_months")
        return book_value(
            self.custom.get("depreciation_method"),
            self.cost,
            self.purchase_date,
            int(life) if life is not None else None,
            self.custom.get("salvage_value"),
            at,
        )


@dataclass
class Compliance:
    """Licence compliance of one software (PRODUCT.md §10)."""

    software: dict[str, Any]
    metric: str
    entitled: int
    consumed: int
    licences: list[dict[str, Any]] = field(default_factory=list)
    devices: list[dict[str, Any]] = field(default_factory=list)
    people: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return OVER_DEPLOYED if self.consumed > self.entitled else COMPLIANT

    @property
    def shortfall(self) -> int:
        return max(self.consumed - self.entitled, 0)

    @property
    def spare(self) -> int:
        return max(self.entitled - self.consumed, 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "ci": self.software,
            "metric": self.metric,
            "entitled": self.entitled,
            "consumed": self.consumed,
            "status": self.status,
            "shortfall": self.shortfall,
            "spare": self.spare,
        }


@dataclass(frozen=True)
class StockLine:
    model: str
    location: str
    in_stock: int
    threshold: int | None

    @property
    def alert(self) -> bool:
        return self.threshold is not None and self.in_stock < self.threshold


@dataclass(frozen=True)
class CalendarEntry:
    kind: str  # warranty, lease, end of life, licence expiry
    on: date
    ci: dict[str, Any]


def person_json(p: Any) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "email": p.email,
        "department": p.department,
        "employee_id": p.employee_id,
        "active": bool(p.active),
    }


def custody_json(c: Any, asset: str, person: str) -> dict[str, Any]:
    return {
        "id": c.id,
        "ci": {"id": c.ci_id, "name": asset},
        "person": {"id": c.person_id, "name": person},
        "location": c.location,
        "checked_out": c.checked_out.isoformat(),
        "due": c.due.isoformat() if c.due else None,
        "checked_in": c.checked_in.isoformat() if c.checked_in else None,
    }


class AssetService:
    def __init__(self, cmdb: Cmdb) -> None:
        self._cmdb = cmdb

    # -- reading assets ------------------------------------------------------
    def _class_ids(self, root: str) -> frozenset[int]:
        info = self._cmdb.meta.find_class(root)
        return self._cmdb.meta.subtree_ids(info) if info is not None else frozenset()

    def assets(self, root: str = HARDWARE_CLASS) -> Iterator[Asset]:
        """Every CI of the ``root`` class's subtree (Hardware by default)."""
        with self._cmdb.read() as s:
            yield from self._decode(storage.asset_rows(s, self._class_ids(root)))

    def _decode(self, rows: Iterable[Sequence[Any]]) -> Iterator[Asset]:
        names = {c.id: c.name for c in self._cmdb.meta.classes}
        for r in rows:
            yield Asset(
                id=r[0],
                name=r[2],
                class_name=names.get(r[1], "?"),
                status=r[3],
                model=r[4],
                manufacturer=r[5],
                asset_tag=r[6],
                serial_number=r[7],
                cost=r[8],
                purchase_date=_date(r[9]),
                warranty_end=_date(r[10]),
                end_of_life=_date(r[11]),
                assigned_to=r[12],
                custom=document(r[13]),
            )

    def value(self, ci: int | str, at: date | None = None) -> dict[str, Any]:
        """``{"ci", "method", "at", "book_value"}`` of one asset (PRODUCT.md §10)."""
        at = at or date.today()
        rec = self._cmdb.items.get(ci)
        v = rec.values
        life = v.get("useful_life_months")
        value = book_value(
            v.get("depreciation_method"),
            v.get("cost"),
            v.get("purchase_date"),
            int(life) if life is not None else None,
            v.get("salvage_value"),
            at,
        )
        return {
            "ci": {"id": rec.id, "name": rec.name, "class": rec.class_name},
            "method": v.get("depreciation_method") or "None",
            "at": at.isoformat(),
            "cost": v.get("cost"),
            "book_value": float(value) if value is not None else None,
        }

    def values(self, at: date | None = None) -> list[AssetValue]:
        """Every Hardware asset's book value at ``at`` (today by default)."""
        at = at or date.today()
        out = []
        for a in self.assets():
            out.append(
                AssetValue(
                    ci_id=a.id,
                    name=a.name,
                    class_name=a.class_name,
                    method=a.get("depreciation_method") or "None",
                    cost=Decimal(str(a.cost)) if a.cost is not None else None,
                    book_value=a.value_at(at),
                    location=a.location,
                    cost_centre=a.get("cost_centre"),
                    purchase_date=a.purchase_date,
                )
            )
        return out

    def totals(self, by: str, at: date | None = None) -> dict[str, dict[str, Decimal | int]]:
        return totals(self.values(at), by)

    # -- people --------------------------------------------------------------
    def add_person(
        self,
        name: str,
        *,
        email: str | None = None,
        department: str | None = None,
        employee_id: str | None = None,
        active: bool = True,
    ) -> dict[str, Any]:
        try:
            clean = check_name(name)
        except ValueError as exc:
            raise ValidationError(f"Cannot add person: name {exc}", {"name": str(exc)}) from None
        emp = (employee_id or "").strip() or None
        fields = {
            "name": clean,
            "email": (email or "").strip() or None,
            "department": (department or "").strip() or None,
            "employee_id": emp,
            "active": active,
            "created_at": utcnow(),
        }
        with self._cmdb.write() as s:
            if emp and storage.employee_id_taken(s, emp):
                raise DuplicateError(
                    f"Cannot add person: employee id {emp!r} belongs to someone else.",
                    {"employee_id": "taken"},
                )
            pid = storage.add_person(s, **fields)
            person = storage.person_by_id(s, pid)
            assert person is not None
            return person_json(person)

    def add_people(
        self, people: Sequence[Mapping[str, Any]], *, dry_run: bool = False
    ) -> tuple[list[str], list[str]]:
        """Add many people in one transaction (an import of a tool's users).

        A person whose employee id or email someone already has (or an earlier
        row of the same list) is skipped, not duplicated, and so is one known
        only by a name someone already has; a row without a name is skipped.
        Returns (names added, names or rows skipped).
        """
        added: list[str] = []
        skipped: list[str] = []
        with self._cmdb.write() as s:
            known_ids = {p.employee_id for p in storage.people(s) if p.employee_id}
            everyone = storage.people(s)
            known_mail = {fold_key(p.email) for p in everyone if p.email}
            known_names = {fold_key(p.name) for p in everyone}
            for n, raw in enumerate(people, start=1):
                try:
                    name = check_name(raw.get("name"))
                except ValueError:
                    skipped.append(f"row {n}: no name")
                    continue
                emp = (raw.get("employee_id") or "").strip() or None
                mail = (raw.get("email") or "").strip() or None
                if (emp and emp in known_ids) or (mail and fold_key(mail) in known_mail):
                    skipped.append(name)
                    continue
                if not emp and not mail and fold_key(name) in known_names:
                    skipped.append(name)  # nothing but a name, and that name is known
                    continue
                known_names.add(fold_key(name))
                if emp:
                    known_ids.add(emp)
                if mail:
                    known_mail.add(fold_key(mail))
                if not dry_run:
                    storage.add_person(
                        s,
                        name=name,
                        email=mail,
                        department=(raw.get("department") or "").strip() or None,
                        employee_id=emp,
                        active=bool(raw.get("active", True)),
                        created_at=utcnow(),
                    )
                added.append(name)
        return added, skipped

    def people(self, *, active_only: bool = False) -> list[dict[str, Any]]:
        with self._cmdb.read() as s:
            return [person_json(p) for p in storage.people(s, active_only=active_only)]

    def _person(self, s: Any, ref: int | str) -> Any:
        text = str(ref).strip()
        if text.startswith("#") and text[1:].isdigit():
            found = storage.person_by_id(s, int(text[1:]))
            if found is None:
                raise NotFoundError(f"No person with id {text}.")
            return found
        matches = storage.people_named(s, text.casefold())
        if not matches:
            raise NotFoundError(
                f"No person {text!r}: add them with `cmdb person add`, or give #ID, email "
                "or employee id."
            )
        if len(matches) > 1:
            listed = ", ".join(f"#{p.id} {p.name}" for p in matches)
            raise ValidationError(
                f"{text!r} names {len(matches)} people: {listed}. Use #ID to choose one.",
                {"person": "ambiguous"},
            )
        return matches[0]

    def person(self, ref: int | str) -> dict[str, Any]:
        """A person with their custody history (newest first)."""
        with self._cmdb.read() as s:
            p = self._person(s, ref)
            out = person_json(p)
            out["custody"] = [custody_json(*row) for row in storage.custody_rows(s, person_id=p.id)]
            return out

    # -- custody -------------------------------------------------------------
    def _write_ci(
        self, s: Any, ci: int, fields: Mapping[str, Any], source: Source | None
    ) -> ChangeSummary:
        summary = ChangeSummary()
        history = HistoryWriter(s, self._cmdb.user, source or Source())
        self._cmdb.items._update_one(s, ci, fields, None, history, summary)  # noqa: SLF001
        history.flush()
        self._cmdb.bump(s, graph=summary.graph_changed)
        return summary

    def checkout(
        self,
        ci: int | str,
        person: int | str,
        *,
        due: date | None = None,
        on: date | None = None,
        location: str | None = None,
        source: Source | None = None,
    ) -> dict[str, Any]:
        """Check an asset out to a person: it is In Use, assigned to them (and at
        ``location``); refused while it is checked out to someone."""
        on = on or date.today()
        if due is not None and due < on:
            raise ValidationError(
                f"The due date {due.isoformat()} is before the check-out {on.isoformat()}.",
                {"due": "before check-out"},
            )
        ci_id = ci if isinstance(ci, int) else self._cmdb.items.resolve(ci)
        rec = self._cmdb.items.get(ci_id)
        info = self._cmdb.meta.get_class(rec.class_name)
        if self._cmdb.meta.find_attribute(info, "assigned_to") is None:
            raise ValidationError(
                f"{rec.class_name} {rec.name} cannot be checked out: only assets with an "
                "Assigned To field (Hardware and its subclasses) are checked out to people.",
                {"ci": "not an asset"},
            )
        with self._cmdb.write() as s:
            who = self._person(s, person)
            if not who.active:
                raise ValidationError(
                    f"{who.name} is inactive; assets are checked out to active people.",
                    {"person": "inactive"},
                )
            current = storage.open_custody(s, ci_id)
            if current is not None:
                holder = storage.person_by_id(s, current.person_id)
                raise ValidationError(
                    f"{rec.name} is checked out to {holder.name if holder else '?'} since "
                    f"{current.checked_out.isoformat()}: check it in first.",
                    {"ci": "checked out"},
                )
            fields: dict[str, Any] = {"assigned_to": who.name}
            if rec.values.get("status") != IN_USE:
                fields["status"] = IN_USE
            if location:
                fields["location"] = location
            summary = self._write_ci(s, ci_id, fields, source)
            cid = storage.add_custody(
                s,
                ci_id=ci_id,
                person_id=who.id,
                location=location or rec.values.get("location"),
                checked_out=on,
                due=due,
                checked_in=None,
                user=self._cmdb.user,
            )
            rows = storage.custody_rows(s, ci_id=ci_id)
            result = next(custody_json(*r) for r in rows if r[0].id == cid)
        self._cmdb.notify(summary)
        return result

    def checkin(
        self, ci: int | str, *, on: date | None = None, source: Source | None = None
    ) -> dict[str, Any]:
        """Return an asset: the custody closes, it is In Stock and assigned to nobody."""
        on = on or date.today()
        ci_id = ci if isinstance(ci, int) else self._cmdb.items.resolve(ci)
        rec = self._cmdb.items.get(ci_id)
        with self._cmdb.write() as s:
            current = storage.open_custody(s, ci_id)
            if current is None:
                raise ValidationError(
                    f"{rec.name} is not checked out: there is nothing to check in.",
                    {"ci": "not checked out"},
                )
            if on < current.checked_out:
                raise ValidationError(
                    f"The check-in {on.isoformat()} is before the check-out "
                    f"{current.checked_out.isoformat()}.",
                    {"on": "before check-out"},
                )
            fields: dict[str, Any] = {"assigned_to": None}
            if rec.values.get("status") == IN_USE:
                fields["status"] = IN_STOCK
            summary = self._write_ci(s, ci_id, fields, source)
            storage.close_custody(s, current.id, on)
            rows = storage.custody_rows(s, ci_id=ci_id)
            result = next(custody_json(*r) for r in rows if r[0].id == current.id)
        self._cmdb.notify(summary)
        return result

    def custody(self, ci: int | str) -> list[dict[str, Any]]:
        ci_id = ci if isinstance(ci, int) else self._cmdb.items.resolve(ci)
        with self._cmdb.read() as s:
            return [custody_json(*r) for r in storage.custody_rows(s, ci_id=ci_id)]

    def checked_out(self) -> list[dict[str, Any]]:
        """Every asset out now, due first (no due date last)."""
        with self._cmdb.read() as s:
            rows = [custody_json(*r) for r in storage.custody_rows(s, open_only=True)]
        return sorted(rows, key=lambda c: (c["due"] or "9999-12-31", c["ci"]["name"].casefold()))

    def overdue(self, at: date | None = None) -> list[dict[str, Any]]:
        """Check-outs still open past their due date."""
        at = at or date.today()
        with self._cmdb.read() as s:
            return [custody_json(*r) for r in storage.custody_rows(s, overdue_at=at)]

    def match_assignees(self, *, source: Source | None = None) -> dict[str, Any]:
        """Link ``Assigned To`` free text to people: a text naming exactly one person
        (name, email or employee id, folded) becomes that person's name and an open
        custody; the rest is listed for the user to resolve (nothing guessed)."""
        ids = self._class_ids(HARDWARE_CLASS)
        matched: list[dict[str, Any]] = []
        unmatched: list[dict[str, Any]] = []
        summary = ChangeSummary()
        today = date.today()
        with self._cmdb.write() as s:
            everyone = storage.people(s)
            index: dict[Any, list[Any]] = defaultdict(list)
            for p in everyone:
                for key in {p.name, p.email, p.employee_id} - {None, ""}:
                    index[fold_key(str(key))].append(p)
            history = HistoryWriter(s, self._cmdb.user, source or Source())
            for ci_id, name, text in storage.assigned_texts(s, ids):
                found = {p.id: p for p in index.get(fold_key(text), [])}
                if len(found) != 1:
                    unmatched.append(
                        {
                            "ci": {"id": ci_id, "name": name},
                            "assigned_to": text,
                            "candidates": [person_json(p) for p in found.values()],
                        }
                    )
                    continue
                who = next(iter(found.values()))
                if text != who.name:
                    self._cmdb.items._update_one(  # noqa: SLF001
                        s, ci_id, {"assigned_to": who.name}, None, history, summary
                    )
                if storage.open_custody(s, ci_id) is None:
                    storage.add_custody(
                        s,
                        ci_id=ci_id,
                        person_id=who.id,
                        location=None,
                        checked_out=today,
                        due=None,
                        checked_in=None,
                        user=self._cmdb.user,
                    )
                matched.append({"ci": {"id": ci_id, "name": name}, "person": person_json(who)})
            history.flush()
            self._cmdb.bump(s)
        self._cmdb.notify(summary)
        return {"matched": matched, "unmatched": unmatched}

    # -- licences ------------------------------------------------------------
    def _type_id(self, name: str) -> int | None:
        for t in self._cmdb.meta.relationship_types:
            if t.name == name:
                return t.id
        return None

    def compliance(self, at: date | None = None) -> list[Compliance]:
        """Compliance per software (PRODUCT.md §10), worst shortfall first.

        entitled = seats of its active (not Retired/Disposed), unexpired licences
        (expiry on or after ``at``); consumed = per device: distinct active
        devices it is installed on; per user: distinct people (folded names)
        those devices are assigned to. A software is per user when every licence
        covering it is; otherwise per device.
        """
        at = at or date.today()
        covers, installed = self._type_id(COVERS), self._type_id(INSTALLED_ON)
        with self._cmdb.read() as s:
            cover_edges = storage.edges(s, covers) if covers is not None else []
            install_edges = storage.edges(s, installed) if installed is not None else []
        licences = {a.id: a for a in self.assets(LICENCE_CLASS)}
        needed = {b for _, b in cover_edges} | {a for a, _ in install_edges}
        needed |= {b for _, b in install_edges}
        cis = self._records(needed)
        by_software: dict[int, Compliance] = {}

        def entry(sw: int) -> Compliance:
            got = by_software.get(sw)
            if got is None:
                rec = cis.get(sw)
                ref = rec.ref() if rec else {"id": sw, "name": f"#{sw}", "class": "?"}
                got = by_software[sw] = Compliance(ref, PER_DEVICE, 0, 0)
            return got

        metrics: dict[int, set[str]] = defaultdict(set)
        for lic_id, sw in cover_edges:
            lic = licences.get(lic_id)
            if lic is None:
                continue
            c = entry(sw)
            metric = str(lic.get("licence_metric") or PER_DEVICE)
            metrics[sw].add(metric)
            expiry = _date(lic.get("expiry_date"))
            active = lic.status not in INACTIVE_STATUSES and (expiry is None or expiry >= at)
            seats = int(lic.get("seats") or 0)
            if active:
                c.entitled += seats
            c.licences.append(
                {
                    **lic.ref(),
                    "seats": seats,
                    "metric": metric,
                    "expiry_date": expiry.isoformat() if expiry else None,
                    "counted": active,
                }
            )
        for sw, found in metrics.items():
            by_software[sw].metric = PER_USER if found == {PER_USER} else PER_DEVICE
        devices: dict[int, set[int]] = defaultdict(set)
        for sw, dev in install_edges:
            entry(sw)
            devices[sw].add(dev)
        for sw, devs in devices.items():
            c = by_software[sw]
            live = [
                cis[d] for d in sorted(devs) if d in cis and cis[d].status not in INACTIVE_STATUSES
            ]
            c.devices = [{**d.ref(), "assigned_to": d.assigned_to} for d in live]
            people = {fold_key(d.assigned_to): d.assigned_to for d in live if d.assigned_to}
            c.people = sorted((str(p) for p in people.values()), key=str.casefold)
            c.consumed = len(people) if c.metric == PER_USER else len(live)
        return sorted(
            by_software.values(), key=lambda c: (-c.shortfall, c.software["name"].casefold())
        )

    def _records(self, ids: Iterable[int]) -> dict[int, Asset]:
        wanted = set(ids)
        if not wanted:
            return {}
        with self._cmdb.read() as s:
            return {a.id: a for a in self._decode(storage.rows_by_id(s, wanted))}

    # -- stock and calendars ---------------------------------------------------
    def stock(self) -> list[StockLine]:
        """In Stock assets by model and location, with reorder thresholds per model.

        A model with a threshold and nothing in stock is listed too (its alert is
        what a manager most needs to see)."""
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for a in self.assets():
            if a.status == IN_STOCK:
                counts[(a.model or "(no model)", a.location or "(no location)")] += 1
        with self._cmdb.read() as s:
            limits = storage.thresholds(s)
        per_model: dict[str, int] = defaultdict(int)
        for (model, _loc), n in counts.items():
            per_model[model] += n
        lines = [StockLine(model, loc, n, limits.get(model)) for (model, loc), n in counts.items()]
        lines += [StockLine(m, "(any)", 0, t) for m, t in limits.items() if m not in per_model]
        return sorted(lines, key=lambda x: (x.model.casefold(), x.location.casefold()))

    def stock_alerts(self) -> list[dict[str, Any]]:
        """Models with fewer In Stock (all locations) than their threshold."""
        per_model: dict[str, int] = defaultdict(int)
        limits: dict[str, int] = {}
        for line in self.stock():
            per_model[line.model] += line.in_stock
            if line.threshold is not None:
                limits[line.model] = line.threshold
        return [
            {"model": m, "in_stock": per_model[m], "threshold": t, "short": t - per_model[m]}
            for m, t in sorted(limits.items())
            if per_model[m] < t
        ]

    def set_threshold(self, model: str, minimum: int | None) -> None:
        model = model.strip()
        if not model:
            raise ValidationError("A model name is required.", {"model": "required"})
        if minimum is not None and minimum < 0:
            raise ValidationError("A threshold is 0 or more.", {"minimum": "negative"})
        with self._cmdb.write() as s:
            storage.set_threshold(s, model, minimum)

    def calendar(self, days: int, at: date | None = None) -> list[CalendarEntry]:
        """What ends in the next ``days`` days (from ``at``, today by default):
        warranty, lease, end of life, licence expiry; retired and disposed CIs
        left out."""
        if days < 0:
            raise ValidationError("The number of days is 0 or more.", {"days": "negative"})
        at = at or date.today()
        out: list[CalendarEntry] = []

        def consider(kind: str, when: date | None, a: Asset) -> None:
            if when is not None and 0 <= (when - at).days <= days:
                out.append(CalendarEntry(kind, when, a.ref()))

        for a in self.assets():
            if a.status in INACTIVE_STATUSES:
                continue
            consider("warranty", a.warranty_end, a)
            consider("lease", _date(a.get("lease_end")), a)
            consider("end of life", a.end_of_life, a)
        for a in self.assets(LICENCE_CLASS):
            if a.status in INACTIVE_STATUSES:
                continue
            consider("licence expiry", _date(a.get("expiry_date")), a)
        return sorted(out, key=lambda e: (e.on, e.kind, e.ci["name"].casefold()))


def calendar_json(entries: Sequence[CalendarEntry]) -> list[dict[str, Any]]:
    return [{"kind": e.kind, "on": e.on.isoformat(), "ci": e.ci} for e in entries]
