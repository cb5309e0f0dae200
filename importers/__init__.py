"""Spreadsheet import, export, reconciliation and audit (Qt-free).

Reads with python-calamine (and the csv module), writes with openpyxl, and
talks to the CMDB only through the :class:`cmdb_desktop.cmdb.Cmdb` facade and
its bulk helpers.
"""
