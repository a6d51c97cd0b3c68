"""The emulated Zoom service over real HTTP: SCIM 2.0, REST v2 and the S2S OAuth token endpoint.

``create_app(state)`` returns one Starlette app serving ``/scim2/...`` and ``/scim/...``
(``options.scim_prefixes``), ``/v2/...`` and ``POST /oauth/token``. The server harness
(``zoomaudit.emulator.server``) runs it with uvicorn on 127.0.0.1; collectors and the rollout
apply step talk to it exactly as to api.zoom.us / zoom.us.

Every route goes through :func:`_endpoint`, which in order: applies injected faults
(``state.faults``, service ``zoom`` or ``oauth``), checks the bearer token against the clock,
applies the per-account rate limits of zoom.md §2.9, runs the handler, adds
``x-zm-trackingid``, and records the request in ``state.journal`` (never the Authorization
header). Route behaviour lives in ``zoom_scim`` and ``zoom_rest``; the user store in
``zoom_store``.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import secrets
from datetime import timedelta
from functools import partial
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import zoom_discovery as discovery
from . import zoom_rest as rest
from . import zoom_scim as scim
from .core import GENERIC_KINDS, EmulatorState, JournalEntry
from .zoom_limits import RateLimiter, fault_response
from .zoom_store import ScimFail, ZoomStore, json_response, now_iso, rest_error, scim_error

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
logger = logging.getLogger(__name__)

#: scopes that satisfy each route family (classic or granular)
SCOPES = {
    "scim": {"scim2", "scim2:admin"},
    "users": {"user:read:admin", "user:read:list_users:admin", "user:read:user:admin"},
    "users_write": {"user:write:admin", "user:update:user:admin"},
    "settings": {"user:read:admin", "user:read:settings:admin"},
    "report": {"report:read:admin", "report:read:list_users:admin"},
    "account": {"account:read:admin", "billing:master", "billing:read:plan_usage:admin"},
}


class ZoomContext:
    """What the Zoom handlers share: state, store, limiter, page tokens, operation log."""

    def __init__(self, state: EmulatorState):
        self.state = state
        self.store = ZoomStore(state)
        self.limiter = RateLimiter(state)
        self.page_tokens = rest.PageTokens(state.clock, state.options)
        self.operation_logs: list[dict] = []
        self._rid = itertools.count(1)

    @property
    def options(self):
        return self.state.options

    @property
    def tenant(self):
        return self.state.tenant

    def tracking_id(self) -> str:
        return f"v=2.0;clid=emu;rid={next(self._rid):016x}"


# ---- auth ----------------------------------------------------------------------------------
def _check_token(ctx: ZoomContext, request: Request, scopes: set[str] | None) -> Response | None:
    options = ctx.options
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return rest_error(401, 124, "Invalid access token.")
    static = options.zoom_static_token
    if static and secrets.compare_digest(token.encode(), static.encode()):
        return None  # legacy "secret token" mode: never expires, all scopes
    expiry = ctx.state.issued_tokens.get(token)
    if expiry is None:
        return rest_error(401, 124, "Invalid access token.")
    if expiry <= ctx.state.clock.now():
        return rest_error(401, 124, "Access token is expired.")
    if scopes and not scopes & set(options.zoom_scopes):
        wanted = sorted(scopes)[0]
        return rest_error(401, 4700, f"Invalid access token, does not contain scopes:[{wanted}].")
    return None


async def token_endpoint(ctx: ZoomContext, request: Request) -> Response:
    """``POST /oauth/token`` with Basic client credentials and grant account_credentials."""
    options = ctx.options
    params = {k: v for k, v in request.query_params.items()}
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        params.update({k: v[0] for k, v in form.items()})
    header = request.headers.get("authorization", "")
    scheme, _, blob = header.partition(" ")
    if scheme.lower() != "basic" or not blob:
        return _oauth_error(401, 4706, "invalid_client", "Missing client_id or client_secret.")
    try:
        client_id, _, client_secret = base64.b64decode(blob).decode().partition(":")
    except ValueError:
        return _oauth_error(401, 4706, "invalid_client", "Missing client_id or client_secret.")
    if not secrets.compare_digest(client_id.encode(), options.zoom_client_id.encode()):
        return _oauth_error(401, 4702, "invalid_client", "Invalid client_id or client_secret.")
    if not secrets.compare_digest(client_secret.encode(), options.zoom_client_secret.encode()):
        return _oauth_error(401, 4704, "invalid_client", "Invalid client_id or client_secret.")
    grant = params.get("grant_type")
    if not grant:
        return _oauth_error(400, 4706, "invalid_request", "Missing grant_type.")
    if grant != "account_credentials":
        return _oauth_error(400, 4705, "unsupported_grant_type", "Unsupported grant type.")
    if params.get("account_id") != options.zoom_account_id:
        # Zoom's code for a wrong account_id is not documented [U]
        return _oauth_error(400, 4706, "invalid_request", "Invalid account_id.")
    token = secrets.token_urlsafe(32)
    ctx.state.issued_tokens[token] = ctx.state.clock.now() + timedelta(seconds=options.token_ttl)
    return json_response(
        {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": options.token_ttl,
            "scope": " ".join(options.zoom_scopes),
            "api_url": str(request.base_url).rstrip("/"),
        }
    )


def _oauth_error(status: int, code: int, error: str, reason: str) -> Response:
    # Zoom documents the codes; the exact body is [U], so both common shapes are present
    return json_response(
        {"code": code, "message": reason, "error": error, "reason": reason}, status
    )


# ---- the wrapper every route goes through -------------------------------------------------
def _endpoint(
    ctx: ZoomContext,
    handler,
    *,
    label=None,
    scopes=None,
    scim_prefix=None,
    one_rps_key=None,
    service="zoom",
):
    async def endpoint(request: Request) -> Response:
        state = ctx.state
        path = request.url.path
        body = await request.body()
        fault = state.faults.take(service, path, GENERIC_KINDS)
        delay = state.faults.latency(service, path)
        if delay:
            await asyncio.sleep(delay)
        response = None
        if fault is not None:
            response = fault_response(state.clock, fault.kind, fault.value)
        if response is None:
            response = await _run(ctx, request, handler, label, scopes, scim_prefix, one_rps_key)
            if fault is not None and fault.kind == "truncated" and response.body:
                response = Response(
                    response.body[: max(1, len(response.body) // 2)],
                    status_code=response.status_code,
                    media_type=response.media_type,
                )
        response.headers["x-zm-trackingid"] = ctx.tracking_id()
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and response.status_code < 400:
            _log_operation(ctx, request, service)
        state.journal.record(
            JournalEntry(
                service=service,
                method=request.method,
                path=path,
                query=request.url.query,
                status=response.status_code,
                time=state.clock.now(),
                body=body or None,
                fault=fault.kind if fault is not None else None,
            )
        )
        return response

    return endpoint


async def _run(ctx, request, handler, label, scopes, scim_prefix, one_rps_key) -> Response:
    if handler is not token_endpoint:
        denied = _check_token(ctx, request, scopes)
        if denied is not None:
            return denied
    if label is not None:
        limited = ctx.limiter.check(label, one_rps_key)
        if limited is not None:
            return limited
    try:
        if scim_prefix is not None:
            return await handler(ctx, request, scim_prefix)
        return await handler(ctx, request)
    except ScimFail as fail:
        return scim_error(ctx.options, fail.status, fail.detail)
    except rest.RestFail as fail:
        return rest_error(fail.status, fail.code, fail.message)
    except Exception:  # an emulator bug: answer like a server would, and keep the journal whole
        logger.exception("zoom emulator error on %s %s", request.method, request.url.path)
        return rest_error(500, 500, "Internal server error.")


def _log_operation(ctx: ZoomContext, request: Request, service: str) -> None:
    if service != "zoom":
        return
    actions = {"POST": "Add", "PUT": "Update", "PATCH": "Update", "DELETE": "Delete"}
    target = request.url.path.rstrip("/").rsplit("/", 1)[-1]
    ctx.operation_logs.append(
        {
            "time": now_iso(ctx.state.clock),
            "operator": "scim" if not request.url.path.startswith("/v2") else "api",
            "category_type": "User",
            "action": actions[request.method],
            "operation_detail": f"{actions[request.method]} User {target}",
        }
    )


async def _not_found(ctx: ZoomContext, request: Request) -> Response:
    path = request.url.path
    if any(path.startswith(p + "/") or path == p for p in ctx.options.scim_prefixes):
        return scim_error(ctx.options, 404, f"Resource not found: {path}")
    return rest_error(404, 404, "Not found.")


# ---- the app -------------------------------------------------------------------------------
def create_app(state: EmulatorState) -> Starlette:
    """The Zoom emulator as one Starlette app (SCIM under each prefix, REST, token endpoint)."""
    ctx = ZoomContext(state)
    wrap = partial(_endpoint, ctx)
    routes = [Route("/oauth/token", wrap(token_endpoint, service="oauth"), methods=["POST"])]
    sc = SCOPES["scim"]
    for prefix in state.options.scim_prefixes:

        def s(handler, label, key, prefix=prefix):
            return wrap(handler, label=label, scopes=sc, scim_prefix=prefix, one_rps_key=key)

        users, one = prefix + "/Users", prefix + "/Users/{user_id}"
        routes += [
            Route(users, s(scim.list_users, "MEDIUM", "GET Users"), methods=["GET"]),
            Route(users, s(scim.create_user, "LIGHT", "POST Users"), methods=["POST"]),
            Route(one, s(scim.get_user, "LIGHT", "GET User"), methods=["GET"]),
            Route(one, s(scim.replace_user, "LIGHT", "PUT User"), methods=["PUT"]),
            Route(one, s(scim.patch_user, "LIGHT", "PATCH User"), methods=["PATCH"]),
            Route(one, s(scim.delete_user, "LIGHT", "DELETE User"), methods=["DELETE"]),
            Route(
                prefix + "/Groups", s(scim.list_groups, "MEDIUM", "GET Groups"), methods=["GET"]
            ),
            Route(prefix + "/.search", s(discovery.search, None, None), methods=["POST"]),
        ]
        disc = s(discovery.discovery, None, None)  # ServiceProviderConfig, Schemas, ResourceTypes
        routes += [
            Route(f"{prefix}/{{kind:str}}", disc, methods=ALL_METHODS),
            Route(f"{prefix}/{{kind:str}}/{{ident:path}}", disc, methods=ALL_METHODS),
        ]
    u, acc = SCOPES["users"], SCOPES["account"]
    routes += [
        Route("/v2/users", wrap(rest.list_users, label="MEDIUM", scopes=u), methods=["GET"]),
        Route("/v2/users/summary", wrap(rest.summary, label="MEDIUM", scopes=u), methods=["GET"]),
        Route(
            "/v2/users/{user_id}", wrap(rest.get_user, label="LIGHT", scopes=u), methods=["GET"]
        ),
        Route(
            "/v2/users/{user_id}",
            wrap(rest.update_user, label="LIGHT", scopes=SCOPES["users_write"]),
            methods=["PATCH"],
        ),
        Route(
            "/v2/users/{user_id}/status",
            wrap(rest.update_status, label="LIGHT", scopes=SCOPES["users_write"]),
            methods=["PUT"],
        ),
        Route(
            "/v2/users/{user_id}/settings",
            wrap(rest.settings, label="MEDIUM", scopes=SCOPES["settings"]),
            methods=["GET"],
        ),
        Route(
            "/v2/accounts/{account_id}/plans/usage",
            wrap(rest.plans_usage, label="HEAVY", scopes=acc),
            methods=["GET"],
        ),
        Route(
            "/v2/accounts/{account_id}/managed_domains",
            wrap(rest.managed_domains, label="LIGHT", scopes=acc),
            methods=["GET"],
        ),
    ]
    rep = SCOPES["report"]
    for name, handler in (
        ("activities", rest.report_activities),
        ("users", rest.report_users),
        ("operationlogs", rest.report_operationlogs),
    ):
        routes.append(
            Route(f"/v2/report/{name}", wrap(handler, label="HEAVY", scopes=rep), methods=["GET"])
        )
    routes.append(Route("/{rest:path}", wrap(_not_found), methods=[*ALL_METHODS, "OPTIONS"]))
    app = Starlette(routes=routes)
    app.state.zoom = ctx
    return app
