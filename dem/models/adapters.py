"""LoRA adapter checks run at every load: a servable PEFT folder, weights that are not inert, and
logits that the adapter actually changes.

Serving stacks are known to drop adapters silently, and an untrained adapter (PEFT initialises
``lora_B`` to zero) changes nothing: either would score the base model under the adapter's
name and pass a release gate. So every load of a model with an adapter goes through
`check_adapter_folder` and `check_adapter_weights`, and the transformers load also compares the
logits on a probe prompt with the adapter on and off (`check_adapter_effect`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dem.errors import DemError
from dem.textfile import read_json

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
DEFAULT_PROBE = [{"role": "user", "content": "In one sentence, what should I do this weekend?"}]
MIN_EFFECT = 1e-6  # largest logit change (absolute) below which an adapter counts as inert


def check_adapter_folder(folder: str | Path) -> dict[str, Any]:
    """Check that `folder` holds a plain, servable PEFT LoRA adapter; returns its config.

    Servable means: ``adapter_config.json`` plus ``adapter_model.safetensors``, no
    ``modules_to_save`` and only LoRA matrices in the weights (no resized embeddings or heads).
    """
    from safetensors import safe_open

    folder = Path(folder)
    config_path, weights_path = folder / ADAPTER_CONFIG, folder / ADAPTER_WEIGHTS
    for path in (config_path, weights_path):
        if not path.is_file():
            raise DemError(f"{folder}: not a PEFT adapter (missing {path.name})")
    config = read_json(config_path)
    if not isinstance(config, dict):
        raise DemError(f"{config_path}: expected a JSON object")
    if config.get("peft_type") != "LORA":
        raise DemError(f"{config_path}: peft_type is {config.get('peft_type')!r}, not 'LORA'")
    if config.get("modules_to_save"):
        raise DemError(f"{config_path}: modules_to_save={config['modules_to_save']} (not servable)")
    with safe_open(str(weights_path), framework="pt") as fh:
        keys = list(fh.keys())
    if not keys:
        raise DemError(f"{weights_path}: holds no tensors")
    extra = [k for k in keys if "lora_A" not in k and "lora_B" not in k]
    if extra:
        raise DemError(f"{weights_path}: holds non-LoRA tensors (e.g. {extra[0]}); not servable")
    return config


def check_adapter_weights(folder: str | Path) -> None:
    """Refuse an adapter whose ``lora_A`` or ``lora_B`` matrices are all zero: it changes
    nothing (a freshly initialised or wiped adapter), whatever backend serves it."""
    from safetensors import safe_open

    weights_path = Path(folder) / ADAPTER_WEIGHTS
    with safe_open(str(weights_path), framework="pt") as fh:
        keys = list(fh.keys())
        for half in ("lora_A", "lora_B"):
            names = [k for k in keys if half in k]
            if names and all(not fh.get_tensor(k).any() for k in names):
                raise DemError(
                    f"{Path(folder)}: every {half} matrix of the adapter is zero, so it changes "
                    "nothing (untrained?); refusing to score the base model under its name"
                )


def probe_inputs(tokenizer: Any, probe: str | list[dict[str, str]] | None = None) -> Any:
    """Token ids (a 1 x T tensor) of the probe: a chat turn rendered by the template, or text."""
    probe = DEFAULT_PROBE if probe is None else probe
    if isinstance(probe, str):
        text = probe
    elif getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(probe, tokenize=False, add_generation_prompt=True)
    else:
        text = "\n".join(m["content"] for m in probe)
    return tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]


def adapter_effect(model: Any, tokenizer: Any, probe: Any = None) -> float:
    """Largest absolute change of the logits on the probe when the PEFT adapter is switched on."""
    import torch

    ids = probe_inputs(tokenizer, probe).to(model.device)
    with torch.no_grad():
        on = model(input_ids=ids).logits.float()
        with model.disable_adapter():
            off = model(input_ids=ids).logits.float()
    return float((on - off).abs().max())


def check_adapter_effect(
    model: Any,
    tokenizer: Any,
    folder: str | Path,
    probe: Any = None,
    min_effect: float = MIN_EFFECT,
) -> float:
    """The adapter's effect on the probe's logits; raises `DemError` naming `folder` when it
    changes no logit by more than `min_effect`."""
    effect = adapter_effect(model, tokenizer, probe)
    if not effect > min_effect:
        raise DemError(
            f"{folder}: the adapter changes no logit on the probe prompt (max change "
            f"{effect:.3g} <= {min_effect:g}); it is untrained or does not attach to this model"
        )
    return effect
