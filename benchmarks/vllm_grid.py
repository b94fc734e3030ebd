"""A grid's evaluation stage on vLLM: one engine for every condition vs one engine per condition.

Trains the grid's adapters first (cached in ``--cache``), then evaluates every condition of the
grid once per mode, one mode after another under the same load, each from the same adapters
with the store's condition results removed before it:

- ``vllm, one engine``: what ``dem grid --backend vllm`` does, every adapter in one engine;
- ``vllm, engine per condition``: `close_engines` after each condition, so each starts one;
- ``transformers``: the transformers backend (one model load per condition).

Prints each mode's seconds, the ratio of the first two (the issue's goal: >= 3x where vLLM
pays), the engines each started, and the largest difference of a figure from transformers'.
Needs the CPU vLLM env (``.ci/vllm-env VENV``) or a GPU with ``dem[vllm]``. The default preset is
the tiny organism grid of tests/vllm/test_grid.py (four conditions, three adapters).

    python benchmarks/vllm_grid.py [--preset smoke] [--grid mix_ratio] [--seeds 0] [--limit 40]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

MODES = ("vllm, one engine", "vllm, engine per condition", "transformers")


def _preset(args: argparse.Namespace, folder: Path) -> str:
    """The preset to run: `--preset`, or the tiny test grid, with `--limit` rows."""
    if args.preset:
        return args.preset
    from tests.unit.executors.conftest import TINY

    path = folder / "tiny.toml"
    path.write_text(TINY.replace("limit = 40", f"limit = {args.limit}"))
    return str(path)


def evaluate(
    preset: str, grid: str, cache: Path, mode: str, seeds: Any, only: Any = None
) -> dict[str, Any]:
    """Evaluate every condition of `grid` (or `only` those) in `mode`, its adapters already
    trained: seconds, engines started, and each condition's metrics."""
    from dem.experiments.session import Experiment
    from dem.models.backends.vllm_backend import close_engines, engine_starts
    from dem.store import ArtifactStore

    store = ArtifactStore(cache)
    for art in store.ls():
        if art.kind == "condition":
            store.rm(art.key)
    backend = "transformers" if mode == "transformers" else "vllm"
    exp = Experiment.create(preset, cache=str(cache), backend=backend, seeds=seeds)
    conds = exp.conditions(grid) if only is None else only
    starts = engine_starts()
    start = time.perf_counter()
    for c in conds:
        exp.result(c)
        if mode == "vllm, engine per condition":
            close_engines()
    seconds = time.perf_counter() - start
    close_engines()
    metrics = {c.id: exp.result(c).metrics for c in conds}
    return {"seconds": seconds, "engines": engine_starts() - starts, "metrics": metrics}


def _largest_difference(a: dict[str, dict], b: dict[str, dict]) -> float:
    return max(
        abs(a[cid][name] - value)
        for cid, metrics in b.items()
        for name, value in metrics.items()
        if isinstance(value, float) and isinstance(a[cid][name], float)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default=None, help="default: the tiny test grid")
    parser.add_argument("--grid", default="mix_ratio")
    parser.add_argument("--seeds", default=None, help="comma-separated (default: the preset's)")
    parser.add_argument("--limit", type=int, default=40, help="MASK rows (the tiny grid only)")
    parser.add_argument("--cache", default=None, help="artifact store (default: a temporary one)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (vLLM's CPU: 1)")
    args = parser.parse_args()
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        print("vllm_grid: skipped, vLLM is not installed here (build .ci/vllm-env VENV)")
        return 0
    import torch

    torch.set_num_threads(args.threads)
    from dem.experiments.presets import parse_seeds
    from dem.experiments.session import Experiment
    from dem.verbosity import QUIET, set_verbosity

    set_verbosity(QUIET)
    seeds = None if args.seeds is None else parse_seeds(args.seeds)
    with tempfile.TemporaryDirectory() as tmp:
        preset = _preset(args, Path(tmp))
        cache = Path(args.cache or Path(tmp) / "cache")
        exp = Experiment.create(preset, cache=str(cache), seeds=seeds)
        conds = exp.conditions(args.grid)
        start = time.perf_counter()
        exp.runner.train_adapters(conds, exp.model, pack=exp.pack)  # packs, where they pay
        for c in conds:  # the rest one at a time
            if c.recipe is not None:
                exp.runner.adapter(c, exp.model)
        print(f"{len(conds)} conditions; adapters trained in {time.perf_counter() - start:.1f} s")
        # untimed: vLLM's import and first-call warm-up would fall on the first mode alone
        evaluate(preset, args.grid, cache, "vllm, engine per condition", seeds, conds[:1])
        runs = {mode: evaluate(preset, args.grid, cache, mode, seeds) for mode in MODES}
    print("mode | evaluation s | engines started | largest figure difference vs transformers")
    for mode, r in runs.items():
        diff = _largest_difference(r["metrics"], runs["transformers"]["metrics"])
        print(f"{mode} | {r['seconds']:.1f} | {r['engines']} | {diff:.1e}")
    one, each = (runs[m]["seconds"] for m in MODES[:2])
    print(f"one engine vs an engine per condition: {each / one:.2f}x")
    print(f"one engine vs transformers: {runs['transformers']['seconds'] / one:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
