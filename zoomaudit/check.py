"""Connection and permission check: one small request per route the pull needs.

Place in the flow: run before the first ``pull`` (``zoomaudit check``). Each probe asks for one
item and reports ``ok`` or the one-line error the pull would raise (the missing permission,
a non-premium tenant, missing Zoom scopes, SSO not enabled, a bad token).
"""

from __future__ import annotations

from dataclasses import dataclass

from zoomaudit.config import Settings
from zoomaudit.errors import ZoomAuditError
from zoomaudit.pull import run_sync
from zoomaudit.secrets import register, scrub
from zoomaudit.sources.http import RetryPolicy, Stats


@dataclass
class CheckResult:
    service: str
    check: str
    ok: bool
    detail: str
    required: bool = True


async def _probe(results, service, name, coro, *, required=True) -> object:
    try:
        value = await coro
    except ZoomAuditError as exc:
        results.append(CheckResult(service, name, False, scrub(str(exc)), required))
        return None
    except Exception as exc:  # a probe must report, not crash
        results.append(
            CheckResult(service, name, False, scrub(f"{type(exc).__name__}: {exc}"), required)
        )
        return None
    detail = value if isinstance(value, str) else "ok"
    results.append(CheckResult(service, name, True, detail, required))
    return value


async def check_async(
    settings: Settings,
    *,
    sources=("entra", "zoom"),
    policy=None,
    graph_credential=None,
    graph_transport=None,
    zoom_transport=None,
) -> list[CheckResult]:
    """Probe every route; never raises for a failing probe."""
    register(*settings.secret_values())
    policy = policy or RetryPolicy(max_attempts=2, base_delay=0.2, max_delay=2.0)
    stats = Stats()
    results: list[CheckResult] = []
    if "entra" in sources:
        await _check_graph(settings, results, policy, stats, graph_credential, graph_transport)
    if "zoom" in sources:
        await _check_zoom(settings, results, policy, stats, zoom_transport)
    return results


async def _check_graph(settings, results, policy, stats, credential, transport) -> None:
    from zoomaudit.sources.graph import USER_SELECT, GraphSource

    try:
        g = GraphSource(
            settings, policy=policy, stats=stats, credential=credential, transport=transport
        )
    except ZoomAuditError as exc:
        results.append(CheckResult("entra", "credentials", False, str(exc)))
        return
    try:

        async def users():
            await g.get(g.url("/users", {"$select": ",".join(USER_SELECT), "$top": 1}))
            return "ok (User.Read.All)"

        if await _probe(results, "entra", "users", users()) is None:
            return

        async def counts():
            page = await g.get(
                g.url("/users", {"$select": "id", "$top": 1, "$count": True}), eventual=True
            )
            if page.get("@odata.count") is None:
                raise ZoomAuditError(
                    "Graph sent no @odata.count (ConsistencyLevel: eventual not honoured): "
                    "pulled row counts will be recorded as unverified"
                )
            return "ok (@odata.count sent: pulled row counts are verified)"

        await _probe(results, "entra", "row counts (@odata.count)", counts(), required=False)
        await _probe(
            results,
            "entra",
            "signInActivity",
            g.get(g.url("/users", {"$select": "id,signInActivity", "$top": 1})),
            required=False,
        )
        sp = await _probe(results, "entra", "Zoom app (service principal)", g.service_principal())
        if not sp:
            return
        sp_id = sp["id"]
        results[-1].detail = f"ok: {sp.get('displayName')} (appId {sp.get('appId')})"
        page = await _probe(
            results,
            "entra",
            "app assignments",
            g.get(g.url(f"/servicePrincipals/{sp_id}/appRoleAssignedTo", {"$top": 1})),
        )
        group = next(
            (
                a["principalId"]
                for a in (page or {}).get("value", [])
                if a.get("principalType") == "Group"
            ),
            None,
        )
        if group:
            await _probe(
                results,
                "entra",
                "group members",
                g.get(g.url(f"/groups/{group}/members", {"$select": "id", "$top": 1})),
            )
        await _probe(
            results,
            "entra",
            "provisioning logs",
            g.get(
                g.url(
                    "/auditLogs/provisioning",
                    {"$filter": f"servicePrincipal/id eq '{sp_id}'", "$top": 1},
                )
            ),
            required=False,
        )
        await _probe(
            results,
            "entra",
            "synchronization jobs",
            g.get(g.url(f"/servicePrincipals/{sp_id}/synchronization/jobs")),
            required=False,
        )
    finally:
        await g.aclose()


async def _check_zoom(settings, results, policy, stats, transport) -> None:
    from zoomaudit.sources.zoom import ZoomSource

    try:
        z = ZoomSource(settings, policy=policy, stats=stats, transport=transport)
    except ZoomAuditError as exc:
        results.append(CheckResult("zoom", "credentials", False, str(exc)))
        return
    try:

        async def token():
            await z.auth.token()
            scopes = " ".join(z.auth.scopes or []) or "static token"
            return f"ok ({scopes})"

        if await _probe(results, "zoom", "token", token()) is None:
            return
        api = settings.zoom_api_url.rstrip("/")
        await _probe(
            results,
            "zoom",
            "SCIM users",
            z.get(
                settings.zoom_scim_url.rstrip("/") + "/Users",
                {"startIndex": 1, "count": 1},
                label="medium",
            ),
        )
        await _probe(
            results,
            "zoom",
            "REST users",
            z.get(api + "/users", {"status": "active", "page_size": 1}, label="medium"),
        )
        await _probe(
            results,
            "zoom",
            "plans usage",
            z.get(api + "/accounts/me/plans/usage", {}, label="heavy"),
            required=False,
        )
        await _probe(
            results,
            "zoom",
            "managed domains",
            z.get(api + "/accounts/me/managed_domains", {}, label="light"),
            required=False,
        )
        from datetime import UTC, datetime, timedelta

        today = datetime.now(UTC).date()
        await _probe(
            results,
            "zoom",
            "activity report",
            z.get(
                api + "/report/activities",
                {
                    "from": (today - timedelta(days=1)).isoformat(),
                    "to": today.isoformat(),
                    "page_size": 1,
                },
                label="heavy",
            ),
            required=False,
        )
    finally:
        await z.aclose()


def check(settings: Settings, **kwargs) -> list[CheckResult]:
    """Synchronous :func:`check_async`."""
    return run_sync(check_async(settings, **kwargs))
