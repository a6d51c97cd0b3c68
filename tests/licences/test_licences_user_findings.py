"""Per-user licence findings: one small named fixture per category and at every boundary."""

from __future__ import annotations

import pandas as pd
import pytest
from licence_fixtures import ROLES, ago, assign, build, entra_user, managed, zoom_user

from zoomaudit import licences


def cats(result, zoom_id=None) -> list[str]:
    f = result.findings
    if zoom_id is not None:
        f = f[f["zoom_id"] == zoom_id]
    return sorted(f["category"])


def flagged(result, category) -> set[str]:
    f = result.findings
    return set(f.loc[f["category"] == category, "zoom_id"])


# ------------------------------------------------------------------ licensed_inactive
def test_inactive_boundary_is_strictly_more_than_n_days():
    s = build(
        managed("exactly", login=ago(90)),
        managed("one_second_more", login=ago(90, seconds=1)),
        managed("one_second_less", login=ago(89, hours=23, minutes=59, seconds=59)),
        managed("day_91", login=ago(91)),
        managed("recent", login=ago(3)),
    )
    got = flagged(licences.audit(s, inactive_days=90), "licensed_inactive")
    assert got == {"z-one_second_more", "z-day_91"}


def test_moving_the_threshold_moves_the_boundary_day():
    s = build(managed("d89", login=ago(89)), managed("d90", login=ago(90)),
              managed("d91", login=ago(91)))  # fmt: skip
    assert flagged(licences.audit(s, inactive_days=90), "licensed_inactive") == {"z-d91"}
    assert flagged(licences.audit(s, inactive_days=89), "licensed_inactive") == {"z-d90", "z-d91"}
    assert flagged(licences.audit(s, inactive_days=88), "licensed_inactive") == {
        "z-d89", "z-d90", "z-d91"}  # fmt: skip
    assert flagged(licences.audit(s, inactive_days=91), "licensed_inactive") == set()


def test_never_logged_in_uses_the_grace_period_from_creation():
    s = build(
        managed("created_yesterday", login="never", created=ago(1)),
        managed("created_at_grace", login="never", created=ago(30)),
        managed("created_after_grace", login="never", created=ago(30, seconds=1)),
        managed("created_long_ago", login="never", created=ago(365)),
    )
    audit = licences.audit(s, grace_days=30)
    assert flagged(audit, "licensed_inactive") == {"z-created_after_grace", "z-created_long_ago"}
    row = audit.findings[audit.findings["zoom_id"] == "z-created_long_ago"].iloc[0]
    assert "never logged in" in row["detail"]
    assert pd.isna(row["last_login_time"])
    assert flagged(licences.audit(s, grace_days=0), "licensed_inactive") == {
        "z-created_yesterday", "z-created_at_grace", "z-created_after_grace",
        "z-created_long_ago"}  # fmt: skip


def test_never_logged_in_without_created_at_is_not_flagged():
    z = zoom_user("nodate", login="never")
    z["created_at"] = None
    s = build((z, entra_user("nodate"), assign("nodate")))
    assert flagged(licences.audit(s), "licensed_inactive") == set()


def test_only_licensed_active_users_can_be_inactive():
    s = build(
        managed("basic_old", role="Basic", type=1, login=ago(400)),
        managed("deact_old", status="inactive", login=ago(400)),
        managed("pending_old", status="pending", login="never", created=ago(400)),
    )
    assert flagged(licences.audit(s), "licensed_inactive") == set()


def test_login_buffer_is_reported_not_compensated():
    s = build(managed("near", login=ago(92)), managed("far", login=ago(200)))
    f = licences.audit(s).findings.set_index("zoom_id")
    assert set(f.index) == {"z-near", "z-far"}
    assert "buffer" in f.loc["z-near", "login_buffer_note"]
    assert f.loc["z-far", "login_buffer_note"] == ""
    assert f.loc["z-near", "days_since_login"] == 92.0


def test_entra_sign_in_and_zoom_activity_are_evidence_beside_the_finding():
    acts = [{"email": "old@contoso.example", "time": ago(5), "type": "Sign in"},
            {"email": "OLD@contoso.example", "time": ago(2), "type": "Sign out"},
            {"email": "old@contoso.example", "time": ago(10), "type": "Sign in"}]  # fmt: skip
    s = build(managed("old", login=ago(120)), zoom_activities=acts)
    row = licences.audit(s).findings.iloc[0]
    assert row["category"] == "licensed_inactive"  # last_login_time decides
    assert row["zoom_last_activity"] == pd.Timestamp(ago(5))
    assert row["entra_last_sign_in"] == pd.Timestamp(ago(2))


# ------------------------------------------------------------------ licensed_deactivated
def test_deactivated_licensed_users_in_scope_or_not():
    gone = zoom_user("gone", status="inactive")
    s = build(
        managed("kept", status="inactive"),
        managed("basic_deact", role="Basic", type=1, status="inactive"),
        extra_zoom=[gone],
    )
    assert flagged(licences.audit(s), "licensed_deactivated") == {"z-kept", "z-gone"}


# ------------------------------------------------------------------ licensed_entra_disabled
@pytest.mark.parametrize(
    ("entra", "assigned", "reason"),
    [
        (entra_user("u", enabled=False), True, "disabled"),
        (entra_user("u", deleted=True), True, "soft_deleted"),
        (entra_user("u"), False, "not_assigned"),
    ],
)
def test_licensed_user_whose_entra_user_is_out_of_scope(entra, assigned, reason):
    s = build(extra_zoom=[zoom_user("u")], extra_entra=[entra],
              extra_assign=[assign("u")] if assigned else [])  # fmt: skip
    audit = licences.audit(s)
    f = audit.findings[audit.findings["category"] == "licensed_entra_disabled"]
    assert list(f["zoom_id"]) == ["z-u"]
    assert f.iloc[0]["out_of_scope_reason"] == reason
    assert reason in f.iloc[0]["detail"]


def test_scoping_filter_exclusion_counts_as_out_of_scope():
    filt = [
        {
            "job_id": "j1",
            "rule_id": "r",
            "group_index": 0,
            "group_name": "g",
            "source_attribute": "department",
            "operator": "EQUALS",
            "values": ["Sales"],
        }
    ]
    jobs = [{"job_id": "j1", "schedule_state": "Active"}]
    e_in, e_out = entra_user("in", department="Sales"), entra_user("out", department="HR")
    s = build(extra_zoom=[zoom_user("in"), zoom_user("out")], extra_entra=[e_in, e_out],
              extra_assign=[assign("in"), assign("out")], scoping_filters=filt,
              sync_jobs=jobs)  # fmt: skip
    audit = licences.audit(s)
    assert flagged(audit, "licensed_entra_disabled") == {"z-out"}
    assert audit.findings.iloc[0]["out_of_scope_reason"] == "scoping_filter"


def test_basic_or_deactivated_zoom_users_are_not_entra_disabled_findings():
    s = build(
        extra_zoom=[zoom_user("b", type=1), zoom_user("d", status="inactive")],
        extra_entra=[entra_user("b", enabled=False), entra_user("d", enabled=False)],
    )
    assert flagged(licences.audit(s), "licensed_entra_disabled") == set()


# ------------------------------------------------------------------ licensed_unmanaged
def test_unmanaged_licensed_active_zoom_users():
    s = build(
        managed("ok"),
        extra_zoom=[zoom_user("stray"), zoom_user("stray_basic", type=1),
                    zoom_user("stray_off", status="inactive")],
    )  # fmt: skip
    audit = licences.audit(s)
    assert flagged(audit, "licensed_unmanaged") == {"z-stray"}
    assert flagged(audit, "licensed_deactivated") == {"z-stray_off"}


def test_unmanaged_comes_from_the_reconcile_result_given():
    from zoomaudit.reconcile import reconcile

    s = build(managed("ok"), extra_zoom=[zoom_user("stray")])
    rr = reconcile(s)
    rr.findings = rr.findings[rr.findings["category"] != "unmanaged_zoom_user"]
    assert flagged(licences.audit(s, reconcile_result=rr), "licensed_unmanaged") == set()


# ------------------------------------------------------------------ licence_role_mismatch
def test_role_mismatch_in_both_directions_for_in_scope_users():
    s = build(
        managed("over", role="Basic", type=2),
        managed("under", role="Licensed", type=1),
        managed("right", role="Licensed", type=2),
        managed("right_basic", role="Basic", type=1),
        managed("off", role="Basic", type=2, status="inactive"),
    )
    audit = licences.audit(s)
    f = audit.findings[audit.findings["category"] == "licence_role_mismatch"].set_index("zoom_id")
    assert set(f.index) == {"z-over", "z-under", "z-off"}
    assert bool(f.loc["z-over", "reclaimable"]) is True
    assert bool(f.loc["z-under", "reclaimable"]) is False
    assert f.loc["z-under", "intended_user_type"] == "Licensed"
    assert f.loc["z-under", "licence_type"] == "Basic"


def test_role_mismatch_of_a_pending_invite_without_zoom_id():
    s = build(
        managed("inv", role="Basic", type=2, status="pending", zoom_id=None),
        managed("inv_ok", role="Basic", type=1, status="pending", zoom_id=None),
    )
    f = licences.audit(s).findings
    assert list(f["category"]) == ["licence_role_mismatch"]
    assert f.iloc[0]["zoom_user_name"] == "inv@contoso.example" and pd.isna(f.iloc[0]["zoom_id"])
    assert f.iloc[0]["user_principal_name"] == "inv@contoso.example"


def test_on_prem_and_unknown_roles_are_not_compared():
    roles = [*ROLES, {"app_role_id": "r-op", "value": "On-Prem", "is_enabled": True}]
    a = {**assign("op"), "app_role_id": "r-op"}
    s = build(extra_zoom=[zoom_user("op", type=1)], extra_entra=[entra_user("op")],
              extra_assign=[a], entra_app_roles=roles)  # fmt: skip
    assert licences.audit(s).findings.empty


def test_nested_only_users_are_left_to_the_reconcile():
    groups = [{"group_id": "g", "display_name": "Zoom", "assigned": True}]
    members = [{"group_id": "g", "member_id": "e-nest", "member_type": "user", "direct": False}]
    ga = {"assignment_id": "a-g", "principal_id": "g", "principal_type": "Group",
          "app_role_id": "r-lic"}  # fmt: skip
    s = build(
        managed("ok"),
        extra_zoom=[zoom_user("nest")],
        extra_entra=[entra_user("nest")],
        extra_assign=[ga],
        entra_groups=groups,
        entra_group_members=members,
    )
    assert flagged(licences.audit(s), "licensed_entra_disabled") == set()


def test_role_mismatch_ignores_out_of_scope_users():
    s = build(extra_zoom=[zoom_user("x", type=1)], extra_entra=[entra_user("x", enabled=False)],
              extra_assign=[assign("x", "Licensed")])  # fmt: skip
    assert flagged(licences.audit(s), "licence_role_mismatch") == set()


# ------------------------------------------------------------------ several findings, exclusions
def test_a_user_can_have_several_findings_and_is_reclaimed_once(tmp_path):
    s = build(
        extra_zoom=[zoom_user("both", login=ago(200))],
        extra_entra=[entra_user("both", enabled=False)],
        extra_assign=[assign("both")],
    )
    audit = licences.audit(s, price_per_seat=12.5)
    assert cats(audit, "z-both") == ["licensed_entra_disabled", "licensed_inactive"]
    assert len(audit.reclaim) == 1
    assert audit.reclaim.iloc[0]["reasons"] == "licensed_inactive;licensed_entra_disabled"
    est = audit.estimate.set_index("category")
    assert est.loc["total", "users"] == 1
    assert est.loc["total", "per_month"] == 12.5
    assert est.loc["total", "per_year"] == 150.0
    assert est.loc["licensed_inactive", "users"] == 1


def test_exclusions_are_kept_marked_and_counted(tmp_path):
    excl = tmp_path / "excl.yaml"
    excl.write_text("exclusions:\n  - user: room@contoso.example\n    reason: room account\n")
    s = build(managed("room", login=ago(300)), managed("idle", login=ago(300)))
    audit = licences.audit(s, exclusions=excl, price_per_seat=10)
    f = audit.findings.set_index("zoom_id")
    assert set(f.index) == {"z-room", "z-idle"}
    assert (
        bool(f.loc["z-room", "excluded"]) and f.loc["z-room", "exclusion_reason"] == "room account"
    )
    assert not bool(f.loc["z-idle", "excluded"])
    summary = audit.summary().set_index("item")
    assert summary.loc["licensed_inactive", "value"] == 2
    assert summary.loc["licensed_inactive", "excluded"] == 1
    assert audit.estimate.set_index("category").loc["total", "users"] == 1
    plan = audit.reclaim.set_index("zoom_id")
    assert plan.loc["z-room", "action"].startswith("none")
    assert plan.loc["z-idle", "action"].startswith("would change")


def test_estimate_without_price_has_no_amounts():
    audit = licences.audit(build(managed("idle", login=ago(300))))
    total = audit.estimate.set_index("category").loc["total"]
    assert total["users"] == 1 and pd.isna(total["per_month"]) and pd.isna(total["per_year"])


def test_clean_account_has_no_findings_and_typed_empty_frames():
    audit = licences.audit(build(managed("fine"), managed("b", role="Basic", type=1)))
    assert audit.findings.empty
    assert list(audit.findings.columns) == list(licences.FINDING_COLUMNS)
    assert audit.reclaim.empty
    assert audit.estimate.set_index("category").loc["total", "users"] == 0


def test_negative_thresholds_are_refused():
    with pytest.raises(ValueError):
        licences.audit(build(managed("x")), inactive_days=-1)
