"""Category edges of the reconciliation, one small named tenant per case."""

from __future__ import annotations

from fixtures import BASIC, LICENSED, snapshot, user, zoom

from zoomaudit.reconcile import CATEGORIES, reconcile


def cat_of(result, entra_id=None, zoom_user_name=None) -> str | None:
    f = result.findings
    if entra_id is not None:
        rows = f[f["entra_id"] == entra_id]
    else:
        rows = f[(f["entra_id"].isna()) & (f["zoom_user_name"] == zoom_user_name)]
    assert len(rows) <= 1
    return None if rows.empty else rows["category"].iloc[0]


def test_every_category_of_a_mixed_tenant():
    users = [
        user("u1", "Ana Ruiz"),
        user("u2", "Bo Li"),
        user("u3", "Cy Dee", account_enabled=False),
        user("u4", "Di Eve"),
        user("u5", "Ed Fox"),
        user("u6", "Fa Gu"),
        user("u7", "Gi Ho", mail="gi@contoso.example"),
        user("u8", "Ha Io"),
        user("u9", "Ib Jo"),
    ]
    zooms = [
        zoom("z1", "ana.ruiz@contoso.example", "Ana Ruiz"),
        zoom("z2", "bo.li@contoso.example", "Bo Li", user_type="Basic", department="Ops"),
        zoom("z3", "cy.dee@contoso.example", "Cy Dee"),
        zoom("z7", "gi@contoso.example", "Gi Ho"),
        zoom(None, "ha.io@contoso.example", "Ha Io", status="pending"),
        zoom("z9", "ib.jo@contoso.example", "Ib Jo", status="inactive"),
        zoom("zx", "x@contoso.example", "X Y"),
        zoom(None, "p@contoso.example", "P Q", status="pending"),
        zoom("zd", "gone@contoso.example", "Gone User", status="inactive"),
    ]
    s = snapshot(
        users,
        zooms,
        direct=[("u1", LICENSED), ("u3", BASIC), ("u7", BASIC), ("u8", BASIC), ("u9", BASIC)],
        group_members=["u2", "u4"],
        nested_members=["u5"],
    )
    r = reconcile(s)
    assert cat_of(r, "u1") == "in_sync"
    assert cat_of(r, "u2") == "attribute_drift"
    detail = r.findings.set_index("entra_id").loc["u2", "detail"]
    assert "department: expected 'Sales', actual 'Ops'" in detail
    assert "user_type" not in detail  # role Basic via the group, Zoom says Basic
    assert cat_of(r, "u3") == "should_be_deactivated"
    assert cat_of(r, "u4") == "not_provisioned"
    assert cat_of(r, "u5") == "nested_group_only"
    assert cat_of(r, "u6") is None  # not assigned, no Zoom account
    assert cat_of(r, "u7") == "email_conflict"
    assert r.findings.set_index("entra_id").loc["u7", "zoom_id"] == "z7"
    assert cat_of(r, zoom_user_name="gi@contoso.example") is None  # named in the conflict row
    assert cat_of(r, "u8") == "pending_invite"
    assert cat_of(r, "u9") == "zoom_user_inactive"
    assert cat_of(r, zoom_user_name="x@contoso.example") == "unmanaged_zoom_user"
    assert cat_of(r, zoom_user_name="p@contoso.example") == "pending_invite"
    assert cat_of(r, zoom_user_name="gone@contoso.example") is None
    summary = r.summary()
    assert list(summary["category"]) == list(CATEGORIES)
    assert summary["count"].sum() == len(r.findings)
