"""The licence audit on generated emulator tenants equals the generator's answer key exactly.

Also: thresholds move the result at the boundary day on real-looking data, and the seat
arithmetic equals the plans/usage payload the emulated Zoom REST API serves for the tenant.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from starlette.testclient import TestClient

from zoomaudit import convert, licences
from zoomaudit.emulator.core import Clock, EmulatorOptions, EmulatorState
from zoomaudit.emulator.generate import generate_tenant
from zoomaudit.emulator.to_snapshot import to_snapshot
from zoomaudit.emulator.zoom_app import create_app


@pytest.fixture(scope="module", params=["default", "mail-username"])
def tenant(request):
    return generate_tenant(400, seed=3, scenario=request.param)


def _pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(frame["zoom_user_name"].str.lower(), frame["category"], strict=True))


def test_findings_equal_the_answer_key(tenant):
    audit = licences.audit(to_snapshot(tenant))
    key = tenant.answer_key["licences"]
    assert len(key) > 0 and set(key["category"]) == set(licences.CATEGORIES)
    assert _pairs(audit.findings) == _pairs(key)
    assert len(audit.findings) == len(key)
    with_id = audit.findings.dropna(subset=["zoom_id"])
    ids = set(zip(key["zoom_id"], key["category"], strict=True))
    assert set(zip(with_id["zoom_id"], with_id["category"], strict=True)) <= ids


def test_inactive_threshold_moves_at_the_boundary_day(tenant):
    s = to_snapshot(tenant)
    z = s.table("zoom_users")
    now = pd.Timestamp(s.taken_at)
    age = (now - z["last_login_time"]) / pd.Timedelta(days=1)
    sel = z[(z["type"] == 2) & (z["status"] == "active") & age.between(20, 400)
            & (age % 1 > 0.01)]  # fmt: skip
    row = sel.iloc[0]
    days = math.floor((now - row["last_login_time"]) / pd.Timedelta(days=1))
    inside = licences.audit(s, inactive_days=days).findings
    outside = licences.audit(s, inactive_days=days + 1).findings
    flagged = set(inside.loc[inside["category"] == "licensed_inactive", "zoom_id"])
    assert row["zoom_id"] in flagged
    assert row["zoom_id"] not in set(
        outside.loc[outside["category"] == "licensed_inactive", "zoom_id"]
    )
    expected = sel_all = z[(z["type"] == 2) & (z["status"] == "active")]
    stale = sel_all["last_login_time"] < now - pd.Timedelta(days=days)
    never = sel_all["last_login_time"].isna() & (
        sel_all["created_at"] < now - pd.Timedelta(days=30)
    )
    assert flagged == set(expected.loc[stale | never, "zoom_id"])


def test_never_logged_in_created_yesterday_is_not_flagged(tenant):
    s = to_snapshot(tenant)
    z = s.tables["zoom_users"]
    pick = z.index[(z["type"] == 2) & (z["status"] == "active")][:2]
    now = pd.Timestamp(s.taken_at)
    z.loc[pick, "last_login_time"] = pd.NaT
    z.loc[pick[0], "created_at"] = now - pd.Timedelta(days=1)
    z.loc[pick[1], "created_at"] = now - pd.Timedelta(days=31)
    f = licences.audit(s).findings
    inactive = set(f.loc[f["category"] == "licensed_inactive", "zoom_id"])
    assert z.loc[pick[0], "zoom_id"] not in inactive
    assert z.loc[pick[1], "zoom_id"] in inactive


def test_seats_equal_the_plans_usage_payload_served_for_the_tenant(tenant):
    state = EmulatorState(tenant=tenant, clock=Clock(tenant.now, ticking=False),
                          options=EmulatorOptions(rate_limits=False))  # fmt: skip
    o = state.options
    with TestClient(create_app(state)) as c:
        token = c.post(
            "/oauth/token",
            params={"grant_type": "account_credentials", "account_id": o.zoom_account_id},
            auth=(o.zoom_client_id, o.zoom_client_secret),
        ).json()["access_token"]
        payload = c.get("/v2/accounts/me/plans/usage",
                        headers={"Authorization": f"Bearer {token}"}).json()  # fmt: skip
    s = to_snapshot(tenant)
    s.tables["zoom_plans"] = convert.zoom_plans(payload)
    seats = licences.audit(s).seats.set_index(["plan_key", "position"])
    rows = 0
    for key, value in payload.items():
        for pos, plan in enumerate(value if isinstance(value, list) else [value]):
            got = seats.loc[(key, pos)]
            rows += 1
            for field, col in (("hosts", "purchased"), ("usage", "assigned"),
                               ("pending", "pending")):  # fmt: skip
                if field in plan:
                    assert got[col] == plan[field], (key, pos, field)
                else:
                    assert pd.isna(got[col])
            if "hosts" in plan and "usage" in plan:
                assert got["unassigned"] == plan["hosts"] - plan["usage"]
                assert got["available"] == plan["hosts"] - plan["usage"] - plan.get("pending", 0)
    assert rows == len(seats)
    base = seats.loc[("plan_base", 0)]
    assert base["counted_assigned"] == base["assigned"]
    assert base["counted_pending"] == base["pending"]
    unknown = licences.audit(s).unknown_plans
    assert set(unknown["plan_key"]) == {k for k in payload if k not in licences.KNOWN_PLAN_KEYS}
    assert len(unknown) >= 1
