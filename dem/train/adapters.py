"""LoRA adapters: format checks, loading with a proof that the adapter acts, merged export.

Serving stacks are known to drop adapters silently, so `load_adapter_checked` compares the
model's logits on a probe prompt with the adapter on and off and raises when they agree.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from dem.atomic import apply_umask
from dem.errors import ConfigError, DemError
from dem.models.spec import ModelSpec
from dem.textfile import read_json

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
DEFAULT_PROBE = [{"role": "user", "content": "In one sentence, what should I do this weekend?"}]


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


def load_adapter_checked(
    spec: ModelSpec, probe: str | list[dict[str, str]] | None = None, *, min_effect: float = 1e-6
) -> tuple[Any, Any]:
    """Load base + adapter (`spec.adapter`) and check the adapter changes the probe's logits.

    Raises `DemError` when the adapter is malformed, targets modules the model lacks, or changes
    no logit by more than `min_effect` (e.g. a freshly initialised LoRA, whose B is zero).
    """
    from dem.models.loading import load_model

    if not spec.adapter:
        raise ConfigError("adapter", f"{spec.display_name} has no adapter to check")
    check_adapter_folder(spec.adapter)
    try:
        model, tokenizer = load_model(spec)
    except (ValueError, KeyError, RuntimeError) as exc:
        raise DemError(f"{spec.adapter}: adapter does not fit {spec.name_or_path}: {exc}") from exc
    effect = adapter_effect(model, tokenizer, probe)
    if not effect > min_effect:
        raise DemError(
            f"{spec.adapter}: the adapter changes no logit on the probe prompt (max change "
            f"{effect:.3g} <= {min_effect:g}); it is untrained or does not attach to this model"
        )
    return model, tokenizer


def merge_adapter(
    spec: ModelSpec, out_dir: str | Path, probe: str | list[dict[str, str]] | None = None
) -> Path:
    """Write base + adapter merged into one model folder (with tokenizer) at `out_dir`.

    The folder loads with plain ``AutoModelForCausalLM.from_pretrained``. It is written beside
    `out_dir` and renamed into place; an existing non-empty `out_dir` is an error.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ConfigError("out", f"{out_dir} exists and is not an empty folder")
    model, tokenizer = load_adapter_checked(spec, probe)
    merged = model.merge_and_unload()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        merged.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        apply_umask(tmp)
        if out_dir.exists():
            out_dir.rmdir()
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
