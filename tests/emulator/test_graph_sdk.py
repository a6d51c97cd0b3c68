"""The real msgraph-sdk GraphServiceClient against the Graph emulator (graph.md §8)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from graph_tenant import ROLE_LICENSED, gid, start

pytest.importorskip("msgraph")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # SDK internals

from azure.core.credentials import AccessToken  # noqa: E402
from kiota_abstractions.base_request_configuration import RequestConfiguration  # noqa: E402
from kiota_http.middleware.options import RetryHandlerOption  # noqa: E402
from msgraph import GraphServiceClient  # noqa: E402
from msgraph.generated.models.app_role_assignment import AppRoleAssignment  # noqa: E402
from msgraph.generated.users.users_request_builder import UsersRequestBuilder  # noqa: E402
from msgraph_core.tasks.page_iterator import PageIterator  # noqa: E402


class FakeCredential:
    """A TokenCredential with the signature the kiota provider calls (graph.md §8)."""

    def get_token(self, *scopes, claims=None, tenant_id=None, enable_cae=False, **kwargs):
        return AccessToken("emulator-token", int(time.time()) + 3600)

    def close(self) -> None:
        pass


@pytest.fixture
def emu(make_emulator):
    return start(make_emulator)


def sdk(emu) -> GraphServiceClient:
    client = GraphServiceClient(
        credentials=FakeCredential(), scopes=["https://graph.microsoft.com/.default"]
    )
    client.request_adapter.base_url = emu.graph_url
    return client


def test_sdk_lists_users_with_its_page_iterator(emu):
    async def run() -> list:
        client = sdk(emu)
        qp = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
            select=["id", "userPrincipalName", "accountEnabled"], top=3
        )
        first = await client.users.get(RequestConfiguration(query_parameters=qp))
        users: list = []
        await PageIterator(first, client.request_adapter).iterate(
            lambda u: users.append(u) or True
        )
        return users

    users = asyncio.run(run())
    assert len(users) == 11
    assert {u.id for u in users} == {gid(f"u{n:02d}") for n in range(11)}
    assert sum(1 for u in users if u.account_enabled is False) == 1
    assert len(emu.state.journal.select("graph", path="/users$")) == 4


def test_sdk_assignments_members_and_provisioning_logs(emu):
    sp = emu.tenant.service_principal["id"]

    async def run():
        client = sdk(emu)
        spb = client.service_principals.by_service_principal_id(sp)
        assigned = await spb.app_role_assigned_to.get()
        members = await client.groups.by_group_id(
            gid("Zoom Pilot")
        ).transitive_members.graph_user.get()
        direct = await client.groups.by_group_id(gid("Zoom Pilot")).members.get()
        logs = await client.audit_logs.provisioning.get()
        created = await spb.app_role_assigned_to.post(
            AppRoleAssignment(
                principal_id=uuid.UUID(gid("u07")),
                resource_id=uuid.UUID(sp),
                app_role_id=uuid.UUID(ROLE_LICENSED),
            )
        )
        await spb.app_role_assigned_to.by_app_role_assignment_id(created.id).delete()
        return assigned, members, direct, logs, created

    assigned, members, direct, logs, created = asyncio.run(run())
    assert {str(a.principal_id) for a in assigned.value} == {gid("u00"), gid("Zoom Pilot")}
    assert {m.user_principal_name for m in members.value} == {
        f"u0{n}@contoso.example" for n in range(1, 6)
    }
    kinds = {type(m).__name__ for m in direct.value}
    assert kinds == {"User", "Group"}  # @odata.type lets the SDK build typed members
    assert logs.value and logs.value[0].service_principal.id == sp
    assert created.principal_type == "User" and created.resource_display_name == "Zoom"
    assert [e.method for e in emu.state.journal.state_changing("graph")] == ["POST", "DELETE"]


def test_sdk_retry_handler_survives_a_429_with_retry_after(emu):
    emu.state.faults.add("graph", "/users$", "429", value=1)

    async def run():
        client = sdk(emu)
        cfg = RequestConfiguration(options=[RetryHandlerOption(delay=0, max_retries=2)])
        return await client.users.get(request_configuration=cfg)

    page = asyncio.run(run())
    assert len(page.value) == 11
    statuses = [e.status for e in emu.state.journal.select("graph", path="/users$")]
    assert statuses == [429, 200]
