"""Error hierarchy.

:class:`CmdbError` and its subclasses are *user-facing*: their message says what
the user must fix, and front ends show it without a traceback. Anything else
that escapes is a bug and is logged with its traceback.

Each error carries the command-line exit code of PRODUCT.md §6
(2 = bad input or reference, 3 = conflict).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class CmdbError(Exception):
    """A problem the user can fix; ``str(err)`` says how."""

    exit_code = 2

    def to_json(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "message": str(self)}


class ValidationError(CmdbError):
    """Input that breaks a rule of the data model.

    ``problems`` maps a field key (or ``""`` for the whole record) to what is
    wrong with it, so a form can show each message next to its field.
    """

    def __init__(self, message: str, problems: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.problems: dict[str, str] = dict(problems or {})

    @classmethod
    def from_problems(cls, problems: dict[str, str], what: str = "") -> ValidationError:
        lines = [f"{key}: {msg}" if key else msg for key, msg in problems.items()]
        prefix = f"{what}: " if what else ""
        return cls(prefix + "; ".join(lines), problems)

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        data["problems"] = self.problems
        return data


class UnknownClassError(ValidationError):
    """A class name that the catalogue does not hold."""


class UnknownFieldError(ValidationError):
    """A field (attribute) that the CI's class does not have."""


class NotFoundError(CmdbError):
    """A reference (CI, relationship, batch…) that names nothing."""


class AmbiguousReferenceError(CmdbError):
    """A reference that names more than one CI; ``candidates`` lists them."""

    def __init__(self, message: str, candidates: Sequence[dict[str, Any]]) -> None:
        super().__init__(message)
        self.candidates = list(candidates)

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        data["candidates"] = self.candidates
        return data


class DuplicateError(ValidationError):
    """Something that must be unique already exists."""


class ConflictError(CmdbError):
    """Someone else changed the data first (stale version, rollback blocked…)."""

    exit_code = 3

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details: dict[str, Any] = dict(details or {})

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        data["details"] = self.details
        return data


class BusyError(ConflictError):
    """Another program kept the database's write lock longer than we waited.

    Nothing was written; trying again later is safe. Exit 2 as every refusal
    that leaves the database untouched (PRODUCT.md §8): it is not a conflict
    with someone's data, only with their timing.
    """

    exit_code = 2


class StaleVersionError(ConflictError):
    """An optimistic-lock failure: the CI's version moved on since it was read.

    ``current`` holds the CI as it is now, so a GUI can show both values.
    """

    def __init__(
        self,
        message: str,
        *,
        ci_id: int,
        expected: int,
        actual: int,
        current: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, {"ci": ci_id, "expected_version": expected, "version": actual})
        self.ci_id = ci_id
        self.expected = expected
        self.actual = actual
        self.current = current or {}


class BadFileError(CmdbError):
    """A file that cannot be read as what it claims to be."""


class CancelledError(CmdbError):
    """The user cancelled a long operation; nothing was written."""


class SchemaError(CmdbError):
    """The database file is not a CMDB, or is newer than this program."""


class NotACmdbError(SchemaError):
    """A database (or any file) this program did not create: it is never modified."""


class DamagedDatabaseError(SchemaError):
    """A CMDB whose file SQLite cannot read whole (truncated, overwritten): the user
    restores it from a backup; nothing is written to it."""


class StorageError(CmdbError):
    """The database's storage refused: read-only, full, failing. Nothing was written."""


class ReadOnlyError(StorageError):
    """A database (file, folder or file system) we may read but not write."""


class DiskFullError(StorageError):
    """The disk (or the space a process may use) ran out during a write."""


class NotAllowedError(CmdbError):
    """The login's team role (PRODUCT.md §12: viewer, editor, admin) may not do
    this; nothing was changed. The database enforces the roles; this is how
    the program says so."""

    def __init__(self, role: str, what: str = "change this CMDB") -> None:
        super().__init__(
            f"not allowed: your role is {role}; a {role} may not {what}. Nothing was "
            "changed. Ask the CMDB admin for another role (`cmdb server grant`)."
        )
        self.role = role


class DatabaseConnectionError(CmdbError):
    """The database cannot be reached or refuses us: server down or unreachable,
    wrong password, missing database, driver not installed. The message names
    the database with its password hidden."""
