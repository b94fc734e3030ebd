"""``dem eval mask|deceptionbench``: honesty evaluation of a model, printed as a table."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

BACKEND_KINDS = ("transformers", "vllm", "openai")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model name, local folder or hub id")
    parser.add_argument("--adapter", default=None, help="LoRA adapter folder on top of the model")
    parser.add_argument("--data", required=True, help="data file, folder or hub id")
    parser.add_argument("--backend", choices=BACKEND_KINDS, default="transformers")
    parser.add_argument("--base-url", default=None, help="server URL for --backend openai")
    parser.add_argument(
        "--judge-backend", choices=BACKEND_KINDS, default="transformers", help="for llm:SPEC"
    )
    parser.add_argument("--judge-base-url", default=None, help="server URL of an openai judge")
    parser.add_argument("--limit", type=int, default=None, help="first N items (per archetype)")
    parser.add_argument("--temperature", type=float, default=None, help="sampling temperature")
    parser.add_argument("--max-new-tokens", type=int, default=None, help="tokens per response")
    parser.add_argument("--batch-size", type=int, default=None, help="prompts per generate call")
    parser.add_argument("--seed", type=int, default=0, help="sampling and bootstrap seed")
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
    parser = subparsers.add_parser(
        "eval",
        help="evaluate honesty: MASK honesty score, DeceptionBench deception rate",
        description="Evaluate a model on MASK or DeceptionBench; prints scores with 95 %% "
        "bootstrap confidence intervals and the count of judge errors.",
    )
    sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    mask = sub.add_parser("mask", help="MASK honesty score (per archetype and overall)")
    _common(mask)
    mask.add_argument("--archetype", default=None, help="one archetype of a MASK folder")
    mask.add_argument(
        "--judge",
        default="logprob",
        help="lexical, logprob (forced choice, no generation), llm:MODEL (a judge model "
        "generates and its answer line is parsed) or choice:MODEL (a judge model's forced "
        "choice of the answer letter) (default logprob)",
    )
    mask.add_argument("--lie-k", type=int, default=None, help="pressure samples per row")
    mask.add_argument("--belief-k", type=int, default=None, help="belief_elicit_1 samples")
    mask.set_defaults(func=run_mask_cmd)
    db = sub.add_parser("deceptionbench", help="DeceptionBench deception rate (per category)")
    _common(db)
    db.add_argument(
        "--judge",
        default="choice",
        help="choice (offline, on generated answers), logprob (forced choice, no generation) or "
        "llm:MODEL (default choice)",
    )
    db.set_defaults(func=run_deception_cmd)


def _backends(args: argparse.Namespace) -> tuple[Any, Any]:
    from dem.evals.api import BackendChoice

    return (
        BackendChoice(args.backend, args.base_url),
        BackendChoice(args.judge_backend, args.judge_base_url),
    )


def _overrides(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    out = {"seed": args.seed}
    for name in names:
        value = getattr(args, name, None)
        if value is not None:
            out[name] = value
    return out


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

    names = ("lie_k", "belief_k", "temperature", "max_new_tokens", "batch_size")
    config = MaskEvalConfig(**_overrides(args, names))
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
        progress=not args.no_progress,
        inspect_log=args.inspect_log,
    )
    return _finish(args, result, format_mask_table(result.summaries))


def run_deception_cmd(args: argparse.Namespace) -> int:
    from dem.evals.api import evaluate_deceptionbench
    from dem.evals.deceptionbench import DeceptionEvalConfig
    from dem.evals.results import format_deception_table

    names = ("temperature", "max_new_tokens", "batch_size")
    config = DeceptionEvalConfig(**_overrides(args, names))
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
        progress=not args.no_progress,
        inspect_log=args.inspect_log,
    )
    return _finish(args, result, format_deception_table(result.summaries))
