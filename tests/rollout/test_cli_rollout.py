"""The rollout commands end to end through ``zoomaudit.cli.main`` against the emulator."""

from __future__ import annotations

import pytest
import yaml

from zoomaudit import cli

from .test_apply_emulator import GROUPS, USERS, config_for, fresh_tenant, take_snapshot


@pytest.fixture(autouse=True)
def restore_logging():
    """cli.main binds a handler to the (captured) stderr of the moment; undo it afterwards."""
    import logging

    logger = logging.getLogger("zoomaudit")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


def run(capsys, *argv) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(list(argv))
        raise SystemExit(0)
    out = capsys.readouterr()
    return exit_info.value.code or 0, out.out, out.err


def test_plan_apply_status_rollback(make_emulator, tmp_path, monkeypatch, capsys):
    emu = make_emulator(tenant=fresh_tenant())
    for key, value in emu.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)  # no stray .env
    snap = take_snapshot(emu, tmp_path)
    config = tmp_path / "waves.yaml"
    config.write_text(yaml.safe_dump(config_for(snap)))
    plan = tmp_path / "plan.json"

    code, out, err = run(
        capsys, "rollout", "plan", str(snap.path), "--config", str(config), "--out", str(plan)
    )
    assert code == 0, err
    assert "wave 1 pilot (users, Basic): 3 ready" in out and "sha256:" in out

    emu.state.journal.clear()
    code, out, err = run(capsys, "rollout", "apply", str(plan), "--wave", "1")
    assert code == 0, err
    assert "DRY RUN, nothing written" in out and "would: assign 3" in out
    assert emu.state.journal.state_changing("graph") == []

    code, out, err = run(capsys, "rollout", "apply", str(plan), "--wave", "pilot", "--apply")
    assert code == 0, err
    assert "did: assign 3" in out and "plan.journal.jsonl" in out
    assert len(emu.state.journal.state_changing("graph")) == 3

    code, out, err = run(capsys, "rollout", "status", str(plan), str(snap.path))
    assert code == 0, err
    assert "wave 1 pilot: 3 members; not_assigned 3" in out  # the old snapshot predates apply
    assert "next wave gate:" in out
    assert "is not newer than the plan's" in err

    code, out, err = run(capsys, "rollout", "rollback", str(plan), "--wave", "1", "--apply")
    assert code == 0, err
    assert "did: unassign 3" in out
    assert [e.method for e in emu.state.journal.state_changing("graph")] == ["POST"] * 3 + [
        "DELETE"
    ] * 3


def test_configuration_error_is_one_line_and_writes_nothing(
    make_emulator, tmp_path, monkeypatch, capsys
):
    emu = make_emulator(tenant=fresh_tenant())
    snap = take_snapshot(emu, tmp_path)
    config = tmp_path / "waves.yaml"
    config.write_text(
        yaml.safe_dump({"waves": [{"name": "pilot", "groups": [GROUPS[0]], "max_user": 5}]})
    )
    plan = tmp_path / "plan.json"
    code, out, err = run(
        capsys, "rollout", "plan", str(snap.path), "--config", str(config), "--out", str(plan)
    )
    assert code == 2
    assert err.strip().splitlines() == [
        "error: unknown key 'max_user' in wave 1 ('pilot'); allowed: name, groups, users, "
        "departments, countries, max_users, role, assign, description"
    ]
    assert not plan.exists()
    assert USERS > 0
