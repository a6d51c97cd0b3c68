"""Microsoft Graph collector: Entra users, the Zoom app, assignments, groups, provisioning logs
and synchronization jobs, as raw pages.

Place in the flow: ``pull`` calls :class:`GraphSource`; pages go, as received, to the raw sink
of the snapshot being written and their items to ``convert`` (never typed SDK models: they
cost ~4 ms per object). Requests go through msgraph-sdk's request adapter (auth, middleware)
with a native response handler, so each answer is an ``httpx.Response``; nextLinks are followed
by hand (``PageIterator`` stops at empty pages) and ``ConsistencyLevel: eventual`` is re-sent on
every page. Retries are ours (:mod:`zoomaudit.sources.http`, one budget and one set of counters
for both services; msgraph's RetryHandler is switched off per request because it cannot retry
5xx/HTML/malformed pages, treats ``Retry-After: 0`` as 3.5 s and cannot be counted).

Nothing here relies on what Graph does not promise: page sizes (any, including empty pages
with a nextLink), relative nextLinks, ``@odata.count`` (absent when the advanced query is not
honoured: the caller records the count as unverifiable), ``@odata.type`` on members (groups
are found with the OData cast when it is missing), GUID casing (compared case-insensitively)
and id formats (an assigned group's id is read as an id even when it is not a GUID).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode, urljoin

import httpx
import orjson

from zoomaudit import convert
from zoomaudit.auth import GRAPH_SCOPES, RenewingCredential, graph_credential
from zoomaudit.config import Settings
from zoomaudit.errors import (
    AuthenticationError,
    LookupFailedError,
    PermissionDeniedError,
    SourceError,
)
from zoomaudit.sources.http import (
    RateLimiter,
    RetryPolicy,
    Stats,
    error_text,
    fetch_json,
    read_only_client,
    writes_delegated,
)

log = logging.getLogger("zoomaudit.sources.graph")

USER_SELECT = (
    "id",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "mailNickname",
    "otherMails",
    "proxyAddresses",
    "accountEnabled",
    "department",
    "jobTitle",
    "employeeId",
    "country",
    "usageLocation",
    "userType",
    "createdDateTime",
    "onPremisesSyncEnabled",
    "assignedLicenses",
)
SP_SELECT = (
    "id",
    "appId",
    "displayName",
    "appRoleAssignmentRequired",
    "accountEnabled",
    "appRoles",
)
GROUP_SELECT = (
    "id",
    "displayName",
    "securityEnabled",
    "mailEnabled",
    "groupTypes",
    "membershipRule",
)
NON_PREMIUM = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
_GUID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)

#: route -> (permission named in 403 messages)
PERMISSIONS = (
    ("/synchronization", "Synchronization.Read.All"),
    ("/auditLogs", "AuditLog.Read.All and Directory.Read.All"),
    ("/members", "GroupMember.Read.All"),
    ("/transitiveMembers", "GroupMember.Read.All"),
    ("/groups", "GroupMember.Read.All"),
    ("/servicePrincipals", "Application.Read.All"),
    ("/directory/deletedItems", "User.Read.All"),
    ("/users", "User.Read.All"),
)


def permission_for(url: str) -> str:
    """The least Graph application permission the route needs (for 403 messages)."""
    path = url.split("?", 1)[0]
    for fragment, permission in PERMISSIONS:
        if fragment in path:
            return permission
    return "Directory.Read.All"


class NonPremiumError(PermissionDeniedError):
    """403 Authentication_RequestFromNonPremiumTenantOrB2CTenant (signInActivity, reports)."""


def _is_expired(response: httpx.Response) -> bool:
    code, message = error_text(response)
    return "expired" in (message or "").lower() or "lifetime" in (message or "").lower()


class GraphSource:
    """Reads Entra data from Microsoft Graph through msgraph-sdk's request adapter.

    Args:
        settings: base URL (``settings.graph_url``) and credentials.
        policy: retry policy; stats: shared counters.
        sink: ``sink(name, page_bytes)`` receives every page as received (raw payloads).
        credential: an async TokenCredential to use instead of the one ``settings`` select.
        transport: an httpx transport (tests).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        policy: RetryPolicy,
        stats: Stats,
        sink: Callable[[str, bytes], None] | None = None,
        credential=None,
        transport: httpx.AsyncBaseTransport | None = None,
        audit_top: int = 500,
    ):
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider,
        )
        from msgraph import GraphRequestAdapter, GraphServiceClient
        from msgraph_core import GraphClientFactory

        self.settings = settings
        self.policy = policy
        self.stats = stats
        self.sink = sink or (lambda name, content: None)
        self.audit_top = audit_top
        self.credential = RenewingCredential(credential or graph_credential(settings))
        verify: object = True
        if settings.ca_bundle:
            import ssl

            verify = ssl.create_default_context(cafile=str(settings.ca_bundle))
        # read-only: writes only through zoomaudit.apply's WriteGuard; $batch of GETs allowed
        http = read_only_client(
            policy,
            transport=transport,
            verify=verify,
            max_connections=20,
            allow_writes=writes_delegated(transport),
            batch_reads=settings.graph_url,
        )
        self._http = http
        auth = AzureIdentityAuthenticationProvider(self.credential, scopes=GRAPH_SCOPES)
        adapter = GraphRequestAdapter(
            auth, client=GraphClientFactory.create_with_default_middleware(client=http)
        )
        adapter.base_url = settings.graph_url.rstrip("/")
        self.client = GraphServiceClient(request_adapter=adapter)
        self.base = adapter.base_url
        #: the identity and access reports limit: 5 requests per 10 s per app per tenant
        self.reports_limiter = RateLimiter(0.5, burst=5, name="graph-reports")
        self.queries: list[str] = []
        self.unavailable: dict[str, str] = {}

    async def aclose(self) -> None:
        await self._http.aclose()
        await self.credential.close()

    # ------------------------------------------------------------------ transport
    def url(self, path: str, params: dict[str, str | int | bool] | None = None) -> str:
        """An absolute URL under the Graph base, encoded the way msgraph-sdk does."""
        url = self.base + path
        if params:
            pairs = sorted(
                (k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in params.items()
            )
            url += "?" + urlencode(pairs, quote_via=quote, safe="$,'()/:")
        return url

    async def get(
        self, url: str, *, eventual: bool = False, limiter: RateLimiter | None = None
    ) -> dict:
        """One GET through the SDK's adapter, with our retries; the JSON body."""
        return (await self.fetch(url, eventual=eventual, limiter=limiter))[0]

    async def fetch(
        self,
        url: str,
        *,
        eventual: bool = False,
        limiter: RateLimiter | None = None,
        parse: Callable[[bytes], object] = orjson.loads,
    ) -> tuple[dict, bytes]:
        """One GET with retries: ``(JSON body, bytes as received)`` (a ``convert.ArrowPage``
        when ``parse`` made one)."""
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from kiota_abstractions.native_response_handler import NativeResponseHandler
        from kiota_http.middleware.options import ResponseHandlerOption, RetryHandlerOption

        async def send() -> httpx.Response:
            cfg = RequestConfiguration(
                options=[
                    ResponseHandlerOption(NativeResponseHandler()),
                    RetryHandlerOption(delay=0, max_retries=0, should_retry=False),
                ]
            )
            if eventual:
                cfg.headers.add("ConsistencyLevel", "eventual")
            return await self.client.users.with_url(url).get(request_configuration=cfg)

        async def renew() -> bool:
            self.credential.invalidate()
            return True

        body, response = await fetch_json(
            send,
            url=url,
            source="graph",
            policy=self.policy,
            stats=self.stats,
            on_error=self._error,
            renew=renew,
            limiter=limiter,
            is_expired=_is_expired,
            parse=parse,
        )
        if not isinstance(body, dict | convert.ArrowPage):
            raise SourceError(f"graph sent a non-object JSON body for {url.split('?')[0]}")
        return body, response.content

    def _error(self, response: httpx.Response, url: str) -> Exception | None:
        code, message = error_text(response)
        status = response.status_code
        if status == 401:
            return AuthenticationError(
                f"Graph rejected the token ({code}: {message}); the token is invalid or expired: "
                "renew ZOOMAUDIT_GRAPH_TOKEN or check the app credentials",
                status=status,
                url=url,
            )
        if status == 403 and code == NON_PREMIUM:
            return NonPremiumError(
                f"the tenant has no Entra ID P1/P2 licence (or the app lacks AuditLog.Read.All) "
                f"for {url.split('?')[0]}: {message}",
                permission="AuditLog.Read.All",
                status=status,
                url=url,
            )
        if status == 403:
            permission = permission_for(url)
            return PermissionDeniedError(
                f"Graph denied {url.split('?')[0]} ({code}): grant the application permission "
                f"{permission} to the Entra app (admin consent) and pull again",
                permission=permission,
                status=status,
                url=url,
            )
        return None

    async def collect(
        self,
        name: str,
        path: str,
        params: dict | None = None,
        *,
        count: bool = False,
        limiter: RateLimiter | None = None,
        into: convert.Chunks | None = None,
        parse: Callable[[bytes], object] = orjson.loads,
    ) -> tuple[list[dict], int | None]:
        """Every item of a collection (following nextLinks), and ``@odata.count`` if asked.

        Pages go to the raw sink under ``name``. With ``count``, ``$count=true`` and
        ``ConsistencyLevel: eventual`` are sent (the header again on every page). With
        ``into``, each page's items go to that accumulator (converted there while the next
        page is already being fetched) and the returned list is empty; ``parse`` may then
        parse pages straight into Arrow (``convert.GRAPH_USERS_PAGE``).
        """
        params = dict(params or {})
        if count:
            params["$count"] = True
        url = self.url(path, params)
        self.queries.append(url)
        items: list[dict] = []
        expected: int | None = None
        first = True
        empty_run = 0
        if "$top" in params:
            try:
                first_page = await self.fetch(url, eventual=count, limiter=limiter, parse=parse)
            except SourceError as exc:
                if exc.status != 400 or isinstance(exc, PermissionDeniedError):
                    raise
                # [U] the maximum $top of some collections is unverified: fall back to the
                # server's default page size rather than fail
                log.warning("Graph refused $top for %s; using its default page size", path)
                params.pop("$top")
                url = self.url(path, params)
                self.queries[-1] = url
                first_page = await self.fetch(url, eventual=count, limiter=limiter, parse=parse)
            task = asyncio.get_running_loop().create_future()
            task.set_result(first_page)
        else:
            task = asyncio.ensure_future(
                self.fetch(url, eventual=count, limiter=limiter, parse=parse)
            )
        try:
            while task is not None:
                page, content = await task
                task = None
                self.sink(name, content)
                if first and count:
                    value = page.get("@odata.count")
                    expected = int(value) if value is not None else None
                first = False
                link = page.get("@odata.nextLink")
                # OData allows a relative nextLink: resolve it against this page's URL
                following = urljoin(url, str(link)) if link else None
                if following is not None and following == url:
                    raise SourceError(
                        f"graph sent a nextLink pointing at the same page for {path}; "
                        "the listing does not advance, pull again later"
                    )
                url = following
                if url:  # the next page is on its way while this one is handled
                    task = asyncio.ensure_future(
                        self.fetch(url, eventual=count, limiter=limiter, parse=parse)
                    )
                value = page.get("value") or []
                if into is not None:
                    into.add(value)
                else:
                    items.extend(value)
                empty_run = 0 if len(value) else empty_run + 1
                if empty_run > 100:
                    raise SourceError(f"graph sent 100 empty pages in a row for {path}; giving up")
        finally:
            if task is not None and not task.done():
                task.cancel()
        return items, expected

    # ------------------------------------------------------------------ collections
    async def users(
        self,
        *,
        sign_in: bool = True,
        into: convert.Chunks | None = None,
    ) -> tuple[list[dict], int | None]:
        """All users with the audit's ``$select`` (+ signInActivity when the tenant allows).

        With ``into`` (a ``convert.Chunks`` of ``entra_users``) pages are parsed straight into
        Arrow and converted there, and the returned list is empty; the accumulator is
        cleared when the read starts over without signInActivity.
        """
        parse = convert.GRAPH_USERS_PAGE if into is not None else orjson.loads
        # Graph is reported to answer the non-premium 403 intermittently on premium
        # tenants (graph.md §2): it is asked once more before signInActivity is given up
        for attempt in range(2 if sign_in else 0):
            try:
                return await self.collect(
                    "users",
                    "/users",
                    {"$select": ",".join((*USER_SELECT, "signInActivity")), "$top": 500},
                    count=True,
                    into=into,
                    parse=parse,
                )
            except PermissionDeniedError as exc:
                if into is not None:
                    into.clear()
                if isinstance(exc, NonPremiumError) and attempt == 0:
                    log.warning("Graph answered %s; asking once more", NON_PREMIUM)
                    continue
                # non-premium tenant, or no AuditLog.Read.All: users without sign-in activity
                # (if User.Read.All is missing too, the read below says so)
                reason = (
                    f"{NON_PREMIUM}: tenant without Entra ID P1/P2"
                    if isinstance(exc, NonPremiumError)
                    else "the app lacks AuditLog.Read.All (needed for signInActivity)"
                )
                self.unavailable["signInActivity"] = f"{reason} ({exc})"
                log.warning("signInActivity not available: %s; pulling users without it", reason)
                break
        return await self.collect(
            "users",
            "/users",
            {"$select": ",".join(USER_SELECT), "$top": 999},
            count=True,
            into=into,
            parse=parse,
        )

    async def user_exists(self, user_id: str) -> bool:
        """Whether ``/users/{id}`` exists now (False on 404)."""
        url = self.url(f"/users/{quote(user_id, safe='')}", {"$select": "id"})
        self.queries.append(url)
        try:
            await self.get(url)
        except PermissionDeniedError:
            raise
        except SourceError as exc:
            if exc.status != 404:
                raise
            return False
        return True

    async def deleted_users(self) -> tuple[list[dict], int | None]:
        params = {"$select": ",".join((*USER_SELECT, "deletedDateTime")), "$top": 999}
        try:
            return await self.collect(
                "deleted_users", "/directory/deletedItems/microsoft.graph.user", params, count=True
            )
        except PermissionDeniedError:
            raise
        except SourceError as exc:
            if exc.status != 400:
                raise
            return await self.collect(
                "deleted_users", "/directory/deletedItems/microsoft.graph.user", params
            )

    async def service_principal(self) -> dict:
        """The Zoom app's service principal (by appId, else display name; ambiguous: error)."""
        s = self.settings
        select = ",".join(SP_SELECT)
        if s.app_id:
            key, flt = f"appId {s.app_id}", f"appId eq '{_q(s.app_id)}'"
        else:
            name = s.app_name or "Zoom"
            if not s.app_name:
                log.warning("ZOOMAUDIT_APP_ID/APP_NAME not set: looking for the app 'Zoom'")
            key, flt = f"display name {name!r}", f"displayName eq '{_q(name)}'"
        items, _ = await self.collect(
            "service_principals", "/servicePrincipals", {"$filter": flt, "$select": select}
        )
        if not items:
            raise LookupFailedError(
                f"no enterprise app (service principal) with {key} in the tenant; set "
                "ZOOMAUDIT_APP_ID (or ZOOMAUDIT_APP_NAME) to the Zoom app"
            )
        if len(items) > 1:
            ids = ", ".join(sorted(str(i.get("appId")) for i in items))
            raise LookupFailedError(
                f"{len(items)} service principals match {key} (appIds {ids}); set "
                "ZOOMAUDIT_APP_ID to the one to audit"
            )
        return items[0]

    async def assignments(self, sp_id: str) -> tuple[list[dict], int | None]:
        """appRoleAssignedTo of the app (no server-side filter exists for principalId)."""
        items, expected = await self.collect(
            "assignments",
            f"/servicePrincipals/{quote(sp_id, safe='')}/appRoleAssignedTo",
            {"$top": 999},
        )
        # GUIDs compare case-insensitively (ids may come back in another casing)
        sp_key = str(sp_id).lower()
        items = [
            i
            for i in items
            if not i.get("deletedDateTime") and str(i.get("resourceId", sp_id)).lower() == sp_key
        ]
        return items, expected

    async def _group_by_id(self, ref: str) -> dict | None:
        """GET /groups/{id}; None when Graph says there is no such object (404, or 400 for an
        id it cannot parse)."""
        url = self.url(f"/groups/{quote(ref, safe='')}", {"$select": ",".join(GROUP_SELECT)})
        try:
            return await self.get(url)
        except PermissionDeniedError:
            raise
        except SourceError as exc:
            if exc.status not in (400, 404):
                raise
            return None

    async def group(self, ref: str, *, by_id: bool = False) -> dict:
        """A group by id, or by exact display name (several or none: LookupFailedError).

        Ids are opaque (an independent service need not use GUIDs): with ``by_id`` (a
        principalId from an assignment) ``ref`` is only read as an id; otherwise a GUID is
        tried as an id first and anything else as a display name, then as an id.
        """
        select = ",".join(GROUP_SELECT)
        if by_id or _GUID.match(ref):
            found = await self._group_by_id(ref)
            if found is not None:
                return found
            if by_id:
                raise LookupFailedError(
                    f"the app is assigned to group {ref!r}, but Graph has no such group "
                    "(deleted just now? replication delay?); pull again in a few minutes"
                )
        items, _ = await self.collect(
            "groups", "/groups", {"$filter": f"displayName eq '{_q(ref)}'", "$select": select}
        )
        if not items and not _GUID.match(ref) and not any(c.isspace() for c in ref):
            found = await self._group_by_id(ref)
            if found is not None:
                return found
        if not items:
            raise LookupFailedError(f"no group with id or display name {ref!r} in the tenant")
        if len(items) > 1:
            ids = ", ".join(sorted(i["id"] for i in items))
            raise LookupFailedError(
                f"{len(items)} groups are named {ref!r} ({ids}); pass the group id instead"
            )
        return items[0]

    async def members(self, group_id: str, *, transitive: bool) -> tuple[list[dict], int | None]:
        """Direct or transitive members (``@odata.count`` for transitive).

        Graph tags each member with ``@odata.type``; where it does not (a bare
        directoryObject), the groups among the members are asked for with the OData cast
        ``/microsoft.graph.group`` and tagged ``#microsoft.graph.group``. Untagged members that
        remain are classified by the caller (``pull``: ids found in /users are users).
        """
        rel = "transitiveMembers" if transitive else "members"
        path = f"/groups/{quote(group_id, safe='')}/{rel}"
        items, expected = await self.collect(
            f"group_{rel}", path, {"$select": "id", "$top": 999}, count=transitive
        )
        if any(not i.get("@odata.type") for i in items):
            try:
                groups, _ = await self.collect(
                    f"group_{rel}",
                    f"{path}/microsoft.graph.group",
                    {"$select": "id"},
                    count=transitive,
                )
            except PermissionDeniedError:
                raise
            except SourceError as exc:
                if exc.status not in (400, 404, 405):
                    raise
                log.warning("Graph refused the group cast on %s: %s", path, exc)
                groups = []
            group_ids = {str(g.get("id")).lower() for g in groups}
            for item in items:
                if not item.get("@odata.type") and str(item.get("id")).lower() in group_ids:
                    item["@odata.type"] = "#microsoft.graph.group"
        return items, expected

    async def provisioning_logs(
        self, sp_id: str, since_days: int, *, now: datetime | None = None
    ) -> tuple[list[dict], int | None]:
        since = ((now or datetime.now(UTC)) - timedelta(days=since_days)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        flt = f"servicePrincipal/id eq '{_q(sp_id)}' and activityDateTime gt {since}"
        try:
            return await self.collect(
                "provisioning_logs",
                "/auditLogs/provisioning",
                {"$filter": flt, "$top": self.audit_top},
                limiter=self.reports_limiter,
            )
        except NonPremiumError as exc:
            self.unavailable["provisioning_logs"] = f"{NON_PREMIUM}: {exc}"
            log.warning("provisioning logs not available (non-premium tenant)")
            return [], None

    async def sync_jobs(self, sp_id: str) -> tuple[list[dict], dict[str, dict]]:
        base = f"/servicePrincipals/{quote(sp_id, safe='')}/synchronization/jobs"
        jobs, _ = await self.collect("sync_jobs", base)
        schemas = {}
        for job in jobs:
            url = self.url(f"{base}/{quote(str(job['id']), safe='')}/schema")
            self.queries.append(url)
            schema, content = await self.fetch(url)
            self.sink("sync_schema", content)
            schemas[str(job["id"])] = schema
        return jobs, schemas


def _q(value: str) -> str:
    """Escape a string literal for OData ``$filter`` (single quotes doubled)."""
    return str(value).replace("'", "''")
