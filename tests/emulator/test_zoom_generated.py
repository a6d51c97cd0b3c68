"""The Zoom app inside the shared Emulator harness, on a generated tenant (real HTTP).

Checks that SCIM and REST are one store over the generator's dtypes (str, Int64, boolean) and
that a full pull through either API accounts for every user the tenant holds.
"""

from __future__ import annotations

import base64

import httpx
import pytest

from zoomaudit.emulator.core import EmulatorOptions


def _client(emu) -> httpx.Client:
    o = emu.state.options
    basic = base64.b64encode(f"{o.zoom_client_id}:{o.zoom_client_secret}".encode()).decode()
    r = httpx.post(
        emu.zoom_oauth_url,
        data={"grant_type": "account_credentials", "account_id": o.zoom_account_id},
        headers={"Authorization": f"Basic {basic}"},
    )
    r.raise_for_status()
    token = r.json()["access_token"]
    return httpx.Client(base_url=emu.zoom_base, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def emu(make_emulator):
    return make_emulator(users=300, seed=5, options=EmulatorOptions(rate_limits=False))


def test_scim_and_rest_pulls_account_for_every_user(emu):
    z = emu.tenant.zoom_users
    with _client(emu) as c:
        scim, start = [], 1
        while True:
            page = c.get("/scim2/Users", params={"startIndex": start, "count": 100}).json()
            scim += page["Resources"]
            start += len(page["Resources"])
            if start > page["totalResults"]:
                break
        rest = {}
        for status in ("active", "inactive", "pending"):
            users, token = [], ""
            while True:
                params = {"status": status, "page_size": 100, "next_page_token": token}
                page = c.get("/v2/users", params=params).json()
                users += page["users"]
                token = page["next_page_token"]
                if not token:
                    break
            rest[status] = users
    listed = z[z["status"] != "pending"]
    assert sorted(u["id"] for u in scim) == sorted(listed["id"])
    for status, users in rest.items():
        assert len(users) == int((z["status"] == status).sum())
    assert all("id" not in u for u in rest["pending"])
    by_id = {u["id"]: u for u in rest["active"] + rest["inactive"]}
    for user in scim:
        assert user["active"] == (by_id[user["id"]]["status"] == "active")
        assert user["userName"] == by_id[user["id"]]["email"]


def test_scim_writes_keep_the_generated_dtypes(emu):
    dtypes = emu.tenant.zoom_users.dtypes.copy()
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "new.hire.zz@contoso.example",
        "name": {"givenName": "New", "familyName": "Hire"},
        "userType": "Basic",
    }
    with _client(emu) as c:
        created = c.post("/scim2/Users", json=body)
        assert created.status_code == 201, created.text
        uid = created.json()["id"]
        op = {"op": "Replace", "path": "active", "value": "False"}
        assert c.patch(f"/scim2/Users/{uid}", json={"Operations": [op]}).status_code == 200
        rest = c.get(f"/v2/users/{uid}").json()
        assert (rest["status"], rest["type"]) == ("inactive", 1)
        assert c.delete(f"/scim2/Users/{uid}").status_code == 204
        assert c.get(f"/v2/users/{uid}").status_code == 404
    assert (emu.tenant.zoom_users.dtypes == dtypes).all()
    assert uid not in set(emu.tenant.zoom_users["id"])


def test_plans_usage_matches_the_generated_frame(emu):
    z = emu.tenant.zoom_users
    with _client(emu) as c:
        usage = c.get("/v2/accounts/me/plans/usage").json()
    licensed = z["type"] == 2
    assert usage["plan_base"]["usage"] == int((licensed & (z["status"] != "pending")).sum())
    assert usage["plan_base"]["pending"] == int((licensed & (z["status"] == "pending")).sum())
    for key, value in emu.tenant.zoom_plans.items():
        if key != "plan_base":
            assert usage[key] == value
