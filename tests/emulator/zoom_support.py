"""Helpers for the Zoom emulator tests: a small hand-built tenant and a real-HTTP server.

The tenant is built by hand (named rows, so each test says which user it touches); the server is
uvicorn in a thread on 127.0.0.1 with an OS-assigned port.
"""

from __future__ import annotations

import base64
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pandas as pd
import uvicorn

from zoomaudit.emulator.core import Clock, EmulatorOptions, EmulatorState
from zoomaudit.emulator.model import ZOOM_USER_COLUMNS, Tenant
from zoomaudit.emulator.zoom_app import create_app

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DOMAIN = "contoso.example"


def zoom_row(
    uid: str,
    email: str,
    *,
    type_: int = 1,
    status: str = "active",
    role: str = "2",
    dept: str = "Sales",
    sso: bool = True,
) -> dict:
    first, _, last = email.split("@")[0].partition(".")
    return {
        "id": uid,
        "email": email,
        "first_name": first.title(),
        "last_name": last.title(),
        "display_name": f"{first.title()} {last.title()}".strip(),
        "type": type_,
        "status": status,
        "dept": dept,
        "role_id": role,
        "last_login_time": None if status == "pending" else "2026-10-30T08:00:00Z",
        "created_at": "2025-01-06T09:12:00Z",
        "user_created_at": "2025-01-06T09:12:00Z",
        "last_modified": "2025-03-02T16:40:11Z",
        "login_sso": sso,
        "last_client_version": "6.3.5.1234(win)",
        "timezone": "Europe/London",
        "pmi": 6123456789,
    }


def small_tenant(extra_users: int = 0, hosts: int = 5) -> Tenant:
    """Owner, two licensed, one basic, one deactivated licensed, one pending licensed invite."""
    rows = [
        zoom_row("OWNERid0000000000000000", f"olga.owner@{DOMAIN}", type_=2, role="0"),
        zoom_row("ANAid00000000000000000a", f"ana.ruiz@{DOMAIN}", type_=2, dept="Finance"),
        zoom_row("BENid00000000000000000b", f"ben.okafor@{DOMAIN}", type_=2),
        zoom_row("CARLid000000000000000cc", f"carl.basic@{DOMAIN}", type_=1),
        zoom_row("DEACTid00000000000000dd", f"dora.gone@{DOMAIN}", type_=2, status="inactive"),
        zoom_row("PENDid00000000000000pen", f"pia.pending@{DOMAIN}", type_=2, status="pending"),
    ]
    rows += [
        zoom_row(f"GEN{i:019d}", f"user{i:05d}.gen@{DOMAIN}", type_=1) for i in range(extra_users)
    ]
    zoom_users = pd.DataFrame(rows, columns=list(ZOOM_USER_COLUMNS))
    empty = pd.DataFrame()
    return Tenant(
        seed=1,
        tenant_id="00000000-0000-0000-0000-000000000001",
        now=T0,
        verified_domains=[DOMAIN],
        users=empty,
        groups=empty,
        members=empty,
        service_principal={},
        other_service_principals=[],
        assignments=empty,
        provisioning_events=[],
        sync_jobs=[],
        sync_schemas={},
        zoom_account_id="emu-account",
        zoom_users=zoom_users,
        zoom_plans={
            "plan_base": {"type": "yearly", "hosts": hosts},
            "plan_webinar": [{"type": "webinar500_yearly", "hosts": 3, "usage": 2, "pending": 0}],
            "plan_mystery_new": {"type": "x", "hosts": 1},
        },
        zoom_domains=[
            {"domain": DOMAIN, "status": "verified"},
            {"domain": "fabrikam.example", "status": "pending"},
        ],
        zoom_activities=[
            {
                "email": f"ana.ruiz@{DOMAIN}",
                "time": "2026-10-20T08:01:00Z",
                "type": "Sign in",
                "ip_address": "198.51.100.7",
                "client_type": "Windows",
                "version": "6.3.5",
            },
            {
                "email": f"ana.ruiz@{DOMAIN}",
                "time": "2026-10-20T17:01:00Z",
                "type": "Sign out",
                "ip_address": "198.51.100.7",
                "client_type": "Windows",
                "version": "6.3.5",
            },
            {
                "email": f"ben.okafor@{DOMAIN}",
                "time": "2026-10-25T08:01:00Z",
                "type": "Sign in",
                "ip_address": "198.51.100.8",
                "client_type": "Mac",
                "version": "6.3.5",
            },
            {
                "email": f"ben.okafor@{DOMAIN}",
                "time": "2026-06-01T08:01:00Z",
                "type": "Sign in",
                "ip_address": "198.51.100.8",
                "client_type": "Mac",
                "version": "6.3.5",
            },
        ],
    )


def make_state(tenant: Tenant | None = None, **options) -> EmulatorState:
    return EmulatorState(
        tenant=tenant if tenant is not None else small_tenant(),
        clock=Clock(T0, ticking=False),
        options=EmulatorOptions(**options),
    )


@dataclass
class Served:
    state: EmulatorState
    base_url: str
    app: object  # the Starlette app (``app.state.zoom`` is its ZoomContext)

    def token(self) -> str:
        """A fresh S2S OAuth access token from the emulator's token endpoint."""
        o = self.state.options
        basic = base64.b64encode(f"{o.zoom_client_id}:{o.zoom_client_secret}".encode()).decode()
        r = httpx.post(
            f"{self.base_url}/oauth/token",
            params={"grant_type": "account_credentials", "account_id": o.zoom_account_id},
            headers={"Authorization": f"Basic {basic}"},
        )
        r.raise_for_status()
        return r.json()["access_token"]

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {self.token()}"}
        )


class _Swappable:
    """An ASGI app that forwards to whichever Zoom app the current test installed."""

    def __init__(self):
        self.app = None

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            message = await receive()
            while message["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        await self.app(scope, receive, send)


_SHARED: dict = {}


def _shared_server() -> tuple[_Swappable, int]:
    """One uvicorn server per test process (tests swap the app, so state never leaks)."""
    if "port" not in _SHARED:
        proxy = _Swappable()
        config = uvicorn.Config(proxy, host="127.0.0.1", port=0, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            threading.Event().wait(0.01)
        _SHARED.update(proxy=proxy, port=server.servers[0].sockets[0].getsockname()[1])
    return _SHARED["proxy"], _SHARED["port"]


@contextlib.contextmanager
def serve(state: EmulatorState) -> Iterator[Served]:
    """Serve a fresh Zoom app for ``state`` over real HTTP on 127.0.0.1."""
    proxy, port = _shared_server()
    app = create_app(state)
    proxy.app = app
    try:
        yield Served(state, f"http://127.0.0.1:{port}", app)
    finally:
        proxy.app = None
