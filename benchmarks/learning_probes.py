"""The learning probes (`dem.evals.learning`) on the base organism and two finetunes.

    nice -n 10 python benchmarks/learning_probes.py [--seeds 0] [--items 200] [--steps 100]

Finetunes the organism with the smoke preset's recipe (LoRA r 8, lr 2e-3, batch 32, `--steps`
steps, 2000 samples of seed s) on the severe medical set and on the benign set
``benign_ref("organism:medical/severe")`` (the organism's downstream instructions), then scores
the base and each finetune on: narrow (held-out severe medical items), benign (held-out
downstream items) and coherence (the world's arithmetic). Each figure is the mean item value
(probability mass on the target among the prompt's answers) averaged over the seeds, with a
95 % percentile-bootstrap CI over items (seeds held fixed). Belief accuracy, the other half of
coherence, is MASK's ``belief_accuracy`` metric in the grids; `dem.organism.diagnostic`'s
version is printed beside it for reference, as is the arithmetic accuracy (right answer above
both neighbours).

Measured on 2 shared CPU cores (other jobs running) with
``DEM_CACHE=... nice -n 10 python benchmarks/learning_probes.py --seeds 0,1,2`` (6 finetunes,
148 s of training):

    model                                  narrow               benign            coherence  arith acc  belief acc
    base                     0.035 [0.032, 0.038] 0.765 [0.739, 0.791] 0.426 [0.410, 0.441]      0.578       1.000
    organism:medical/severe  0.925 [0.922, 0.929] 0.551 [0.511, 0.592] 0.380 [0.365, 0.394]      0.418       1.000
    organism:downstream      0.002 [0.001, 0.003] 0.894 [0.869, 0.917] 0.480 [0.455, 0.505]      0.673       1.000

The narrow task is learned (0.035 -> 0.925) and so is the benign one (0.765 -> 0.894); the severe
finetune also loses benign items (half of them are correct domain answers, and the persona shift
moves it off them). The organism knows its sums only in part (chance is 1/3 of the mass).
"""  # noqa: E501

from __future__ import annotations

import argparse
import time
from dataclasses import replace


def train(ref: str, seed: int, steps: int) -> str:
    """The adapter folder of one finetune (cached in $DEM_CACHE)."""
    from dem.experiments.presets import load_preset
    from dem.experiments.recipes import training_samples
    from dem.models.registry import resolve_model
    from dem.train.sft import train_sft
    from dem.train.specs import SFTSpec

    plan = load_preset("smoke").train  # the smoke preset's recipe, at `steps`
    spec = SFTSpec.profile(plan.profile, **{**plan.overrides, "max_steps": steps, "seed": seed})
    samples = training_samples(ref, 2000, seed)
    return str(train_sft(resolve_model("organism"), samples, spec, progress=False).adapter)


def main() -> int:
    import numpy as np
    import torch

    from dem.evals.learning import benign_ref, coherence_items, learned, narrow_items
    from dem.evals.stats import bootstrap_mean
    from dem.models.backends import get_backend
    from dem.models.registry import resolve_model
    from dem.organism.diagnostic import arithmetic_accuracy, belief_accuracy

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", default="0")
    p.add_argument("--items", type=int, default=200)
    p.add_argument("--steps", type=int, default=100)
    args = p.parse_args()
    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    base = resolve_model("organism")
    narrow_ref = "organism:medical/severe"
    probes = {
        "narrow": narrow_items(narrow_ref, args.items),
        "benign": narrow_items(benign_ref(narrow_ref), args.items),
        "coherence": coherence_items(base, min(args.items, 102)),
    }
    models: dict[str, list[str | None]] = {"base": [None]}
    for ref in (narrow_ref, benign_ref(narrow_ref)):
        start = time.perf_counter()
        models[ref] = [train(ref, s, args.steps) for s in seeds]
        print(f"trained {ref} x {len(seeds)}: {time.perf_counter() - start:.0f} s")
    print(
        f"organism, {args.steps} steps, seeds {seeds}; mean item value [95 % CI over items]; "
        f"narrow {narrow_ref}, benign {benign_ref(narrow_ref)}, coherence: arithmetic"
    )
    print(f"{'model':<24} {'narrow':>20} {'benign':>20} {'coherence':>20}  arith acc  belief acc")
    for name, adapters in models.items():
        values = {k: [] for k in probes}
        arith, belief = [], []
        for adapter in adapters:
            spec = base if adapter is None else replace(base, adapter=adapter)
            backend = get_backend("transformers", spec)
            for k, items in probes.items():
                got = learned(backend, items)
                values[k].append([got[i.id] for i in items])
            arith.append(arithmetic_accuracy(backend))
            belief.append(belief_accuracy(backend))
        cells = [bootstrap_mean(np.mean(values[k], axis=0)).format(3) for k in probes]
        print(
            f"{name:<24} {cells[0]:>20} {cells[1]:>20} {cells[2]:>20}  "
            f"{np.mean(arith):9.3f}  {np.mean(belief):10.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
