"""Graph behaviours the real service (or an independent re-implementation) may show and our
emulator does not: id casing, id formats, missing ``@odata.type`` / ``@odata.count``.

Each test presents one legitimate-but-different behaviour through an httpx.MockTransport fake
(``tests.sources.fakes.Fake`` with a response mutator) and checks the pull stays right.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from zoomaudit.errors import SourceError
from zoomaudit.pull import pull_async
from zoomaudit.snapshot import load
from zoomaudit.sources.graph import GraphSource
from zoomaudit.sources.http import Stats, fast_policy

from .fakes import G1, SP_ID, Fake
from .test_collectors_unit import graph, run, settings


class Variant(Fake):
    """The fake, with ``mutate(request, body) -> body`` applied to every 200 JSON answer."""

    def __init__(self, *args, mutate=None, routes=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.mutate = mutate
        self.routes = routes or {}

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path in self.routes:
            self.requests.append(request)
            return Fake.page(self.routes[path](request))
        response = super().handle(request)
        if self.mutate is None or response.status_code != 200:
            return response
        body = json.loads(response.content)
        return Fake.page(self.mutate(request, body))


def pull_with(fake: Fake, tmp_path, **kwargs):
    path = asyncio.run(
        pull_async(
            settings(),
            out=tmp_path,
            policy=fast_policy(),
            graph_transport=fake.transport(),
            zoom_transport=fake.transport(),
            activities=False,
            **kwargs,
        )
    )
    return load(path, allow_incomplete=True)


def test_assignments_kept_when_resource_id_guid_casing_differs():
    """GUIDs are case-insensitive: an upper-case resourceId is still this app's assignment."""

    def upper(request, body):
        if request.url.path.endswith("/appRoleAssignedTo"):
            for item in body["value"]:
                item["resourceId"] = item["resourceId"].upper()
        return body

    items, _ = run(graph(Variant(n_users=5, mutate=upper)), lambda g: g.assignments(SP_ID))
    assert {i["id"] for i in items} == {"a1", "a2"}


def test_assigned_group_with_upper_case_principal_id_is_marked_assigned(tmp_path):
    def upper(request, body):
        if request.url.path.endswith("/appRoleAssignedTo"):
            for item in body["value"]:
                if item["principalType"] == "Group":
                    item["principalId"] = item["principalId"].upper()
        return body

    # Graph answers GET /groups/{ID} for any casing and returns the id in its own casing
    routes = {f"/v1.0/groups/{G1.upper()}": lambda r: {"id": G1, "displayName": "G1"}}
    snap = pull_with(Variant(n_users=10, n_zoom=5, mutate=upper, routes=routes), tmp_path)
    groups = snap.table("entra_groups")
    assert groups["group_id"].tolist() == [G1]
    assert bool(groups["assigned"].iloc[0])


def test_assigned_group_with_a_non_guid_id_is_read_by_id(tmp_path):
    """Ids are opaque: a group id that is not a GUID is still an id, not a display name."""
    gid = "grp_01HZX-7Q"

    def rename(request, body):
        if request.url.path.endswith("/appRoleAssignedTo"):
            for item in body["value"]:
                if item["principalType"] == "Group":
                    item["principalId"] = gid
        return body

    routes = {f"/v1.0/groups/{gid}": lambda r: {"id": gid, "displayName": "Pilot wave"}}
    snap = pull_with(Variant(n_users=10, n_zoom=5, mutate=rename, routes=routes), tmp_path)
    groups = snap.table("entra_groups")
    assert groups["group_id"].tolist() == [gid] and bool(groups["assigned"].iloc[0])
    members = snap.table("entra_group_members")
    assert set(members["group_id"]) == {gid} and len(members) == 4


def test_members_without_odata_type_are_classified(tmp_path):
    """Without ``@odata.type`` (a bare directoryObject), members that are users are still
    users (they are in /users), and nested groups are groups."""
    fake = Variant(n_users=10, n_zoom=5)
    nested = "b0000000-0000-4000-8000-00000000bb02"

    def strip(request, body):
        path = request.url.path
        if path.endswith("/members") or path.endswith("/transitiveMembers"):
            for item in body["value"]:
                item.pop("@odata.type", None)
            if path.endswith("/transitiveMembers"):
                body["value"].append({"id": nested})
            if "@odata.count" in body:
                body["@odata.count"] = len(body["value"])
        return body

    fake.mutate = strip
    fake.routes = {
        "/v1.0/groups/" + G1 + "/transitiveMembers/microsoft.graph.group": lambda r: {
            "value": [{"@odata.type": "#microsoft.graph.group", "id": nested}]
        }
    }
    snap = pull_with(fake, tmp_path)
    members = snap.table("entra_group_members").set_index("member_id")
    users = [fake.users[i]["id"] for i in (0, 1, 2, 4)]
    assert members.loc[users, "member_type"].tolist() == ["user"] * 4
    assert members.loc[nested, "member_type"] == "group"
    assert snap.complete


def test_missing_odata_count_is_recorded_as_unverified_not_incomplete(tmp_path):
    """A service that ignores ConsistencyLevel sends no @odata.count: the manifest says the
    count could not be verified (expected null + reason) and the snapshot is not marked
    incomplete for it."""

    def no_count(request, body):
        body.pop("@odata.count", None)
        return body

    snap = pull_with(Variant(n_users=30, n_zoom=5, mutate=no_count), tmp_path)
    assert snap.complete
    users = snap.manifest["counts"]["entra_users"]
    assert users["expected"] is None and users["received"] == 30
    assert "@odata.count" in users["unverified"]
    part = snap.manifest["collections"]["entra_users.users"]
    assert part["expected"] is None and "@odata.count" in part["reason"]
    # the counts that were announced are still checked and recorded as such
    assert snap.manifest["counts"]["zoom_scim_users"]["expected"] == 5
    assert "unverified" not in snap.manifest["counts"]["zoom_scim_users"]


def test_stale_transitive_member_count_is_read_again_not_reported_incomplete(tmp_path):
    """``@odata.count`` is eventually consistent: a count that lags a membership change is
    re-read (like /users) instead of failing the pull."""
    seen = {"n": 0}

    def stale_once(request, body):
        if request.url.path.endswith("/transitiveMembers") and "@odata.count" in body:
            seen["n"] += 1
            if seen["n"] == 1:
                body["@odata.count"] = len(body["value"]) + 1
        return body

    snap = pull_with(Variant(n_users=10, n_zoom=5, mutate=stale_once), tmp_path)
    assert snap.complete and seen["n"] == 2
    part = snap.manifest["collections"][f"entra_group_members.{G1}"]
    assert part["expected"] == part["received"] == 4


def test_function_mapping_without_expression_text_is_rebuilt_from_its_parameters():
    """``expression`` is only an "equivalent representation" of a mapping source; where a
    service leaves it out, nested functions are rebuilt from name + parameters."""
    from zoomaudit import convert

    source = {
        "type": "Function",
        "name": "Switch",
        "parameters": [
            {"key": "source", "value": {"type": "Attribute", "name": "IsSoftDeleted"}},
            {"key": "defaultValue", "value": {"type": "Constant", "name": "False"}},
            {
                "key": "True",
                "value": {
                    "type": "Function",
                    "name": "Not",
                    "parameters": [
                        {"key": "source", "value": {"type": "Constant", "name": "True"}}
                    ],
                },
            },
        ],
    }
    schema = {
        "synchronizationRules": [
            {
                "id": "r1",
                "objectMappings": [
                    {
                        "name": "Users",
                        "attributeMappings": [{"targetAttributeName": "active", "source": source}],
                    }
                ],
            }
        ]
    }
    frame = convert.attribute_mappings("job", schema)
    assert frame["expression"].tolist() == ['Switch([IsSoftDeleted], "False", Not("True"))']


def test_relative_next_link_is_resolved_against_the_page_url():
    """OData allows a relative nextLink (resolved against the request URL)."""

    def relative(request, body):
        link = body.get("@odata.nextLink")
        if link:
            body["@odata.nextLink"] = link.split("/v1.0/", 1)[1]  # "users?$select=..."
        return body

    fake = Variant(n_users=1200, mutate=relative)
    items, expected = run(graph(fake), lambda g: g.users())
    assert expected == 1200 and len({u["id"] for u in items}) == 1200


def test_guid_casing_that_differs_between_endpoints_still_joins(tmp_path):
    """GUIDs are case-insensitive, and nothing promises one endpoint spells them like
    another: the snapshot records GUIDs in one (lower) casing so the tables join."""
    role = "18D14569-C3BD-439B-9A66-3A2AEE01D14F"

    def mixed(request, body):
        path = request.url.path
        if path.endswith("/appRoleAssignedTo"):
            for item in body["value"]:
                item["principalId"] = item["principalId"].upper()
                item["appRoleId"] = role
        elif path == "/v1.0/servicePrincipals":
            body["value"][0]["appRoles"][0]["id"] = role.lower()
            body["value"][0]["id"] = SP_ID.upper()
        elif path.endswith("/members") or path.endswith("/transitiveMembers"):
            for item in body["value"]:
                item["id"] = item["id"].upper()
        return body

    # Graph reads /groups/{ID} in any casing (the fake only knows the lower-case path)
    routes = {f"/v1.0/groups/{G1.upper()}": lambda r: {"id": G1.upper(), "displayName": "G1"}}
    fake = Variant(n_users=10, n_zoom=5, mutate=mixed, routes=routes)
    snap = pull_with(fake, tmp_path)
    users = set(snap.table("entra_users")["entra_id"])
    assignments = snap.table("entra_assignments")
    user_rows = assignments[assignments["principal_type"] == "User"]
    assert set(user_rows["principal_id"]) <= users and len(user_rows) == 1
    roles = set(snap.table("entra_app_roles")["app_role_id"])
    assert set(assignments["app_role_id"]) <= roles
    members = snap.table("entra_group_members")
    assert set(members["member_id"]) <= users and len(members) == 4
    assert set(assignments["assignment_id"]) == {"a1", "a2"}  # opaque ids are kept as sent
    assert snap.table("entra_app")["sp_id"].tolist() == [SP_ID]
    groups = snap.table("entra_groups")
    assert groups["group_id"].tolist() == [G1] and bool(groups["assigned"].iloc[0])
    assert set(members["group_id"]) == {G1}
    # requests used the ids as Graph sent them (some filters are case-sensitive)
    logs = [r for r in fake.requests if r.url.path.endswith("/auditLogs/provisioning")]
    assert SP_ID.upper() in str(logs[0].url)


def test_one_off_non_premium_403_on_a_premium_tenant_does_not_drop_sign_in_activity():
    """Graph sometimes answers Authentication_RequestFromNonPremiumTenantOrB2CTenant
    intermittently on premium tenants (graph.md §2): one repeat before giving up on
    signInActivity for the whole snapshot."""
    fake = Fake(n_users=30)
    body = {
        "error": {
            "code": "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "message": "Neither tenant is B2C or tenant doesn't have premium license",
        }
    }
    fake.faults.append(("/v1.0/users", lambda r: httpx.Response(403, json=body)))
    g = graph(fake)
    items, expected = run(g, lambda g: g.users())
    assert len(items) == expected == 30
    assert all("signInActivity" in u for u in items) and "signInActivity" not in g.unavailable


def test_lifetime_validation_failed_mid_pull_renews_the_token_and_goes_on():
    import time

    from azure.core.credentials import AccessToken

    class Rotating:
        def __init__(self):
            self.issued = 0

        async def get_token(self, *scopes, claims=None, tenant_id=None, enable_cae=False, **kw):
            self.issued += 1
            return AccessToken(f"tok{self.issued}", int(time.time()) + 3600)

        async def close(self):
            return None

    fake = Fake(n_users=1200)
    expired = {
        "error": {
            "code": "InvalidAuthenticationToken",
            "message": "Lifetime validation failed, the token is expired.",
        }
    }
    serve = fake.graph

    def graph_(request, path):
        if request.headers["authorization"] == "Bearer tok1" and "skiptoken" in str(request.url):
            return httpx.Response(401, json=expired)
        return serve(request, path)

    fake.graph = graph_
    credential = Rotating()
    g = GraphSource(
        settings(),
        policy=fast_policy(),
        stats=Stats(),
        transport=fake.transport(),
        credential=credential,
    )
    items, expected = run(g, lambda g: g.users())
    assert len({u["id"] for u in items}) == expected == 1200 and credential.issued == 2


def test_next_link_that_points_at_the_same_page_is_an_error_not_a_loop():
    def same(request, body):
        if request.url.path.endswith("/appRoleAssignedTo"):
            body["@odata.nextLink"] = str(request.url)
        return body

    async def go(g):
        return await asyncio.wait_for(g.assignments(SP_ID), 5)

    with pytest.raises(SourceError, match="nextLink"):
        run(graph(Variant(n_users=3, mutate=same)), go)


def test_lagging_user_count_is_given_time_to_catch_up(tmp_path):
    """``@odata.count`` lags changes for a while (eventual consistency, and the emulator's
    is exact): the re-reads wait (policy backoff) instead of asking again at once."""
    clock = {"slept": 0.0}

    async def sleep(seconds: float) -> None:
        clock["slept"] += seconds

    def lagging(request, body):
        if request.url.path == "/v1.0/users" and "@odata.count" in body:
            if clock["slept"] == 0:  # the index has not caught up until time passes
                body["@odata.count"] += 2
        return body

    policy = fast_policy()
    policy.sleep = sleep
    fake = Variant(n_users=30, n_zoom=5, mutate=lagging)
    path = asyncio.run(
        pull_async(
            settings(),
            out=tmp_path,
            policy=policy,
            graph_transport=fake.transport(),
            zoom_transport=fake.transport(),
            activities=False,
        )
    )
    snap = load(path)
    assert snap.complete and snap.manifest["counts"]["entra_users"]["received"] == 30
    assert clock["slept"] > 0


def test_user_deleted_while_the_pull_runs_is_one_row(tmp_path):
    """/users and /directory/deletedItems are read at the same time: a user deleted (or
    restored) in between is in both. The snapshot keeps one row, per Graph's current view."""
    fake = Variant(n_users=10, n_zoom=5)
    gone = dict(fake.users[3], deletedDateTime="2025-02-05T10:00:00Z")
    back = dict(fake.users[4], deletedDateTime="2025-02-05T10:00:00Z")

    def deleted(request, body):
        if request.url.path.startswith("/v1.0/directory/deletedItems"):
            body["value"] = [gone, back]
            if "@odata.count" in body:
                body["@odata.count"] = 2
        return body

    fake.mutate = deleted
    fake.routes = {f"/v1.0/users/{back['id']}": lambda r: {"id": back["id"]}}
    snap = pull_with(fake, tmp_path)
    users = snap.table("entra_users")
    assert users["entra_id"].is_unique and len(users) == 10
    rows = users.set_index("entra_id")
    assert bool(rows.loc[gone["id"], "soft_deleted"])
    assert not bool(rows.loc[back["id"], "soft_deleted"])


@pytest.mark.parametrize("honoured", [True, False])
def test_check_says_whether_graph_counts_can_be_verified(honoured):
    """Whether Graph honours ``ConsistencyLevel: eventual`` + ``$count`` decides whether the
    pull can verify its row counts; ``check`` says so up front (optional probe)."""
    from zoomaudit.check import check_async

    def drop(request, body):
        if not honoured:
            body.pop("@odata.count", None)
        return body

    fake = Variant(n_users=5, mutate=drop)
    results = asyncio.run(
        check_async(
            settings(), sources=("entra",), policy=fast_policy(), graph_transport=fake.transport()
        )
    )
    probe = next(r for r in results if r.check == "row counts (@odata.count)")
    assert probe.required is False
    assert probe.ok is honoured
    if not honoured:
        assert "unverified" in probe.detail
