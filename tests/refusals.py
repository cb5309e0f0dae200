"""The ``cmdb`` command run as a user runs it — its own process, its own stdout
and stderr — in a hostile situation the test made, and the checks every refusal
must pass: exit 2, a message saying what is wrong, no Python traceback, and the
database untouched to the last byte (a plain helper module, not a test module).

Two situations need the process itself to be limited, and both are real:

- a full disk: ``RLIMIT_FSIZE`` makes every write past the limit fail with
  ``EFBIG`` ("File too large") — exactly where a full disk fails with
  ``ENOSPC`` — for the database, its journal and any file being exported
  (``SIGXFSZ`` is ignored, as Python does anyway, so the write fails instead of
  killing the process);
- permissions when the tests run as root: root ignores file permissions through
  the ``CAP_DAC_OVERRIDE`` capability, so a read-only file would be no
  obstacle. The child drops that capability (and its siblings) from its
  bounding set before it starts Python: it runs as root, but file permissions
  apply to it as to any user. Run as a normal user, nothing needs dropping.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

_PR_CAPBSET_DROP = 24
#: CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER: what lets root ignore permissions.
_PERMISSION_CAPABILITIES = (1, 2, 3)


@dataclass(frozen=True)
class Done:
    code: int
    out: str
    err: str

    @property
    def printed(self) -> str:
        return self.out + self.err


def run_cmdb(
    db: Path | str,
    *args: str,
    file_size_limit: int | None = None,
    as_user: bool = False,
    timeout: float = 600,
) -> Done:
    """``cmdb --db DB ARGS`` in a child process. ``file_size_limit``: no file may grow
    past this many bytes (a full disk); ``as_user``: file permissions apply even
    when the tests run as root."""
    done = subprocess.run(
        [sys.executable, "-m", "cmdb_desktop", "--db", str(db), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=_limits(file_size_limit, as_user),
    )
    return Done(done.returncode, done.stdout, done.stderr)


def _limits(file_size_limit: int | None, as_user: bool) -> Callable[[], None] | None:
    if file_size_limit is None and not (as_user and os.geteuid() == 0):
        return None

    def limit() -> None:  # in the child, before it runs Python
        if file_size_limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))
        if as_user and os.geteuid() == 0:
            _drop_permission_override()

    return limit


def _drop_permission_override() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in _PERMISSION_CAPABILITIES:
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot drop a capability")


def permissions_apply(folder: Path) -> bool:
    """Whether a child started with ``as_user=True`` is refused a read-only file
    (False where root cannot give up its override, e.g. without CAP_SETPCAP)."""
    probe = folder / "permission-probe"
    probe.write_text("x")
    probe.chmod(0o444)
    try:
        done = subprocess.run(
            [sys.executable, "-c", f"open({str(probe)!r}, 'a')"],
            capture_output=True,
            check=False,
            preexec_fn=_limits(None, as_user=True),
        )
    except subprocess.SubprocessError:
        return False
    finally:
        probe.chmod(0o644)
        probe.unlink()
    return done.returncode != 0 and b"PermissionError" in done.stderr


def fingerprint(path: Path) -> str:
    """The file's bytes, as a hash (the database "untouched to the last byte")."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def beside(path: Path) -> list[str]:
    """The files in ``path``'s folder whose names begin with its name (journals, copies)."""
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name))


def assert_clean(done: Done) -> None:
    """No Python traceback, nor any "Exception ignored" from a destructor, reached the user."""
    assert "Traceback" not in done.printed, done.printed[-3000:]
    assert "Exception ignored" not in done.printed, done.printed[-3000:]


def assert_refused(done: Done, *patterns: str) -> None:
    """Exit 2, each pattern in the message on stderr, nothing a user should not see."""
    assert done.code == 2, f"exit {done.code}: {done.printed[-3000:]}"
    assert_clean(done)
    for pattern in patterns:
        assert re.search(pattern, done.err), f"{pattern!r} not in {done.err!r}"
