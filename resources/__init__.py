"""Icons (``icons/classes/*.svg`` one per class icon name, ``icons/actions/*.svg``
drawn in ``currentColor`` so the GUI can tint them for the palette), the
stylesheet template ``style.qss`` and the application icon ``icons/app.svg``."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent


def path(*parts: str) -> Path:
    """A file inside the resources folder."""
    return ROOT.joinpath(*parts)
