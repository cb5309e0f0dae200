"""Installed as a desktop app (issue 15): the commands a wheel gives, and the
menu entry ``cmdb-desktop --install-desktop-entry`` writes."""

from __future__ import annotations

import configparser
import sys
import tomllib
from pathlib import Path

import pytest

from cmdb_desktop.errors import ValidationError
from ui import app
from ui.desktop_entry import install

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_gives_both_commands_and_ships_the_icon() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["cmdb"] == "cmdb_desktop.cli:run"
    assert project["project"]["gui-scripts"]["cmdb-desktop"] == "ui.app:main"
    assert any(d.startswith("platformdirs") for d in project["project"]["dependencies"])
    assert "resources*" in project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert (ROOT / "resources" / "icons" / "app.svg").is_file()


def _entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_entry_and_icon_are_written_under_the_data_home(tmp_path: Path) -> None:
    entry, icon = install(tmp_path, platform="linux")
    assert entry == tmp_path / "applications" / "cmdb-desktop.desktop"
    assert icon == tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "cmdb-desktop.svg"
    assert icon.read_text(encoding="utf-8").startswith("<svg")
    fields = _entry(entry)
    assert fields["Type"] == "Application" and fields["Name"] == "CMDB Desktop"
    assert fields["Icon"] == str(icon)
    assert fields["Exec"] and "%" not in fields["Exec"]
    assert fields["Terminal"] == "false"
    # writing it again replaces it (an upgrade moves the launcher)
    assert install(tmp_path, platform="linux") == [entry, icon]


def test_the_command_writes_into_xdg_data_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if sys.platform.startswith(("win", "darwin")):
        pytest.skip("desktop entries are a freedesktop.org feature")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert app.main(["--install-desktop-entry"]) == 0
    assert (tmp_path / "applications" / "cmdb-desktop.desktop").is_file()
    assert "application menu" in capsys.readouterr().out


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_other_systems_are_told_how_to_start_it(tmp_path: Path, platform: str) -> None:
    with pytest.raises(ValidationError, match="cmdb-desktop"):
        install(tmp_path, platform=platform)
    assert list(tmp_path.iterdir()) == []
