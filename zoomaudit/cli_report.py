"""``zoomaudit report`` and ``zoomaudit demo``: notebooks into offline HTML reports.

Place in the flow: the command line over :mod:`zoomaudit.report` (snapshot -> notebooks ->
``reports/<snapshot_id>/``) and :mod:`zoomaudit.demo` (emulator -> pull -> snapshots ->
reports). Exit status is non-zero when a notebook fails; the message names it.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer


def parse_params(pairs: list[str] | None) -> dict[str, object]:
    """``NAME=VALUE`` pairs into notebook parameters (VALUE parsed as JSON when it is JSON)."""
    from zoomaudit.errors import ConfigError

    out: dict[str, object] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip().isidentifier():
            raise ConfigError(f"--param {pair!r}: expected NAME=VALUE")
        try:
            out[name.strip()] = json.loads(value)
        except ValueError:
            out[name.strip()] = value
    return out


def _names(values: list[str] | None) -> list[str] | None:
    names = [n.strip() for v in values or [] for n in v.split(",") if n.strip()]
    return names or None


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_cmd(
        snapshot: str = typer.Argument(
            "latest", help="Snapshot folder, an id under the data folder, or 'latest'."
        ),
        notebooks: list[str] = typer.Option(
            None,
            "--notebooks",
            "-n",
            help="Notebooks to run (e.g. 10 or 10_reconcile_users; repeat or comma-separate). "
            "Default: all.",
        ),
        redact: bool = typer.Option(
            False,
            "--redact",
            help="Pseudonymise names and addresses (needs ZOOMAUDIT_REDACT_KEY); the folder is "
            "reports/<snapshot_id>-redacted.",
        ),
        out: Path = typer.Option(None, "--out", help="Reports folder (default: reports/)."),
        data_dir: Path = typer.Option(
            None,
            "--data-dir",
            help="Snapshot folder (default: ZOOMAUDIT_DATA_DIR or data/snapshots).",
        ),
        param: list[str] = typer.Option(
            None,
            "--param",
            "-p",
            help="Notebook parameter NAME=VALUE, passed to the notebooks that declare it "
            "(e.g. -p explain_user=ana@contoso.com -p waves=waves.yaml). Never a secret.",
        ),
        jobs: int = typer.Option(2, "--jobs", "-j", min=1, help="Notebooks run in parallel."),
    ) -> None:
        """Run the analysis notebooks on a snapshot and write offline HTML reports."""
        from zoomaudit import redact as redact_mod
        from zoomaudit import report
        from zoomaudit.config import Settings
        from zoomaudit.errors import ConfigError, ReportError
        from zoomaudit.secrets import register as register_secret

        settings = Settings.from_env()
        secrets = settings.secret_values()
        register_secret(*secrets)
        params = parse_params(param)
        for name, value in params.items():
            if any(s and s in str(value) for s in secrets):
                raise ConfigError(f"--param {name}: a secret must never be a notebook parameter")
        key = redact_mod.require_key(settings.redact_key) if redact else None
        summary = report.run(
            snapshot,
            data_dir=data_dir or settings.data_dir,
            reports_dir=out or settings.reports_dir,
            notebooks=_names(notebooks),
            redact_key=key,
            secrets=secrets,
            params=params,
            jobs=jobs,
        )
        for nb in summary["notebooks"]:
            mark = "ok" if nb["status"] == "ok" else "FAILED"
            typer.echo(f"{mark:<7}{nb['notebook']}  ({nb['execute_s']} s)")
        typer.echo(summary["path"])
        if summary["failed"]:
            details = "; ".join(
                f"{n['notebook']}: {n['error']}" for n in summary["notebooks"] if n["error"]
            )
            raise ReportError(f"notebook(s) failed: {details} (see {summary['path']})")

    @app.command("demo")
    def demo_cmd(
        users: int = typer.Option(3000, "--users", help="Users in the demo tenant."),
        seed: int = typer.Option(7, "--seed", help="Seed of the synthetic tenant."),
        data_dir: Path = typer.Option(
            None,
            "--data-dir",
            help="Snapshot folder (default: a new data/demo/<UTC time>/snapshots per run, so "
            "the trends report compares this run's two snapshots only).",
        ),
        out: Path = typer.Option(None, "--out", help="Reports folder (default: reports/)."),
        jobs: int = typer.Option(2, "--jobs", "-j", min=1, help="Notebooks run in parallel."),
    ) -> None:
        """Emulated tenant -> pull -> snapshot -> all reports, twice (with changes between)."""
        from datetime import UTC, datetime

        from zoomaudit import demo
        from zoomaudit.config import PROJECT_ROOT

        run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        index = demo.run(
            users=users,
            seed=seed,
            data_dir=data_dir or PROJECT_ROOT / "data" / "demo" / run_id / "snapshots",
            reports_dir=out or PROJECT_ROOT / "reports",
            jobs=jobs,
            echo=typer.echo,
        )
        typer.echo(str(index))
