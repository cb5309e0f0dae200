"""Maintenance and blackout windows: one interval or an RFC 5545 recurrence.

A recurring window expands in its time zone, so a window at 22:00 every
Tuesday stays at 22:00 local time across a daylight-saving change (its UTC
time moves by an hour). Every interval is half-open, [start, end), in naive
UTC like everything the CMDB stores.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from dateutil import rrule as _rrule
from dateutil import tz as _tz

from cmdb_desktop.errors import ValidationError

MAINTENANCE = "maintenance"
BLACKOUT = "blackout"
WINDOW_KINDS = (MAINTENANCE, BLACKOUT)

#: Occurrences expanded for one question (a rule every minute over a quarter fits).
MAX_OCCURRENCES = 200_000


def local_zone_name() -> str | None:
    """The IANA name of the user's zone when the environment says it (``TZ``), else None."""
    name = os.environ.get("TZ", "").lstrip(":").strip()
    return name or None


def zone(name: str | None) -> tzinfo:
    """The zone ``name`` (None: the local zone)."""
    found: tzinfo | None = _tz.gettz(name) if name else _tz.gettz()
    if found is None:
        raise ValidationError(f"Unknown time zone {name!r}: use an IANA name such as Europe/Paris.")
    return found


def to_local(value: datetime, zone_name: str | None) -> datetime:
    """A naive UTC time as an aware time in the zone."""
    return value.replace(tzinfo=UTC).astimezone(zone(zone_name))


def to_utc(value: datetime) -> datetime:
    """An aware time as naive UTC."""
    return value.astimezone(UTC).replace(tzinfo=None)


def parse_rule(rule: str, dtstart_local: datetime) -> _rrule.rrule | _rrule.rruleset:
    """The recurrence ``rule`` (``FREQ=…`` or a full ``DTSTART…/RRULE:…`` text).

    A malformed rule is a :class:`ValidationError` naming it.
    """
    text = rule.strip()
    if not text:
        raise ValidationError("The recurrence rule is empty.", {"rrule": "empty"})
    try:
        parsed = _rrule.rrulestr(text, dtstart=dtstart_local, forceset=False, ignoretz=False)
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValidationError(
            f"Malformed recurrence rule {rule!r}: {exc}. Write an RFC 5545 RRULE such as "
            "FREQ=WEEKLY;BYDAY=TU;BYHOUR=22;BYMINUTE=0.",
            {"rrule": str(exc)},
        ) from None
    if isinstance(parsed, _rrule.rrule | _rrule.rruleset):
        return parsed
    raise ValidationError(f"Malformed recurrence rule {rule!r}.", {"rrule": "not a rule"})


@dataclass(frozen=True)
class WindowRule:
    """What a window is in time, independent of storage.

    Either ``start``/``end`` (one interval) or ``rrule`` + ``duration``
    (occurrences starting at each rule time in ``zone_name``; ``start`` is
    then the rule's DTSTART).
    """

    name: str
    kind: str
    start: datetime | None
    end: datetime | None
    rrule: str | None = None
    duration: timedelta | None = None
    zone_name: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in WINDOW_KINDS:
            raise ValidationError(
                f"Unknown window kind {self.kind!r}: use maintenance or blackout.",
                {"kind": "unknown"},
            )
        if self.rrule is None:
            if self.start is None or self.end is None:
                raise ValidationError(
                    "A window needs --start and --end, or --rrule and --duration.",
                    {"window": "no time"},
                )
            if self.end <= self.start:
                raise ValidationError(
                    f"The window {self.name!r} ends before it starts: give an end after the start.",
                    {"end": "before start"},
                )
        else:
            if self.duration is None or self.duration <= timedelta(0):
                raise ValidationError(
                    "A recurring window needs --duration in minutes (more than 0).",
                    {"duration": "missing"},
                )
            self._rule()  # refuse a malformed rule now, not when it is first read

    def _dtstart_local(self) -> datetime:
        start = self.start or datetime(2000, 1, 1)
        return to_local(start, self.zone_name).replace(tzinfo=zone(self.zone_name))

    def _rule(self) -> _rrule.rrule | _rrule.rruleset:
        assert self.rrule is not None
        local = self._dtstart_local()
        # Wall-clock DTSTART in the zone: the rule keeps local times across DST.
        return parse_rule(self.rrule, local)

    def between(self, lo: datetime, hi: datetime) -> list[tuple[datetime, datetime]]:
        """The occurrences that meet [lo, hi) (naive UTC), in order."""
        if self.rrule is None:
            assert self.start is not None and self.end is not None
            return [(self.start, self.end)] if self.start < hi and lo < self.end else []
        assert self.duration is not None
        rule = self._rule()
        zone_ = zone(self.zone_name)
        after = to_local(lo - self.duration, self.zone_name).astimezone(zone_)
        before = to_local(hi, self.zone_name).astimezone(zone_)
        out: list[tuple[datetime, datetime]] = []
        for when in rule.xafter(after, count=MAX_OCCURRENCES, inc=False):
            if when >= before:
                break
            begin = to_utc(when)
            # The duration is wall-clock time: 8 hours from 22:00 end at 06:00 local.
            finish = to_utc((when.replace(tzinfo=None) + self.duration).replace(tzinfo=zone_))
            if begin < hi and lo < finish:
                out.append((begin, finish))
        return out

    def intersects(self, start: datetime, end: datetime) -> bool:
        return bool(self.between(start, end))

    def contains(self, start: datetime, end: datetime) -> bool:
        """Some occurrence holds all of [start, end)."""
        return any(s <= start and end <= e for s, e in self.between(start, end))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "start": format_time(self.start) if self.start and not self.rrule else None,
            "end": format_time(self.end) if self.end and not self.rrule else None,
            "rrule": self.rrule,
            "duration": int(self.duration.total_seconds() // 60) if self.duration else None,
            "timezone": self.zone_name,
        }


def parse_time(value: str, what: str = "time") -> datetime:
    """ISO 8601 in, naive UTC out; a time without zone is the user's local time."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"{what.capitalize()} {value!r} is not an ISO 8601 time: write e.g. "
            "2026-12-08T22:00 (local time) or 2026-12-08T21:00Z.",
            {what: "not ISO 8601"},
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(local_zone_name()))
    return to_utc(parsed)


def format_time(value: datetime) -> str:
    """Naive UTC → ISO 8601 with ``Z``."""
    return value.replace(microsecond=0).isoformat() + "Z"
