"""``zoomaudit licences``: the licence audit of a snapshot, written as a findings file.

Place in the flow: command line over ``snapshot.load`` -> ``licences.audit`` ->
``findings_io.write_findings``. Prints the summary (counts, seats, cap, estimate). Read-only:
the reclaim list is a dry-run plan and nothing in Zoom is changed.
"""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("licences")
    def licences_cmd(
        snapshot: str = typer.Argument(..., help="Snapshot directory, or 'latest'."),
        out: Path = typer.Option(..., "--out", help="Findings file: .csv, .parquet or .xlsx."),
        inactive_days: int = typer.Option(
            90,
            "--inactive-days",
            min=0,
            help="Licensed users whose last Zoom login is more than this many days before the "
            "snapshot are licensed_inactive.",
        ),
        grace_days: int = typer.Option(
            30,
            "--grace-days",
            min=0,
            help="Licensed users who never logged in and were created more than this many days "
            "before the snapshot are licensed_inactive.",
        ),
        price_per_seat: float | None = typer.Option(
            None, "--price-per-seat", min=0, help="Monthly price of one Licensed seat."
        ),
        currency: str = typer.Option("EUR", "--currency", help="Currency of --price-per-seat."),
        exclusions: Path | None = typer.Option(
            None, "--exclusions", help="Exclusion file (.yaml or .csv)."
        ),
        reclaim_out: Path | None = typer.Option(
            None,
            "--reclaim-out",
            help="Also write the dry-run reclaim plan (.csv/.parquet/.xlsx).",
        ),
        allow_incomplete: bool = typer.Option(
            False, "--allow-incomplete", help="Analyse a snapshot marked incomplete."
        ),
    ) -> None:
        """Audit Zoom licences: inactive, deactivated, disabled-in-Entra, unmanaged, mismatched."""
        from zoomaudit.cli_reconcile import _resolve_snapshot
        from zoomaudit.findings_io import write_findings
        from zoomaudit.licences import audit
        from zoomaudit.reconcile import reconcile

        snap = _resolve_snapshot(snapshot, allow_incomplete=allow_incomplete)
        rr = reconcile(snap, allow_incomplete=allow_incomplete)
        result = audit(
            snap,
            inactive_days=inactive_days,
            grace_days=grace_days,
            price_per_seat=price_per_seat,
            currency=currency,
            exclusions=exclusions,
            reconcile_result=rr,
        )
        write_findings(result.findings, out)
        if reclaim_out is not None:
            write_findings(result.reclaim, reclaim_out, sheet_name="reclaim")
        summary = result.summary()
        width = max(len(str(i)) for i in summary["item"])
        for row in summary.itertuples(index=False):
            extra = f"  ({row.excluded} excluded)" if row.excluded else ""
            detail = f"  {row.detail}" if row.detail else ""
            typer.echo(f"{row.item:<{width}}  {row.value!s:>8}{extra}{detail}")
        for note in result.notes:
            typer.echo(f"note: {note}", err=True)
        expired = result.expired_exclusions
        if expired is not None and len(expired):
            typer.echo(f"{len(expired)} expired exclusion(s) no longer apply", err=True)
        typer.echo(f"findings written to {out} (dry run: no licence was changed)")
