"""Saved connections to a team server (PRODUCT.md §12).

A connection profile names a PostgreSQL database (host, port, database, user,
TLS options); it is saved in ``connections.json`` in the user's config folder,
shared by the GUI (File › Connect to server…) and the CLI (``--db
profile:NAME``). The password is never in that file: it lives in the OS
keyring (the ``keyring`` package), or is asked for when there is no keyring.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from cmdb_desktop.errors import ValidationError
from cmdb_desktop.vocabulary import PROFILE_PREFIX

#: The keyring "service" under which passwords are stored.
KEYRING_SERVICE = "cmdb-desktop"
#: libpq's TLS modes, weakest first.
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


@dataclass(frozen=True)
class Profile:
    name: str
    host: str
    database: str
    user: str
    port: int = 5432
    sslmode: str = "prefer"
    sslrootcert: str = ""  # a CA certificate file, for verify-ca / verify-full

    def __post_init__(self) -> None:
        problems = {}
        for key in ("name", "host", "database", "user"):
            if not str(getattr(self, key)).strip():
                problems[key] = "is required"
        if not 0 < int(self.port) < 65536:
            problems["port"] = "must be 1 to 65535"
        if self.sslmode not in SSL_MODES:
            problems["sslmode"] = f"must be one of {', '.join(SSL_MODES)}"
        if self.sslmode.startswith("verify") and not self.sslrootcert:
            problems["sslrootcert"] = f"sslmode {self.sslmode} needs the server's CA certificate"
        if problems:
            raise ValidationError.from_problems(problems, f"Connection {self.name!r}")

    @property
    def keyring_user(self) -> str:
        """Whose password, in the keyring: one entry per login and server."""
        return f"{self.user}@{self.host}:{self.port}/{self.database}"

    def url(self, password: str | None = None) -> str:
        """The SQLAlchemy URL (with ``password`` if given: never show it; show
        :func:`cmdb_desktop.db.display_url` of it)."""
        query: dict[str, str] = {"sslmode": self.sslmode}
        if self.sslrootcert:
            query["sslrootcert"] = self.sslrootcert
        return URL.create(
            "postgresql+psycopg",
            username=self.user,
            password=password or None,
            host=self.host,
            port=int(self.port),
            database=self.database,
            query=query,
        ).render_as_string(hide_password=False)


def profiles_path() -> Path:
    """``connections.json`` in the user's config folder (``$CMDB_CONNECTIONS`` overrides)."""
    env = os.environ.get("CMDB_CONNECTIONS")
    if env:
        return Path(env)
    from platformdirs import user_config_dir

    return Path(user_config_dir("cmdb-desktop", appauthor=False)) / "connections.json"


def load(path: Path | None = None) -> dict[str, Profile]:
    """The saved profiles by name (none if the file is missing or unreadable)."""
    path = path or profiles_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    known = {f.name for f in fields(Profile)}
    found: dict[str, Profile] = {}
    for item in raw.get("profiles", []) if isinstance(raw, dict) else []:
        try:
            profile = Profile(**{k: v for k, v in item.items() if k in known})
        except (TypeError, ValidationError):
            continue
        found[profile.name] = profile
    return found


def save(profile: Profile, path: Path | None = None) -> None:
    """Add or replace ``profile`` (never with a password: there is no field for it)."""
    path = path or profiles_path()
    profiles = load(path)
    profiles[profile.name] = profile
    _write(profiles, path)


def remove(name: str, path: Path | None = None) -> None:
    path = path or profiles_path()
    forget_password_of(name, path)
    profiles = load(path)
    if profiles.pop(name, None) is not None:
        _write(profiles, path)


def _write(profiles: dict[str, Profile], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {"profiles": [asdict(p) for p in profiles.values()]}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    tmp.replace(path)


# -- the keyring ---------------------------------------------------------------------


def keyring_available() -> bool:
    """Whether the OS offers a keyring (else the password is asked for each time)."""
    try:
        import keyring
        from keyring.backends.fail import Keyring as NoKeyring
    except ImportError:
        return False
    try:
        return not isinstance(keyring.get_keyring(), NoKeyring)
    except Exception:
        return False


def stored_password(profile: Profile) -> str | None:
    """The password saved for ``profile`` in the keyring, or None."""
    if not keyring_available():
        return None
    import keyring

    try:
        return keyring.get_password(KEYRING_SERVICE, profile.keyring_user)
    except Exception:  # a locked or broken keyring: ask instead
        return None


def store_password(profile: Profile, password: str) -> bool:
    """Save the password in the keyring; False when there is none (ask each time)."""
    if not keyring_available():
        return False
    import keyring

    try:
        keyring.set_password(KEYRING_SERVICE, profile.keyring_user, password)
    except Exception:
        return False
    return True


def forget_password_of(name: str, path: Path | None = None) -> None:
    profile = load(path).get(name)
    if profile is None or not keyring_available():
        return
    import keyring

    try:
        keyring.delete_password(KEYRING_SERVICE, profile.keyring_user)
    except Exception:
        pass


def resolve(target: str, ask: Any = None, path: Path | None = None) -> str:
    """``profile:NAME`` becomes its URL with the password from the keyring, or from
    ``ask(prompt)`` when the keyring has none; anything else is returned as is."""
    if not target.startswith(PROFILE_PREFIX):
        return target
    name = target[len(PROFILE_PREFIX) :]
    profiles = load(path)
    profile = profiles.get(name)
    if profile is None:
        known = ", ".join(sorted(profiles)) or "none saved yet"
        raise ValidationError(
            f"There is no saved connection {name!r} (saved: {known}). Save one in the GUI "
            "(File › Connect to server…)."
        )
    password = stored_password(profile)
    if password is None and ask is not None:
        password = ask(f"Password for {profile.keyring_user}: ")
    return profile.url(password)
