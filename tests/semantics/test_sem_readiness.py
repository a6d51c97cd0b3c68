"""Second reading of issue 7's readiness categories on small candidate sets."""

from __future__ import annotations

from readiness_fixtures import assign, snap, user

from zoomaudit import readiness


def cats(result, name):
    f = result.findings
    return set(f.loc[f["entra_id"] == f"e-{name}", "category"])


def test_nested_candidate_already_assigned_directly_is_not_nested_group_only():
    users = [user("ana"), user("bo")]
    s = snap(users, nested=("ana", "bo"), assignments=[assign("ana")])
    r = readiness.check(s, candidate_groups=["Wave 1"])
    assert "nested_group_only" not in cats(r, "ana")  # provisioned through its own assignment
    assert "nested_group_only" in cats(r, "bo")


def test_nested_candidate_direct_member_of_an_assigned_group_is_not_nested_group_only():
    users = [user("ana")]
    extra_groups = [
        {"group_id": "g-wave1", "display_name": "Wave 1", "candidate": True, "assigned": False},
        {"group_id": "g-zoom", "display_name": "Zoom", "candidate": False, "assigned": True},
    ]
    members = [
        {"group_id": "g-wave1", "member_id": "e-ana", "member_type": "user", "direct": False},
        {"group_id": "g-zoom", "member_id": "e-ana", "member_type": "user", "direct": True},
    ]
    s = snap(users, assignments=[assign("g-zoom", principal_type="Group")],
             entra_groups=extra_groups, entra_group_members=members)  # fmt: skip
    r = readiness.check(s, candidate_groups=["Wave 1"])
    assert "nested_group_only" not in cats(r, "ana")


def test_direct_and_nested_in_the_same_candidate_group_is_not_nested_only():
    s = snap([user("ana")], wave=("ana",), nested=("ana",))
    assert "nested_group_only" not in cats(readiness.check(s, candidate_groups=["Wave 1"]), "ana")


def test_ready_only_when_nothing_else_applies():
    s = snap([user("ana"), user("bo", account_enabled=False)], wave=("ana", "bo"))
    r = readiness.check(s, candidate_groups=["Wave 1"])
    assert cats(r, "ana") == {"ready"}
    assert "ready" not in cats(r, "bo") and "disabled_user" in cats(r, "bo")


def test_duplicate_expected_username_against_candidates_and_in_scope_users():
    # ana2's UPN differs only by case from the in-scope (assigned) ana
    users = [user("ana"), user("ANA", entra_id="e-ana2"), user("cy"), user("Cy", entra_id="e-cy2")]
    s = snap(users, wave=("ANA", "cy", "Cy"), assignments=[assign("ana")],
             entra_group_members=[
                 {"group_id": "g-wave1", "member_id": m, "member_type": "user", "direct": True}
                 for m in ("e-ana2", "e-cy", "e-cy2")])  # fmt: skip
    r = readiness.check(s, candidate_groups=["Wave 1"])
    f = r.findings
    dup = set(f.loc[f["category"] == "duplicate_expected_username", "entra_id"])
    assert dup == {"e-ana2", "e-cy", "e-cy2"}


def test_invalid_user_type_is_configurable():
    s = snap([user("ana")], wave=("ana",))
    r = readiness.check(s, candidate_groups=["Wave 1"], role="Collaboration")
    assert "invalid_user_type" in cats(r, "ana")
    r = readiness.check(s, candidate_groups=["Wave 1"], role="Collaboration",
                        accepted_user_types=("Basic", "Collaboration"))  # fmt: skip
    assert cats(r, "ana") == {"ready"}


def test_guest_by_user_type_or_ext_upn():
    users = [
        user("g1", user_type="Guest"),
        user("g2", user_principal_name="g2_fabrikam.example#EXT#@contoso.example"),
    ]
    r = readiness.check(snap(users, wave=("g1", "g2")), candidate_groups=["Wave 1"])
    assert "guest_user" in cats(r, "g1") and "guest_user" in cats(r, "g2")


def _with_user_name(expression):
    from readiness_fixtures import mappings

    maps = mappings()
    for m in maps:
        if m["target_attribute"] == "userName":
            m["expression"] = expression
    return maps


def test_missing_source_attribute_of_a_join_is_flagged_though_the_result_is_not_empty():
    maps = _with_user_name('Join("@", [givenName], "contoso.example")')
    s = snap([user("ana", given_name=None), user("bo")], wave=("ana", "bo"),
             attribute_mappings=maps)  # fmt: skip
    r = readiness.check(s, candidate_groups=["Wave 1"])
    f = r.findings
    row = f[(f["entra_id"] == "e-ana") & (f["category"] == "missing_required_attribute")]
    assert len(row) == 1 and "givenName" in row["detail"].iloc[0]
    assert "missing_required_attribute" not in cats(r, "bo")


def test_coalesce_fallback_does_not_flag_the_empty_first_source():
    maps = _with_user_name("Coalesce([mail], [userPrincipalName])")
    s = snap([user("ana", mail=None)], wave=("ana",), attribute_mappings=maps)
    r = readiness.check(s, candidate_groups=["Wave 1"])
    f = r.findings
    details = f.loc[f["category"] == "missing_required_attribute", "detail"].tolist()
    # the work e-mail itself is empty (its own mapping reads [mail]); userName is not flagged
    assert details and all("userName" not in d for d in details)


def test_upn_mail_mismatch_ignores_case_nfd_and_surrounding_spaces():
    import unicodedata

    upn = "josé@contoso.example"
    mail = " " + unicodedata.normalize("NFD", "JOSÉ@contoso.example")
    users = [user("jose", user_principal_name=upn, mail=mail), user("ana", mail="x@c.example")]
    s = snap(users, wave=("jose", "ana"))
    r = readiness.check(s, candidate_groups=["Wave 1"])
    assert "upn_mail_mismatch" not in cats(r, "jose")
    assert "upn_mail_mismatch" in cats(r, "ana")
