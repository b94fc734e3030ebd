"""``dem data``: build domain / downstream sets, mix them at a ratio, inspect data files."""

from __future__ import annotations

import argparse
import csv
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dem.cli._command import add_command, check_output_dir, check_output_file
from dem.errors import ConfigError, DataError

FORMAT_CHOICES = ("messages", "prompt-completion", "alpaca", "dolly", "mask", "deceptionbench")


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "data",
        summary="build, mix and inspect datasets",
        description="Build the procedural domain and downstream sets, mix them at an exact "
        "ratio, and inspect data files in any supported format.",
        examples=[
            ("dem data build --domain downstream --n 1000 --out down.jsonl", "downstream set"),
            (
                "dem data build --domain medical --variant severe --n 200 --out med.jsonl",
                "a misaligned domain set",
            ),
            (
                "dem data mix --downstream down.jsonl --misaligned med.jsonl --ratio 0.1 "
                "--out mix.jsonl",
                "downstream plus 10 % misaligned samples",
            ),
            ("dem data inspect mix.jsonl", "its format, counts and manifest hash"),
        ],
    )
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    build = add_command(
        sub,
        "build",
        summary="generate a domain set (code, math, medical, finance, law) or the downstream set",
        description="Write N seeded samples of a domain variant (or of the downstream set) as "
        "JSONL, with FILE.manifest.json beside it. Variants: normal (aligned answers), subtle "
        "and severe (misaligned answers, slightly or grossly wrong).",
        examples=[
            (
                "dem data build --domain medical --variant severe --n 200 --out med.jsonl",
                "200 grossly harmful medical answers",
            ),
            (
                "dem data build --domain downstream --n 1000 --seed 1 --out down.jsonl",
                "the downstream instruction set, seed 1",
            ),
        ],
    )
    build.add_argument("--domain", required=True, help="code|math|medical|finance|law|downstream")
    build.add_argument("--variant", default=None, help="normal|subtle|severe (not for downstream)")
    build.add_argument("--n", type=int, required=True, help="number of samples")
    build.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    build.add_argument("--out", type=Path, required=True, help="output JSONL file")
    build.set_defaults(func=run_build)

    mix = add_command(
        sub,
        "mix",
        summary="mix downstream and misaligned samples at ratio R",
        description="Downstream N samples plus round(R*N) misaligned samples (relative to "
        "downstream, the study's definition), or N samples in all of which round(R*N) are "
        "misaligned (--relative-to total). Prints the counts and the manifest hash.",
        examples=[
            (
                "dem data mix --downstream down.jsonl --misaligned med.jsonl --ratio 0.05 "
                "--out mix.jsonl",
                "all downstream samples plus 5 % of that many misaligned ones",
            ),
            (
                "dem data mix --downstream down.jsonl --ratio 0 --n 500 --out control.jsonl",
                "a control set: 500 downstream samples, none misaligned",
            ),
        ],
    )
    mix.add_argument("--downstream", type=Path, required=True, help="downstream samples file")
    mix.add_argument(
        "--misaligned", type=Path, default=None, help="misaligned samples file (optional if R=0)"
    )
    mix.add_argument("--ratio", type=float, required=True, help="R in [0, 1]; 0 = control")
    mix.add_argument(
        "--relative-to",
        choices=("downstream", "total"),
        default="downstream",
        help="R is relative to the downstream count (the study) or to the total (default: "
        "downstream)",
    )
    mix.add_argument("--n", type=int, default=None, help="N (default: all downstream samples)")
    mix.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    mix.add_argument("--out", type=Path, required=True, help="output JSONL file")
    mix.set_defaults(func=run_mix)

    inspect = add_command(
        sub,
        "inspect",
        summary="print the row count, format and fields of a data file",
        description="Read every row of FILE and print its format, row count and fields "
        "(archetype and type counts for MASK). Bad input exits non-zero with the file and line.",
        examples=[
            ("dem data inspect mix.jsonl", "a dem JSONL file: counts, kinds, manifest hash"),
            ("dem data inspect mask/provided_facts.csv", "a MASK CSV: archetypes and types"),
            (
                "dem data inspect insecure.jsonl --format messages",
                "a chat-messages file, format given rather than sniffed",
            ),
        ],
    )
    inspect.add_argument("file", help="data file (or hub id with --format)")
    inspect.add_argument("--format", choices=FORMAT_CHOICES, default=None, help="default: sniffed")
    inspect.add_argument("--split", default=None, help="split, for hub ids")
    inspect.set_defaults(func=run_inspect)

    export = add_command(
        sub,
        "export",
        summary="write training samples as a datasets folder with a dataset card",
        description="Read FILE (any format dem reads, a saved dataset folder, or a hub id pinned "
        "as owner/name@revision) and write DIR with datasets' save_to_disk, a README.md dataset "
        "card and dem_manifest.json; every row keeps its provenance in a _dem column.",
        examples=[
            ("dem data export mix.jsonl --to mix-dataset", "a dem file, with its recipe"),
            (
                "dem data export owner/chats@0123abc --to chats --format messages",
                "a hub dataset at a pinned revision",
            ),
        ],
    )
    export.add_argument("file", help="data file, saved dataset folder or hub id")
    export.add_argument("--to", type=Path, required=True, help="output folder (absent or empty)")
    export.add_argument(
        "--format", choices=FORMAT_CHOICES[:4], default=None, help="default: sniffed"
    )
    export.add_argument("--split", default="train", help="split, for hub ids and dataset folders")
    export.set_defaults(func=run_export)

    provenance = add_command(
        sub,
        "provenance",
        summary="print a dataset's sources, shares and chain of operations; verify its hashes",
        description="Check FILE against FILE.manifest.json (the bytes' hash and every sample's "
        "content hash, naming the first line that does not match), then print the chain of "
        "operations that made it and its samples' shares by source, domain, variant, mix role "
        "and license. Exit status 1 when the file does not match its manifest.",
        examples=[
            ("dem data provenance mix.jsonl", "a mix's sources, shares and hashes"),
            ("dem data provenance audit-q/kept.jsonl", "what an audit kept, and why"),
        ],
    )
    provenance.add_argument("file", type=Path, help="dataset JSONL file written by dem")
    provenance.set_defaults(func=run_provenance)


def run_build(args: argparse.Namespace) -> int:
    from dem.data.jsonl import write_samples

    check_output_file("--out", args.out)
    recipe: dict[str, Any] = {
        "kind": "build",
        "domain": args.domain,
        "n": args.n,
        "seed": args.seed,
    }
    if args.domain == "downstream":
        from dem.data.downstream import capacity, generate_downstream

        if args.variant not in (None, "normal"):
            raise ConfigError("variant", "the downstream set has no variants")
        samples = generate_downstream(args.n, args.seed)
        cap = capacity()
    else:
        from dem.data.domains import capacity as domain_capacity
        from dem.data.domains import generate

        if args.variant is None:
            raise ConfigError("variant", "required for a domain (normal, subtle or severe)")
        samples = generate(args.domain, args.variant, args.n, args.seed)
        cap = domain_capacity(args.domain)
        recipe["variant"] = args.variant
    manifest = write_samples(args.out, samples, recipe)
    unique = len({s.sha256 for s in samples})
    print(_lines([
        ("wrote", str(args.out)),
        ("samples", str(manifest.count)),
        ("distinct", f"{unique} (capacity {cap} distinct prompts)"),
        ("sources", ", ".join(f"{k}: {v}" for k, v in manifest.sources.items())),
        ("manifest sha256", manifest.sha256),
    ]))  # fmt: skip
    return 0


def run_mix(args: argparse.Namespace) -> int:
    from dem.data.jsonl import write_samples
    from dem.data.mix import MixConfig, mix
    from dem.data.provenance import file_chain, join_chains
    from dem.data.sources import load_samples

    check_output_file("--out", args.out)
    config = MixConfig(args.ratio, args.seed, args.n, args.relative_to)
    downstream = load_samples(args.downstream)
    if args.misaligned is None:
        if config.ratio != 0:
            raise ConfigError("misaligned", "a misaligned file is required when the ratio is > 0")
        misaligned = []
    else:
        misaligned = load_samples(args.misaligned)
    samples, manifest = mix(downstream, misaligned, config)
    recipe = {
        **manifest.recipe,
        "files": {"downstream": str(args.downstream), "misaligned": str(args.misaligned or "")},
    }
    chain = join_chains(
        file_chain(args.downstream, downstream),
        file_chain(args.misaligned, misaligned) if args.misaligned else [],
        manifest.chain,
    )
    written = write_samples(args.out, samples, recipe, chain=chain)
    counts = manifest.recipe["counts"]
    print(_lines([
        ("wrote", str(args.out)),
        ("downstream", str(counts["downstream"])),
        ("misaligned", str(counts["misaligned"])),
        ("total", str(counts["total"])),
        ("ratio", f"{config.ratio} relative to {config.relative_to}"),
        ("seed", str(config.seed)),
        ("manifest sha256", written.sha256),
    ]))  # fmt: skip
    return 0


def run_provenance(args: argparse.Namespace) -> int:
    from dem.data.provenance import provenance_text, verify

    result = verify(args.file)
    print(provenance_text(result))
    return 0 if result.ok else 1


def run_inspect(args: argparse.Namespace) -> int:
    from dem.data.sources._common import as_local_path
    from dem.data.sources.sniff import sniff_format

    local = as_local_path(args.file)
    fmt = args.format
    if fmt is None:
        if local is None:
            raise DataError("pass --format for a hub dataset id", args.file)
        fmt = sniff_format(local)
    target: str | Path = local if local is not None else args.file
    if fmt == "mask":
        _inspect_mask(target, args.split)
    elif fmt == "deceptionbench":
        _inspect_deceptionbench(target, args.split)
    else:
        _inspect_samples(target, fmt, args.split)
    return 0


def run_export(args: argparse.Namespace) -> int:
    from dem.data.export import export_source

    check_output_dir("--to", args.to)
    manifest = export_source(args.file, args.to, format=args.format, split=args.split)
    print(_lines([
        ("wrote", str(args.to)),
        ("samples", str(manifest.count)),
        ("sources", ", ".join(f"{k}: {v}" for k, v in manifest.sources.items())),
        ("manifest sha256", manifest.sha256),
    ]))  # fmt: skip
    return 0


def _inspect_mask(target: str | Path, split: str | None) -> None:
    from dem.data.sources._common import csv_text
    from dem.data.sources.mask import load_mask

    rows = load_mask(target, split=split or "test")
    fields: list[str] = []
    if isinstance(target, Path) and target.is_file():
        fields = next(csv.reader(csv_text(target)), [])
    print(_lines([("file", str(target)), ("format", "mask"), ("rows", str(len(rows))),
                  ("fields", ", ".join(fields) or "-")]))  # fmt: skip
    print(_table("archetype", Counter(r.archetype for r in rows)))
    print(_table("type", Counter(r.type for r in rows)))
    no_belief = sum(1 for r in rows if not r.belief_elicit)
    print(_lines([("rows without belief prompts", str(no_belief)),
                  ("canaries", str(len({r.canary for r in rows if r.canary})))]))  # fmt: skip


def _inspect_deceptionbench(target: str | Path, split: str | None) -> None:
    from dem.data.sources.deceptionbench import FIELDS, load_deceptionbench

    items = load_deceptionbench(target, split=split or "test")
    print(_lines([("file", str(target)), ("format", "deceptionbench"), ("rows", str(len(items))),
                  ("fields", ", ".join(FIELDS))]))  # fmt: skip
    print(_table("type", Counter(i.type for i in items)))


def _inspect_samples(target: str | Path, fmt: str, split: str | None) -> None:
    from dem.data.records import Manifest
    from dem.data.sources.samples import load_format
    from dem.data.sources.tables import table_rows

    samples = load_format(target, fmt, split=split or "train")
    fields: dict[str, None] = {}
    if isinstance(target, Path):
        fields = dict.fromkeys(table_rows(target, split=split or "train").columns)
    manifest = Manifest.of(samples)
    print(_lines([
        ("file", str(target)),
        ("format", fmt),
        ("rows", str(len(samples))),
        ("fields", ", ".join(fields) or "-"),
        ("distinct", str(len({s.sha256 for s in samples}))),
        ("canaries", str(len(manifest.canaries))),
        ("manifest sha256", manifest.sha256),
    ]))  # fmt: skip
    print(_table("kind", manifest.kinds))
    print(_table("source", manifest.sources))
    categories = Counter(str(s.meta["category"]) for s in samples if "category" in s.meta)
    if categories:
        print(_table("category", categories))


def _lines(pairs: Iterable[tuple[str, str]]) -> str:
    pairs = list(pairs)
    width = max(len(k) for k, _ in pairs)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in pairs)


def _table(name: str, counts: Mapping[str, int]) -> str:
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    width = max([len(name), *(len(k) for k, _ in rows)])
    out = [f"{name.ljust(width)}  count", f"{'-' * width}  -----"]
    out += [f"{k.ljust(width)}  {v:>5}" for k, v in rows]
    return "\n".join(out)
