"""Graph and Zoom collectors against small recorded-style fakes (httpx.MockTransport)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from zoomaudit.config import Secret, Settings
from zoomaudit.errors import AuthenticationError, LookupFailedError, PermissionDeniedError
from zoomaudit.sources.graph import GraphSource
from zoomaudit.sources.http import Stats, fast_policy
from zoomaudit.sources.zoom import ZoomSource

from .fakes import GRAPH, SP_ID, ZOOM_API, ZOOM_OAUTH, ZOOM_SCIM, Fake


def settings(**kw) -> Settings:
    base = dict(
        graph_url=GRAPH,
        zoom_scim_url=ZOOM_SCIM,
        zoom_api_url=ZOOM_API,
        zoom_oauth_url=ZOOM_OAUTH,
        graph_token=Secret("graph-token-abc"),
        zoom_account_id="acc",
        zoom_client_id="cid",
        zoom_client_secret=Secret("zoom-secret-xyz"),
    )
    base.update(kw)
    return Settings(**base)


def graph(fake: Fake, **kw) -> GraphSource:
    return GraphSource(
        settings(**kw), policy=fast_policy(), stats=Stats(), transport=fake.transport()
    )


def zoom(fake: Fake, **kw) -> ZoomSource:
    return ZoomSource(
        settings(**kw), policy=fast_policy(), stats=Stats(), transport=fake.transport()
    )


async def _run(source, coro_fn):
    try:
        return await coro_fn(source)
    finally:
        await source.aclose()


def run(source, fn):
    return asyncio.run(_run(source, fn))


# ---------------------------------------------------------------------------- Graph
def test_users_all_pages_with_count_and_consistency_header_on_every_page():
    fake = Fake(n_users=1234)
    items, expected = run(graph(fake), lambda g: g.users())
    assert expected == 1234 and len({u["id"] for u in items}) == 1234
    user_requests = [r for r in fake.requests if r.url.path.endswith("/users")]
    assert len(user_requests) == 3  # $top=500 with signInActivity
    assert all(r.headers.get("consistencylevel") == "eventual" for r in user_requests)
    assert all(r.headers["authorization"] == "Bearer graph-token-abc" for r in user_requests)
    assert "$select=id,userPrincipalName" in str(user_requests[0].url).replace("%24", "$")


def test_empty_page_with_next_link_is_followed():
    fake = Fake(n_users=300)
    first = {
        "value": [],
        "@odata.count": 300,
        "@odata.nextLink": f"{GRAPH}/users?$top=500&$skiptoken=0&$count=true",
    }
    fake.faults.append(("/v1.0/users", lambda r: Fake.page(first)))
    items, expected = run(graph(fake), lambda g: g.users())
    assert len(items) == 300 and expected == 300


def test_non_premium_tenant_falls_back_without_sign_in_activity():
    fake = Fake(n_users=20, premium=False)
    g = graph(fake)
    items, _ = run(g, lambda g: g.users())
    assert len(items) == 20 and all("signInActivity" not in u for u in items)
    assert "signInActivity" in g.unavailable


@pytest.mark.parametrize(
    ("fragment", "call", "permission"),
    [
        ("/users", lambda g: g.users(), "User.Read.All"),
        ("/appRoleAssignedTo", lambda g: g.assignments(SP_ID), "Application.Read.All"),
        ("/members", lambda g: g.members("g", transitive=False), "GroupMember.Read.All"),
        ("/auditLogs", lambda g: g.provisioning_logs(SP_ID, 7), "AuditLog.Read.All"),
        ("/synchronization", lambda g: g.sync_jobs(SP_ID), "Synchronization.Read.All"),
    ],
)
def test_graph_403_names_the_permission(fragment, call, permission):
    fake = Fake(n_users=5, denied={fragment})
    with pytest.raises(PermissionDeniedError, match=permission.replace(".", r"\.")) as info:
        run(graph(fake), call)
    assert info.value.permission.startswith(permission)


def test_app_name_matching_several_service_principals_is_an_error():
    fake = Fake(n_users=1)
    two = {"value": [{"id": "1", "appId": "app-a"}, {"id": "2", "appId": "app-b"}]}
    fake.faults.append(("/servicePrincipals", lambda r: Fake.page(two)))
    with pytest.raises(LookupFailedError, match="app-a, app-b"):
        run(graph(fake, app_name="Zoom"), lambda g: g.service_principal())


def test_groups_members_direct_and_transitive():
    fake = Fake(n_users=10)

    async def go(g):
        direct, _ = await g.members("x", transitive=False)
        transitive, count = await g.members("x", transitive=True)
        return direct, transitive, count

    direct, transitive, count = run(graph(fake), go)
    assert len(direct) == 3 and len(transitive) == 4 and count == 4


# ---------------------------------------------------------------------------- Zoom
def test_scim_parallel_pages_when_server_caps_page_size():
    fake = Fake(n_zoom=437, scim_cap=40)  # we ask for 100, the server returns 40
    z = zoom(fake)
    users, total = run(z, lambda z: z.scim_users())
    assert total == 437 and users["zoom_id"].nunique() == len(users) == 437
    starts = sorted(
        int(r.url.params["startIndex"]) for r in fake.requests if r.url.path.endswith("/Users")
    )
    assert starts == list(range(1, 438, 40))  # strides by what was returned
    assert fake.tokens_issued == 1  # one token shared by all requests


def test_scim_short_page_is_topped_up():
    fake = Fake(n_zoom=250)
    short = {"totalResults": 250, "itemsPerPage": 30, "Resources": fake.zoom[100:130]}
    fake.faults.append(
        (
            "/scim2/Users",
            lambda r: Fake.page(short) if r.url.params["startIndex"] == "101" else fake.scim(r),
        )
    )
    users, total = run(zoom(fake), lambda z: z.scim_users())
    assert users["zoom_id"].nunique() == len(users) == 250


def test_scim_short_first_page_sets_a_smaller_stride_without_false_alarm():
    fake = Fake(n_zoom=250)
    short = {"totalResults": 250, "itemsPerPage": 100, "Resources": fake.zoom[0:60]}
    fake.faults.append(("/scim2/Users", lambda r: Fake.page(short)))
    z = zoom(fake)
    users, total = run(z, lambda z: z.scim_users())
    assert users["zoom_id"].nunique() == len(users) == 250 and z.scim_passes == 1


def test_scim_listing_that_shifts_is_read_again():
    fake = Fake(n_zoom=300)
    fake.shift_once = True
    z = zoom(fake)
    users, total = run(z, lambda z: z.scim_users())
    assert total == 299 and users["zoom_id"].nunique() == len(users) == 299
    assert z.scim_passes == 2


def test_zoom_token_expired_mid_pull_is_renewed():
    fake = Fake(n_zoom=50)
    fake.faults.append(
        (
            "/v2/users",
            lambda r: httpx.Response(
                401, json={"code": 124, "message": "Access token is expired."}
            ),
        )
    )
    users, expected = run(zoom(fake), lambda z: z.rest_users("active"))
    assert len(users) == expected
    assert fake.tokens_issued == 2


def test_zoom_invalid_token_is_one_clear_line():
    fake = Fake(n_zoom=5)
    with pytest.raises(AuthenticationError, match="token invalid or expired"):
        run(zoom(fake, zoom_token=Secret("wrong-static-token")), lambda z: z.rest_users("active"))


def test_zoom_missing_scopes_and_sso_messages():
    fake = Fake(n_zoom=5)
    fake.faults.append(
        (
            "/scim2/Users",
            lambda r: httpx.Response(
                401,
                json={
                    "code": 4700,
                    "message": "Invalid access token, does not contain scopes:[scim2]",
                },
            ),
        )
    )
    with pytest.raises(PermissionDeniedError, match="lacks scopes"):
        run(zoom(fake), lambda z: z.scim_users())
    fake.faults.append(
        (
            "/scim2/Users",
            lambda r: httpx.Response(
                400,
                json={
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "detail": "Account has not enabled Single Sign-On.",
                    "status": 400,
                },
            ),
        )
    )
    with pytest.raises(Exception, match="Account has not enabled Single Sign-On"):
        run(zoom(fake), lambda z: z.scim_users())


def test_activities_not_permitted_is_recorded_not_fatal():
    fake = Fake(n_zoom=5)
    z = zoom(fake)
    assert run(z, lambda z: z.activities(30)) is None
    assert "No permission" in z.unavailable["activities"]


def test_sign_in_activity_denied_falls_back_and_is_recorded():
    fake = Fake(n_users=30)
    denied = {"error": {"code": "Authorization_RequestDenied", "message": "Insufficient"}}
    fake.faults.append(("/v1.0/users", lambda r: httpx.Response(403, json=denied)))
    g = graph(fake)
    items, expected = run(g, lambda g: g.users())
    assert len(items) == expected == 30
    assert "AuditLog.Read.All" in g.unavailable["signInActivity"]


def test_refused_top_falls_back_to_default_page_size():
    fake = Fake(n_users=5)
    bad = {"error": {"code": "Request_BadRequest", "message": "Invalid page size specified"}}
    fake.faults.append(("/appRoleAssignedTo", lambda r: httpx.Response(400, json=bad)))
    items, _ = run(graph(fake), lambda g: g.assignments(SP_ID))
    assert len(items) == 2
    last = [r for r in fake.requests if r.url.path.endswith("/appRoleAssignedTo")][-1]
    assert "top" not in str(last.url)


def test_pull_works_from_inside_a_running_loop(tmp_path):
    """Notebooks run an event loop: pull() must still work there (it uses a thread)."""
    from zoomaudit.pull import pull_async, run_sync

    fake = Fake(n_users=40, n_zoom=30)

    async def notebook_cell():
        return run_sync(
            pull_async(
                settings(),
                out=tmp_path,
                policy=fast_policy(),
                graph_transport=fake.transport(),
                zoom_transport=fake.transport(),
            )
        )

    path = asyncio.run(notebook_cell())
    assert path.parent == tmp_path and (path / "manifest.json").is_file()
