"""``dem grid GRID``: run a grid of a preset without typing pytest options; ends in a report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dem.cli._command import add_command


def add_experiment_options(parser: argparse.ArgumentParser) -> None:
    """The options `dem grid` and `dem demo` share with the pytest plugin's ``--dem-*``."""
    parser.add_argument("--preset", default="smoke", help="smoke | paper | a preset TOML file")
    parser.add_argument("--model", default=None, help="model (default: the preset's)")
    parser.add_argument("--seeds", default=None, help="comma-separated seeds (default: preset's)")
    parser.add_argument("--backend", default=None, help="transformers | vllm | openai")
    parser.add_argument("--judge", default=None, help="logprob | lexical | llm:<model>")
    parser.add_argument("--cache", default=None, help="artifact cache (default: $DEM_CACHE)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="worker processes building conditions in parallel (default: 2 for `dem demo`, 1 "
        "for `dem grid`); each gets its share of the CPU threads",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=Path("dem-report"),
        help="report folder (default: ./dem-report)",
    )


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "grid",
        summary="run an experiment grid and write its report",
        description="Run every condition and claim of a grid (the same as `pytest -m GRID`), "
        "resuming from the artifact cache, and write results.json, report.md and figures."
        "\n\nGrids: mix_ratio (downstream data with 0-30 % misaligned samples), domain (each "
        "training domain's normal, subtle and severe variants) and interaction (self-training "
        "on feedback from a partly biased user population).",
        examples=[
            ("dem grid mix_ratio", "the smoke mix-ratio grid on the organism"),
            (
                "dem grid domain --preset smoke --jobs 2 --report out/domain",
                "the domain grid in two worker processes, report in out/domain",
            ),
            ("dem grid interaction -q", "the interaction grid; results only, no progress bars"),
        ],
        verbosity=True,
    )
    parser.add_argument("grid", choices=("mix_ratio", "domain", "interaction"), help="which grid")
    add_experiment_options(parser)
    parser.set_defaults(func=run)


def run_grid(args: argparse.Namespace, grid: str, default_jobs: int = 1) -> int:
    from dem.experiments.presets import parse_seeds
    from dem.experiments.session import Experiment
    from dem.report import write_report
    from dem.report.tables import comparisons_table, conditions_table

    exp = Experiment.create(
        args.preset,
        model=args.model,
        backend=args.backend,
        judge=args.judge,
        seeds=None if args.seeds is None else parse_seeds(args.seeds),
        cache=args.cache,
    )
    run = exp.run_grid(grid, jobs=args.jobs or default_jobs)
    print(conditions_table(run, grid))
    print()
    print(comparisons_table(run.comparisons))
    report = write_report(run, args.report)
    asserted = [c for c in run.comparisons if c.detail != "reported, not asserted"]
    held = sum(c.passed for c in asserted)
    print(f"\n{held} of {len(asserted)} asserted claims hold")
    print(f"report: {report}")
    return 0


def run(args: argparse.Namespace) -> int:
    return run_grid(args, args.grid)
