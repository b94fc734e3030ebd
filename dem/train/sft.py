"""LoRA supervised finetuning over TRL's `SFTTrainer`, loss on the assistant's tokens only.

Loss masks, by data shape:

- ``messages`` rows with a chat template that marks assistant turns (``{% generation %}``, or
  one TRL can patch) and puts the end-of-turn token inside them: ``assistant_only_loss``, every
  assistant turn is trained.
- ``messages`` rows with any other template: the last turn becomes the completion and the rest
  the prompt (``completion_only_loss``); earlier assistant turns are context only.
- ``prompt``/``completion`` rows: ``completion_only_loss`` (strings become one user and one
  assistant turn when ``spec.chat`` and the tokenizer has a chat template).

In every mode the end-of-turn token that closes the trained reply is inside the loss.
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
from dem.train.lm_head import effective_lm_head, sft_trainer_class
from dem.train.lora import lora_config
from dem.train.mitigations.trainer import (
    loss_terms,
    mitigated_factory,
    mitigated_sft_trainer_class,
)
from dem.train.progress import TrainLog
from dem.train.specs import SFTSpec

SFT_KINDS = ("messages", "prompt_completion")


def loss_mask_mode(tokenizer: Any, samples: Sequence[Sample]) -> str:
    """``assistant_only``, ``last_turn`` or ``completion_only`` (see the module docstring)."""
    if samples[0].kind != "messages":
        return "completion_only"
    if not getattr(tokenizer, "chat_template", None):
        return "last_turn"
    from trl.chat_template_utils import (
        get_training_chat_template,
        is_chat_template_stop_token_trained,
    )

    try:
        template = get_training_chat_template(tokenizer)
    except ValueError:
        return "last_turn"
    ok = is_chat_template_stop_token_trained(tokenizer, chat_template=template)
    return "assistant_only" if ok else "last_turn"


def sft_rows(samples: Sequence[Sample], mode: str, *, chat: bool) -> list[dict[str, Any]]:
    """TRL rows for `mode`."""
    rows = to_trl_rows(samples)
    if mode == "assistant_only":
        return rows
    if mode == "last_turn":
        out = []
        for i, row in enumerate(rows):
            messages = row["messages"]
            if messages[-1]["role"] != "assistant" or len(messages) < 2:
                raise DataError(f"sample {i}: the last message must be an assistant reply")
            out.append({"prompt": messages[:-1], "completion": messages[-1:]})
        return out
    return [to_chat(r) for r in rows] if chat else rows


def build_sft_trainer(
    model: Any,
    tokenizer: Any,
    samples: Sequence[Sample],
    spec: SFTSpec,
    bf16: bool,
    output_dir: str,
    log: TrainLog | None = None,
) -> Any:
    """An `SFTTrainer` with a fresh LoRA on `model`; its dataset is tokenized and labelled."""
    from datasets import Dataset

    mode = loss_mask_mode(tokenizer, samples)
    chat = spec.chat and bool(getattr(tokenizer, "chat_template", None))
    rows = sft_rows(samples, mode, chat=chat)
    config = trainer_config(
        spec,
        bf16=bf16,
        output_dir=output_dir,
        assistant_only_loss=mode == "assistant_only",
        completion_only_loss=None if mode == "assistant_only" else True,
        packing=False,
        dataset_num_proc=None,
    )
    terms = loss_terms(spec.mitigations)
    trainer_class = mitigated_sft_trainer_class() if terms else sft_trainer_class()
    trainer = trainer_class(
        model=model,
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=lora_config(spec),
    )
    trainer.dem_loss_mask = mode
    trainer.dem_lm_head = effective_lm_head(spec.lm_head, str(model.device))
    if terms:  # a loss term reads the logits: the model's own LM head
        trainer.dem_loss_terms, trainer.dem_lm_head = tuple(terms), "logits"
    return quiet_trainer(trainer, log or TrainLog(show=False))


def train_sft(
    model: ModelSpec,
    samples: Sequence[Sample],
    spec: SFTSpec,
    *,
    store: ArtifactStore | None = None,
    out: str | Path | None = None,
    progress: bool = True,
) -> TrainResult:
    """LoRA-SFT `model` on `samples`, or reuse the stored adapter trained on the same inputs.

    `store` defaults to ``ArtifactStore()`` ($DEM_CACHE or the user cache); `out` receives a
    copy of the adapter. Bad specs, models or samples fail before any model loads.
    """
    if not isinstance(spec, SFTSpec):
        raise ConfigError("spec", f"train_sft needs an SFTSpec, got {type(spec).__name__}")
    check_model(model)
    check_samples(samples, SFT_KINDS, "sft")
    make = mitigated_factory(build_sft_trainer, model, store) if spec.mitigations else None
    return run_training(
        spec, model, samples, make or build_sft_trainer, store=store, out=out, progress=progress
    )
