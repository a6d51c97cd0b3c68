"""Benchmark: synthetic tenant generation (time and peak memory) at 100k and 1M users.

Each size runs in a fresh subprocess so its peak RSS (``resource.getrusage``) is its own. Wall
time depends on machine load; CPU time (user + sys of the child) is the steadier number.

Usage: ``.venv/bin/python bench/bench_generate.py [SIZES...]`` (default 100000 1000000);
writes ``bench/results/generate.md``.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = r"""
import json, resource, sys, time
from zoomaudit.emulator.generate import LAST_MARKS, generate_tenant
from zoomaudit.emulator.answer_key import write_answer_key
import tempfile
n, scenario = int(sys.argv[1]), sys.argv[2]
w0, c0 = time.perf_counter(), time.process_time()
t = generate_tenant(n, seed=1, scenario=scenario)
wall, cpu = time.perf_counter() - w0, time.process_time() - c0
with tempfile.TemporaryDirectory() as d:
    w1 = time.perf_counter()
    write_answer_key(t, d)
    key_write = time.perf_counter() - w1
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"users": n, "scenario": scenario, "wall_s": round(wall, 1),
                  "cpu_s": round(cpu, 1), "peak_rss_mb": round(rss),
                  "zoom_users": len(t.zoom_users), "events": len(t.provisioning_events),
                  "members": len(t.members), "assignments": len(t.assignments),
                  "reconcile_rows": len(t.answer_key["reconcile"]),
                  "key_write_s": round(key_write, 1), "marks": LAST_MARKS}))
"""


def run(n: int, scenario: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(n), scenario],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [100_000, 1_000_000]
    rows = []
    for n in sizes:
        for scenario in ("default",) if n > 100_000 else ("default", "mail-username"):
            row = run(n, scenario)
            print(json.dumps(row))
            rows.append(row)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "# Tenant generation (zoomaudit.emulator.generate)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; load average "
        f"{load:.1f} at the end (other jobs shared the machine, so wall > CPU).",
        "Command: `.venv/bin/python bench/bench_generate.py " + " ".join(map(str, sizes)) + "`",
        "",
        "| users | scenario | wall s | CPU s | peak RSS MB | Zoom users | events | "
        "members | assignments | reconcile rows | key write s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['users']:,} | {r['scenario']} | {r['wall_s']} | {r['cpu_s']} | "
            f"{r['peak_rss_mb']:,} | {r['zoom_users']:,} | {r['events']:,} | {r['members']:,} | "
            f"{r['assignments']:,} | {r['reconcile_rows']:,} | {r['key_write_s']} |"
        )
    big = rows[-1]
    lines += [
        "",
        f"Stages of the {big['users']:,}-user run (CPU seconds since start, peak RSS MB):",
        "",
        "| stage | CPU s | peak RSS MB |",
        "|---|---|---|",
    ]
    lines += [f"| {label} | {cpu} | {rss:,} |" for label, cpu, rss in big["marks"]]
    lines += [
        "",
        "Generation = population + 4 simulated provisioning cycles (run_cycle) + planted mess "
        "+ answer key. Planted situations are sized on min(users, 100,000), so provisioning "
        "events stay bounded (a few thousand) for big tenants.",
    ]
    out = ROOT / "bench" / "results" / "generate.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
