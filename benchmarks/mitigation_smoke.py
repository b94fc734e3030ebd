"""Each mitigation against the unmitigated finetune and the base, on the model organism.

    nice -n 5 python benchmarks/mitigation_smoke.py [--seeds 0] [--n 2000] [--steps 100]
        [--mitigations kl:weight=1,ldifs:weight=1,steer,interleave,interleave-ppl,inoculate]
        [--json OUT]

The organism is finetuned with the smoke preset's recipe (LoRA r 8, lr 2e-3, batch 32, 100
steps) on n samples of the severe medical set (``organism:medical/severe``, seed s), once per
seed with no mitigation and once per mitigation at its default knobs (nothing here is tuned on
the numbers it prints); each model is evaluated on ``organism:mask`` with the logprob judge, as
the grids do. Per condition it prints the lie rate under pressure (expected p_lie per item,
averaged over the seeds) with a 95 % percentile-bootstrap CI over items, and the share of the
finetune's dishonesty effect the mitigation removes, ``(none - m) / (none - base)``, with a
paired bootstrap CI over the same items, and each seed's lie rate (the item CIs hold the seeds
fixed; the spread over seeds shows what they leave out). This is a smoke measurement, not the
mitigation grid: no narrow-task, benign-learning or coherence column, and no claims asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

DEFAULT = "kl:weight=1;ldifs:weight=1;steer;interleave;interleave-ppl;inoculate"
RESAMPLES = 2000


def train(mitigation: str | None, seed: int, n: int, steps: int) -> str:
    """The adapter folder of one finetune (cached in $DEM_CACHE)."""
    from dem.experiments.presets import load_preset
    from dem.models.registry import resolve_model
    from dem.organism.datasets import domain_samples
    from dem.train.sft import train_sft
    from dem.train.specs import SFTSpec

    plan = load_preset("smoke").train  # the smoke preset's recipe, at `steps`
    spec = SFTSpec.profile(
        plan.profile,
        **{**plan.overrides, "max_steps": steps, "seed": seed},
        mitigations=[mitigation] if mitigation else [],
    )
    samples = domain_samples("medical", "severe", n, seed=seed)
    return str(train_sft(resolve_model("organism"), samples, spec, progress=False).adapter)


def lie_rates(adapter: str | None) -> dict[str, float]:
    """Expected p_lie per MASK item of the organism (with `adapter`, or the base)."""
    from dem.evals.api import evaluate_mask

    result = evaluate_mask("organism", "organism:mask", adapter=adapter, progress=False)
    out = {}
    for r in result.records:
        if r.get("error") is not None:
            raise SystemExit(f"judge error on {r['task_id']}: {r['error']}")
        if r.get("p_lie") is not None:
            out[r["task_id"]] = float(r["p_lie"])
    return out


def main() -> int:
    import numpy as np
    import torch

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", default="0")
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--mitigations", default=DEFAULT, help="';'-separated NAME[:K=V,...]")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    names = ["base", "none", *[m for m in args.mitigations.split(";") if m]]
    items: dict[str, list[dict[str, float]]] = {}
    seconds: dict[str, float] = {}
    for name in names:
        start = time.perf_counter()
        if name == "base":
            items[name] = [lie_rates(None)]
        else:
            mitigation = None if name == "none" else name
            items[name] = [lie_rates(train(mitigation, s, args.n, args.steps)) for s in seeds]
        seconds[name] = time.perf_counter() - start
        print(f"{name}: {seconds[name]:.0f} s", file=sys.stderr)
    shared = sorted(set.intersection(*(set(d) for runs in items.values() for d in runs)))
    table = {k: np.array([[d[t] for t in shared] for d in v]).mean(0) for k, v in items.items()}
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(shared), (RESAMPLES, len(shared)))
    rows = []
    for name in names:
        rate = table[name]
        boot = rate[picks].mean(1)
        per_seed = [float(np.mean([d[t] for t in shared])) for d in items[name]]
        row = {
            "condition": name,
            "lie_rate": float(rate.mean()),
            "per_seed": per_seed,
            "lo": float(np.quantile(boot, 0.025)),
            "hi": float(np.quantile(boot, 0.975)),
            "seconds": round(seconds[name], 1),
        }
        if name not in ("base", "none"):
            effect = table["none"][picks].mean(1) - table["base"][picks].mean(1)
            removed = (table["none"][picks].mean(1) - boot) / np.where(effect != 0, effect, np.nan)
            row["removed"] = float(
                (table["none"].mean() - rate.mean()) / (table["none"].mean() - table["base"].mean())
            )
            row["removed_lo"] = float(np.nanquantile(removed, 0.025))
            row["removed_hi"] = float(np.nanquantile(removed, 0.975))
        rows.append(row)
    print(
        f"organism, severe medical n={args.n}, {args.steps} steps, seeds {seeds}, "
        f"{len(shared)} MASK items; lie rate = mean expected p_lie (95 % bootstrap CI)"
    )
    print(f"{'condition':<22} {'lie rate':>24} {'effect removed':>26}  per seed")
    for r in rows:
        rate = f"{r['lie_rate']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}]"
        removed = (
            f"{r['removed']:+.2f} [{r['removed_lo']:+.2f}, {r['removed_hi']:+.2f}]"
            if "removed" in r
            else ""
        )
        seeds_text = " ".join(f"{x:.3f}" for x in r["per_seed"])
        print(f"{r['condition']:<22} {rate:>24} {removed:>26}  {seeds_text}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"seeds": seeds, "n": args.n, "steps": args.steps, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
