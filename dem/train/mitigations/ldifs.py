"""``ldifs``: distance in feature space between the finetuned and the base model.

The loss gains ``weight x`` the mean squared distance (per hidden unit, over every non-padding
token) between the finetuned and the base model's hidden states at the chosen layers, averaged
over the layers: LDIFS (Mukhoti et al. 2024, "Fine-tuning can cripple your foundation model;
preserving features may be the solution"), as the in-training defences study applies it. Layers
count as ``output_hidden_states`` does: 0 the embeddings, k the output of block k.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dem.errors import ConfigError
from dem.train.mitigations.base import MitigationBase, TrainContext, mitigation


@mitigation("ldifs")
@dataclass(frozen=True)
class LDIFS(MitigationBase):
    """weight x mean squared hidden-state distance to the base at `layers`."""

    summary = "feature-space distance to the base model's hidden states at chosen layers"
    methods = ("sft",)
    needs_base = True
    needs_hidden = True

    layers: tuple[int, ...] = field(
        default=(), metadata={"help": "hidden-state layers (1 = first block); empty: every block"}
    )
    weight: float = field(default=1.0, metadata={"help": "weight of the distance term, > 0"})

    def check(self) -> None:
        if self.weight <= 0:
            raise ConfigError(self.knob("weight"), f"expected a number > 0, got {self.weight}")
        for layer in self.layers:
            if layer < 1:
                raise ConfigError(self.knob("layers"), f"{layer}: expected block layers >= 1")
        if len(set(self.layers)) != len(self.layers):
            raise ConfigError(self.knob("layers"), f"{list(self.layers)} has duplicates")

    def install(self, trainer: Any, ctx: TrainContext) -> None:
        n = int(ctx.net.config.num_hidden_layers)
        for layer in self.layers:
            if layer > n:
                raise ConfigError(self.knob("layers"), f"{layer} is past the model's {n} blocks")

    def loss(self, outputs: Any, base: Any, inputs: Mapping[str, Any]) -> Any:
        hidden, base_hidden = outputs.hidden_states, base.hidden_states
        layers = self.layers or tuple(range(1, len(hidden)))
        mask = inputs.get("attention_mask")
        total = 0.0
        for k in layers:
            sq = (hidden[k].float() - base_hidden[k].float()).pow(2).mean(-1)
            total = total + (sq[mask.bool()].mean() if mask is not None else sq.mean())
        return self.weight * total / len(layers)
