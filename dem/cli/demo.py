"""``dem demo``: the main job: the smoke mix_ratio grid on the model organism, then a report."""

from __future__ import annotations

import argparse
from typing import Any

from dem.cli._command import add_command
from dem.cli.grid import add_experiment_options, run_grid


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "demo",
        summary="the main job: the smoke mix_ratio grid on the organism, ending in a report",
        description="Finetune dem's model organism on downstream data contaminated with 0-30 % "
        "harmful-medical samples (LoRA, 3 seeds), score its honesty under pressure, test the "
        "study's claims, and write a report. Offline, CPU-only; cached, so a rerun is instant."
        "\n\nThe same as `dem grid mix_ratio --jobs 2`.",
        examples=[
            ("dem demo", "run it (about 2 minutes on 2 CPU cores), report in ./dem-report"),
            ("dem demo -q --report out/", "results only, report in out/"),
            ("dem demo --seeds 0,1,2,3,4 --jobs 4", "five seeds, four worker processes"),
        ],
        verbosity=True,
    )
    add_experiment_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os

    return run_grid(args, "mix_ratio", default_jobs=min(2, os.cpu_count() or 1))
