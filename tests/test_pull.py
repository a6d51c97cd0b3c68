"""End to end against the emulator: complete pulls equal the generator's truth, faults are
survived or refused with the right message, interrupted pulls leave nothing behind, secrets
never reach a file or a log line."""

from __future__ import annotations

import json
import logging
import os

import pandas as pd
import pytest

from zoomaudit import frames
from zoomaudit.config import Secret, Settings
from zoomaudit.emulator.core import EmulatorOptions, FaultPlan
from zoomaudit.errors import (
    IncompleteDataError,
    PermissionDeniedError,
    ServiceError,
    ThrottledError,
)
from zoomaudit.pull import pull
from zoomaudit.snapshot import list_snapshots, load
from zoomaudit.sources.http import fast_policy

KEYS = {
    "entra_users": ["entra_id"],
    "entra_assignments": ["assignment_id"],
    "entra_app_roles": ["app_role_id"],
    "entra_group_members": ["group_id", "member_id"],
    "zoom_scim_users": ["zoom_id"],
    "zoom_users": ["email"],
    "attribute_mappings": ["job_id", "rule_id", "object_mapping", "target_attribute"],
    "scoping_filters": ["job_id", "rule_id", "group_index", "source_attribute", "operator"],
    "sync_jobs": ["job_id"],
    "entra_app": ["sp_id"],
    "entra_groups": ["group_id"],
    "zoom_domains": ["domain"],
    "provisioning_events": ["event_id"],
}
JSON_COLUMNS = ("modified_properties", "steps")


def settings_for(emu, **overrides) -> Settings:
    return Settings.from_env(emu.env(), dotenv=None, use_keyring=False).with_overrides(**overrides)


def truth(emu):
    from zoomaudit.emulator.to_snapshot import to_snapshot

    return to_snapshot(emu.tenant)


def _known_differences(table: str, got: pd.DataFrame, want: pd.DataFrame):
    """Where the in-memory truth (``to_snapshot``) knows more than the APIs expose."""
    if table == "entra_users":
        # /directory/deletedItems is read without signInActivity
        for col in ("last_sign_in", "last_successful_sign_in"):
            want.loc[want["soft_deleted"].fillna(False).astype(bool), col] = pd.NaT
    if table == "zoom_users":
        # Zoom lists pending invites with email, type, status and created_at only
        pending = want["status"] == "pending"
        for col in (
            "first_name",
            "last_name",
            "display_name",
            "dept",
            "role_id",
            "last_login_time",
            "user_created_at",
            "last_client_version",
        ):
            want.loc[pending, col] = got.loc[pending, col]
    if table == "zoom_scim_users":
        # SCIM userType for REST types the truth does not map (4, 99) is kept as sent
        unmapped = want["user_type"].isna()
        want.loc[unmapped, "user_type"] = got.loc[unmapped, "user_type"]
    return got, want


def assert_equals_truth(snap, emu, tables=tuple(KEYS)) -> None:
    expected = truth(emu)
    for table in tables:
        keys = KEYS[table]
        got = frames.conform(snap.table(table), table).sort_values(keys).reset_index(drop=True)
        want = frames.conform(expected.table(table), table)
        want = want.sort_values(keys).reset_index(drop=True)
        if table == "sync_jobs":
            jobs = {j["id"]: j for j in emu.tenant.sync_jobs}
            for row in got.itertuples():
                job = jobs[row.job_id]
                assert row.status_code == job["status"]["code"]
                assert row.schedule_interval == job["schedule"]["interval"]
                last = job["status"].get("lastExecution") or {}
                assert row.last_execution_state == last.get("state")
                assert row.last_count_escrowed == last.get("countEscrowed")
            assert list(got["job_id"]) == sorted(jobs)
            continue
        if table == "entra_groups":
            # the pull reads the assigned groups (and --candidate-groups), not every group
            want = want[want["assigned"].fillna(False) | want["candidate"].fillna(False)]
            want = want.reset_index(drop=True)
        if table == "provisioning_events":
            # only the pulled window (since_days before the emulator's now) is expected
            since = emu.state.clock.now() - pd.Timedelta(
                days=snap.manifest["options"]["since_days"]
            )
            want = want[want["activity_at"] > since].reset_index(drop=True)
            for col in JSON_COLUMNS:
                assert [json.loads(v) for v in got[col]] == [json.loads(v) for v in want[col]]
                got, want = got.drop(columns=col), want.drop(columns=col)
            pd.testing.assert_frame_equal(got, want, obj=table)
            continue
        assert got.shape == want.shape, (table, got.shape, want.shape)
        got, want = _known_differences(table, got, want)
        pd.testing.assert_frame_equal(got, frames.conform(want, table), obj=table)


def test_full_pull_equals_the_generated_truth(make_emulator, tmp_path):
    emu = make_emulator(users=1500, seed=3)
    path = pull(settings_for(emu), out=tmp_path, policy=fast_policy(), now=emu.state.clock.now())
    snap = load(path)
    assert snap.complete and snap.manifest["source"] == "api"
    assert_equals_truth(snap, emu)
    counts = snap.manifest["counts"]
    assert counts["entra_users"]["expected"] == counts["entra_users"]["received"]
    assert counts["zoom_scim_users"]["received"] == len(snap.table("zoom_scim_users"))
    assert snap.manifest["tenant"]["app_id"] == emu.tenant.service_principal["appId"]
    assert snap.schemas  # schema/<job>.json
    assert (path / "raw" / "entra" / "users.jsonl.gz").is_file()
    assert len(snap.table("provisioning_events")) > 0 and len(snap.table("zoom_plans")) > 0
    assert path.name.endswith(emu.tenant.tenant_id)


@pytest.mark.parametrize(
    "faults",
    [
        "graph:/users$:429=1x2;zoom:/scim2/Users:429=1x2",
        "graph:/users$:429-none;zoom:/v2/users:429-date=1",
        "graph:/users$:503x2;zoom:/scim2/Users:500x2;graph:/members:504",
        "graph:/users$:html;zoom:/scim2/Users:html;zoom:/v2/users:502",
        "graph:/users$:malformed;zoom:/scim2/Users:truncated;graph:/appRoleAssignedTo:truncated",
        "graph:/users$:empty-page;graph:/auditLogs:empty-page",
        "zoom:/scim2/Users:expire-token@2;graph:/users$:expire-token",
        "zoom:/scim2/Users:short@1",
        "zoom:/scim2/Users:shift@2",
        "zoom:/scim2/Users:empty-page@1;graph:/transitiveMembers:empty-page",
        "graph:/users$:short",
    ],
)
def test_faults_are_survived_without_loss(make_emulator, tmp_path, faults):
    emu = make_emulator(users=400, seed=5, faults=faults)
    path = pull(settings_for(emu), out=tmp_path, policy=fast_policy())
    snap = load(path)
    assert snap.complete
    # every injected fault really happened
    assert all(f.fired == f.count for f in emu.state.faults.faults), emu.state.faults.faults
    tables = ["entra_users", "zoom_scim_users", "entra_assignments", "entra_group_members"]
    if "shift" in faults:
        # the SCIM listing changed mid-pull: read again, so it matches the tenant after it
        assert snap.manifest["zoom_scim_passes"] >= 2
    else:
        tables.append("zoom_users")  # (REST ran concurrently with the shift: not comparable)
    assert_equals_truth(snap, emu, tables)
    if "expire-token" in faults:
        assert snap.manifest["requests"]["token_renewals"]


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        ("graph:/users$:503x*", ServiceError),
        ("zoom:/scim2/Users:429=1x*", ThrottledError),
    ],
)
def test_interrupted_pull_leaves_earlier_snapshots_and_no_temp_dir(
    make_emulator, tmp_path, faults, error
):
    emu = make_emulator(users=120, seed=2)
    earlier = pull(settings_for(emu), out=tmp_path, policy=fast_policy())
    emu.state.faults.faults.extend(FaultPlan.parse(faults).faults)
    short_budget = fast_policy()
    short_budget.max_attempts = 3
    with pytest.raises(error):
        pull(settings_for(emu), out=tmp_path, policy=short_budget)
    assert sorted(os.listdir(tmp_path)) == [earlier.name]
    assert load(earlier).complete


def test_persistent_short_pages_raise_incomplete_or_mark_it(make_emulator, tmp_path):
    emu = make_emulator(users=300, seed=4, faults="zoom:/scim2/Users:shortx*@1")
    with pytest.raises(IncompleteDataError, match="zoom_scim_users"):
        pull(settings_for(emu), out=tmp_path, policy=fast_policy(), sources=("zoom",))
    assert os.listdir(tmp_path) == []
    path = pull(
        settings_for(emu),
        out=tmp_path,
        policy=fast_policy(),
        sources=("zoom",),
        allow_incomplete=True,
    )
    info = list_snapshots(tmp_path)[0]
    assert not info.complete and "zoom_scim_users" in info.incomplete_reason
    assert load(path, allow_incomplete=True).table("zoom_scim_users") is not None


ALL_READ = frozenset(
    {
        "User.Read.All",
        "Application.Read.All",
        "GroupMember.Read.All",
        "Synchronization.Read.All",
        "AuditLog.Read.All",
        "Directory.Read.All",
    }
)


@pytest.mark.parametrize(
    ("missing", "call", "permission"),
    [
        ({"User.Read.All", "Directory.Read.All"}, lambda g, sp: g.users(), "User.Read.All"),
        (
            {"Application.Read.All", "Directory.Read.All"},
            lambda g, sp: g.assignments(sp),
            "Application.Read.All",
        ),
        (
            {"GroupMember.Read.All", "Directory.Read.All"},
            lambda g, sp: g.members("00000000-0000-0000-0000-000000000001", transitive=False),
            "GroupMember.Read.All",
        ),
        (
            {"AuditLog.Read.All"},
            lambda g, sp: g.provisioning_logs(sp, 7),
            "AuditLog.Read.All and Directory.Read.All",
        ),
        ({"Synchronization.Read.All"}, lambda g, sp: g.sync_jobs(sp), "Synchronization.Read.All"),
    ],
)
def test_graph_permission_403_names_the_permission(make_emulator, missing, call, permission):
    from zoomaudit.pull import run_sync
    from zoomaudit.sources.graph import GraphSource
    from zoomaudit.sources.http import Stats

    options = EmulatorOptions(graph_permissions=ALL_READ - missing)
    emu = make_emulator(users=50, seed=1, options=options)
    sp = emu.tenant.service_principal["id"]

    async def go():
        g = GraphSource(settings_for(emu), policy=fast_policy(), stats=Stats())
        try:
            return await call(g, sp)
        finally:
            await g.aclose()

    with pytest.raises(PermissionDeniedError, match=permission.replace(".", r"\.")) as info:
        run_sync(go())
    assert info.value.permission == permission


def test_pull_without_user_read_fails_with_the_permission_and_writes_nothing(
    make_emulator, tmp_path
):
    options = EmulatorOptions(graph_permissions=ALL_READ - {"User.Read.All", "Directory.Read.All"})
    emu = make_emulator(users=50, seed=1, options=options)
    with pytest.raises(PermissionDeniedError, match=r"User\.Read\.All"):
        pull(settings_for(emu), out=tmp_path, policy=fast_policy(), sources=("entra",))
    assert os.listdir(tmp_path) == []


def test_non_premium_tenant_is_recorded_in_manifest(make_emulator, tmp_path):
    emu = make_emulator(users=80, seed=1, options=EmulatorOptions(premium=False))
    snap = load(pull(settings_for(emu), out=tmp_path, policy=fast_policy()))
    assert "signInActivity" in snap.manifest["unavailable"]
    assert snap.table("entra_users")["last_sign_in"].isna().all()
    assert len(snap.table("entra_users")) == len(emu.tenant.users)


def test_client_secret_credential_against_https_authority(make_emulator, tmp_path):
    emu = make_emulator(users=60, seed=7, https_authority=True)
    settings = settings_for(emu)
    assert settings.graph_auth == "secret" and settings.ca_bundle
    snap = load(pull(settings, out=tmp_path, policy=fast_policy(), sources=("entra",)))
    assert_equals_truth(snap, emu, ("entra_users",))


def test_secrets_never_reach_files_or_logs(make_emulator, tmp_path, caplog):
    emu = make_emulator(users=60, seed=7, faults="zoom:/v2/users:expire-token")
    settings = settings_for(emu)
    planted = ["graph-token-PLANTED-7f3a9c", emu.state.options.zoom_client_secret]
    settings = settings.with_overrides(
        graph_token=Secret(planted[0]),
    )
    caplog.set_level(logging.DEBUG, logger="zoomaudit")
    path = pull(settings, out=tmp_path, policy=fast_policy())
    blobs = []
    for root, _, files in os.walk(path):
        for f in files:
            data = open(os.path.join(root, f), "rb").read()
            if f.endswith(".gz"):
                import gzip

                data = gzip.decompress(data)
            blobs.append(data)
    issued = list(emu.state.issued_tokens)
    for secret in planted + issued:
        assert all(secret.encode() not in b for b in blobs), secret
        assert secret not in caplog.text


def test_candidate_groups_by_name_and_id_with_nested_members(make_emulator, tmp_path):
    from zoomaudit.emulator.to_snapshot import group_members

    emu = make_emulator(users=200, seed=9)
    t = emu.tenant
    assigned = set(t.assignments.loc[t.assignments["principalType"] == "Group", "principalId"])
    others = t.groups[~t.groups["id"].isin(assigned)].sort_values("id")
    by_name, by_id = others.iloc[0], others.iloc[-1]
    snap = load(
        pull(
            settings_for(emu),
            out=tmp_path,
            policy=fast_policy(),
            sources=("entra",),
            candidate_groups=(by_name["displayName"], by_id["id"]),
        )
    )
    groups = snap.table("entra_groups").set_index("group_id")
    assert groups.loc[by_name["id"], "candidate"] and not groups.loc[by_name["id"], "assigned"]
    assert groups.loc[by_id["id"], "candidate"]
    got = snap.table("entra_group_members")
    for gid in (by_name["id"], by_id["id"]):
        want = group_members(t, [gid])
        mine = got[got["group_id"] == gid]
        assert dict(zip(mine["member_id"], mine["direct"], strict=True)) == dict(
            zip(want["member_id"], want["direct"], strict=True)
        )


def test_unknown_candidate_group_is_one_clear_error(make_emulator, tmp_path):
    from zoomaudit.errors import LookupFailedError

    emu = make_emulator(users=50, seed=9)
    with pytest.raises(LookupFailedError, match="no group with id or display name 'Nope'"):
        pull(settings_for(emu), out=tmp_path, policy=fast_policy(), candidate_groups=("Nope",))
    assert os.listdir(tmp_path) == []


def test_wrong_client_secret_is_one_clear_line_without_the_secret(make_emulator, tmp_path):
    from zoomaudit.errors import AuthenticationError

    emu = make_emulator(users=50, seed=7, https_authority=True)
    wrong = "wrong-secret-PLANTED-91c2"
    settings = settings_for(emu).with_overrides(client_secret=Secret(wrong))
    with pytest.raises(AuthenticationError, match="ZOOMAUDIT_CLIENT_SECRET") as info:
        pull(settings, out=tmp_path, policy=fast_policy(), sources=("entra",))
    assert wrong not in str(info.value) and "\n" not in str(info.value)
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_ten_thousand_user_pull_equals_the_truth(make_emulator, tmp_path):
    emu = make_emulator(users=10_000, seed=21)
    path = pull(settings_for(emu), out=tmp_path, now=emu.state.clock.now())
    assert_equals_truth(load(path), emu)
