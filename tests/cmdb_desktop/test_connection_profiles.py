"""Saved connections (PRODUCT.md §12): profiles without passwords in
connections.json, the password in the OS keyring (a test keyring here) or asked
for, TLS options in the URL, ``--db profile:NAME`` on the command line."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from sqlalchemy.engine import make_url

from cmdb_desktop import connections
from cmdb_desktop.cli import main
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.connections import Profile
from cmdb_desktop.errors import ValidationError
from tests.keyrings import MemoryKeyring
from tests.postgres import Team


@pytest.fixture
def ring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    monkeypatch.setenv("CMDB_CONNECTIONS", str(tmp_path / "connections.json"))
    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(before)


def test_a_profile_is_saved_without_its_password(ring: MemoryKeyring, tmp_path: Path) -> None:
    profile = Profile("team", "db.example", "cmdb", "ann", 5433, "verify-full", "/etc/ca.pem")
    connections.save(profile)
    assert connections.store_password(profile, "Pw-in-ring-1")
    text = (tmp_path / "connections.json").read_text()
    assert "Pw-in-ring-1" not in text and "db.example" in text
    assert connections.load() == {"team": profile}
    url = make_url(connections.resolve("profile:team"))
    assert (url.host, url.port, url.database, url.username) == ("db.example", 5433, "cmdb", "ann")
    assert url.password == "Pw-in-ring-1"
    assert url.query == {"sslmode": "verify-full", "sslrootcert": "/etc/ca.pem"}
    connections.remove("team")
    assert connections.load() == {} and ring.entries == {}


def test_without_a_keyring_the_password_is_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CMDB_CONNECTIONS", str(tmp_path / "connections.json"))
    monkeypatch.setattr(connections, "keyring_available", lambda: False)
    profile = Profile("team", "db.example", "cmdb", "ann")
    connections.save(profile)
    assert not connections.store_password(profile, "x")
    asked: list[str] = []
    url = connections.resolve("profile:team", ask=lambda p: asked.append(p) or "typed-Pw")
    assert make_url(url).password == "typed-Pw" and asked == [
        "Password for ann@db.example:5432/cmdb: "
    ]


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"host": ""}, "host: is required"),
        ({"port": 0}, "port: must be 1 to 65535"),
        ({"sslmode": "sometimes"}, "sslmode: must be one of"),
        ({"sslmode": "verify-ca"}, "needs the server's CA certificate"),
    ],
)
def test_a_profile_says_what_to_fix(fields: dict[str, object], problem: str) -> None:
    base: dict[str, object] = {"name": "t", "host": "h", "database": "d", "user": "u"}
    with pytest.raises(ValidationError, match=problem):
        Profile(**{**base, **fields})  # type: ignore[arg-type]


def test_unknown_profile_is_exit_2(ring: MemoryKeyring) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["--db", "profile:nope", "health"], out=out, err=err) == 2
    assert "no saved connection 'nope'" in err.getvalue()


def test_the_cli_opens_a_saved_connection_with_the_keyring_password(
    ring: MemoryKeyring, pg_team: Team
) -> None:
    url = make_url(pg_team.urls["viewer"])
    profile = Profile(
        "team",
        str(url.host),
        str(url.database),
        str(url.username),
        int(url.port or 5432),
        "disable",
    )
    connections.save(profile)
    connections.store_password(profile, pg_team.passwords["viewer"])
    out, err = io.StringIO(), io.StringIO()
    assert main(["--db", "profile:team", "health"], out=out, err=err) == 0, err.getvalue()
    assert pg_team.passwords["viewer"] not in out.getvalue() + err.getvalue()
    with Cmdb.open(connections.resolve("profile:team")) as cmdb:
        assert cmdb.role == "viewer"
