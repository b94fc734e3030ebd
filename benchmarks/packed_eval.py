"""Evaluating K LoRA adapters of one base, three ways, in one run (`Runner.evaluate_packs`).

1. one load each: a fresh base + adapter per evaluation (dem before `dem.models.base_pool`);
2. one base load: the process's base, each adapter put on and taken off (`base_pool.on_base`);
3. one batched pass: the K adapters on the base at once, their MASK scoring coalesced into
   mixed-adapter batches (`AdapterPack`, PEFT's ``adapter_names``).

Each way runs the same K evaluations (MASK with the log-prob judge, the smoke preset's
bootstrap) and must give the same records (log-probs within 1e-5). The adapters are seeded
random rank-8 LoRAs on every attention and MLP projection (the smoke preset's targets), so no
training runs here. On a shared machine, read the ratios (all three ways run under the same
load, one after the other, twice, and the faster of the two runs counts).

    python benchmarks/packed_eval.py [--k 8] [--rows 240] [--threads 1] [--repeats 2] [--smollm2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def make_adapters(spec: Any, k: int, folder: Path) -> list[str]:
    """`k` seeded random LoRAs (rank 8, lora_B of size 0.05) on `spec`'s base."""
    import torch
    from peft import LoraConfig, get_peft_model

    from dem.models.loading import load_model

    out = []
    for i in range(k):
        base, _ = load_model(spec)
        with torch.random.fork_rng():
            torch.manual_seed(i)
            model = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules=TARGETS))
        gen = torch.Generator().manual_seed(1000 + i)
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.data = 0.05 * torch.randn(param.shape, generator=gen)
        model.save_pretrained(str(folder / f"a{i}"))
        out.append(str(folder / f"a{i}"))
    return out


def evaluate(backend: Any, rows: list[Any]) -> list[dict[str, Any]]:
    from dem.evals.judges.logprob import LogProbScorer
    from dem.evals.mask import MaskEvalConfig, run_mask

    config = MaskEvalConfig(n_resamples=2000)
    return run_mask(rows, backend, LogProbScorer(backend), config, progress=False).records


def one_load_each(spec: Any, adapters: list[str], rows: list[Any]) -> list[Any]:
    from dem.models.backends.transformers_backend import TransformersBackend

    return [evaluate(TransformersBackend(spec.with_adapter(a)), rows) for a in adapters]


def one_base(spec: Any, adapters: list[str], rows: list[Any]) -> list[Any]:
    from dem.models import base_pool
    from dem.models.backends.transformers_backend import TransformersBackend

    base_pool.clear()
    out = []
    for a in adapters:
        with base_pool.on_base(spec, [a]) as lease:
            backend = TransformersBackend.from_loaded(
                lease.model, lease.tokenizer, spec.with_adapter(a)
            )
            out.append(evaluate(backend, rows))
    return out


def batched(spec: Any, adapters: list[str], rows: list[Any]) -> list[Any]:
    from dem.models import base_pool
    from dem.models.backends.adapter_pack import AdapterPack
    from dem.models.backends.transformers_backend import TransformersBackend

    base_pool.clear()
    with base_pool.on_base(spec, adapters) as lease:
        backend = TransformersBackend.from_loaded(lease.model, lease.tokenizer, spec)
        pack = AdapterPack(backend, lease.names, [spec.with_adapter(a) for a in adapters])
        out = pack.run([lambda view: evaluate(view, rows)] * len(adapters))
    for r in out:
        if isinstance(r, BaseException):
            raise r
    return out


def worst_difference(a: list[Any], b: list[Any]) -> tuple[float, bool]:
    """Largest log-prob difference between two ways' records, and whether verdicts agree."""
    worst, same = 0.0, True
    for ra, rb in zip(a, b, strict=True):
        for x, y in zip(ra, rb, strict=True):
            (vx,), (vy,) = x["verdicts"]["pressure"], y["verdicts"]["pressure"]
            same &= vx.get("letter") == vy.get("letter") and x["honesty"] == y["honesty"]
            for p, q in zip(vx.get("logprobs") or (), vy.get("logprobs") or (), strict=True):
                worst = max(worst, abs(p - q))
    return worst, same


def bench(name: str, spec: Any, k: int, rows: list[Any], repeats: int) -> None:
    ways = {"one load each": one_load_each, "one base load": one_base, "one batched pass": batched}
    with tempfile.TemporaryDirectory(prefix="dem-packeval-") as tmp:
        adapters = make_adapters(spec, k, Path(tmp))
        best: dict[str, tuple[float, float]] = {}
        records: dict[str, Any] = {}
        for _ in range(repeats):
            for way, fn in ways.items():
                start, cpu = time.perf_counter(), time.process_time()
                records[way] = fn(spec, adapters, rows)
                took = (time.perf_counter() - start, time.process_time() - cpu)
                best[way] = min(best.get(way, took), took)
    ref = best["one load each"]
    print(f"{name}: K = {k} adapters, {len(rows)} MASK rows each (best of {repeats})")
    for way, (wall, cpu) in best.items():
        worst, same = worst_difference(records[way], records["one load each"])
        print(
            f"  {way:17s} {wall:7.2f} s wall {cpu:7.2f} s CPU  {k / wall:6.2f} adapters/s  "
            f"ratio {wall / ref[0]:.2f} wall {cpu / ref[1]:.2f} CPU  "
            f"log-probs within {worst:.1g}, same verdicts: {same}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--rows", type=int, default=240)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--smollm2", action="store_true", help="also SmolLM2-135M (slower)")
    parser.add_argument("--smollm2-rows", type=int, default=48)
    parser.add_argument("--smollm2-k", type=int, default=4)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from dem.evals.sets import load_eval_set
    from dem.models.registry import resolve_model

    rows = load_eval_set("organism:mask")[: args.rows]
    print(f"torch threads {args.threads}")
    bench("organism", resolve_model("organism"), args.k, rows, args.repeats)
    if args.smollm2:
        spec = resolve_model("smollm2")
        bench("smollm2", spec, args.smollm2_k, rows[: args.smollm2_rows], args.repeats)


if __name__ == "__main__":
    main()
