"""The new readings (several roles, shared Zoom users, holders, e-mail conflicts) do not depend
on the order of the snapshot's rows."""

from __future__ import annotations

import random

from fixtures import BASIC, LICENSED, snapshot, user, zoom

from zoomaudit.reconcile import reconcile

MAIL_USERNAME = [
    {"job_id": "zoom.job", "object_mapping": "Provision Azure Active Directory Users",
     "target_attribute": "userName", "expression": "[mail]", "source_type": "Attribute",
     "matching_priority": 1},
    {"job_id": "zoom.job", "object_mapping": "Provision Azure Active Directory Users",
     "target_attribute": "userType",
     "expression": "SingleAppRoleAssignment([appRoleAssignments])",
     "source_type": "Function", "matching_priority": 0},
]  # fmt: skip


def tenant():
    users = [
        user("multi", "Mu Lti", mail="multi@contoso.example"),
        user("old", "Ana Ruiz", upn="ana.old@contoso.example", mail="ana@contoso.example",
             account_enabled=False),
        user("new2", "Ana Ruiz", upn="b.ana@contoso.example", mail="ana@contoso.example"),
        user("new1", "Ana Ruiz", upn="a.ana@contoso.example", mail="ana@contoso.example"),
        user("conf", "Co Nf", upn="conf@contoso.example", mail="conf.mail@contoso.example"),
        user("shared", "Sh Ared", mail="shared@contoso.example"),
    ]  # fmt: skip
    zooms = [
        zoom("zm", "multi@contoso.example", "Mu Lti", user_type="Basic"),
        zoom("za", "ana@contoso.example", "Ana Ruiz", user_type="Basic"),
        zoom("zc", "other@contoso.example", "Co Nf", work_email="conf@contoso.example"),
        zoom("zs1", "shared@contoso.example", "Sh Ared", user_type="Basic"),
        zoom("zs2", "SHARED@contoso.example", "Sh Ared", user_type="Basic", status="inactive"),
        zoom("zu", "free@contoso.example", "Fr Ee"),
    ]
    return users, zooms


def summary(res):
    f = res.findings
    return sorted(
        zip(f["category"], f["entra_id"].fillna("-"), f["zoom_id"].fillna("-"), f["detail"],
            strict=True)
    )  # fmt: skip


def test_findings_do_not_depend_on_row_order():
    users, zooms = tenant()
    direct = [("multi", LICENSED), ("conf", BASIC), ("shared", BASIC)]
    members = ["multi", "old", "new1", "new2"]
    base = summary(reconcile(snapshot(users, zooms, direct=direct, group_members=members,
                                      mappings=MAIL_USERNAME)))  # fmt: skip
    cats = {(c, e) for c, e, _, _ in base}
    assert ("in_sync", "multi") in cats and ("should_be_deactivated", "old") in cats
    assert ("email_conflict", "conf") in cats and ("in_sync", "shared") in cats
    rng = random.Random(7)
    for _ in range(5):
        u, z, d = users[:], zooms[:], direct[:]
        rng.shuffle(u), rng.shuffle(z), rng.shuffle(d)
        got = summary(reconcile(snapshot(u, z, direct=d, group_members=members,
                                         mappings=MAIL_USERNAME)))  # fmt: skip
        assert got == base
