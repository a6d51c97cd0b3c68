"""Before/after CPU of the kit's pull: kit runs from two or more trees, interleaved, against one
pair of emulators (as ``bench_pull.py`` starts them: 20 ms latency, Business limits).

The pull's CPU varies by about 10 % from run to run on this machine, more than many changes
save; interleaving many runs and comparing medians (and pairs) is what shows a change.

Usage::

    git archive <rev> zoomaudit | tar -x -C /tmp/before   # the tree to compare with
    .venv/bin/python bench/ab_pull.py --users 100000 --repeat 8 /tmp/before .

``.`` is this checkout. Prints every run and the median CPU and wall time of each tree, and
how many interleaved pairs the last tree won against the first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

import bench_pull


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("trees", nargs="+", help='checkouts holding zoomaudit/ ("." = this one)')
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    os.environ["ZOOMAUDIT_BENCH_NO_BREAKDOWN"] = "1"
    runs: dict[str, list[dict]] = {tree: [] for tree in args.trees}
    with bench_pull.emulators(args.users, 20.0, "business") as env:
        for _ in range(args.repeat):
            for tree in args.trees:
                run = bench_pull.run_variant("kit", env, None if tree == "." else tree)
                runs[tree].append(run)
                print(f"{tree}: {run['cpu']:.2f} s CPU, {run['wall']:.2f} s wall", flush=True)
    for tree, rs in runs.items():
        cpu = statistics.median(r["cpu"] for r in rs)
        wall = statistics.median(r["wall"] for r in rs)
        print(f"{tree}: median {cpu:.2f} s CPU, {wall:.2f} s wall over {len(rs)} runs")
    first, last = runs[args.trees[0]], runs[args.trees[-1]]
    won = sum(b["cpu"] < a["cpu"] for a, b in zip(first, last, strict=True))
    print(f"{args.trees[-1]} used less CPU than {args.trees[0]} in {won} of {len(first)} pairs")


if __name__ == "__main__":
    sys.exit(main())
