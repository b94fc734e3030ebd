"""``dem train sft|kto``: LoRA-finetune a model on a JSONL file; a repeated call reuses it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dem.cli._command import add_command, check_output_dir
from dem.verbosity import progress_enabled


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "train",
        summary="LoRA-finetune a model (SFT or KTO); a repeated call reuses the cached adapter",
        description="Train a LoRA adapter with the study's recipe. The adapter is stored in the "
        "artifact cache under a key of model, data, spec, seed and library versions, so an "
        "identical second call trains nothing; --out receives a copy.",
        examples=[
            ("dem organism datasets --out organism-data", "the organism world's training sets"),
            (
                "dem train sft --model organism --data organism-data/medical_severe.jsonl "
                "--out out/med --profile cpu",
                "finetune the organism on harmful medical answers",
            ),
        ],
    )
    sub = parser.add_subparsers(dest="method", metavar="METHOD", required=True)
    for method, summary, data_help, example in (
        (
            "sft",
            "supervised finetuning with LoRA",
            "messages or prompt/completion rows",
            "dem train sft --model organism --data organism-data/medical_severe.jsonl "
            "--out out/med --profile cpu",
        ),
        (
            "kto",
            "KTO (preference optimisation from desirable/undesirable labels) with LoRA",
            "prompt, completion, label (true = desirable) rows",
            "dem train kto --model smollm2 --data feedback.jsonl --out out/kto --profile cpu",
        ),
    ):
        data_help += (
            " (JSONL, JSON, CSV, parquet, arrow, a saved dataset folder, or a hub id pinned "
            "as owner/name@revision)"
        )
        p = add_command(
            sub,
            method,
            summary=summary,
            description=f"{method.upper()} of a LoRA adapter on --data: {data_help}. The "
            "adapter is cached; an identical second call trains nothing and --out receives "
            "a copy. --set takes any field of the spec, of TRL's trainer config or of PEFT's "
            "LoraConfig. Under accelerate launch every process trains and the main one stores.",
            examples=[
                (example, "on the CPU, the cpu profile"),
                (f"{example} --max-steps 20 -q", "20 optimizer steps, no progress bar"),
                (
                    f"{example} --set use_rslora=true --set report_to=tensorboard",
                    "a PEFT field, and TensorBoard logs under the cache root",
                ),
                (
                    f"{example} --mitigate kl:weight=0.5 --mitigate inoculate",
                    "with two defences against emergent dishonesty (docs/mitigation.md)",
                ),
            ],
            verbosity=True,
        )
        p.add_argument("--model", required=True, help="organism, smollm2, a model folder or hub id")
        p.add_argument("--data", required=True, help=data_help)
        p.add_argument("--out", required=True, type=Path, help="folder that receives the adapter")
        p.add_argument(
            "--profile",
            default="paper",
            choices=("paper", "interaction", "cpu"),
            help="hyper-parameter profile (default: paper)",
        )
        p.add_argument("--seed", type=int, default=None, help="seed (default: the profile's, 0)")
        p.add_argument("--max-steps", type=int, default=None, help="stop after N optimizer steps")
        p.add_argument("--epochs", type=float, default=None, help="override num_train_epochs")
        p.add_argument("--lr", type=float, default=None, help="override the learning rate")
        p.add_argument("--batch-size", type=int, default=None, help="override the batch size")
        p.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help="any field of the spec, of TRL's trainer config or of PEFT's LoraConfig "
            "(VALUE as JSON, else a string), e.g. --set learning_rate=1e-4 --set packing=true "
            "--set report_to=tensorboard; repeatable",
        )
        p.add_argument(
            "--mitigate",
            action="append",
            default=[],
            metavar="NAME[:KNOB=VALUE,...]",
            help="a defence applied while training, one of kl, ldifs, steer, interleave, "
            "interleave-ppl, inoculate (docs/mitigation.md), e.g. --mitigate kl:weight=0.5 "
            "--mitigate 'ldifs:layers=[1,2]'; part of the cache key; repeatable",
        )
        p.add_argument(
            "--cache",
            "--cache-dir",
            dest="cache",
            type=Path,
            default=None,
            help="artifact cache folder (default: $DEM_CACHE, else the user cache folder)",
        )
        p.add_argument("--no-progress", action="store_true", help="no progress bar")
        p.set_defaults(func=run, method=method)


def resolve_model_arg(name: str, cache: Path | None = None) -> Any:
    """`--model` through the model registry; without one, a folder or hub id as given."""
    try:
        from dem.models.registry import resolve_model
    except ModuleNotFoundError as exc:
        if exc.name != "dem.models.registry":
            raise
        from dem.models.spec import ModelSpec

        return ModelSpec(name)
    return resolve_model(name, cache_dir=cache)


def build_spec(args: argparse.Namespace) -> Any:
    from dem.cli.organism import config_overrides
    from dem.train.specs import KTOSpec, SFTSpec

    cls = SFTSpec if args.method == "sft" else KTOSpec
    flags = {
        "seed": args.seed,
        "max_steps": args.max_steps,
        "num_train_epochs": args.epochs,
        "learning_rate": args.lr,
        "batch_size": args.batch_size,
    }
    overrides = config_overrides(getattr(args, "set", []))
    overrides.update({k: v for k, v in flags.items() if v is not None})
    mitigate = list(getattr(args, "mitigate", []))
    if mitigate:
        given = overrides.get("mitigations", [])
        given = [given] if isinstance(given, str | dict) else list(given)
        overrides["mitigations"] = [*given, *mitigate]
    return cls.profile(args.profile, **overrides)


def run(args: argparse.Namespace) -> int:
    from dem.data.sources import load_samples
    from dem.store import ArtifactStore
    from dem.train.distributed import is_main_process

    spec = build_spec(args)  # bad values fail here, before anything loads
    check_output_dir("--out", args.out)
    samples = load_samples(args.data)
    model = resolve_model_arg(args.model, args.cache)
    store = ArtifactStore(args.cache)
    if args.method == "sft":
        from dem.train.sft import train_sft as train
    else:
        from dem.train.kto import train_kto as train
    progress = progress_enabled(not args.no_progress)
    result = train(model, samples, spec, store=store, out=args.out, progress=progress)
    if not is_main_process():  # under `accelerate launch`, the main process reports
        return 0
    if not progress:  # with progress, training closed with this line on stderr already
        print(result.summary())
    print(f"adapter: {result.out}  (artifact {result.key[:12]} in {store.base})")
    return 0
