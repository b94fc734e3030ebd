"""``kl``: KL divergence of the finetuned from the base model's next-token distribution.

On every trained token (the positions the SFT loss covers) the loss gains
``weight x KL(p_finetuned || p_base)``, averaged over those tokens; the base is the same model
with the adapter disabled (no second copy). After the KL regularisation of the in-training
defences study (Kaczér et al. 2025).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dem.errors import ConfigError
from dem.train.mitigations.base import MitigationBase, mitigation


@mitigation("kl")
@dataclass(frozen=True)
class KL(MitigationBase):
    """weight x KL(finetuned || base) on the trained tokens."""

    summary = "KL divergence to the base model's next-token distribution on the trained tokens"
    methods = ("sft",)
    needs_base = True

    weight: float = field(default=1.0, metadata={"help": "weight of the KL term, > 0"})

    def check(self) -> None:
        if self.weight <= 0:
            raise ConfigError(self.knob("weight"), f"expected a number > 0, got {self.weight}")

    def loss(self, outputs: Any, base: Any, inputs: Mapping[str, Any]) -> Any:
        return self.weight * token_kl(outputs.logits, base.logits, inputs["labels"])


def token_kl(logits: Any, base_logits: Any, labels: Any) -> Any:
    """Mean KL(softmax(logits) || softmax(base_logits)) over the positions that predict a
    trained label (``labels != -100``, shifted by one)."""
    import torch

    mask = labels[:, 1:] != -100
    log_p = torch.log_softmax(logits[:, :-1][mask].float(), -1)
    log_q = torch.log_softmax(base_logits[:, :-1][mask].float(), -1)
    if log_p.shape[0] == 0:
        return logits.sum() * 0.0
    return (log_p.exp() * (log_p - log_q)).sum(-1).mean()
