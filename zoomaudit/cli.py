"""The ``zoomaudit`` command line.

Each area registers its subcommands from its own ``cli_<area>.py`` module (a ``register(app)``
function), so this file stays a thin shell: global options, logging, and turning a
``ZoomAuditError`` into one clear line and an exit status (a traceback only with ``--debug``).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys

import typer

from zoomaudit import __version__
from zoomaudit.errors import ZoomAuditError
from zoomaudit.secrets import SecretFilter, scrub

AREAS = (
    "zoomaudit.cli_emulator",
    "zoomaudit.cli_pull",
    "zoomaudit.cli_reconcile",
    "zoomaudit.cli_licences",
    "zoomaudit.cli_readiness",
    "zoomaudit.cli_rollout",
    "zoomaudit.cli_report",
)

app = typer.Typer(
    name="zoomaudit",
    help="Audit Zoom users provisioned from Microsoft Entra ID (SCIM): pull snapshots, "
    "reconcile, audit licences, plan and apply phased rollouts, write reports. "
    "Read-only unless a rollout command is given --apply.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"zoomaudit {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logs."),
    quiet: bool = typer.Option(False, "--quiet", help="Only warnings and errors; no progress."),
    json_logs: bool = typer.Option(False, "--json", help="Log as JSON lines (scheduled runs)."),
) -> None:
    _state["debug"] = debug
    configure_logging(debug=debug, quiet=quiet, json_logs=json_logs)


def configure_logging(
    *, debug: bool = False, quiet: bool = False, json_logs: bool = False
) -> None:
    """Log to stderr through the secret filter; JSON lines with ``--json``."""
    from zoomaudit import progress

    progress.configure(quiet=quiet or json_logs)
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    handler = _StderrHandler()
    handler.addFilter(SecretFilter())
    if json_logs:
        handler.setFormatter(progress.JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("zoomaudit")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at emit time (papermill and pytest swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # noqa: D102
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _register_areas() -> None:
    for name in AREAS:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).register(app)


_register_areas()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, mapping ``ZoomAuditError`` to one line and an exit status."""
    try:
        app(args=argv, standalone_mode=False)
    except ZoomAuditError as exc:
        if _state["debug"]:
            raise
        typer.echo(f"error: {scrub(str(exc))}", err=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # click usage errors and the unexpected
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if _state["debug"]:
            raise
        typer.echo(
            f"error: unexpected {type(exc).__name__}: {scrub(str(exc))} "
            "(run with --debug for a traceback)",
            err=True,
        )
        sys.exit(1)
