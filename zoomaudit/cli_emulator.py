"""``zoomaudit emulator serve``: run the tenant emulator for the demo or a manual session.

Place in the flow: a CLI front for :class:`zoomaudit.emulator.server.Emulator`. It prints the
``ZOOMAUDIT_*`` variables that point the kit at the emulator as ``export NAME=value`` lines
(``eval "$(zoomaudit emulator serve ... &)"`` style), then serves until Ctrl-C or SIGTERM.
The printed credentials are emulator-only values, not real secrets.
"""

from __future__ import annotations

import shlex
import signal
import threading

import typer

from zoomaudit.errors import ConfigError


def register(app: typer.Typer) -> None:
    """Add the ``emulator`` command group to the main app."""
    emulator = typer.Typer(
        name="emulator",
        help="Serve a synthetic Entra tenant and Zoom account on 127.0.0.1.",
        no_args_is_help=True,
    )
    emulator.command("serve")(serve)
    app.add_typer(emulator, name="emulator")


def serve(
    users: int = typer.Option(200, "--users", min=1, help="Entra users to generate."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same tenant)."),
    scenario: str = typer.Option("default", "--scenario", help="Tenant scenario name."),
    faults: str = typer.Option(
        "", "--faults", help="Fault spec, e.g. 'graph:/users$:429=1x2;zoom:/scim2:500@3'."
    ),
    https_authority: bool = typer.Option(
        False, "--https-authority", help="Also serve an HTTPS token authority (azure-identity)."
    ),
    graph_port: int = typer.Option(0, "--graph-port", help="Graph port (0 = any free port)."),
    zoom_port: int = typer.Option(0, "--zoom-port", help="Zoom port (0 = any free port)."),
    authority_port: int = typer.Option(0, "--authority-port", help="Authority port."),
    now: str = typer.Option(
        "now",
        "--now",
        help="The tenant's current time: 'now' (the clock, so pulls and reports read "
        "naturally) or an ISO time for a reproducible tenant (e.g. 2026-11-01T12:00:00Z).",
    ),
) -> None:
    """Serve the emulator, print the ZOOMAUDIT_* settings as export lines, block until Ctrl-C."""
    from zoomaudit.emulator.core import FaultPlan
    from zoomaudit.emulator.server import Emulator

    try:
        plan = FaultPlan.parse(faults)
    except ValueError as exc:
        raise ConfigError(f"--faults: {exc}") from exc
    from datetime import UTC, datetime

    from zoomaudit.emulator.generate import generate_tenant

    try:
        when = (
            datetime.now(UTC).replace(microsecond=0)
            if now == "now"
            else datetime.fromisoformat(now.replace("Z", "+00:00")).astimezone(UTC)
        )
    except ValueError:
        raise ConfigError(f"--now {now!r} is not 'now' or an ISO date/time") from None
    try:
        emu = Emulator(
            tenant=generate_tenant(users, seed, scenario=scenario, now=when),
            faults=plan,
            https_authority=https_authority,
            graph_port=graph_port,
            zoom_port=zoom_port,
            authority_port=authority_port,
            freeze_gc=True,  # this process only serves
        )
    except ValueError as exc:  # the generator rejects sizes or scenarios it cannot build
        raise ConfigError(f"cannot generate the tenant: {exc}") from exc
    try:
        emu.start()
    except (OSError, RuntimeError) as exc:
        raise ConfigError(f"could not start the emulator: {exc}") from exc
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        for name, value in emu.env().items():
            typer.echo(f"export {name}={shlex.quote(value)}")
        typer.echo(f"# emulator serving {users} users (seed {seed}); Ctrl-C to stop", err=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        emu.stop()
        typer.echo("# emulator stopped", err=True)
