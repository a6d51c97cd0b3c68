"""Planning and status stay pure: importing them loads no HTTP client and no collector."""

from __future__ import annotations

import subprocess
import sys


def test_rollout_planning_imports_no_network_code():
    code = (
        "import sys, zoomaudit.rollout, zoomaudit.journal\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('httpx', 'msgraph', 'kiota_http')"
        " or m.startswith(('zoomaudit.sources', 'zoomaudit.apply', 'zoomaudit.auth'))]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_write_guard_lets_reads_through_and_only_the_rollout_writes_when_allowed():
    import asyncio

    import httpx
    import pytest

    from zoomaudit.apply import WriteGuard
    from zoomaudit.errors import ApplyError

    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        return httpx.Response(200, json={})

    base = "http://127.0.0.1:1/v1.0/servicePrincipals/sp"

    async def send(allow: bool, method: str, url: str) -> int:
        guard = WriteGuard(httpx.MockTransport(answer), allow_writes=allow)
        async with httpx.AsyncClient(transport=guard) as client:
            return (await client.request(method, url)).status_code

    assert asyncio.run(send(False, "GET", base + "/appRoleAssignedTo")) == 200
    for method, url in (("POST", base + "/appRoleAssignedTo"), ("DELETE", base + "/x")):
        with pytest.raises(ApplyError, match="read-only"):
            asyncio.run(send(False, method, url))
    assert asyncio.run(send(True, "POST", base + "/appRoleAssignedTo")) == 200
    assert asyncio.run(send(True, "DELETE", base + "/appRoleAssignedTo/abc")) == 200
    pod = base + "/synchronization/jobs/j1/provisionOnDemand"
    assert asyncio.run(send(True, "POST", pod)) == 200
    for method, url in (
        ("PATCH", "http://127.0.0.1:1/v1.0/users/u1"),
        ("POST", base + "/synchronization/jobs/j1/restart"),
        ("DELETE", "http://127.0.0.1:1/v1.0/groups/g1"),
    ):
        with pytest.raises(ApplyError, match="read-only"):
            asyncio.run(send(True, method, url))
    assert [m for m, _ in seen] == ["GET", "POST", "DELETE", "POST"]
