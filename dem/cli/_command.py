"""`add_command`: a ``dem`` subcommand with its one-line summary, description and examples.

Every command's ``--help`` reads the same way: what it does, its options, then examples a user
can paste. A command group's ``register(subparsers)`` does::

    parser = add_command(
        subparsers,
        "report",
        summary="rebuild a report from its results.json",
        description="Read DIR/results.json and write report.md and the figures again.",
        examples=[("dem report dem-report", "rebuild ./dem-report")],
    )
    parser.add_argument("path", type=Path, help="report folder or results.json")
    parser.set_defaults(func=run)

and, for a command that shows progress, ``verbosity=True`` (``-q``/``-v`` after its name).
"""

from __future__ import annotations

import argparse
import os
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dem.errors import ConfigError
from dem.verbosity import NORMAL, QUIET, VERBOSE

NBSP = "\u00a0"

# (command, what it does): one example of a ``--help`` epilog.
Example = tuple[str, str]


def add_command(
    subparsers: Any,
    name: str,
    *,
    summary: str,
    description: str,
    examples: Sequence[Example],
    verbosity: bool = False,
) -> argparse.ArgumentParser:
    """Add subcommand `name` to an ``add_subparsers()`` action and return its parser.

    `summary` is the line in the parent's command list; `description` the paragraphs at the top
    of its ``--help`` (filled to the terminal; write ``%``, not ``%%``); `examples` end it. With
    `verbosity`, the command takes ``-q``/``-v`` after its name as well as before it.
    """
    if not examples:
        raise ValueError(f"command {name!r} needs at least one example")
    parser = subparsers.add_parser(
        name,
        help=summary,
        description=description,
        epilog=format_examples(examples),
        formatter_class=HelpFormatter,
    )
    if verbosity:
        add_verbosity_flags(parser, default=argparse.SUPPRESS)
    return parser


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions filled to the terminal paragraph by paragraph; indented blocks (the
    examples) kept line for line. A number and its unit (``95 %``) stay on one line."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = []
        for paragraph in text.strip("\n").split("\n\n"):
            if any(line[:1].isspace() for line in paragraph.splitlines()):
                paragraphs.append(textwrap.indent(paragraph, indent))
                continue
            joined = " ".join(paragraph.split()).replace(" %", NBSP + "%")
            filled = textwrap.fill(
                joined,
                width,
                initial_indent=indent,
                subsequent_indent=indent,
                break_on_hyphens=False,
            )
            paragraphs.append(filled.replace(NBSP, " "))
        return "\n\n".join(paragraphs)


def format_examples(examples: Sequence[Example]) -> str:
    """An ``examples:`` block: each command under a ``#`` comment saying what it does."""
    lines = ["examples:"]
    for command, what in examples:
        if not command.startswith("dem "):
            raise ValueError(f"an example starts with 'dem ': {command!r}")
        lines += [f"  # {what}", f"  {command}", ""]
    return "\n".join(lines).rstrip()


def add_verbosity_flags(parser: argparse.ArgumentParser, *, default: Any = NORMAL) -> None:
    """``-q``/``--quiet`` and ``-v``/``--verbose``, stored as ``args.verbosity``.

    The top-level parser passes the default (`NORMAL`); a subcommand passes
    ``argparse.SUPPRESS`` so that ``dem -q grid ...`` is not reset by the subcommand's default.
    """
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-q",
        "--quiet",
        dest="verbosity",
        action="store_const",
        const=QUIET,
        default=default,
        help="print results only: no progress bars or info lines",
    )
    group.add_argument(
        "-v",
        "--verbose",
        dest="verbosity",
        action="store_const",
        const=VERBOSE,
        default=default,
        help="also show the libraries' own output: the per-load progress bars, logs and "
        "notices that dem silences inside its model loads",
    )


def add_threads_option(parser: argparse.ArgumentParser) -> None:
    """``--threads N``: torch's CPU threads for this command (0: torch's default)."""
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")


def apply_threads(args: argparse.Namespace) -> None:
    """Set torch's CPU threads from ``--threads`` (`add_threads_option`) when it is given."""
    if getattr(args, "threads", 0):
        import torch

        torch.set_num_threads(args.threads)


def check_output_file(option: str, path: str | Path | None) -> None:
    """Refuse at once a file a command will write (``--json``, ``--junitxml``, ``--out``):
    an existing folder, a path under an existing file, or a folder dem cannot write into is a
    `ConfigError` naming `option` (exit 2), before any work starts. None: nothing to check."""
    if path is None:
        return
    target = Path(path).expanduser()
    if target.is_dir():
        raise ConfigError(option, f"{target} is a folder; name a file")
    _check_parents(option, target)


def check_output_dir(option: str, path: str | Path | None) -> None:
    """Refuse at once a folder a command will write into (``--out``, ``--report``): an
    existing file, a path under an existing file, or a folder dem cannot write into is a
    `ConfigError` naming `option` (exit 2), before any work starts. None: nothing to check."""
    if path is None:
        return
    target = Path(path).expanduser()
    if target.exists() and not target.is_dir():
        raise ConfigError(option, f"{target} exists and is not a folder")
    if target.is_dir():
        _check_writable(option, target)
    else:
        _check_parents(option, target)


def _check_parents(option: str, target: Path) -> None:
    """The nearest existing ancestor of `target` is a folder dem can write into."""
    for parent in target.absolute().parents:
        if parent.is_dir():
            _check_writable(option, parent)
            return
        if parent.exists() or parent.is_symlink():
            raise ConfigError(option, f"{target}: {parent} is not a folder")


def _check_writable(option: str, folder: Path) -> None:
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(option, f"cannot write into {folder} (permission denied)")
