"""Zoom emulator: S2S OAuth token endpoint, bearer checks, headers and the journal (real HTTP)."""

from __future__ import annotations

import base64
from datetime import timedelta

import httpx
import pytest

try:
    from . import zoom_support as zs
except ImportError:
    import zoom_support as zs


def _basic(client_id: str, secret: str) -> dict:
    blob = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {blob}"}


@pytest.fixture
def zoom():
    with zs.serve(zs.make_state()) as served:
        yield served


GRANT = {"grant_type": "account_credentials", "account_id": "emu-account"}


def test_token_endpoint_issues_a_token_that_expires_on_the_clock(zoom):
    headers = _basic("emu-client", "emu-client-secret")
    r = httpx.post(f"{zoom.base_url}/oauth/token", data=GRANT, headers=headers)
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["scope"].split() == list(zoom.state.options.zoom_scopes)
    assert body["api_url"] == zoom.base_url
    expiry = zoom.state.issued_tokens[body["access_token"]]
    assert expiry == zoom.state.clock.now() + timedelta(seconds=3600)


def test_token_endpoint_accepts_query_parameters(zoom):
    headers = _basic("emu-client", "emu-client-secret")
    r = httpx.post(f"{zoom.base_url}/oauth/token", params=GRANT, headers=headers)
    assert r.status_code == 200 and r.json()["access_token"]


@pytest.mark.parametrize(
    ("headers", "params", "status", "code"),
    [
        ({}, GRANT, 401, 4706),
        (_basic("wrong", "emu-client-secret"), GRANT, 401, 4702),
        (_basic("emu-client", "wrong"), GRANT, 401, 4704),
        (_basic("emu-client", "emu-client-secret"), {"account_id": "emu-account"}, 400, 4706),
        (
            _basic("emu-client", "emu-client-secret"),
            {"grant_type": "client_credentials", "account_id": "emu-account"},
            400,
            4705,
        ),
    ],
)
def test_token_endpoint_errors(zoom, headers, params, status, code):
    r = httpx.post(f"{zoom.base_url}/oauth/token", params=params, headers=headers)
    assert r.status_code == status
    assert r.json()["code"] == code
    assert not zoom.state.issued_tokens


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic abc"])
def test_missing_or_unknown_token_is_401_code_124(zoom, header):
    headers = {"Authorization": header} if header else {}
    r = httpx.get(f"{zoom.base_url}/scim2/Users", headers=headers)
    assert r.status_code == 401
    assert r.json() == {"code": 124, "message": "Invalid access token."}
    assert r.headers["x-zm-trackingid"]


def test_token_expires_by_the_injected_clock(zoom):
    client = zoom.client()
    assert client.get("/v2/users").status_code == 200
    zoom.state.clock.advance(3599)
    assert client.get("/v2/users").status_code == 200
    zoom.state.clock.advance(2)
    r = client.get("/v2/users")
    assert r.status_code == 401
    assert r.json() == {"code": 124, "message": "Access token is expired."}
    # a new token works again: several tokens may be valid at once
    assert zoom.client().get("/v2/users").status_code == 200


def test_static_legacy_token_mode():
    with zs.serve(zs.make_state(zoom_static_token="legacy-secret")) as served:
        headers = {"Authorization": "Bearer legacy-secret"}
        served.state.clock.advance(10 * 24 * 3600)
        r = httpx.get(f"{served.base_url}/scim/Users", headers=headers)
        assert r.status_code == 200
        r = httpx.get(f"{served.base_url}/scim/Users", headers={"Authorization": "Bearer x"})
        assert r.status_code == 401


def test_missing_scope_is_4700():
    with zs.serve(zs.make_state(zoom_scopes=("scim2",))) as served:
        client = served.client()
        assert client.get("/scim2/Users").status_code == 200
        r = client.get("/v2/users")
        assert r.status_code == 401
        assert r.json()["code"] == 4700


def test_tracking_id_and_content_type_on_every_response(zoom):
    client = zoom.client()
    responses = [
        client.get("/scim2/Users"),
        client.get("/scim2/Users/nope"),
        client.get("/v2/users"),
        client.get("/v2/nowhere"),
        client.options("/v2/users"),
        httpx.post(f"{zoom.base_url}/oauth/token"),
    ]
    ids = [r.headers["x-zm-trackingid"] for r in responses]
    assert len(set(ids)) == len(ids)
    assert all(r.headers["content-type"].startswith("application/json") for r in responses)


def test_scim_content_type_option():
    with zs.serve(zs.make_state(scim_content_type="application/scim+json")) as served:
        r = served.client().get("/scim2/Users")
        assert r.headers["content-type"].startswith("application/scim+json")


def test_journal_records_requests_without_authorization(zoom):
    client = zoom.client()
    client.patch(
        "/scim2/Users/ANAid00000000000000000a",
        json={"Operations": [{"op": "replace", "path": "active", "value": False}]},
    )
    entries = zoom.state.journal.select("zoom", "PATCH")
    assert len(entries) == 1
    entry = entries[0]
    assert entry.status == 200 and b"Operations" in entry.body
    oauth = zoom.state.journal.select("oauth")
    assert oauth and all(b"secret" not in (e.body or b"") for e in oauth)
    assert "Bearer" not in repr(zoom.state.journal.entries)
    assert [e.path for e in zoom.state.journal.state_changing("zoom")] == [
        "/scim2/Users/ANAid00000000000000000a"
    ]


def test_scim_prefixes_option():
    with zs.serve(zs.make_state(scim_prefixes=("/scim2",))) as served, served.client() as c:
        assert c.get("/scim2/Users").status_code == 200
        assert c.get("/scim/Users").status_code == 404


def test_groups_list_is_an_empty_list_response(zoom):
    with zoom.client() as c:
        body = c.get("/scim/Groups").json()
    assert body["totalResults"] == 0 and body["Resources"] == []


def test_a_handler_bug_answers_500_and_is_journaled(monkeypatch):
    from zoomaudit.emulator import zoom_rest

    async def boom(ctx, request):
        raise RuntimeError("emulator bug")

    monkeypatch.setattr(zoom_rest, "summary", boom)
    with zs.serve(zs.make_state()) as served, served.client() as c:
        r = c.get("/v2/users/summary")
        assert r.status_code == 500 and r.json()["code"] == 500
        assert [e.status for e in served.state.journal.select("zoom", path="summary")] == [500]
