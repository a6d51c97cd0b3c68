"""Zoom emulator REST v2: users paging and tokens, single user, settings, plans, reports."""

from __future__ import annotations

import pytest

try:
    from . import zoom_support as zs
except ImportError:
    import zoom_support as zs

ANA = "ANAid00000000000000000a"


@pytest.fixture
def zoom():
    with zs.serve(zs.make_state(zs.small_tenant(extra_users=70))) as served:
        yield served


@pytest.fixture
def client(zoom):
    with zoom.client() as c:
        yield c


def _pages(client, **params) -> list[dict]:
    pages, token = [], None
    while True:
        query = dict(params, **({"next_page_token": token} if token else {}))
        page = client.get("/v2/users", params=query).json()
        pages.append(page)
        token = page["next_page_token"]
        if not token:
            return pages


def test_users_default_page_size_and_token_paging(client):
    pages = _pages(client)
    assert [len(p["users"]) for p in pages] == [30, 30, 14]  # 74 active users
    assert all(p["total_records"] == 74 and p["page_size"] == 30 for p in pages)
    assert [p["page_number"] for p in pages] == [1, 2, 3]
    assert pages[0]["page_count"] == 3 and pages[-1]["next_page_token"] == ""
    ids = [u["id"] for p in pages for u in p["users"]]
    assert len(set(ids)) == 74
    assert {u["status"] for p in pages for u in p["users"]} == {"active"}


def test_users_page_size_is_capped():
    with zs.serve(zs.make_state(rest_page_size_cap=50)) as served, served.client() as c:
        assert c.get("/v2/users", params={"page_size": 2000}).json()["page_size"] == 50


def test_users_status_filters_and_pending_without_id(client):
    inactive = _pages(client, status="inactive")[0]["users"]
    assert [u["email"] for u in inactive] == ["dora.gone@contoso.example"]
    pending = _pages(client, status="pending")[0]["users"]
    assert pending == [
        {
            "email": "pia.pending@contoso.example",
            "type": 2,
            "status": "pending",
            "created_at": "2025-01-06T09:12:00Z",
        }
    ]
    assert client.get("/v2/users", params={"status": "weird"}).status_code == 400


def test_page_token_expires_after_15_minutes_on_the_clock(zoom, client):
    token = client.get("/v2/users").json()["next_page_token"]
    zoom.state.clock.advance(899)
    assert client.get("/v2/users", params={"next_page_token": token}).status_code == 200
    token = client.get("/v2/users").json()["next_page_token"]
    zoom.state.clock.advance(901)
    r = client.get("/v2/users", params={"next_page_token": token})
    assert r.status_code == 400
    assert r.json()["code"] == 300


def test_page_token_is_bound_to_its_parameters(client):
    token = client.get("/v2/users").json()["next_page_token"]
    r = client.get("/v2/users", params={"next_page_token": token, "status": "inactive"})
    assert r.status_code == 400
    assert client.get("/v2/users", params={"next_page_token": "bogus"}).status_code == 400


def test_get_user_by_id_email_and_me(client):
    by_id = client.get(f"/v2/users/{ANA}").json()
    by_email = client.get("/v2/users/ana.ruiz@contoso.example").json()
    assert by_id == by_email and by_id["type"] == 2 and by_id["account_id"] == "emu-account"
    assert client.get("/v2/users/me").json()["role_id"] == "0"
    r = client.get("/v2/users/nobody")
    assert r.status_code == 404 and r.json()["code"] == 1001
    # a pending invite is found by e-mail (without id), never by its internal id
    assert "id" not in client.get("/v2/users/pia.pending@contoso.example").json()
    assert client.get("/v2/users/PENDid00000000000000pen").status_code == 404


def test_summary_counts(client):
    summary = client.get("/v2/users/summary").json()
    assert summary["licensed_users_count"] == 4  # owner, ana, ben and the deactivated dora
    assert summary["basic_users_count"] == 71
    assert summary["pending_users_count"] == 1
    assert summary["total_users_count"] == 76


def test_settings_feature(client):
    feature = client.get(f"/v2/users/{ANA}/settings").json()["feature"]
    assert feature["meeting_capacity"] == 300 and feature["zoom_whiteboard"] is False
    basic = client.get("/v2/users/carl.basic@contoso.example/settings").json()["feature"]
    assert basic["meeting_capacity"] == 100


def test_patch_type_and_put_status_are_seen_by_scim(client):
    assert client.patch(f"/v2/users/{ANA}", json={"type": 1}).status_code == 204
    assert client.put(f"/v2/users/{ANA}/status", json={"action": "deactivate"}).status_code == 204
    user = client.get(f"/scim2/Users/{ANA}").json()
    assert user["userType"] == "Basic" and user["active"] is False
    assert client.put(f"/v2/users/{ANA}/status", json={"action": "activate"}).status_code == 204
    assert client.get(f"/scim2/Users/{ANA}").json()["active"] is True
    assert client.put(f"/v2/users/{ANA}/status", json={"action": "x"}).status_code == 400


def test_plans_usage_arithmetic(client):
    usage = client.get("/v2/accounts/me/plans/usage").json()
    # Licensed: owner, ana, ben active + dora deactivated (counts by default [U]); pia pending
    assert usage["plan_base"] == {"type": "yearly", "hosts": 5, "usage": 4, "pending": 1}
    assert usage["plan_webinar"] == [
        {"type": "webinar500_yearly", "hosts": 3, "usage": 2, "pending": 0}
    ]
    assert usage["plan_mystery_new"] == {"type": "x", "hosts": 1}  # unknown keys carried
    client.patch("/v2/users/carl.basic@contoso.example", json={"type": 2})
    client.delete("/scim2/Users/BENid00000000000000000b")
    assert client.get("/v2/accounts/me/plans/usage").json()["plan_base"]["usage"] == 4


def test_plans_usage_without_inactive_seats():
    state = zs.make_state(inactive_licensed_uses_seat=False)
    with zs.serve(state) as served, served.client() as c:
        assert c.get("/v2/accounts/me/plans/usage").json()["plan_base"]["usage"] == 3


def test_rest_licensed_upgrade_needs_a_seat():
    with zs.serve(zs.make_state(zs.small_tenant(hosts=4))) as served, served.client() as c:
        r = c.patch("/v2/users/carl.basic@contoso.example", json={"type": 2})
        assert r.status_code == 400


def test_managed_domains(client):
    body = client.get("/v2/accounts/me/managed_domains").json()
    assert body["total_records"] == 2
    assert {d["domain"]: d["status"] for d in body["domains"]} == {
        "contoso.example": "verified",
        "fabrikam.example": "pending",
    }


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"from": "2026-10-01"},
        {"from": "2026-09-01", "to": "2026-10-15"},  # more than a month
        {"from": "2026-04-01", "to": "2026-04-20"},  # older than 6 months
        {"from": "2026-10-20", "to": "2026-10-01"},
    ],
)
def test_report_date_rules(client, params):
    r = client.get("/v2/report/activities", params=params)
    assert r.status_code == 400 and r.json()["code"] == 300


def test_report_activities_window_and_paging(client):
    params = {"from": "2026-10-05", "to": "2026-11-01", "page_size": 2}
    first = client.get("/v2/report/activities", params=params).json()
    assert first["total_records"] == 3 and len(first["activity_logs"]) == 2
    second = client.get(
        "/v2/report/activities", params=dict(params, next_page_token=first["next_page_token"])
    ).json()
    assert len(second["activity_logs"]) == 1 and second["next_page_token"] == ""
    times = [a["time"] for a in first["activity_logs"] + second["activity_logs"]]
    assert times == sorted(times, reverse=True)


def test_report_users_active_and_inactive(client):
    window = {"from": "2026-10-05", "to": "2026-11-01", "page_size": 300}
    active = client.get("/v2/report/users", params=dict(window, type="active")).json()
    assert {u["email"] for u in active["users"]} == {
        "ana.ruiz@contoso.example",
        "ben.okafor@contoso.example",
    }
    inactive = client.get("/v2/report/users", params=dict(window, type="inactive")).json()
    assert inactive["total_records"] == 75 - 2


def test_operation_logs_record_writes(client):
    client.patch(
        f"/scim2/Users/{ANA}", json={"Operations": [{"op": "replace", "value": {"active": False}}]}
    )
    logs = client.get(
        "/v2/report/operationlogs", params={"from": "2026-11-01", "to": "2026-11-02"}
    )
    assert [e["operation_detail"] for e in logs.json()["operation_logs"]] == [f"Update User {ANA}"]


def test_page_token_ttl_is_configurable():
    state = zs.make_state(zs.small_tenant(extra_users=70), page_token_ttl=60)
    with zs.serve(state) as served, served.client() as c:
        token = c.get("/v2/users").json()["next_page_token"]
        served.state.clock.advance(61)
        assert c.get("/v2/users", params={"next_page_token": token}).status_code == 400
