"""Guarded writes of a phased rollout: assign a wave to the Zoom app, roll a wave back.

Place in the flow: ``rollout.plan`` (pure, reviewed JSON) -> **apply** -> Entra provisioning
cycle -> next snapshot -> ``rollout.status``. This is the ONLY module of the kit that sends a
state-changing request, and only three kinds:

* ``POST /servicePrincipals/{sp}/appRoleAssignedTo`` ``{principalId, resourceId, appRoleId}``
* ``DELETE /servicePrincipals/{sp}/appRoleAssignedTo/{assignmentId}``
* ``POST /servicePrincipals/{sp}/synchronization/jobs/{job}/provisionOnDemand`` (pilot only)

Requests go through the collectors' :class:`~zoomaudit.sources.graph.GraphSource` (msgraph-sdk's
request adapter, credentials from ``zoomaudit.auth``, base URL ``settings.graph_url``, its
paging, retries and token renewal for reads). Writes pass a :class:`WriteGuard` transport: it
refuses every non-GET request unless the client was built here with ``allow_writes=True``
(``--apply``) and the route is one of the three above, so a dry run cannot write even by
mistake. (The collectors' own clients only ever issue GETs; the guard is installed by this
module on the client it builds.)

Safety rules: the plan's hash must match; with ``--apply`` the plan's snapshot must be younger
than ``max_age`` and the wave's gates must hold (``ignore_gates`` overrides); existing
assignments are read first (``principalId`` cannot be filtered server-side, so the list is
filtered here) and skipped, so re-running is safe; every write is journalled before and after
(see :mod:`zoomaudit.journal`). A write that fails stops the run with one line naming the
journal: re-run ``apply`` to resume, or ``rollback`` to undo. 5xx and network errors on a
write are never retried blindly (the request may have taken effect); the next run reads the
assignments and adopts what an interrupted request created.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx

from zoomaudit import journal as journal_mod
from zoomaudit import rollout
from zoomaudit.config import Settings
from zoomaudit.errors import ApplyError, PlanError, ZoomAuditError
from zoomaudit.secrets import scrub

WRITE_ROUTES = (
    ("POST", re.compile(r"/servicePrincipals/[^/]+/appRoleAssignedTo$")),
    ("DELETE", re.compile(r"/servicePrincipals/[^/]+/appRoleAssignedTo/[^/]+$")),
    (
        "POST",
        re.compile(r"/servicePrincipals/[^/]+/synchronization/jobs/[^/]+/provisionOnDemand$"),
    ),
)
#: statuses after which a write certainly did not take effect and may be sent again
RETRY_WRITE = frozenset({429, 503, 504})
POD_MAX_USERS = 5
POD_RATE = (5, 10.0)  # provisionOnDemand: 5 requests per 10 s


class WriteGuard(httpx.AsyncBaseTransport):
    """An httpx transport that lets GETs through and refuses writes unless allowed.

    Args:
        inner: the real transport.
        allow_writes: False (every command but ``rollout apply/rollback --apply``): any
            non-GET request raises :class:`ApplyError` before it leaves the process.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, *, allow_writes: bool = False):
        self.inner = inner
        self.allow_writes = allow_writes
        self.writes: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        method = request.method.upper()
        if method not in ("GET", "HEAD", "OPTIONS"):
            path = request.url.path
            allowed = self.allow_writes and any(
                m == method and rx.search(path) for m, rx in WRITE_ROUTES
            )
            if not allowed:
                raise ApplyError(
                    f"refused {method} {path}: this Graph client is read-only "
                    "(only rollout apply/rollback with --apply may write)"
                )
            self.writes.append((method, path))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class GraphWriter:
    """GraphSource for reads plus the three guarded writes (raw ``httpx.Response`` back)."""

    def __init__(
        self,
        settings: Settings,
        *,
        allow_writes: bool,
        credential=None,
        transport: httpx.AsyncBaseTransport | None = None,
        policy=None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        max_attempts: int = 6,
    ):
        from zoomaudit.sources.graph import GraphSource
        from zoomaudit.sources.http import RetryPolicy, Stats

        verify: object = True
        if settings.ca_bundle:
            import ssl

            verify = ssl.create_default_context(cafile=str(settings.ca_bundle))
        inner = transport or httpx.AsyncHTTPTransport(verify=verify)
        self.guard = WriteGuard(inner, allow_writes=allow_writes)
        self.sleep = sleep or asyncio.sleep
        self.policy = policy or RetryPolicy(sleep=self.sleep)
        self.max_attempts = max_attempts
        self.source = GraphSource(
            settings,
            policy=self.policy,
            stats=Stats(),
            credential=credential,
            transport=self.guard,
        )

    async def aclose(self) -> None:
        await self.source.aclose()

    # ---------------------------------------------------------------- reads
    async def assignments(self, sp_id: str) -> list[dict]:
        items, _ = await self.source.assignments(sp_id)
        return items

    async def first_job(self, sp_id: str) -> tuple[str | None, str | None]:
        jobs, schemas = await self.source.sync_jobs(sp_id)
        for job in jobs:
            schema = schemas.get(str(job.get("id"))) or {}
            for rule in schema.get("synchronizationRules") or []:
                maps = rule.get("objectMappings") or []
                if not maps or any(
                    str(m.get("sourceObjectName", "")).lower() == "user" for m in maps
                ):
                    return str(job["id"]), str(rule["id"])
        return None, None

    # ---------------------------------------------------------------- writes
    def _sp(self, sp_id: str) -> str:
        return f"{self.source.base}/servicePrincipals/{quote(sp_id, safe='')}"

    async def assign(self, sp_id: str, principal_id: str, app_role_id: str) -> httpx.Response:
        body = {"principalId": principal_id, "resourceId": sp_id, "appRoleId": app_role_id}
        return await self._write("POST", f"{self._sp(sp_id)}/appRoleAssignedTo", body)

    async def unassign(self, sp_id: str, assignment_id: str) -> httpx.Response:
        url = f"{self._sp(sp_id)}/appRoleAssignedTo/{quote(assignment_id, safe='')}"
        return await self._write("DELETE", url, None)

    async def provision_on_demand(
        self, sp_id: str, job_id: str, rule_id: str, user_id: str
    ) -> httpx.Response:
        url = f"{self._sp(sp_id)}/synchronization/jobs/{quote(job_id, safe='')}/provisionOnDemand"
        body = {
            "parameters": [
                {"ruleId": rule_id, "subjects": [{"objectId": user_id, "objectTypeName": "User"}]}
            ]
        }
        return await self._write("POST", url, body)

    async def _send(self, method: str, url: str, body: dict | None) -> httpx.Response:
        from kiota_abstractions.method import Method
        from kiota_abstractions.native_response_handler import NativeResponseHandler
        from kiota_abstractions.request_information import RequestInformation
        from kiota_http.middleware.options import ResponseHandlerOption, RetryHandlerOption

        info = RequestInformation()
        info.http_method = Method[method]
        info.url = url
        info.headers.try_add("Accept", "application/json")
        if body is not None:
            info.set_stream_content(json.dumps(body).encode(), "application/json")
        info.add_request_options(
            [
                ResponseHandlerOption(NativeResponseHandler()),
                RetryHandlerOption(delay=0, max_retries=0, should_retry=False),
            ]
        )
        adapter = self.source.client.request_adapter
        return await adapter.send_async(info, None, {})

    async def _write(self, method: str, url: str, body: dict | None) -> httpx.Response:
        """One write: renews an expired token once, waits out 429/503/504 (not processed);
        anything else (including 5xx) is returned for the caller to journal."""
        from zoomaudit.sources.graph import _is_expired
        from zoomaudit.sources.http import parse_retry_after

        renewed, attempt = False, 0
        while True:
            attempt += 1
            response = await self._send(method, url, body)
            status = response.status_code
            if status == 401 and not renewed and _is_expired(response):
                renewed = True
                self.source.credential.invalidate()
                continue
            if status in RETRY_WRITE and attempt < self.max_attempts:
                wait = parse_retry_after(response.headers.get("retry-after"))
                await self.sleep(self.policy.backoff(attempt, wait))
                continue
            return response


# ------------------------------------------------------------------------------ helpers
def parse_age(text: str | timedelta) -> timedelta:
    """``24h``, ``90m``, ``2d``, ``3600s`` or ``3600`` (seconds) as a timedelta."""
    if isinstance(text, timedelta):
        return text
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", str(text).lower())
    if not m:
        raise PlanError(f"--max-age {text!r} is not a duration like 24h, 90m, 2d or 3600s")
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m[2]]
    return timedelta(seconds=float(m[1]) * unit)


def _error_line(response: httpx.Response) -> str:
    from zoomaudit.sources.http import error_text

    code, message = error_text(response)
    return scrub(f"HTTP {response.status_code} {code or ''}: {message}".strip())


def _index(assignments: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for item in assignments:
        out.setdefault(str(item.get("principalId", "")).lower(), []).append(item)
    return out


def _same(a: object, b: object) -> bool:
    return str(a or "").lower() == str(b or "").lower()


@dataclass
class Action:
    """One line of an apply/rollback report."""

    principal_id: str
    principal_type: str
    name: str | None
    action: str  # assign | exists | adopt | other_role | unassign | gone | skip | pod
    status: str  # planned | done | error | skipped
    assignment_id: str | None = None
    detail: str | None = None


@dataclass
class Result:
    """What an apply or rollback did (or, dry run, would do)."""

    mode: str  # apply | rollback
    dry_run: bool
    wave: int
    wave_name: str
    journal: Path | None
    actions: list[Action] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for a in self.actions:
            out[a.action] = out.get(a.action, 0) + 1
        return out

    def lines(self) -> list[str]:
        verb = "would" if self.dry_run else "did"
        head = (
            f"{self.mode} wave {self.wave} ({self.wave_name}): "
            f"{'DRY RUN, nothing written' if self.dry_run else 'applied'}"
        )
        out = [head, *(f"warning: {w}" for w in self.warnings)]
        for a in self.actions:
            text = f"  {a.action:<10} {a.principal_type:<5} {a.name or a.principal_id}"
            if a.assignment_id:
                text += f"  [{a.assignment_id}]"
            if a.detail:
                text += f"  ({a.detail})"
            out.append(text)
        summary = ", ".join(f"{k} {v}" for k, v in sorted(self.counts().items())) or "nothing"
        out.append(f"{verb}: {summary}")
        if self.journal and not self.dry_run:
            out.append(f"journal: {self.journal}")
        return out


def _check_age(body: dict, now: datetime, max_age: timedelta) -> str | None:
    taken = body.get("snapshot", {}).get("taken_at")
    if not taken:
        return "the plan does not say when its snapshot was taken"
    when = datetime.fromisoformat(str(taken).replace("Z", "+00:00")).astimezone(UTC)
    age = now - when
    if age > max_age:
        hours = age.total_seconds() / 3600
        return (
            f"the plan's snapshot is {hours:.1f} h old (max {max_age.total_seconds() / 3600:g} h);"
            " pull a new snapshot and re-run rollout plan, or pass --max-age"
        )
    return None


def _check_app(body: dict, settings: Settings) -> None:
    """The plan must be for the app the settings point at (never write to another app)."""
    app = body.get("app") or {}
    if not app.get("sp_id"):
        raise PlanError("the plan names no Zoom service principal (app.sp_id); re-run plan")
    if settings.app_id and app.get("app_id") and not _same(settings.app_id, app["app_id"]):
        raise PlanError(
            f"the plan is for app {app['app_id']} but ZOOMAUDIT_APP_ID is {settings.app_id}; "
            "use the settings of the tenant the plan was made for"
        )


def _failed_gates(wave: dict) -> list[str]:
    return [f"{g['name']} ({g['detail']})" for g in wave.get("gates") or [] if g["ok"] is False]


def _guard_plan(
    body: dict,
    wave: dict,
    *,
    dry_run: bool,
    now: datetime,
    max_age: timedelta,
    ignore_gates: bool,
    result: Result,
) -> None:
    stale = _check_age(body, now, max_age)
    failed = _failed_gates(wave)
    if dry_run:
        if stale:
            result.warnings.append(stale + " (--apply would refuse)")
        if failed and not ignore_gates:
            result.warnings.append(
                "gates failing: " + "; ".join(failed) + " (--apply would refuse)"
            )
        return
    if stale:
        raise PlanError(stale)
    if failed and not ignore_gates:
        raise PlanError(
            f"wave {wave['number']} ({wave['name']}): gates failing: {'; '.join(failed)}; fix "
            "them and re-plan, or pass --ignore-gates"
        )


# ------------------------------------------------------------------------------ apply
async def apply_wave_async(
    plan_path: Path | str,
    wave: str | int,
    settings: Settings,
    *,
    apply: bool = False,
    journal_path: Path | str | None = None,
    max_age: timedelta | str = timedelta(hours=24),
    provision_on_demand: bool = False,
    ignore_gates: bool = False,
    now: datetime | None = None,
    writer: GraphWriter | None = None,
    **writer_kw,
) -> Result:
    """Assign one wave of a plan to the Zoom app (dry run unless ``apply``).

    Args:
        plan_path: the plan file (its hash is checked).
        wave: the wave's name or 1-based number.
        settings: Graph base URL and credentials.
        apply: send the writes; otherwise only read and report what would be done.
        journal_path: default ``<plan>.journal.jsonl`` beside the plan.
        max_age: the plan's snapshot must be younger than this (with ``apply``).
        provision_on_demand: after assigning, provision up to five users of the pilot wave
            now (5 requests per 10 s) instead of waiting for the next cycle.
        ignore_gates: apply although a gate of the wave failed when the plan was made.
        now: the current time (tests).
        writer: a ready :class:`GraphWriter` (tests); else one is built (``writer_kw``).

    Raises:
        PlanError: bad plan, stale snapshot, failing gates, unknown wave.
        ApplyError: a write failed; the journal says what was done.
    """
    plan_path = Path(plan_path)
    body = rollout.read_plan(plan_path)
    item = rollout.select_wave(body, wave)
    number = item["number"]
    jpath = Path(journal_path) if journal_path else journal_mod.default_path(plan_path)
    result = Result("apply", not apply, number, item["name"], jpath)
    now = now or datetime.now(UTC)
    _guard_plan(
        body,
        item,
        dry_run=not apply,
        now=now,
        max_age=parse_age(max_age),
        ignore_gates=ignore_gates,
        result=result,
    )
    if provision_on_demand and not item.get("pilot"):
        raise PlanError(
            f"--provision-on-demand is for the pilot wave only (wave 1), not wave {number}"
        )
    _check_app(body, settings)
    sp_id = body["app"]["sp_id"]
    lock = journal_mod.exclusive(jpath) if apply else contextlib.nullcontext()
    with lock:
        await _apply(
            body,
            item,
            sp_id,
            jpath,
            apply,
            provision_on_demand,
            result,
            settings,
            writer,
            writer_kw,
        )
    return result


@contextlib.asynccontextmanager
async def _writer(writer, settings, apply, writer_kw):
    """The caller's writer as it is, or a :class:`GraphWriter` made (writes allowed only
    with ``apply``) and closed here."""
    if writer is not None:
        yield writer
        return
    own = GraphWriter(settings, allow_writes=apply, **writer_kw)
    try:
        yield own
    finally:
        await own.aclose()


async def _apply(
    body, item, sp_id, jpath, apply, provision_on_demand, result, settings, writer, writer_kw
) -> None:
    number = item["number"]
    async with _writer(writer, settings, apply, writer_kw) as writer:
        existing = _index(await writer.assignments(sp_id))
        lines = journal_mod.read(jpath) if jpath.exists() else iter(())
        ledger = journal_mod.ledger(list(lines), number)
        jr = journal_mod.open_journal(jpath) if apply else None
        common = {"plan_hash": body["hash"], "wave": number, "wave_name": item["name"]}
        if jr:
            jr.append("run", "started", mode="apply", **common)
            if not ledger.baseline_taken:
                ids = sorted(
                    str(a["id"])
                    for p in item["principals"]
                    for a in existing.get(p["principal_id"].lower(), [])
                )
                jr.append("baseline", "ok", assignment_ids=ids, **common)
                ledger.baseline.update(ids)
        try:
            done_users = await _assign_all(
                writer, sp_id, item, existing, ledger, jr, common, result
            )
            if provision_on_demand:
                await _pod(writer, body, sp_id, done_users, jr, common, result, apply)
        except ApplyError:
            if jr:
                jr.append("run", "aborted", mode="apply", **common)
            raise
        if jr:
            jr.append("run", "finished", mode="apply", **common)


async def _assign_all(writer, sp_id, item, existing, ledger, jr, common, result) -> list[str]:
    users: list[str] = []
    total = len(item["principals"])
    for index, p in enumerate(item["principals"], 1):
        pid, role = p["principal_id"], p["app_role_id"]
        fields = {
            "principal_id": pid,
            "principal_type": p["principal_type"],
            "principal_name": p["display_name"],
            "app_role_id": role,
            "resource_id": sp_id,
            **common,
        }
        act = Action(pid, p["principal_type"], p["display_name"], "assign", "planned")
        result.actions.append(act)
        held = existing.get(pid.lower(), [])
        same = [a for a in held if _same(a.get("appRoleId"), role)]
        if same:
            aid = str(same[0]["id"])
            act.assignment_id = aid
            ours = ledger.created.get((pid, role))
            if ours is None and (pid, role) in ledger.unresolved and aid not in ledger.baseline:
                act.action, act.detail = "adopt", "created by an interrupted earlier run"
                if jr:
                    intent = ledger.unresolved[(pid, role)]
                    jr.append(
                        "assign", "adopted", assignment_id=aid, ref=intent.get("seq"), **fields
                    )
            else:
                act.action = "exists"
                act.detail = "created by an earlier run" if ours else "already assigned"
                if jr:
                    jr.append("assign", "exists", assignment_id=aid, **fields)
            act.status = "skipped"
            if p["principal_type"] == "User":
                users.append(pid)
            continue
        if held:
            act.action, act.status = "other_role", "skipped"
            act.assignment_id = str(held[0]["id"])
            act.detail = f"holds app role {held[0].get('appRoleId')}; not changed"
            if jr:
                jr.append(
                    "assign", "exists", assignment_id=act.assignment_id, other_role=True, **fields
                )
            continue
        if jr is None:
            if p["principal_type"] == "User":
                users.append(pid)
            continue
        intent = jr.append("assign", "intent", **fields)
        try:
            response = await writer.assign(sp_id, pid, role)
        except ZoomAuditError as exc:
            jr.append(
                "assign",
                "error",
                ref=intent["seq"],
                outcome_unknown=True,
                error=str(exc),
                **fields,
            )
            raise _stopped(item, index, total, p, str(exc), jr.path) from None
        except httpx.HTTPError as exc:
            msg = f"network error {type(exc).__name__}"
            jr.append(
                "assign", "error", ref=intent["seq"], outcome_unknown=True, error=msg, **fields
            )
            raise _stopped(item, index, total, p, msg, jr.path) from None
        status = response.status_code
        if status in (200, 201):
            data = response.json()
            act.assignment_id = str(data.get("id"))
            act.status = "done"
            jr.append(
                "assign",
                "created",
                ref=intent["seq"],
                http_status=status,
                assignment_id=act.assignment_id,
                **fields,
            )
            if p["principal_type"] == "User":
                users.append(pid)
            continue
        if status == 400 and "already exists" in _error_line(response).lower():
            # someone (or our own earlier request) assigned it meanwhile; with replication
            # delay the list may not show it yet
            now_held = _index(await writer.assignments(sp_id)).get(pid.lower(), [])
            match = [a for a in now_held if _same(a.get("appRoleId"), role)]
            ours = ledger.created.get((pid, role))
            aid = str(match[0]["id"]) if match else (ours[0] if ours else None)
            act.action, act.status, act.assignment_id = "exists", "skipped", aid
            if not match:
                act.detail = "Graph says it exists; not listed yet (replication delay)"
            # "duplicate" keeps an unresolved intent of an interrupted run open for rollback
            jr.append(
                "assign",
                "exists" if match or ours else "duplicate",
                ref=intent["seq"],
                http_status=status,
                assignment_id=aid,
                **fields,
            )
            if p["principal_type"] == "User":
                users.append(pid)
            continue
        unknown = status >= 500 or status == 408
        line = _error_line(response)
        jr.append(
            "assign",
            "error",
            ref=intent["seq"],
            http_status=status,
            outcome_unknown=unknown,
            error=line,
            **fields,
        )
        act.status, act.detail = "error", line
        raise _stopped(item, index, total, p, line, jr.path)
    return users


def _stopped(item, index, total, p, reason, path) -> ApplyError:
    return ApplyError(
        f"wave {item['number']} ({item['name']}) stopped at {index} of {total} "
        f"({p['principal_type']} {p['display_name'] or p['principal_id']}): {reason}; "
        f"journal {path}: re-run apply to resume, or rollback to undo"
    )


async def _pod(writer, body, sp_id, users, jr, common, result, apply) -> None:
    job_id = body.get("provisioning", {}).get("job_id")
    rule_id = body.get("provisioning", {}).get("rule_id")
    if not (job_id and rule_id):
        job_id, rule_id = await writer.first_job(sp_id)
    if not (job_id and rule_id):
        result.warnings.append("provision on demand skipped: no provisioning job/rule found")
        return
    limit, per = POD_RATE
    sent: list[float] = []
    loop = asyncio.get_running_loop()
    for uid in users[:POD_MAX_USERS]:
        act = Action(uid, "User", None, "pod", "planned", detail=f"job {job_id}")
        result.actions.append(act)
        if not apply:
            continue
        if len(sent) >= limit and loop.time() - sent[-limit] < per:
            await writer.sleep(per - (loop.time() - sent[-limit]))
        sent.append(loop.time())
        fields = {
            "principal_id": uid,
            "principal_type": "User",
            "job_id": job_id,
            "rule_id": rule_id,
            **common,
        }
        intent = jr.append("provision_on_demand", "intent", **fields)
        try:
            response = await writer.provision_on_demand(sp_id, job_id, rule_id, uid)
        except (ZoomAuditError, httpx.HTTPError) as exc:
            act.status, act.detail = "error", scrub(str(exc)) or type(exc).__name__
            jr.append(
                "provision_on_demand", "error", ref=intent["seq"], error=act.detail, **fields
            )
            continue
        if response.status_code != 200:
            act.status, act.detail = "error", _error_line(response)
            jr.append(
                "provision_on_demand",
                "error",
                ref=intent["seq"],
                http_status=response.status_code,
                error=act.detail,
                **fields,
            )
            continue
        outcome = _pod_outcome(response)
        act.status, act.detail = "done", outcome
        jr.append(
            "provision_on_demand",
            "ok",
            ref=intent["seq"],
            http_status=200,
            outcome=outcome,
            **fields,
        )


def _pod_outcome(response: httpx.Response) -> str:
    """``result`` (and error code) from provisionOnDemand's JSON-encoded ``key`` string."""
    try:
        key = json.loads(response.json().get("key") or "{}")
        details = key.get("details") or {}
        code = details.get("errorCode")
        return f"{key.get('result', '?')}" + (f" {code}" if code else "")
    except (ValueError, AttributeError):
        return "unparsed response"


# ------------------------------------------------------------------------------ rollback
async def rollback_wave_async(
    plan_path: Path | str,
    wave: str | int,
    settings: Settings,
    *,
    apply: bool = False,
    journal_path: Path | str | None = None,
    rollback_journal_path: Path | str | None = None,
    writer: GraphWriter | None = None,
    **writer_kw,
) -> Result:
    """Remove exactly the assignments the wave's apply runs created (dry run unless ``apply``).

    Reads the apply journal (``journal_path``, default ``<plan>.journal.jsonl``) and its own
    journal (default ``<plan>.rollback.journal.jsonl``), so a rollback can itself be resumed.
    Assignments that existed before the wave's first apply (the journal's baseline) or that
    the apply found already there are never touched.
    """
    plan_path = Path(plan_path)
    body = rollout.read_plan(plan_path)
    item = rollout.select_wave(body, wave)
    number = item["number"]
    apath = Path(journal_path) if journal_path else journal_mod.default_path(plan_path)
    rpath = (
        Path(rollback_journal_path)
        if rollback_journal_path
        else journal_mod.default_path(plan_path, "rollback.journal")
    )
    if not apath.exists():
        raise ApplyError(f"no apply journal at {apath}: nothing to roll back for wave {number}")
    rlines = list(journal_mod.read(rpath))
    ledger = journal_mod.ledger(list(journal_mod.read(apath)), number, rollback_lines=rlines)
    if not ledger.applied:
        raise ApplyError(f"the journal {apath} has no apply of wave {number}; nothing to undo")
    result = Result("rollback", not apply, number, item["name"], rpath)
    _check_app(body, settings)
    sp_id = body["app"]["sp_id"]
    lock = journal_mod.exclusive(apath) if apply else contextlib.nullcontext()
    with lock:
        await _rollback(
            body, item, sp_id, ledger, rpath, apply, result, settings, writer, writer_kw
        )
    return result


async def _rollback(
    body, item, sp_id, ledger, rpath, apply, result, settings, writer, writer_kw
) -> None:
    number = item["number"]
    async with _writer(writer, settings, apply, writer_kw) as writer:
        current = _index(await writer.assignments(sp_id))
        targets = _rollback_targets(ledger, current)
        jr = journal_mod.open_journal(rpath) if apply else None
        common = {"plan_hash": body["hash"], "wave": number, "wave_name": item["name"]}
        if jr:
            jr.append("run", "started", mode="rollback", **common)
        for index, (key, aid, tok, present, note) in enumerate(targets, 1):
            pid, role = key
            fields = {
                "principal_id": pid,
                "app_role_id": role,
                "resource_id": sp_id,
                "assignment_id": aid,
                "created_token": tok,
                **common,
            }
            act = Action(pid, "", _name(item, pid), "unassign", "planned", aid, note)
            result.actions.append(act)
            if not present:
                # not listed (already deleted, or not replicated yet): the DELETE decides
                act.detail = "not in the current list; DELETE will tell (404 = gone)"
            if jr is None:
                continue
            intent = jr.append("unassign", "intent", **fields)
            try:
                response = await writer.unassign(sp_id, aid)
            except (ZoomAuditError, httpx.HTTPError) as exc:
                msg = scrub(str(exc)) or type(exc).__name__
                jr.append(
                    "unassign",
                    "error",
                    ref=intent["seq"],
                    outcome_unknown=True,
                    error=msg,
                    **fields,
                )
                jr.append("run", "aborted", mode="rollback", **common)
                raise _rb_stopped(item, index, len(targets), aid, msg, rpath) from None
            if response.status_code in (200, 204):
                act.status = "done"
                jr.append(
                    "unassign",
                    "deleted",
                    ref=intent["seq"],
                    http_status=response.status_code,
                    **fields,
                )
            elif response.status_code == 404:
                act.action, act.status = "gone", "skipped"
                jr.append("unassign", "gone", ref=intent["seq"], http_status=404, **fields)
            else:
                line = _error_line(response)
                jr.append(
                    "unassign",
                    "error",
                    ref=intent["seq"],
                    http_status=response.status_code,
                    error=line,
                    outcome_unknown=response.status_code >= 500,
                    **fields,
                )
                jr.append("run", "aborted", mode="rollback", **common)
                raise _rb_stopped(item, index, len(targets), aid, line, rpath)
        if jr:
            jr.append("run", "finished", mode="rollback", **common)


def _rollback_targets(ledger, current) -> list[tuple]:
    """(key, assignment id, creation token, still present, note), in a stable order."""
    out = []
    for key, (aid, tok) in sorted(ledger.created.items()):
        held = current.get(str(key[0]).lower(), [])
        present = any(str(a.get("id")) == aid for a in held)
        out.append((key, aid, tok, present, None))
    for key, intent in sorted(ledger.unresolved.items()):
        if key in ledger.created:
            continue
        held = current.get(str(key[0]).lower(), [])
        for a in held:
            if _same(a.get("appRoleId"), key[1]) and str(a.get("id")) not in ledger.baseline:
                out.append(
                    (
                        key,
                        str(a["id"]),
                        journal_mod.token(intent),
                        True,
                        "created by a request whose answer was lost",
                    )
                )
    return out


def _name(item: dict, pid: str) -> str | None:
    for p in item["principals"]:
        if p["principal_id"] == pid:
            return p["display_name"]
    return None


def _rb_stopped(item, index, total, aid, reason, path) -> ApplyError:
    return ApplyError(
        f"rollback of wave {item['number']} ({item['name']}) stopped at {index} of {total} "
        f"(assignment {aid}): {reason}; journal {path}: re-run rollback to resume"
    )


def apply_wave(*args, **kw) -> Result:
    """Synchronous :func:`apply_wave_async`."""
    return asyncio.run(apply_wave_async(*args, **kw))


def rollback_wave(*args, **kw) -> Result:
    """Synchronous :func:`rollback_wave_async`."""
    return asyncio.run(rollback_wave_async(*args, **kw))


__all__ = [
    "Action",
    "GraphWriter",
    "Result",
    "WriteGuard",
    "apply_wave",
    "apply_wave_async",
    "parse_age",
    "rollback_wave",
    "rollback_wave_async",
]
