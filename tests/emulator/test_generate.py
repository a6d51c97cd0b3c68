"""The tenant generator and the provisioning-cycle simulation (small tenants, fast)."""

from __future__ import annotations

import io
import re
import unicodedata
from datetime import timedelta

import orjson
import pandas as pd
import pytest

from zoomaudit.emulator import cycle as cyc
from zoomaudit.emulator import model
from zoomaudit.emulator import schema as sch
from zoomaudit.emulator.generate import DEFAULT_NOW, copy_tenant, generate_tenant

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
FRAMES = ("users", "groups", "members", "assignments", "zoom_users")


def _bytes(t) -> bytes:
    out = io.BytesIO()
    for name in FRAMES:
        getattr(t, name).to_parquet(out, index=False)
    for _name, frame in sorted(t.answer_key.items()):
        frame.to_parquet(out, index=False)
    doc = [
        t.provisioning_events,
        t.sync_jobs,
        t.sync_schemas,
        t.service_principal,
        t.zoom_plans,
        t.zoom_domains,
        t.zoom_activities,
        t.zoom_account_id,
        t.tenant_id,
    ]
    out.write(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS))
    return out.getvalue()


def _sit(t, name: str) -> list[str]:
    s = t.answer_key["situations"]
    return s.loc[s["situation"] == name, "entra_id"].tolist()


def _user(t, entra_id: str) -> dict:
    return t.users.set_index("id").loc[entra_id].to_dict()


def _zoom_by_email(t, email: str):
    z = t.zoom_users
    hit = z[z["email"].str.lower() == email.lower()]
    return None if hit.empty else hit.iloc[0]


def _events_for(events, entra_id):
    return [e for e in events if e["sourceIdentity"]["id"] == entra_id]


@pytest.fixture(scope="module")
def base_tenant():
    return generate_tenant(300, seed=3)


@pytest.fixture
def tenant(base_tenant):
    return copy_tenant(base_tenant)


# ------------------------------------------------------------------ generation
def test_same_seed_same_bytes_other_seed_differs():
    a, b = generate_tenant(250, seed=11), generate_tenant(250, seed=11)
    assert _bytes(a) == _bytes(b)
    c = generate_tenant(250, seed=12)
    assert _bytes(a) != _bytes(c)
    assert not set(a.users["id"]) & set(c.users["id"])
    d = generate_tenant(250, seed=11, scenario="mail-username")
    assert _bytes(a) != _bytes(d)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="between"):
        generate_tenant(49)
    with pytest.raises(ValueError, match="scenario"):
        generate_tenant(100, scenario="nope")


def test_smallest_tenant_builds():
    t = generate_tenant(50, seed=1)
    assert len(t.users) == 50
    assert not t.answer_key["reconcile"].empty


def test_tables_have_the_model_columns(tenant):
    assert tuple(tenant.users.columns) == model.USER_COLUMNS
    assert tuple(tenant.groups.columns) == model.GROUP_COLUMNS
    assert tuple(tenant.members.columns) == model.MEMBER_COLUMNS
    assert tuple(tenant.assignments.columns) == model.ASSIGNMENT_COLUMNS
    assert tuple(tenant.zoom_users.columns) == model.ZOOM_USER_COLUMNS
    assert tenant.now == DEFAULT_NOW
    assert len(tenant.users) == 300


def test_ids_look_like_the_real_ones(tenant):
    assert tenant.users["id"].str.match(GUID).all()
    asg = tenant.assignments["id"]
    assert (asg.str.len() == 43).all() and asg.str.match(B64URL).all()
    assert not asg.str.match(GUID).any()
    zid = tenant.zoom_users["id"]
    assert (zid.str.len() == 22).all() and zid.str.match(B64URL).all()
    assert zid.str.contains(r"[-_]").any()
    assert zid.is_unique and tenant.users["id"].is_unique
    job = tenant.sync_jobs[0]
    assert re.match(rf"^zoom\.{tenant.tenant_id.replace('-', '')}\.[0-9a-f-]{{36}}$", job["id"])
    assert job["schedule"] == {"expiration": None, "interval": "PT40M", "state": "Active"}
    assert job["status"]["code"] == "Active"


def test_realistic_mess_is_present(tenant):
    u = tenant.users
    assert u["userPrincipalName"].str.contains("#EXT#").any()
    assert (u["userType"] == "Guest").any()
    assert u["deletedDateTime"].notna().any()
    assert (~u["accountEnabled"]).any()
    assert (u["mail"].str.lower() != u["userPrincipalName"].str.lower()).any()
    assert u["proxyAddresses"].map(lambda p: any(x.startswith("smtp:") for x in p)).any()
    assert u["otherMails"].map(len).gt(0).any()
    assert u["displayName"].str.contains("'").any()
    assert u["displayName"].map(lambda s: any(ord(c) > 0x2E80 for c in s)).any()
    assert u["surname"].dropna().map(lambda s: any(unicodedata.combining(c) for c in s)).any()
    assert (
        u["displayName"].map(lambda s: unicodedata.normalize("NFC", s)) == u["displayName"]
    ).all()
    g = tenant.groups
    dyn = g[g["groupTypes"].map(lambda x: "DynamicMembership" in x)]
    assert len(dyn) == 1 and dyn["membershipRule"].notna().all()
    assert (tenant.members["member_type"] == "group").any()
    roles = {r["displayName"]: r["value"] for r in tenant.service_principal["appRoles"]}
    assert roles["User"] is None and roles["msiam_access"] is None
    assert {"Basic", "Licensed", "On-Prem", "Pro", "Corp"} <= set(roles.values())
    z = tenant.zoom_users
    assert {"active", "inactive", "pending"} <= set(z["status"])
    nfd = z["display_name"].dropna().map(lambda s: unicodedata.normalize("NFC", s) != s)
    assert nfd.any()
    assert {d["status"] for d in tenant.zoom_domains} == {"verified", "pending"}
    plan = tenant.zoom_plans["plan_base"]
    assert plan["hosts"] >= plan["usage"] > 0
    assert isinstance(tenant.zoom_plans["plan_webinar"], list)
    assert "plan_zoom_quantum" in tenant.zoom_plans
    assert tenant.zoom_activities and {a["type"] for a in tenant.zoom_activities} == {
        "Sign in",
        "Sign out",
    }


def test_provisioning_events_have_graphs_shape(tenant):
    events = tenant.provisioning_events
    assert events
    actions = {e["provisioningAction"] for e in events}
    assert {"create", "update", "disable", "delete"} <= actions
    for e in events:
        assert set(e["servicePrincipal"]) == {"id", "displayName"}
        assert e["servicePrincipal"]["id"] == tenant.service_principal["id"]
        assert e["provisioningStatusInfo"]["status"] in {
            "success",
            "failure",
            "skipped",
            "warning",
        }
        assert {s["provisioningStepType"] for s in e["provisioningSteps"]} <= {
            "import",
            "scoping",
            "matching",
            "processing",
            "referenceResolution",
            "export",
        }
        assert e["activityDateTime"].endswith("Z")
    times = [e["activityDateTime"] for e in events]
    assert times == sorted(times)
    oldest = pd.Timestamp(times[0])
    assert oldest >= pd.Timestamp(tenant.now) - pd.Timedelta(days=30)
    codes = {
        e["provisioningStatusInfo"]["errorInformation"]["errorCode"]
        for e in events
        if e["provisioningStatusInfo"]["errorInformation"]
    }
    assert {
        "SystemForCrossDomainIdentityManagementBadResponse",
        "ZoomEntryConflict",
        "LicenseLimitExceeded",
        "TooManyRequests",
    } <= codes


def test_schema_mappings_as_entra_shows_them():
    default = generate_tenant(120, seed=2)
    om = sch.user_mapping(default.sync_schemas[default.sync_jobs[0]["id"]])
    by_target = {m["targetAttributeName"]: m for m in om["attributeMappings"]}
    assert by_target["userName"]["matchingPriority"] == 1
    assert by_target["userName"]["source"]["name"] == "userPrincipalName"
    assert by_target["userType"]["source"]["expression"] == (
        "SingleAppRoleAssignment([appRoleAssignments])"
    )
    assert om["scope"]["groups"] == []
    mail = generate_tenant(120, seed=2, scenario="mail-username")
    om = sch.user_mapping(mail.sync_schemas[mail.sync_jobs[0]["id"]])
    by_target = {m["targetAttributeName"]: m for m in om["attributeMappings"]}
    assert by_target["userName"]["source"]["expression"] == "[mail]"
    clauses = [c for g in om["scope"]["groups"] for c in g["clauses"]]
    assert {
        "sourceOperandName": "department",
        "operatorName": "NOT EQUALS",
        "targetOperand": {"values": ["Contractors"]},
    } in clauses


# ------------------------------------------------------------------ run_cycle semantics
def test_next_cycle_is_quiet_apart_from_planted_work(tenant):
    later = tenant.now + timedelta(minutes=40)
    events = cyc.run_cycle(tenant, later)
    assert events == tenant.provisioning_events[-len(events) :]
    for uid in _sit(tenant, "nested_none"):
        assert not _events_for(events, uid)
        assert _zoom_by_email(tenant, _user(tenant, uid)["userPrincipalName"]) is None
    for uid in _sit(tenant, "dis_post") + _sit(tenant, "sdel_post"):
        (event,) = _events_for(events, uid)
        assert event["provisioningAction"] == "disable"
        zoom = _zoom_by_email(tenant, _user(tenant, uid)["userPrincipalName"])
        assert zoom["status"] == "inactive"
    for uid in _sit(tenant, "drift"):
        (event,) = _events_for(events, uid)
        assert event["provisioningAction"] == "update"
    for uid in _sit(tenant, "np_new"):
        (event,) = _events_for(events, uid)
        assert (event["provisioningAction"], event["provisioningStatusInfo"]["status"]) == (
            "create",
            "success",
        )
    for uid in _sit(tenant, "np_domain"):
        (event,) = _events_for(events, uid)
        info = event["provisioningStatusInfo"]
        assert info["status"] == "failure"
        assert info["errorInformation"]["errorCode"] == (
            "SystemForCrossDomainIdentityManagementBadResponse"
        )
        assert event["targetIdentity"]["id"] == ""
    for uid in _sit(tenant, "nested_active") + _sit(tenant, "unasg_post"):
        (event,) = _events_for(events, uid)
        assert event["provisioningAction"] == "disable"
    again = cyc.run_cycle(tenant, later + timedelta(minutes=40))
    assert {e["provisioningStatusInfo"]["status"] for e in again} == {"failure"}


def test_newly_assigned_user_is_created_and_nested_members_are_not(tenant):
    fin = tenant.groups.set_index("displayName").loc["Zoom Wave 2 - Finance", "id"]
    sp = tenant.service_principal
    new = pd.DataFrame(
        [
            {
                "id": "x" * 43,
                "appRoleId": sch.ROLE_ID["Basic"],
                "principalId": fin,
                "principalType": "Group",
                "principalDisplayName": "Zoom Wave 2 - Finance",
                "createdDateTime": "2026-11-01T12:05:00Z",
            }
        ],
        dtype="str",
    )
    tenant.assignments = pd.concat([tenant.assignments, new], ignore_index=True)
    assert sp["id"]
    version = tenant.version
    events = cyc.run_cycle(tenant, tenant.now + timedelta(minutes=40))
    assert tenant.version > version
    created = {
        e["sourceIdentity"]["id"]
        for e in events
        if e["provisioningAction"] == "create"
        and e["provisioningStatusInfo"]["status"] == "success"
    }
    m = tenant.members
    direct = set(m.loc[(m["group_id"] == fin) & (m["member_type"] == "user"), "member_id"])
    users = tenant.users.set_index("id")
    for uid in direct:
        u = users.loc[uid]
        eligible = (
            u["accountEnabled"]
            and u["userType"] == "Member"
            and u["userPrincipalName"].endswith(("contoso.example", "fabrikam.example"))
            and _zoom_by_email(tenant, u["userPrincipalName"]) is not None
        )
        if (
            u["accountEnabled"]
            and u["userType"] == "Member"
            and not u["userPrincipalName"].endswith("northwind.example")
        ):
            assert eligible, uid
    nested = set(_sit(tenant, "cand_fin_nested")) | set(_sit(tenant, "cand_fin_nested2"))
    assert nested and not nested & created
    for uid in nested:
        assert _zoom_by_email(tenant, users.loc[uid, "userPrincipalName"]) is None
    guest_fail = [
        e
        for e in events
        if e["sourceIdentity"]["id"] in direct
        and e["provisioningStatusInfo"]["status"] == "failure"
    ]
    assert guest_fail  # the guest and the unverified-domain candidate fail
    z = _zoom_by_email(tenant, users.loc[next(iter(created & direct)), "userPrincipalName"])
    assert z["type"] == 1 and z["status"] == "active" and z["login_sso"]


def test_license_limit_and_conflict_prefix(tenant):
    free = [
        u
        for u in _sit(tenant, "free")
        if _zoom_by_email(tenant, _user(tenant, u)["userPrincipalName"]) is None
        and not pd.isna(_user(tenant, u)["mail"])
    ]
    uid = free[0]
    new = pd.DataFrame(
        [
            {
                "id": "y" * 43,
                "appRoleId": sch.ROLE_ID["Licensed"],
                "principalId": uid,
                "principalType": "User",
                "principalDisplayName": _user(tenant, uid)["displayName"],
                "createdDateTime": "2026-11-01T12:05:00Z",
            }
        ],
        dtype="str",
    )
    tenant.assignments = pd.concat([tenant.assignments, new], ignore_index=True)
    z = tenant.zoom_users
    used = int(((z["type"] == 2) & (z["status"] != "pending")).sum())
    tenant.zoom_plans["plan_base"]["hosts"] = used - 10  # drift repairs may free a few seats
    events = cyc.run_cycle(tenant, tenant.now + timedelta(minutes=40))
    (event,) = _events_for(events, uid)
    assert event["provisioningStatusInfo"]["errorInformation"]["errorCode"] == (
        "LicenseLimitExceeded"
    )
    assert _zoom_by_email(tenant, _user(tenant, uid)["userPrincipalName"]) is None
    for fid in _sit(tenant, "np_foreign"):
        (event,) = _events_for(events, fid)
        assert event["provisioningStatusInfo"]["errorInformation"]["errorCode"] == (
            "ZoomEntryConflict"
        )
    cyc.settings(tenant)["error_prefix"] = ""
    events = cyc.run_cycle(tenant, tenant.now + timedelta(minutes=80))
    for fid in _sit(tenant, "np_foreign"):
        (event,) = _events_for(events, fid)
        assert event["provisioningStatusInfo"]["errorInformation"]["errorCode"] == (
            "EntryConflict"
        )


def test_hard_delete_deletes_and_old_events_expire(tenant):
    uid = _sit(tenant, "sync")[0]
    upn = _user(tenant, uid)["userPrincipalName"]
    assert _zoom_by_email(tenant, upn) is not None
    tenant.users = tenant.users[tenant.users["id"] != uid].reset_index(drop=True)
    tenant.members = tenant.members[tenant.members["member_id"] != uid].reset_index(drop=True)
    tenant.assignments = tenant.assignments[tenant.assignments["principalId"] != uid]
    later = tenant.now + timedelta(days=31)
    events = cyc.run_cycle(tenant, later)
    (event,) = _events_for(events, uid)
    assert event["provisioningAction"] == "delete"
    assert _zoom_by_email(tenant, upn) is None
    cutoff = (later - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert all(e["activityDateTime"] >= cutoff for e in tenant.provisioning_events)


def test_throttled_cycle_fails_exports_with_too_many_requests(tenant):
    cyc.settings(tenant)["throttle_limit"] = 0
    events = cyc.run_cycle(tenant, tenant.now + timedelta(minutes=40))
    assert events
    codes = {e["provisioningStatusInfo"]["errorInformation"]["errorCode"] for e in events}
    assert "TooManyRequests" in codes
    for uid in _sit(tenant, "dis_post"):
        zoom = _zoom_by_email(tenant, _user(tenant, uid)["userPrincipalName"])
        assert zoom["status"] == "active"


def test_pending_invite_blocks_the_match(tenant):
    events = cyc.run_cycle(tenant, tenant.now + timedelta(minutes=40))
    for uid in _sit(tenant, "pending"):
        (event,) = _events_for(events, uid)
        assert event["provisioningStatusInfo"]["status"] == "failure"
        assert (
            "not exist or not belong"
            in (event["provisioningStatusInfo"]["errorInformation"]["reason"])
        )
        zoom = _zoom_by_email(tenant, _user(tenant, uid)["userPrincipalName"])
        assert zoom["status"] == "pending"


def test_paused_job_runs_no_cycle(tenant):
    tenant.sync_jobs[0]["schedule"]["state"] = "Paused"
    before = tenant.zoom_users.copy()
    assert cyc.run_cycle(tenant, tenant.now + timedelta(minutes=40)) == []
    pd.testing.assert_frame_equal(tenant.zoom_users, before)


def test_quarantine_scenario_keeps_default_rules():
    t = generate_tenant(150, seed=4, scenario="quarantine")
    status = t.sync_jobs[0]["status"]
    assert status["code"] == "Quarantine"
    assert status["quarantine"]["reason"] == "EncounteredEscrowProportionThreshold"
    om = sch.user_mapping(t.sync_schemas[t.sync_jobs[0]["id"]])
    assert om["scope"]["groups"] == []
    assert "attribute_drift" in set(t.answer_key["reconcile"]["category"])


def test_every_situation_is_documented_and_present(base_tenant):
    from zoomaudit.emulator.generate import SITUATION_DOCS

    present = set(base_tenant.answer_key["situations"]["situation"])
    assert present == set(SITUATION_DOCS) - {"hard"}  # hard-deleted users are gone
