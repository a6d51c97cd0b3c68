"""Apply, status and rollback over real HTTP against the tenant emulator.

The emulator's request journal is the witness: a dry run sends no state-changing request, an
apply sends exactly the planned POSTs, a re-run sends none, a rollback deletes exactly what
the apply created. Faults (500, 429, expired token) interrupt a wave; the write journal then
lets it resume or roll back with nothing lost. No test sleeps: write backoffs use an injected
no-op sleep, reads the collectors' fast policy, and time moves on the emulator's clock.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from zoomaudit import journal, rollout
from zoomaudit.apply import apply_wave, rollback_wave
from zoomaudit.config import Settings
from zoomaudit.emulator import cycle
from zoomaudit.errors import ApplyError, PlanError
from zoomaudit.pull import pull
from zoomaudit.snapshot import load
from zoomaudit.sources.http import fast_policy

USERS = 150
GROUPS = ("Zoom Wave 2 - Finance", "Zoom Wave 2 - Legal")


async def _no_sleep(_seconds: float) -> None:
    return None


def settings_for(emu) -> Settings:
    return Settings.from_env(emu.env(), dotenv=None, use_keyring=False)


def take_snapshot(emu, tmp_path):
    path = pull(
        settings_for(emu),
        out=tmp_path / "snapshots",
        policy=fast_policy(),
        candidate_groups=GROUPS,
    )
    return load(path)


def _pilot_users(snap, n=3):
    """Three ready, never-assigned users outside the candidate groups: the pilot."""
    from zoomaudit.scope import compute_scope

    scope = compute_scope(snap)
    held = set(scope.loc[scope["assigned_direct"] | scope["assigned_via_group"], "entra_id"])
    members = set(snap.table("entra_group_members")["member_id"])
    users = snap.table("entra_users")
    pool = users[
        users["account_enabled"].fillna(False).astype(bool)
        & ~users["soft_deleted"].fillna(False).astype(bool)
        & ~users["entra_id"].isin(held | members)
    ]
    trial = rollout.plan(
        snap,
        {
            "waves": [{"name": "trial", "users": sorted(pool["user_principal_name"])}],
            "max_users": 10_000,
        },
    )
    ready = [
        u["user_principal_name"]
        for u in trial["waves"][0]["users"]
        if u["status"] == "ready" and not u["warnings"]
    ]
    assert len(ready) >= n, "the generated tenant has too few ready pilot users"
    return ready[:n]


def config_for(snap, *, finance_assign="users"):
    return {
        "role": "Basic",
        "waves": [
            {"name": "pilot", "users": _pilot_users(snap), "max_users": 5},
            {"name": "finance", "groups": [GROUPS[0]], "assign": finance_assign},
            {"name": "legal", "groups": [GROUPS[1]]},
        ],
    }


#: the generated tenant lives "now", so snapshot times (wall clock) and emulator times agree;
#: one instant per module so every test's tenant is generated identically
NOW = datetime.now(UTC).replace(microsecond=0)


def fresh_tenant():
    from zoomaudit.emulator.generate import generate_tenant

    return generate_tenant(USERS, 7, now=NOW)


@pytest.fixture(scope="module")
def plan_text(tmp_path_factory) -> str:
    """The plan made from a pull of the (identically generated) tenant, as written."""
    from zoomaudit.emulator.server import Emulator

    tmp = tmp_path_factory.mktemp("plan")
    with Emulator(tenant=fresh_tenant()) as emu:
        snap = take_snapshot(emu, tmp)
    body = rollout.plan(snap, config_for(snap))
    return rollout.dumps(body)


@pytest.fixture
def planned(make_emulator, tmp_path, plan_text):
    """(emulator, plan path, plan): a fresh emulator of the tenant the plan was made from."""
    emu = make_emulator(tenant=fresh_tenant())
    path = tmp_path / "plan.json"
    path.write_text(plan_text)
    return emu, path, rollout.read_plan(path)


def run_apply(emu, path, wave, **kw):
    kw.setdefault("now", emu.state.clock.now())
    return apply_wave(path, wave, settings_for(emu), policy=fast_policy(), sleep=_no_sleep, **kw)


def run_rollback(emu, path, wave, **kw):
    return rollback_wave(
        path, wave, settings_for(emu), policy=fast_policy(), sleep=_no_sleep, **kw
    )


def assignments(emu) -> set[tuple[str, str, str]]:
    a = emu.tenant.assignments
    return set(zip(a["id"], a["principalId"], a["appRoleId"].str.lower(), strict=True))


def planned_pairs(body, wave) -> set[tuple[str, str]]:
    item = rollout.select_wave(body, wave)
    return {(p["principal_id"], p["app_role_id"].lower()) for p in item["principals"]}


def posted(emu) -> list[tuple[str, str]]:
    out = []
    for e in emu.state.journal.state_changing("graph"):
        body = json.loads(e.body) if e.method == "POST" and e.body else {}
        out.append((e.method, body.get("principalId", e.path.rsplit("/", 1)[-1])))
    return out


def test_plan_from_a_pulled_snapshot_has_three_waves_with_readiness(planned):
    _emu, _path, body = planned
    pilot, finance, legal = body["waves"]
    assert pilot["counts"]["ready"] == 3 and pilot["counts"]["blocked"] == 0
    assert finance["counts"]["selected"] > 0 and legal["counts"]["selected"] > 0
    # finance has members reached only through nested groups (included: assigned one by one)
    assert any(u["nested"] for u in finance["users"])
    statuses = {u["status"] for w in body["waves"] for u in w["users"]}
    assert "ready" in statuses
    for wave in body["waves"]:
        blocked = [u for u in wave["users"] if u["status"] == "blocked"]
        assert all(u["reasons"] for u in blocked)
        assert not {u["entra_id"] for u in blocked} & {
            p["principal_id"] for p in wave["principals"]
        }


def test_dry_run_reads_but_never_writes(planned):
    emu, path, body = planned
    before = assignments(emu)
    result = run_apply(emu, path, "finance")
    assert emu.state.journal.state_changing("graph") == []
    assert emu.state.journal.select("graph", "GET", r"/appRoleAssignedTo$")
    assert assignments(emu) == before
    assert result.dry_run and not journal.default_path(path).exists()
    assert {a.principal_id for a in result.actions if a.action == "assign"} == {
        p for p, _ in planned_pairs(body, "finance")
    }
    # rollback defaults to a dry run too (and needs an apply journal)
    with pytest.raises(ApplyError, match="no apply journal"):
        run_rollback(emu, path, "finance")


def test_apply_creates_exactly_the_plan_and_is_idempotent(planned):
    emu, path, body = planned
    before = assignments(emu)
    result = run_apply(emu, path, 2, apply=True)
    want = planned_pairs(body, 2)
    created = {(p, r) for _, p, r in assignments(emu) - before}
    assert created == want and len(assignments(emu)) == len(before) + len(want)
    assert sorted(p for _, p in posted(emu)) == sorted(p for p, _ in want)
    assert {m for m, _ in posted(emu)} == {"POST"}
    lines = list(journal.read(journal.default_path(path)))
    done = [x for x in lines if x["kind"] == "assign" and x["status"] == "created"]
    assert len(done) == len(want) and all(x["assignment_id"] for x in done)
    assert result.counts() == {"assign": len(want)}

    emu.state.journal.clear()
    again = run_apply(emu, path, "finance", apply=True)
    assert emu.state.journal.state_changing("graph") == []
    assert again.counts() == {"exists": len(want)}
    assert len(assignments(emu)) == len(before) + len(want)


def test_status_after_a_cycle_reports_the_outcome_with_planted_failures(planned, tmp_path):
    emu, path, body = planned
    pilot = rollout.select_wave(body, "pilot")
    victim = pilot["users"][0]["user_principal_name"]
    # plant a failure: the victim's address belongs to another Zoom account (409 on create)
    state = cycle.settings(emu.tenant)
    state["foreign_emails"] = frozenset(state["foreign_emails"]) | {victim.lower()}
    run_apply(emu, path, "pilot", apply=True)

    emu.state.clock.advance(60)
    cycle.run_cycle(emu.tenant, emu.state.clock.now())
    emu.state.clock.advance(60)
    after = take_snapshot(emu, tmp_path / "after")
    detail = rollout.status_detail(body, after).set_index("user_principal_name")
    pilot_rows = detail[detail["wave"] == 1]
    assert pilot_rows.loc[victim, "state"] == "failed"
    assert pilot_rows.loc[victim, "reason"]
    others = pilot_rows.drop(index=victim)
    assert set(others["state"]) <= {"provisioned", "invited"} and len(others) == 2
    summary = rollout.status(body, after).set_index("wave_name")
    assert summary.loc["pilot", "failed"] == 1
    assert not summary.loc["pilot", "gate_open"]
    assert summary.loc["finance", "not_assigned"] > 0


def test_rollback_removes_exactly_what_the_apply_created(planned):
    emu, path, body = planned
    before = assignments(emu)
    run_apply(emu, path, "legal", apply=True)
    created = assignments(emu) - before
    assert created
    emu.state.journal.clear()
    dry = run_rollback(emu, path, "legal")
    assert dry.dry_run and emu.state.journal.state_changing("graph") == []
    result = run_rollback(emu, path, "legal", apply=True)
    assert assignments(emu) == before
    deleted = {e.path.rsplit("/", 1)[-1] for e in emu.state.journal.state_changing("graph")}
    assert deleted == {aid for aid, _, _ in created}
    assert result.counts() == {"unassign": len(created)}
    rb = list(journal.read(journal.default_path(path, "rollback.journal")))
    assert sum(1 for x in rb if x["status"] == "deleted") == len(created)
    # a second rollback finds nothing left to do and writes nothing
    emu.state.journal.clear()
    assert run_rollback(emu, path, "legal", apply=True).counts() == {}
    assert emu.state.journal.state_changing("graph") == []


def test_rollback_never_touches_assignments_that_existed(planned, tmp_path):
    emu, path, body = planned
    # pre-assign one finance user by hand (as an admin might): apply skips it, rollback keeps it
    first = rollout.select_wave(body, "finance")["principals"][0]
    run_apply(emu, path, "finance", apply=True)
    mine = {a for a in assignments(emu) if a[1] == first["principal_id"]}
    run_rollback(emu, path, "finance", apply=True)
    assert not {a for a in assignments(emu) if a[1] == first["principal_id"]} & mine
    # now it "already exists" before a new apply run: the baseline from the first run still
    # marks only the originally present ones as untouchable
    before = assignments(emu)
    run_apply(emu, path, "finance", apply=True)
    run_rollback(emu, path, "finance", apply=True)
    assert assignments(emu) == before


@pytest.mark.parametrize(
    ("faults", "interrupted"),
    [
        ("graph:/appRoleAssignedTo$:500@3", True),  # GET + 2 POSTs pass, the 3rd POST fails
        ("graph:/appRoleAssignedTo$:502@2", True),
        ("graph:/appRoleAssignedTo$:429=1x2@2", False),  # waited out, nothing lost
        ("graph:/appRoleAssignedTo$:expire-token@2", False),  # renewed once, retried
    ],
)
def test_failure_mid_wave_resumes_or_rolls_back_with_nothing_lost(planned, faults, interrupted):
    from zoomaudit.emulator.core import FaultPlan

    emu, path, body = planned
    before = assignments(emu)
    want = planned_pairs(body, "finance")
    assert len(want) >= 3
    for f in FaultPlan.parse(faults).faults:
        emu.state.faults.faults.append(f)
    if interrupted:
        with pytest.raises(ApplyError, match=r"stopped at 3 of|stopped at 2 of") as err:
            run_apply(emu, path, "finance", apply=True)
        assert "re-run apply to resume, or rollback to undo" in str(err.value)
        lines = list(journal.read(journal.default_path(path)))
        assert [x["status"] for x in lines if x["kind"] == "run"] == ["started", "aborted"]
        errors = [x for x in lines if x["status"] == "error"]
        assert len(errors) == 1 and errors[0]["outcome_unknown"] is True
        partial = {(p, r) for _, p, r in assignments(emu) - before}
        assert partial < want
        # resume: skips what exists, creates the rest
        run_apply(emu, path, "finance", apply=True)
    else:
        run_apply(emu, path, "finance", apply=True)
    assert {(p, r) for _, p, r in assignments(emu) - before} == want
    # and the whole wave rolls back, including what the interrupted run created
    run_rollback(emu, path, "finance", apply=True)
    assert assignments(emu) == before


def test_lost_answer_is_adopted_on_resume_and_rolled_back(planned):
    """A POST that reached Graph but whose answer was lost (crash before the journal line):
    the intent without outcome makes the next run adopt the assignment as ours."""
    emu, path, body = planned
    before = assignments(emu)
    item = rollout.select_wave(body, "legal")
    p = item["principals"][0]
    jr = journal.open_journal(journal.default_path(path))
    common = {"plan_hash": body["hash"], "wave": item["number"], "wave_name": item["name"]}
    jr.append("baseline", "ok", assignment_ids=[], **common)
    jr.append(
        "assign", "intent", principal_id=p["principal_id"], app_role_id=p["app_role_id"], **common
    )
    # the request did reach Graph
    from zoomaudit.apply import GraphWriter

    async def lost_post():
        writer = GraphWriter(settings_for(emu), allow_writes=True, policy=fast_policy())
        try:
            r = await writer.assign(body["app"]["sp_id"], p["principal_id"], p["app_role_id"])
            assert r.status_code == 201
        finally:
            await writer.aclose()

    import asyncio

    asyncio.run(lost_post())
    result = run_apply(emu, path, "legal", apply=True)
    assert [a.action for a in result.actions if a.principal_id == p["principal_id"]] == ["adopt"]
    run_rollback(emu, path, "legal", apply=True)
    assert assignments(emu) == before


def test_guards_before_writing(planned, tmp_path):
    emu, path, body = planned
    # a stale snapshot is refused with --apply, reported in a dry run
    later = datetime.fromisoformat(body["snapshot"]["taken_at"]) + timedelta(hours=25)
    with pytest.raises(PlanError, match=r"snapshot is 25\.\d h old"):
        run_apply(emu, path, "pilot", apply=True, now=later)
    dry = run_apply(emu, path, "pilot", now=later)
    assert any("--apply would refuse" in w for w in dry.warnings)
    run_apply(emu, path, "pilot", apply=True, now=later, max_age="2d")
    # an edited plan is refused
    edited = tmp_path / "edited.json"
    edited.write_text(path.read_text().replace('"max_users": 5', '"max_users": 50'))
    with pytest.raises(PlanError, match="hash mismatch"):
        run_apply(emu, edited, "pilot", apply=True)
    # a plan for another app is refused before any request
    other = settings_for(emu).with_overrides(app_id="00000000-0000-0000-0000-0000000000ff")
    with pytest.raises(PlanError, match="the plan is for app"):
        apply_wave(path, "pilot", other, apply=True, policy=fast_policy())
    # on-demand provisioning is for the pilot only
    with pytest.raises(PlanError, match="pilot wave only"):
        run_apply(emu, path, "legal", apply=True, provision_on_demand=True)


def test_read_only_client_refuses_writes(planned):
    import asyncio

    from zoomaudit.apply import GraphWriter

    emu, _path, body = planned

    async def attempt():
        writer = GraphWriter(settings_for(emu), allow_writes=False, policy=fast_policy())
        try:
            await writer.assign(body["app"]["sp_id"], "x", "y")
        finally:
            await writer.aclose()

    with pytest.raises(ApplyError, match="read-only"):
        asyncio.run(attempt())
    assert emu.state.journal.select("graph", "POST") == []


def test_provision_on_demand_for_the_pilot(planned):
    emu, path, body = planned
    result = run_apply(emu, path, "pilot", apply=True, provision_on_demand=True)
    pods = [a for a in result.actions if a.action == "pod"]
    assert len(pods) == 3 and all(a.status == "done" for a in pods)
    calls = emu.state.journal.select("graph", "POST", r"/provisionOnDemand$")
    assert len(calls) == 3
    lines = list(journal.read(journal.default_path(path)))
    assert sum(1 for x in lines if x["kind"] == "provision_on_demand" and x["status"] == "ok") == 3


def test_replication_delay_rerun_and_rollback(make_emulator, tmp_path, plan_text):
    """New assignments invisible to GET for an hour: a re-run meets Graph's duplicate error
    and records it as existing; rollback still deletes what was created."""
    from zoomaudit.emulator.core import EmulatorOptions

    emu = make_emulator(tenant=fresh_tenant(), options=EmulatorOptions(replication_delay=3600))
    path = tmp_path / "plan.json"
    path.write_text(plan_text)
    body = rollout.read_plan(path)
    before = assignments(emu)
    run_apply(emu, path, "finance", apply=True)
    want = planned_pairs(body, "finance")
    assert {(p, r) for _, p, r in assignments(emu) - before} == want
    again = run_apply(emu, path, "finance", apply=True)
    assert again.counts() == {"exists": len(want)}
    assert all("replication delay" in (a.detail or "") for a in again.actions)
    assert {(p, r) for _, p, r in assignments(emu) - before} == want
    run_rollback(emu, path, "finance", apply=True)
    assert assignments(emu) == before


def test_group_assigned_wave_provisions_direct_members_only(make_emulator, tmp_path):
    emu = make_emulator(tenant=fresh_tenant())
    snap = take_snapshot(emu, tmp_path)
    body = rollout.plan(snap, config_for(snap, finance_assign="groups"))
    path = rollout.write_plan(body, tmp_path / "plan.json")
    finance = rollout.select_wave(body, "finance")
    group_id = finance["selectors"]["groups"][0]["id"]
    assert [(p["principal_type"], p["principal_id"]) for p in finance["principals"]] == [
        ("Group", group_id)
    ]
    nested = {u["user_principal_name"].casefold() for u in finance["nested_not_provisioned"]}
    assert nested  # the generator nests Finance - Payroll (and its contractors) in the group
    emu.state.journal.clear()
    run_apply(emu, path, "finance", apply=True)
    [post] = emu.state.journal.state_changing("graph")
    assert json.loads(post.body)["principalId"] == group_id

    emu.state.clock.advance(60)
    cycle.run_cycle(emu.tenant, emu.state.clock.now())
    after = take_snapshot(emu, tmp_path / "after")
    detail = rollout.status_detail(body, after)
    mine = detail[detail["wave"] == finance["number"]].set_index("entra_id")
    ready = [u["entra_id"] for u in finance["users"] if u["status"] == "ready"]
    assert set(mine.loc[ready, "state"]) <= {"provisioned", "invited"}
    blocked = [u["entra_id"] for u in finance["users"] if u["status"] == "blocked"]
    # blocked direct members could not be left out: the group assignment put them in scope
    assert "not_assigned" not in set(mine.loc[blocked, "state"])
    # the emulator's planted failures (domains Zoom does not manage) show up with their reason
    failed = mine.loc[blocked][mine.loc[blocked, "state"] == "failed"]
    assert len(failed) and failed["reason"].str.contains("managed domains").all()
    # a disabled member is never provisioned: blocked, with the scope's reason, not "pending"
    disabled = [u["entra_id"] for u in finance["users"] if "disabled_user" in u["reasons"]]
    assert disabled and set(mine.loc[disabled, "state"]) == {"blocked"}
    assert set(mine.loc[disabled, "reason"]) == {"assigned but out of scope: disabled"}
    zoom = set(after.table("zoom_users")["email"].dropna().str.casefold())
    assert not nested & zoom  # nested members were NOT provisioned
