"""Second reading of issue 6: thresholds at the boundary, mismatches and who a seat belongs to."""

from __future__ import annotations

from fixtures import BASIC, LICENSED, snapshot, user, zoom

from zoomaudit import licences

TAKEN = "2026-01-15T12:00:00Z"
MAIL_USERNAME = [
    {"job_id": "zoom.job", "object_mapping": "Provision Azure Active Directory Users",
     "target_attribute": "userName", "expression": "[mail]", "source_type": "Attribute",
     "matching_priority": 1},
    {"job_id": "zoom.job", "object_mapping": "Provision Azure Active Directory Users",
     "target_attribute": "userType",
     "expression": "SingleAppRoleAssignment([appRoleAssignments])",
     "source_type": "Function", "matching_priority": 0},
]  # fmt: skip


def lz(zid, email, name, *, login=None, created="2025-01-01T00:00:00Z", **kw):
    scim, rest = zoom(zid, email, name, **kw)
    rest.update(last_login_time=login, created_at=created)
    return scim, rest


def cats(audit, zoom_id):
    f = audit.findings
    return set(f.loc[f["zoom_id"] == zoom_id, "category"])


def test_inactive_boundary_is_strictly_more_than_n_days():
    zs = [
        lz("exact", "a@contoso.example", "A A", login="2025-10-17T12:00:00Z"),  # 90 days
        lz("older", "b@contoso.example", "B B", login="2025-10-17T11:59:59Z"),  # 90 d + 1 s
        lz("newer", "c@contoso.example", "C C", login="2025-10-17T12:00:01Z"),
    ]
    a = licences.audit(snapshot([], zs, taken_at=TAKEN), inactive_days=90)
    assert "licensed_inactive" not in cats(a, "exact")
    assert "licensed_inactive" in cats(a, "older")
    assert "licensed_inactive" not in cats(a, "newer")
    a = licences.audit(snapshot([], zs, taken_at=TAKEN), inactive_days=89)
    assert "licensed_inactive" in cats(a, "exact")


def test_never_logged_in_uses_grace_days_from_creation():
    zs = [
        lz("yday", "a@contoso.example", "A A", created="2026-01-14T12:00:00Z"),
        lz("edge", "b@contoso.example", "B B", created="2025-12-16T12:00:00Z"),  # 30 days
        lz("past", "c@contoso.example", "C C", created="2025-12-16T11:59:59Z"),
        lz("nocr", "d@contoso.example", "D D", created=None),
    ]
    a = licences.audit(snapshot([], zs, taken_at=TAKEN), grace_days=30)
    assert "licensed_inactive" not in cats(a, "yday")
    assert "licensed_inactive" not in cats(a, "edge")
    assert "licensed_inactive" in cats(a, "past")
    assert "licensed_inactive" not in cats(a, "nocr")


def test_licensed_entra_disabled_for_not_assigned_disabled_and_soft_deleted():
    users = [
        user("na", "Not Assigned"),
        user("dis", "Dis Abled", account_enabled=False),
        user("nest", "Nest Ed"),
    ]
    zs = [
        lz("zna", "not.assigned@contoso.example", "Not Assigned", login=TAKEN),
        lz("zdis", "dis.abled@contoso.example", "Dis Abled", login=TAKEN),
        lz("znest", "nest.ed@contoso.example", "Nest Ed", login=TAKEN),
    ]
    a = licences.audit(snapshot(users, zs, group_members=["dis"], nested_members=["nest"]))
    assert "licensed_entra_disabled" in cats(a, "zna")
    assert "licensed_entra_disabled" in cats(a, "zdis")
    # nested-only is the reconcile's nested_group_only, not repeated as entra_disabled
    assert "licensed_entra_disabled" not in cats(a, "znest")


def test_role_mismatch_both_directions_for_in_scope_users_only():
    users = [user("up", "Up Grade"), user("down", "Down Grade"), user("out", "Out Side")]
    zs = [
        lz("zup", "up.grade@contoso.example", "Up Grade", user_type="Basic", login=TAKEN),
        lz("zdown", "down.grade@contoso.example", "Down Grade", login=TAKEN),
        lz("zout", "out.side@contoso.example", "Out Side", user_type="Basic", login=TAKEN),
    ]
    snap = snapshot(users, zs, direct=[("up", LICENSED), ("down", BASIC)])
    a = licences.audit(snap)
    assert "licence_role_mismatch" in cats(a, "zup")
    assert "licence_role_mismatch" in cats(a, "zdown")
    assert "licence_role_mismatch" not in cats(a, "zout")  # not in scope
    f = a.findings.set_index(["zoom_id", "category"])
    assert f.loc[("zdown", "licence_role_mismatch"), "reclaimable"]
    assert not f.loc[("zup", "licence_role_mismatch"), "reclaimable"]


def test_several_roles_no_mismatch_when_zoom_type_is_one_of_them():
    u = user("u1", "Ana Ruiz")
    zs = [lz("z1", "ana.ruiz@contoso.example", "Ana Ruiz", user_type="Basic", login=TAKEN)]
    a = licences.audit(snapshot([u], zs, direct=[("u1", LICENSED)], group_members=["u1"]))
    assert "licence_role_mismatch" not in cats(a, "z1")


def test_seat_held_by_in_scope_duplicate_is_not_entra_disabled():
    old = user("old", "Ana Ruiz", upn="ana.old@contoso.example",
               mail="ana.ruiz@contoso.example", account_enabled=False)  # fmt: skip
    new = user("new", "Ana Ruiz", upn="ana.new@contoso.example", mail="ana.ruiz@contoso.example")
    zs = [lz("z1", "ana.ruiz@contoso.example", "Ana Ruiz", login=TAKEN)]
    for order in ([old, new], [new, old]):
        snap = snapshot(order, zs, direct=[("old", LICENSED), ("new", LICENSED)],
                        mappings=MAIL_USERNAME)  # fmt: skip
        a = licences.audit(snap)
        assert "licensed_entra_disabled" not in cats(a, "z1")
        assert set(a.findings.loc[a.findings["zoom_id"] == "z1", "user_principal_name"]) <= {
            "ana.new@contoso.example"
        }


def test_unmanaged_and_deactivated():
    zs = [
        lz("un", "x@contoso.example", "X Y", login=TAKEN),
        lz("off", "y@contoso.example", "Y Z", status="inactive", login=TAKEN),
    ]
    a = licences.audit(snapshot([], zs))
    assert cats(a, "un") == {"licensed_unmanaged"}
    assert cats(a, "off") == {"licensed_deactivated"}


def test_soft_deleted_owner_of_a_licensed_active_seat_is_entra_disabled():
    upn = "0123456789abcdef0123456789abcdef" + "gone.user@contoso.example"
    u = user("gone", "Gone User", upn=upn, soft_deleted=True)
    zs = [lz("zg", "gone.user@contoso.example", "Gone User", login=TAKEN)]
    a = licences.audit(snapshot([u], zs, direct=[("gone", LICENSED)]))
    assert "licensed_entra_disabled" in cats(a, "zg")
    f = a.findings.set_index("category")
    assert "soft_deleted" in f.loc["licensed_entra_disabled", "detail"]
