"""Built-in mapping profiles for the exports of known tools (PRODUCT.md §10):
Snipe-IT (assets, users, licences), NetBox (devices, sites), GLPI (computers)
and iTop (CSV export), so that moving from them is one command:
``cmdb import FILE --profile snipe-it`` (and the import wizard's profile list).

A tool exports several kinds of file; a profile holds one *variant* per kind,
and the variant whose columns the file's header matches best is used
(:func:`choose`). A variant is an ordinary :class:`~importers.mapping.ImportMapping`
(columns, value translations, date order, keys, defaults), so the wizard shows
it like any saved profile and the user may still adjust it. Snipe-IT's users
export holds people, not CIs: its variant says so (``people``) and
:func:`import_people` adds them as person records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cmdb_desktop.errors import ValidationError
from cmdb_desktop.metamodel import normalise_label
from importers.mapping import CLASS, NAME, ColumnMap, ImportMapping, SheetMapping
from importers.workbook import KIND_CIS

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb
    from importers.readers import Table

SNIPE_STATUSES = {
    "Ready to Deploy": "In Stock",
    "Deployable": "In Stock",
    "Deployed": "In Use",
    "Pending": "Ordered",
    "Undeployable": "In Maintenance",
    "Pending Diagnostics": "In Maintenance",
    "Out for Repair": "In Maintenance",
    "Lost": "Disposed",
    "Lost/Stolen": "Disposed",
    "Broken - Not Fixable": "Retired",
    "Archived": "Retired",
}
NETBOX_STATUSES = {
    "active": "In Use",
    "planned": "Planned",
    "staged": "Ordered",
    "offline": "In Maintenance",
    "failed": "In Maintenance",
    "inventory": "In Stock",
    "decommissioning": "Retired",
    "retired": "Retired",
}
NETBOX_ROLES = {
    "Router": "Network Device",
    "Core Switch": "Network Device",
    "Distribution Switch": "Network Device",
    "Access Switch": "Network Device",
    "ToR Switch": "Network Device",
    "Leaf Switch": "Network Device",
    "Spine Switch": "Network Device",
    "Firewall": "Network Device",
    "Patch Panel": "Network Device",
    "Console Server": "Network Device",
    "PDU": "Power Device",
    "Server": "Server",
    "Application Server": "Server",
    "Storage": "Storage Device",
}
GLPI_STATUSES = {
    "In use": "In Use",
    "In production": "In Use",
    "In stock": "In Stock",
    "Stock": "In Stock",
    "In repair": "In Maintenance",
    "Under repair": "In Maintenance",
    "Ordered": "Ordered",
    "Retired": "Retired",
    "Scrapped": "Disposed",
    "Disposed": "Disposed",
}
ITOP_STATUSES = {
    "production": "In Use",
    "implementation": "Ordered",
    "stock": "In Stock",
    "obsolete": "Retired",
    "active": "In Use",
    "inactive": "Retired",
}
ITOP_CLASSES = {
    "Server": "Server",
    "PC": "Workstation",
    "Laptop": "Workstation",
    "NetworkDevice": "Network Device",
    "StorageSystem": "Storage Device",
    "NAS": "Storage Device",
    "SANSwitch": "Network Device",
    "PowerSource": "Power Device",
    "PDU": "Power Device",
    "VirtualMachine": "Virtual Machine",
    "Rack": "Rack",
    "Location": "Site",
}


@dataclass(frozen=True)
class Variant:
    """One kind of file a tool exports, and how to read it."""

    name: str
    #: Headers that tell this kind of file apart (folded); the best overlap wins.
    signature: frozenset[str]
    columns: tuple[ColumnMap, ...] = ()
    default_class: str | None = None
    keys: tuple[tuple[str, ...], ...] | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    #: People (person records), not CIs.
    people: bool = False

    def mapping_for(self, sheet: str, headers: Sequence[str]) -> ImportMapping:
        """This variant laid over a file's sheet: every column the variant knows gets
        its meaning, every other column is ignored (a tool's export holds columns
        no class has; guessing them would only make errors)."""
        known = {c.column.casefold(): c for c in self.columns}
        used: set[str] = set()
        columns = []
        for h in headers:
            c = known.get(h.casefold())
            target = c.target if c is not None and c.target not in used else None
            if target is not None:
                used.add(target)
            columns.append(
                ColumnMap(
                    h,
                    target,
                    values=dict(c.values) if c else {},
                    date_order=c.date_order if c else None,
                )
            )
        base = self.mapping()
        base.sheets = [SheetMapping(sheet, KIND_CIS, columns, default_class=self.default_class)]
        return base

    def mapping(self) -> ImportMapping:
        sheet = SheetMapping(
            "*",
            KIND_CIS,
            [
                ColumnMap(c.column, c.target, c.blank, dict(c.values), c.date_order)
                for c in self.columns
            ],
            default_class=self.default_class,
        )
        return ImportMapping(
            [sheet],
            [list(k) for k in self.keys] if self.keys else None,
            dict(self.defaults),
        )


def _c(
    column: str,
    target: str | None,
    values: dict[str, str] | None = None,
    date_order: str | None = None,
) -> ColumnMap:
    return ColumnMap(column, target, values=dict(values or {}), date_order=date_order)


def _sig(*headers: str) -> frozenset[str]:
    return frozenset(normalise_label(h) for h in headers)


_HW_KEYS = (("serial_number",), ("asset_tag",), ("name",))

PROFILES: dict[str, tuple[Variant, ...]] = {
    "snipe-it": (
        Variant(
            "assets",
            _sig(
                "Asset Tag",
                "Model",
                "Checked Out To: Username",
                "Serial",
                "Status",
                "Purchase Cost",
                "Model Number",
                "Asset EOL Date",
                "Warranty",
            ),
            (
                _c("Name", NAME),
                _c("item Name", NAME),
                _c("Asset Name", NAME),
                _c("Asset Tag", "asset_tag"),
                _c("Serial", "serial_number"),
                _c("Serial Number", "serial_number"),
                _c("Manufacturer", "manufacturer"),
                _c("Model", "model"),
                _c("Model name", "model"),
                _c("Location", "location"),
                _c("Purchase Date", "purchase_date", date_order="MDY"),
                _c("Purchase Cost", "cost"),
                _c("Status", "status", SNIPE_STATUSES),
                _c("Checked Out To: Email", "assigned_to"),
                _c("Full Name", "assigned_to"),
                _c("Asset EOL Date", "end_of_life", date_order="MDY"),
                _c("Asset Notes", "description"),
                _c("Notes", "description"),
                _c("Company", None),
                _c("Category", None),
                _c("Supplier", None),
                _c("Order Number", None),
                _c("Model Notes", None),
                _c("Model Number", None),
                _c("Checkout Type", None),
                _c("Checked Out To: Username", None),
                _c("Checked Out To: First Name", None),
                _c("Checked Out To: Last Name", None),
                _c("Checked Out To: Location", None),
                _c("Email", None),
                _c("Username", None),
                _c("Warranty", None),
            ),
            default_class="Workstation",
            keys=(("asset_tag",), ("serial_number",)),
        ),
        Variant(
            "licences",
            _sig(
                "seats",
                "expiration date",
                "Licensed To Name",
                "Licensed to Email",
                "reassignable",
                "maintained",
            ),
            (
                _c("Item name", NAME),
                _c("Software Name", NAME),
                _c("seats", "seats"),
                _c("serial number", "licence_key"),
                _c("purchase cost", "cost"),
                _c("expiration date", "expiry_date", date_order="MDY"),
                _c("purchase date", "purchase_date", date_order="MDY"),
                _c("notes", "description"),
            ),
            default_class="Licence",
            keys=(("licence_key",), ("name",)),
            defaults={"licence_metric": "Per device"},
        ),
        Variant(
            "users",
            _sig(
                "First Name",
                "Last Name",
                "Username",
                "Employee Number",
                "Activated",
                "Job Title",
                "Manager",
            ),
            people=True,
        ),
    ),
    "netbox": (
        Variant(
            "devices",
            _sig(
                "role",
                "device_role",
                "platform",
                "rack",
                "position",
                "face",
                "u_height",
                "airflow",
                "serial",
                "asset_tag",
            ),
            (
                _c("name", NAME),
                _c("role", CLASS, NETBOX_ROLES),
                _c("device_role", CLASS, NETBOX_ROLES),
                _c("manufacturer", "manufacturer"),
                _c("model", "model"),
                _c("device_type", "model"),
                _c("serial", "serial_number"),
                _c("asset_tag", "asset_tag"),
                _c("status", "status", NETBOX_STATUSES),
                _c("site", "location"),
                _c("tenant", "owner"),
                _c("description", "description"),
                _c("netbox_id", None),
            ),
            default_class="Server",
            keys=_HW_KEYS,
        ),
        Variant(
            "sites",
            _sig(
                "slug",
                "region",
                "facility",
                "time_zone",
                "physical_address",
                "latitude",
                "site_group",
            ),
            (
                _c("name", NAME),
                _c("status", "status", NETBOX_STATUSES),
                _c("tenant", "owner"),
                _c("description", "description"),
                _c("physical_address", "description"),
                _c("netbox_id", None),
            ),
            default_class="Site",
        ),
    ),
    "glpi": (
        Variant(
            "computers",
            _sig(
                "Inventory number",
                "Serial number",
                "Manufacturer",
                "Operating system - Name",
                "Alternate username",
                "Last update",
                "Type",
                "Components - Processor",
            ),
            (
                _c("Name", NAME),
                _c("Serial number", "serial_number"),
                _c("Inventory number", "asset_tag"),
                _c("Manufacturer", "manufacturer"),
                _c("Model", "model"),
                _c("Status", "status", GLPI_STATUSES),
                _c("Location", "location"),
                _c("User", "assigned_to"),
                _c("Technician in charge of the hardware", "owner"),
                _c("Group in charge of the hardware", "support_group"),
                _c("Comments", "description"),
                _c("Date of purchase", "purchase_date"),
                _c("Warranty expiration date", "warranty_end"),
                _c("ID", None),
            ),
            default_class="Workstation",
            keys=_HW_KEYS,
        ),
    ),
    "itop": (
        Variant(
            "ci",
            _sig(
                "Organization",
                "Business criticality",
                "Move to production date",
                "Asset number",
                "Brand",
                "Serial number",
                "Status",
                "Class",
            ),
            (
                _c("Name", NAME),
                _c("Class", CLASS, ITOP_CLASSES),
                _c("Typology", CLASS, ITOP_CLASSES),
                _c("Status", "status", ITOP_STATUSES),
                _c("Business criticality", "criticality", {"high": "1", "medium": "2", "low": "3"}),
                _c("Serial number", "serial_number"),
                _c("Asset number", "asset_tag"),
                _c("Brand", "manufacturer"),
                _c("Brand name", "manufacturer"),
                _c("Model", "model"),
                _c("Model name", "model"),
                _c("Location", "location"),
                _c("Location name", "location"),
                _c("Purchase date", "purchase_date"),
                _c("End of warranty", "warranty_end"),
                _c("Organization", "owner"),
                _c("Organization name", "owner"),
                _c("Description", "description"),
                _c("id", None),
            ),
            default_class="Server",
            keys=_HW_KEYS,
        ),
    ),
}
PROFILE_NAMES = tuple(PROFILES)


def variants(profile: str) -> tuple[Variant, ...]:
    found = PROFILES.get(profile.strip().casefold())
    if found is None:
        raise ValidationError(
            f"No built-in profile {profile!r}; the known tools are {', '.join(PROFILE_NAMES)}.",
            {"profile": "unknown"},
        )
    return found


def choose(profile: str, headers: Sequence[str]) -> Variant:
    """The variant of ``profile`` whose signature the file's headers match best."""
    folded = {normalise_label(h) for h in headers if h}
    ranked = sorted(variants(profile), key=lambda v: -len(v.signature & folded))
    best = ranked[0]
    if not best.signature & folded:
        kinds = ", ".join(v.name for v in variants(profile))
        raise ValidationError(
            f"This file does not look like a {profile} export ({kinds}): none of its "
            "headers is one that tool writes. Import it without --profile, or with --mapping.",
            {"profile": "no match"},
        )
    return best


@dataclass
class PeopleResult:
    added: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def import_people(cmdb: Cmdb, table: Table, *, dry_run: bool = False) -> PeopleResult:
    """Snipe-IT users as person records (name, email, department, employee id,
    active); a person whose employee id or email is already known is skipped."""
    cols = {normalise_label(c.header): c.index for c in table.columns}

    def cell(row: Sequence[Any], *names: str) -> str:
        for n in names:
            idx = cols.get(normalise_label(n))
            if idx is not None and row[idx] not in (None, ""):
                return str(row[idx]).strip()
        return ""

    people = []
    for row in table.rows:
        name = " ".join(p for p in (cell(row, "First Name"), cell(row, "Last Name")) if p)
        name = name or cell(row, "Full Name", "Name", "Username")
        active = cell(row, "Activated").casefold() not in ("false", "0", "no")
        people.append(
            {
                "name": name,
                "email": cell(row, "Email") or None,
                "department": cell(row, "Department", "Job Title") or None,
                "employee_id": cell(row, "Employee Number") or None,
                "active": active,
            }
        )
    return PeopleResult(*cmdb.assets.add_people(people, dry_run=dry_run))
