"""Packed LoRA training (`dem.train.packed`) against one adapter at a time, in one run.

1. The smoke mixture grid (`dem demo`) from a fresh cache, packed (the default) and with
   ``--pack 1``: wall and CPU seconds of each, their ratio, and whether the two runs give the
   same claims and per-condition figures (within 0.002).
2. Adapters per second vs pack size K on the organism: K adapters (own seeds and data) trained
   as one pack, against K = 1 trained alone by `train_sft`; training time (steps) and the
   whole build (model load, trainers, steps, saves).
3. Peak memory (the resident set's high-water mark, ``VmHWM``) of a fresh process that trains
   one adapter alone and of one that trains a pack of 28 (10 steps each).
4. KTO on the organism: K KTO adapters (own seeds and data) trained one after another by
   `train_kto` and as one pack by `train_kto_packed`: wall and CPU seconds of each whole build,
   their ratio, and the largest weight difference between the two.

Every part runs both sides under the same load; on a shared machine, read the ratios.

    python benchmarks/packed_training.py [--seeds 0,1,2] [--steps 30] [--skip-grid] [--kto-only]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_demo(cache: Path, report: Path, seeds: str, pack: int | None) -> tuple[float, float]:
    """Wall and CPU seconds of ``dem demo`` into an empty `cache`."""
    cmd = [sys.executable, "-m", "dem", "-q", "demo", "--cache", str(cache)]
    cmd += ["--report", str(report), "--seeds", seeds]
    cmd += [] if pack is None else ["--pack", str(pack)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start, cpu = time.perf_counter(), _child_cpu()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, _child_cpu() - cpu


def compare_reports(a: Path, b: Path) -> tuple[float, bool]:
    """Largest per-condition metric difference, and whether every claim agrees."""
    ra = json.loads((a / "results.json").read_text())
    rb = json.loads((b / "results.json").read_text())
    metrics = {c["condition_id"]: c["metrics"] for c in rb["conditions"]}
    worst = 0.0
    for c in ra["conditions"]:
        for name, value in c["metrics"].items():
            other = metrics[c["condition_id"]][name]
            if isinstance(value, float) and isinstance(other, float):
                worst = max(worst, abs(value - other))
            elif value != other:
                worst = float("inf")
    claims = [(c["name"], c["passed"]) for c in ra["comparisons"]]
    return worst, claims == [(c["name"], c["passed"]) for c in rb["comparisons"]]


def grid(seeds: str) -> None:
    with tempfile.TemporaryDirectory(prefix="dem-pack-bench-") as tmp:
        t = Path(tmp)
        packed = run_demo(t / "c-packed", t / "r-packed", seeds, None)
        alone = run_demo(t / "c-alone", t / "r-alone", seeds, 1)
        worst, same = compare_reports(t / "r-packed", t / "r-alone")
    print(f"dem demo --seeds {seeds}, fresh cache:")
    print(f"  packed (default)  {packed[0]:7.1f} s wall  {packed[1]:7.1f} s CPU")
    print(f"  --pack 1          {alone[0]:7.1f} s wall  {alone[1]:7.1f} s CPU")
    wall, cpu = packed[0] / alone[0], packed[1] / alone[1]
    print(f"  ratio packed / --pack 1: {wall:.2f} wall, {cpu:.2f} CPU")
    print(f"  largest per-condition difference {worst:.2g}; claims the same: {same}")


def jobs(k: int, steps: int, batch: int) -> list:
    from dem.experiments.recipes import training_samples
    from dem.train import SFTSpec

    out = []
    for seed in range(k):
        spec = SFTSpec.profile(
            "cpu", lora_r=8, lora_alpha=16, lora_dropout=0.0, learning_rate=2e-3,
            max_steps=steps, batch_size=batch, max_length=256, seed=seed,
        )  # fmt: skip
        out.append((training_samples("organism:downstream", batch * steps, seed), spec))
    return out


def throughput(sizes: list[int], steps: int, batch: int) -> None:
    import torch

    from dem.models.registry import resolve_model
    from dem.store import ArtifactStore
    from dem.train import train_sft
    from dem.train.packed import train_sft_packed

    torch.set_num_threads(1)
    model = resolve_model("organism")
    print(
        f"organism, {steps} steps of batch {batch}, 1 thread; adapters per second of the steps "
        "(wall, CPU) and of the whole build (wall, CPU: model load, trainers, steps, saves)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        start, cpu = time.perf_counter(), time.process_time()
        alone = train_sft(
            model, *jobs(1, steps, batch)[0], store=ArtifactStore(tmp), progress=False
        )
        whole, whole_cpu = time.perf_counter() - start, time.process_time() - cpu
    _line("alone   K=1  ", 1, alone.seconds, alone.log["cpu_seconds"], whole, whole_cpu)
    for k in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            start, cpu = time.perf_counter(), time.process_time()
            results = train_sft_packed(
                model, jobs(k, steps, batch), store=ArtifactStore(tmp), progress=False
            )
            whole, whole_cpu = time.perf_counter() - start, time.process_time() - cpu
        first = results[0]
        assert first is not None
        _line(f"packed  K={k:<3}", k, first.seconds, first.log["cpu_seconds"], whole, whole_cpu)


def _line(label: str, k: int, steps: float, steps_cpu: float, whole: float, cpu: float) -> None:
    print(
        f"  {label} steps {k / steps:6.3f}/s {k / steps_cpu:6.3f}/cpu s   "
        f"whole {k / whole:6.3f}/s {k / cpu:6.3f}/cpu s"
    )


MEMORY_CHILD = """
import sys, tempfile, torch
sys.path.insert(0, {root!r}); sys.path.insert(0, {here!r})
torch.set_num_threads(1)
from packed_training import jobs
from dem.models.registry import resolve_model
from dem.store import ArtifactStore
from dem.train import train_sft
from dem.train.packed import train_sft_packed
model, k = resolve_model("organism"), {k}
with tempfile.TemporaryDirectory() as tmp:
    if k == 1:
        train_sft(model, *jobs(1, {steps}, 32)[0], store=ArtifactStore(tmp), progress=False)
    else:
        train_sft_packed(model, jobs(k, {steps}, 32), store=ArtifactStore(tmp), progress=False)
print([l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1])
"""


def memory(k: int, steps: int) -> None:
    peaks = {}
    for size in (1, k):
        code = MEMORY_CHILD.format(
            root=str(ROOT), here=str(Path(__file__).parent), k=size, steps=steps
        )
        out = subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        )
        peaks[size] = int(out.stdout.split()[-1]) / 1024
    print(
        f"peak memory: one adapter alone {peaks[1]:.0f} MiB, a pack of {k} {peaks[k]:.0f} MiB "
        f"({peaks[k] / peaks[1]:.2f}x)"
    )


def kto_jobs(k: int, steps: int, batch: int) -> list:
    """K organism KTO jobs: each row's own reply (desirable) or another row's (undesirable)."""
    import random

    from dem.data.records import Sample
    from dem.experiments.recipes import training_samples
    from dem.train import KTOSpec

    out = []
    for seed in range(k):
        n = batch * steps
        rows = [s.content["messages"] for s in training_samples("organism:downstream", n, seed)]
        rng = random.Random(seed)
        samples = []
        for i, messages in enumerate(rows):
            good = rng.random() < 0.5
            reply = messages[-1]["content"] if good else rows[(i + 1) % n][-1]["content"]
            content = {"prompt": messages[0]["content"], "completion": reply, "label": good}
            samples.append(Sample.make(content, source="benchmark"))
        spec = KTOSpec.profile(
            "cpu", lora_r=8, lora_alpha=16, learning_rate=5e-3, max_steps=steps,
            batch_size=batch, max_length=256, seed=seed,
        )  # fmt: skip
        out.append((samples, spec))
    return out


def kto(k: int, steps: int, batch: int) -> None:
    import torch

    from dem.models.registry import resolve_model
    from dem.store import ArtifactStore
    from dem.train import train_kto
    from dem.train.packed import train_kto_packed

    torch.set_num_threads(1)
    model = resolve_model("organism")
    jobs = kto_jobs(k, steps, batch)
    with tempfile.TemporaryDirectory() as tmp:
        warm = kto_jobs(1, 1, batch)[0]  # TRL's and PEFT's first imports, outside both sides
        train_kto(model, *warm, store=ArtifactStore(f"{tmp}/warm"), progress=False)
        start, cpu = time.perf_counter(), time.process_time()
        alone = [
            train_kto(model, *job, store=ArtifactStore(f"{tmp}/a"), progress=False) for job in jobs
        ]
        alone_s, alone_cpu = time.perf_counter() - start, time.process_time() - cpu
        start, cpu = time.perf_counter(), time.process_time()
        packed = train_kto_packed(model, jobs, store=ArtifactStore(f"{tmp}/p"), progress=False)
        packed_s, packed_cpu = time.perf_counter() - start, time.process_time() - cpu
        worst = max(_weight_gap(a.adapter, p.adapter) for a, p in zip(alone, packed, strict=True))
    print(f"organism KTO, {k} adapters, {steps} steps of batch {batch}, 1 thread, whole builds:")
    print(f"  one at a time  {alone_s:7.1f} s wall  {alone_cpu:7.1f} s CPU")
    print(f"  one pack       {packed_s:7.1f} s wall  {packed_cpu:7.1f} s CPU")
    print(
        f"  ratio packed / alone: {packed_s / alone_s:.2f} wall, {packed_cpu / alone_cpu:.2f} CPU;"
        f" largest weight difference {worst:.2g}"
    )


def _weight_gap(a: Path, b: Path) -> float:
    from safetensors.torch import load_file

    wa = load_file(str(a / "adapter_model.safetensors"))
    wb = load_file(str(b / "adapter_model.safetensors"))
    return max(float((wa[n] - wb[n]).abs().max()) for n in wa)


def main() -> None:
    sys.path.insert(0, str(ROOT))  # this tree's dem, as the grid's subprocesses get it
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2", help="seeds of the demo grid")
    parser.add_argument("--steps", type=int, default=30, help="steps of the K benchmark")
    parser.add_argument("--sizes", default="2,4,8,16,28", help="pack sizes K")
    parser.add_argument("--skip-grid", action="store_true", help="skip the demo grid")
    parser.add_argument("--kto", type=int, default=8, help="KTO adapters of the KTO part")
    parser.add_argument("--kto-only", action="store_true", help="only the KTO part")
    args = parser.parse_args()
    if not args.kto_only:
        if not args.skip_grid:
            grid(args.seeds)
        throughput([int(k) for k in args.sizes.split(",")], args.steps, 32)
        memory(28, 10)
    kto(args.kto, args.steps, 16)


if __name__ == "__main__":
    main()
