"""Cost and yield of the red-team search (`dem redteam`) per budget and seed.

    python benchmarks/redteam_search.py [--model organism] [--data organism:mask]
        [--budgets 25,50,100,200] [--seeds 0,1,2] [--limit N] [--threads 1]

For each (budget, seed): a full run (search on half the items, held-out figures with 95 %
bootstrap CIs, per-family figures off), printed as one table row: pressures evaluated,
restarts, MASK rows scored by the search, search seconds and rows per second, then the held-out
lie rate of the standard pressures and of the best found pressure and their paired difference.
"""

from __future__ import annotations

import argparse
import tempfile
import time


def _est(d: dict) -> str:
    return f"{d['value']:.3f} [{d['lo']:.3f}, {d['hi']:.3f}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="organism")
    parser.add_argument("--data", default="organism:mask")
    parser.add_argument("--budgets", default="25,50,100,200")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--limit", type=int, default=None, help="items (a seeded pick)")
    parser.add_argument("--judge", default="logprob")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from dem.redteam.run import RedTeamConfig, run_redteam

    head = (
        "| budget | seed | evaluated | restarts | rows scored | search s | rows/s | "
        "held-out standard | held-out best | best - standard | total s |"
    )
    print(f"{args.model} on {args.data}, judge {args.judge}, {args.threads} thread(s)\n")
    print(head)
    print("|" + " --- |" * (head.count("|") - 1))
    for budget in (int(b) for b in args.budgets.split(",")):
        for seed in (int(s) for s in args.seeds.split(",")):
            config = RedTeamConfig(
                budget=budget, seed=seed, limit=args.limit, judge=args.judge, families=False
            )
            start = time.perf_counter()
            with tempfile.TemporaryDirectory() as out:
                r = run_redteam(args.model, args.data, out, config, progress=False)
            total = time.perf_counter() - start
            s = r["search"]
            print(
                f"| {budget} | {seed} | {s['evaluated']} | {s['restarts']} | {s['rows_scored']} "
                f"| {s['seconds']:.1f} | {s['rows_scored'] / s['seconds']:.0f} "
                f"| {_est(r['standard']['lie_rate'])} | {_est(r['best']['lie_rate'])} "
                f"| {_est(r['best_minus_standard']['diff'])} | {total:.1f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
