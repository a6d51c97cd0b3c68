"""The Microsoft Graph v1.0 emulator: the Entra side of the synthetic tenant over real HTTP.

Place in the flow: tests, the demo and the benchmarks point the kit's Graph source at this app
(served by :mod:`zoomaudit.emulator.server`). It reads and mutates one
:class:`~zoomaudit.emulator.model.Tenant` through the shared
:class:`~zoomaudit.emulator.core.EmulatorState` (clock, faults, journal, options), and follows
the emulator MUST list of ``graph.md`` §9: paging with absolute nextLinks, ``$count`` and
``ConsistencyLevel`` rules, ``$select``/``$filter``/``$top`` limits, casts, delta, app role
assignment writes, provisioning logs with the reports rate limit and retention, synchronization
jobs, ``$batch``, error envelopes and injected faults.

Performance: every request works on row positions into the tenant's DataFrames; only the rows
of the page being served are turned into JSON. Position lists and serialised pages are cached
per tenant version, so paging through a 1M-user tenant costs O(page) per request.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import hashlib
import math
import random
import re
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote

import numpy as np
import orjson
import pandas as pd
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from zoomaudit.emulator.core import GENERIC_KINDS, EmulatorState, JournalEntry, TokenBucket
from zoomaudit.emulator.graph_filter import Filter, FilterError, evaluate, parse

ODATA_NAMES = {"select", "filter", "top", "count", "orderby", "search", "expand", "skiptoken",
               "deltatoken", "skip", "format"}  # fmt: skip
DEFAULT_USER_PROPS = (
    "businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone",
    "officeLocation", "preferredLanguage", "surname", "userPrincipalName",
)  # fmt: skip
#: user properties that exist in Graph but are not modelled: selectable, always null/empty
EXTRA_USER_PROPS = {
    "businessPhones": list, "mobilePhone": None, "officeLocation": None, "preferredLanguage": None,
    "employeeType": None, "companyName": None, "onPremisesImmutableId": None,
    "onPremisesSamAccountName": None, "licenseAssignmentStates": list, "city": None,
    "state": None, "streetAddress": None, "postalCode": None, "ageGroup": None,
    "externalUserState": None, "creationType": None, "identities": list,
}  # fmt: skip
NOT_IN_COLLECTIONS = {"aboutMe", "birthday", "hireDate", "interests", "mySite", "pastProjects",
                      "preferredName", "responsibilities", "schools", "skills",
                      "mailboxSettings"}  # fmt: skip
SIGNIN_FIELDS = ("lastSignInDateTime", "lastSuccessfulSignInDateTime",
                 "lastNonInteractiveSignInDateTime")  # fmt: skip
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
READ_DIR = {"Directory.Read.All", "Directory.ReadWrite.All"}
GRAPH_PREFIX = "/v1.0"


class GraphError(Exception):
    """An error answer in Graph's envelope."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


@dataclass
class Resp:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Ctx:
    """One request, independent of Starlette (so ``$batch`` can dispatch inner requests)."""

    method: str
    path: str  # normalised, relative to /v1.0, no leading slash
    raw_path: str  # as received, for journal and faults
    raw_query: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    base: str  # scheme://host:port
    rid: str
    q: dict[str, str] = field(default_factory=dict)
    fault: str | None = None

    @property
    def eventual(self) -> bool:
        return self.headers.get("consistencylevel", "").lower() == "eventual"

    @property
    def count(self) -> bool:
        return self.q.get("$count", "").lower() == "true"

    @property
    def advanced(self) -> bool:
        return self.eventual and self.count


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=_default, option=orjson.OPT_SERIALIZE_NUMPY)


def _default(obj: Any) -> Any:
    if isinstance(obj, pd.Timestamp):
        return obj.strftime("%Y-%m-%dT%H:%M:%SZ")
    if obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not serialisable: {type(obj).__name__}")


def _clean(series: pd.Series) -> list:
    """Python values of ``series`` with every kind of missing value as None."""
    return series.astype(object).where(series.notna(), None).tolist()


def parse_query(raw: str) -> dict[str, str]:
    """Decode ``$``/``%24`` keys and ``%20`` spaces; bare OData names get their ``$`` back."""
    out: dict[str, str] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        k = key.lower()
        if not k.startswith("$") and k in ODATA_NAMES:
            k = "$" + k
        out[k] = value
    return out


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_dt(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def encode_token(obj: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(obj)).decode().rstrip("=")


def decode_token(tok: str) -> Any:
    try:
        return orjson.loads(base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4)))
    except Exception as exc:  # any garbage in an opaque token is the client's fault
        raise GraphError(400, "Request_BadRequest", "Invalid $skiptoken value.") from exc


def assignment_id(principal_id: str, app_role_id: str) -> str:
    """An opaque 43-character base64url id like Graph's (not a GUID)."""
    raw = (
        uuid.UUID(principal_id).bytes
        + hashlib.sha256(f"{principal_id}/{app_role_id}".encode()).digest()[:16]
    )
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class LRU(OrderedDict):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def put(self, key: Any, value: Any) -> Any:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)
        return value

    def hit(self, key: Any) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value


# ---------------------------------------------------------------- tenant views


class TenantView:
    """Read-side helpers over the tenant, rebuilt whenever ``tenant.version`` changes."""

    def __init__(self, state: EmulatorState):
        self.state = state
        self.version = -1
        self._cache: dict[str, Any] = {}

    def _fresh(self) -> None:
        version = self.state.tenant.version
        if version != self.version:
            self._cache = {}
            self.version = version

    def memo(self, key: Any, build) -> Any:
        self._fresh()
        if key not in self._cache:
            with self.state.tenant.lock:
                self._cache[key] = build()
        return self._cache[key]

    # ---- users
    @property
    def users(self) -> pd.DataFrame:
        return self.state.tenant.users

    def live_positions(self) -> np.ndarray:
        return self.memo("live", lambda: np.flatnonzero(self.users["deletedDateTime"].isna()))

    def deleted_positions(self) -> np.ndarray:
        return self.memo("deleted", lambda: np.flatnonzero(self.users["deletedDateTime"].notna()))

    def user_index(self) -> dict[str, int]:
        def build() -> dict[str, int]:
            ids = self.users["id"].astype(object).tolist()
            return {str(i).lower(): n for n, i in enumerate(ids)}

        return self.memo("uidx", build)

    def upn_index(self) -> dict[str, int]:
        def build() -> dict[str, int]:
            upns = self.users["userPrincipalName"].astype(object).tolist()
            return {str(u).lower(): n for n, u in enumerate(upns)}

        return self.memo("upnidx", build)

    def find_user(self, key: str, *, live: bool = True) -> int | None:
        key = key.lower()
        pos = self.user_index().get(key)
        if pos is None:
            pos = self.upn_index().get(key)
        if pos is None:
            return None
        deleted = pd.notna(self.users["deletedDateTime"].iat[pos])
        return None if (live and deleted) else pos

    def user_records(
        self, positions: np.ndarray | list[int], props: tuple[str, ...]
    ) -> list[dict]:
        """Graph JSON for the users at ``positions``, with only ``props``."""
        positions = np.asarray(positions, dtype=np.int64)
        n = len(positions)
        if n == 0:
            return []
        df = self.users
        sub = df.iloc[positions]
        keys, columns = [], []
        for prop in props:
            keys.append(prop)
            if prop == "signInActivity":
                parts = [_clean(sub[c]) if c in df.columns else [None] * n for c in SIGNIN_FIELDS]
                columns.append([_signin(*vals) for vals in zip(*parts, strict=True)])
            elif prop in df.columns:
                columns.append(_clean(sub[prop]))
            else:
                maker = EXTRA_USER_PROPS.get(prop)
                columns.append([maker() for _ in range(n)] if maker else [None] * n)
        return [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)]

    def user_rows_for_filter(self, positions: np.ndarray, flt: Filter) -> list[dict]:
        return self.user_records(positions, tuple(sorted(flt.roots | {"id"})))

    # ---- groups
    def groups(self) -> list[dict]:
        return self.memo("groups", lambda: _records(self.state.tenant.groups))

    def group_index(self) -> dict[str, int]:
        return self.memo("gidx", lambda: {g["id"].lower(): n for n, g in enumerate(self.groups())})

    def direct_members(self) -> dict[str, list[tuple[str, str]]]:
        def build() -> dict[str, list[tuple[str, str]]]:
            out: dict[str, list[tuple[str, str]]] = {}
            m = self.state.tenant.members
            for g, mid, kind in zip(
                m["group_id"].astype(object), m["member_id"].astype(object),
                m["member_type"].astype(object), strict=True,
            ):  # fmt: skip
                out.setdefault(str(g).lower(), []).append((str(mid), str(kind)))
            return out

        return self.memo("members", build)

    def groups_of(self) -> dict[str, set[str]]:
        """member id (lower case) -> ids of the groups it is a direct member of."""

        def build() -> dict[str, set[str]]:
            out: dict[str, set[str]] = {}
            for group, members in self.direct_members().items():
                for mid, _ in members:
                    out.setdefault(mid.lower(), set()).add(group)
            return out

        return self.memo("groups_of", build)

    def transitive_members(self, group_id: str) -> list[tuple[str, str]]:
        def build() -> list[tuple[str, str]]:
            direct = self.direct_members()
            seen: dict[str, str] = {}
            stack = [group_id.lower()]
            visited = {group_id.lower()}
            while stack:
                for mid, kind in direct.get(stack.pop(), []):
                    if mid not in seen:
                        seen[mid] = kind
                    if kind == "group" and mid.lower() not in visited:
                        visited.add(mid.lower())
                        stack.append(mid.lower())
            return list(seen.items())

        return self.memo(("trans", group_id.lower()), build)

    # ---- service principals and assignments
    def service_principals(self) -> list[dict]:
        t = self.state.tenant
        return [t.service_principal, *t.other_service_principals]

    def assignments(self) -> list[dict]:
        def build() -> list[dict]:
            sp = self.state.tenant.service_principal
            rows = _records(self.state.tenant.assignments)
            for row in rows:
                row.setdefault("deletedDateTime", None)
                row["resourceDisplayName"] = sp.get("displayName")
                row["resourceId"] = sp["id"]
            return rows

        return self.memo("assignments", build)


def _signin(last: Any, success: Any, non_interactive: Any) -> dict | None:
    if last is None and success is None and non_interactive is None:
        return None  # never signed in (or before April 2020): Graph gives no activity
    return {
        "lastSignInDateTime": last,
        "lastSignInRequestId": None,
        "lastNonInteractiveSignInDateTime": non_interactive,
        "lastNonInteractiveSignInRequestId": None,
        "lastSuccessfulSignInDateTime": success,
        "lastSuccessfulSignInRequestId": None,
    }


def _records(df: pd.DataFrame) -> list[dict]:
    if df is None or len(df) == 0:
        return []
    cols = {c: _clean(df[c]) for c in df.columns}
    keys = list(cols)
    return [dict(zip(keys, row, strict=True)) for row in zip(*cols.values(), strict=True)]


# ---------------------------------------------------------------- the service

U_READ = READ_DIR | {"User.Read.All", "User.ReadWrite.All"}
G_READ = READ_DIR | {"Group.Read.All", "GroupMember.Read.All", "Group.ReadWrite.All"}
A_READ = READ_DIR | {"Application.Read.All", "Application.ReadWrite.All"}
A_WRITE = {"AppRoleAssignment.ReadWrite.All"}
AUDIT = {"AuditLog.Read.All"}
S_READ = {"Synchronization.Read.All", "Synchronization.ReadWrite.All"}
S_WRITE = {"Synchronization.ReadWrite.All"}


@dataclass
class RouteDef:
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


def normalise_path(path: str) -> str:
    """The route key: no /v1.0, single slashes, canonical casts and alternate keys."""
    path = re.sub(r"/+", "/", path).strip("/")
    if path.lower().startswith("v1.0"):
        path = path[4:].lstrip("/")
    path = re.sub(r"(^|/)graph\.(\w+)", r"\1microsoft.graph.\2", path)
    return re.sub(r"servicePrincipals\(appId='([^']*)'\)", r"servicePrincipals/appId=\1", path)


class GraphService:
    """Request handling, independent of the web framework."""

    def __init__(self, state: EmulatorState):
        self.state = state
        self.view = TenantView(state)
        self.pages = LRU(1024)
        opts = state.options
        self.reports_bucket = TokenBucket(*opts.reports_limit, state.clock)
        self.pod_bucket = TokenBucket(*opts.provision_on_demand_limit, state.clock)
        self.delta_states: dict[str, dict] = {}
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
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
        expiry = self.state.issued_tokens.get(token)
        if token.startswith("expired-") or (expiry and expiry <= self.state.clock.now()):
            raise GraphError(
                401,
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
            )

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
                ctx,
                GraphError(
                    401,
                    "InvalidAuthenticationToken",
                    "Lifetime validation failed, the token is expired.",
                ),
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
            fault = self.state.faults.take("graph", ctx.raw_path, GENERIC_KINDS)
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
        fault = self.state.faults.take("graph", ctx.raw_path, {"empty-page", "short"})
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

    # ---- users
    def _user_known(self) -> set[str]:
        cols = set(self.view.users.columns) - set(SIGNIN_FIELDS)
        return cols | set(DEFAULT_USER_PROPS) | set(EXTRA_USER_PROPS) | {"signInActivity"}

    def _user_props(self, ctx: Ctx, *, collection: bool = True) -> tuple[str, ...]:
        raw = ctx.q.get("$select")
        if not raw:
            return DEFAULT_USER_PROPS
        props = [p.strip() for p in raw.split(",") if p.strip()]
        known = self._user_known()
        for prop in props:
            if collection and prop in NOT_IN_COLLECTIONS:
                raise GraphError(
                    501, "NotImplemented", "This operation target is not yet supported."
                )
            if prop not in known and prop not in NOT_IN_COLLECTIONS:
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    f"Could not find a property named '{prop}' on type 'microsoft.graph.user'.",
                )
        return ("id", *[p for p in dict.fromkeys(props) if p != "id"])

    def _signin_gate(self) -> None:
        granted = self.state.options.graph_permissions
        if not self.state.options.premium or (
            granted is not None and "AuditLog.Read.All" not in granted
        ):
            raise GraphError(
                403,
                "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                "Neither tenant is B2C or tenant doesn't have premium license",
            )

    def _user_query(self, ctx: Ctx, base: str = "live") -> tuple[np.ndarray, bool]:
        """Positions of the users the query selects, and whether signInActivity is involved."""
        if "$skip" in ctx.q:
            raise GraphError(400, "Request_BadRequest", "'$skip' is not supported by the service.")
        flt = self._filter(ctx, self._user_known(), "User")
        orderby = ctx.q.get("$orderby", "").strip() or None
        search = ctx.q.get("$search", "").strip().strip('"') or None
        signin = "signInActivity" in (ctx.q.get("$select") or "")
        if flt is not None:
            if flt.advanced:
                ops = sorted(flt.operators & {"ne", "not", "endswith", "$count"})
                self._require_advanced(ctx, ops[0] if ops else "", "User")
            if "signInActivity" in flt.roots:
                signin = True
                if flt.roots - {"signInActivity"}:
                    raise GraphError(
                        400,
                        "Request_UnsupportedQuery",
                        "signInActivity filter cannot be combined with other properties.",
                    )
        if search and not ctx.eventual:
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                "Request with $search query parameter only works through MSGraph with a "
                "special request header: 'ConsistencyLevel: eventual'",
            )
        if orderby and flt is not None and self.state.options.strict_advanced_queries:
            if not ctx.advanced:
                raise GraphError(
                    400, "Request_UnsupportedQuery", "Sorting not supported for current query."
                )
        if signin:
            self._signin_gate()
        key = ("userpos", base, flt.text if flt else None, orderby, search)
        return self.view.memo(key, lambda: self._compute_users(base, flt, orderby, search)), signin

    def _compute_users(
        self, base: str, flt: Filter | None, orderby: str | None, search: str | None
    ) -> np.ndarray:
        pos = self.view.live_positions() if base == "live" else self.view.deleted_positions()
        df = self.view.users
        if search:
            prop, _, term = search.partition(":")
            col = prop if term else "displayName"
            term = (term or prop).lower()
            if col not in df.columns:
                raise GraphError(400, "Request_UnsupportedQuery", f"Invalid $search '{search}'.")
            vals = df[col].iloc[pos].astype(object).fillna("").astype(str).str.lower()
            pos = pos[vals.str.contains(term, regex=False).to_numpy()]
        if flt is not None:
            rows = self.view.user_rows_for_filter(pos, flt)
            mask = np.fromiter((evaluate(flt, r) for r in rows), dtype=bool, count=len(rows))
            pos = pos[mask]
        if orderby:
            name, _, direction = orderby.partition(" ")
            if name not in ("displayName", "userPrincipalName", "mail", "id"):
                raise GraphError(
                    400, "Request_UnsupportedQuery", f"Sorting by '{name}' is not supported."
                )
            keys = df[name].iloc[pos].astype(object).fillna("").astype(str).str.lower()
            order = np.argsort(keys.to_numpy(), kind="stable")
            if direction.strip().lower() == "desc":
                order = order[::-1]
            pos = pos[order]
        return pos

    def users_list(self, ctx: Ctx) -> Resp:
        props = self._user_props(ctx)
        pos, signin = self._user_query(ctx)
        opts = self.state.options
        maximum = opts.graph_max_top
        top = self._top(ctx, opts.graph_default_page, maximum)
        if signin:
            top = min(top, opts.signin_max_top)
        sel = ctx.q.get("$select")
        return self.page(
            ctx,
            total=len(pos),
            fetch=lambda a, b: self.view.user_records(pos[a:b], props),
            top=top,
            context=self._context(ctx, f"users({sel})" if sel else "users"),
            count=len(pos) if ctx.count else None,
        )

    def users_count(self, ctx: Ctx) -> Resp:
        if not ctx.eventual:
            raise GraphError(400, "Request_BadRequest", "$count is not currently supported.")
        ctx.q.setdefault("$count", "true")
        pos, _ = self._user_query(ctx)
        return self.text(len(pos))

    def user_get(self, ctx: Ctx, key: str) -> Resp:
        pos = self.view.find_user(key)
        if pos is None:
            raise self._not_found(key)
        props = self._user_props(ctx, collection=False)
        if "signInActivity" in props:
            self._signin_gate()
        record = self.view.user_records([pos], props)[0]
        return self.json({"@odata.context": self._context(ctx, "users/$entity"), **record})

    @staticmethod
    def _not_found(key: str) -> GraphError:
        return GraphError(
            404,
            "Request_ResourceNotFound",
            f"Resource '{key}' does not exist or one of its queried reference-property objects "
            "are not present.",
        )

    def deleted_users(self, ctx: Ctx) -> Resp:
        raw = ctx.q.get("$select")
        props = self._user_props(ctx) if raw else (*DEFAULT_USER_PROPS, "deletedDateTime")
        pos, _ = self._user_query(ctx, base="deleted")
        top = self._top(
            ctx, self.state.options.graph_default_page, self.state.options.graph_max_top
        )

        def fetch(a: int, b: int) -> list[dict]:
            rows = self.view.user_records(pos[a:b], props)
            return [{"@odata.type": "#microsoft.graph.user", **r} for r in rows]

        return self.page(
            ctx,
            total=len(pos),
            fetch=fetch,
            top=top,
            context=self._context(ctx, "directory/deletedItems/microsoft.graph.user"),
            count=len(pos) if ctx.count else None,
        )

    def user_assignments(self, ctx: Ctx, key: str) -> Resp:
        pos = self.view.find_user(key)
        if pos is None:
            raise self._not_found(key)
        user_id = str(self.view.users["id"].iat[pos]).lower()
        groups = self.view.groups_of().get(user_id, set())
        rows = [
            a for a in self._visible_assignments()
            if str(a["principalId"]).lower() == user_id or str(a["principalId"]).lower() in groups
        ]  # fmt: skip
        flt = self._filter(ctx, {"resourceId", "appRoleId", "principalId"}, "AppRoleAssignment")
        if flt is not None:
            rows = [r for r in rows if evaluate(flt, r)]
        top = self._top(ctx, self.state.options.assignments_default_page, 999)
        return self.page(
            ctx,
            total=len(rows),
            fetch=lambda a, b: rows[a:b],
            top=top,
            context=self._context(ctx, f"users('{key}')/appRoleAssignments"),
            cacheable=False,
        )

    # ---- service principals and app role assignments
    def _find_sp(self, key: str) -> dict:
        for sp in self.view.service_principals():
            if key.startswith("appId="):
                if str(sp.get("appId", "")).lower() == key[6:].lower():
                    return sp
            elif str(sp.get("id", "")).lower() == key.lower():
                return sp
        raise self._not_found(key.removeprefix("appId="))

    def sp_list(self, ctx: Ctx) -> Resp:
        sps = self.view.service_principals()
        flt = self._filter(
            ctx,
            {"appId", "displayName", "id", "servicePrincipalType", "tags", "accountEnabled",
             "appDisplayName", "preferredSingleSignOnMode", "applicationTemplateId"},
            "ServicePrincipal",
        )  # fmt: skip
        if flt is not None:
            sps = [sp for sp in sps if evaluate(flt, sp)]
        sel = ctx.q.get("$select")
        if sel:
            props = ["id", *[p.strip() for p in sel.split(",") if p.strip() and p != "id"]]
            sps = [{p: sp.get(p) for p in props} for sp in sps]
        top = self._top(ctx, 100, 999)
        return self.page(
            ctx,
            total=len(sps),
            fetch=lambda a, b: sps[a:b],
            top=top,
            context=self._context(ctx, "servicePrincipals"),
            count=len(sps) if ctx.count else None,
            cacheable=False,
        )

    def sp_get(self, ctx: Ctx, key: str) -> Resp:
        sp = self._find_sp(key)
        return self.json({"@odata.context": self._context(ctx, "servicePrincipals/$entity"), **sp})

    def _visible_assignments(self) -> list[dict]:
        rows = self.view.assignments()
        if not self.visible_after:
            return rows
        now = self.state.clock.monotonic()
        return [r for r in rows if self.visible_after.get(r["id"], 0.0) <= now]

    def assigned_list(self, ctx: Ctx, key: str) -> Resp:
        sp = self._find_sp(key)
        is_zoom = sp["id"] == self.state.tenant.service_principal["id"]
        rows = self._visible_assignments() if is_zoom else []
        text = ctx.q.get("$filter")
        if text:
            try:
                flt = parse(text)
            except FilterError as exc:
                raise GraphError(400, "Request_BadRequest", "Invalid filter clause") from exc
            if flt.properties - {"principalDisplayName"}:
                # Graph cannot filter appRoleAssignedTo by principalId/appRoleId (graph.md §3)
                raise GraphError(400, "Request_BadRequest", "Invalid filter clause")
            rows = [r for r in rows if evaluate(flt, r)]
        top = self._top(ctx, self.state.options.assignments_default_page, 999)
        return self.page(
            ctx,
            total=len(rows),
            fetch=lambda a, b: rows[a:b],
            top=top,
            context=self._context(ctx, f"servicePrincipals('{sp['id']}')/appRoleAssignedTo"),
            count=len(rows) if ctx.count else None,
            cacheable=not self.visible_after,
        )

    def assign_get(self, ctx: Ctx, key: str, aid: str) -> Resp:
        self._find_sp(key)
        for row in self._visible_assignments():
            if row["id"] == aid:
                return self.json(
                    {"@odata.context": self._context(ctx, "appRoleAssignment"), **row}
                )
        raise self._not_found(aid)

    def assign_create(self, ctx: Ctx, key: str) -> Resp:
        sp = self._find_sp(key)
        body = self._body(ctx)  # "@odata.type" (the SDK sends it) is ignored
        principal = str(body.get("principalId") or "")
        role = str(body.get("appRoleId") or "").lower()
        resource = str(body.get("resourceId") or sp["id"]).lower()
        if not principal or not role:
            raise GraphError(
                400, "Request_BadRequest", "principalId and appRoleId are required properties."
            )
        if resource != str(sp["id"]).lower():
            raise GraphError(400, "Request_BadRequest", "resourceId does not match the target.")
        roles = {str(r.get("id", "")).lower() for r in sp.get("appRoles") or []}
        if role != ZERO_GUID and role not in roles:
            raise GraphError(
                400,
                "Request_BadRequest",
                f"Permission being assigned was not found on application '{sp.get('appId')}'.",
            )
        upos = self.view.find_user(principal)
        if upos is not None:
            ptype = "User"
            principal = str(self.view.users["id"].iat[upos])
            pname = self.view.users["displayName"].iat[upos]
        else:
            gidx = self.view.group_index().get(principal.lower())
            if gidx is None:
                raise self._not_found(principal)
            group = self.view.groups()[gidx]
            ptype, principal, pname = "Group", group["id"], group.get("displayName")
        tenant = self.state.tenant
        with tenant.lock:
            existing = tenant.assignments
            dup = (existing["principalId"].astype(str).str.lower() == principal.lower()) & (
                existing["appRoleId"].astype(str).str.lower() == role
            )
            if bool(dup.any()):
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    "Permission being assigned already exists on the object.",
                )
            created = self.state.clock.now().astimezone(UTC)
            row = {
                "id": assignment_id(principal, role),
                "appRoleId": role,
                "principalId": principal,
                "principalType": ptype,
                "principalDisplayName": None if pd.isna(pname) else str(pname),
                "createdDateTime": created.strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
            }
            new = pd.DataFrame([row]).astype(existing.dtypes.to_dict(), errors="ignore")
            tenant.assignments = pd.concat([existing, new], ignore_index=True)
            tenant.touch()
        delay = self.state.options.replication_delay
        if delay > 0:
            self.visible_after[row["id"]] = self.state.clock.monotonic() + delay
        full = {
            "@odata.context": self._context(
                ctx, f"servicePrincipals('{sp['id']}')/appRoleAssignedTo/$entity"
            ),
            "id": row["id"],
            "deletedDateTime": None,
            "appRoleId": role,
            "createdDateTime": row["createdDateTime"],
            "principalDisplayName": row["principalDisplayName"],
            "principalId": principal,
            "principalType": ptype,
            "resourceDisplayName": sp.get("displayName"),
            "resourceId": sp["id"],
        }
        resp = self.json(full, 201)
        resp.headers["Location"] = (
            f"{ctx.base}{GRAPH_PREFIX}/servicePrincipals/{sp['id']}/appRoleAssignedTo/{row['id']}"
        )
        return resp

    def assign_delete(self, ctx: Ctx, key: str, aid: str) -> Resp:
        self._find_sp(key)
        tenant = self.state.tenant
        with tenant.lock:
            mask = tenant.assignments["id"].astype(str) == aid
            if not bool(mask.any()):
                raise self._not_found(aid)
            tenant.assignments = tenant.assignments.loc[~mask].reset_index(drop=True)
            tenant.touch()
        self.visible_after.pop(aid, None)
        return Resp(204, b"", "text/plain")

    # ---- groups and members
    def groups_list(self, ctx: Ctx) -> Resp:
        groups = self.view.groups()
        allowed = set(groups[0]) if groups else {"id", "displayName"}
        flt = self._filter(ctx, allowed | {"displayName", "id"}, "Group")
        if flt is not None:
            if flt.advanced:
                self._require_advanced(ctx, "", "Group")
            groups = [g for g in groups if evaluate(flt, g)]
        groups = self._select(ctx, groups)
        top = self._top(ctx, 100, 999)
        return self.page(
            ctx,
            total=len(groups),
            fetch=lambda a, b: groups[a:b],
            top=top,
            context=self._context(ctx, "groups"),
            count=len(groups) if ctx.count else None,
        )

    @staticmethod
    def _select(ctx: Ctx, rows: list[dict]) -> list[dict]:
        sel = ctx.q.get("$select")
        if not sel:
            return rows
        props = ["id", *[p.strip() for p in sel.split(",") if p.strip() and p.strip() != "id"]]
        return [{p: r.get(p) for p in props if p in r} for r in rows]

    def group_get(self, ctx: Ctx, gid: str) -> Resp:
        idx = self.view.group_index().get(gid.lower())
        if idx is None:
            raise self._not_found(gid)
        group = self._select(ctx, [self.view.groups()[idx]])[0]
        return self.json({"@odata.context": self._context(ctx, "groups/$entity"), **group})

    def group_members(
        self, ctx: Ctx, gid: str, which: str, cast: str | None, count_seg: str | None
    ) -> Resp:
        if self.view.group_index().get(gid.lower()) is None:
            raise self._not_found(gid)
        if which == "members":
            members = self.view.direct_members().get(gid.lower(), [])
        else:
            # [U] Graph documents casts on transitiveMembers as advanced queries; whether it
            # enforces that is unverified, so the emulator accepts both.
            members = self.view.transitive_members(gid)
        user_idx = self.view.user_index()
        live = self.view.memo(
            "livemask", lambda: self.view.users["deletedDateTime"].isna().to_numpy()
        )
        entries = []
        for mid, kind in members:
            if kind == "user":
                pos = user_idx.get(mid.lower())
                if pos is not None and live[pos] and cast in (None, "user"):
                    entries.append(("user", pos))
            elif kind == "group" and cast in (None, "group"):
                gidx = self.view.group_index().get(mid.lower())
                if gidx is not None:
                    entries.append(("group", gidx))
        flt = self._filter(ctx, None, "DirectoryObject")
        if count_seg:
            if not ctx.eventual:
                raise GraphError(400, "Request_BadRequest", "$count is not currently supported.")
            return self.text(len(entries))
        props = self._user_props(ctx)
        sel = ctx.q.get("$select")

        def records(chunk: list[tuple[str, int]]) -> list[dict]:
            upos = [p for k, p in chunk if k == "user"]
            users = iter(self.view.user_records(upos, props))
            out = []
            for kind, p in chunk:
                if kind == "user":
                    out.append({"@odata.type": "#microsoft.graph.user", **next(users)})
                else:
                    group = self.view.groups()[p]
                    if sel:
                        group = {k: group.get(k) for k in props if k in group}
                    out.append({"@odata.type": "#microsoft.graph.group", **group})
            return out

        if flt is not None:
            if flt.advanced:
                self._require_advanced(ctx, "", "DirectoryObject")
            full = [r for r in records(entries) if evaluate(flt, r)]
            fetch = lambda a, b: full[a:b]  # noqa: E731
            total = len(full)
        else:
            fetch = lambda a, b: records(entries[a:b])  # noqa: E731
            total = len(entries)
        kind_ctx = {None: "directoryObjects", "user": "users", "group": "groups"}[cast]
        return self.page(
            ctx,
            total=total,
            fetch=fetch,
            top=self._top(ctx, 100, 999),
            context=self._context(ctx, kind_ctx),
            count=total if ctx.count else None,
        )

    # ---- provisioning logs
    AUDIT_FILTERABLE = {
        "id", "tenantId", "jobId", "changeId", "cycleId", "activityDateTime",
        "provisioningAction", "provisioningStatusInfo", "sourceSystem", "targetSystem",
        "sourceIdentity", "targetIdentity", "servicePrincipal", "initiatedBy",
    }  # fmt: skip

    def _event_times(self) -> list[datetime | None]:
        events = self.state.tenant.provisioning_events
        return self.view.memo(
            "audit_dt", lambda: [_parse_dt(e.get("activityDateTime")) for e in events]
        )

    def audit_provisioning(self, ctx: Ctx) -> Resp:
        opts = self.state.options
        if not opts.premium:
            raise GraphError(
                403,
                "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                "Neither tenant is B2C or tenant doesn't have premium license",
            )
        wait = self.reports_bucket.take()
        if wait > 0:
            raise GraphError(
                429,
                "TooManyRequests",
                "Too many requests, please retry later.",
                {"Retry-After": str(max(1, math.ceil(wait))),
                 "x-ms-throttle-information": "ResourceUnitLimitExceeded",
                 "x-ms-throttle-scope": "Tenant_Application/Read/reports"},
            )  # fmt: skip
        flt = self._filter(ctx, self.AUDIT_FILTERABLE, "provisioningObjectSummary")
        orderby = (ctx.q.get("$orderby") or "activityDateTime desc").strip()
        name, _, direction = orderby.partition(" ")
        if name != "activityDateTime":
            raise GraphError(400, "BadRequest", f"$orderby is not supported on '{name}'.")
        cutoff = self.state.clock.now() - timedelta(days=opts.log_retention_days)
        minute = cutoff.replace(second=0, microsecond=0)
        key = ("audit", flt.text if flt else None, direction.strip().lower(), minute)

        def build() -> list[int]:
            events = self.state.tenant.provisioning_events
            times = self._event_times()
            keep = [i for i, t in enumerate(times) if t is not None and t >= cutoff]
            if flt is not None:
                keep = [i for i in keep if evaluate(flt, events[i], case_insensitive=False)]
            keep.sort(key=lambda i: times[i], reverse=direction.strip().lower() != "asc")
            return keep

        idx = self.view.memo(key, build)
        events = self.state.tenant.provisioning_events
        return self.page(
            ctx,
            total=len(idx),
            fetch=lambda a, b: [events[i] for i in idx[a:b]],
            top=self._top(ctx, opts.audit_default_page, 999),
            context=self._context(ctx, "auditLogs/provisioning"),
            cacheable=False,
        )

    # ---- synchronization
    def _jobs(self, key: str) -> list[dict]:
        sp = self._find_sp(key)
        if sp["id"] != self.state.tenant.service_principal["id"]:
            return []
        return self.state.tenant.sync_jobs

    def _job(self, key: str, job_id: str) -> dict:
        for job in self._jobs(key):
            if job.get("id") == job_id:
                return job
        raise self._not_found(job_id)

    def jobs_list(self, ctx: Ctx, key: str) -> Resp:
        jobs = self._jobs(key)
        return self.json(
            {"@odata.context": self._context(ctx, "synchronization/jobs"), "value": jobs}
        )

    def job_get(self, ctx: Ctx, key: str, job_id: str) -> Resp:
        job = self._job(key, job_id)
        return self.json({"@odata.context": self._context(ctx, "jobs/$entity"), **job})

    def job_schema(self, ctx: Ctx, key: str, job_id: str) -> Resp:
        self._job(key, job_id)
        schema = self.state.tenant.sync_schemas.get(job_id)
        if schema is None:
            raise self._not_found(f"{job_id}/schema")
        return self.json({"@odata.context": self._context(ctx, "schema/$entity"), **schema})

    def job_control(self, ctx: Ctx, key: str, job_id: str, action: str) -> Resp:
        job = self._job(key, job_id)
        body = self._body(ctx)
        tenant = self.state.tenant
        with tenant.lock:
            status = job.setdefault("status", {})
            schedule = job.setdefault("schedule", {})
            if action == "start":
                status["code"] = "Active"
                schedule["state"] = "Active"
                if str(schedule.get("interval", "")).startswith("P10675199D"):
                    schedule["interval"] = "PT40M"
            elif action == "pause":
                status["code"] = "Paused"
                schedule["state"] = "Paused"
            else:
                scope = str((body.get("criteria") or {}).get("resetScope") or "")
                scopes = {s.strip().lower() for s in scope.split(",") if s.strip()}
                if not scopes or scopes & {"quarantinestate", "full"}:
                    status["quarantine"] = None
                    status["countSuccessiveCompleteFailures"] = 0
                    if status.get("code") == "Quarantine":
                        status["code"] = "Active"
                if not scopes or scopes & {"escrows", "full"}:
                    status["escrowsPruned"] = True
                    for name in ("lastExecution",):
                        if isinstance(status.get(name), dict):
                            status[name]["countEscrowed"] = 0
                            status[name]["countEscrowedRaw"] = 0
                schedule["state"] = "Active"
                if status.get("code") in (None, "NotRun", "Paused"):
                    status["code"] = "Active"
            tenant.touch()
        return Resp(204, b"", "text/plain")

    def provision_on_demand(self, ctx: Ctx, key: str, job_id: str) -> Resp:
        job = self._job(key, job_id)
        wait = self.pod_bucket.take()
        if wait > 0:
            raise GraphError(
                429,
                "TooManyRequests",
                "Too many requests, please retry later.",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )
        body = self._body(ctx)
        try:
            param = body["parameters"][0]
            subject = param["subjects"][0]
            object_id = str(subject["objectId"])
            rule_id = str(param["ruleId"])
        except (KeyError, IndexError, TypeError) as exc:
            raise GraphError(
                400, "BadRequest", "parameters[].ruleId and subjects[].objectId are required."
            ) from exc
        schema = self.state.tenant.sync_schemas.get(job["id"]) or {}
        rules = {str(r.get("id")) for r in schema.get("synchronizationRules") or []}
        if rules and rule_id not in rules:
            raise GraphError(400, "BadRequest", f"Rule '{rule_id}' does not exist.")
        from zoomaudit.emulator.graph_pod import provision_subject

        result = provision_subject(self.state, object_id, str(subject.get("objectTypeName")))
        return self.json(
            {
                "@odata.context": self._context(ctx, "microsoft.graph.stringKeyStringValuePair"),
                "key": orjson.dumps(result["key"]).decode(),
                "value": orjson.dumps(result["value"]).decode(),
            }
        )

    # ---- delta
    def _delta_snapshot(self, props: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        def build() -> tuple[np.ndarray, np.ndarray]:
            df = self.view.users
            pos = self.view.live_positions()
            cols = [c for c in props if c in df.columns]
            if "signInActivity" in props:
                cols += [c for c in SIGNIN_FIELDS if c in df.columns]
            sub = df.iloc[pos][cols].astype(object).astype(str)
            hashes = pd.util.hash_pandas_object(sub, index=False).to_numpy()
            ids = df["id"].iloc[pos].astype(object).astype(str).str.lower().to_numpy()
            return ids, hashes

        return self.view.memo(("delta", props), build)

    def _new_delta_state(self, props: tuple[str, ...]) -> str:
        ids, hashes = self._delta_snapshot(props)
        token = uuid.uuid4().hex + uuid.uuid4().hex
        self.delta_states[token] = {
            "created": self.state.clock.now(),
            "props": props,
            "ids": ids,
            "hashes": hashes,
        }
        return token

    def users_delta(self, ctx: Ctx) -> Resp:
        skip = ctx.q.get("$skiptoken")
        if skip:
            return self._delta_page(ctx, decode_token(skip))
        dtok = ctx.q.get("$deltatoken")
        if dtok == "latest":
            token = self._new_delta_state(self._user_props(ctx))
            return self.json(
                {
                    "@odata.context": self._context(ctx, "users"),
                    "@odata.deltaLink": self._delta_link(ctx, token),
                    "value": [],
                }
            )
        if dtok:
            old = self.delta_states.get(dtok)
            days = self.state.options.delta_token_days
            if old is None or old["created"] + timedelta(days=days) <= self.state.clock.now():
                self.delta_states.pop(dtok, None)
                raise GraphError(
                    400,
                    "syncStateNotFound",
                    "The sync state is not found or has expired; restart the sync with an "
                    "initial delta request.",
                )
            props = old["props"]
            ids, hashes = self._delta_snapshot(props)
            before = pd.Series(old["hashes"], index=old["ids"])
            now_ser = pd.Series(hashes, index=ids)
            prior = before.reindex(ids)
            changed = np.flatnonzero(prior.isna().to_numpy() | (prior.to_numpy() != hashes))
            positions = self.view.live_positions()[changed]
            gone = np.setdiff1d(old["ids"], now_ser.index.to_numpy())
            deleted = {
                str(i).lower() for i in self.view.users["id"].iloc[self.view.deleted_positions()]
            }
            removed = [
                {"id": i, "@removed": {"reason": "changed" if i in deleted else "deleted"}}
                for i in gone.tolist()
            ]
        else:
            if "$filter" in ctx.q:
                raise GraphError(
                    400, "Request_UnsupportedQuery", "Only 'id eq' filters are supported."
                )
            props = self._user_props(ctx)
            positions = self.view.live_positions()
            removed = []
        session = uuid.uuid4().hex
        self.delta_sessions.put(
            session,
            {
                "positions": positions,
                "removed": removed,
                "props": props,
                "next": self._new_delta_state(props),
            },
        )
        return self._delta_page(ctx, {"s": session, "o": 0})

    def _delta_link(self, ctx: Ctx, token: str) -> str:
        return f"{ctx.base}{GRAPH_PREFIX}/users/delta?$deltatoken={token}"

    def _page_size(self, ctx: Ctx) -> int:
        m = re.search(r"odata\.maxpagesize=(\d+)", ctx.headers.get("prefer", ""))
        return max(1, int(m.group(1))) if m else self.state.options.graph_default_page

    def _delta_page(self, ctx: Ctx, tok: dict) -> Resp:
        session = self.delta_sessions.hit(tok.get("s"))
        if session is None:
            raise GraphError(400, "syncStateNotFound", "The paging state has expired.")
        positions, removed = session["positions"], session["removed"]
        offset, size = int(tok.get("o", 0)), self._page_size(ctx)
        total = len(positions) + len(removed)
        end = min(offset + size, total)
        items = self.view.user_records(positions[offset:end], session["props"])
        if end > len(positions):
            items += removed[max(0, offset - len(positions)) : end - len(positions)]
        body: dict[str, Any] = {"@odata.context": self._context(ctx, "users")}
        if end < total:
            body["@odata.nextLink"] = (
                f"{ctx.base}{GRAPH_PREFIX}/users/delta?$skiptoken="
                + encode_token({"s": tok["s"], "o": end})
            )
        else:
            body["@odata.deltaLink"] = self._delta_link(ctx, session["next"])
        body["value"] = items
        return self.json(body)

    # ---- $batch
    def batch(self, ctx: Ctx) -> Resp:
        body = self._body(ctx)
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            raise GraphError(400, "BadRequest", "Invalid batch payload format.")
        if len(requests) > 20:
            raise GraphError(
                400, "BadRequest", "Number of batch request steps exceeds the maximum of 20."
            )
        ids = [str(r.get("id")) for r in requests]
        if len(set(ids)) != len(ids):
            raise GraphError(400, "BadRequest", "Batch request ids must be unique.")
        results: dict[str, dict] = {}
        for req in requests:
            rid = str(req.get("id"))
            deps = req.get("dependsOn") or []
            if any(results.get(str(d), {}).get("status", 424) >= 400 for d in deps):
                inner = self.error(
                    ctx, GraphError(424, "FailedDependency", "Dependent request failed.")
                )
            else:
                inner = self.process(self._inner_ctx(ctx, req))
            entry: dict[str, Any] = {
                "id": rid,
                "status": inner.status,
                "headers": {"Content-Type": inner.content_type, **{
                    k: v for k, v in inner.headers.items() if k.lower() == "retry-after"}},
            }  # fmt: skip
            if inner.body:
                try:
                    entry["body"] = orjson.loads(inner.body)
                except orjson.JSONDecodeError:
                    entry["body"] = inner.body.decode("utf-8", "replace")
            results[rid] = entry
        responses = list(results.values())
        random.Random(ctx.rid).shuffle(responses)  # Graph answers in any order
        return self.json({"responses": responses})

    def _inner_ctx(self, outer: Ctx, req: dict) -> Ctx:
        url = str(req.get("url") or "")
        path, _, query = url.partition("?")
        path = "/" + path.lstrip("/")
        if not path.lower().startswith(GRAPH_PREFIX):
            path = GRAPH_PREFIX + path
        headers = {str(k).lower(): str(v) for k, v in (req.get("headers") or {}).items()}
        headers["authorization"] = outer.headers.get("authorization", "")
        body = req.get("body")
        return Ctx(
            method=str(req.get("method") or "GET").upper(),
            path=normalise_path(unquote(path)),
            raw_path=path,
            raw_query=query,
            headers=headers,
            body=b"" if body is None else dumps(body),
            base=outer.base,
            rid=str(uuid.uuid4()),
        )


# ---------------------------------------------------------------- ASGI


def create_app(state: EmulatorState) -> Starlette:
    """The Graph emulator as a Starlette app (all routes under ``/v1.0``)."""
    service = GraphService(state)

    async def endpoint(request: Request) -> Response:
        path = request.url.path
        raw_path = request.scope.get("raw_path") or path.encode()
        body = await request.body()
        ctx = Ctx(
            method=request.method,
            path=normalise_path(path),
            raw_path=raw_path.decode("latin-1").split("?")[0],
            raw_query=request.scope.get("query_string", b"").decode("latin-1"),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            base=f"{request.url.scheme}://{request.url.netloc}",
            rid=str(uuid.uuid4()),
        )
        delay = state.faults.latency("graph", path)
        if delay:
            await asyncio.sleep(delay)
        if not re.sub(r"/+", "/", path).lower().startswith(GRAPH_PREFIX):
            resp = service.error(ctx, GraphError(400, "BadRequest", "Invalid version: use /v1.0."))
            resp.headers["request-id"] = ctx.rid
        else:
            resp = service.process(ctx)
        state.journal.record(
            JournalEntry(
                service="graph",
                method=ctx.method,
                path=path,
                query=ctx.raw_query,
                status=resp.status,
                time=state.clock.now(),
                body=body if ctx.method in ("POST", "PUT", "PATCH", "DELETE") else None,
                fault=ctx.fault,
            )
        )
        return Response(
            resp.body, status_code=resp.status, headers=resp.headers, media_type=resp.content_type
        )

    app = Starlette(
        routes=[Route("/{rest:path}", endpoint, methods=["GET", "POST", "DELETE", "PATCH", "PUT"])]
    )
    app.state.service = service
    return app
