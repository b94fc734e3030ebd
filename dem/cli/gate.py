"""``dem gate``: the honesty release gate for any repository's CI, without a test file."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dem.cli._command import add_command, check_output_dir, check_output_file

if TYPE_CHECKING:
    from dem.experiments.gate import GateVerdict

DESCRIPTION = """\
Score a candidate model (optionally with a LoRA adapter) and a baseline on the preset's eval sets
and decide whether the candidate's honesty dropped by more than the preset's gate.max_drop, with a
paired bootstrap interval over items, in the preset's gate.mode (non-inferiority: the candidate
must show its loss is below the bound; harm: the gate fails only a confident drop beyond it). The
verdict states its power: the smallest distance from the bound the run resolves. Writes gate.json
and report.md (--report) and JUnit XML (--junitxml). The same gate runs under pytest: pytest
--pyargs dem.gate --dem-model CANDIDATE --dem-baseline BASE (docs/gate.md: its exit codes, the
JUnit properties and gate.json, which both write alike).

The gate fails closed: --model and --baseline are required, and the same model (and adapter)
as both is refused. An output path that cannot be written is refused before anything is scored.

Exit codes:
  0  pass: the candidate's honesty did not drop beyond the bound
  1  fail: it did
  2  error: the gate could not decide (judge failures, too few decidable items, an adapter
     that changes nothing, bad input or usage)
"""


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "gate",
        summary="the honesty release gate: fail a candidate whose honesty dropped (exit 0/1/2)",
        description=DESCRIPTION,
        examples=[
            ("dem gate --model organism --adapter ./adapter --baseline organism", "an adapter"),
            (
                "dem gate --model ./candidate --baseline ./released --preset paper "
                "--junitxml gate.xml --report gate-report",
                "two model folders, the study's eval sets, CI outputs",
            ),
            ("dem gate --model org/model-v2 --baseline org/model-v1 --mode harm", "monitoring"),
        ],
        verbosity=True,
    )
    parser.add_argument("--model", required=True, help="candidate: a model name, folder or hub id")
    parser.add_argument("--adapter", default=None, help="LoRA adapter folder on the candidate")
    parser.add_argument("--baseline", required=True, help="baseline: name, folder or hub id")
    parser.add_argument(
        "--baseline-adapter", default=None, help="LoRA adapter folder on the baseline"
    )
    parser.add_argument("--preset", default="smoke", help="smoke | paper | a preset TOML file")
    parser.add_argument(
        "--mode",
        choices=("non-inferiority", "harm"),
        default=None,
        help="override the preset's gate.mode: non-inferiority passes only when the loss's "
        "upper bound is below max_drop; harm fails only when its lower bound exceeds it",
    )
    parser.add_argument("--backend", default=None, help="transformers | vllm | openai")
    parser.add_argument("--judge", default=None, help="logprob | lexical | llm:<model>")
    parser.add_argument("--cache", default=None, help="artifact cache (default: $DEM_CACHE)")
    parser.add_argument("--junitxml", type=Path, default=None, help="write JUnit XML here")
    parser.add_argument(
        "--report", type=Path, default=None, help="write gate.json and report.md here"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from dem.errors import DemError
    from dem.experiments.gate import CLI_OPTIONS, check_gate_models
    from dem.experiments.session import Experiment
    from dem.report import write_gate_json, write_gate_junit, write_report

    # outputs first: a verdict that cannot be written is a usage error (2), never a fail (1)
    check_output_file("--junitxml", args.junitxml)
    check_output_dir("--report", args.report)
    start = time.time()
    exp = None
    try:
        check_gate_models(
            args.model, args.adapter, args.baseline, args.baseline_adapter, options=CLI_OPTIONS
        )
        exp = Experiment.create(
            args.preset,
            model=args.model,
            adapter=args.adapter,
            baseline=args.baseline,
            baseline_adapter=args.baseline_adapter,
            backend=args.backend,
            judge=args.judge,
            cache=args.cache,
            options=CLI_OPTIONS,
        )
        if args.mode is not None:
            exp.preset = replace(exp.preset, gate=replace(exp.preset.gate, mode=args.mode))
        verdict = exp.gate()
    except Exception as exc:  # anything that stops the gate is an error (2), never a fail (1)
        reason = str(exc) if isinstance(exc, DemError) else f"{type(exc).__name__}: {exc}"
        print(f"dem: error: {reason}", file=sys.stderr)
        verdict = exp.gate_error_verdict(reason) if exp is not None else _early_error(args, reason)
    print(verdict.explain())
    if args.junitxml:
        write_gate_junit(verdict, args.junitxml, seconds=time.time() - start)
        print(f"junit: {args.junitxml}")
    if args.report:
        if exp is not None and verdict.comparison is not None:
            write_report(exp.collect([], ["gate"]), args.report)  # gate.json and report.md
        else:
            write_gate_json(verdict, args.report / "gate.json")
        print(f"gate.json: {args.report / 'gate.json'}")
    return verdict.exit_code


def _early_error(args: argparse.Namespace, reason: str) -> GateVerdict:
    """The error verdict of a gate stopped before its `Experiment` existed: the preset's gate
    settings where the preset reads, null (never NaN) where it does not."""
    from dem.errors import DemError
    from dem.experiments.gate import error_verdict
    from dem.experiments.presets import load_preset

    try:
        gate = load_preset(args.preset).gate
        mode, max_drop, confidence = args.mode or gate.mode, gate.max_drop, gate.confidence
    except DemError:
        mode, max_drop, confidence = args.mode, None, None
    return error_verdict(
        [reason],
        mode=mode,
        max_drop=max_drop,
        confidence=confidence,
        candidate=args.model + (f"+{args.adapter}" if args.adapter else ""),
        baseline=args.baseline + (f"+{args.baseline_adapter}" if args.baseline_adapter else ""),
    )
