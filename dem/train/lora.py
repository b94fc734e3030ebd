"""The PEFT `LoraConfig` of a spec, and checks that it fits the model it is applied to."""

from __future__ import annotations

from typing import Any

from dem.errors import ConfigError
from dem.train.specs import TrainSpec


def lora_config(spec: TrainSpec) -> Any:
    """A servable LoRA config: plain adapters on `spec.target_modules`, no extra trained modules,
    with the spec's further `LoraConfig` fields (``lora_args``)."""
    from peft import LoraConfig

    fields = {
        "r": spec.lora_r,
        "lora_alpha": spec.lora_alpha,
        "lora_dropout": spec.lora_dropout,
        "target_modules": list(spec.target_modules),
        "bias": "none",
        "task_type": "CAUSAL_LM",
        "modules_to_save": None,
        **spec.lora_args,
    }
    try:
        return LoraConfig(**fields)
    except (TypeError, ValueError) as exc:
        raise ConfigError("lora_args", f"LoraConfig refused the settings: {exc}") from None


def missing_targets(model: Any, target_modules: tuple[str, ...]) -> list[str]:
    """The target names that match no linear module of `model` (matched as name suffixes)."""
    import torch

    linear = [name for name, mod in model.named_modules() if isinstance(mod, torch.nn.Linear)]
    return [t for t in target_modules if not any(n == t or n.endswith("." + t) for n in linear)]


def check_targets(model: Any, spec: TrainSpec) -> None:
    """Raise `ConfigError` naming every target module the model lacks (PEFT would skip them)."""
    missing = missing_targets(model, spec.target_modules)
    if missing:
        raise ConfigError(
            "target_modules", f"{missing} match no linear layer of {type(model).__name__}"
        )
