"""Run every benchmark script in bench/ (bench_*.py) one after another.

Each script prints its own table and writes bench/results/<area>.md; this runner then stitches
those files into bench/RESULTS.md. Benchmarks take minutes: they are not part of `make test`.
Pass names to run a subset: ``python bench/run_all.py reconcile licences``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in names]
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        start = time.perf_counter()
        rc = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(f"== {script.name}: exit {rc} after {time.perf_counter() - start:.1f} s", flush=True)
        if rc:
            failed.append(script.name)
    stitch()
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


def stitch() -> None:
    """bench/RESULTS.md = header + every bench/results/*.md."""
    parts = [(HERE / "RESULTS_HEADER.md").read_text(encoding="utf-8").rstrip() + "\n"]
    for md in sorted((HERE / "results").glob("*.md")):
        parts.append(md.read_text(encoding="utf-8").rstrip() + "\n")
    (HERE / "RESULTS.md").write_text("\n".join(parts), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
