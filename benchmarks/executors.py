"""A grid on the local pool against the same grid on Ray, each from an empty store.

    python benchmarks/executors.py [--preset smoke] [--grid mix_ratio] [--jobs 2]

Runs the grid twice on this machine: on the local executor (`--jobs` worker processes), then on
a local Ray cluster of `--jobs` CPUs that this script starts (``ray.init``, timed apart). Prints
the wall time of each, Ray's overhead beyond ``ray.init`` as a share of the local pool's time
(the target: at most 15 %), and whether both runs gave the same results.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dem.executors import Executor

MAX_OVERHEAD = 0.15


def _timed_grid(preset: str, grid: str, cache: Path, executor: Executor) -> tuple[float, str, int]:
    """(seconds, the results as canonical JSON with the store's path masked, conditions)."""
    from dem.experiments.session import Experiment

    exp = Experiment.create(preset, cache=str(cache))
    start = time.perf_counter()
    run = exp.run_grid(grid, executor=executor)
    seconds = time.perf_counter() - start
    data = {
        "conditions": [c.to_dict() for c in run.conditions],
        "comparisons": [c.to_dict() for c in run.comparisons],
    }
    text = json.dumps(data, sort_keys=True).replace(str(cache.resolve()), "<store>")
    return seconds, text, len(run.conditions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="smoke", help="smoke | paper | a preset TOML file")
    parser.add_argument("--grid", default="mix_ratio", help="mix_ratio | domain | interaction")
    parser.add_argument("--jobs", type=int, default=2, help="local workers and Ray CPUs")
    args = parser.parse_args()

    import peft  # noqa: F401
    import ray
    import trl  # noqa: F401

    import dem.experiments.runner  # noqa: F401  warm the page cache for both runs' workers
    from dem.executors.local import LocalExecutor
    from dem.executors.ray import RayExecutor

    with tempfile.TemporaryDirectory(prefix="dem-bench-") as tmp:
        local_s, local_json, n = _timed_grid(
            args.preset, args.grid, Path(tmp) / "local", LocalExecutor(args.jobs)
        )
        start = time.perf_counter()
        ray.init(num_cpus=args.jobs, include_dashboard=False, logging_level=logging.WARNING)
        init_s = time.perf_counter() - start
        try:
            ray_s, ray_json, _ = _timed_grid(
                args.preset, args.grid, Path(tmp) / "ray", RayExecutor(args.jobs)
            )
        finally:
            ray.shutdown()

    overhead = (ray_s - local_s) / local_s
    verdict = "within" if overhead <= MAX_OVERHEAD else "OVER"
    print(f"{args.preset} {args.grid} grid, {n} conditions, {args.jobs} at a time, empty stores")
    print(f"{'local pool':<24} {local_s:8.1f} s")
    print(f"{'ray.init':<24} {init_s:8.1f} s")
    print(f"{'ray (after init)':<24} {ray_s:8.1f} s")
    target = f"{verdict} the {MAX_OVERHEAD:.0%} target"
    print(f"Ray overhead beyond ray.init: {overhead:+.1%} of the local pool's time ({target})")
    print(f"same results on both: {'yes' if ray_json == local_json else 'NO'}")


if __name__ == "__main__":
    main()
