"""LoRA adapters: loading with a proof that the adapter acts, and merged export.

The checks themselves live in `dem.models.adapters` and run at every load of a model with an
adapter (`dem.models.loading.load_model`); they are re-exported here for training code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dem.atomic import atomic_folder
from dem.errors import ConfigError
from dem.models.adapters import (
    ADAPTER_CONFIG,
    ADAPTER_WEIGHTS,
    DEFAULT_PROBE,
    adapter_effect,
    check_adapter_folder,
    check_adapter_weights,
    probe_inputs,
)
from dem.models.spec import ModelSpec

__all__ = [
    "ADAPTER_CONFIG",
    "ADAPTER_WEIGHTS",
    "DEFAULT_PROBE",
    "adapter_effect",
    "check_adapter_folder",
    "check_adapter_weights",
    "load_adapter_checked",
    "merge_adapter",
    "probe_inputs",
]


def load_adapter_checked(
    spec: ModelSpec, probe: str | list[dict[str, str]] | None = None
) -> tuple[Any, Any]:
    """Load base + adapter (`spec.adapter`) with the load-time checks of
    `dem.models.loading.load_model`, on `probe` (default: a short chat turn).

    Raises `DemError` when the adapter is malformed, targets modules the model lacks, or changes
    no logit on the probe (e.g. a freshly initialised LoRA, whose B is zero).
    """
    from dem.models.loading import load_model

    if not spec.adapter:
        raise ConfigError("adapter", f"{spec.display_name} has no adapter to check")
    return load_model(spec, probe=probe)


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
    with atomic_folder(out_dir) as tmp:
        merged.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
    return out_dir
