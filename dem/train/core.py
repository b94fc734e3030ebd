"""What SFT and KTO share: the artifact key, the cached build, the saved adapter, the result."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dem.atomic import apply_umask, atomic_open, write_json
from dem.data.records import Manifest, Sample
from dem.errors import ConfigError, DataError, DemError
from dem.models.quiet import quiet_datasets
from dem.models.spec import ModelSpec
from dem.store import Artifact, ArtifactStore
from dem.train.adapters import check_adapter_folder
from dem.train.distributed import (
    is_main_process,
    main_says,
    process_device,
    wait_for_everyone,
    world_size,
)
from dem.train.lora import check_targets, lora_config
from dem.train.progress import TrainLog, closing_line, reused_line
from dem.train.settings import check_trackers
from dem.train.specs import TrainSpec

ADAPTER_KIND = "adapter"
TRAIN_LOG = "train_log.json"
TENSORBOARD_ENV = "TENSORBOARD_LOGGING_DIR"


@dataclass(frozen=True)
class TrainResult:
    """A trained (or reused) LoRA adapter and how it came about."""

    adapter: Path
    key: str
    reused: bool
    steps: int
    trained_steps: int
    first_loss: float | None
    final_loss: float | None
    tokens_per_s: float
    seconds: float
    base: ModelSpec
    out: Path | None = None
    log: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def model(self) -> ModelSpec:
        """The base model with this adapter on top."""
        return self.base.with_adapter(self.adapter)

    def summary(self) -> str:
        """The closing line: what was trained, or what was reused."""
        if self.reused:
            return reused_line(self.key, self.log.get("built_at", 0.0), self.trained_steps)
        return closing_line(
            steps=self.steps,
            seconds=self.seconds,
            first_loss=self.first_loss,
            final_loss=self.final_loss,
            tokens_per_s=self.tokens_per_s,
        )


def training_device(spec: TrainSpec, model: ModelSpec) -> tuple[ModelSpec, bool]:
    """The model spec to train (forced onto the CPU by ``use_cpu``) and the effective bf16."""
    from dem.models.loading import resolve_device

    if spec.use_cpu:
        model = replace(model, device="cpu")
    device = process_device(resolve_device(model.device))
    bf16 = spec.bf16 if spec.bf16 is not None else device.startswith("cuda")
    return replace(model, device=device), bf16


def key_parts(
    spec: TrainSpec, model: ModelSpec, samples: Sequence[Sample], *, device: str, bf16: bool
) -> dict[str, Any]:
    """Everything that determines the adapter (the store adds library versions)."""
    return {
        "method": spec.method,
        "model": model.identity(),
        "data_sha256": Manifest.of(samples).sha256,
        "data_count": len(samples),
        "spec": spec.to_dict(),
        "device_type": device.split(":")[0],
        "bf16": bf16,
    }


def check_model(model: ModelSpec) -> None:
    if model.adapter:
        raise ConfigError(
            "model",
            f"{model.display_name} already carries an adapter; export a merged model with "
            "dem.train.merge_adapter() and train on that",
        )


def check_samples(samples: Sequence[Sample], allowed: tuple[str, ...], what: str) -> None:
    """Samples are non-empty, of an allowed kind, and all of one shape (one dataset schema)."""
    if not samples:
        raise DataError(f"{what}: no training samples")
    first = _shape(samples[0])
    for i, s in enumerate(samples):
        if s.kind not in allowed:
            raise DataError(f"{what}: sample {i} is a {s.kind!r} row; expected one of {allowed}")
        if _shape(s) != first:
            raise DataError(f"{what}: sample {i} has shape {_shape(s)}, sample 0 has {first}")


def _shape(s: Sample) -> tuple[str, ...]:
    return (s.kind, *(f"{k}:{type(v).__name__}" for k, v in sorted(s.content.items())))


def to_chat(row: Mapping[str, Any]) -> dict[str, Any]:
    """A string prompt/completion row as one user turn and one assistant turn."""
    out = dict(row)
    if isinstance(row.get("prompt"), str):
        out["prompt"] = [{"role": "user", "content": row["prompt"]}]
    if isinstance(row.get("completion"), str):
        out["completion"] = [{"role": "assistant", "content": row["completion"]}]
    return out


def trl_common_args(spec: TrainSpec, *, bf16: bool, output_dir: str) -> dict[str, Any]:
    """TrainingArguments shared by SFTConfig and KTOConfig."""
    return {
        "output_dir": output_dir,
        "learning_rate": spec.learning_rate,
        "lr_scheduler_type": spec.lr_scheduler_type,
        "warmup_steps": spec.warmup_steps,
        "num_train_epochs": spec.num_train_epochs,
        "max_steps": spec.max_steps if spec.max_steps is not None else -1,
        "per_device_train_batch_size": spec.batch_size,
        "gradient_accumulation_steps": spec.gradient_accumulation_steps,
        "max_length": spec.max_length,
        "weight_decay": spec.weight_decay,
        "max_grad_norm": spec.max_grad_norm,
        "seed": spec.seed,
        "data_seed": spec.seed,
        "bf16": bf16,
        "fp16": False,
        "use_cpu": spec.use_cpu,
        _checkpointing_field(): spec.gradient_checkpointing,
        "logging_steps": spec.logging_steps,
        "logging_first_step": True,
        "report_to": list(spec.report_to),
        "save_strategy": "no",
        "eval_strategy": "no",
        "disable_tqdm": True,
        "include_num_input_tokens_seen": "non_padding",
        "dataloader_num_workers": 0,
        # every LoRA matrix takes part in every forward: spare DDP its search for unused ones
        "ddp_find_unused_parameters": False,
    }


def trainer_config(spec: TrainSpec, *, bf16: bool, output_dir: str, **fields: Any) -> Any:
    """The trainer's config (``SFTConfig`` / ``KTOConfig``): the common arguments, the trainer's
    own `fields`, then the spec's ``trainer_args``; a value TRL refuses is a `ConfigError`."""
    from dem.train.settings import config_class

    cls = config_class(spec.trainer_config)
    args = {**trl_common_args(spec, bf16=bf16, output_dir=output_dir), **fields}
    args.update(spec.trainer_args)
    try:
        return cls(**args)
    except (TypeError, ValueError) as exc:
        where = "trainer_args" if spec.trainer_args else "spec"
        raise ConfigError(where, f"{cls.__name__} refused the settings: {exc}") from None


def _checkpointing_field() -> str:
    """transformers 5.x renamed ``gradient_checkpointing`` to ``activation_checkpointing``."""
    import dataclasses

    from transformers import TrainingArguments

    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    return (
        "activation_checkpointing"
        if "activation_checkpointing" in names
        else "gradient_checkpointing"
    )


def quiet_trainer(trainer: Any, log: TrainLog) -> Any:
    """Swap the trainer's own printer for our progress callback."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(log.callback())
    return trainer


TrainerFactory = Callable[[Any, Any, Sequence[Sample], TrainSpec, bool, str, TrainLog], Any]


def run_training(
    spec: TrainSpec,
    model: ModelSpec,
    samples: Sequence[Sample],
    make_trainer: TrainerFactory,
    *,
    store: ArtifactStore | None,
    out: str | Path | None,
    progress: bool,
) -> TrainResult:
    """Return the cached adapter for these inputs, or train it with `make_trainer` and store it.

    Under a multi-process launcher every process trains and the main one stores
    (`dem.train.distributed`)."""
    check_model(model)
    train_model, bf16 = training_device(spec, model)
    store = store if store is not None else ArtifactStore()
    parts = key_parts(spec, model, samples, device=train_model.device, bf16=bf16)
    if world_size() > 1:
        parts["processes"] = world_size()
    key = store.key(ADAPTER_KIND, parts)
    check_trackers(spec.report_to)
    main = is_main_process()
    log = TrainLog(show=progress and main, desc=f"{spec.method} {model.display_name}")
    fit = _Fit(spec, train_model, samples, make_trainer, bf16, log, _logging_dir(spec, store, key))
    describe = f"{spec.method} {model.display_name} on {len(samples)} samples, seed {spec.seed}"
    if world_size() == 1:
        art = store.get_or_build(ADAPTER_KIND, parts, fit.build, describe=describe)
    else:
        art = _build_launched(store, parts, fit, describe)
    result = _result(art, model, log)
    if out is not None and main:
        result = replace(result, out=export_adapter(art.path, Path(out)))
    if progress and main:
        print(result.summary(), file=sys.stderr)
        if art.reused and spec.report_to:
            trackers = ", ".join(spec.report_to)
            print(f"nothing trained, so nothing reported to {trackers}", file=sys.stderr)
    return result


def _build_launched(
    store: ArtifactStore, parts: dict[str, Any], fit: _Fit, describe: str
) -> Artifact:
    """Under a launcher: the main process says whether to train; then every process trains and
    the main one stores; the others wait for the stored adapter (`dem.train.distributed`)."""
    config = fit.preflight()  # also sets up the process group, as the trainer will
    if not main_says(store.get(ADAPTER_KIND, parts) is not None, config):
        trainer = fit.train()
        if is_main_process():
            store.get_or_build(
                ADAPTER_KIND, parts, lambda folder: fit.save(trainer, folder), describe=describe
            )
    wait_for_everyone(config)
    art = store.get(ADAPTER_KIND, parts)
    if art is None:
        key = store.key(ADAPTER_KIND, parts)
        raise DemError(f"adapter {key[:12]} missing from {store.base} after training")
    return replace(art, reused=False) if is_main_process() and fit.trained else art


def _logging_dir(spec: TrainSpec, store: ArtifactStore, key: str) -> str | None:
    """Where TensorBoard writes: the spec's folder, else runs/<method>-<key> in the cache root."""
    if "tensorboard" not in spec.report_to:
        return None
    return spec.logging_dir or str(store.root / "runs" / f"{spec.method}-{key[:12]}")


@dataclass
class _Fit:
    """Loads the model, trains it with the factory's trainer, and saves the adapter."""

    spec: TrainSpec
    model: ModelSpec
    samples: Sequence[Sample]
    make_trainer: TrainerFactory
    bf16: bool
    log: TrainLog
    logging_dir: str | None
    trained: bool = False
    vocab: int = 0

    def build(self, folder: Path) -> dict[str, Any]:
        return self.save(self.train(), folder)

    def preflight(self) -> Any:
        """The trainer's config and the LoRA config, built once before the model loads, so a
        setting TRL or PEFT refuses fails early; returns the trainer's config."""
        with tempfile.TemporaryDirectory(prefix="dem-preflight-") as scratch:
            config = trainer_config(self.spec, bf16=self.bf16, output_dir=scratch)
        lora_config(self.spec)
        return config

    def train(self) -> Any:
        from dem.models import base_pool
        from dem.models.loading import load_model

        self.preflight()
        base_pool.clear(gpu_only=True)  # no idle evaluation base beside this one
        net, tokenizer = load_model(self.model)
        check_targets(net, self.spec)
        self.vocab = net.get_input_embeddings().num_embeddings
        with (
            tempfile.TemporaryDirectory(prefix="dem-trainer-") as scratch,
            quiet_datasets(),
            _tensorboard_dir(self.logging_dir),
            warnings.catch_warnings(),
        ):
            # transformers 5 renamed gradient to activation checkpointing; TRL 1.16 still asks by
            # the old name on every step. Remove when TRL stops reading `gradient_checkpointing`.
            warnings.filterwarnings("ignore", ".*gradient_checkpointing.*", FutureWarning)
            trainer = self.make_trainer(
                net, tokenizer, self.samples, self.spec, self.bf16, scratch, self.log
            )
            trainer.train()
        self.trained = True
        return trainer

    def save(self, trainer: Any, folder: Path) -> dict[str, Any]:
        peft_model = trainer.model
        if peft_model.get_input_embeddings().num_embeddings != self.vocab:
            raise ConfigError("model", "training resized the token embeddings; not servable")
        peft_model.save_pretrained(str(folder), save_embedding_layers=False)
        apply_umask(folder)  # safetensors leaves the weights owner-only
        check_adapter_folder(folder)
        summary = self.log.to_dict()
        summary["loss_mask"] = getattr(trainer, "dem_loss_mask", None)
        summary["lm_head"] = getattr(trainer, "dem_lm_head", "fused")
        if getattr(trainer, "dem_mitigations", None):  # dem.train.mitigations.trainer
            summary["mitigations"] = trainer.dem_mitigations
            summary["train_rows"] = trainer.dem_train_rows
            if hasattr(trainer, "dem_steering"):
                summary["steering"] = trainer.dem_steering
        if self.logging_dir:
            summary["logging_dir"] = self.logging_dir
        write_json(folder / TRAIN_LOG, summary)
        return {k: v for k, v in summary.items() if k != "history"}


@contextmanager
def _tensorboard_dir(folder: str | None) -> Iterator[None]:
    """transformers 5's TensorBoard callback reads its folder from ``TENSORBOARD_LOGGING_DIR``
    when the trainer is built; set it for that long."""
    if folder is None:
        yield
        return
    before = os.environ.get(TENSORBOARD_ENV)
    os.environ[TENSORBOARD_ENV] = folder
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(TENSORBOARD_ENV, None)
        else:
            os.environ[TENSORBOARD_ENV] = before


def _result(art: Artifact, model: ModelSpec, log: TrainLog) -> TrainResult:
    built = dict(art.meta.get("result", {}))
    train_log = {**built, "built_at": art.meta.get("built_at", 0.0), "key": art.key}
    if not art.reused:
        train_log["history"] = log.history
    return TrainResult(
        adapter=art.path,
        key=art.key,
        reused=art.reused,
        steps=0 if art.reused else log.steps,
        trained_steps=int(built.get("steps", 0)),
        first_loss=built.get("first_loss"),
        final_loss=built.get("final_loss"),
        tokens_per_s=0.0 if art.reused else float(built.get("tokens_per_s", 0.0)),
        seconds=0.0 if art.reused else float(built.get("seconds", 0.0)),
        base=model,
        log=train_log,
    )


def export_adapter(artifact: Path, out: Path) -> Path:
    """Copy the adapter files into `out` (each file written atomically); returns `out`."""
    out.mkdir(parents=True, exist_ok=True)
    for src in sorted(artifact.iterdir()):
        if not src.is_file():
            continue
        name = "artifact.json" if src.name == "meta.json" else src.name
        with src.open("rb") as fin, atomic_open(out / name, "wb") as fout:
            shutil.copyfileobj(fin, fout)
    return out
