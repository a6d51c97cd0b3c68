"""Shared, session-scoped notebook runs: two emulator-derived snapshots, reported once.

The report suite runs ONCE per session (papermill, 5 notebooks, 2 in parallel) against a small
emulated tenant, with recognisable fake secrets planted in the environment; every test in this
folder reads that one report folder (execution, parameters, secrets, HTML, nbval, browser).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
USERS = 300
SEED = 11
PLANTED = {
    "ZOOMAUDIT_CLIENT_SECRET": "planted-client-secret-7Qx9w",
    "ZOOMAUDIT_GRAPH_TOKEN": "planted-graph-token-K2m4v",
    "ZOOMAUDIT_ZOOM_CLIENT_SECRET": "planted-zoom-secret-P8z1u",
    "ZOOMAUDIT_ZOOM_TOKEN": "planted-zoom-token-R5t3s",
}


def write_history(data_dir: Path, users: int = USERS, seed: int = SEED) -> list[Path]:
    """Two snapshots of one emulated tenant: as generated, then after the demo's changes and
    two provisioning cycles (so trends has new and resolved findings)."""
    from zoomaudit import demo
    from zoomaudit.emulator.generate import generate_tenant
    from zoomaudit.emulator.to_snapshot import to_snapshot
    from zoomaudit.redact import write_snapshot

    tenant = generate_tenant(users, seed)
    first = to_snapshot(tenant)
    first.id = first.manifest["snapshot_id"] = "20261101T120000Z_emulated"
    path1 = write_snapshot(first, data_dir / first.id)
    now = first.taken_at
    demo.change_tenant(tenant, now, demo.pilot_users(path1, size=10))
    second = to_snapshot(tenant)
    later = now + timedelta(hours=2)
    second.id = second.manifest["snapshot_id"] = "20261101T140000Z_emulated"
    second.manifest["taken_at"] = later.isoformat().replace("+00:00", "Z")
    path2 = write_snapshot(second, data_dir / second.id)
    return [path1, path2]


@pytest.fixture(scope="session")
def planted() -> dict[str, str]:
    return dict(PLANTED)


@pytest.fixture(scope="session")
def history(tmp_path_factory) -> list[Path]:
    data_dir = tmp_path_factory.mktemp("data") / "snapshots"
    return write_history(data_dir)


@pytest.fixture(scope="session")
def demo_params(history, tmp_path_factory) -> dict[str, str]:
    """The demo's notebook parameters: a wave configuration and a candidates file."""
    from zoomaudit import demo

    return demo.demo_params(history[0], tmp_path_factory.mktemp("params"))


@pytest.fixture(scope="session")
def report_run(history, demo_params, tmp_path_factory) -> dict:
    """``zoomaudit report`` (the CLI, in a subprocess) on the latest snapshot, with planted
    secrets in its environment; its stdout/stderr are kept as ``log``."""
    work = tmp_path_factory.mktemp("run")
    out = work / "reports"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOOMAUDIT_")}
    env.update(PLANTED, ZOOMAUDIT_NO_KEYRING="1")
    cmd = [
        sys.executable,
        "-m",
        "zoomaudit",
        "report",
        "latest",
        "--data-dir",
        str(history[0].parent),
        "--out",
        str(out),
        "--jobs",
        "2",
    ]
    for name, value in demo_params.items():
        cmd += ["-p", f"{name}={value}"]
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=600)
    log = work / "report.log"
    log.write_text(proc.stdout + proc.stderr, encoding="utf-8")
    folder = out / history[-1].name
    summary = json.loads((folder / "report.json").read_text()) if folder.is_dir() else {}
    return {
        "returncode": proc.returncode,
        "log": log,
        "folder": folder,
        "summary": summary,
        "stdout": proc.stdout,
        "stderr": proc.stderr,
    }
