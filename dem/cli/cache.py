"""``dem cache ls|rm``: list and remove cached artifacts."""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from typing import Any

from dem.cli._command import add_command
from dem.errors import ConfigError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(text: str) -> float:
    """``90s``, ``30m``, ``12h``, ``7d``, ``2w`` -> seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ConfigError("older-than", f"{text!r} is not a duration like 30m, 12h, 7d or 2w")
    return float(match.group(1)) * _UNITS[match.group(2)]


def human_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def human_age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "cache",
        summary="list or remove cached artifacts (adapters, generations, verdicts, ...)",
        description="dem caches every stage it builds (datasets, adapters, evaluations, "
        "rollouts) under a key of everything that went into it, in $DEM_CACHE (else the user "
        "cache folder). A finished stage is never rebuilt; remove it to build it again.",
        examples=[
            ("dem cache ls", "every artifact with its key, kind, size and age"),
            ("dem cache rm --older-than 7d", "remove what was built more than a week ago"),
        ],
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = add_command(
        sub,
        "ls",
        summary="list artifacts: key, kind, size, age, what built them, what the key covers",
        description="List the artifacts of a cache folder, oldest first, with the total size "
        "and, for each, what its key was computed from (its parts and the dem code it ran).",
        examples=[
            ("dem cache ls", "the default cache ($DEM_CACHE, else the user cache folder)"),
            ("dem cache ls --cache /tmp/dem-cache", "another cache folder"),
        ],
    )
    show = add_command(
        sub,
        "show",
        summary="everything one artifact's key covers (parts, library versions, dem code)",
        description="Print the record of one artifact as JSON: the parts its key hashes (content "
        "hashes of data and models, configs, seeds), the library versions, the dem modules "
        "whose code it ran and their fingerprint, where it lies and what it holds.",
        examples=[("dem cache show 3f9a1c", "one artifact, by key prefix")],
    )
    show.add_argument("key", help="a key prefix (at least 4 hex digits)")
    rm = add_command(
        sub,
        "rm",
        summary="remove artifacts by key prefix or by age",
        description="Remove the artifacts whose key starts with one of KEYS (as `dem cache ls` "
        "prints them, at least 4 hex digits), or those older than --older-than. A removed "
        "stage is rebuilt the next time it is needed.",
        examples=[
            ("dem cache rm 3f9a1c", "one artifact, by key prefix"),
            ("dem cache rm --older-than 12h", "everything built more than 12 hours ago"),
        ],
    )
    rm.add_argument("keys", nargs="*", help="key prefixes (at least 4 hex digits)")
    rm.add_argument("--older-than", default=None, help="remove artifacts older than e.g. 7d, 12h")
    for p in (ls, show, rm):
        p.add_argument(
            "--cache",
            "--cache-dir",
            dest="cache",
            type=Path,
            default=None,
            help="cache folder (default: $DEM_CACHE, else the user cache folder)",
        )
    ls.set_defaults(func=run_ls)
    show.set_defaults(func=run_show)
    rm.set_defaults(func=run_rm)


def run_ls(args: argparse.Namespace) -> int:
    from dem.cli.models import format_table
    from dem.store import ArtifactStore

    store = ArtifactStore(args.cache)
    arts = store.ls()
    now = time.time()
    rows = [
        (
            a.short_key,
            a.kind,
            human_size(a.meta.get("size_bytes", 0)),
            human_age(now - a.meta.get("built_at", now)),
            a.meta.get("describe", ""),
            covers(a.meta),
        )
        for a in arts
    ]
    print(format_table(("key", "kind", "size", "age", "built from", "key covers"), rows))
    total = sum(a.meta.get("size_bytes", 0) for a in arts)
    print(f"{len(arts)} artifacts, {human_size(total)} in {store.base}")
    return 0


def covers(meta: dict[str, Any]) -> str:
    """What an artifact's key was computed from, in brief: its parts and the dem code."""
    code = meta.get("code") or {}
    parts = ", ".join(sorted(meta.get("parts", {})))
    return f"{parts}; dem code {code.get('sha256', '?')[:8]}" if code else parts


def run_show(args: argparse.Namespace) -> int:
    import json

    from dem.store import ArtifactStore

    found = ArtifactStore(args.cache).find(args.key)
    if len(found) != 1:
        raise ConfigError(
            "key", f"{args.key!r} matches {len(found)} artifacts; give a longer prefix"
        )
    meta = found[0].meta
    shown = {k: meta.get(k) for k in ("key", "kind", "describe", "parts", "versions", "code")}
    shown |= {"path": str(found[0].path), "host": meta.get("host"), "files": meta.get("files")}
    print(json.dumps(shown, indent=2, sort_keys=True))
    return 0


def run_rm(args: argparse.Namespace) -> int:
    from dem.store import ArtifactStore

    if not args.keys and args.older_than is None:
        raise ConfigError("keys", "name key prefixes or --older-than DURATION")
    store = ArtifactStore(args.cache)
    removed: list[str] = []
    for prefix in args.keys:
        found = store.rm(prefix)
        if not found:
            raise ConfigError("keys", f"no artifact key starts with {prefix!r}")
        removed += found
    if args.older_than is not None:
        removed += store.prune(parse_duration(args.older_than))
    for key in removed:
        print(f"removed {key[:12]}")
    print(f"{len(removed)} artifacts removed")
    return 0
