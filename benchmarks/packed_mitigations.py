"""Mitigated adapters in a pack (`dem.train.packed`) against the same adapters trained alone.

Seven organism adapters on the severe medical set (none, inoculate, interleave, kl with two
micro-batches per step, ldifs, steer, inoculate + kl + steer; their own seeds and batch sizes)
train alone, as one pack (two passes per step), and as one pack with the loss terms or the
steering left out. Prints, per adapter, the largest weight difference to its alone run: the
pack's is float noise; the pack that leaves a defence out moves exactly the adapters that have
it, so the comparison sees the defence.

    python benchmarks/packed_mitigations.py [--steps 4]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

DEFENCES = [
    ((), 0, 1),
    (("inoculate",), 1, 1),
    (("interleave:share=0.25",), 2, 1),
    (("kl:weight=20",), 0, 2),
    (("ldifs:weight=20",), 1, 1),
    (("steer:coef=8,layer=2,prompts=16",), 2, 1),
    (("inoculate", "kl:weight=5", "steer:coef=-4,layer=1,prompts=16"), 3, 1),
]


def gap(a: Any, b: Any) -> float:
    from safetensors.torch import load_file

    wa = load_file(str(a.adapter / "adapter_model.safetensors"))
    wb = load_file(str(b.adapter / "adapter_model.safetensors"))
    return max(float((wa[k] - wb[k]).abs().max()) for k in wa)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    import torch

    from dem.models.registry import resolve_model
    from dem.organism.datasets import domain_samples
    from dem.store import ArtifactStore
    from dem.train import SFTSpec, packed, packed_steer, train_sft

    torch.set_num_threads(1)
    model = resolve_model("organism")
    jobs = []
    for mitigations, seed, ga in DEFENCES:
        spec = SFTSpec.profile(
            "cpu", lora_r=8, lora_alpha=16, lora_dropout=0.0, learning_rate=5e-4,
            max_steps=args.steps, batch_size=4 + 2 * seed, gradient_accumulation_steps=ga,
            max_length=256, seed=seed, logging_steps=2, mitigations=list(mitigations),
        )  # fmt: skip
        jobs.append((domain_samples("medical", "severe", 24, seed=seed), spec))
    with tempfile.TemporaryDirectory() as tmp:
        store = ArtifactStore(Path(tmp) / "alone")
        alone = [train_sft(model, s, spec, store=store, progress=False) for s, spec in jobs]
        terms, hook = packed._loss_terms, packed_steer.PackedSteering._hook
        runs = {}
        for name, drop_terms, drop_steering in (
            ("pack", False, False),
            ("pack without loss terms", True, False),
            ("pack without steering", False, True),
        ):
            packed._loss_terms = (lambda *a: 0.0) if drop_terms else terms  # type: ignore[assignment]
            packed_steer.PackedSteering._hook = (  # type: ignore[method-assign]
                (lambda *a: None) if drop_steering else hook
            )
            got = packed.train_sft_packed(
                model, jobs, store=ArtifactStore(Path(tmp) / name), progress=False, wave=4
            )
            runs[name] = [gap(g, a) for g, a in zip(got, alone, strict=True)]
        packed._loss_terms, packed_steer.PackedSteering._hook = terms, hook  # type: ignore
    print(f"largest weight difference to the alone run ({args.steps} steps, fp32, CPU)")
    labels = ["+".join(m.split(":")[0] for m in d[0]) or "none" for d in DEFENCES]
    print(f"{'adapter':<24}" + "".join(f"{name:>26}" for name in runs))
    for i, label in enumerate(labels):
        print(f"{label:<24}" + "".join(f"{runs[name][i]:>26.2e}" for name in runs))


if __name__ == "__main__":
    main()
