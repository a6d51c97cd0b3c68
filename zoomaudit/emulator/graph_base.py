"""The Graph emulator's request pipeline: routes, auth, permissions, faults, paging.

Part of the emulator: :class:`GraphBase` answers one :class:`~.graph_common.Ctx` (faults, then
bearer check, then route match and permission check, then the handler), wraps errors in
Graph's envelope and pages collections with absolute nextLinks and opaque ``$skiptoken``s.
The handlers live in ``graph_users``, ``graph_directory`` and ``graph_reports``.
"""

from __future__ import annotations

import email.utils
import re
import time
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from urllib.parse import unquote

import orjson

from zoomaudit.emulator.core import GENERIC_KINDS, EmulatorState, TokenBucket
from zoomaudit.emulator.graph_common import (
    A_READ,
    A_WRITE,
    AUDIT,
    G_READ,
    GRAPH_PREFIX,
    LRU,
    READ_DIR,
    S_READ,
    S_WRITE,
    U_READ,
    Ctx,
    GraphError,
    Resp,
    decode_token,
    dumps,
    encode_token,
    parse_query,
)
from zoomaudit.emulator.graph_filter import Filter, FilterError, parse
from zoomaudit.emulator.graph_views import TenantView


@dataclass
class RouteDef:
    """A route: path regex, handler name and required permissions per method."""

    rx: re.Pattern
    methods: dict[str, str]  # method -> handler name
    perms: dict[str, tuple[frozenset, ...]]  # method -> all of (any of each set)
    cost: int = 1  # x-ms-resource-unit


def _route(pattern: str, cost: int = 1, **methods: tuple[str, tuple[set, ...]]) -> RouteDef:
    return RouteDef(
        re.compile(pattern + "$"),
        {m.upper(): h for m, (h, _) in methods.items()},
        {m.upper(): tuple(frozenset(s) for s in p) for m, (_, p) in methods.items()},
        cost,
    )


SP = r"servicePrincipals/([^/]+)"
JOB = SP + r"/synchronization/jobs/([^/]+)"
ROUTES = [
    _route(r"users", 2, get=("users_list", (U_READ,))),
    _route(r"users/\$count", get=("users_count", (U_READ,))),
    _route(r"users/delta", 2, get=("users_delta", (U_READ,))),
    _route(r"users/([^/]+)", get=("user_get", (U_READ,))),
    _route(r"users/([^/]+)/appRoleAssignments", 2, get=("user_assignments", (U_READ,))),
    _route(r"directory/deletedItems/microsoft\.graph\.user", get=("deleted_users", (U_READ,))),
    _route(r"servicePrincipals", get=("sp_list", (A_READ,))),
    _route(SP, get=("sp_get", (A_READ,))),
    _route(
        SP + r"/appRoleAssignedTo",
        get=("assigned_list", (A_READ,)),
        post=("assign_create", (A_WRITE,)),
    ),
    _route(
        SP + r"/appRoleAssignedTo/([^/]+)",
        get=("assign_get", (A_READ,)),
        delete=("assign_delete", (A_WRITE,)),
    ),
    _route(SP + r"/synchronization/jobs", get=("jobs_list", (S_READ,))),
    _route(JOB, get=("job_get", (S_READ,))),
    _route(JOB + r"/schema", get=("job_schema", (S_READ,))),
    _route(JOB + r"/(start|pause|restart)", post=("job_control", (S_WRITE,))),
    _route(JOB + r"/provisionOnDemand", post=("provision_on_demand", (S_WRITE,))),
    _route(r"groups", get=("groups_list", (G_READ,))),
    _route(r"groups/([^/]+)", get=("group_get", (G_READ,))),
    _route(
        r"groups/([^/]+)/(members|transitiveMembers)(?:/microsoft\.graph\.(user|group))?(/\$count)?",
        3,
        get=("group_members", (G_READ,)),
    ),
    _route(r"auditLogs/provisioning", get=("audit_provisioning", (AUDIT, READ_DIR))),
    _route(r"\$batch", post=("batch", ())),
]


#: what Graph sends with a 401 (no ``claims``: not a CAE challenge, so clients just renew)
WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/'
    'authorize", client_id="00000003-0000-0000-c000-000000000000"'
)


def unauthorized(message: str) -> GraphError:
    return GraphError(
        401, "InvalidAuthenticationToken", message, {"WWW-Authenticate": WWW_AUTHENTICATE}
    )


def normalise_path(path: str) -> str:
    """The route key: no /v1.0, single slashes, canonical casts and alternate keys."""
    path = re.sub(r"/+", "/", path).strip("/")
    if path.lower().startswith("v1.0"):
        path = path[4:].lstrip("/")
    path = re.sub(r"(^|/)graph\.(\w+)", r"\1microsoft.graph.\2", path)
    return re.sub(r"servicePrincipals\(appId='([^']*)'\)", r"servicePrincipals/appId=\1", path)


class GraphBase:
    """Request handling, independent of the web framework (handlers come from mixins)."""

    def __init__(self, state: EmulatorState):
        self.state = state
        self.view = TenantView(state)
        self.pages = LRU(4096, max_bytes=512 * 2**20)  # serialised pages: one 1M-user pull
        opts = state.options
        self.reports_bucket = TokenBucket(*opts.reports_limit, state.clock)
        self.pod_bucket = TokenBucket(*opts.provision_on_demand_limit, state.clock)
        self.delta_states = LRU(32)  # evicted tokens answer syncStateNotFound, like expiry
        self.delta_sessions = LRU(64)
        self.visible_after: dict[str, float] = {}

    # ---- envelope, auth, faults
    def error(self, ctx: Ctx, exc: GraphError) -> Resp:
        inner = {
            "date": self.state.clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": ctx.rid,
            "client-request-id": ctx.headers.get("client-request-id", ctx.rid),
        }
        body = {"error": {"code": exc.code, "message": exc.message, "innerError": inner}}
        return Resp(exc.status, dumps(body), headers=dict(exc.headers))

    def _auth(self, ctx: Ctx) -> None:
        header = ctx.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthorized("Access token is empty.")
        expiry = self.state.issued_tokens.get(token)
        if token.startswith("expired-") or (expiry and expiry <= self.state.clock.now()):
            raise unauthorized("Lifetime validation failed, the token is expired.")

    def _check_perms(self, required: tuple[frozenset, ...]) -> None:
        granted = self.state.options.graph_permissions
        if granted is None:
            return
        for any_of in required:
            if not (set(granted) & any_of):
                raise GraphError(
                    403,
                    "Authorization_RequestDenied",
                    "Insufficient privileges to complete the operation.",
                    # not sent by Graph; helps whoever reads a failing test
                    {"x-emulator-required-permission": " or ".join(sorted(any_of))},
                )

    def _fault_response(self, ctx: Ctx, kind: str, value: float | None) -> Resp | None:
        retry = str(max(1, int(value or 1)))
        if kind == "429":
            return self._throttled(ctx, retry)
        if kind == "429-none":
            return self._throttled(ctx, None)
        if kind == "429-date":
            return self._throttled(
                ctx, email.utils.formatdate(time.time() + float(value or 1), usegmt=True)
            )
        if kind in ("500", "502", "503", "504"):
            codes = {"500": "InternalServerError", "502": "BadGateway",
                     "503": "serviceNotAvailable", "504": "GatewayTimeout"}  # fmt: skip
            headers = {"Retry-After": "1"} if kind == "503" else {}
            return self.error(ctx, GraphError(int(kind), codes[kind], "Injected fault.", headers))
        if kind == "expire-token":
            return self.error(
                ctx, unauthorized("Lifetime validation failed, the token is expired.")
            )
        if kind == "html":
            page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1>"
            return Resp(502, page + b"</body></html>", "text/html")
        if kind == "malformed":
            return Resp(200, b"<!-- not json -->{value: [", "application/json")
        return None  # truncated: applied after the route runs

    def _throttled(self, ctx: Ctx, retry_after: str | None, info: str = "") -> Resp:
        headers = {
            "x-ms-throttle-scope": "Tenant_Application/ReadWrite/emulator/"
            + str(getattr(self.state.tenant, "tenant_id", "")),
            "x-ms-throttle-information": info or "ResourceUnitLimitExceeded",
        }
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        exc = GraphError(429, "TooManyRequests", "Too many requests, please retry later.", headers)
        return self.error(ctx, exc)

    def process(self, ctx: Ctx) -> Resp:
        """Answer one request: faults, auth, route, permission check, handler."""
        cost = 1
        try:
            ctx.q = parse_query(ctx.raw_query)
            fault = self.state.faults.take("graph", unquote(ctx.raw_path), GENERIC_KINDS)
            resp = None
            if fault is not None:
                ctx.fault = fault.kind
                resp = self._fault_response(ctx, fault.kind, fault.value)
            if resp is None:
                self._auth(ctx)
                route, args = self._match(ctx)
                cost = route.cost
                self._check_perms(route.perms[ctx.method])
                resp = getattr(self, route.methods[ctx.method])(ctx, *args)
            if ctx.fault == "truncated" and len(resp.body) > 1:
                resp = Resp(200, resp.body[: len(resp.body) // 2], resp.content_type)
        except GraphError as exc:
            resp = self.error(ctx, exc)
        resp.headers["request-id"] = ctx.rid
        if "client-request-id" in ctx.headers:
            resp.headers["client-request-id"] = ctx.headers["client-request-id"]
        resp.headers.setdefault("x-ms-resource-unit", str(cost))
        return resp

    def _match(self, ctx: Ctx) -> tuple[RouteDef, tuple]:
        for route in ROUTES:
            m = route.rx.match(ctx.path)
            if m:
                if ctx.method not in route.methods:
                    raise GraphError(
                        405,
                        "Request_BadRequest",
                        "Specified HTTP method is not allowed for the request target.",
                    )
                return route, tuple(unquote(g) if g else g for g in m.groups())
        segment = ctx.path.split("/")[0] if ctx.path else ""
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")

    # ---- common query helpers
    def _top(self, ctx: Ctx, default: int, maximum: int) -> int:
        raw = ctx.q.get("$top")
        if raw is None:
            return default
        try:
            top = int(raw)
        except ValueError:
            top = -1
        if not 1 <= top <= maximum:
            raise GraphError(
                400,
                "Request_BadRequest",
                f"Invalid page size specified: '{raw}'. Must be between 1 and {maximum} "
                "inclusive.",
            )
        return top

    def _filter(self, ctx: Ctx, allowed: set[str] | None, resource: str) -> Filter | None:
        text = ctx.q.get("$filter")
        if not text:
            return None
        try:
            flt = parse(text)
        except FilterError as exc:
            raise GraphError(400, "BadRequest", f"Invalid filter clause: {exc}") from exc
        if allowed is not None:
            for prop in sorted(flt.properties):
                if prop not in allowed and prop.split("/")[0] not in allowed:
                    raise GraphError(
                        400,
                        "Request_UnsupportedQuery",
                        f"Unsupported or invalid query filter clause specified for property "
                        f"'{prop}' of resource '{resource}'.",
                    )
        return flt

    def _require_advanced(self, ctx: Ctx, what: str, resource: str) -> None:
        if self.state.options.strict_advanced_queries and not ctx.advanced:
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                f"Unsupported or invalid query filter clause specified for property '{what}' "
                f"of resource '{resource}'.",
            )

    def _next_link(self, ctx: Ctx, token: str, name: str = "$skiptoken") -> str:
        parts = [
            p
            for p in ctx.raw_query.split("&")
            if p
            and unquote(p.split("=", 1)[0]).lower().lstrip("$") not in ("skiptoken", "deltatoken")
        ]
        parts.append(f"{name}={token}")
        return f"{ctx.base}{ctx.raw_path}?{'&'.join(parts)}"

    def _context(self, ctx: Ctx, fragment: str) -> str:
        return f"{ctx.base}{GRAPH_PREFIX}/$metadata#{fragment}"

    def page(
        self,
        ctx: Ctx,
        *,
        total: int,
        fetch,
        top: int,
        context: str,
        cacheable: bool = True,
        count: int | None = None,
    ) -> Resp:
        """One page of a collection; the opaque ``$skiptoken`` carries the offset."""
        tok = ctx.q.get("$skiptoken")
        offset = int(decode_token(tok).get("o", 0)) if tok else 0
        fault = self.state.faults.take("graph", unquote(ctx.raw_path), {"empty-page", "short"})
        key = None
        if cacheable and fault is None:
            query = "&".join(p for p in ctx.raw_query.split("&") if "skiptoken" not in p.lower())
            key = (ctx.path, query, offset, ctx.advanced, self.view.version)
            hit = self.pages.hit(key)
            if hit is not None:
                return Resp(200, hit)
        end = min(offset + top, total)
        body: dict[str, Any] = {"@odata.context": context}
        if offset == 0 and count is not None and ctx.advanced:
            body["@odata.count"] = count
        if fault is not None and fault.kind == "empty-page":
            ctx.fault = fault.kind
            body["@odata.nextLink"] = self._next_link(ctx, encode_token({"o": offset}))
            body["value"] = []
            return Resp(200, dumps(body))
        items = fetch(offset, end)
        if fault is not None and fault.kind == "short":
            ctx.fault = fault.kind
            items = items[: len(items) // 2]
        if end < total:
            body["@odata.nextLink"] = self._next_link(ctx, encode_token({"o": end}))
        body["value"] = items
        data = dumps(body)
        if key is not None:
            self.pages.put(key, data)
        return Resp(200, data)

    @staticmethod
    def text(value: int) -> Resp:
        return Resp(200, str(value).encode(), "text/plain")

    @staticmethod
    def json(obj: Any, status: int = 200) -> Resp:
        return Resp(status, dumps(obj))

    def _body(self, ctx: Ctx) -> dict:
        if not ctx.body:
            return {}
        try:
            body = orjson.loads(ctx.body)
        except orjson.JSONDecodeError as exc:
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload.") from exc
        if not isinstance(body, dict):
            raise GraphError(400, "BadRequest", "The request payload must be a JSON object.")
        return body
