"""Wave planning: readiness-based plans, determinism, hashing and configuration errors."""

from __future__ import annotations

import json

import pytest

from zoomaudit import rollout
from zoomaudit.errors import PlanError

from .fixtures import LICENSED, snapshot, three_waves


def _wave(plan, name):
    return rollout.select_wave(plan, name)


def _users(wave, status):
    return [u["user_principal_name"] for u in wave["users"] if u["status"] == status]


def test_three_wave_plan_marks_ready_blocked_and_already_assigned():
    config = three_waves()
    config["waves"][2]["departments"] = ["Legal", "Sales"]  # fay is assigned, hal via a group
    config["waves"][2]["countries"] = []
    config["waves"][0]["users"] = []
    plan = rollout.plan(snapshot(hosts=20), config)

    pilot, finance, third = plan["waves"]
    assert [w["number"] for w in plan["waves"]] == [1, 2, 3]
    assert pilot["pilot"] and not finance["pilot"]
    assert _users(pilot, "ready") == ["ana@contoso.example", "ben@contoso.example"]
    # eve is disabled in Entra: blocked by the readiness category, and never assigned
    assert _users(finance, "blocked") == ["eve@contoso.example"]
    eve = next(u for u in finance["users"] if u["entra_id"] == "u5")
    assert eve["reasons"] == ["disabled_user"]
    assert "u5" not in {p["principal_id"] for p in finance["principals"]}
    # dan is only in a nested group: included (users are assigned individually) and flagged
    dan = next(u for u in finance["users"] if u["entra_id"] == "u4")
    assert dan["nested"] is True and dan["status"] == "ready"
    assert {p["app_role_id"] for p in finance["principals"]} == {LICENSED}
    assert finance["seats"]["licensed_needed"] == 2
    # fay holds a direct assignment, hal is a direct member of an assigned group
    assert _users(third, "already_assigned") == ["fay@contoso.example", "hal@contoso.example"]
    assert {p["principal_id"] for p in third["principals"]} == {"u7", "u9"}
    assert third["counts"] == {
        "ready": 2,
        "blocked": 0,
        "already_assigned": 2,
        "selected": 4,
        "principals": 2,
        "to_assign": 2,
        "nested_not_provisioned": 0,
    }
    assert {g["name"] for g in pilot["gates"]} >= {
        "seats",
        "basic_user_cap",
        "required_mappings",
        "provisioning_job_healthy",
    }


def test_plan_is_deterministic_and_hashed(tmp_path):
    a = rollout.plan(snapshot(hosts=20), three_waves())
    b = rollout.plan(snapshot(hosts=20), three_waves())
    assert rollout.dumps(a) == rollout.dumps(b)
    assert a["hash"] == rollout.plan_hash(a) and a["hash"].startswith("sha256:")
    assert a["snapshot"] == {"id": "test", "path": None, "taken_at": "2026-01-15T12:00:00Z"}
    path = rollout.write_plan(a, tmp_path / "plan.json")
    text = path.read_text()
    assert text == rollout.dumps(a)
    assert list(json.loads(text)) == sorted(json.loads(text))
    assert rollout.read_plan(path)["hash"] == a["hash"]
    # any edit invalidates the plan
    path.write_text(text.replace('"max_users": 5,', '"max_users": 6,'))
    with pytest.raises(PlanError, match="modified after it was made"):
        rollout.read_plan(path)


def test_group_assignment_mode_lists_nested_members_as_not_provisioned():
    config = three_waves()
    config["waves"][1]["assign"] = "groups"
    plan = rollout.plan(snapshot(hosts=20), config)
    finance = _wave(plan, "finance")
    assert [(p["principal_type"], p["principal_id"]) for p in finance["principals"]] == [
        ("Group", "g-fin")
    ]
    assert [u["entra_id"] for u in finance["nested_not_provisioned"]] == ["u4"]
    assert "u4" not in {u["entra_id"] for u in finance["users"]}
    assert any("will NOT be provisioned" in n for n in finance["notes"])
    # the blocked direct member is assigned with the group: it counts against max_users
    assert finance["counts"]["to_assign"] == 2


def test_selectors_match_case_insensitively():
    config = three_waves()
    config["waves"][0]["groups"] = ["zoom pilot"]
    config["waves"][0]["users"] = ["GUS@Contoso.Example"]
    config["waves"][2] = {"name": "legal", "groups": ["G-FIN"], "users": ["U9"]}
    config["waves"].pop(1)
    plan = rollout.plan(snapshot(hosts=20), config)
    assert [u["entra_id"] for u in plan["waves"][0]["users"]] == ["u1", "u2", "u7"]
    assert {u["entra_id"] for u in plan["waves"][1]["users"]} == {"u3", "u4", "u5", "u9"}


def test_select_wave_by_name_or_number():
    plan = rollout.plan(snapshot(hosts=20), three_waves())
    assert rollout.select_wave(plan, "2")["name"] == "finance"
    assert rollout.select_wave(plan, "FINANCE")["number"] == 2
    with pytest.raises(PlanError, match="no wave 4"):
        rollout.select_wave(plan, 4)
    with pytest.raises(PlanError, match="no wave named 'hr'"):
        rollout.select_wave(plan, "hr")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda c: c["waves"][1].update(groups=["Zoom Wave 9"]),
            r"wave 2 \('finance'\): unknown group 'Zoom Wave 9'",
        ),
        (
            lambda c: c["waves"][1].update(groups=["Not Pulled"]),
            r"members of group 'Not Pulled' were not pulled",
        ),
        (
            lambda c: c["waves"][2].update(users=["ana@contoso.example"]),
            r"waves 'pilot' and 'legal' overlap: ana@contoso.example",
        ),
        (
            lambda c: c["waves"][0].update(max_users=2),
            r"wave 1 \('pilot'\): selects 3 users to assign, more than max_users 2",
        ),
        (
            lambda c: c["waves"][1].update(colour="blue"),
            r"unknown key 'colour' in wave 2 \('finance'\)",
        ),
        (lambda c: c.update(rol="Basic"), r"unknown key 'rol' in the top level"),
        (
            lambda c: c["waves"][1].update(role="Enterprise"),
            r"unknown app role 'Enterprise'; the Zoom app has: Basic, Licensed",
        ),
        (
            lambda c: c["waves"][2].update(departments=["Marketing"]),
            r"unknown department 'Marketing'",
        ),
        (
            lambda c: c["waves"][0].update(users=["nobody@contoso.example"]),
            r"unknown user 'nobody@contoso.example'",
        ),
        (lambda c: c["waves"][1].update(name="pilot"), r"duplicate wave name"),
        (
            lambda c: c["waves"][1].update(assign="groups", departments=["Finance"]),
            r"assign: groups cannot select by departments",
        ),
    ],
)
def test_configuration_errors_are_clear(change, message):
    config = three_waves()
    change(config)
    with pytest.raises(PlanError, match=message):
        rollout.plan(snapshot(hosts=20), config)


def test_wave_larger_than_the_seats_available_is_refused():
    # 10 hosts, 8 used: 2 Licensed seats; finance needs 2 -> fits; one more Licensed wave doesn't
    config = three_waves()
    rollout.plan(snapshot(hosts=10, usage=8), config)
    config["waves"][2]["role"] = "Licensed"
    with pytest.raises(PlanError, match=r"wave 3 \('legal'\) needs 1 Licensed seats but only 0"):
        rollout.plan(snapshot(hosts=10, usage=8), config)


def test_yaml_config_errors(tmp_path):
    bad = tmp_path / "waves.yaml"
    bad.write_text("role: Basic\nwaves:\n  - name: pilot\n    group: [x]\n")
    with pytest.raises(PlanError, match=r"unknown key 'group' in wave 1 \('pilot'\)"):
        rollout.load_config(bad)
    bad.write_text("waves: [")
    with pytest.raises(PlanError, match="not valid YAML"):
        rollout.load_config(bad)


def test_example_configuration_parses():
    from pathlib import Path

    config = rollout.load_config(Path(__file__).parents[2] / "examples" / "waves.yaml")
    assert [w.name for w in config.waves] == ["pilot", "finance", "emea-sales"]
    assert config.waves[1].role == "Licensed"
