"""Readiness categories: one small named fixture per category, and `ready` only when clean."""

from __future__ import annotations

import pandas as pd
import pytest
from readiness_fixtures import assign, snap, user

from zoomaudit import readiness


def rows(result, name: str) -> list[str]:
    f = result.findings
    return sorted(f.loc[f["entra_id"] == f"e-{name}", "category"])


def check(s, **kw):
    return readiness.check(s, candidate_groups=["Wave 1"], **kw)


def test_clean_candidate_is_ready_and_only_ready():
    r = check(snap([user("ana")], wave=("ana",)))
    assert rows(r, "ana") == ["ready"]
    row = r.findings.iloc[0]
    assert row["via"] == "Wave 1" and row["role_value"] == "Basic"
    assert row["user_name"] == "ana@contoso.example"


@pytest.mark.parametrize(
    ("attrs", "named"),
    [
        ({"mail": None}, "source mail"),
        ({"given_name": None}, "source givenName"),
        ({"surname": "  "}, "source surname"),
    ],
)
def test_missing_required_attribute_names_the_source(attrs, named):
    r = check(snap([user("bo", **attrs)], wave=("bo",)))
    assert "missing_required_attribute" in rows(r, "bo") and "ready" not in rows(r, "bo")
    detail = r.findings.loc[r.findings["category"] == "missing_required_attribute", "detail"]
    assert named in detail.iloc[0]


def test_two_missing_attributes_are_one_row_naming_both():
    r = check(snap([user("cy", mail=None, surname=None)], wave=("cy",)))
    f = r.findings[r.findings["category"] == "missing_required_attribute"]
    assert len(f) == 1 and "mail" in f.iloc[0]["detail"] and "surname" in f.iloc[0]["detail"]


def test_upn_mail_mismatch_is_case_insensitive():
    s = snap([user("di", mail="DI@contoso.example"), user("ed", mail="edward@contoso.example")],
             wave=("di", "ed"))  # fmt: skip
    r = check(s)
    assert rows(r, "di") == ["ready"]
    assert rows(r, "ed") == ["upn_mail_mismatch"]


def test_domain_must_be_a_verified_zoom_managed_domain():
    s = snap(
        [user("fa", user_principal_name="fa@fabrikam.example", mail="fa@fabrikam.example"),
         user("gu", user_principal_name="gu@other.example", mail="gu@other.example"),
         user("ha", user_principal_name="ha@CONTOSO.example", mail="ha@contoso.example")],
        wave=("fa", "gu", "ha"),
        domains=({"domain": "contoso.example", "status": "verified"},
                 {"domain": "fabrikam.example", "status": "pending"}),
    )  # fmt: skip
    r = check(s)
    assert rows(r, "fa") == ["domain_not_verified"]
    assert rows(r, "gu") == ["domain_not_verified"]
    assert rows(r, "ha") == ["ready"]


def test_duplicate_username_between_candidates_and_with_in_scope_users():
    s = snap(
        [user("ia"), user("ia2", user_principal_name="IA@contoso.example"),
         user("jo"), user("jo_old", user_principal_name="jo@contoso.example",
                          mail="jo@contoso.example")],
        wave=("ia", "ia2", "jo"),
        assignments=[assign("jo_old")],
    )  # fmt: skip
    r = check(s)
    assert "duplicate_expected_username" in rows(r, "ia")
    assert "duplicate_expected_username" in rows(r, "ia2")
    assert "duplicate_expected_username" in rows(r, "jo")
    detail = r.findings.loc[
        (r.findings["entra_id"] == "e-jo")
        & (r.findings["category"] == "duplicate_expected_username"),
        "detail",
    ]
    assert "jo@contoso.example" in detail.iloc[0]


def test_duplicate_ignores_out_of_scope_users():
    s = snap([user("ka"), user("ka_off", user_principal_name="ka@contoso.example",
                               account_enabled=False)],
             wave=("ka",), assignments=[assign("ka_off")])  # fmt: skip
    assert rows(check(s), "ka") == ["ready"]


def test_guest_by_user_type_or_ext_upn():
    s = snap([user("la", user_type="Guest"),
              user("mo", user_principal_name="mo_fabrikam.example#EXT#@contoso.example")],
             wave=("la", "mo"))  # fmt: skip
    r = check(s)
    assert "guest_user" in rows(r, "la")
    assert "guest_user" in rows(r, "mo")


def test_disabled_and_soft_deleted_users():
    s = snap([user("na", account_enabled=False), user("ol", soft_deleted=True)],
             wave=("na", "ol"))  # fmt: skip
    r = check(s)
    assert rows(r, "na") == ["disabled_user"]
    assert rows(r, "ol") == ["disabled_user"]


def test_nested_only_members_are_flagged_but_direct_and_nested_is_not():
    s = snap([user("pa"), user("qu")], wave=("qu",), nested=("pa", "qu"))
    r = check(s)
    assert rows(r, "pa") == ["nested_group_only"]
    assert rows(r, "qu") == ["ready"]


def test_invalid_user_type_from_held_role_or_rollout_role():
    s = snap([user("ra"), user("sa"), user("ta")], wave=("ra", "sa", "ta"),
             assignments=[assign("ra", "Collaboration"), assign("ta", None)])  # fmt: skip
    r = check(s)
    assert rows(r, "ra") == ["invalid_user_type"]
    assert rows(r, "sa") == ["ready"]
    assert rows(r, "ta") == ["ready"]  # default access sends no userType
    r2 = check(s, role="None")
    assert rows(r2, "sa") == ["invalid_user_type"]
    assert rows(r2, "ra") == ["invalid_user_type"]  # a held role is kept
    r3 = check(s, accepted_user_types=("Basic", "Licensed", "On-Prem", "Collaboration"))
    assert rows(r3, "ra") == ["ready"]


def test_existing_zoom_account_of_any_status():
    zu = [
        {"zoom_id": "z1", "email": "UA@contoso.example", "type": 1, "status": "inactive"},
        {"zoom_id": None, "email": "va@contoso.example", "type": 1, "status": "pending"},
    ]
    s = snap([user("ua"), user("va"), user("wa")], wave=("ua", "va", "wa"), zoom_users=zu,
             zoom_scim_users=[{"zoom_id": "z9", "user_name": "wa@contoso.example",
                               "active": True}])  # fmt: skip
    r = check(s)
    assert rows(r, "ua") == ["existing_zoom_account"]
    assert rows(r, "va") == ["existing_zoom_account"]
    assert rows(r, "wa") == ["existing_zoom_account"]
    detail = r.findings.set_index("entra_id").loc["e-ua", "detail"]
    assert "inactive" in detail


def test_several_categories_are_one_row_each():
    s = snap([user("xa", user_type="Guest", account_enabled=False, mail=None)], wave=("xa",))
    assert rows(check(s), "xa") == ["disabled_user", "guest_user", "missing_required_attribute"]


def test_evaluate_is_the_lower_level_entry_point():
    s = snap([user("ya"), user("za")])
    cands = pd.DataFrame({"entra_id": ["e-ya", "e-za", "e-za"], "via": ["wave 2", "w2", "w3"]})
    f = readiness.evaluate(s, cands, role_values={"e-za": "Collaboration"})
    got = f.set_index("entra_id")
    assert got.loc["e-ya", "category"] == "ready"
    assert got.loc["e-za", "category"] == "invalid_user_type"
    assert got.loc["e-za", "via"] == "w2;w3"
    assert list(f.columns) == list(readiness.FINDING_COLUMNS)


def test_domain_check_is_skipped_and_noted_without_managed_domains():
    s = snap([user("ab")], wave=("ab",))
    del s.tables["zoom_domains"]
    r = check(s)
    assert rows(r, "ab") == ["ready"]
    assert any("zoom_domains" in n for n in r.notes)
    assert check(snap([user("ab")], wave=("ab",))).notes == []
