"""``dem grid GRID``: run a grid of a preset without typing pytest options; ends in a report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dem.cli._command import add_command, check_output_dir
from dem.executors import EXECUTORS


def add_experiment_options(parser: argparse.ArgumentParser) -> None:
    """The options `dem grid` and `dem demo` share with the pytest plugin's ``--dem-*``."""
    parser.add_argument("--preset", default="smoke", help="smoke | paper | a preset TOML file")
    parser.add_argument("--model", default=None, help="model (default: the preset's)")
    parser.add_argument("--seeds", default=None, help="comma-separated seeds (default: preset's)")
    parser.add_argument("--backend", default=None, help="transformers | vllm | openai")
    parser.add_argument("--judge", default=None, help="logprob | lexical | llm:<model>")
    parser.add_argument("--cache", default=None, help="artifact cache (default: $DEM_CACHE)")
    parser.add_argument(
        "--executor",
        default="local",
        choices=tuple(EXECUTORS),
        help="where conditions run: "
        + "; ".join(f"{name}: {info.help}" for name, info in EXECUTORS.items()),
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="at most this many conditions at once (local: worker processes, default 2 for "
        "`dem demo` and 1 for `dem grid`, each with its share of the CPU threads and its own "
        "GPU; ray, slurm: default as many as the cluster fits)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=3,
        help="ray, slurm: runs again of a condition lost with its worker or node (default 3)",
    )
    parser.add_argument(
        "--pack",
        type=int,
        default=None,
        help="LoRA adapters trained together in one pack on one copy of the base model, each "
        "the adapter it would be alone, then scored together in shared batches (1: one at a "
        "time; default: 1 on a CPU, where packing saves nothing; on a GPU what memory fits, "
        "split between the workers; docs/training.md)",
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
        "on feedback from a partly biased user population), mitigation (defences against emergent "
        "dishonesty, each against the unmitigated finetune and the base, with what each costs "
        "in narrow and benign learning and coherence; docs/mitigation.md).",
        examples=[
            ("dem grid mix_ratio", "the smoke mix-ratio grid on the organism"),
            (
                "dem grid domain --preset smoke --jobs 2 --report out/domain",
                "the domain grid in two worker processes, report in out/domain",
            ),
            ("dem grid interaction -q", "the interaction grid; results only, no progress bars"),
            ("dem grid mitigation --report out/mit", "every defence on the organism, smoke sizes"),
            (
                "dem grid mix_ratio --preset paper --executor ray --report out/mix",
                "each condition a Ray task on the cluster at RAY_ADDRESS (docs/cluster.md)",
            ),
            (
                "dem grid domain --preset paper --executor slurm --jobs 8",
                "one Slurm job array, at most 8 conditions at once",
            ),
        ],
        verbosity=True,
    )
    parser.add_argument(
        "grid", choices=("mix_ratio", "domain", "interaction", "mitigation"), help="which grid"
    )
    add_experiment_options(parser)
    parser.set_defaults(func=run)


def run_grid(args: argparse.Namespace, grid: str, default_jobs: int = 1) -> int:
    from dem.executors import get_executor
    from dem.executors.task import summarize, write_outcomes
    from dem.experiments.presets import parse_seeds
    from dem.experiments.session import Experiment
    from dem.report import write_report
    from dem.report.results import REPORTED
    from dem.report.tables import comparisons_table, conditions_table, mitigation_table

    check_output_dir("--report", args.report)
    exp = Experiment.create(
        args.preset,
        model=args.model,
        backend=args.backend,
        judge=args.judge,
        seeds=None if args.seeds is None else parse_seeds(args.seeds),
        cache=args.cache,
        pack=args.pack,
    )
    local = args.executor == "local"
    jobs = args.jobs if args.jobs is not None else (default_jobs if local else None)
    log_dir = args.report / "slurm"
    executor = get_executor(
        args.executor, jobs=jobs, retries=args.retries, log_dir=log_dir, field="--executor"
    )
    run = exp.run_grid(grid, executor=None if local and jobs == 1 else executor)
    print(conditions_table(run, grid))
    print()
    print(comparisons_table(run.comparisons))
    if grid == "mitigation" and (table := mitigation_table(run)) is not None:
        print(f"\n{table}")
    report = write_report(run, args.report)
    if exp.outcomes:
        write_outcomes(exp.outcomes, args.report / "tasks.json")
        print(f"\n{summarize(args.executor, exp.outcomes)}")
    asserted = [c for c in run.comparisons if c.detail != REPORTED]
    held = sum(c.passed for c in asserted)
    print(f"\n{held} of {len(asserted)} asserted claims hold")
    print(f"report: {report}")
    return 0


def run(args: argparse.Namespace) -> int:
    return run_grid(args, args.grid)
