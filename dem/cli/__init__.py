"""The `dem` command. A thin front door: each subcommand group lives in its own module with a
``register(subparsers)`` function and calls into the library; no logic lives here."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from dem import __version__
from dem.errors import DemError

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
    "audit",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dem", description="Emergent misalignment in dishonesty: runnable experiments."
    )
    parser.add_argument("--version", action="version", version=f"dem {__version__}")
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
