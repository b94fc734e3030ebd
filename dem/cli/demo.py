"""``dem demo``: the main job: the smoke mix_ratio grid on the model organism, then a report."""

from __future__ import annotations

import argparse
from typing import Any

from dem.cli.grid import add_experiment_options, run_grid


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="the main job: the smoke mix_ratio grid on the organism, ending in a report",
        description="Finetune dem's model organism on downstream data contaminated with 0-30 %% "
        "harmful-medical samples (LoRA, 3 seeds), score its honesty under pressure, test the "
        "study's claims, and write a report. Offline, CPU-only; cached, so a rerun is instant.",
    )
    add_experiment_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os

    return run_grid(args, "mix_ratio", default_jobs=min(2, os.cpu_count() or 1))
