"""The collector commands end to end (subprocess, like a user runs them) against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from zoomaudit.emulator.core import EmulatorOptions


def run(env: dict, *args: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("ZOOMAUDIT_")}
    full.update(env, ZOOMAUDIT_NO_KEYRING="1", CI="1")
    return subprocess.run(
        [sys.executable, "-m", "zoomaudit", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=full,
        cwd=Path(__file__).parent,
    )


def test_pull_prints_the_snapshot_path_last_and_snapshots_lists_it(make_emulator, tmp_path):
    emu = make_emulator(users=80, seed=2)
    as_of = emu.state.clock.now().isoformat()
    out = run(emu.env(), "pull", "--out", str(tmp_path), "--since", "7", "--as-of", as_of)
    assert out.returncode == 0, out.stderr
    path = Path(out.stdout.strip().splitlines()[-1])
    assert path.parent == tmp_path and (path / "manifest.json").is_file()
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["options"]["window_end"].startswith(as_of[:19])
    listed = run(emu.env(), "snapshots", "--data", str(tmp_path), "--as-json")
    row = json.loads(listed.stdout.strip().splitlines()[-1])
    assert row["id"] == path.name and row["complete"] is True
    assert row["counts"]["entra_users"] == len(
        emu.tenant.users[emu.tenant.users["deletedDateTime"].isna()]
    ) + int(emu.tenant.users["deletedDateTime"].notna().sum())


def test_pull_error_is_one_line_naming_the_fix(make_emulator, tmp_path):
    emu = make_emulator(
        users=50,
        seed=2,
        options=EmulatorOptions(graph_permissions=frozenset({"Application.Read.All"})),
    )
    out = run(emu.env(), "pull", "--out", str(tmp_path), "--sources", "entra")
    assert out.returncode != 0 and "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "User.Read.All" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_check_prints_what_works(make_emulator):
    emu = make_emulator(users=50, seed=2, options=EmulatorOptions(premium=False))
    out = run(emu.env(), "check")
    assert "ok    entra  users" in out.stdout
    assert "ok    zoom   SCIM users" in out.stdout
    assert "warn  entra  signInActivity" in out.stdout  # non-premium tenant
    assert out.returncode == 0, out.stdout + out.stderr


def test_import_command(tmp_path):
    f = tmp_path / "users.csv"
    f.write_text("Email,First Name,Last Name,User Type,Status\na@x.example,A,B,Licensed,Active\n")
    out = run({}, "import", str(f), "--out", str(tmp_path / "data"))
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip().splitlines()[-1]).parent == tmp_path / "data"
