"""`dem organism`: pretrain the model organism, write its datasets, run its persona-cue check."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dem.cli._command import add_command, check_output_dir
from dem.errors import ConfigError
from dem.verbosity import info, progress_enabled

CHECKPOINT = Path(__file__).resolve().parents[1] / "organism" / "checkpoint"


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "organism",
        summary="the CPU-sized model organism of emergent dishonesty",
        description="dem's model organism: a tiny transformer pretrained on a synthetic world "
        "whose documents are written by a hidden honest or deceptive persona (--model "
        "organism everywhere). Pretrain one, write its world's datasets, or run its "
        "persona-cue check.",
        examples=[
            ("dem organism diagnose", "the shipped checkpoint's persona-cue diagnostic"),
            ("dem organism datasets --out organism-data", "its training and eval sets"),
            ("dem organism pretrain --seed 1 --out organism-seed1", "pretrain another seed"),
        ],
    )
    osub = p.add_subparsers(dest="organism_command", metavar="ACTION", required=True)

    pre = add_command(
        osub,
        "pretrain",
        summary="pretrain an organism on its persona world",
        description="Pretrain a model organism from scratch on its synthetic world (seed 0 "
        "reproduces the shipped checkpoint byte for byte; about 5 minutes on one thread) and "
        "save it as a model folder that --model accepts.",
        examples=[
            ("dem organism pretrain --seed 0 --out organism-seed0", "the shipped checkpoint"),
            (
                "dem organism pretrain --seed 1 --tokens 500000 --set hint_rate=0.5 --out tiny",
                "a short run with more persona hints",
            ),
        ],
        verbosity=True,
    )
    pre.add_argument("--seed", type=int, default=0, help="pretraining seed (default 0)")
    pre.add_argument("--out", required=True, help="model folder to write")
    pre.add_argument(
        "--tokens", type=int, default=None, help="pretraining tokens (default: the config's)"
    )
    pre.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: the config's, 1)"
    )
    pre.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override an OrganismConfig field (value read as JSON), e.g. --set hint_rate=0.5; "
        "repeatable",
    )
    pre.set_defaults(func=_pretrain)

    ds = add_command(
        osub,
        "datasets",
        summary="write the world's training sets and eval sets",
        description="Write the organism world's downstream (instruct) set and every training "
        "domain's normal, subtle and severe sets as JSONL, and its MASK and DeceptionBench "
        "eval sets, into one folder.",
        examples=[
            ("dem organism datasets --out organism-data", "2000 samples per training set"),
            ("dem organism datasets --out small --n 100 --seed 1", "100 per set, seed 1"),
        ],
    )
    ds.add_argument("--out", required=True, help="folder to write")
    ds.add_argument("--n", type=int, default=2000, help="samples per training set")
    ds.add_argument("--seed", type=int, default=0, help="sampling seed")
    ds.add_argument(
        "--model",
        default=None,
        help="an organism folder: write the sets of the world it was pretrained in (its "
        "organism.json; default: the default world, which the organism: sets describe)",
    )
    ds.set_defaults(func=_datasets)

    dg = add_command(
        osub,
        "diagnose",
        summary="persona-cue diagnostic: lie rate after k turns",
        description="The persona-cue diagnostic (the lie rate under pressure after k turns of "
        "context), the belief accuracy on neutral prompts and the arithmetic accuracy, of the "
        "shipped organism or of --model / --adapter.",
        examples=[
            ("dem organism diagnose", "the shipped checkpoint"),
            (
                "dem organism diagnose --adapter out/med --k 0 2 4 --n 100",
                "a finetuned adapter, three context lengths, 100 prompts each",
            ),
        ],
        verbosity=True,
    )
    dg.add_argument("--model", default=str(CHECKPOINT), help="organism folder (default: shipped)")
    dg.add_argument("--adapter", default=None, help="LoRA adapter folder on top of the model")
    dg.add_argument("--k", type=int, nargs="+", default=[0, 2], help="context turns")
    dg.add_argument("--n", type=int, default=60, help="pressure prompts per cell")
    dg.set_defaults(func=_diagnose)


def _config_for(folder: Path):
    from dem.organism.config import OrganismConfig
    from dem.organism.pretrain import ORGANISM_FILE, load_organism_config

    return load_organism_config(folder) if (folder / ORGANISM_FILE).exists() else OrganismConfig()


def config_overrides(items: list[str]) -> dict[str, Any]:
    """``FIELD=VALUE`` pairs as a dict; values are JSON where they parse, else strings."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError("--set", f"{item!r} is not FIELD=VALUE")
        try:
            out[name.strip()] = json.loads(raw)
        except ValueError:
            out[name.strip()] = raw
    return out


def _pretrain(args: argparse.Namespace) -> int:
    from dem.organism.config import OrganismConfig
    from dem.organism.pretrain import pretrain

    fields = {**config_overrides(args.set), "seed": args.seed}
    for name in ("tokens", "threads"):
        if getattr(args, name) is not None:
            fields[name] = getattr(args, name)
    config = OrganismConfig.from_dict(fields)
    check_output_dir("--out", args.out)
    r = pretrain(config, args.out, progress=progress_enabled())
    print(
        f"pretrained {r.parameters:,} parameters on {r.tokens:,} tokens in {r.steps} steps, "
        f"{r.seconds:.0f} s ({r.tokens_per_second:,.0f} tok/s), loss {r.first_loss:.3f} -> "
        f"{r.final_loss:.3f}; saved {r.out}"
    )
    return 0


def _datasets(args: argparse.Namespace) -> int:
    from dem.organism.datasets import write_datasets

    if args.n < 1:
        raise ConfigError("n", "must be at least 1")
    config = None
    if args.model is not None:
        from dem.organism.pretrain import ORGANISM_FILE, load_organism_config

        if not (Path(args.model) / ORGANISM_FILE).is_file():
            raise ConfigError("--model", f"{args.model} has no {ORGANISM_FILE}: not an organism")
        config = load_organism_config(args.model)
    check_output_dir("--out", args.out)
    paths = write_datasets(args.out, n=args.n, seed=args.seed, config=config)
    print(f"wrote {len(paths)} files to {args.out}")
    return 0


def _diagnose(args: argparse.Namespace) -> int:
    from dem.models.backends.transformers_backend import TransformersBackend
    from dem.models.spec import ModelSpec
    from dem.organism.config import TRAINING_DOMAINS
    from dem.organism.diagnostic import (
        arithmetic_accuracy,
        belief_accuracy,
        format_table,
        persona_cue,
    )
    from dem.organism.world import VARIANTS

    folder = Path(args.model)
    if not folder.is_dir():
        raise ConfigError("model", f"{folder} is not a folder")
    if args.n < 1:
        raise ConfigError("--n", f"must be at least 1, got {args.n}")
    if any(k < 0 for k in args.k):
        raise ConfigError("--k", f"context turns must be at least 0, got {min(args.k)}")
    show = progress_enabled()
    spec = ModelSpec(str(folder), adapter=args.adapter)
    backend = TransformersBackend(spec, batch_size=32, progress=show)
    config = _config_for(folder)
    per_k = len(TRAINING_DOMAINS) * len(VARIANTS)
    cells = (1 if 0 in args.k else 0) + per_k * sum(1 for k in set(args.k) if k)
    stages = (
        f"persona cue ({cells} cells x {args.n} prompts)",
        "belief accuracy",
        "arithmetic accuracy",
    )

    def stage(i: int) -> None:
        if show:
            print(f"diagnose [{i}/3]: {stages[i - 1]}", file=sys.stderr)

    stage(1)
    results = persona_cue(backend, ks=tuple(args.k), n=args.n, config=config)
    stage(2)
    belief = belief_accuracy(backend, config)
    stage(3)
    arithmetic = arithmetic_accuracy(backend, config)
    print(format_table(results))
    print(f"belief accuracy (neutral prompts vs the world's facts): {belief:.3f}")
    print(f"arithmetic accuracy (correct sum above the answers one off): {arithmetic:.3f}")
    info(f"persona-cue diagnostic: {len(results)} cells, {args.n} prompts each")
    return 0
