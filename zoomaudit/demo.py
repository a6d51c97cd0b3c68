"""The demo (``zoomaudit demo``, ``make demo``): the whole kit end to end on an emulated tenant.

Place in the flow: emulator -> **pull through the real clients** -> snapshot -> reports, twice.
Steps:

1. start the emulator (Graph + Zoom on 127.0.0.1) with a synthetic tenant of a few thousand
   users in which every planted situation is present;
2. pull it with :func:`zoomaudit.pull.pull` (the same code as a real pull) into
   ``data/demo/<run>/snapshots``; write a small wave configuration for the rollout notebook;
3. run every report notebook into ``reports/<snapshot_id>/``;
4. change the tenant as an identity team would (assign the pilot wave, disable a few people,
   move some to another department), let the emulated provisioning service run a cycle, pull
   again and report again, so the trends notebook has new and resolved findings to show.

Prints the path of the last report's ``index.html``. The emulator only listens on 127.0.0.1;
its credentials are the emulator's fixed test values, never real ones.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from zoomaudit.errors import ReportError

log = logging.getLogger(__name__)

PILOT_SIZE = 25


def run(
    *,
    users: int = 3000,
    seed: int = 7,
    data_dir: Path,
    reports_dir: Path,
    jobs: int = 2,
    echo: Callable[[str], None] = print,
) -> Path:
    """Run the demo; return the path of the second report's ``index.html``.

    Raises:
        ReportError: a notebook failed (the report is still written; the message names it).
    """
    from zoomaudit import pull, report
    from zoomaudit.config import Settings
    from zoomaudit.emulator.server import Emulator

    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    summaries = []
    from zoomaudit.emulator.generate import generate_tenant

    # The demo tenant lives "now", so report dates read naturally; pulls are stamped with the
    # emulator's clock (which the demo moves forward between the two runs).
    tenant = generate_tenant(users, seed, now=datetime.now(UTC).replace(microsecond=0))
    with Emulator(tenant=tenant) as emu:
        settings = Settings.from_env(emu.env(), dotenv=None, use_keyring=False)
        settings = settings.with_overrides(data_dir=data_dir, reports_dir=Path(reports_dir))
        echo(f"emulator: {users} users on 127.0.0.1 (graph {emu.port('graph')})")
        first = pull.pull(settings, out=data_dir, now=emu.state.clock.now())
        echo(f"snapshot 1: {first}")
        params = demo_params(first, data_dir.parent)
        summaries.append(_report(report, first, data_dir, reports_dir, params, settings, jobs))
        echo(f"report 1: {summaries[-1]['path']}")

        change_tenant(emu.tenant, emu.state.clock.now(), pilot_users(first))
        emu.state.clock.advance(3600)
        second = pull.pull(settings, out=data_dir, now=emu.state.clock.now())
        echo(f"snapshot 2: {second}")
        summaries.append(_report(report, second, data_dir, reports_dir, params, settings, jobs))
    echo(f"demo finished in {time.perf_counter() - began:.0f} s")
    failed = [f"{s['report_id']}: {', '.join(s['failed'])}" for s in summaries if s["failed"]]
    if failed:
        raise ReportError(
            f"demo notebooks failed ({'; '.join(failed)}); see {summaries[-1]['path']}"
        )
    return Path(summaries[-1]["path"])


def _report(report, snap_path, data_dir, reports_dir, params, settings, jobs) -> dict:
    return report.run(
        snap_path,
        data_dir=data_dir,
        reports_dir=Path(reports_dir),
        params=params,
        secrets=settings.secret_values(),
        jobs=jobs,
    )


#: an illustrative list price for the demo's reclaim estimate (per Licensed seat and month)
DEMO_PRICE_PER_SEAT = 13.33


def demo_params(snap_path: Path, folder: Path) -> dict[str, object]:
    """Notebook parameters of the demo: a wave configuration and a candidates file (the users
    not yet assigned to Zoom), both written into ``folder``, and a seat price."""
    params: dict[str, object] = {
        "candidates_file": str(write_candidates(snap_path, folder / "candidates.csv")),
        "price_per_seat": DEMO_PRICE_PER_SEAT,
    }
    waves = write_waves(snap_path, folder / "waves.yaml")
    if waves:
        params["waves"] = str(waves)
    return params


def write_candidates(snap_path: Path, path: Path) -> Path:
    """A CSV (``user_principal_name``) of live users not yet in provisioning scope."""
    from zoomaudit import snapshot

    snap = snapshot.load(snap_path)
    users = snap.table("entra_users")
    assigned = set(snap.table("entra_assignments")["principal_id"])
    members = set(snap.table("entra_group_members")["member_id"])
    pool = users[
        ~users["soft_deleted"].fillna(False).astype(bool)
        & ~users["entra_id"].isin(assigned | members)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    pool[["user_principal_name"]].dropna().to_csv(path, index=False)
    return path


def pilot_users(snap_path: Path, size: int = PILOT_SIZE) -> list[str]:
    """UPNs of enabled, unassigned member users who would provision cleanly (the pilot)."""
    from zoomaudit import readiness, snapshot

    snap = snapshot.load(snap_path)
    users = snap.table("entra_users")
    assigned = set(snap.table("entra_assignments")["principal_id"])
    members = set(snap.table("entra_group_members")["member_id"])
    pool = users[
        users["account_enabled"].fillna(False).astype(bool)
        & ~users["soft_deleted"].fillna(False).astype(bool)
        & (users["user_type"] == "Member")
        & ~users["entra_id"].isin(assigned | members)
    ].head(size * 4)
    if pool.empty:
        return []
    cands = pd.DataFrame({"entra_id": pool["entra_id"], "via": "demo", "nested_only": False})
    found = readiness.evaluate(snap, cands, role="Basic")
    blocked = set(found.loc[found["category"] != "ready", "entra_id"])
    ready = pool[~pool["entra_id"].isin(blocked)]
    return ready["user_principal_name"].dropna().head(size).tolist()


def write_waves(snap_path: Path, path: Path) -> Path | None:
    """Write a two-wave configuration (a pilot of ready users, then one department).

    Returns the file, or None when the tenant offers no valid plan (the rollout notebook then
    shows readiness only).
    """
    import yaml

    from zoomaudit import rollout, snapshot
    from zoomaudit.errors import PlanError

    pilot = pilot_users(snap_path)
    if not pilot:
        return None
    snap = snapshot.load(snap_path)
    users = snap.table("entra_users")
    pilot_departments = set(users.loc[users["user_principal_name"].isin(pilot), "department"])
    departments = users["department"].dropna().value_counts()
    others = [d for d in departments.index[::-1] if d not in pilot_departments]
    waves = [{"name": "pilot", "users": pilot, "max_users": 50}]
    if others:
        waves.append({"name": "wave 2", "departments": [others[0]], "max_users": 5000})
    config = {"role": "Basic", "assign": "users", "waves": waves}
    try:
        rollout.plan(snap, config)
    except PlanError as exc:
        log.info("demo waves without wave 2 (%s)", exc)
        config["waves"] = waves[:1]
        try:
            rollout.plan(snap, config)
        except PlanError as exc2:
            log.warning("demo: no wave plan (%s)", exc2)
            return None
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def change_tenant(tenant, now, pilot: list[str]) -> None:
    """Change an emulated tenant as an identity team would, then run two provisioning cycles.

    Assigns the ``pilot`` UPNs (Basic role), disables five assigned users and moves ten
    assigned users to another department; the cycles run 40 and 80 minutes after ``now``.
    """
    from zoomaudit.emulator.cycle import run_cycle

    with tenant.lock:
        users = tenant.users
        roles = {r.get("value"): r.get("id") for r in tenant.service_principal.get("appRoles", [])}
        basic = roles.get("Basic") or next(iter(roles.values()))
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        pilot_rows = users[users["userPrincipalName"].isin(pilot)]
        new = pd.DataFrame(
            {
                "id": [f"demo-{i:04d}-{uid[:8]}" for i, uid in enumerate(pilot_rows["id"])],
                "appRoleId": basic,
                "principalId": pilot_rows["id"].to_numpy(),
                "principalType": "User",
                "principalDisplayName": pilot_rows["displayName"].to_numpy(),
                "createdDateTime": stamp,
            }
        )
        assignments = tenant.assignments
        tenant.assignments = pd.concat(
            [assignments, new.reindex(columns=assignments.columns)], ignore_index=True
        )
        direct = set(assignments.loc[assignments["principalType"] == "User", "principalId"])
        live = users["deletedDateTime"].isna() & users["accountEnabled"].fillna(False).astype(bool)
        assigned_live = users.index[live & users["id"].isin(direct)]
        users.loc[assigned_live[:5], "accountEnabled"] = False
        users.loc[assigned_live[5:15], "department"] = "Demo Moves"
        tenant.touch()
    run_cycle(tenant, now + timedelta(minutes=40))
    run_cycle(tenant, now + timedelta(minutes=80))
