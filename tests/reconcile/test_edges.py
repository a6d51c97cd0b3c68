"""Edges of matching and classification: case, Unicode, guests, nulls, evidence, mappings."""

from __future__ import annotations

import unicodedata

import pytest
from fixtures import BASIC, LICENSED, snapshot, user, zoom

from zoomaudit.mapping import simulate
from zoomaudit.reconcile import reconcile


def row(result, entra_id):
    f = result.findings
    rows = f[f["entra_id"] == entra_id]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_case_only_difference_in_username_still_matches_and_is_in_sync():
    s = snapshot(
        [user("u", "Ana Ruiz")],
        [zoom("z", "ANA.Ruiz@Contoso.Example", "Ana Ruiz", user_type="Licensed")],
        direct=[("u", LICENSED)],
    )
    r = row(reconcile(s), "u")
    assert r["category"] == "in_sync" and r["zoom_id"] == "z"


def test_case_only_difference_in_display_name_is_drift():
    s = snapshot(
        [user("u", "Ana Ruiz")],
        [zoom("z", "ana.ruiz@contoso.example", "ana ruiz", user_type="Licensed")],
        direct=[("u", LICENSED)],
    )
    r = row(reconcile(s), "u")
    assert r["category"] == "attribute_drift"
    assert "display_name" in r["drift_attributes"] and "given_name" in r["drift_attributes"]


def test_nfd_in_entra_and_nfc_in_zoom_match_and_compare_equal():
    nfd = unicodedata.normalize("NFD", "José Muñoz")
    nfc = unicodedata.normalize("NFC", "José Muñoz")
    upn_nfd = unicodedata.normalize("NFD", "josé.muñoz@contoso.example")
    upn_nfc = unicodedata.normalize("NFC", "josé.muñoz@contoso.example")
    assert nfd != nfc
    s = snapshot(
        [user("u", nfd, upn=upn_nfd)],
        [zoom("z", upn_nfc, nfc, user_type="Licensed")],
        direct=[("u", LICENSED)],
    )
    r = row(reconcile(s), "u")
    assert r["category"] == "in_sync", r["detail"]


def test_guest_with_ext_upn_and_no_mail_is_provisioned_by_upn():
    upn = "bob_fabrikam.example#EXT#@contoso.example"
    s = snapshot(
        [
            user(
                "g",
                "Bob Guest",
                upn=upn,
                mail=None,
                user_type="Guest",
                proxy_addresses=[],
                other_mails=["bob@fabrikam.example"],
            )
        ],
        [zoom("z", upn.lower(), "Bob Guest", user_type="Basic", work_email=None)],
        direct=[("g", BASIC)],
    )
    r = row(reconcile(s), "g")
    # mail is null: Entra does not send the work e-mail, so it is not compared
    assert r["category"] == "in_sync", r["detail"]


def test_guest_whose_other_mail_is_taken_in_zoom_is_email_conflict():
    upn = "bob_fabrikam.example#EXT#@contoso.example"
    s = snapshot(
        [
            user(
                "g",
                "Bob Guest",
                upn=upn,
                mail=None,
                user_type="Guest",
                proxy_addresses=[],
                other_mails=["bob@fabrikam.example"],
            )
        ],
        [zoom("z", "bob@fabrikam.example", "Bob Guest")],
        direct=[("g", BASIC)],
    )
    r = row(reconcile(s), "g")
    assert r["category"] == "email_conflict" and r["zoom_id"] == "z"
    assert "otherMails" in r["conflict_address"]


def test_proxy_alias_conflict_names_the_zoom_user():
    s = snapshot(
        [
            user(
                "u",
                "Cy Dee",
                proxy_addresses=["SMTP:cy.dee@contoso.example", "smtp:cy@contoso.example"],
            )
        ],
        [zoom("z", "cy@contoso.example", "Cy Dee")],
        direct=[("u", BASIC)],
    )
    r = reconcile(s)
    assert row(r, "u")["category"] == "email_conflict"
    assert r.findings["zoom_id"].tolist() == ["z"]  # no separate unmanaged row for z


def test_null_username_source_is_skipped_not_matched():
    s = snapshot(
        [user("u", "No Upn", upn=None, mail=None, proxy_addresses=[])],
        [zoom("z", "no.upn@contoso.example", "No Upn")],
        direct=[("u", BASIC)],
    )
    r = reconcile(s)
    assert row(r, "u")["category"] == "not_provisioned"
    assert set(r.findings["category"]) == {"not_provisioned", "unmanaged_zoom_user"}


def test_null_attribute_in_entra_is_not_drift_but_null_in_zoom_is():
    s = snapshot(
        [user("u", "Ana Ruiz", department=None), user("v", "Bo Li")],
        [
            zoom("z", "ana.ruiz@contoso.example", "Ana Ruiz", user_type="Basic", department="Ops"),
            zoom("y", "bo.li@contoso.example", "Bo Li", user_type="Basic", department=None),
        ],
        direct=[("u", BASIC), ("v", BASIC)],
    )
    r = reconcile(s)
    assert row(r, "u")["category"] == "in_sync"
    assert row(r, "v")["category"] == "attribute_drift"
    assert "department: expected 'Sales', actual '<none>'" in row(r, "v")["detail"]


def test_user_type_drift_from_role():
    s = snapshot(
        [user("u", "Ana Ruiz")],
        [zoom("z", "ana.ruiz@contoso.example", "Ana Ruiz", user_type="Basic")],
        direct=[("u", LICENSED)],
    )
    r = row(reconcile(s), "u")
    assert r["category"] == "attribute_drift" and r["drift_attributes"] == "user_type"


def test_disabled_user_in_assigned_group_with_active_zoom_should_be_deactivated():
    s = snapshot(
        [user("u", "Di Sa", account_enabled=False)],
        [zoom("z", "di.sa@contoso.example", "Di Sa")],
        group_members=["u"],
    )
    r = row(reconcile(s), "u")
    assert r["category"] == "should_be_deactivated" and "disabled" in r["detail"]


def test_disabled_user_with_inactive_zoom_has_no_finding():
    s = snapshot(
        [user("u", "Di Sa", account_enabled=False)],
        [zoom("z", "di.sa@contoso.example", "Di Sa", status="inactive")],
        group_members=["u"],
    )
    assert reconcile(s).findings.empty


def test_soft_deleted_user_with_prefixed_upn_still_matches_zoom():
    upn = "0123456789abcdef0123456789abcdefso.de@contoso.example"
    s = snapshot(
        [user("s", "So De", upn=upn, soft_deleted=True)],
        [zoom("z", "so.de@contoso.example", "So De")],
    )
    r = row(reconcile(s), "s")
    assert r["category"] == "should_be_deactivated" and "soft-deleted" in r["detail"]


def test_nested_only_user_with_active_zoom_is_nested_group_only():
    s = snapshot(
        [user("n", "Ne St")], [zoom("z", "ne.st@contoso.example", "Ne St")], nested_members=["n"]
    )
    r = reconcile(s)
    assert row(r, "n")["category"] == "nested_group_only"
    assert "active" in row(r, "n")["detail"]
    assert len(r.findings) == 1  # the Zoom user is matched, not unmanaged


def test_not_provisioned_evidence_latest_event():
    events = [
        {
            "event_id": "e1",
            "activity_at": "2026-01-10T10:00:00Z",
            "action": "create",
            "status": "failure",
            "error_code": "ZoomEntryConflict",
            "error_reason": "old",
            "source_id": "u",
        },
        {
            "event_id": "e2",
            "activity_at": "2026-01-14T10:00:00Z",
            "action": "create",
            "status": "failure",
            "error_code": "SystemForCrossDomainIdentityManagementBadResponse",
            "error_reason": "Zoom said 400",
            "source_id": "u",
        },
    ]
    s = snapshot([user("u", "Ev Id")], direct=[("u", BASIC)], events=events[::-1])
    r = row(reconcile(s), "u")
    assert r["category"] == "not_provisioned"
    assert r["last_event_error_code"] == "SystemForCrossDomainIdentityManagementBadResponse"
    assert "Zoom said 400" in r["detail"]


def test_not_provisioned_within_one_cycle_says_pending():
    s = snapshot(
        [user("u", "Ne Wu")],
        direct=[("u", BASIC)],
        taken_at="2026-01-15T12:00:00Z",
        assigned_at="2026-01-15T11:35:00Z",
    )
    r = row(reconcile(s), "u")
    assert r["category"] == "not_provisioned"
    assert r["detail"] == "pending: assigned 25 minutes ago"


def test_mail_as_username_mapping_and_constant_mapping():
    mappings = [
        {
            "job_id": "zoom.job",
            "object_mapping": "Synchronize Azure Active Directory Users to x",
            "target_attribute": "userName",
            "source_type": "Attribute",
            "expression": "[mail]",
            "matching_priority": 1,
        },
        {
            "job_id": "zoom.job",
            "object_mapping": "Synchronize Azure Active Directory Users to x",
            "target_attribute": "userType",
            "source_type": "Constant",
            "expression": '"Basic"',
        },
        {
            "job_id": "zoom.job",
            "object_mapping": "Synchronize Azure Active Directory Users to x",
            "target_attribute": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
            "employeeNumber",
            "source_type": "Attribute",
            "expression": "[employeeId]",
        },
        {
            "job_id": "zoom.job",
            "object_mapping": "Synchronize Azure Active Directory Groups to x",
            "target_attribute": "displayName",
            "source_type": "Attribute",
            "expression": "[displayName]",
            "matching_priority": 1,
        },
    ]
    s = snapshot(
        [user("u", "Ma Il", mail="mail@contoso.example", employee_id="E1")],
        [zoom("z", "MAIL@contoso.example", "Ma Il", user_type="Basic")],
        direct=[("u", LICENSED)],
        mappings=mappings,
    )
    exp = simulate(s)
    assert exp.attrs["matching"] == ["user_name"]
    assert exp.loc[0, "user_name"] == "mail@contoso.example"
    assert exp.loc[0, "employee_number"] == "E1"
    assert exp.loc[0, "user_type"] == "Basic"
    r = row(reconcile(s), "u")
    assert r["category"] == "in_sync", r["detail"]


def test_simulate_role_override_for_readiness():
    s = snapshot([user("u", "No Role")])
    exp = simulate(s, role_values={"u": "Licensed"}, assume_in_scope=True)
    assert exp.loc[0, "user_type"] == "Licensed" and bool(exp.loc[0, "active"])
    assert not bool(simulate(s).loc[0, "active"])  # not assigned -> IsSoftDeleted


def _mapping(target, expr, prio=0, stype="Function"):
    return {
        "job_id": "zoom.job",
        "object_mapping": "Synchronize Azure Active Directory Users to x",
        "target_attribute": target,
        "source_type": stype,
        "expression": expr,
        "matching_priority": prio,
    }


def test_unevaluable_mapping_is_reported_and_not_compared():
    mappings = [
        _mapping("userName", "[userPrincipalName]", 1, "Attribute"),
        _mapping("displayName", "Guid()"),
        _mapping('phoneNumbers[type eq "work"].value', "[telephoneNumber]", 0, "Attribute"),
    ]
    s = snapshot(
        [user("u", "Ana Ruiz")],
        [zoom("z", "ana.ruiz@contoso.example", "Other")],
        direct=[("u", BASIC)],
        mappings=mappings,
    )
    exp = simulate(s)
    assert set(exp.attrs["unevaluated"]) == {"display_name", "phone_numbers_work_value"}
    assert "cannot be simulated" in exp.attrs["unevaluated"]["display_name"]
    assert row(reconcile(s), "u")["category"] == "in_sync"  # displayName not compared


def test_matching_attribute_that_cannot_be_evaluated_is_an_error():
    from zoomaudit.errors import ExpressionError

    s = snapshot([user("u", "Ana Ruiz")], mappings=[_mapping("userName", "Frob([mail])", 1)])
    with pytest.raises(ExpressionError, match="unknown function Frob"):
        reconcile(s)


def test_expression_mapping_for_username():
    s = snapshot(
        [user("u", "Ana Ruiz", upn="Ana.Ruiz@corp.example")],
        [zoom("z", "ana.ruiz@contoso.example", "Ana Ruiz", user_type="Basic")],
        direct=[("u", BASIC)],
        mappings=[
            _mapping(
                "userName",
                'ToLower(Replace([userPrincipalName], "@corp.example", , , '
                '"@contoso.example", , ))',
                1,
            )
        ],
    )
    assert simulate(s).loc[0, "user_name"] == "ana.ruiz@contoso.example"
    assert row(reconcile(s), "u")["category"] == "in_sync"


def test_incomplete_snapshot_is_refused_unless_allowed():
    from zoomaudit.errors import SnapshotError
    from zoomaudit.snapshot import Snapshot

    s = snapshot([user("u", "Ana Ruiz")], direct=[("u", BASIC)])
    inc = Snapshot(id="x", manifest={**s.manifest, "complete": False}, tables=s.tables)
    with pytest.raises(SnapshotError, match="incomplete"):
        reconcile(inc)
    assert len(reconcile(inc, allow_incomplete=True).findings) == 1


def test_positions_both_strategies_agree():
    import numpy as np
    import pandas as pd

    from zoomaudit.matching import positions

    table = pd.Series([f"k{i % 15000}" for i in range(20000)] + [None], dtype="str")
    keys = pd.Series(["k3", "nope", None, "k14999", "k3"], dtype="str")
    small = positions(keys, table)  # hashes the keys (table is much larger)
    big = positions(pd.concat([keys] * 2000, ignore_index=True), table)[:5]  # hashes the table
    assert small.tolist() == big.tolist() == [3, -1, -1, 14999, 3]
    assert np.issubdtype(small.dtype, np.integer)


def test_several_zoom_users_with_one_key_prefer_active_and_are_counted():
    from zoomaudit.matching import match, zoom_accounts

    s = snapshot(
        [user("u", "Du Pe")],
        [
            zoom("z-old", "du.pe@contoso.example", "Du Pe", status="inactive"),
            zoom("z-new", "DU.PE@contoso.example", "Du Pe", user_type="Basic"),
        ],
        direct=[("u", BASIC)],
    )
    exp = simulate(s)
    m = match(exp, zoom_accounts(s))
    assert m["zoom_id"].tolist() == ["z-new"] and m["candidates"].tolist() == [2]
    r = reconcile(s)
    assert row(r, "u")["category"] == "in_sync"
    # the other account is claimed by nobody: deactivated, so no finding of its own
    assert len(r.findings) == 1
