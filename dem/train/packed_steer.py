"""`steer` in a pack: each member's persona vector added to its own rows of the shared base.

Alone, `dem.train.mitigations.steer.SteeringHook` adds ``coef x`` the unit persona direction to
the output of one decoder block in every training-mode forward of the trainer's model (the
finetuned forward, and the base forward a loss term or KTO's reference runs beside it). A
member's trainer in a pack holds a shell of the base whose blocks never run, so here one hook
per steered layer on the shared base adds member k's vector to the rows that `Routing` gives
member k (nothing to the other members' rows). A forward whose batch is several copies of the
routing's layout (packed KTO's reference pass runs the mismatched and the main rows in one)
gets the vectors once per copy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from dem.train.mitigations.steer import BlockHook


class PackedSteering(BlockHook):
    """Adds ``vectors[k]`` (None: nothing) to member k's rows of `module`'s output in
    training-mode forwards while attached."""

    def __init__(self, module: Any, vectors: Sequence[Any], routing: Any) -> None:
        super().__init__(module)
        self.vectors = list(vectors)
        self.routing = routing

    def _hook(self, module: Any, args: Any, output: Any) -> Any:
        import torch

        rows = self.routing.rows
        if not module.training or not any(
            self.vectors[k] is not None for k, n in enumerate(rows) if n
        ):
            return None
        hidden = output[0] if isinstance(output, tuple) else output
        total = sum(rows)
        if total == 0 or hidden.shape[0] % total:
            raise RuntimeError(f"routing covers {total} rows, the batch has {hidden.shape[0]}")
        width = hidden.shape[-1]
        blocks = [
            (v.to(hidden.device, hidden.dtype) if v is not None else hidden.new_zeros(width))
            .reshape(1, width)
            .expand(n, width)
            for v, n in zip(self.vectors, rows, strict=True)
            if n
        ]
        per_row = torch.cat(blocks).repeat(hidden.shape[0] // total, 1)
        steered = hidden + per_row[:, None, :]
        return (steered, *output[1:]) if isinstance(output, tuple) else steered


@contextmanager
def packed_steering(net: Any, trainers: Sequence[Any], routing: Any) -> Iterator[list[Any]]:
    """While in the block: on `net`, each steered trainer's vector (`Steer.install` set
    ``dem_steering_hook``) on its rows at its layer; the trainers' own hooks (on their shells)
    detached."""
    from dem.train.mitigations.steer import block

    layers: dict[int, list[Any]] = {}
    for k, trainer in enumerate(trainers):
        hook = getattr(trainer, "dem_steering_hook", None)
        if hook is None:
            continue
        hook.detach()
        vectors = layers.setdefault(int(trainer.dem_steering["layer"]), [None] * len(trainers))
        vectors[k] = hook.vector
    hooks = [PackedSteering(block(net, layer), v, routing) for layer, v in sorted(layers.items())]
    for h in hooks:
        h.attach()
    try:
        yield hooks
    finally:
        for h in hooks:
            h.detach()
