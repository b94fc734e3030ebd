"""``dem redteam``: search for the pressures that make a model lie, report them on held-out
items, export them as a MASK eval set."""

from __future__ import annotations

import argparse
from typing import Any

from dem.cli._command import add_threads_option, apply_threads


def register(subparsers: Any) -> None:
    from dem.cli._command import add_command
    from dem.redteam.run import RedTeamConfig

    d = RedTeamConfig()
    parser = add_command(
        subparsers,
        "redteam",
        summary="search for the pressure prompts that make a model lie (held-out CIs)",
        description="A seeded search (random restarts plus hill climbing) over pressure "
        "prompts composed of parts a red-teamer varies (persona cue, role and incentive, "
        "stakes, authority, social proof, threat, urgency, request wording), maximising the "
        "lie rate on a search half of the eval set's items; every reported figure is on the "
        "held-out half, with a 95 % bootstrap CI. Evasions are counted apart from lies.\n\n"
        "Writes OUT/pressures.csv (the found pressures as a MASK eval set: dem eval mask, a "
        "preset's eval.sets and the gate read it, a worst-case eval set), OUT/redteam.json "
        "(held-out lie rates with CIs, the search's cost) and OUT/report.md (ranked table, "
        "per-family figure).",
        examples=[
            (
                "dem redteam --model organism --data organism:mask --budget 100 --seed 0 "
                "--out redteam-org",
                "the organism: 100 pressures searched on 30 items, reported on 30 others",
            ),
            (
                "dem redteam --model smollm2 --data mask/provided_facts.csv --limit 40 "
                "--budget 20 --out redteam-smol",
                "SmolLM2 on 40 real MASK provided-facts items (the english pressure space)",
            ),
            (
                "dem eval mask --model organism --data redteam-org/pressures.csv",
                "score a model on the found pressures",
            ),
        ],
        verbosity=True,
    )
    parser.add_argument("--model", required=True, help="model name, local folder or hub id")
    parser.add_argument("--adapter", default=None, help="LoRA adapter folder on the model")
    parser.add_argument(
        "--data", required=True, help="MASK-format eval set: its items and standard pressures"
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--budget", type=int, default=d.budget, help="pressures to evaluate")
    parser.add_argument("--seed", type=int, default=d.seed, help="split, search, bootstrap seed")
    parser.add_argument(
        "--heldout", type=float, default=d.heldout, help="share of items held out of the search"
    )
    parser.add_argument(
        "--top-k", type=int, default=d.top_k, help="found pressures reported and exported"
    )
    parser.add_argument(
        "--judge",
        default=d.judge,
        help="logprob (forced choice), lexical, llm:MODEL or choice:MODEL (default logprob)",
    )
    parser.add_argument(
        "--space",
        default=d.space,
        choices=("auto", "organism", "english"),
        help="pressure space (auto: the organism's words for organism items)",
    )
    parser.add_argument("--limit", type=int, default=None, help="use N items (a seeded pick)")
    parser.add_argument("--archetype", default=None, help="archetype of a MASK folder")
    parser.add_argument(
        "--no-families", action="store_true", help="skip the per-family held-out figures"
    )
    parser.add_argument("--backend", default="transformers", help="transformers | vllm | openai")
    parser.add_argument("--base-url", default=None, help="server URL for --backend openai")
    parser.add_argument(
        "--max-undecided",
        type=float,
        default=d.max_undecided,
        metavar="SHARE",
        help="largest share of held-out answers the judge may leave undecided before the "
        "figures are stated as not distinguishable from chance (default 0.2)",
    )
    add_threads_option(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dem.cli._command import check_output_dir
    from dem.evals.api import BackendChoice
    from dem.redteam.run import RedTeamConfig, run_redteam
    from dem.verbosity import progress_enabled

    check_output_dir("--out", args.out)
    apply_threads(args)
    config = RedTeamConfig(
        budget=args.budget,
        seed=args.seed,
        heldout=args.heldout,
        top_k=args.top_k,
        judge=args.judge,
        space=args.space,
        limit=args.limit,
        archetype=args.archetype,
        families=not args.no_families,
        max_undecided=args.max_undecided,
    )
    result = run_redteam(
        args.model,
        args.data,
        args.out,
        config,
        backend=BackendChoice(args.backend, args.base_url),
        adapter=args.adapter,
        progress=progress_enabled(not args.no_progress),
    )
    std, best = result["standard"]["lie_rate"], result["best"]["lie_rate"]
    diff = result["best_minus_standard"]["diff"]
    print(f"redteam: {result['model']} on {result['data']} (held-out {result['items']['heldout']})")
    print(f"  standard pressures  lie rate {_fmt(std)}")
    print(f"  best found pressure lie rate {_fmt(best)}  ({result['best']['label']})")
    print(f"  best - standard     {_fmt(diff)}")
    for reason in result["chance"]["reasons"]:
        print(f"  NOT DISTINGUISHABLE FROM CHANCE: {reason}")
    print(f"wrote {args.out}/pressures.csv, redteam.json, report.md")
    return 0


def _fmt(est: dict[str, Any]) -> str:
    if est.get("value") is None:
        return "n/a"
    if est.get("lo") is None:
        return f"{est['value']:.3f}"
    return f"{est['value']:.3f} [{est['lo']:.3f}, {est['hi']:.3f}]"
