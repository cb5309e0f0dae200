"""Change records (PRODUCT.md §9): transitions, approvals, versions, history,
refusals, windows across a DST change, risk reasons and KPIs."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from cmdb_desktop.change_mgmt.conflicts import COMBINED, OVERLAP, Conflict
from cmdb_desktop.change_mgmt.records import (
    ACTIVE_STATES,
    FINAL_STATES,
    ChangeService,
    ChangeState,
    allowed_moves,
)
from cmdb_desktop.change_mgmt.risk import ServiceHit, SpofHit, assess
from cmdb_desktop.change_mgmt.windows import WindowRule, parse_time
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import ConflictError, ValidationError
from tests.cmdb_desktop.change_examples import POWER
from tests.cmdb_desktop.impact_examples import build
from tests.commandline import cli

S = ChangeState
#: The way to each state from Draft (approvals are recorded by another user).
PATH = [S.DRAFT, S.SUBMITTED, S.APPROVED, S.SCHEDULED, S.IN_PROGRESS]
EXPECTED = {
    S.DRAFT: {S.SUBMITTED, S.CANCELLED},
    S.SUBMITTED: {S.APPROVED, S.DRAFT, S.CANCELLED},
    S.APPROVED: {S.SCHEDULED, S.CANCELLED},
    S.SCHEDULED: {S.IN_PROGRESS, S.CANCELLED},
    S.IN_PROGRESS: {S.COMPLETED, S.FAILED, S.BACKED_OUT, S.CANCELLED},
}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def power(db_path: Path) -> Path:
    with Cmdb.open(db_path, create=True) as cmdb:
        build(cmdb, *POWER)
    return db_path


T0 = datetime(2026, 12, 8, 22)
T1 = datetime(2026, 12, 8, 23)


def _bring(cmdb: Cmdb, state: ChangeState, cis: list[int]) -> int:
    mine = ChangeService(cmdb, user="alice")
    board = ChangeService(cmdb, user="bob")
    change = mine.add("work", T0, T1, cis).id
    for step in PATH[1 : PATH.index(state) + 1] if state in PATH else []:
        if step == S.APPROVED:
            board.approve(change, "approve", note="fine")
        mine.move(change, step)
    if state not in PATH:
        if state != S.CANCELLED:
            for step in PATH[1:]:
                if step == S.APPROVED:
                    board.approve(change, "approve")
                mine.move(change, step)
        mine.move(change, state)
    assert mine.get(change).state == state
    return change


def test_every_transition(power: Path) -> None:
    with Cmdb.open(power) as cmdb:
        feed = cmdb.items.resolve("pdu-a")
        for state in ChangeState:
            allowed = EXPECTED.get(state, set())
            assert set(allowed_moves(state)) == allowed
            for target in ChangeState:
                change = _bring(cmdb, state, [feed])
                service = ChangeService(cmdb, user="alice")
                before = service.get(change)
                if target in allowed:
                    if target == S.APPROVED:
                        ChangeService(cmdb, user="bob").approve(change, "approve")
                        before = service.get(change)
                    after = service.move(change, target, note="done")
                    assert after.state == target
                    assert after.version == before.version + 1
                else:
                    with pytest.raises(ValidationError, match="cannot move to"):
                        service.move(change, target)
                    assert service.get(change) == before
    assert FINAL_STATES.isdisjoint(ACTIVE_STATES)


def test_the_cli_refuses_and_leaves_the_database_untouched(power: Path) -> None:
    code, data, _ = cli(power, "change", "add", "x", "--start", "2026-12-08T22:00Z",
                        "--end", "2026-12-08T23:00Z", "--ci", "pdu-a")  # fmt: skip
    assert code == 0 and data["version"] == 1 and data["state"] == "Draft"
    digest = _digest(power)
    refusals = [
        (["change", "add", "y", "--start", "2026-12-08T22:00Z", "--end", "2026-12-08T23:00Z",
          "--ci", "no-such-ci"], 2, "No CI matches"),
        (["change", "add", "y", "--start", "2026-12-08T23:00Z", "--end", "2026-12-08T22:00Z"],
         2, "ends"),
        (["change", "add", "y", "--start", "tomorrow", "--end", "2026-12-08T22:00Z"],
         2, "ISO 8601"),
        (["change", "move", "1", "Completed"], 2, "cannot move to Completed"),
        (["change", "move", "1", "Sideways"], 2, "Unknown state"),
        (["change", "set", "1", "title=z", "--if-version", "7"], 3, "version 1, not 7"),
        (["change", "set", "1", "state=Approved"], 2, "Unknown change field"),
        (["change", "approve", "1", "--decision", "approve"], 2, "Submitted"),
        (["change", "ci", "1", "add", "#999"], 2, "No CI"),
        (["change", "show", "42"], 2, "No change with id 42"),
        (["window", "add", "w", "--kind", "blackout", "--rrule", "FREQ=SOMETIMES",
          "--duration", "60", "--scope", "pdu-a"], 2, "Malformed recurrence rule"),
        (["window", "add", "w", "--kind", "blackout", "--start", "2026-12-08T22:00Z",
          "--end", "2026-12-08T21:00Z", "--scope", "pdu-a"], 2, "ends before it starts"),
        (["window", "add", "w", "--kind", "blackout", "--start", "2026-12-08T22:00Z",
          "--end", "2026-12-08T23:00Z", "--scope", "class=Nothing"], 2, "Unknown class"),
    ]  # fmt: skip
    for args, expected, words in refusals:
        code, data, err = cli(power, *args)
        assert code == expected, (args, err)
        assert words in err, (args, err)
        assert "Traceback" not in err
        assert _digest(power) == digest, args


def test_approvals_and_self_approval(power: Path) -> None:
    with Cmdb.open(power) as cmdb:
        feed = cmdb.items.resolve("pdu-a")
        alice = ChangeService(cmdb, user="alice")
        change = alice.add("swap", T0, T1, [feed]).id
        alice.move(change, "Submitted")
        with pytest.raises(ValidationError, match="approving one's own change"):
            alice.approve(change, "approve")
        with pytest.raises(ValidationError, match="no approval standing"):
            alice.move(change, "Approved")
        bob = ChangeService(cmdb, user="bob")
        bob.approve(change, "reject", note="not on a Tuesday")
        with pytest.raises(ValidationError, match="no approval standing"):
            alice.move(change, "Approved")
        alice.set_self_approval(True)
        view = alice.approve(change, "approve", note="moved to Wednesday")
        assert [(a["who"], a["decision"]) for a in view.approvals] == [
            ("bob", "reject"),
            ("alice", "approve"),
        ]
        assert alice.move(change, "Approved").state == "Approved"
        history = alice.history(change)
        fields = [h.field for h in reversed(history)]
        assert fields == [None, "state", "approval", "approval", "state"]
        assert history[-1].action == "create"
        # The CI's own history is not mixed with the change's.
        assert all(h.entity != "change" for h in cmdb.history.for_ci(feed))


def test_stale_version_is_a_conflict(power: Path) -> None:
    with Cmdb.open(power) as cmdb:
        service = ChangeService(cmdb, user="alice")
        view = service.add("swap", T0, T1, [])
        service.update(view.id, {"assignee": "carol"}, if_version=1)
        with pytest.raises(ConflictError) as caught:
            service.update(view.id, {"assignee": "dave"}, if_version=1)
        assert caught.value.exit_code == 3
        assert service.get(view.id).assignee == "carol"
        feed = cmdb.items.resolve("pdu-b")
        assert service.edit_cis(view.id, add=[feed], if_version=2).version == 3


def test_a_recurring_window_keeps_local_time_across_dst(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "Europe/Paris")
    # Tuesdays 22:00–00:00 Paris time; summer time ends on Sunday 25 October 2026.
    rule = WindowRule(
        "night",
        "maintenance",
        parse_time("2026-10-01T00:00"),
        None,
        "FREQ=WEEKLY;BYDAY=TU;BYHOUR=22;BYMINUTE=0",
        timedelta(hours=2),
        "Europe/Paris",
    )
    got = rule.between(datetime(2026, 10, 19), datetime(2026, 11, 4))
    assert got == [
        (datetime(2026, 10, 20, 20), datetime(2026, 10, 20, 22)),  # CEST, UTC+2
        (datetime(2026, 10, 27, 21), datetime(2026, 10, 27, 23)),  # CET, UTC+1
        (datetime(2026, 11, 3, 21), datetime(2026, 11, 3, 23)),
    ]
    # 21:30–22:30 UTC lies inside the window after the change, not before it.
    assert rule.contains(datetime(2026, 10, 27, 21, 30), datetime(2026, 10, 27, 22, 30))
    assert not rule.contains(datetime(2026, 10, 20, 21, 30), datetime(2026, 10, 20, 22, 30))
    # A night window that spans the change itself: Saturday 24th 22:00 local for
    # 8 wall-clock hours ends at 06:00 local, 9 hours later in UTC.
    night = WindowRule(
        "sat", "blackout", parse_time("2026-10-24T00:00"), None,
        "FREQ=DAILY;COUNT=1;BYHOUR=22;BYMINUTE=0", timedelta(hours=8), "Europe/Paris",
    )  # fmt: skip
    assert night.between(datetime(2026, 10, 24), datetime(2026, 10, 26)) == [
        (datetime(2026, 10, 24, 20), datetime(2026, 10, 25, 5))
    ]
    # A time without zone is local time.
    assert parse_time("2026-07-01T12:00") == datetime(2026, 7, 1, 10)
    assert parse_time("2026-12-01T12:00") == datetime(2026, 12, 1, 11)


def test_risk_reasons() -> None:
    low = assess(kind="Normal", services=[], spofs=[], conflicts=[], past_failed=0, past_total=3)
    assert low.level == "Low" and low.reasons
    medium = assess(
        kind="Emergency",
        services=[ServiceHit("Mail", "degraded", 2)],
        spofs=[],
        conflicts=[Conflict(OVERLAP, 7, None, (1, 2))],
        past_failed=1,
        past_total=4,
    )
    assert medium.level == "Medium"
    assert medium.reasons == (
        "service Mail degraded (criticality 2)",
        "overlap conflict with change 7 (2 CIs)",
        "1 of 4 past changes on these CIs failed (25%)",
        "emergency change",
    )
    high = assess(
        kind="Normal",
        services=[ServiceHit("Mail", "down", 3)],
        spofs=[SpofHit("pdu-a", "Mail")],
        conflicts=[Conflict(COMBINED, 2, None, (5,))],
        past_failed=2,
        past_total=3,
    )
    assert high.level == "High"
    assert "pdu-a alone takes Mail down (single point of failure)" in high.reasons
    assert "2 of 3 past changes on these CIs failed (67%)" in high.reasons
    very = assess(
        kind="Standard",
        services=[ServiceHit("Payroll", "down", 1)],
        spofs=[],
        conflicts=[],
        past_failed=0,
        past_total=0,
    )
    assert very.level == "Very High"


def test_risk_from_the_cmdb_and_past_failures(power: Path) -> None:
    with Cmdb.open(power) as cmdb:
        a, b = cmdb.items.resolve("pdu-a"), cmdb.items.resolve("pdu-b")
        both = _bring(cmdb, S.DRAFT, [a, b])
        found = ChangeService(cmdb).assess([both])[both]
        assert found.risk.level == "Very High"
        assert "service Payroll down (criticality 1)" in found.risk.reasons
        # Neither feed alone takes Payroll down: no single point of failure.
        assert not any("single point" in r for r in found.risk.reasons)
        _bring(cmdb, S.FAILED, [a])
        _bring(cmdb, S.COMPLETED, [a])
        one = _bring(cmdb, S.DRAFT, [a])
        found = ChangeService(cmdb).assess([one])[one]
        assert found.risk.level == "High"
        # The reason behind the level comes first.
        assert found.risk.reasons == (
            "1 of 2 past changes on these CIs failed (50%)",
            "service Payroll degraded (criticality 1)",
        )


def test_kpis(power: Path) -> None:
    with Cmdb.open(power) as cmdb:
        a, rack = cmdb.items.resolve("pdu-a"), cmdb.items.resolve("rack1")
        for state in (S.COMPLETED, S.COMPLETED, S.COMPLETED, S.FAILED, S.BACKED_OUT):
            _bring(cmdb, state, [a])
        _bring(cmdb, S.CANCELLED, [rack])
        service = ChangeService(cmdb, user="alice")
        urgent = service.add("urgent", T0, T1, [rack], kind="Emergency").id
        service.add("next year", datetime(2027, 1, 5), datetime(2027, 1, 6), [a])
    code, data, err = cli(power, "kpi", "--from", "2026-12-01T00:00Z", "--to", "2027-01-01T00:00Z")
    assert code == 0, err
    assert data["changes"] == 6  # the cancelled one and next year's left out
    assert data["success_rate"] == 3 / 5
    assert data["emergency"] == 1 and data["emergency_share"] == 1 / 6
    assert data["per_service"] == [{"service": "Payroll", "changes": 6}]
    assert urgent


def test_change_json_shape(power: Path) -> None:
    code, data, _ = cli(power, "change", "add", "x", "--start", "2026-12-08T22:00+01:00",
                        "--end", "2026-12-08T23:00+01:00", "--ci", "pdu-a", "--kind",
                        "emergency", "--assignee", "carol")  # fmt: skip
    assert code == 0
    for key in ("id", "title", "kind", "state", "start", "end", "change_set", "risk", "version"):
        assert key in data
    assert data["start"] == "2026-12-08T21:00:00Z" and data["kind"] == "Emergency"
    assert data["change_set"] == [{"id": 1, "name": "pdu-a", "class": "Power Device"}]
    assert set(data["risk"]) == {"level", "reasons"}
    code, listed, _ = cli(power, "change", "list", "--state", "Draft")
    assert [c["id"] for c in listed["changes"]] == [data["id"]]
    code, listed, _ = cli(power, "change", "list", "--from", "2026-12-09T00:00Z")
    assert listed["changes"] == []
    code, windows, _ = cli(power, "window", "list")
    assert windows == {"windows": []}
