"""Graph emulator routes for provisioning logs, synchronization jobs, provisionOnDemand and
``$batch`` (graph.md §5-§7, §9 items 11-14).
"""

from __future__ import annotations

import math
import random
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

import orjson

from zoomaudit.emulator.core import JournalEntry
from zoomaudit.emulator.graph_base import GraphBase, normalise_path
from zoomaudit.emulator.graph_common import GRAPH_PREFIX, Ctx, GraphError, Resp, dumps, parse_dt
from zoomaudit.emulator.graph_filter import evaluate


class ReportsRoutes(GraphBase):
    """Handlers: /auditLogs/provisioning, synchronization jobs, provisionOnDemand, $batch."""

    # ---- provisioning logs
    AUDIT_FILTERABLE = {
        "id", "tenantId", "jobId", "changeId", "cycleId", "activityDateTime",
        "provisioningAction", "provisioningStatusInfo", "sourceSystem", "targetSystem",
        "sourceIdentity", "targetIdentity", "servicePrincipal", "initiatedBy",
    }  # fmt: skip

    def _event_times(self) -> list[datetime | None]:
        events = self.state.tenant.provisioning_events
        # keyed by length too: a cycle may append events without bumping tenant.version
        return self.view.memo(
            ("audit_dt", len(events)),
            lambda: [parse_dt(e.get("activityDateTime")) for e in events],
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
        n_events = len(self.state.tenant.provisioning_events)
        key = ("audit", flt.text if flt else None, direction.strip().lower(), minute, n_events)

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
                sub = self._inner_ctx(ctx, req)
                inner = self.process(sub)
                self.state.journal.record(
                    JournalEntry(
                        service="graph",
                        method=sub.method,
                        path=unquote(sub.raw_path),
                        query=sub.raw_query,
                        status=inner.status,
                        time=self.state.clock.now(),
                        body=sub.body if sub.method != "GET" else None,
                        fault=sub.fault,
                    )
                )
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
