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
import re
import uuid

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from zoomaudit.emulator.core import EmulatorState, JournalEntry
from zoomaudit.emulator.graph_base import normalise_path
from zoomaudit.emulator.graph_common import GRAPH_PREFIX, Ctx, GraphError
from zoomaudit.emulator.graph_directory import DirectoryRoutes
from zoomaudit.emulator.graph_reports import ReportsRoutes
from zoomaudit.emulator.graph_users import UsersRoutes


class GraphService(UsersRoutes, DirectoryRoutes, ReportsRoutes):
    """The whole Graph emulator: pipeline (``graph_base``) plus every route's handler."""


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
