"""Graph emulator: auth, permissions, injected faults, request ids, $batch (§9 1, 3, 13, 14)."""

from __future__ import annotations

import email.utils
from datetime import timedelta

import httpx
import orjson
import pytest
from graph_tenant import client, gid, start

from zoomaudit.emulator.core import EmulatorOptions


def test_missing_or_empty_token_is_401(fresh):
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}):
        resp = httpx.get(fresh.graph_url + "/users", headers=headers)
        assert resp.status_code == 401
        err = resp.json()["error"]
        assert (err["code"], err["message"]) == (
            "InvalidAuthenticationToken",
            "Access token is empty.",
        )
        assert resp.headers["WWW-Authenticate"].startswith("Bearer ")


def test_expired_tokens_are_401(fresh):
    with client(fresh, token="expired-abc") as fgraph:
        assert "expired" in fgraph.get("/users").json()["error"]["message"]
    fresh.state.issued_tokens["issued-1"] = fresh.state.clock.now() + timedelta(seconds=60)
    with client(fresh, token="issued-1") as fgraph:
        assert fgraph.get("/users").status_code == 200
        fresh.state.clock.advance(61)
        assert fgraph.get("/users").status_code == 401


def test_permissions_gate_routes(make_emulator):
    fresh = start(
        make_emulator, options=EmulatorOptions(graph_permissions=frozenset({"User.Read.All"}))
    )
    with client(fresh) as fgraph:
        assert fgraph.get("/users").status_code == 200
        resp = fgraph.get("/groups")
        assert resp.status_code == 403
        assert resp.json()["error"]["code"] == "Authorization_RequestDenied"
        assert (
            resp.json()["error"]["message"] == "Insufficient privileges to complete the operation."
        )
        assert "GroupMember.Read.All" in resp.headers["x-emulator-required-permission"]
        # provisioning logs need AuditLog.Read.All and Directory.Read.All
        assert fgraph.get("/auditLogs/provisioning").status_code == 403
        signin = fgraph.get("/users", params={"$select": "id,signInActivity"})
        assert (
            signin.json()["error"]["code"]
            == "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
        )


def test_request_id_on_every_response_and_client_request_id_echoed(fgraph):
    ok = fgraph.get("/users", headers={"client-request-id": "abc-123"})
    assert ok.headers["request-id"] and ok.headers["client-request-id"] == "abc-123"
    bad = fgraph.get("/nothing")
    assert bad.status_code == 400 and bad.headers["request-id"]
    assert "client-request-id" not in bad.headers
    assert bad.json()["error"]["innerError"]["request-id"] == bad.headers["request-id"]
    assert fgraph.delete("/users").status_code == 405


def test_429_with_seconds(fresh, fgraph):
    fresh.state.faults.add("graph", "/users$", "429", value=2)
    resp = fgraph.get("/users")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "2"
    assert (
        resp.headers["x-ms-throttle-scope"] and resp.json()["error"]["code"] == "TooManyRequests"
    )
    assert fgraph.get("/users").status_code == 200  # count 1 by default


def test_429_without_retry_after_and_with_a_date(fresh, fgraph):
    fresh.state.faults.add("graph", "/users$", "429-none")
    fresh.state.faults.add("graph", "/groups$", "429-date", value=5)
    none = fgraph.get("/users")
    assert none.status_code == 429 and "Retry-After" not in none.headers
    dated = fgraph.get("/groups")
    assert email.utils.parsedate_to_datetime(dated.headers["Retry-After"]) is not None


@pytest.mark.parametrize("kind", ["500", "502", "503", "504"])
def test_server_errors(fresh, fgraph, kind):
    fresh.state.faults.add("graph", "/users", kind, count=2, after=1)
    codes = [fgraph.get("/users").status_code for _ in range(4)]
    assert codes == [200, int(kind), int(kind), 200]
    entries = fresh.state.journal.select("graph", path="/users")
    assert [e.fault for e in entries] == [None, kind, kind, None]


def test_html_malformed_truncated(fresh, fgraph):
    for kind in ("html", "malformed", "truncated"):
        fresh.state.faults.add("graph", "/users$", kind)
        resp = fgraph.get("/users")
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(resp.content)
        assert resp.status_code == (502 if kind == "html" else 200)


def test_expire_token_fault(fresh, fgraph):
    fresh.state.faults.add("graph", "/users$", "expire-token")
    assert fgraph.get("/users").status_code == 401
    assert fgraph.get("/users").status_code == 200


def test_fault_spec_string_and_latency(make_emulator):
    fresh = start(make_emulator, faults="graph:/groups$:latency=1x*;graph:/users$:503x2")
    with client(fresh) as fgraph:
        assert fgraph.get("/groups").status_code == 200
        assert [fgraph.get("/users").status_code for _ in range(3)] == [503, 503, 200]
    assert fresh.state.faults.faults[0].fired == 1


def test_journal_records_without_authorization(fresh, fgraph):
    fgraph.get("/users", params={"$top": "2"})
    entry = fresh.state.journal.select("graph")[-1]
    assert (entry.method, entry.path, entry.status) == ("GET", "/v1.0/users", 200)
    assert "top" in entry.query and "test-token" not in repr(entry)


# ---- $batch


def test_batch_runs_inner_requests_with_dependencies(fresh, fgraph):
    fresh.state.faults.add("graph", "/groups$", "429")
    body = {"requests": [
        {"id": "1", "method": "GET", "url": "/users?$select=id&$top=2"},
        {"id": "2", "method": "GET", "url": "/groups"},
        {"id": "3", "method": "GET", "url": f"/users/{gid('u01')}", "dependsOn": ["2"]},
        {"id": "4", "method": "GET", "url": "/users/$count",
         "headers": {"ConsistencyLevel": "eventual"}},
    ]}  # fmt: skip
    resp = fgraph.post("/$batch", json=body)
    assert resp.status_code == 200
    by_id = {r["id"]: r for r in resp.json()["responses"]}
    assert by_id["1"]["status"] == 200 and len(by_id["1"]["body"]["value"]) == 2
    assert by_id["2"]["status"] == 429 and by_id["2"]["headers"]["Retry-After"] == "1"
    assert by_id["3"]["status"] == 424
    assert by_id["4"]["body"] == 11
    inner = [(e.path, e.status) for e in fresh.state.journal.select("graph")][-4:]
    assert inner == [("/v1.0/users", 200), ("/v1.0/groups", 429), ("/v1.0/users/$count", 200),
                     ("/v1.0/$batch", 200)]  # fmt: skip


def test_batch_limits(fgraph):
    many = {"requests": [{"id": str(i), "method": "GET", "url": "/users"} for i in range(21)]}
    assert fgraph.post("/$batch", json=many).status_code == 400
    dup = {"requests": [{"id": "1", "method": "GET", "url": "/users"}] * 2}
    assert fgraph.post("/$batch", json=dup).status_code == 400
