"""The command line: --help, --version, and one-line errors."""

from __future__ import annotations

import subprocess
import sys

from zoomaudit import __version__


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "zoomaudit", *args], capture_output=True, text=True, timeout=120
    )


def test_version():
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"zoomaudit {__version__}"


def test_help_lists_purpose_and_global_options():
    out = run("--help")
    assert out.returncode == 0
    assert "Entra" in out.stdout and "--debug" in out.stdout and "--version" in out.stdout


def test_unknown_command_fails_without_traceback():
    out = run("no-such-command")
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
