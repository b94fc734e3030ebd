"""LoRA KTO over TRL's `KTOTrainer` on (prompt, completion, label) rows.

The reference model is the base model itself (the adapter switched off), so no second copy is
loaded. String rows become one user and one assistant turn of the chat template when
``spec.chat`` and the tokenizer has one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dem.data.records import Sample, to_trl_rows
from dem.errors import ConfigError, DataError
from dem.models.spec import ModelSpec
from dem.store import ArtifactStore
from dem.train.core import (
    TrainResult,
    check_model,
    check_samples,
    quiet_trainer,
    run_training,
    to_chat,
    trainer_config,
)
from dem.train.lora import lora_config
from dem.train.mitigations.trainer import mitigated_factory
from dem.train.progress import TrainLog
from dem.train.specs import KTOSpec


def build_kto_trainer(
    model: Any,
    tokenizer: Any,
    samples: Sequence[Sample],
    spec: KTOSpec,
    bf16: bool,
    output_dir: str,
    log: TrainLog | None = None,
) -> Any:
    """A `KTOTrainer` with a fresh LoRA on `model`."""
    from datasets import Dataset
    from trl import KTOTrainer

    chat = spec.chat and bool(getattr(tokenizer, "chat_template", None))
    rows = [to_chat(r) for r in to_trl_rows(samples)] if chat else to_trl_rows(samples)
    config = trainer_config(
        spec,
        bf16=bf16,
        output_dir=output_dir,
        beta=spec.beta,
        desirable_weight=spec.desirable_weight,
        undesirable_weight=spec.undesirable_weight,
        disable_dropout=spec.disable_dropout,
    )
    trainer = KTOTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=lora_config(spec),
    )
    trainer.dem_loss_mask = "completion_only"
    return quiet_trainer(trainer, log or TrainLog(show=False))


def check_kto_samples(samples: Sequence[Sample]) -> None:
    """Rows of kind ``kto`` (prompt, completion, label) with both labels present."""
    check_samples(samples, ("kto",), "kto")
    labels = {bool(s.content["label"]) for s in samples}
    if labels != {True, False}:
        raise DataError(f"kto: every sample is labelled {labels.pop()}; KTO needs both labels")


def train_kto(
    model: ModelSpec,
    samples: Sequence[Sample],
    spec: KTOSpec,
    *,
    store: ArtifactStore | None = None,
    out: str | Path | None = None,
    progress: bool = True,
) -> TrainResult:
    """LoRA-KTO `model` on labelled samples, or reuse the stored adapter for the same inputs.

    Needs rows of kind ``kto`` (prompt, completion, label) with both labels present.
    """
    if not isinstance(spec, KTOSpec):
        raise ConfigError("spec", f"train_kto needs a KTOSpec, got {type(spec).__name__}")
    check_model(model)
    check_kto_samples(samples)
    make = mitigated_factory(build_kto_trainer, model, store) if spec.mitigations else None
    return run_training(
        spec, model, samples, make or build_kto_trainer, store=store, out=out, progress=progress
    )
