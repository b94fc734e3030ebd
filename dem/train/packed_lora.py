"""A linear layer that applies K LoRA adapters at once, each to its own rows of the batch.

`PackedLoRA` wraps a frozen base `torch.nn.Linear`; its adapters are the LoRA matrices of K
PEFT models (``lora_A`` of shape ``[r, in]``, ``lora_B`` of shape ``[out, r]``), held by those
models, so each adapter's optimizer and saved file stay its own. `Routing` says which rows of
the batch belong to which adapter (contiguous blocks, adapter order). The K products run as two
batched matmuls over the stacked matrices (``torch.bmm`` over ``[K, b*L, in]``, each adapter's
block of rows, padded with zero rows to the largest block when they differ), not a loop over
adapters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn


@dataclass
class Routing:
    """Rows per adapter of the batch in hand (adapters in pack order; 0 rows: not in it);
    `off`: every adapter disabled, the base model alone (KTO's reference model)."""

    rows: list[int] = field(default_factory=list)
    off: bool = False

    def active(self) -> list[int]:
        """The adapters with rows in this batch."""
        return [k for k, n in enumerate(self.rows) if n]


class PackedLoRA(nn.Module):
    """``base(x) + scaling_k * x B_k A_k`` for the rows of adapter k."""

    def __init__(
        self,
        base: nn.Linear,
        a: list[nn.Parameter],
        b: list[nn.Parameter],
        scaling: list[float],
        routing: Routing,
    ) -> None:
        super().__init__()
        self.base = base
        self._a = a  # plain lists: the parameters belong to the adapters' own models
        self._b = b
        self.scaling = scaling
        self.routing = routing

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        if self.routing.off:  # as PEFT's disabled adapters: the base layer's output
            return out
        dtype = x.dtype
        x = x.to(self._a[0].dtype)  # as PEFT: the product in the adapter's dtype
        active = self.routing.active()
        rows = [self.routing.rows[k] for k in active]
        if sum(rows) != x.shape[0]:
            raise RuntimeError(f"routing covers {sum(rows)} rows, the batch has {x.shape[0]}")
        a = torch.stack([self._a[k] for k in active])  # [K, r, in]
        b = torch.stack([self._b[k] for k in active])  # [K, out, r]
        scale = torch.tensor([self.scaling[k] for k in active], dtype=x.dtype, device=x.device)
        k, most = len(active), max(rows)
        if len(set(rows)) == 1:  # every adapter has as many rows: [K, b*L, in] as it is
            xs = x.reshape(k, -1, x.shape[-1])
            delta = _products(xs, a, b) * scale.view(-1, 1, 1)
            return out + delta.reshape(out.shape).to(dtype)
        # else each adapter's block padded with zero rows to the largest block, then the same
        starts = torch.tensor([0, *rows[:-1]], device=x.device).cumsum(0)
        block = torch.repeat_interleave(torch.arange(k, device=x.device), torch.tensor(rows))
        within = torch.arange(x.shape[0], device=x.device) - starts[block]
        place = block * most + within
        xs = x.new_zeros(k * most, *x.shape[1:]).index_copy(0, place, x)
        delta = _products(xs.reshape(k, -1, x.shape[-1]), a, b) * scale.view(-1, 1, 1)
        return out + delta.reshape(k * most, *out.shape[1:])[place].to(dtype)


def _products(xs: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``xs[k] A_k^T B_k^T`` for every k: two batched matmuls."""
    return torch.bmm(torch.bmm(xs, a.transpose(1, 2)), b.transpose(1, 2))


def lora_matrices(peft_model: Any, name: str) -> tuple[nn.Parameter, nn.Parameter, float]:
    """(A, B, scaling) of the PEFT model's LoRA layer at base-model module path `name`."""
    layer = peft_model.base_model.model.get_submodule(name)
    adapter = layer.active_adapters[0]
    return (
        layer.lora_A[adapter].weight,
        layer.lora_B[adapter].weight,
        float(layer.scaling[adapter]),
    )


def pack_model(base: nn.Module, peft_models: list[Any], routing: Routing) -> list[str]:
    """Swap every linear layer of `base` that the PEFT models adapt for a `PackedLoRA` over
    their matrices; returns the module paths swapped. Every model must adapt the same layers."""
    names = sorted(
        n.removeprefix("base_model.model.")
        for n, m in peft_models[0].named_modules()
        if hasattr(m, "lora_A") and not isinstance(m, nn.ModuleDict)
    )
    for model in peft_models[1:]:
        other = sorted(
            n.removeprefix("base_model.model.")
            for n, m in model.named_modules()
            if hasattr(m, "lora_A") and not isinstance(m, nn.ModuleDict)
        )
        if other != names:
            raise ValueError("adapters of one pack must adapt the same layers")
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = base.get_submodule(parent_name) if parent_name else base
        linear = getattr(parent, child)
        if not isinstance(linear, nn.Linear):
            raise ValueError(f"{name} is a {type(linear).__name__}, not a linear layer")
        mats = [lora_matrices(m, name) for m in peft_models]
        packed = PackedLoRA(
            linear, [m[0] for m in mats], [m[1] for m in mats], [m[2] for m in mats], routing
        )
        setattr(parent, child, packed)
    return names
