"""Second reading of issue 5's categories: precedence, matching and evidence on small fixtures."""

from __future__ import annotations

import unicodedata

from fixtures import BASIC, LICENSED, snapshot, user, zoom

from zoomaudit.reconcile import reconcile

MAIL_USERNAME = [
    {"job_id": "zoom.job", "object_mapping": "Provision Azure Active Directory Users",
     "target_attribute": "userName", "expression": "[mail]", "source_type": "Attribute",
     "matching_priority": 1},
    {"job_id": "zoom.job", "object_mapping": "Provision Azure Active Directory Users",
     "target_attribute": 'emails[type eq "work"].value', "expression": "[mail]",
     "source_type": "Attribute", "matching_priority": 0},
    {"job_id": "zoom.job", "object_mapping": "Provision Azure Active Directory Users",
     "target_attribute": "userType",
     "expression": "SingleAppRoleAssignment([appRoleAssignments])",
     "source_type": "Function", "matching_priority": 0},
]  # fmt: skip


def rows(result, entra_id=None, zoom_id=None):
    f = result.findings
    if entra_id is not None:
        return f[f["entra_id"] == entra_id]
    return f[f["zoom_id"] == zoom_id]


def one(result, entra_id):
    r = rows(result, entra_id)
    assert len(r) == 1, r
    return r.iloc[0]


def test_disabled_nested_only_user_is_should_be_deactivated_not_nested():
    # nesting is not the *only* reason: the user would stay out of scope if nesting counted
    u = user("u1", "Ana Ruiz", account_enabled=False)
    z = zoom("z1", "ana.ruiz@contoso.example", "Ana Ruiz")
    r = one(reconcile(snapshot([u], [z], nested_members=["u1"])), "u1")
    assert r["category"] == "should_be_deactivated"
    assert "disabled" in r["detail"]


def test_disabled_nested_only_user_without_zoom_account_has_no_row():
    u = user("u1", "Ana Ruiz", account_enabled=False)
    assert rows(reconcile(snapshot([u], nested_members=["u1"])), "u1").empty


def test_nested_only_enabled_user_is_nested_group_only_whatever_the_zoom_state():
    for status in ("active", "inactive", "pending"):
        u = user("u1", "Ana Ruiz")
        z = zoom("z1" if status != "pending" else None, "ana.ruiz@contoso.example", "Ana Ruiz",
                 status=status)  # fmt: skip
        res = reconcile(snapshot([u], [z], nested_members=["u1"]))
        assert one(res, "u1")["category"] == "nested_group_only", status
        # the Zoom user is matched: no second (Zoom-only) row for it
        assert len(res.findings) == 1


def test_soft_deleted_user_matched_by_pending_invite_has_no_row():
    # category 8: out of scope without an *active* Zoom account; the invite is matched
    upn = "0123456789abcdef0123456789abcdef" + "bo.li@contoso.example"
    u = user("u2", "Bo Li", soft_deleted=True, upn=upn)
    z = zoom(None, "bo.li@contoso.example", "Bo Li", status="pending")
    res = reconcile(snapshot([u], [z], direct=[("u2", BASIC)]))
    assert res.findings.empty


def test_soft_deleted_user_with_active_zoom_account_is_should_be_deactivated():
    upn = "0123456789abcdef0123456789abcdef" + "bo.li@contoso.example"
    u = user("u2", "Bo Li", soft_deleted=True, upn=upn)
    z = zoom("z2", "bo.li@contoso.example", "Bo Li")
    r = one(reconcile(snapshot([u], [z], direct=[("u2", BASIC)])), "u2")
    assert r["category"] == "should_be_deactivated"
    assert "soft-deleted" in r["detail"]


def test_null_expected_user_name_never_matches_and_the_detail_says_why():
    u = user("u3", "Cy Do", mail=None)
    res = reconcile(snapshot([u], group_members=["u3"], mappings=MAIL_USERNAME))
    r = one(res, "u3")
    assert r["category"] == "not_provisioned"
    assert "expected userName is empty" in r["detail"]


def test_null_expected_user_name_with_upn_held_in_zoom_is_email_conflict():
    u = user("u3", "Cy Do", mail=None)
    z = zoom("z3", "cy.do@contoso.example", "Cy Do", user_type="Basic")
    r = one(reconcile(snapshot([u], [z], group_members=["u3"], mappings=MAIL_USERNAME)), "u3")
    assert r["category"] == "email_conflict"
    assert r["zoom_id"] == "z3"
    assert "expected userName is empty" in r["detail"] and "''" not in r["detail"]


def test_directly_assigned_user_also_in_nested_group_is_in_scope():
    u = user("u4", "Di Fa")
    z = zoom("z4", "di.fa@contoso.example", "Di Fa", user_type="Basic")
    res = reconcile(snapshot([u], [z], direct=[("u4", BASIC)], nested_members=["u4"]))
    assert one(res, "u4")["category"] == "in_sync"


def test_guest_with_ext_upn_is_matched_on_the_upn_only():
    upn = "ed.gu_fabrikam.example#EXT#@contoso.example"
    u = user("u5", "Ed Gu", upn=upn, mail="ed.gu@fabrikam.example", user_type="Guest")
    z = zoom("z5", "ed.gu@fabrikam.example", "Ed Gu", user_type="Basic")
    r = one(reconcile(snapshot([u], [z], group_members=["u5"])), "u5")
    # the mail is another address: it explains the conflict, it is never a silent match
    assert r["category"] == "email_conflict"
    assert "(mail)" in r["conflict_address"]


def test_guest_with_mail_username_mapping_matches_on_mail():
    upn = "ed.gu_fabrikam.example#EXT#@contoso.example"
    u = user("u5", "Ed Gu", upn=upn, mail="ed.gu@fabrikam.example", user_type="Guest")
    z = zoom("z5", "Ed.Gu@Fabrikam.example", "Ed Gu", user_type="Basic")
    res = reconcile(snapshot([u], [z], group_members=["u5"], mappings=MAIL_USERNAME))
    assert one(res, "u5")["category"] == "in_sync"


def test_case_nfd_and_trailing_space_differences_are_not_drift():
    mail = "José.Núñez@contoso.example"
    u = user("u6", "José Núñez", upn="jose.nunez@contoso.example", mail=mail)
    nfd = unicodedata.normalize("NFD", "José Núñez")
    z = zoom("z6", "JOSE.NUNEZ@Contoso.example", nfd + " ", user_type="Basic",
             work_email=unicodedata.normalize("NFD", "JOSÉ.NÚÑEZ@contoso.example"))  # fmt: skip
    r = one(reconcile(snapshot([u], [z], group_members=["u6"])), "u6")
    assert r["category"] == "in_sync", r["detail"]


def test_case_difference_in_display_name_is_drift():
    u = user("u6", "Ana Ruiz")
    z = zoom("z6", "ana.ruiz@contoso.example", "ana ruiz", user_type="Basic",
             given_name="Ana", family_name="Ruiz")  # fmt: skip
    r = one(reconcile(snapshot([u], [z], group_members=["u6"])), "u6")
    assert r["category"] == "attribute_drift"
    assert r["drift_attributes"] == "display_name"


def test_null_department_is_skipped_not_drift():
    u = user("u7", "Bo Li", department=None)
    z = zoom("z7", "bo.li@contoso.example", "Bo Li", user_type="Basic", department="Sales")
    assert one(reconcile(snapshot([u], [z], group_members=["u7"])), "u7")["category"] == "in_sync"


def test_expression_yielding_empty_for_null_source_is_not_drift():
    # Left([department], 10) on a null department: Entra sends nothing, Zoom has nothing
    maps = MAIL_USERNAME + [
        {"job_id": "zoom.job", "object_mapping": "Provision Azure Active Directory Users",
         "target_attribute": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
         "department", "expression": "Left([department], 10)", "source_type": "Function",
         "matching_priority": 0},
        {"job_id": "zoom.job", "object_mapping": "Provision Azure Active Directory Users",
         "target_attribute": "name.givenName", "expression": 'Word([givenName], 3, " ")',
         "source_type": "Function", "matching_priority": 0},
    ]  # fmt: skip
    u = user("u7", "Bo Li", department=None)
    z = zoom("z7", "bo.li@contoso.example", "Bo Li", user_type="Basic", department=None,
             given_name=None)  # fmt: skip
    r = one(reconcile(snapshot([u], [z], group_members=["u7"], mappings=maps)), "u7")
    assert r["category"] == "in_sync", r["detail"]


def test_user_type_with_several_roles_accepts_any_held_role():
    # direct Licensed + group Basic: Entra's SingleAppRoleAssignment may send either
    u = user("u8", "Cy Do")
    for ztype in ("Basic", "Licensed"):
        z = zoom("z8", "cy.do@contoso.example", "Cy Do", user_type=ztype)
        snap = snapshot([u], [z], direct=[("u8", LICENSED)], group_members=["u8"])
        assert one(reconcile(snap), "u8")["category"] == "in_sync", ztype
    z = zoom("z8", "cy.do@contoso.example", "Cy Do", user_type="On-Prem")
    snap = snapshot([u], [z], direct=[("u8", LICENSED)], group_members=["u8"])
    r = one(reconcile(snap), "u8")
    assert r["category"] == "attribute_drift" and r["drift_attributes"] == "user_type"


def test_user_type_with_one_role_differing_is_drift():
    u = user("u8", "Cy Do")
    z = zoom("z8", "cy.do@contoso.example", "Cy Do", user_type="Basic")
    r = one(reconcile(snapshot([u], [z], direct=[("u8", LICENSED)])), "u8")
    assert r["category"] == "attribute_drift"
    assert "expected 'Licensed', actual 'Basic'" in r["detail"]


def test_pending_detail_within_one_cycle_and_days_after():
    u = user("u1", "Ana Ruiz")
    r = one(reconcile(snapshot([u], direct=[("u1", BASIC)],
                               assigned_at="2026-01-15T11:50:00Z")), "u1")  # fmt: skip
    assert r["category"] == "not_provisioned"
    assert r["detail"] == "pending: assigned 10 minutes ago"
    r = one(reconcile(snapshot([u], direct=[("u1", BASIC)],
                               assigned_at="2026-01-15T11:10:00Z")), "u1")  # fmt: skip
    assert r["category"] == "not_provisioned"
    assert "no provisioning event yet" in r["detail"]


def test_not_provisioned_cites_the_latest_event():
    u = user("u1", "Ana Ruiz")
    ev = [
        {"event_id": "e1", "source_id": "u1", "activity_at": "2026-01-15T10:00:00Z",
         "action": "create", "status": "failure", "error_code": "ZoomEntryConflict",
         "error_reason": "old"},
        {"event_id": "e2", "source_id": "u1", "activity_at": "2026-01-15T11:00:00Z",
         "action": "create", "status": "failure", "error_code": "InvalidDomain",
         "error_reason": "new"},
    ]  # fmt: skip
    r = one(reconcile(snapshot([u], direct=[("u1", BASIC)], events=ev[::-1])), "u1")
    assert "InvalidDomain" in r["detail"] and r["last_event_error_code"] == "InvalidDomain"


def test_out_of_scope_duplicate_of_an_in_scope_holder_says_not_to_deactivate():
    # rehire: the old (disabled) and the new account share the mail the userName comes from
    old = user("old", "Ana Ruiz", upn="ana.ruiz.old@contoso.example",
               mail="ana.ruiz@contoso.example", account_enabled=False)  # fmt: skip
    new = user("new", "Ana Ruiz", upn="ana.ruiz2@contoso.example", mail="ana.ruiz@contoso.example")
    z = zoom("z1", "ana.ruiz@contoso.example", "Ana Ruiz", user_type="Basic")
    res = reconcile(snapshot([old, new], [z], group_members=["old", "new"],
                             mappings=MAIL_USERNAME))  # fmt: skip
    assert one(res, "new")["category"] == "in_sync"
    r = one(res, "old")
    assert r["category"] == "should_be_deactivated"
    assert "also matched by in-scope Entra user ana.ruiz2@contoso.example" in r["detail"]


def test_other_address_held_by_a_zoom_user_another_entra_user_matches_is_a_conflict():
    # A's mail is B's userName in Zoom: Entra cannot give A that e-mail; B stays in sync
    a = user("a", "Ana Ruiz", mail="shared@contoso.example")
    b = user("b", "Sha Red", upn="shared@contoso.example")
    z = zoom("zb", "shared@contoso.example", "Sha Red", user_type="Basic")
    res = reconcile(snapshot([a, b], [z], group_members=["a", "b"]))
    assert one(res, "b")["category"] == "in_sync"
    r = one(res, "a")
    assert r["category"] == "email_conflict" and r["zoom_id"] == "zb"
    assert len(rows(res, zoom_id="zb")) == 2  # named by both rows, never as unmanaged


def test_zoom_only_users_by_status_including_unknown_and_pending_without_id():
    zs = [
        zoom("z1", "act@contoso.example", "Act Ive"),
        zoom("z2", "off@contoso.example", "Off Line", status="inactive"),
        zoom(None, "inv@contoso.example", "Inv Ited", status="pending"),
    ]
    odd = zoom("z4", "odd@contoso.example", "Odd Status")
    odd[1]["status"] = "suspended"
    res = reconcile(snapshot([], zs + [odd]))
    f = res.findings.set_index("zoom_user_name")["category"].to_dict()
    # reading chosen: an unknown status is not "active", so it is no finding (kept in res.zoom)
    assert f == {"act@contoso.example": "unmanaged_zoom_user",
                 "inv@contoso.example": "pending_invite"}  # fmt: skip
    assert "suspended" in set(res.zoom["status"])


def test_in_scope_user_matched_to_unknown_status_is_zoom_user_inactive():
    u = user("u1", "Ana Ruiz")
    z = zoom("z1", "ana.ruiz@contoso.example", "Ana Ruiz")
    z[1]["status"] = "suspended"
    assert one(reconcile(snapshot([u], [z], group_members=["u1"])), "u1")["category"] == (
        "zoom_user_inactive"
    )


def test_rest_only_and_scim_only_users_are_matched():
    a, b = user("a", "Ana Ruiz"), user("b", "Bo Li")
    za = zoom("za", "ana.ruiz@contoso.example", "Ana Ruiz", user_type="Basic")
    zb = zoom("zb", "bo.li@contoso.example", "Bo Li", user_type="Basic")
    snap = snapshot([a, b], [(None, za[1]), (zb[0], zb[1] | {"zoom_id": "other"})],
                    group_members=["a", "b"])  # fmt: skip
    # zb's REST row has another id: SCIM-only "zb" and REST-only "other" (same e-mail)
    res = reconcile(snap)
    assert one(res, "a")["category"] == "in_sync"
    assert one(res, "b")["zoom_id"] in {"zb", "other"}


def test_mail_username_case_only_difference_matches():
    u = user("u1", "Ana Ruiz", mail="Ana.Ruiz@Contoso.Example")
    z = zoom("z1", "ana.ruiz@contoso.example", "Ana Ruiz", user_type="Basic")
    res = reconcile(snapshot([u], [z], group_members=["u1"], mappings=MAIL_USERNAME))
    assert one(res, "u1")["category"] == "in_sync"


def test_object_add_only_mapping_is_not_compared():
    maps = [dict(m) for m in MAIL_USERNAME] + [
        {"job_id": "zoom.job", "object_mapping": "Provision Azure Active Directory Users",
         "target_attribute": "displayName", "expression": "[displayName]",
         "source_type": "Attribute", "matching_priority": 0, "flow_type": "ObjectAddOnly"},
        {"job_id": "zoom.job", "object_mapping": "Provision Azure Active Directory Users",
         "target_attribute": "name.familyName", "expression": "[surname]",
         "source_type": "Attribute", "matching_priority": 0, "flow_type": "Always"},
    ]  # fmt: skip
    u = user("u1", "Ana Ruiz")
    z = zoom("z1", "ana.ruiz@contoso.example", "Ana R. (Zoom nickname)", user_type="Basic",
             family_name="Ruiz")  # fmt: skip
    res = reconcile(snapshot([u], [z], direct=[("u1", BASIC)], mappings=maps))
    assert one(res, "u1")["category"] == "in_sync"
    z = zoom("z1", "ana.ruiz@contoso.example", "Ana Ruiz", user_type="Basic", family_name="Roiz")
    r = one(reconcile(snapshot([u], [z], direct=[("u1", BASIC)], mappings=maps)), "u1")
    assert r["category"] == "attribute_drift" and r["drift_attributes"] == "family_name"


def test_assignment_stamped_after_the_snapshot_reads_as_just_assigned():
    u = user("u1", "Ana Ruiz")
    r = one(reconcile(snapshot([u], direct=[("u1", BASIC)],
                               assigned_at="2026-01-15T12:03:00Z")), "u1")  # fmt: skip
    assert r["detail"] == "pending: assigned 0 minutes ago"


def test_zoom_users_sharing_the_expected_user_name_are_all_matched():
    # hand-made tenant: an active account and a stale invite (with an id) for the same address
    u = user("u1", "Ana Ruiz")
    active = zoom("z1", "ana.ruiz@contoso.example", "Ana Ruiz", user_type="Basic")
    stale = zoom("z2", "Ana.Ruiz@contoso.example", "Ana Ruiz", user_type="Basic")
    stale[1]["status"] = "pending"
    for zs in ([active, stale], [stale, active]):
        res = reconcile(snapshot([u], zs, group_members=["u1"]))
        r = one(res, "u1")
        assert r["category"] == "in_sync" and r["zoom_id"] == "z1"
        assert "2 Zoom users share this userName" in r["detail"]
        assert len(res.findings) == 1  # the invite is matched by the same userName: no row


def test_holder_named_in_the_detail_does_not_depend_on_row_order():
    old = user("old", "Ana Ruiz", upn="ana.old@contoso.example",
               mail="ana.ruiz@contoso.example", account_enabled=False)  # fmt: skip
    b = user("b", "Ana Ruiz", upn="b.ana@contoso.example", mail="ana.ruiz@contoso.example")
    a = user("a", "Ana Ruiz", upn="a.ana@contoso.example", mail="ana.ruiz@contoso.example")
    z = zoom("z1", "ana.ruiz@contoso.example", "Ana Ruiz", user_type="Basic")
    details = set()
    for order in ([old, a, b], [b, a, old], [a, old, b]):
        res = reconcile(snapshot(order, [z], group_members=["old", "a", "b"],
                                 mappings=MAIL_USERNAME))  # fmt: skip
        details.add(one(res, "old")["detail"])
    assert len(details) == 1 and "a.ana@contoso.example" in details.pop()


def _two_matching_attributes():
    return [
        {"job_id": "zoom.job", "object_mapping": "Provision Azure Active Directory Users",
         "target_attribute": "userName", "expression": "[userPrincipalName]",
         "source_type": "Attribute", "matching_priority": 1},
        {"job_id": "zoom.job", "object_mapping": "Provision Azure Active Directory Users",
         "target_attribute": 'emails[type eq "work"].value', "expression": "[mail]",
         "source_type": "Attribute", "matching_priority": 2},
    ]  # fmt: skip


def test_next_matching_attribute_is_tried_when_the_first_finds_nothing():
    # Graph attributeMapping.matchingPriority: "If not found, the attribute with the next
    # matching priority will be used"
    u = user("u1", "Ana Ruiz", upn="ana@contoso.example", mail="ana.ruiz@contoso.example")
    z = zoom("z1", "ana.ruiz@contoso.example", "Ana Ruiz")
    res = reconcile(snapshot([u], [z], group_members=["u1"], mappings=_two_matching_attributes()))
    r = one(res, "u1")
    assert r["zoom_id"] == "z1" and r["category"] == "attribute_drift"
    assert r["drift_attributes"] == "user_name"  # Entra would rename the Zoom user
    assert res.matches.set_index("entra_id").loc["u1", "matched_on"] == "work_email"


def test_first_matching_attribute_wins_when_both_would_match():
    u = user("u1", "Ana Ruiz", upn="ana@contoso.example", mail="ana.ruiz@contoso.example")
    z1 = zoom("z1", "ana.ruiz@contoso.example", "Ana Ruiz")
    z2 = zoom("z2", "ana@contoso.example", "Ana Ruiz", work_email="ana@contoso.example")
    res = reconcile(snapshot([u], [z1, z2], group_members=["u1"],
                             mappings=_two_matching_attributes()))  # fmt: skip
    assert one(res, "u1")["zoom_id"] == "z2"


def test_job_matching_only_on_an_attribute_zoom_data_lacks_is_a_clear_error():
    import pytest

    from zoomaudit.errors import SnapshotError

    maps = [
        {"job_id": "zoom.job", "object_mapping": "Provision Azure Active Directory Users",
         "target_attribute": "externalId", "expression": "[mailNickname]",
         "source_type": "Attribute", "matching_priority": 1},
        {"job_id": "zoom.job", "object_mapping": "Provision Azure Active Directory Users",
         "target_attribute": "userName", "expression": "[userPrincipalName]",
         "source_type": "Attribute", "matching_priority": 0},
    ]  # fmt: skip
    u = user("u1", "Ana Ruiz", mail_nickname="ana")
    z = zoom("z1", "ana.ruiz@contoso.example", "Ana Ruiz")
    with pytest.raises(SnapshotError, match="matches on external_id"):
        reconcile(snapshot([u], [z], group_members=["u1"], mappings=maps))


def test_conflict_on_a_zoom_users_e_mail_that_differs_from_its_user_name():
    u = user("u1", "Ana Ruiz", upn="ana@contoso.example", mail="ana.ruiz@contoso.example")
    z = zoom("z1", "ar@contoso.example", "Ana Ruiz", work_email="Ana.Ruiz@contoso.example")
    r = one(reconcile(snapshot([u], [z], group_members=["u1"])), "u1")
    assert r["category"] == "email_conflict" and r["zoom_id"] == "z1"
    assert "Zoom e-mail" in r["conflict_address"]


def test_conflict_prefers_a_user_name_holder_over_an_e_mail_holder():
    u = user("u1", "Ana Ruiz", upn="ana@contoso.example", mail="ana.ruiz@contoso.example")
    by_mail = zoom("z1", "x@contoso.example", "X", work_email="ana.ruiz@contoso.example")
    by_name = zoom("z2", "ana.ruiz@contoso.example", "Ana Ruiz")
    for zs in ([by_mail, by_name], [by_name, by_mail]):
        r = one(reconcile(snapshot([u], zs, group_members=["u1"])), "u1")
        assert r["zoom_id"] == "z2"


def test_notes_say_what_was_not_compared():
    maps = [dict(m) for m in MAIL_USERNAME] + [
        {"job_id": "zoom.job", "object_mapping": "Provision Azure Active Directory Users",
         "target_attribute": "displayName", "expression": "Frobnicate([displayName])",
         "source_type": "Function", "matching_priority": 0},
        {"job_id": "zoom.job", "object_mapping": "Provision Azure Active Directory Users",
         "target_attribute": "name.givenName", "expression": "[givenName]",
         "source_type": "Attribute", "matching_priority": 0, "flow_type": "ObjectAddOnly"},
    ]  # fmt: skip
    u = user("u1", "Ana Ruiz")
    res = reconcile(snapshot([u], group_members=["u1"], mappings=maps))
    text = " | ".join(res.notes)
    assert "display_name could not be simulated" in text
    assert "name.givenName applies only at creation" in text
    assert any("default Zoom mappings" in n for n in reconcile(snapshot([u])).notes)
