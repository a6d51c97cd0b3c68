"""Every HTTP client the collectors build is read-only (real HTTP against the emulator).

Only ``zoomaudit.apply`` may write, by handing GraphSource its route-checking WriteGuard; the
Zoom OAuth token POST and Graph ``$batch`` of GETs are the explicit exceptions.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from zoomaudit.apply import WriteGuard
from zoomaudit.config import Secret, Settings
from zoomaudit.errors import ApplyError, ZoomAuditError
from zoomaudit.sources.graph import GraphSource
from zoomaudit.sources.http import Stats, WriteRefusedError, fast_policy
from zoomaudit.sources.zoom import ZoomSource

WRITES = ("POST", "PATCH", "DELETE", "PUT")


def settings_for(emu) -> Settings:
    return Settings.from_env(emu.env(), dotenv=None, use_keyring=False)


def collector_clients(settings: Settings, transport=None):
    """(name, client, source, base URL) of every client the collectors build."""
    g = GraphSource(settings, policy=fast_policy(), stats=Stats(), transport=transport)
    z = ZoomSource(settings, policy=fast_policy(), stats=Stats())
    return [
        ("graph", g._http, g, settings.graph_url.rstrip("/") + "/users"),
        ("zoom scim", z.client, z, settings.zoom_scim_url.rstrip("/") + "/Users"),
        ("zoom rest", z.client, z, settings.zoom_api_url.rstrip("/") + "/users"),
    ]


@pytest.mark.parametrize("method", WRITES)
def test_every_collector_client_refuses_writes_before_sending(emulator, method):
    settings = settings_for(emulator)

    async def attempt() -> list[tuple[str, str]]:
        clients = collector_clients(settings)
        messages = []
        try:
            for _, client, _, url in clients:
                with pytest.raises(WriteRefusedError) as err:
                    await client.request(method, url, json={"x": 1})
                messages.append((url, str(err.value)))
        finally:
            for source in {id(c[2]): c[2] for c in clients}.values():
                await source.aclose()
        return messages

    messages = asyncio.run(attempt())
    assert len(messages) == 3
    for url, message in messages:
        assert message.startswith(f"refused {method} {url}")
        assert "read-only" in message
    assert issubclass(WriteRefusedError, ZoomAuditError)
    assert [e for e in emulator.state.journal.entries if e.method != "GET"] == []


def test_graph_refuses_writes_through_the_sdk_request_adapter(emulator):
    """A write built the way apply builds it (kiota RequestInformation) is refused too."""
    from kiota_abstractions.method import Method
    from kiota_abstractions.native_response_handler import NativeResponseHandler
    from kiota_abstractions.request_information import RequestInformation
    from kiota_http.middleware.options import ResponseHandlerOption

    settings = settings_for(emulator)

    async def attempt():
        g = GraphSource(settings, policy=fast_policy(), stats=Stats())
        try:
            info = RequestInformation()
            info.http_method = Method.DELETE
            info.url = g.url("/servicePrincipals/x/appRoleAssignedTo/y")
            info.add_request_options([ResponseHandlerOption(NativeResponseHandler())])
            await g.client.request_adapter.send_async(info, None, {})
        finally:
            await g.aclose()

    with pytest.raises(WriteRefusedError, match=r"refused DELETE .*appRoleAssignedTo/y"):
        asyncio.run(attempt())
    assert emulator.state.journal.select("graph", "DELETE") == []


def test_reads_and_the_zoom_token_post_still_work(emulator):
    settings = settings_for(emulator)

    async def read():
        g = GraphSource(settings, policy=fast_policy(), stats=Stats())
        z = ZoomSource(settings, policy=fast_policy(), stats=Stats())
        try:
            users, _ = await g.collect("users", "/users", {"$top": 5})
            token = await z.auth.token()
            scim, _ = await z.get(
                settings.zoom_scim_url.rstrip("/") + "/Users",
                {"startIndex": 1, "count": 5},
                label="medium",
            )
            return users, token, scim
        finally:
            await g.aclose()
            await z.aclose()

    users, token, scim = asyncio.run(read())
    assert users and token and scim["Resources"]
    assert len(emulator.state.journal.select(None, "POST")) == 1  # the token request only


def test_graph_batch_of_reads_passes_the_guard_but_a_batched_write_does_not():
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        return httpx.Response(200, json={"responses": []})

    settings = Settings(graph_url="http://127.0.0.1:9/v1.0", graph_token=Secret("t"))
    g = GraphSource(
        settings, policy=fast_policy(), stats=Stats(), transport=httpx.MockTransport(answer)
    )
    reads = {"requests": [{"id": "1", "method": "GET", "url": "/users?$top=1"}]}
    writes = {"requests": [{"id": "1", "method": "DELETE", "url": "/users/x"}, *reads["requests"]]}

    async def go():
        try:
            ok = await g._http.post("http://127.0.0.1:9/v1.0/$batch", json=reads)
            with pytest.raises(WriteRefusedError, match=r"refused POST .*\$batch"):
                await g._http.post("http://127.0.0.1:9/v1.0/$batch", json=writes)
            with pytest.raises(WriteRefusedError):
                await g._http.post("http://127.0.0.1:9/v1.0/$batch", content=b"not json")
            return ok.status_code
        finally:
            await g.aclose()

    assert asyncio.run(go()) == 200
    assert seen == ["POST /v1.0/$batch"]


def test_zoom_allows_only_the_token_endpoint_post():
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        return httpx.Response(200, json={"access_token": "a", "expires_in": 3600})

    settings = Settings(
        zoom_api_url="http://127.0.0.1:9/v2",
        zoom_oauth_url="http://127.0.0.1:9/oauth/token",
        zoom_account_id="acc",
        zoom_client_id="cid",
        zoom_client_secret=Secret("s"),
    )
    z = ZoomSource(
        settings, policy=fast_policy(), stats=Stats(), transport=httpx.MockTransport(answer)
    )

    async def go():
        try:
            await z.auth.token()
            with pytest.raises(WriteRefusedError, match="refused POST"):
                await z.client.post("http://127.0.0.1:9/oauth/token/other", data={"a": "b"})
            with pytest.raises(WriteRefusedError, match="refused POST"):
                await z.client.post("http://127.0.0.1:9/v2/users", json={})
        finally:
            await z.aclose()

    asyncio.run(go())
    assert seen == ["POST /oauth/token"]


@pytest.mark.parametrize("allow", [False, True])
def test_only_apply_write_guard_enables_writes(allow):
    """GraphSource delegates the write decision to apply's WriteGuard (route-checked)."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        return httpx.Response(204)

    settings = Settings(graph_url="http://127.0.0.1:9/v1.0", graph_token=Secret("t"))
    guard = WriteGuard(httpx.MockTransport(answer), allow_writes=allow)
    g = GraphSource(settings, policy=fast_policy(), stats=Stats(), transport=guard)
    url = "http://127.0.0.1:9/v1.0/servicePrincipals/sp/appRoleAssignedTo/a1"

    async def go():
        try:
            await g._http.delete(url)
            with pytest.raises(ApplyError, match="refused PATCH"):  # not one of apply's routes
                await g._http.patch(url, json={})
        finally:
            await g.aclose()

    if allow:
        asyncio.run(go())
        assert seen == ["DELETE /v1.0/servicePrincipals/sp/appRoleAssignedTo/a1"]
    else:
        with pytest.raises(ApplyError, match="read-only"):
            asyncio.run(go())
        assert seen == []
