"""Benchmark the report suite: every notebook on a large emulated snapshot.

Measures wall time and peak memory of ``zoomaudit.report.run`` (papermill, all notebooks, HTML
export) on a 100k-user snapshot, with the time split into kernel start (+ papermill overhead),
analysis (the cells) and HTML export; the size of a report folder for a 5k-user tenant; and,
with ``--demo``, the run time of ``zoomaudit demo``. Writes bench/results/report.md.

    .venv/bin/python bench/bench_report.py [--users 100000] [--size-users 5000] [--demo]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_snapshot(users: int, data_dir: Path, seed: int = 1) -> tuple[Path, float]:
    from zoomaudit.emulator.generate import generate_tenant
    from zoomaudit.emulator.to_snapshot import to_snapshot
    from zoomaudit.redact import write_snapshot

    began = time.perf_counter()
    snap = to_snapshot(generate_tenant(users, seed))
    snap.id = snap.manifest["snapshot_id"] = f"20261101T120000Z_bench{users}"
    path = write_snapshot(snap, data_dir / snap.id)
    return path, time.perf_counter() - began


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_suite(snap: Path, reports: Path, jobs: int) -> tuple[dict, float]:
    from zoomaudit import report

    began = time.perf_counter()
    summary = report.run(snap, data_dir=snap.parent, reports_dir=reports, jobs=jobs)
    return summary, time.perf_counter() - began


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--size-users", type=int, default=5_000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--demo", action="store_true", help="also time `zoomaudit demo`")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="zoomaudit-bench-report-"))
    lines = []
    try:
        small, _ = make_snapshot(args.size_users, work / "small")
        small_summary, small_wall = run_suite(small, work / "small-reports", args.jobs)
        small_folder = Path(small_summary["path"]).parent
        size = folder_size(small_folder)
        per_file = sorted(
            ((p.name, p.stat().st_size) for p in small_folder.glob("*.*")), key=lambda x: -x[1]
        )

        big, gen_s = make_snapshot(args.users, work / "big")
        summary, wall = run_suite(big, work / "big-reports", args.jobs)
        me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        nbs = summary["notebooks"]
        lines += [
            "## Report",
            "",
            f"`.venv/bin/python bench/bench_report.py --users {args.users} --size-users "
            f"{args.size_users} --jobs {args.jobs}{' --demo' if args.demo else ''}` "
            f"(Python {platform.python_version()}, 2 CPUs, machine shared with other jobs: load "
            f"average {os.getloadavg()[1]:.1f} over the last 5 minutes at the end). "
            f"Snapshot: emulated tenant via `to_snapshot` (generation {gen_s:.0f} s, not "
            "counted); the full report suite (all notebooks, 2 in parallel, HTML export, "
            "findings files, index).",
            "",
            f"**{args.users:,} users: {wall:.1f} s wall, status {summary['status']}**; peak RSS "
            f"{me:.0f} MB in the runner process (snapshot generation included), {kids:.0f} MB in "
            "the largest kernel. Two kernels run at once, so the peak of the whole run is at "
            f"most about {me + 2 * kids:.0f} MB.",
            "",
            "| notebook | status | wall (s) | kernel start + papermill (s) | analysis cells (s) "
            "| HTML export (s) |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for n in nbs:
            lines.append(
                f"| {n['notebook']} | {n['status']} | {n['execute_s'] + n['export_s']:.1f}"
                f" | {n['kernel_start_s']} | {n['analysis_s']} | {n['export_s']} |"
            )
        tot = {
            k: sum((n[k] or 0) for n in nbs) for k in ("kernel_start_s", "analysis_s", "export_s")
        }
        lines += [
            f"| **sum** | | {sum(n['execute_s'] + n['export_s'] for n in nbs):.1f} | "
            f"{tot['kernel_start_s']:.1f} | {tot['analysis_s']:.1f} | {tot['export_s']:.1f} |",
            "",
            f"Sum over notebooks exceeds the wall time because {args.jobs} run in parallel. "
            "Kernel start = notebook execution time minus the cells' own durations (kernel "
            "launch, imports before the first cell, papermill bookkeeping, kernel shutdown).",
            "",
            f"**Report folder size, {args.size_users:,}-user tenant: {size / 1e6:.1f} MB** "
            f"(suite wall {small_wall:.1f} s). Each HTML and each executed .ipynb inlines "
            "plotly.js (4.8 MB) and the DataTables bundle (0.7 MB) once. Largest files:",
            "",
        ]
        lines += [f"* {name}: {b / 1e6:.1f} MB" for name, b in per_file[:6]]
        if args.demo:
            began = time.perf_counter()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "zoomaudit",
                    "--quiet",
                    "demo",
                    "--data-dir",
                    str(work / "demo" / "snapshots"),
                    "--out",
                    str(work / "demo-reports"),
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            demo_s = time.perf_counter() - began
            lines += [
                "",
                f"**`zoomaudit demo` (what `make demo` runs; 3,000 users, two pulls "
                f"and two full report runs): {demo_s:.0f} s**, exit {proc.returncode}.",
            ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = "\n".join(lines) + "\n"
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "report.md").write_text(text, encoding="utf-8")
    print(text)
    print(json.dumps({"wall_s": round(wall, 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
