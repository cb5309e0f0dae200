"""``python -m cmdb_desktop`` runs the command line."""

from cmdb_desktop.cli import run

run()
