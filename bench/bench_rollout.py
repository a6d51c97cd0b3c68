"""Benchmark: rollout planning and status on a large synthetic snapshot; apply throughput.

Part 1 (pure, no emulator): a synthetic snapshot of N Entra users (default 100,000; half of
them already assigned, Zoom accounts for those) and a four-wave configuration (a 50-user
pilot, then three department waves of about N/10 users each, max_users raised to fit). Times
``rollout.plan`` (readiness included), ``rollout.status_detail`` and ``rollout.status`` with a
"later" snapshot in which the first two waves are assigned and mostly provisioned.

Part 2 (emulator over 127.0.0.1 HTTP): ``apply_wave`` of one wave of W users (default 300) and
its rollback, with the emulator's request journal as witness; reports writes per second.

Run: ``.venv/bin/python bench/bench_rollout.py [N] [W]``. Writes bench/results/rollout.md.
"""

from __future__ import annotations

import asyncio
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from zoomaudit import rollout
from zoomaudit.mapping import DEFAULT_MAPPINGS
from zoomaudit.snapshot import Snapshot

HERE = Path(__file__).resolve().parent
TAKEN = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
DEPTS = ["Sales", "HR", "IT", "Finance", "Legal", "Ops", "R&D", "Support", "Marketing", "PMO"]


def build(n: int, *, later: bool = False, seed: int = 7) -> Snapshot:
    rng = np.random.default_rng(seed)
    idx = np.arange(n)
    ids = np.char.add("e-", idx.astype(str)).astype(object)
    upn = np.char.add(np.char.add("user", idx.astype(str)), "@contoso.example").astype(object)
    dept = np.array(DEPTS, dtype=object)[(idx // 2) % len(DEPTS)]
    entra = pd.DataFrame({
        "entra_id": ids, "user_principal_name": upn, "mail": upn, "display_name": upn,
        "given_name": "Given", "surname": "Sur", "account_enabled": rng.random(n) > 0.01,
        "soft_deleted": False, "user_type": "Member", "department": dept,
        "usage_location": "DE",
    })  # fmt: skip
    assigned = (idx % 2) == 0  # even users: already assigned (and in Zoom)
    if later:  # waves 2 and 3 (odd Sales and HR users) got assigned
        assigned = assigned | np.isin(dept, ["Sales", "HR"])
    asg = pd.DataFrame({
        "assignment_id": np.char.add("a-", idx.astype(str))[assigned],
        "principal_id": ids[assigned], "principal_type": "User", "app_role_id": "r-lic",
        "created_at": TAKEN - timedelta(days=1),
    })  # fmt: skip
    in_zoom = assigned & (rng.random(n) > (0.02 if later else 0.0))
    zoom = pd.DataFrame({
        "zoom_id": np.char.add("z-", idx.astype(str))[in_zoom], "email": upn[in_zoom],
        "type": 2, "status": "active",
    })  # fmt: skip
    failed = assigned & ~in_zoom
    events = pd.DataFrame({
        "event_id": np.char.add("ev-", idx.astype(str))[failed], "activity_at": TAKEN,
        "action": "create", "status": "failure", "error_code": "ZoomEntryConflict",
        "error_reason": "conflict", "source_id": ids[failed],
    })  # fmt: skip
    tables = {
        "entra_users": entra,
        "entra_assignments": asg,
        "entra_app": [{"sp_id": "sp", "app_id": "app", "display_name": "Zoom"}],
        "entra_app_roles": [{"app_role_id": "r-basic", "value": "Basic", "is_enabled": True},
                            {"app_role_id": "r-lic", "value": "Licensed", "is_enabled": True}],
        "zoom_users": zoom,
        "zoom_plans": [{"plan_key": "plan_base", "position": 0, "hosts": 2 * n, "usage": n // 2}],
        "zoom_domains": [{"domain": "contoso.example", "status": "verified"}],
        "provisioning_events": events,
        "sync_jobs": [{"job_id": "job", "schedule_state": "Active", "schedule_interval": "PT40M",
                       "status_code": "Active", "last_execution_ended": TAKEN,
                       "last_count_escrowed": 0}],
        "attribute_mappings": [
            {"job_id": "job", "target_attribute": t, "expression": e, "source_type": "Function",
             "matching_priority": p} for t, e, p in DEFAULT_MAPPINGS
        ],
    }  # fmt: skip
    return Snapshot.from_tables(tables, taken_at=TAKEN + timedelta(hours=2 if later else 0))


def config(n: int) -> dict:
    big = max(100, n)
    return {
        "role": "Licensed",
        "max_users": big,
        "waves": [
            {"name": "pilot", "users": [f"user{i}@contoso.example" for i in range(11, 2000, 40)]},
            {"name": "sales", "departments": ["Sales"]},
            {"name": "hr", "departments": ["HR"]},
            {"name": "it", "departments": ["IT"]},
        ],
    }


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def bench_pure(n: int) -> list[str]:
    snap, t_build = timed(build, n)
    later = build(n, later=True)
    cfg = config(n)
    cfg["waves"][1]["departments"] = ["Sales"]
    body, t_plan = timed(rollout.plan, snap, cfg)
    text, t_dump = timed(rollout.dumps, body)
    detail, t_detail = timed(rollout.status_detail, body, later)
    summary, t_status = timed(rollout.status, body, later)
    members = sum(len(w["users"]) for w in body["waves"])
    return [
        f"Synthetic snapshot: {n:,} Entra users (half already assigned), built in {t_build:.1f} s;"
        f" 4 waves with {members:,} members in total, plan file {len(text) / 1e6:.1f} MB.",
        "",
        "| step | seconds |",
        "|---|---:|",
        f"| `rollout.plan` (4 waves, one readiness pass) | {t_plan:.2f} |",
        f"| `rollout.dumps` (canonical JSON) | {t_dump:.2f} |",
        f"| `rollout.status_detail` ({len(detail):,} member rows) | {t_detail:.2f} |",
        f"| `rollout.status` (detail + per-wave summary) | {t_status:.2f} |",
        "",
        "Per-wave summary of the later snapshot: "
        + "; ".join(
            f"{r.wave_name}: {r.provisioned} provisioned, {r.failed} failed, "
            f"{r.not_assigned} not assigned"
            for r in summary.itertuples()
        ),
    ]


def bench_apply(w: int) -> list[str]:
    from zoomaudit.apply import apply_wave_async, rollback_wave_async
    from zoomaudit.config import Settings
    from zoomaudit.emulator.generate import generate_tenant
    from zoomaudit.emulator.server import Emulator
    from zoomaudit.pull import pull
    from zoomaudit.snapshot import load
    from zoomaudit.sources.http import fast_policy

    now = datetime.now(UTC).replace(microsecond=0)
    tenant = generate_tenant(max(2000, 4 * w), 3, now=now)
    with Emulator(tenant=tenant) as emu, tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(emu.env(), dotenv=None, use_keyring=False)
        snap = load(pull(settings, out=Path(tmp), policy=fast_policy()))
        trial = rollout.plan(snap, {"max_users": 10**6, "waves": [
            {"name": "all", "users": sorted(snap.table("entra_users")["user_principal_name"]
                                            .dropna())}]})  # fmt: skip
        ready = [u["user_principal_name"] for u in trial["waves"][0]["users"]
                 if u["status"] == "ready"][:w]  # fmt: skip
        body = rollout.plan(snap, {"max_users": 10**6, "waves": [{"name": "w", "users": ready}]})
        path = rollout.write_plan(body, Path(tmp) / "plan.json")
        n = len(body["waves"][0]["principals"])
        kw = {"ignore_gates": True}  # the generated job is in an escrow storm by design
        emu.state.journal.clear()
        t = time.perf_counter()
        asyncio.run(apply_wave_async(path, 1, settings, apply=True, policy=fast_policy(), **kw))
        t_apply = time.perf_counter() - t
        writes = len(emu.state.journal.state_changing("graph"))
        t = time.perf_counter()
        asyncio.run(apply_wave_async(path, 1, settings, apply=True, policy=fast_policy(), **kw))
        t_rerun = time.perf_counter() - t
        t = time.perf_counter()
        asyncio.run(rollback_wave_async(path, 1, settings, apply=True, policy=fast_policy()))
        t_back = time.perf_counter() - t
        deletes = len(emu.state.journal.state_changing("graph")) - writes
    return [
        f"Emulator over 127.0.0.1 ({len(tenant.users):,}-user tenant), one wave of {n} users:",
        "",
        "| step | seconds | writes | writes/s |",
        "|---|---:|---:|---:|",
        f"| apply --apply (GET list + POST each, fsync'd journal) | {t_apply:.2f} | {writes} |"
        f" {writes / t_apply:.0f} |",
        f"| re-run (all exist: GET list only) | {t_rerun:.2f} | 0 | |",
        f"| rollback --apply (DELETE each) | {t_back:.2f} | {deletes} | {deletes / t_back:.0f} |",
    ]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    w = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    lines = [
        "## Rollout (bench/bench_rollout.py)",
        "",
        f"Command: `.venv/bin/python bench/bench_rollout.py {n} {w}`; Python "
        f"{platform.python_version()}, pandas {pd.__version__}, one run.",
        "",
        *bench_pure(n),
        "",
        *bench_apply(w),
        "",
        "Writes are sequential on purpose (one journal line before and after each, fsync'd), so "
        "a wave of thousands takes minutes against real Graph, whose write limits (3,000 per "
        "150 s per app and tenant) are the real ceiling.",
    ]
    out = HERE / "results" / "rollout.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
