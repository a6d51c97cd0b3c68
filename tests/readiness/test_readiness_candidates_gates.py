"""Readiness: how the candidate set is built, the account gates, and the CLI."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest
from readiness_fixtures import HEALTHY_JOB, TAKEN, assign, mappings, snap, user

from zoomaudit import readiness
from zoomaudit.errors import LookupFailedError, SnapshotError


def gate(result, name):
    g = result.gates.set_index("gate").loc[name]
    return bool(g["ok"]), g["detail"]


# ------------------------------------------------------------------ candidate set
def test_group_name_is_case_insensitive_and_id_works():
    s = snap([user("a")], wave=("a",))
    by_name = readiness.check(s, candidate_groups=["wave 1"])
    by_id = readiness.check(s, candidate_groups=["g-wave1"])
    assert list(by_name.candidates["entra_id"]) == list(by_id.candidates["entra_id"]) == ["e-a"]


def test_unknown_candidate_group_says_to_repull():
    s = snap([user("a")], wave=("a",))
    with pytest.raises(LookupFailedError, match="--candidate-groups"):
        readiness.check(s, candidate_groups=["Wave 9"])


def test_group_present_but_not_pulled_as_candidate_is_refused():
    s = snap(
        [user("a")],
        entra_groups=[
            {
                "group_id": "g2",
                "display_name": "Assigned only",
                "assigned": True,
                "candidate": False,
            }
        ],
    )
    with pytest.raises(LookupFailedError, match="re-pull"):
        readiness.check(s, candidate_groups=["Assigned only"])


def test_candidates_file_plus_group(tmp_path):
    csv = tmp_path / "wave.csv"
    csv.write_text("user_principal_name,note\nB@contoso.example,x\n\nc@contoso.example,y\n")
    s = snap([user("a"), user("b"), user("c")], wave=("a",))
    r = readiness.check(s, candidate_groups=["Wave 1"], candidates_file=csv)
    assert sorted(r.candidates["entra_id"]) == ["e-a", "e-b", "e-c"]
    assert set(r.findings.set_index("entra_id").loc[["e-b"], "via"]) == {"file:wave.csv"}


def test_candidates_file_errors(tmp_path):
    s = snap([user("a")])
    bad = tmp_path / "bad.csv"
    bad.write_text("upn\na@contoso.example\n")
    with pytest.raises(LookupFailedError, match="user_principal_name"):
        readiness.check(s, candidates_file=bad)
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("user_principal_name\nnobody@contoso.example\n")
    with pytest.raises(LookupFailedError, match="nobody@contoso.example"):
        readiness.check(s, candidates_file=unknown)


def test_without_candidates_the_assigned_users_are_checked():
    groups = [
        {
            "group_id": "g-assigned",
            "display_name": "Zoom users",
            "assigned": True,
            "candidate": False,
        }
    ]
    members = [{"group_id": "g-assigned", "member_id": "e-g", "member_type": "user",
                "direct": True},
               {"group_id": "g-assigned", "member_id": "e-n", "member_type": "user",
                "direct": False}]  # fmt: skip
    s = snap([user("d"), user("g"), user("n"), user("x")], assignments=[
        assign("d"), assign("g-assigned", principal_type="Group")],
        entra_groups=groups, entra_group_members=members)  # fmt: skip
    r = readiness.check(s)
    assert sorted(r.candidates["entra_id"]) == ["e-d", "e-g", "e-n"]
    f = r.findings.set_index("entra_id")
    assert f.loc["e-n", "category"] == "nested_group_only"
    assert f.loc["e-d", "category"] == "ready" and f.loc["e-d", "via"] == "assigned"


def test_incomplete_snapshot_is_refused_unless_allowed():
    s = snap([user("a")], wave=("a",))
    s.manifest["complete"] = False
    with pytest.raises(SnapshotError):
        readiness.check(s, candidate_groups=["Wave 1"])
    assert len(readiness.check(s, candidate_groups=["Wave 1"], allow_incomplete=True).findings)


# ------------------------------------------------------------------ gates
def test_healthy_account_passes_every_gate():
    r = readiness.check(snap([user("a")], wave=("a",)), candidate_groups=["Wave 1"])
    assert r.gates["ok"].all(), r.gates
    assert list(r.gates["gate"]) == [
        "seats",
        "basic_user_cap",
        "required_mappings",
        "provisioning_job_healthy",
    ]


def test_seats_gate_counts_licensed_candidates_against_available():
    # plan_base: 10 hosts, 5 used, 1 pending -> 4 available
    names = [f"u{i}" for i in range(5)]
    s = snap([user(n) for n in names], wave=tuple(names))
    assert (
        gate(readiness.check(s, candidate_groups=["Wave 1"], role="Licensed"), "seats")[0] is False
    )
    assert gate(readiness.check(s, candidate_groups=["Wave 1"], role="Basic"), "seats")[0] is True
    ok, detail = gate(
        readiness.check(
            snap([user(n) for n in names[:4]], wave=tuple(names[:4])),
            candidate_groups=["Wave 1"],
            role="Licensed",
        ),
        "seats",
    )
    assert ok and "4 Licensed seat(s) needed, 4 available" in detail


def test_seats_gate_does_not_count_users_already_licensed_in_zoom():
    zu = [
        {"zoom_id": f"z{i}", "email": f"u{i}@contoso.example", "type": 2, "status": "active"}
        for i in range(3)
    ]
    names = [f"u{i}" for i in range(5)]
    plans = ({"plan_key": "plan_base", "position": 0, "hosts": 5, "usage": 3, "pending": 0},)
    s = snap([user(n) for n in names], wave=tuple(names), zoom_users=zu, plans=plans)
    ok, detail = gate(readiness.check(s, candidate_groups=["Wave 1"], role="Licensed"), "seats")
    assert ok and detail.startswith("2 Licensed")


def test_basic_cap_gate():
    names = [f"b{i}" for i in range(3)]
    s = snap([user(n) for n in names], wave=tuple(names))
    r = readiness.check(s, candidate_groups=["Wave 1"], basic_cap=2)
    ok, detail = gate(r, "basic_user_cap")
    assert not ok and "3 new" in detail
    assert gate(readiness.check(s, candidate_groups=["Wave 1"], basic_cap=3), "basic_user_cap")[0]


@pytest.mark.parametrize("missing", ["userName", "name.familyName", "active"])
def test_required_mappings_gate_names_the_missing_target(missing):
    s = snap([user("a")], wave=("a",), attribute_mappings=mappings(drop=missing))
    ok, detail = gate(readiness.check(s, candidate_groups=["Wave 1"]), "required_mappings")
    assert not ok and missing in detail


def test_required_mappings_gate_fails_without_a_pulled_schema():
    s = snap([user("a")], wave=("a",), attribute_mappings=[])
    ok, detail = gate(readiness.check(s, candidate_groups=["Wave 1"]), "required_mappings")
    assert not ok and "no attribute mappings" in detail


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            {"status_code": "Quarantine", "quarantine_reason": "EncounteredQuarantineException"},
            "quarantined",
        ),
        ({"schedule_state": "Disabled"}, "schedule Disabled"),
        ({"last_execution_ended": (TAKEN - timedelta(hours=30)).isoformat()}, "30.0 h ago"),
        ({"last_count_escrowed": 250}, "escrow storm"),
    ],
)
def test_provisioning_job_health_gate(change, words):
    job = {**HEALTHY_JOB, **change}
    ok, detail = gate(
        readiness.check(snap([user("a")], wave=("a",), jobs=(job,)), candidate_groups=["Wave 1"]),
        "provisioning_job_healthy",
    )
    assert not ok and words in detail


def test_missing_job_fails_the_health_gate():
    ok, detail = gate(
        readiness.check(snap([user("a")], wave=("a",), jobs=()), candidate_groups=["Wave 1"]),
        "provisioning_job_healthy",
    )
    assert not ok and "no provisioning job" in detail


def test_summary_counts_categories_and_gates():
    s = snap([user("a"), user("b", account_enabled=False)], wave=("a", "b"))
    summ = readiness.check(s, candidate_groups=["Wave 1"]).summary().set_index("item")
    assert summ.loc["candidates", "value"] == 2
    assert summ.loc["ready", "value"] == 1 and summ.loc["disabled_user", "value"] == 1
    assert bool(summ.loc["gate:seats", "ok"])


# ------------------------------------------------------------------ CLI
def test_cli_readiness(tmp_path):
    from zoomaudit.cli import main

    s = snap([user("a"), user("b", mail=None)], wave=("a", "b"))
    d = tmp_path / "snap"
    (d / "tables").mkdir(parents=True)
    (d / "manifest.json").write_text(json.dumps(s.manifest))
    for name, df in s.tables.items():
        df.to_parquet(d / "tables" / f"{name}.parquet")
    out, gates_out = tmp_path / "r.csv", tmp_path / "g.csv"
    main(
        [
            "readiness",
            str(d),
            "--candidates",
            "Wave 1",
            "--role",
            "Basic",
            "--accepted-user-types",
            "Basic,Licensed",
            "--out",
            str(out),
            "--gates-out",
            str(gates_out),
        ]
    )
    got = pd.read_csv(out).set_index("entra_id")
    assert got.loc["e-a", "category"] == "ready"
    assert got.loc["e-b", "category"] == "missing_required_attribute"
    assert len(pd.read_csv(gates_out)) == 4
