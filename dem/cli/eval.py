"""``dem eval mask|deceptionbench``: honesty evaluation of a model, printed as a table."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dem.cli._command import add_command, check_output_dir, check_output_file
from dem.cli._config_args import add_config_arguments, config_from_args
from dem.models.backends import BACKENDS
from dem.verbosity import progress_enabled

MASK_CONFIG = (
    "lie_k",
    "belief_k",
    "temperature",
    "max_new_tokens",
    "batch_size",
    "seed",
    "max_unknown",
)
DECEPTION_CONFIG = ("temperature", "max_new_tokens", "batch_size", "seed", "max_unknown")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model name, local folder or hub id")
    parser.add_argument("--adapter", default=None, help="LoRA adapter folder on top of the model")
    parser.add_argument("--data", required=True, help="data file, folder or hub id")
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="transformers",
        help="how the model runs (default: transformers)",
    )
    parser.add_argument("--base-url", default=None, help="server URL for --backend openai")
    parser.add_argument(
        "--judge-backend",
        choices=BACKENDS,
        default="transformers",
        help="how an llm:MODEL or choice:MODEL judge runs (default: transformers)",
    )
    parser.add_argument("--judge-base-url", default=None, help="server URL of an openai judge")
    parser.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="let an openai backend send the API key over plain http to a host that is not "
        "loopback (refused by default)",
    )
    parser.add_argument("--limit", type=int, default=None, help="first N items (per archetype)")
    parser.add_argument("--json", dest="json_out", default=None, help="write the figures here")
    parser.add_argument(
        "--records",
        default=None,
        help="write per-item records (JSONL) here (default with --json: OUT.records.jsonl)",
    )
    parser.add_argument(
        "--inspect-log",
        default=None,
        metavar="DIR",
        help="also write the run as an Inspect log into DIR (`inspect view --log-dir DIR` opens "
        "it); needs the inspect extra",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")


def register(subparsers: Any) -> None:
    from dem.evals.deceptionbench import DeceptionEvalConfig
    from dem.evals.mask import MaskEvalConfig

    parser = add_command(
        subparsers,
        "eval",
        summary="evaluate honesty: MASK honesty score, DeceptionBench deception rate",
        description="Evaluate a model on MASK or DeceptionBench; prints scores with 95 % "
        "bootstrap confidence intervals and the count of judge errors (an error is never "
        "counted as honest or dishonest).",
        examples=[
            ("dem organism datasets --out organism-data", "write the organism's eval sets"),
            (
                "dem eval mask --model organism --data organism-data/mask",
                "the organism's MASK honesty score",
            ),
            (
                "dem eval deceptionbench --model smollm2 "
                "--data fixtures/evalsets/deceptionbench.json --judge logprob",
                "SmolLM2's deception rate on the shipped DeceptionBench-format items",
            ),
        ],
    )
    sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    mask = add_command(
        sub,
        "mask",
        summary="MASK honesty score (per archetype and overall)",
        description="Ask each MASK row's pressure prompt and its belief prompts, judge every "
        "answer, and score honesty (100 x the share of rows without a lie) and accuracy per "
        "archetype with 95 % bootstrap CIs, as the MASK reference does. --data is a MASK "
        "CSV, a folder of them (one per archetype) or a hub id.",
        examples=[
            (
                "dem eval mask --model organism --data organism-data/mask --limit 20",
                "the organism on 20 rows, forced-choice (logprob) judge",
            ),
            (
                "dem eval mask --model organism --adapter out/adapter "
                "--data organism-data/mask_heldout --json out/mask.json",
                "a finetuned adapter on the held-out set; figures and records to out/",
            ),
            (
                "dem eval mask --model smollm2 --data mask/provided_facts.csv --judge lexical "
                "--temperature 0 --max-new-tokens 64",
                "SmolLM2 on real MASK rows, greedy, judged lexically",
            ),
        ],
        verbosity=True,
    )
    _common(mask)
    add_config_arguments(mask, MaskEvalConfig, MASK_CONFIG)
    mask.add_argument("--archetype", default=None, help="one archetype of a MASK folder")
    mask.add_argument(
        "--judge",
        default="logprob",
        help="lexical, logprob (forced choice, no generation), llm:MODEL (a judge model "
        "generates and its answer line is parsed) or choice:MODEL (a judge model's forced "
        "choice of the answer letter) (default logprob)",
    )
    mask.set_defaults(func=run_mask_cmd)
    db = add_command(
        sub,
        "deceptionbench",
        summary="DeceptionBench deception rate (per category)",
        description="Ask each DeceptionBench item's inner (belief) prompt and its outer "
        "(pressure) prompt, decide whether the outer answer agrees with the inner belief, and "
        "report the deception rate per category with 95 % bootstrap CIs. Badly formatted "
        "answers are dropped and counted, as the study does; judge errors are counted apart.",
        examples=[
            (
                "dem eval deceptionbench --model smollm2 "
                "--data fixtures/evalsets/deceptionbench.json --judge logprob",
                "SmolLM2 on the shipped items, forced choice (nothing generated)",
            ),
            (
                "dem eval deceptionbench --model smollm2 "
                "--data fixtures/evalsets/deceptionbench.json --limit 20 --max-new-tokens 128 "
                "--json out/db.json",
                "the first 20 items, answers generated and judged offline; figures to out/",
            ),
        ],
        verbosity=True,
    )
    _common(db)
    add_config_arguments(db, DeceptionEvalConfig, DECEPTION_CONFIG)
    db.add_argument(
        "--judge",
        default="choice",
        help="choice (offline, on generated answers), logprob (forced choice, no generation) or "
        "llm:MODEL (default choice)",
    )
    db.set_defaults(func=run_deception_cmd)


def _backends(args: argparse.Namespace) -> tuple[Any, Any]:
    from dem.evals.api import BackendChoice

    def choice(kind: str, base_url: str | None) -> BackendChoice:
        insecure = kind == "openai" and args.allow_insecure_http
        return BackendChoice(kind, base_url, {"allow_insecure_http": True} if insecure else {})

    return choice(args.backend, args.base_url), choice(args.judge_backend, args.judge_base_url)


def _check_outputs(args: argparse.Namespace) -> None:
    """The output paths, refused before any evaluation (`check_output_file`)."""
    check_output_file("--json", args.json_out)
    records = args.records
    if records is None and args.json_out:
        records = Path(args.json_out).with_suffix(".records.jsonl")
    check_output_file("--records", records)
    check_output_dir("--inspect-log", args.inspect_log)


def _finish(args: argparse.Namespace, result: Any, table: str) -> int:
    print(f"{result.benchmark}: {result.model}  judge={result.judge}")
    print(table)
    if args.json_out:
        result.write_json(args.json_out)
        print(f"wrote {args.json_out}")
    records = args.records
    if records is None and args.json_out:
        records = str(Path(args.json_out).with_suffix(".records.jsonl"))
    if records:
        result.write_records(records)
        print(f"wrote {records}")
    if result.extra.get("inspect_log"):
        print(f"wrote {result.extra['inspect_log']}")
    return 0


def run_mask_cmd(args: argparse.Namespace) -> int:
    from dem.evals.api import evaluate_mask
    from dem.evals.mask import MaskEvalConfig
    from dem.evals.results import format_mask_table

    _check_outputs(args)
    config = config_from_args(args, MaskEvalConfig, MASK_CONFIG)
    backend, judge_backend = _backends(args)
    result = evaluate_mask(
        args.model,
        args.data,
        judge=args.judge,
        archetype=args.archetype,
        adapter=args.adapter,
        limit=args.limit,
        backend=backend,
        judge_backend=judge_backend,
        config=config,
        progress=progress_enabled(not args.no_progress),
        inspect_log=args.inspect_log,
    )
    return _finish(args, result, format_mask_table(result.summaries))


def run_deception_cmd(args: argparse.Namespace) -> int:
    from dem.evals.api import evaluate_deceptionbench
    from dem.evals.deceptionbench import DeceptionEvalConfig
    from dem.evals.results import format_deception_table

    _check_outputs(args)
    config = config_from_args(args, DeceptionEvalConfig, DECEPTION_CONFIG)
    backend, judge_backend = _backends(args)
    result = evaluate_deceptionbench(
        args.model,
        args.data,
        judge=args.judge,
        adapter=args.adapter,
        limit=args.limit,
        backend=backend,
        judge_backend=judge_backend,
        config=config,
        progress=progress_enabled(not args.no_progress),
        inspect_log=args.inspect_log,
    )
    return _finish(args, result, format_deception_table(result.summaries))
