"""``zoomaudit rollout plan|apply|status|rollback``: phased rollout from the command line.

Place in the flow: ``rollout.plan`` (snapshot + waves.yaml -> plan.json, pure) ->
``apply.apply_wave`` (the only writer; dry run unless ``--apply``) -> Entra provisioning cycle
-> ``pull`` -> ``rollout.status`` -> next wave, or ``apply.rollback_wave``.
"""

from __future__ import annotations

from pathlib import Path

import typer

rollout_app = typer.Typer(
    name="rollout",
    help="Plan waves, apply a wave (dry run unless --apply), follow progress, roll back.",
    no_args_is_help=True,
)


def _snapshot(spec: str, allow_incomplete: bool = False):
    from zoomaudit.cli_reconcile import _resolve_snapshot

    return _resolve_snapshot(spec, allow_incomplete=allow_incomplete)


@rollout_app.command("plan")
def plan_cmd(
    snapshot: str = typer.Argument(..., help="Snapshot directory, or 'latest'."),
    config: Path = typer.Option(..., "--config", help="Wave configuration (YAML)."),
    out: Path = typer.Option(..., "--out", help="Plan file to write (JSON)."),
) -> None:
    """Build a reviewable, hashed plan: each wave's users, ready or blocked, seats, gates."""
    from zoomaudit import rollout

    snap = _snapshot(snapshot)
    body = rollout.plan(snap, rollout.load_config(config))
    rollout.write_plan(body, out)
    for wave in body["waves"]:
        c, s = wave["counts"], wave["seats"]
        failing = [g["name"] for g in wave["gates"] if g["ok"] is False]
        typer.echo(
            f"wave {wave['number']} {wave['name']} ({wave['assign']}, {wave['role']}): "
            f"{c['ready']} ready, {c['blocked']} blocked, {c['already_assigned']} already "
            f"assigned, {c['principals']} assignment(s); seats licensed {s['licensed_needed']}"
            f" basic {s['basic_needed']}"
            + (f"; gates failing: {', '.join(failing)}" if failing else "")
        )
    typer.echo(f"plan {out} ({body['hash']})")


def _settings():
    from zoomaudit.config import Settings

    return Settings.from_env()


@rollout_app.command("apply")
def apply_cmd(
    plan: Path = typer.Argument(..., help="Plan file from 'rollout plan'."),
    wave: str = typer.Option(..., "--wave", help="Wave name or 1-based number."),
    do_apply: bool = typer.Option(False, "--apply", help="Really write (default: dry run)."),
    journal: Path | None = typer.Option(
        None, "--journal", help="Journal file (default <plan>.journal.jsonl)."
    ),
    max_age: str = typer.Option("24h", "--max-age", help="Refuse older snapshots (24h, 90m)."),
    provision_on_demand: bool = typer.Option(
        False, "--provision-on-demand", help="Pilot only: provision up to 5 users right away."
    ),
    ignore_gates: bool = typer.Option(
        False, "--ignore-gates", help="Apply although a gate failed when the plan was made."
    ),
) -> None:
    """Assign a wave's users or groups to the Zoom app (dry run unless --apply)."""
    from zoomaudit.apply import apply_wave

    result = apply_wave(
        plan,
        wave,
        _settings(),
        apply=do_apply,
        journal_path=journal,
        max_age=max_age,
        provision_on_demand=provision_on_demand,
        ignore_gates=ignore_gates,
    )
    for line in result.lines():
        typer.echo(line)


@rollout_app.command("rollback")
def rollback_cmd(
    plan: Path = typer.Argument(..., help="Plan file from 'rollout plan'."),
    wave: str = typer.Option(..., "--wave", help="Wave name or 1-based number."),
    do_apply: bool = typer.Option(False, "--apply", help="Really delete (default: dry run)."),
    journal: Path | None = typer.Option(
        None, "--journal", help="The apply journal (default <plan>.journal.jsonl)."
    ),
) -> None:
    """Remove exactly the assignments the wave's apply created (dry run unless --apply)."""
    from zoomaudit.apply import rollback_wave

    result = rollback_wave(plan, wave, _settings(), apply=do_apply, journal_path=journal)
    for line in result.lines():
        typer.echo(line)


@rollout_app.command("status")
def status_cmd(
    plan: Path = typer.Argument(..., help="Plan file from 'rollout plan'."),
    snapshot: str = typer.Argument(..., help="A snapshot pulled after the wave, or 'latest'."),
    detail: Path | None = typer.Option(
        None, "--detail", help="Also write the per-user states (CSV)."
    ),
) -> None:
    """Per wave: provisioned, failed (with reasons), pending, blocked; the next wave's gate."""
    from zoomaudit import rollout

    body = rollout.read_plan(plan)
    snap = _snapshot(snapshot)
    made = body["snapshot"].get("taken_at")
    if made and snap.manifest.get("taken_at") and snap.taken_at <= rollout.parse_time(made):
        typer.echo(
            f"warning: snapshot {snap.id} is not newer than the plan's ({made}); pull again "
            "after applying a wave to see its progress",
            err=True,
        )
    per_user = rollout.status_detail(body, snap)
    summary = rollout.status(body, snap)
    for row in summary.itertuples(index=False):
        counts = ", ".join(
            f"{state} {getattr(row, state)}" for state in rollout.STATES if getattr(row, state)
        )
        typer.echo(f"wave {row.wave} {row.wave_name}: {row.members} members; {counts or '-'}")
        failed = per_user[
            (per_user["wave"] == row.wave) & per_user["state"].isin(["failed", "skipped"])
        ]
        for f in failed.itertuples(index=False):
            typer.echo(f"    {f.state}: {f.user_principal_name}: {f.reason}")
        typer.echo(f"  next wave gate: {row.gate}")
    if detail is not None:
        per_user.to_csv(detail, index=False)
        typer.echo(f"detail: {detail}")


def register(app: typer.Typer) -> None:
    app.add_typer(rollout_app, name="rollout")
