"""``zoomaudit readiness``: would the rollout's candidates provision cleanly into Zoom?

Place in the flow: command line over ``snapshot.load`` -> ``readiness.check`` ->
``findings_io.write_findings``. Prints candidates per category and the account gates.
"""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("readiness")
    def readiness_cmd(
        snapshot: str = typer.Argument(..., help="Snapshot directory, or 'latest'."),
        out: Path = typer.Option(..., "--out", help="Findings file: .csv, .parquet or .xlsx."),
        candidates: list[str] = typer.Option(
            [],
            "--candidates",
            help="Candidate group (display name or id; repeatable). The snapshot must have "
            "been pulled with --candidate-groups.",
        ),
        candidates_file: Path | None = typer.Option(
            None, "--candidates-file", help="CSV with a user_principal_name column."
        ),
        role: str = typer.Option(
            "Basic", "--role", help="App role the rollout assigns to candidates holding none."
        ),
        accepted_user_types: str = typer.Option(
            "Basic,Licensed,On-Prem",
            "--accepted-user-types",
            help="Comma-separated userType values Zoom accepts.",
        ),
        gates_out: Path | None = typer.Option(
            None, "--gates-out", help="Also write the gates table (.csv/.parquet/.xlsx)."
        ),
        allow_incomplete: bool = typer.Option(
            False, "--allow-incomplete", help="Analyse a snapshot marked incomplete."
        ),
    ) -> None:
        """Check rollout candidates (groups, a UPN file, or the assigned users) for readiness."""
        from zoomaudit.cli_reconcile import _resolve_snapshot
        from zoomaudit.findings_io import write_findings
        from zoomaudit.readiness import check

        snap = _resolve_snapshot(snapshot, allow_incomplete=allow_incomplete)
        accepted = tuple(t.strip() for t in accepted_user_types.split(",") if t.strip())
        result = check(
            snap,
            candidate_groups=tuple(candidates),
            candidates_file=candidates_file,
            role=role,
            accepted_user_types=accepted,
            allow_incomplete=allow_incomplete,
        )
        write_findings(result.findings, out)
        if gates_out is not None:
            write_findings(result.gates, gates_out, sheet_name="gates")
        summary = result.summary()
        width = max(len(str(i)) for i in summary["item"])
        for row in summary.itertuples(index=False):
            if row.item.startswith("gate:"):
                mark = "ok  " if row.ok else "FAIL"
                typer.echo(f"{row.item:<{width}}  {mark}  {row.detail}")
            else:
                typer.echo(f"{row.item:<{width}}  {row.value:>8}")
        for note in result.notes:
            typer.echo(f"note: {note}", err=True)
        failed = int((~result.gates["ok"]).sum())
        typer.echo(f"findings written to {out}; {failed} gate(s) failed")
