"""CMDB Desktop GUI (PySide6). Calls :mod:`cmdb_desktop` and :mod:`importers` only."""
