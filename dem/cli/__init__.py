"""The `dem` command. A thin front door: each subcommand group lives in its own module with a
``register(subparsers)`` function (built with `dem.cli._command.add_command`, so every command
has a summary, a description and examples) and calls into the library; no logic lives here."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from dem import __version__
from dem.cli._command import HelpFormatter, add_verbosity_flags, format_examples
from dem.errors import DemError
from dem.verbosity import set_verbosity

# Subcommand groups, in help order: module name under dem.cli.
GROUPS = (
    "demo",
    "data",
    "models",
    "train",
    "cache",
    "eval",
    "grid",
    "gate",
    "report",
    "organism",
    "interact",
    "redteam",
    "guard",
    "audit",
)


DESCRIPTION = """Emergent misalignment in dishonesty: runnable, gateable experiments.

Build and mix datasets, LoRA-finetune a model, evaluate its honesty (MASK, DeceptionBench), run
the study's experiment grids and test its claims. Everything runs offline on the CPU with dem's
model organism (--model organism) and is cached, so a rerun resumes where it stopped.

Run `dem COMMAND --help` for a command's options and examples."""

EXAMPLES = (
    ("dem demo", "the main job: the smoke mix-ratio grid on the organism, ending in a report"),
    ("dem -q grid mix_ratio --jobs 2", "the same grid in two worker processes, results only"),
    ("dem models", "the models --model accepts and whether each runs offline"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dem",
        description=DESCRIPTION,
        epilog=format_examples(EXAMPLES),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"dem {__version__}")
    add_verbosity_flags(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in GROUPS:
        try:
            module = importlib.import_module(f"dem.cli.{group}")
        except ModuleNotFoundError as exc:
            if exc.name != f"dem.cli.{group}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = set_verbosity(args.verbosity)
    try:
        return int(args.func(args) or 0)
    except DemError as exc:
        print(f"dem: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `dem data inspect FILE | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("dem: interrupted", file=sys.stderr)
        return 130
    finally:
        set_verbosity(previous)
