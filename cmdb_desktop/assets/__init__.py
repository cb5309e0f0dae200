"""Asset management (PRODUCT.md §10): lifecycle rules, people and custody,
depreciation, licences and compliance, stock and calendars.

No Qt, no importers. SQL lives in :mod:`cmdb_desktop.assets.storage` only.
"""
