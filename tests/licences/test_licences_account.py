"""Account-level licence figures: seats per plan, unknown keys and types, cap, breakdowns, CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from licence_fixtures import ago, build, entra_user, managed, zoom_user

from zoomaudit import licences

PLANS = [
    {"plan_key": "plan_base", "position": 0, "plan_type": "yearly", "hosts": 75, "usage": 44,
     "pending": 3, "raw": json.dumps({"type": "yearly", "hosts": 75, "usage": 44, "pending": 3})},
    {"plan_key": "plan_webinar", "position": 0, "plan_type": "webinar500_yearly", "hosts": 3,
     "usage": 2, "pending": 0},
    {"plan_key": "plan_webinar", "position": 1, "plan_type": "webinar1000_yearly", "hosts": 1,
     "usage": 2, "pending": 0},
    {"plan_key": "plan_recording", "position": 0, "plan_type": "cmr_yearly_commitment_40",
     "raw": json.dumps({"free_storage": "5 GB"})},
    {"plan_key": "plan_zoom_phone_future", "position": 0, "plan_type": "zp_new", "hosts": 9,
     "usage": 4, "pending": 1, "raw": json.dumps({"type": "zp_new", "hosts": 9, "usage": 4})},
]  # fmt: skip


def test_seat_arithmetic_equals_the_plans_usage_payload():
    audit = licences.audit(build(managed("a"), zoom_plans=PLANS))
    seats = audit.seats.set_index(["plan_key", "position"])
    base = seats.loc[("plan_base", 0)]
    assert (base["purchased"], base["assigned"], base["pending"]) == (75, 44, 3)
    assert base["unassigned"] == 75 - 44 and base["available"] == 75 - 44 - 3
    assert not base["over_allocated"] and not base["overcommitted"]
    assert (base["counted_assigned"], base["counted_pending"]) == (1, 0)  # from zoom_users
    web1 = seats.loc[("plan_webinar", 1)]  # 1 purchased, 2 assigned
    assert web1["over_allocated"] and web1["overcommitted"] and web1["unassigned"] == -1
    assert "over-allocated: 1 more assigned than purchased" in web1["detail"]
    assert pd.isna(seats.loc[("plan_recording", 0), "available"])
    assert len(audit.seats) == len(PLANS)


def test_pending_invites_can_overcommit_without_over_allocation():
    plans = [{"plan_key": "plan_base", "position": 0, "hosts": 10, "usage": 9, "pending": 3}]
    row = licences.audit(build(managed("a"), zoom_plans=plans)).seats.iloc[0]
    assert (row["unassigned"], row["available"]) == (1, -2)
    assert not row["over_allocated"] and row["overcommitted"]
    assert "overcommitted by 2" in row["detail"]


def test_unknown_plan_keys_are_carried_and_reported():
    audit = licences.audit(build(managed("a"), zoom_plans=PLANS))
    assert list(audit.unknown_plans["plan_key"]) == ["plan_zoom_phone_future"]
    assert json.loads(audit.unknown_plans.iloc[0]["raw"])["hosts"] == 9
    row = audit.seats.set_index("plan_key").loc["plan_zoom_phone_future"]
    assert not row["known"] and row["available"] == 4
    assert audit.summary().set_index("item").loc["unknown_plans", "value"] == 1


def test_unknown_type_values_are_carried_and_reported():
    s = build(
        managed("a"),
        extra_zoom=[
            zoom_user("odd", type=7),
            zoom_user("odd2", type=7),
            zoom_user("none", type=None),
            zoom_user("u", type=4),
        ],
    )
    audit = licences.audit(s)
    ut = audit.unknown_types.set_index("type")
    assert ut.loc[7, "users"] == 2 and "odd@contoso.example" in ut.loc[7, "examples"]
    assert len(audit.unknown_types) == 2  # 7 and missing; 4 (Unassigned) is known
    dept = audit.by_department.set_index("department").loc["Sales"]
    assert dept["unknown (7)"] == 2 and dept["Unassigned"] == 1 and dept["users"] == 5


def test_basic_user_cap_counts_active_and_pending_basic_users():
    s = build(extra_zoom=[zoom_user("b1", type=1), zoom_user("b2", type=1, status="pending"),
                          zoom_user("b3", type=1, status="inactive"), zoom_user("l", type=2)],
              extra_entra=[entra_user("x")])  # fmt: skip
    cap = licences.audit(s).basic_cap.iloc[0]
    assert (cap["cap"], cap["basic_users"], cap["headroom"]) == (9999, 2, 9997)
    assert bool(cap["ok"])
    assert not licences.basic_cap(s, cap=1).iloc[0]["ok"]


def test_licences_by_department_and_country():
    s = build(managed("a", login=ago(200), dept="Sales"), managed("b", dept="Sales"),
              managed("c", role="Basic", type=1, dept=None),
              extra_zoom=[zoom_user("stray", dept="HR")])  # fmt: skip
    audit = licences.audit(s)
    dept = audit.by_department.set_index("department")
    assert dept.loc["Sales", "Licensed"] == 2 and dept.loc["Sales", "reclaimable"] == 1
    assert dept.loc["(none)", "Basic"] == 1
    assert dept.loc["HR", "reclaimable"] == 1  # unmanaged
    country = audit.by_country.set_index("country")
    assert country.loc["DE", "users"] == 3 and country.loc["(none)", "users"] == 1


def _write_snapshot(path, s):
    (path / "tables").mkdir(parents=True)
    (path / "manifest.json").write_text(json.dumps(s.manifest))
    for name, df in s.tables.items():
        df.to_parquet(path / "tables" / f"{name}.parquet")
    return path


def test_cli_writes_findings_and_a_dry_run_plan(tmp_path):
    from zoomaudit.cli import main

    s = build(managed("idle", login=ago(200)), managed("fine"), zoom_plans=PLANS)
    snap_dir = _write_snapshot(tmp_path / "snap", s)
    out, plan = tmp_path / "lic.csv", tmp_path / "plan.parquet"
    try:
        main(
            [
                "licences",
                str(snap_dir),
                "--out",
                str(out),
                "--inactive-days",
                "90",
                "--price-per-seat",
                "10",
                "--currency",
                "USD",
                "--reclaim-out",
                str(plan),
            ]
        )
    except SystemExit as exc:
        assert exc.code in (0, None)
    got = pd.read_csv(out)
    assert list(got["category"]) == ["licensed_inactive"]
    assert list(got["zoom_user_name"]) == ["idle@contoso.example"]
    assert list(pd.read_parquet(plan)["proposed_type"]) == ["Basic"]


def test_cli_threshold_flag_changes_the_result(tmp_path):
    from zoomaudit.cli import main

    s = build(managed("d100", login=ago(100)))
    snap_dir = _write_snapshot(tmp_path / "snap", s)
    out = tmp_path / "lic.csv"
    try:
        main(["licences", str(snap_dir), "--out", str(out), "--inactive-days", "100"])
    except SystemExit as exc:
        assert exc.code in (0, None)
    assert pd.read_csv(out).empty


def test_a_snapshot_without_zoom_rest_users_is_refused():
    from zoomaudit.errors import SnapshotError
    from zoomaudit.snapshot import Snapshot

    s = Snapshot.from_tables({"entra_users": [entra_user("a")]})
    with pytest.raises(SnapshotError, match="zoom_users"):
        licences.audit(s)


def test_missing_optional_inputs_are_noted():
    audit = licences.audit(build(managed("a")))
    assert any("plans usage" in n for n in audit.notes)
    assert any("activity report" in n for n in audit.notes)
    assert audit.seats.empty
    full = licences.audit(build(managed("a"), zoom_plans=PLANS, zoom_activities=[]))
    assert full.notes == [] and len(full.seats) == len(PLANS)
