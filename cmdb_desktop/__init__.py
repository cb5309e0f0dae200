"""CMDB Desktop core: the Qt-free domain (model, storage, services, analysis).

The :class:`~cmdb_desktop.cmdb.Cmdb` facade is the one entry point the GUI, the
command line and the tests share.
"""

__version__ = "0.1.0"
