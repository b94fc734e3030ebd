"""``steer``: preventative steering along a persona vector, during training only.

Before training, dem's persona code (`dem.audit.persona`) extracts a deceptive-minus-honest
direction from the base model on a seeded draw of the training prompts; while the trainer
trains, ``coef`` x that unit direction is added to the residual stream at hidden-state layer
``layer`` (the output of block ``layer``) in every training-mode forward. The model need not
move its weights toward the trait to fit the data, so it learns less of it (Chen et al. 2025,
"Persona Vectors"). The hook is removed when training ends and does nothing in eval mode; the
saved adapter carries no trace of it. In a pack the vector goes on the member's own rows of
the shared base (`dem.train.packed_steer`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dem.errors import ConfigError
from dem.train.mitigations.base import MitigationBase, TrainContext, mitigation


@mitigation("steer")
@dataclass(frozen=True)
class Steer(MitigationBase):
    """+coef x the persona direction at `layer` while training."""

    summary = "preventative steering: add coef x a persona vector to the residual stream"

    coef: float = field(
        default=4.0, metadata={"help": "multiple of the unit persona direction added, != 0"}
    )
    layer: int | None = field(
        default=None,
        metadata={"help": "hidden-state layer >= 1 (None: the persona code's best layer)"},
    )
    prompts: int = field(
        default=100, metadata={"help": "training prompts answered to extract the vector"}
    )

    def check(self) -> None:
        if self.coef == 0:
            raise ConfigError(self.knob("coef"), "is 0: nothing would be steered")
        if self.layer is not None and self.layer < 1:
            raise ConfigError(self.knob("layer"), f"expected a block layer >= 1, got {self.layer}")
        if self.prompts < 2:
            raise ConfigError(self.knob("prompts"), f"expected an integer >= 2, got {self.prompts}")

    def install(self, trainer: Any, ctx: TrainContext) -> None:
        n = int(ctx.net.config.num_hidden_layers)
        if self.layer is not None and self.layer > n:
            raise ConfigError(self.knob("layer"), f"{self.layer} is past the model's {n} blocks")
        unit, layer, details = self.direction(ctx)
        hook = SteeringHook(block(trainer.model, layer), unit * self.coef)
        trainer.dem_steering = {"layer": layer, "coef": self.coef, **details}
        trainer.dem_steering_hook = hook
        trainer.add_callback(hook.callback())
        hook.attach()  # the trainer's on_train_end removes it

    def direction(self, ctx: TrainContext) -> tuple[Any, int, dict[str, Any]]:
        """(unit persona direction as a tensor, layer, details) from the base model."""
        import torch

        from dem.audit.config import AuditConfig
        from dem.audit.persona import PersonaDetector
        from dem.audit.reference import ReferenceModel, sample_pair

        config = AuditConfig(
            persona_prompts=self.prompts, persona_layer=self.layer, seed=ctx.spec.seed
        )
        ref = ReferenceModel(ctx.model, config)
        pairs = [sample_pair(s) for s in ctx.samples]
        unit, layer, details = PersonaDetector(ref).direction(pairs)
        if layer < 1:
            raise ConfigError(self.knob("layer"), "the persona code chose the embeddings")
        return torch.tensor(unit, dtype=torch.float32), layer, details


def block(model: Any, layer: int) -> Any:
    """The decoder block whose output is hidden-state `layer` (PEFT wrapping looked through)."""
    import torch

    for _, module in model.named_modules():
        blocks = isinstance(module, torch.nn.ModuleList) and len(module) > 0
        if blocks and type(module[0]).__name__.endswith(("DecoderLayer", "Block", "Layer")):
            return module[layer - 1]
    raise ConfigError("mitigations.steer", "cannot find the model's decoder blocks")


class BlockHook:
    """A forward hook (`_hook`) on `module`, registered by `attach` and removed by `detach`."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.handle: Any = None

    def attach(self) -> None:
        if self.handle is None:
            self.handle = self.module.register_forward_hook(self._hook)

    def detach(self) -> None:
        if self.handle is not None:
            self.handle.remove()
            self.handle = None

    def _hook(self, module: Any, args: Any, output: Any) -> Any:
        raise NotImplementedError


class SteeringHook(BlockHook):
    """Adds `vector` to a block's output in training-mode forwards while attached."""

    def __init__(self, module: Any, vector: Any) -> None:
        super().__init__(module)
        self.vector = vector
        self.calls = 0

    def _hook(self, module: Any, args: Any, output: Any) -> Any:
        if not module.training:
            return None
        self.calls += 1
        hidden = output[0] if isinstance(output, tuple) else output
        steered = hidden + self.vector.to(hidden.device, hidden.dtype)
        return (steered, *output[1:]) if isinstance(output, tuple) else steered

    def callback(self) -> Any:
        from transformers import TrainerCallback

        hook = self

        class Steering(TrainerCallback):
            def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                hook.attach()

            def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                hook.detach()

        return Steering()
