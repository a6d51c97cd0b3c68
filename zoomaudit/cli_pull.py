"""CLI commands of the collectors: ``pull``, ``snapshots``, ``import`` and ``check``.

Place in the flow: the command-line front of ``pull``, ``snapshot.list_snapshots``,
``imports`` and ``check``; registered into ``zoomaudit.cli`` by ``register(app)``.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from zoomaudit.config import Settings


def register(app: typer.Typer) -> None:
    """Add the collector commands to ``app``."""

    @app.command("pull")
    def pull_cmd(
        out: Path = typer.Option(
            None, "--out", help="Data folder for the new snapshot (default ZOOMAUDIT_DATA_DIR)."
        ),
        since: int = typer.Option(30, "--since", help="Days of provisioning logs and activity."),
        sources: str = typer.Option("entra,zoom", "--sources", help="entra, zoom or both."),
        candidate_groups: list[str] = typer.Option(
            None,
            "--candidate-groups",
            help="Extra group (id or display name) whose members to record; repeat for several.",
        ),
        as_of: str = typer.Option(
            None,
            "--as-of",
            help="End of the log/activity window as an ISO time (default now; for a demo "
            "tenant whose clock is elsewhere).",
        ),
        allow_incomplete: bool = typer.Option(
            False,
            "--allow-incomplete",
            help="Keep a snapshot marked incomplete instead of failing when counts do not match.",
        ),
    ) -> None:
        """Pull Entra and Zoom into a new immutable snapshot; prints its path last."""
        from zoomaudit.pull import pull

        settings = Settings.from_env()
        groups = [g for g in (candidate_groups or []) if g.strip()]  # names may hold commas
        path = pull(
            settings,
            out=out,
            since_days=since,
            sources=tuple(s for s in sources.split(",") if s.strip()),
            candidate_groups=tuple(g.strip() for g in groups),
            allow_incomplete=allow_incomplete,
            now=_as_of(as_of),
        )
        typer.echo(str(path))

    @app.command("snapshots")
    def snapshots_cmd(
        data: Path = typer.Option(
            None, "--data", help="Data folder (default ZOOMAUDIT_DATA_DIR)."
        ),
        as_json: bool = typer.Option(False, "--as-json", help="One JSON object per line."),
    ) -> None:
        """List the snapshots in the data folder (id, taken_at, complete, counts)."""
        from zoomaudit.snapshot import list_snapshots

        folder = data or Settings.from_env().data_dir
        infos = list_snapshots(folder)
        if not infos:
            typer.echo(f"no snapshots under {folder}")
            return
        for info in infos:
            counts = {t: c.get("received") for t, c in sorted(info.counts.items())}
            if as_json:
                typer.echo(
                    json.dumps(
                        {
                            "id": info.id,
                            "taken_at": info.taken_at.isoformat() if info.taken_at else None,
                            "complete": info.complete,
                            "source": info.source,
                            "counts": counts,
                            "path": str(info.path),
                        }
                    )
                )
                continue
            state = "complete" if info.complete else f"INCOMPLETE ({info.incomplete_reason})"
            summary = ", ".join(f"{t}={n}" for t, n in counts.items())
            when = info.taken_at.isoformat() if info.taken_at else "?"
            typer.echo(f"{info.id}  {when}  {info.source}  {state}  {summary}")

    @app.command("import")
    def import_cmd(
        files: list[Path] = typer.Argument(
            ...,
            help="Entra provisioning-log downloads (JSON or CSV) and/or Zoom user export CSVs.",
        ),
        out: Path = typer.Option(None, "--out", help="Data folder (default ZOOMAUDIT_DATA_DIR)."),
        label: str = typer.Option("import", "--label", help="Label in the snapshot name."),
    ) -> None:
        """Turn admin-portal exports into a snapshot (source: import); prints its path last."""
        from zoomaudit.imports import import_files

        folder = out or Settings.from_env().data_dir
        typer.echo(str(import_files(list(files), out=folder, label=label)))

    @app.command("check")
    def check_cmd(
        sources: str = typer.Option("entra,zoom", "--sources", help="entra, zoom or both."),
    ) -> None:
        """Test both connections and every permission the pull needs; print what works."""
        from zoomaudit.check import check

        results = check(
            Settings.from_env(), sources=tuple(s.strip() for s in sources.split(",") if s.strip())
        )
        width = max((len(r.check) for r in results), default=10)
        for r in results:
            mark = "ok  " if r.ok else ("FAIL" if r.required else "warn")
            typer.echo(f"{mark}  {r.service:<5}  {r.check:<{width}}  {r.detail}")
        if any(not r.ok and r.required for r in results):
            raise typer.Exit(1)


def _as_of(value: str | None):
    from datetime import UTC, datetime

    from zoomaudit.errors import ConfigError

    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"--as-of {value!r} is not an ISO date/time") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
