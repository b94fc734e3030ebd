"""The `dem` command. A thin front door: each subcommand group lives in its own module with a
``register(subparsers)`` function (built with `dem.cli._command.add_command`, so every command
has a summary, a description and examples) and calls into the library; no logic lives here."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

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
    parser.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="let the hub models and folders you name run the Python code they ship "
        "(transformers' trust_remote_code; sets DEM_TRUST_REMOTE_CODE=1 for the worker "
        "processes too). Never read from a file in the cache.",
    )
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


class ClosedPipeGuard:
    """``sys.stdout`` while a command runs: once the reader closes the pipe (``dem data
    provenance F | head -3``), stdout goes to /dev/null (as the Python docs recommend for
    SIGPIPE) and the command runs to its end, so its exit code is the real one, not 0 or a
    shutdown error. Everything else is the wrapped stream's."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.closed_by_reader = False

    def write(self, text: str) -> int:
        if not self.closed_by_reader:
            try:
                return self.stream.write(text)
            except BrokenPipeError:
                self._to_devnull()
        return len(text)

    def flush(self) -> None:
        if not self.closed_by_reader:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._to_devnull()

    def _to_devnull(self) -> None:
        self.closed_by_reader = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())  # the final flush at exit goes nowhere
            os.close(devnull)
        except (OSError, ValueError):  # a stream without a file descriptor
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def main(argv: Sequence[str] | None = None) -> int:
    stdout = sys.stdout
    sys.stdout = guard = ClosedPipeGuard(stdout)
    try:
        return _run(argv)
    finally:
        guard.flush()  # what is still buffered, while a closed pipe is still handled
        if sys.stdout is guard:
            sys.stdout = stdout


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from dem.models.registry import TRUST_REMOTE_CODE_ENV

    trusted = os.environ.get(TRUST_REMOTE_CODE_ENV)
    if args.trust_remote_code:
        os.environ[TRUST_REMOTE_CODE_ENV] = "1"
    previous = set_verbosity(args.verbosity)
    try:
        return int(args.func(args) or 0)
    except DemError as exc:
        print(f"dem: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dem: interrupted", file=sys.stderr)
        return 130
    finally:
        set_verbosity(previous)
        if trusted is None:
            os.environ.pop(TRUST_REMOTE_CODE_ENV, None)
        else:
            os.environ[TRUST_REMOTE_CODE_ENV] = trusted
