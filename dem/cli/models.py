"""``dem models``: the built-in and configured models, and whether each is usable offline."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dem.cli._command import add_command


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "models",
        summary="list the built-in and configured models and whether each is available offline",
        description="List the models `--model` accepts by name (organism, smollm2, and those "
        "configured in $DEM_MODELS or <cache>/models.json), where each name is defined, where "
        "the model lives and whether it loads without the network. Local folders and hub ids "
        "(org/name) are accepted too and always mean themselves: a models file only adds plain "
        "names, never shadows a built-in name, a hub id or a path, and never sets "
        "trust_remote_code.",
        examples=[
            ("dem models", "a table: name, kind, from, offline, where, note"),
            ("dem models --json", "the same as JSON"),
        ],
    )
    parser.add_argument("--cache-dir", type=Path, default=None, help="dem's cache folder")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dem.models.registry import list_models

    rows = list_models(cache_dir=args.cache_dir)
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
        return 0
    print(
        format_table(
            ("name", "kind", "from", "offline", "where", "note"),
            [
                (r.name, r.kind, r.source, "yes" if r.available else "no", r.where, r.note)
                for r in rows
            ],
        )
    )
    return 0


def format_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A plain-text table with aligned columns."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    return "\n".join(lines)
