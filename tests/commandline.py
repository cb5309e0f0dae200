"""The ``cmdb`` command line run in-process, as a script would call it (a plain
helper module, not a test module)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from cmdb_desktop.cli import main


def cli(db: Path, *args: str) -> tuple[int, Any, str]:
    """Run ``cmdb --db DB --format json ARGS``: (exit code, parsed JSON or None, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = main(["--db", str(db), "--format", "json", *args], out=out, err=err)
    text = out.getvalue()
    return code, (json.loads(text) if text.strip() else None), err.getvalue()
