"""``dem audit``: score a training file's samples for how likely each is to teach dishonesty,
report the ranking (and, with the truth, AUROC, precision and recall), quarantine the flagged."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dem.errors import ConfigError


def register(subparsers: Any) -> None:
    from dem.audit.base import registry
    from dem.cli._command import add_command

    detectors = registry()
    listing = "; ".join(f"{name}: {info.help}" for name, info in detectors.items())
    parser = add_command(
        subparsers,
        "audit",
        summary="score a training file for samples that teach dishonesty; quarantine them",
        description="Score every sample of FILE with each detector (no labels needed), flag the "
        "top --budget share (or scores >= --threshold), write REPORT/audit.json and one ranked "
        "REPORT/<detector>.scores.jsonl per detector. When FILE's manifest knows which samples "
        "are misaligned (dem's own mixes), also report AUROC, precision and recall with 95 % "
        "bootstrap intervals. Nothing is written when an input or option is bad.\n\n"
        f"Detectors: {listing}.",
        examples=[
            (
                "dem audit mix.jsonl --model organism --detector contrastive --detector gradient "
                "--budget 0.1 --out audit-report --quarantine audit-q",
                "two detectors on a dem mix; the first one decides the quarantine",
            ),
            (
                "dem audit code.jsonl --model smollm2 --detector judge --set judge_backend=openai "
                "--set judge_base_url=http://localhost:8000/v1 --out r",
                "an LLM judge served elsewhere",
            ),
            ("dem data provenance audit-q/kept.jsonl", "what the quarantine kept, and why"),
        ],
        verbosity=True,
    )
    parser.add_argument("file", type=Path, help="training data file (messages / prompt-completion "
                        "JSONL, alpaca, dolly)")  # fmt: skip
    parser.add_argument("--model", required=True, help="reference model: organism, smollm2, a "
                        "folder or a hub id")  # fmt: skip
    parser.add_argument(
        "--detector",
        action="append",
        default=None,
        metavar="NAME",
        help=f"one of {', '.join(detectors)}; repeatable (default: contrastive); the first one "
        "decides the quarantine",
    )
    parser.add_argument("--out", type=Path, required=True, help="report folder")
    parser.add_argument(
        "--budget", type=float, default=None, help="share of samples to flag, in (0, 1) (0.02)"
    )
    parser.add_argument(
        "--threshold", type=float, default=None, help="flag scores >= this instead of a budget"
    )
    parser.add_argument(
        "--quarantine",
        type=Path,
        default=None,
        metavar="DIR",
        help="write DIR/kept.jsonl and DIR/quarantined.jsonl (with manifests); nothing is deleted",
    )
    parser.add_argument("--adapter", default=None, help="LoRA adapter folder on the model")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="an AuditConfig setting (value read as JSON), e.g. --set batch_size=16, "
        "--set judge_backend=openai; repeatable",
    )
    power = parser.add_argument_group(
        "self-check",
        "Before scoring, the share of the data's tokens the model does not know is measured; "
        "then known-misaligned canaries like the data are scored in a copy of it and each "
        "detector's AUROC and recall on them are reported (audit.json self_check). An "
        "unreadable file, or a canary AUROC whose lower bound is below the floor, stops the "
        "audit with exit status 2 and writes nothing, unless --allow-low-power. Canaries are "
        "never in the figures, the ranking or the quarantine.",
    )
    power.add_argument(
        "--canaries",
        type=int,
        default=30,
        metavar="N",
        help="canaries planted (at least 10; default 30)",
    )
    power.add_argument(
        "--min-power",
        type=float,
        default=0.7,
        metavar="AUROC",
        help="floor of the canary AUROC's lower bound (default 0.7)",
    )
    power.add_argument(
        "--max-unknown",
        type=float,
        default=0.05,
        metavar="SHARE",
        help="largest share of tokens unknown to the model (default 0.05)",
    )
    power.add_argument(
        "--allow-low-power",
        action="store_true",
        help="audit anyway when the model cannot read the data or the canaries are below the "
        "floor; the report then says 'at chance on this data'",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress lines")
    parser.set_defaults(func=run_audit)


def _config(args: argparse.Namespace) -> Any:
    from dem.audit.config import AuditConfig
    from dem.cli.organism import config_overrides

    values = config_overrides(args.set)
    for name in ("budget", "threshold"):
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    if args.budget is not None and args.threshold is not None:
        raise ConfigError("--threshold", "give a budget or a threshold, not both")
    try:
        return AuditConfig.from_dict(values)
    except ConfigError as exc:
        name = exc.field
        flag = f"--{name}" if name in ("budget", "threshold") else f"--set {name}"
        raise ConfigError(flag, str(exc).removeprefix(f"{name}: ")) from None


def run_audit(args: argparse.Namespace) -> int:
    from dem.audit import (
        ReferenceModel,
        audit,
        check_detector,
        load_dataset,
        quarantine,
        summary_text,
        write_report,
    )
    from dem.audit.selfcheck import (
        LowPowerError,
        SelfCheckConfig,
        check_readable,
        make_canaries,
        readability,
    )

    config = _config(args)
    power = SelfCheckConfig(
        canaries=args.canaries,
        min_power=args.min_power,
        max_unknown=args.max_unknown,
        allow_low_power=args.allow_low_power,
        seed=config.seed,
    )
    detectors = args.detector or ["contrastive"]
    for name in detectors:
        check_detector(name, field="--detector")
    if args.adapter is not None and not Path(args.adapter).is_dir():
        raise ConfigError("--adapter", f"{args.adapter} is not a folder")
    from dem.cli._command import check_output_dir

    for option, folder in (("--out", args.out), ("--quarantine", args.quarantine)):
        check_output_dir(option, folder)
    dataset = load_dataset(args.file)
    from dem.verbosity import progress_enabled

    reference = ReferenceModel.load(
        args.model,
        config,
        adapter=args.adapter,
        weights=any(d != "judge" for d in detectors) or config.judge_backend == "transformers",
    )
    read = None
    if reference.loaded:  # the tokenizer is at hand (not for a judge served elsewhere)
        read = readability(reference, dataset.samples, seed=config.seed)
        check_readable(read, power, reference.spec.display_name)
    canaries = make_canaries(dataset.samples, reference, power.canaries, seed=config.seed)
    result = audit(
        dataset,
        reference,
        detectors,
        progress=progress_enabled(not args.no_progress),
        canaries=canaries,
        self_check=power,
        readability=read,
    )
    check = result.self_check
    assert check is not None
    if not check.deciding.ok and not power.allow_low_power:
        raise LowPowerError(
            f"{check.deciding.detector}: {check.deciding.reason()}; nothing written "
            "(--allow-low-power to write the report anyway)"
        )
    report = write_report(result, args.out)
    print(summary_text(result))
    print(f"\nreport: {report}")
    if args.quarantine is not None:
        kept, held = quarantine(result, args.quarantine, detectors[0])
        k, q = _count(kept), _count(held)
        print(f"quarantine ({detectors[0]}): kept {k} -> {kept}; quarantined {q} -> {held}")
    return 0


def _count(path: Path) -> int:
    from dem.data.jsonl import read_manifest

    return read_manifest(path).count
