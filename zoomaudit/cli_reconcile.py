"""``zoomaudit reconcile``: run the reconciliation on a snapshot and write the findings.

Place in the flow: command line over ``snapshot.load`` -> ``reconcile.reconcile`` ->
``findings_io.write_findings``. Prints the category counts (and expired exclusions).
"""

from __future__ import annotations

from pathlib import Path

import typer


def _resolve_snapshot(spec: str, *, allow_incomplete: bool):
    """A snapshot folder, an id under ``Settings.data_dir``, or "latest"."""
    from zoomaudit import snapshot as snap
    from zoomaudit.config import Settings

    return snap.open_snapshot(
        spec, Settings.from_env().data_dir, allow_incomplete=allow_incomplete
    )


def register(app: typer.Typer) -> None:
    @app.command("reconcile")
    def reconcile_cmd(
        snapshot: str = typer.Argument(..., help="Snapshot directory, or 'latest'."),
        out: Path = typer.Option(..., "--out", help="Findings file: .csv, .parquet or .xlsx."),
        sync_all: bool = typer.Option(
            False, "--sync-all", help="The job's scope is 'Sync all users and groups'."
        ),
        exclusions: Path | None = typer.Option(
            None, "--exclusions", help="Exclusion file (.yaml or .csv)."
        ),
        allow_incomplete: bool = typer.Option(
            False, "--allow-incomplete", help="Analyse a snapshot marked incomplete."
        ),
    ) -> None:
        """Compare what Entra should have provisioned with what Zoom has."""
        from zoomaudit import exclusions as excl
        from zoomaudit.findings_io import write_findings
        from zoomaudit.reconcile import reconcile

        snap = _resolve_snapshot(snapshot, allow_incomplete=allow_incomplete)
        ex = excl.load(exclusions) if exclusions is not None else None
        result = reconcile(
            snap, sync_all=sync_all, exclusions=ex, allow_incomplete=allow_incomplete
        )
        write_findings(result.findings, out)
        summary = result.summary()
        width = max(len(c) for c in summary["category"])
        for row in summary.itertuples(index=False):
            extra = f"  ({row.excluded} excluded)" if row.excluded else ""
            typer.echo(f"{row.category:<{width}}  {row.count:>8}{extra}")
        typer.echo(f"{'total':<{width}}  {int(summary['count'].sum()):>8}")
        expired = result.expired_exclusions
        if expired is not None and len(expired):
            typer.echo(f"{len(expired)} expired exclusion(s) no longer apply:", err=True)
            for row in expired.itertuples(index=False):
                typer.echo(
                    f"  {row.user_or_pattern} (expired {row.expires}; would match "
                    f"{row.would_match}): {row.reason}",
                    err=True,
                )
        typer.echo(f"findings written to {out}")
