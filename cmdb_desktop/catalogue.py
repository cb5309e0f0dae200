"""The default catalogue seeded into a new CMDB (PRODUCT.md §3).

Classes, built-in attributes, lifecycle statuses, environments and the eight
relationship types with the direction impact flows. Users extend all of these
in the class manager; this module only describes the starting point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cmdb_desktop.vocabulary import AttrType, ImpactFlow

ROOT_CLASS = "Configuration Item"
HARDWARE_CLASS = "Hardware"

#: The status of a new CI when none is given (PRODUCT.md §3); only name is required.
DEFAULT_STATUS = "In Use"
STATUSES = ["Planned", "Ordered", "In Stock", "In Use", "In Maintenance", "Retired", "Disposed"]
#: Statuses whose CIs take no part in impact propagation.
INACTIVE_STATUSES = frozenset({"Retired", "Disposed"})
#: Health checks' defaults: a CI neither verified nor updated for this many days is
#: stale; warranties ending within this many days are listed.
STALE_DAYS = 90
WARRANTY_DAYS = 90
#: Hardware's ``Depreciation Method`` choices (PRODUCT.md §10).
DEPRECIATION_NONE = "None"
STRAIGHT_LINE = "Straight-line"
DECLINING = "Declining"
DEPRECIATION_METHODS = [DEPRECIATION_NONE, STRAIGHT_LINE, DECLINING]
#: The default lifecycle (PRODUCT.md §10): status → statuses it may move to, and
#: status → attribute keys a CI must have to move there (keys a class lacks are
#: not asked for). Editable per class (``ci_class.lifecycle``).
DEFAULT_TRANSITIONS: dict[str, list[str]] = {
    "Planned": ["Ordered", "Retired"],
    "Ordered": ["In Stock", "Retired"],
    "In Stock": ["In Use", "Retired"],
    "In Use": ["In Maintenance", "In Stock", "Retired"],
    "In Maintenance": ["In Use", "Retired"],
    "Retired": ["In Stock", "Disposed"],
    "Disposed": [],
}
DEFAULT_LIFECYCLE: dict[str, Any] = {
    "transitions": DEFAULT_TRANSITIONS,
    "requires": {
        "Retired": ["retirement_reason"],
        "Disposed": ["disposal_date", "disposal_method"],
    },
}
ENVIRONMENTS = ["Production", "Staging", "Test", "Development"]
CRITICALITIES = [1, 2, 3, 4]
#: What each criticality means, shown beside the bare number (1 is the most critical).
CRITICALITY_MEANINGS = {1: "Mission critical", 2: "High", 3: "Medium", 4: "Low"}


def criticality_text(value: int | None) -> str:
    """``1 – Mission critical`` … ``4 – Low``; empty for no criticality."""
    if value is None:
        return ""
    meaning = CRITICALITY_MEANINGS.get(value)
    return f"{value} – {meaning}" if meaning else str(value)


ATTRIBUTE_TYPES = tuple(AttrType)

#: Impact flow values of RelationshipType.impact.
IMPACT_TO_SOURCE = ImpactFlow.TO_SOURCE
IMPACT_TO_TARGET = ImpactFlow.TO_TARGET
IMPACT_NONE = ImpactFlow.NONE
IMPACT_FLOWS = tuple(ImpactFlow)


@dataclass(frozen=True)
class AttributeSpec:
    key: str
    label: str
    type: str
    column: str | None = None
    choices: list[Any] | None = None
    min_value: float | None = None
    max_value: float | None = None
    description: str = ""


@dataclass(frozen=True)
class ClassSpec:
    name: str
    parent: str | None
    abstract: bool = False
    service: bool = False
    icon: str = ""
    description: str = ""
    id_rules: list[list[str]] | None = None
    identity_scope: str | None = None
    required: list[str] = field(default_factory=list)
    defaults: dict[str, Any] = field(default_factory=dict)
    recommended: list[str] = field(default_factory=list)
    expects_relationships: bool = True
    attributes: list[AttributeSpec] = field(default_factory=list)
    #: Lifecycle rules (PRODUCT.md §10), inherited from the nearest class that sets them.
    lifecycle: dict[str, Any] | None = None


@dataclass(frozen=True)
class RelationshipTypeSpec:
    name: str
    reverse_name: str
    impact: str
    description: str


def _col(key: str, label: str, type_: str, **kw: Any) -> AttributeSpec:
    return AttributeSpec(key=key, label=label, type=type_, column=key, **kw)


COMMON_ATTRIBUTES = [
    _col("status", "Status", "choice", choices=STATUSES),
    _col("environment", "Environment", "choice", choices=ENVIRONMENTS),
    _col(
        "criticality",
        "Criticality",
        "integer",
        min_value=1,
        max_value=4,
        description="1 = most critical … 4 = least",
    ),
    _col("owner", "Owner", "text"),
    _col("support_group", "Support Group", "text"),
    _col("description", "Description", "text"),
    _col("tags", "Tags", "text", description="Comma-separated"),
    _col("last_verified", "Last Verified", "date"),
    _col(
        "redundancy_min_up",
        "Redundancy (min up)",
        "integer",
        min_value=0,
        description="Stays up while at least this many impact predecessors are up",
    ),
    _col(
        "redundancy_min_up_pct",
        "Redundancy (min up %)",
        "decimal",
        min_value=0,
        max_value=100,
        description="Stays up while at least this % of impact predecessors are up",
    ),
]

HARDWARE_ATTRIBUTES = [
    _col("asset_tag", "Asset Tag", "text"),
    _col("serial_number", "Serial Number", "text"),
    _col("manufacturer", "Manufacturer", "text"),
    _col("model", "Model", "text"),
    _col("purchase_date", "Purchase Date", "date"),
    _col("cost", "Cost", "decimal", min_value=0),
    _col("warranty_end", "Warranty End", "date"),
    _col("assigned_to", "Assigned To", "text"),
    _col("end_of_life", "End of Life", "date"),
    # Asset management (PRODUCT.md §10): custom attributes, kept in the JSON document.
    AttributeSpec(
        "depreciation_method", "Depreciation Method", "choice", choices=DEPRECIATION_METHODS
    ),
    AttributeSpec("useful_life_months", "Useful Life (months)", "integer", min_value=1),
    AttributeSpec("salvage_value", "Salvage Value", "decimal", min_value=0),
    AttributeSpec("cost_centre", "Cost Centre", "text"),
    AttributeSpec("location", "Location", "text"),
    AttributeSpec("lease_end", "Lease End", "date"),
    AttributeSpec("retirement_reason", "Retirement Reason", "text"),
    AttributeSpec("disposal_date", "Disposal Date", "date"),
    AttributeSpec("disposal_method", "Disposal Method", "text"),
]

LICENCE_CLASS = "Licence"
LICENCE_METRICS = ["Per device", "Per user"]
LICENCE_ATTRIBUTES = [
    _col("licence_key", "Licence Key", "text", description="Serial or product key"),
    AttributeSpec("seats", "Seats", "integer", min_value=0),
    AttributeSpec("licence_metric", "Licence Metric", "choice", choices=LICENCE_METRICS),
    AttributeSpec("expiry_date", "Expiry Date", "date"),
    _col("cost", "Cost", "decimal", min_value=0),
    _col("purchase_date", "Purchase Date", "date"),
]

SOFTWARE_ATTRIBUTES = [
    _col("software_version", "Version", "text"),
    _col("vendor", "Vendor", "text"),
]

#: What the CI table shows before the user chooses columns; ``FAMILY_COLUMNS`` adds,
#: after the owner, the columns a family of classes is known by.
DEFAULT_COLUMNS = (
    "name",
    "class",
    "status",
    "environment",
    "criticality",
    "owner",
    "support_group",
    "updated_at",
)
FAMILY_COLUMNS: dict[str, tuple[str, ...]] = {
    HARDWARE_CLASS: ("serial_number", "asset_tag", "manufacturer", "model"),
    "Application": ("software_version", "vendor"),
    "Software": ("software_version", "vendor"),
}

#: Fields that belong to every CI but are not attribute definitions.
SYSTEM_FIELDS = ("id", "class", "name", "created_at", "updated_at", "version")

_SERVICE_RECOMMENDED = ["owner", "support_group", "criticality", "environment"]
_HW_RECOMMENDED = ["owner", "serial_number", "asset_tag", "manufacturer", "model", "warranty_end"]

DEFAULT_CLASSES: list[ClassSpec] = [
    ClassSpec(
        ROOT_CLASS,
        None,
        abstract=True,
        icon="ci",
        description="Root of the class tree; every CI has these attributes.",
        id_rules=[["name"]],
        identity_scope="class",
        defaults={"status": DEFAULT_STATUS},
        recommended=["owner"],
        attributes=COMMON_ATTRIBUTES,
        lifecycle=DEFAULT_LIFECYCLE,
    ),
    ClassSpec(
        "Business Service",
        ROOT_CLASS,
        service=True,
        icon="business_service",
        description="A service the business consumes, e.g. Online Banking.",
        recommended=_SERVICE_RECOMMENDED,
    ),
    ClassSpec(
        "Application Service",
        ROOT_CLASS,
        service=True,
        icon="application_service",
        description="A technical service made of applications and data.",
        recommended=_SERVICE_RECOMMENDED,
    ),
    ClassSpec(
        "Application",
        ROOT_CLASS,
        icon="application",
        recommended=["owner", "support_group", "software_version"],
        attributes=SOFTWARE_ATTRIBUTES,
    ),
    ClassSpec(
        "Software",
        ROOT_CLASS,
        icon="software",
        recommended=["vendor", "software_version"],
        attributes=SOFTWARE_ATTRIBUTES,
    ),
    ClassSpec("Database", ROOT_CLASS, icon="database", recommended=["owner", "support_group"]),
    ClassSpec(
        "Cluster",
        ROOT_CLASS,
        icon="cluster",
        description="A group of redundant members; carries a redundancy rule.",
        recommended=["owner", "redundancy_min_up"],
    ),
    ClassSpec(
        "Virtual Machine", ROOT_CLASS, icon="virtual_machine", recommended=["owner", "environment"]
    ),
    ClassSpec("Site", ROOT_CLASS, icon="site", expects_relationships=False),
    ClassSpec("Rack", ROOT_CLASS, icon="rack"),
    ClassSpec(
        HARDWARE_CLASS,
        ROOT_CLASS,
        abstract=True,
        icon="hardware",
        description="Physical assets; serial number, asset tag, then name identify them.",
        id_rules=[["serial_number"], ["asset_tag"], ["name"]],
        identity_scope="subtree",
        recommended=_HW_RECOMMENDED,
        attributes=HARDWARE_ATTRIBUTES,
    ),
    ClassSpec("Server", HARDWARE_CLASS, icon="server"),
    ClassSpec("Network Device", HARDWARE_CLASS, icon="network_device"),
    ClassSpec("Storage Device", HARDWARE_CLASS, icon="storage_device"),
    ClassSpec(
        "Workstation",
        HARDWARE_CLASS,
        icon="workstation",
        recommended=[*_HW_RECOMMENDED, "assigned_to"],
        expects_relationships=False,
    ),
    ClassSpec("Power Device", HARDWARE_CLASS, icon="power_device"),
    ClassSpec(
        LICENCE_CLASS,
        ROOT_CLASS,
        icon="software",
        description="A software licence: seats, metric, expiry; Covers a Software CI.",
        id_rules=[["licence_key"], ["name"]],
        identity_scope="class",
        recommended=["seats", "licence_metric", "expiry_date"],
        attributes=LICENCE_ATTRIBUTES,
    ),
]

RELATIONSHIP_TYPES: list[RelationshipTypeSpec] = [
    RelationshipTypeSpec(
        "Depends on", "Used by", IMPACT_TO_SOURCE, "Source needs target (service → database)."
    ),
    RelationshipTypeSpec(
        "Runs on", "Runs", IMPACT_TO_SOURCE, "Software runs on a platform (application → VM)."
    ),
    RelationshipTypeSpec(
        "Hosted on", "Hosts", IMPACT_TO_SOURCE, "Virtual host on physical host (VM → server)."
    ),
    RelationshipTypeSpec(
        "Connected to", "Connected from", IMPACT_TO_SOURCE, "Network uplink (server → switch)."
    ),
    RelationshipTypeSpec("Powered by", "Powers", IMPACT_TO_SOURCE, "Power supply (server → PDU)."),
    RelationshipTypeSpec(
        "Located in", "Contains", IMPACT_TO_SOURCE, "Physical location (server → rack → site)."
    ),
    RelationshipTypeSpec(
        "Member of",
        "Has member",
        IMPACT_TO_TARGET,
        "Member of a redundant group (server → cluster).",
    ),
    RelationshipTypeSpec(
        "Backed up by", "Backs up", IMPACT_NONE, "Backup target; carries no impact."
    ),
]
#: Asset management's relationship types (PRODUCT.md §10), neither carrying impact.
COVERS = "Covers"
INSTALLED_ON = "Installed on"
ASSET_RELATIONSHIP_TYPES: list[RelationshipTypeSpec] = [
    RelationshipTypeSpec(
        COVERS, "Covered by", IMPACT_NONE, "A licence covers a software (licence → software)."
    ),
    RelationshipTypeSpec(
        INSTALLED_ON,
        "Has installed",
        IMPACT_NONE,
        "A software is installed on a device (software → workstation, server).",
    ),
]
RELATIONSHIP_TYPES.extend(ASSET_RELATIONSHIP_TYPES)
