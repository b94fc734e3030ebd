"""LoRA training (SFT and KTO over TRL + PEFT) with adapters cached in the artifact store.

Public face (imported lazily, so ``import dem.train`` stays torch-free):

- `SFTSpec`, `KTOSpec`: config dataclasses, ``.profile("paper" | "interaction" | "cpu")``;
  any field of TRL's trainer config or PEFT's `LoraConfig` is a setting too
  (`dem.train.settings`).
- `train_sft`, `train_kto`: train (or reuse) an adapter; return a `TrainResult`.
- `load_adapter_checked`, `merge_adapter`, `check_adapter_folder`: adapters.
"""

from __future__ import annotations

from dem.lazy import lazy_exports

_EXPORTS = {
    "SFTSpec": "dem.train.specs",
    "KTOSpec": "dem.train.specs",
    "TrainSpec": "dem.train.specs",
    "PAPER_TARGETS": "dem.train.specs",
    "TrainResult": "dem.train.core",
    "train_sft": "dem.train.sft",
    "train_kto": "dem.train.kto",
    "load_adapter_checked": "dem.train.adapters",
    "merge_adapter": "dem.train.adapters",
    "check_adapter_folder": "dem.train.adapters",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)
