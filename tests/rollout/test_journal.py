"""The write journal: append-only lines, crash tolerance, the ledger a rollback relies on."""

from __future__ import annotations

import pytest

from zoomaudit import journal
from zoomaudit.errors import ApplyError


def test_lines_are_numbered_and_survive_reopening(tmp_path):
    path = tmp_path / "plan.journal.jsonl"
    first = journal.open_journal(path)
    first.append("run", "started", wave=1)
    first.append("assign", "intent", wave=1, principal_id="u1", app_role_id="r")
    second = journal.open_journal(path)
    line = second.append(
        "assign", "created", wave=1, principal_id="u1", app_role_id="r", assignment_id="A", ref=2
    )
    assert line["seq"] == 3 and line["run_id"] != first.run_id
    assert [x["seq"] for x in journal.read(path)] == [1, 2, 3]
    assert journal.default_path(tmp_path / "plan.json") == path
    assert journal.default_path(tmp_path / "plan.json", "rollback.journal").name == (
        "plan.rollback.journal.jsonl"
    )


def test_a_torn_last_line_is_ignored_but_damage_elsewhere_is_an_error(tmp_path):
    path = tmp_path / "j.jsonl"
    jr = journal.open_journal(path)
    jr.append("run", "started", wave=1)
    with path.open("a") as fh:
        fh.write('{"seq": 2, "kind": "ass')  # the process died mid-write
    assert [x["seq"] for x in journal.read(path)] == [1]
    jr2 = journal.open_journal(path)
    with path.open("a") as fh:
        fh.write("\n")
    jr2.append("run", "finished", wave=1)
    with pytest.raises(ApplyError, match="line 2 is not JSON"):
        list(journal.read(path))


def _line(seq, kind, status, run="r1", **kw):
    return {"seq": seq, "run_id": run, "kind": kind, "status": status, "wave": 2, **kw}


def test_ledger_tracks_created_unresolved_baseline_and_undone():
    key = {"principal_id": "u1", "app_role_id": "r"}
    lines = [
        _line(1, "baseline", "ok", assignment_ids=["OLD"]),
        _line(2, "assign", "intent", **key),
        _line(3, "assign", "created", ref=2, assignment_id="A", **key),
        _line(4, "assign", "intent", principal_id="u2", app_role_id="r"),
        _line(
            5, "assign", "error", ref=4, outcome_unknown=True, principal_id="u2", app_role_id="r"
        ),
        _line(6, "assign", "intent", principal_id="u3", app_role_id="r"),
        _line(
            7, "assign", "error", ref=6, outcome_unknown=False, principal_id="u3", app_role_id="r"
        ),
        {
            **_line(8, "assign", "created", assignment_id="B", principal_id="u9", app_role_id="r"),
            "wave": 3,
        },
    ]
    led = journal.ledger(lines, 2)
    assert led.applied and led.baseline == {"OLD"}
    assert led.created == {("u1", "r"): ("A", "r1:3")}
    assert set(led.unresolved) == {("u2", "r")}  # a 500: may have been created
    # a rollback that deleted A (by its creation token) leaves nothing to undo for u1 ...
    undo = [{"wave": 2, "kind": "unassign", "status": "deleted", "created_token": "r1:3"}]
    assert journal.ledger(lines, 2, rollback_lines=undo).created == {}
    # ... while a later re-creation with the same id (Graph reuses them) is undone again
    again = [*lines, _line(1, "assign", "created", run="r2", assignment_id="A", **key)]
    assert journal.ledger(again, 2, rollback_lines=undo).created == {("u1", "r"): ("A", "r2:1")}


def test_one_writer_at_a_time(tmp_path):
    path = tmp_path / "plan.journal.jsonl"
    with journal.exclusive(path):
        with pytest.raises(ApplyError, match="another run holds"):
            with journal.exclusive(path):
                pass
    with journal.exclusive(path):  # released
        pass
