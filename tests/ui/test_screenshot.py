"""``cmdb-desktop --screenshot``: renders offscreen, saves a PNG, exits with the right code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import qInstallMessageHandler
from PySide6.QtGui import QImage

from ui import app


@pytest.fixture(autouse=True)
def keep_message_handler() -> Any:
    """The screenshot mode installs its own Qt message handler; give pytest-qt its own back."""
    previous = qInstallMessageHandler(None)
    qInstallMessageHandler(previous)
    yield
    qInstallMessageHandler(previous)


def test_table_screenshot(qapp: Any, demo_path: Path, tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "shots" / "table.png"
    code = app.main(["--db", str(demo_path), "--screenshot", str(out), "--size", "1200x760"])
    assert code == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1200, 760)
    assert str(out) in capsys.readouterr().out


def test_ci_screenshot_of_a_chosen_ci(qapp: Any, demo_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "ci.png"
    code = app.main(
        [
            "--db",
            str(demo_path),
            "--screenshot",
            str(out),
            "--view",
            "ci",
            "--select",
            "Server/ams1-srv-000001",
        ]
    )
    assert code == 0
    assert not QImage(str(out)).isNull()


def test_bad_input_exits_2(qapp: Any, demo_path: Path, tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "x.png"
    assert (
        app.main(["--db", str(demo_path), "--screenshot", str(out), "--select", "no-such-ci"]) == 2
    )
    assert "No CI matches" in capsys.readouterr().err
    assert app.main(["--db", str(tmp_path / "missing.sqlite"), "--screenshot", str(out)]) == 2
    assert "no CMDB at" in capsys.readouterr().err
    assert app.main(["--screenshot", str(out), "--view", "nonsense"]) == 2
    assert not out.exists()


@pytest.mark.parametrize(
    ("view", "select"),
    [
        ("impact", "Storage Device/ams1-array01"),
        ("graph", None),
        ("import", None),
        ("health", None),
    ],
)
def test_part_two_views_render(
    qapp: Any, demo_path: Path, tmp_path: Path, view: str, select: str | None
) -> None:
    out = tmp_path / f"{view}.png"
    args = ["--db", str(demo_path), "--screenshot", str(out), "--view", view]
    if select:
        args += ["--select", select]
    assert app.main(args + ["--size", "1280x800"]) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 800)


@pytest.mark.parametrize("view", ["changes", "assets", "diff"])
def test_workspace_views_render(qapp: Any, demo_path: Path, tmp_path: Path, view: str) -> None:
    import shutil

    from tests.commandline import cli

    db = tmp_path / "with-changes.sqlite"
    shutil.copyfile(demo_path, db)
    assert cli(db, "baseline", "add", "before the change")[0] == 0
    assert cli(db, "set", "ams1-array01", "owner=Storage Team")[0] == 0
    code, _data, err = cli(
        db, "change", "add", "Array firmware", "--ci", "ams1-array01",
        "--start", "2026-12-08T22:00Z", "--end", "2026-12-08T23:30Z",
    )  # fmt: skip
    assert code == 0, err
    out = tmp_path / f"{view}.png"
    args = ["--db", str(db), "--screenshot", str(out), "--view", view, "--size", "1366x768"]
    assert app.main(args) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1366, 768)
