"""Findings against the emulator generator's answer key, category by category."""

from __future__ import annotations

import pandas as pd
import pytest

from zoomaudit.emulator.generate import generate_tenant
from zoomaudit.emulator.to_snapshot import to_snapshot
from zoomaudit.reconcile import CATEGORIES, reconcile

KEY = ["category", "entra_id", "zoom_id", "zoom_user_name"]


def rows(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[KEY].astype("str").fillna("")
    return out.sort_values(KEY).reset_index(drop=True)


def compare(users: int, seed: int, scenario: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    tenant = generate_tenant(users, seed, scenario=scenario)
    result = reconcile(to_snapshot(tenant))
    return rows(result.findings), rows(tenant.answer_key["reconcile"])


def diff(ours: pd.DataFrame, key: pd.DataFrame) -> pd.DataFrame:
    """Rows that differ. Pending invites have no id in Zoom's REST API (the answer key knows
    the emulator's internal id), so their zoom_id is not compared; their userName is."""
    m = ours.merge(
        key, on=["entra_id", "zoom_user_name"], how="outer", suffixes=("", "_key"), indicator=True
    )
    pending = (m["zoom_id"] == "") & (m["category"] == "pending_invite")
    return m[
        (m["_merge"] != "both")
        | (m["category"] != m["category_key"])
        | ((m["zoom_id"] != m["zoom_id_key"]) & ~pending)
    ]


@pytest.mark.parametrize(
    ("users", "seed", "scenario"),
    [
        (300, 1, "default"),
        (300, 2, "mail-username"),
        (1200, 3, "default"),
        (1200, 4, "mail-username"),
    ],
)
def test_findings_equal_answer_key(users, seed, scenario):
    ours, key = compare(users, seed, scenario)
    bad = diff(ours, key)
    assert bad.empty, bad.to_string()
    for category in CATEGORIES:  # category by category, for a readable failure
        assert (ours["category"] == category).sum() == (key["category"] == category).sum()
    assert set(key["category"]) >= {
        "in_sync",
        "attribute_drift",
        "not_provisioned",
        "nested_group_only",
        "should_be_deactivated",
    }


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["default", "mail-username"])
def test_findings_equal_answer_key_larger(scenario):
    ours, key = compare(4000, 11, scenario)
    assert diff(ours, key).empty


def test_answer_key_when_scim_lists_pending_invites():
    """Some Zoom accounts list pending invites in SCIM (with an id and active=false): the
    REST status still says pending, and now the zoom_id is known and must match exactly."""
    tenant = generate_tenant(300, 5, scenario="default")
    ours = rows(reconcile(to_snapshot(tenant, scim_lists_pending=True)).findings)
    key = rows(tenant.answer_key["reconcile"])
    m = ours.merge(
        key, on=["entra_id", "zoom_user_name"], how="outer", suffixes=("", "_key"), indicator=True
    )
    bad = m[
        (m["_merge"] != "both")
        | (m["category"] != m["category_key"])
        | (m["zoom_id"] != m["zoom_id_key"])
    ]
    assert bad.empty, bad.to_string()


def test_to_snapshot_membership_and_candidates():
    from zoomaudit.emulator.generate import CANDIDATE_GROUPS, GROUPS

    tenant = generate_tenant(300, 6)
    names = [GROUPS[k][0] for k in CANDIDATE_GROUPS]
    snap = to_snapshot(tenant, candidate_groups=names)
    groups = snap.table("entra_groups")
    cand = groups[groups["candidate"]]
    assert sorted(cand["display_name"]) == sorted(names)
    members = snap.table("entra_group_members")
    assert set(cand["group_id"]) <= set(members["group_id"])
    # a nested member of an assigned group appears with direct=False, never also direct=True
    users = members[members["member_type"] == "user"]
    assert not users.duplicated(["group_id", "member_id"]).any()
    assert (~users["direct"]).any()
