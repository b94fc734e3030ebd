"""How much a finished grid costs to run again: the first run from an empty cache vs a rerun
that finds every artifact (its keys computed, results read, claims and report rebuilt).

    python benchmarks/rerun.py [--grid mix_ratio] [--preset smoke] [--jobs 2]

Runs `dem grid` twice in subprocesses (fresh processes, as a user's rerun) against one temporary
cache and prints, for each, the wall time and the CPU time of the process and its workers (user +
system: robust on a busy machine), and the reruns' ratios to the first run.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(args: argparse.Namespace, cache: str, report: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one `dem grid` run in a fresh process."""
    cmd = [sys.executable, "-m", "dem", "-q", "grid", args.grid, "--preset", args.preset,
           "--jobs", str(args.jobs), "--cache", cache, "--report", report]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env={**os.environ})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="mix_ratio")
    parser.add_argument("--preset", default="smoke")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        first = run(args, f"{tmp}/cache", f"{tmp}/report1")
        again = run(args, f"{tmp}/cache", f"{tmp}/report2")
        results = [Path(tmp, f"report{i}", "results.json").read_text() for i in (1, 2)]
        same = results[0] == results[1]
    print("| grid | | first run (empty cache) | rerun | rerun / first | same results.json |")
    print("| --- | --- | --- | --- | --- | --- |")
    for i, what in enumerate(("wall", "CPU")):
        print(
            f"| {args.grid} ({args.preset}, --jobs {args.jobs}) | {what} | {first[i]:.1f} s | "
            f"{again[i]:.1f} s | {again[i] / first[i]:.1%} | {'yes' if same else 'NO'} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
