"""Property-based checks of the reconciliation over random small tenants (hypothesis)."""

from __future__ import annotations

import pandas as pd
from fixtures import BASIC, LICENSED, snapshot, user, zoom
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoomaudit.reconcile import CATEGORIES, reconcile
from zoomaudit.snapshot import Snapshot

IN_SCOPE_CATEGORIES = set(CATEGORIES[:6])  # pending_invite .. not_provisioned

person = st.fixed_dictionaries(
    {
        "enabled": st.booleans(),
        "deleted": st.booleans(),
        "assign": st.sampled_from(["none", "direct", "group", "nested", "direct+nested"]),
        "role": st.sampled_from([BASIC, LICENSED]),
        "zoom": st.sampled_from(["none", "active", "inactive", "pending", "alias"]),
        "upper": st.booleans(),
        "drift": st.booleans(),
        "mail": st.booleans(),
    }
)


@st.composite
def tenants(draw):
    people = draw(st.lists(person, min_size=1, max_size=12))
    extra = draw(st.lists(st.sampled_from(["active", "inactive", "pending"]), max_size=4))
    users, zooms, direct, group, nested = [], [], [], [], []
    for i, p in enumerate(people):
        uid = f"u{i:02d}"
        name = f"Pe{i} Rs{i}"
        upn = f"pe{i}.rs{i}@contoso.example"
        users.append(
            user(
                uid,
                name,
                upn=upn,
                account_enabled=p["enabled"],
                soft_deleted=p["deleted"],
                mail=upn if p["mail"] else None,
                proxy_addresses=[f"SMTP:{upn}", f"smtp:alias{i}@contoso.example"],
            )
        )
        if "direct" in p["assign"]:
            direct.append((uid, p["role"]))
        if p["assign"] == "group":
            group.append(uid)
        if "nested" in p["assign"]:
            nested.append(uid)
        if p["zoom"] != "none":
            email = f"alias{i}@contoso.example" if p["zoom"] == "alias" else upn
            email = email.upper() if p["upper"] else email
            status = "active" if p["zoom"] == "alias" else p["zoom"]
            zooms.append(
                zoom(f"z{i:02d}", email, name if not p["drift"] else "Other Name", status=status)
            )
    for j, status in enumerate(extra):
        zooms.append(zoom(f"x{j}", f"extra{j}@contoso.example", f"Ex{j} Tra", status=status))
    return snapshot(users, zooms, direct=direct, group_members=group, nested_members=nested)


def shuffled(s: Snapshot, seed: int) -> Snapshot:
    tables = {
        name: df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        for name, df in s.tables.items()
    }
    return Snapshot.from_tables(tables, taken_at=s.manifest["taken_at"])


def canonical(findings: pd.DataFrame) -> list[tuple]:
    cols = ["category", "entra_id", "zoom_id", "zoom_user_name", "detail"]
    return sorted(tuple(str(v) for v in r) for r in findings[cols].itertuples(index=False))


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(tenants())
def test_every_in_scope_user_gets_exactly_one_of_categories_1_to_5(s):
    r = reconcile(s)
    in_scope = set(r.scope.loc[r.scope["in_scope"], "entra_id"])
    f = r.findings[r.findings["entra_id"].notna()]
    for uid in in_scope:
        rows = f[f["entra_id"] == uid]
        assert len(rows) == 1
        assert rows["category"].iloc[0] in IN_SCOPE_CATEGORIES - {"nested_group_only"}
    out = f[~f["entra_id"].isin(in_scope)]
    assert set(out["category"]) <= {"nested_group_only", "should_be_deactivated"}


@SETTINGS
@given(tenants())
def test_no_entra_user_or_zoom_only_user_appears_twice(s):
    f = reconcile(s).findings
    assert not f["entra_id"].dropna().duplicated().any()
    zoom_only = f[f["entra_id"].isna()]
    assert not zoom_only["zoom_user_name"].duplicated().any()
    assert set(f["category"]) <= set(CATEGORIES)


@SETTINGS
@given(tenants(), st.integers(0, 10_000))
def test_results_do_not_depend_on_row_order(s, seed):
    assert canonical(reconcile(s).findings) == canonical(reconcile(shuffled(s, seed)).findings)
