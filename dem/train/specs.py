"""Training specs: one config dataclass per trainer, the study's defaults, named profiles.

Every field carries a help string (TRL style) and is validated in ``__post_init__``, so a bad
value raises `ConfigError` naming the field before any model loads.

Profiles:

- ``paper``: the study's recipe (LoRA r 32, alpha 64 on every attention and MLP projection;
  SFT lr 1e-4, KTO lr 1e-5 with beta 0.1; batch 16; 1 epoch; max length 2048; weight decay 0.01).
- ``interaction``: the recipe of the interaction self-training (5 epochs; SFT batch 8).
- ``cpu``: the paper's values where they fit a CPU: fp32, ``use_cpu``, no gradient
  checkpointing, batch 4, max length 512.

Any other field of TRL's trainer config or PEFT's `LoraConfig` is a setting too: `profile` and
`replace` route it into ``trainer_args`` / ``lora_args`` (`dem.train.settings`), checked against
the dataclass, so ``SFTSpec.profile("cpu", packing=True, use_rslora=True)`` works and a typo
names the closest field.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from dem.errors import ConfigError
from dem.train.lm_head import LM_HEADS
from dem.train.settings import LORA_ARGS, TRAINER_ARGS, check_args, route
from dem.validation import check_int

PAPER_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_SCHEDULERS = ("linear", "cosine", "constant", "constant_with_warmup", "cosine_with_restarts")
# transformers' experiment trackers (`transformers.integrations.INTEGRATION_TO_CALLBACK`)
REPORTERS = (
    "azure_ml", "clearml", "codecarbon", "comet_ml", "dagshub", "dvclive", "flyte", "mlflow",
    "neptune", "swanlab", "tensorboard", "trackio", "wandb",
)  # fmt: skip
# Fields that say where a run is reported, not what it trains: kept out of the cache key.
NOT_IN_KEY = ("report_to", "logging_dir")


@dataclass(frozen=True)
class TrainSpec:
    """Fields shared by every trainer: LoRA, optimisation, precision and bookkeeping."""

    method: ClassVar[str] = "base"
    trainer_config: ClassVar[str] = "SFTConfig"

    lora_r: int = field(default=32, metadata={"help": "LoRA rank."})
    lora_alpha: float = field(
        default=64, metadata={"help": "LoRA scaling numerator (the update is scaled by alpha / r)."}
    )
    lora_dropout: float = field(
        default=0.05, metadata={"help": "Dropout on the LoRA input, in [0, 1)."}
    )
    target_modules: tuple[str, ...] = field(
        default=PAPER_TARGETS,
        metadata={
            "help": "Names of the linear modules that get LoRA adapters (module-name suffixes, "
            "e.g. 'q_proj'). Every name must exist in the model."
        },
    )
    learning_rate: float = field(default=1e-4, metadata={"help": "Peak learning rate of AdamW."})
    lr_scheduler_type: str = field(
        default="linear", metadata={"help": f"Learning-rate schedule, one of {_SCHEDULERS}."}
    )
    warmup_steps: int = field(
        default=0, metadata={"help": "Linear warm-up steps before the schedule starts."}
    )
    num_train_epochs: float = field(
        default=1.0,
        metadata={"help": "Passes over the training data (ignored if max_steps is set)."},
    )
    max_steps: int | None = field(
        default=None,
        metadata={
            "help": "Stop after this many optimizer steps; None trains for num_train_epochs."
        },
    )
    batch_size: int = field(
        default=16,
        metadata={"help": "Examples per device per forward pass (per_device_train_batch_size)."},
    )
    gradient_accumulation_steps: int = field(
        default=1,
        metadata={
            "help": "Forward passes per optimizer step; effective batch = batch_size * this."
        },
    )
    max_length: int = field(
        default=2048, metadata={"help": "Longest tokenized example; longer ones are truncated."}
    )
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay."})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient clipping norm."})
    seed: int = field(
        default=0, metadata={"help": "Seed of LoRA initialisation, data order and dropout."}
    )
    bf16: bool | None = field(
        default=None,
        metadata={
            "help": "bfloat16 mixed precision; None means on for a CUDA device, off on the CPU."
        },
    )
    use_cpu: bool = field(
        default=False, metadata={"help": "Train on the CPU even when a GPU is present."}
    )
    gradient_checkpointing: bool = field(
        default=True,
        metadata={"help": "Recompute activations in the backward pass to save memory (slower)."},
    )
    logging_steps: int = field(
        default=1, metadata={"help": "Record loss and metrics every this many optimizer steps."}
    )
    chat: bool = field(
        default=True,
        metadata={
            "help": "Render string prompt/completion rows as a user turn and an assistant turn of "
            "the model's chat template; false trains on the raw text."
        },
    )
    report_to: tuple[str, ...] = field(
        default=(),
        metadata={
            "help": "Experiment trackers that receive the logged metrics, e.g. ['tensorboard'] or "
            f"['wandb'] (one of {REPORTERS}); empty reports nowhere. Not part of the cache key: "
            "a reused adapter reports nothing."
        },
    )
    logging_dir: str | None = field(
        default=None,
        metadata={
            "help": "Folder of the TensorBoard event files; None: runs/<method>-<key> under the "
            "artifact cache's root. Not part of the cache key."
        },
    )
    trainer_args: dict[str, Any] = field(
        default_factory=dict,
        metadata={
            "help": "Further fields of TRL's trainer config (SFTConfig / KTOConfig), by name, "
            "e.g. {'packing': true, 'optim': 'adafactor'}; checked against the dataclass."
        },
    )
    lora_args: dict[str, Any] = field(
        default_factory=dict,
        metadata={
            "help": "Further fields of PEFT's LoraConfig, by name, e.g. {'use_rslora': true}; "
            "checked against the dataclass."
        },
    )

    mitigations: tuple[Any, ...] = field(
        default=(),
        metadata={
            "help": "Defences applied while training (dem.train.mitigations), each "
            "'NAME[:KNOB=VALUE,...]' or a table {name=..., knobs}, e.g. [{name='kl', "
            "weight=0.5}]; part of the cache key (an empty list leaves the key as it was)."
        },
    )

    _PROFILES: ClassVar[dict[str, dict[str, Any]]] = {}

    def __post_init__(self) -> None:
        from dem.train.mitigations import check_method, make_mitigations

        mitigations = make_mitigations(self.mitigations)
        check_method(mitigations, self.method)
        object.__setattr__(self, "mitigations", mitigations)
        if isinstance(self.target_modules, str):
            raise ConfigError(
                "target_modules",
                f"{self.target_modules!r} is a string; give a list of module names, e.g. "
                "['q_proj', 'v_proj']",
            )
        if isinstance(self.target_modules, list):
            object.__setattr__(self, "target_modules", tuple(self.target_modules))
        check_int("lora_r", self.lora_r, 1)
        _positive(self, "lora_alpha")
        _float(self, "lora_dropout")
        if not 0.0 <= self.lora_dropout < 1.0:
            raise ConfigError("lora_dropout", f"{self.lora_dropout} is not in [0, 1)")
        if not isinstance(self.target_modules, tuple) or not self.target_modules:
            raise ConfigError("target_modules", "must be a non-empty list of module names")
        for name in self.target_modules:
            if not isinstance(name, str) or not _MODULE_NAME.match(name):
                raise ConfigError("target_modules", f"{name!r} is not a module name")
        if len(set(self.target_modules)) != len(self.target_modules):
            raise ConfigError("target_modules", "has duplicates")
        _positive(self, "learning_rate")
        if self.lr_scheduler_type not in _SCHEDULERS:
            raise ConfigError(
                "lr_scheduler_type", f"{self.lr_scheduler_type!r} not in {_SCHEDULERS}"
            )
        check_int("warmup_steps", self.warmup_steps, 0)
        _positive(self, "num_train_epochs")
        if self.max_steps is not None:
            check_int("max_steps", self.max_steps, 1)
        check_int("batch_size", self.batch_size, 1)
        check_int("gradient_accumulation_steps", self.gradient_accumulation_steps, 1)
        check_int("max_length", self.max_length, 8)
        _float(self, "weight_decay")
        if self.weight_decay < 0:
            raise ConfigError("weight_decay", f"{self.weight_decay} is negative")
        _positive(self, "max_grad_norm")
        check_int("seed", self.seed, 0)
        if self.bf16 is not None and not isinstance(self.bf16, bool):
            raise ConfigError("bf16", f"{self.bf16!r} is not true, false or None")
        for name in ("use_cpu", "gradient_checkpointing", "chat"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(name, f"{getattr(self, name)!r} is not true or false")
        check_int("logging_steps", self.logging_steps, 1)
        self._check_reporting()
        names = self.field_names()
        trainer_args = check_args(TRAINER_ARGS, self.trainer_args, self.trainer_config, names)
        object.__setattr__(self, TRAINER_ARGS, trainer_args)
        lora_args = check_args(LORA_ARGS, self.lora_args, "LoraConfig", names)
        object.__setattr__(self, LORA_ARGS, lora_args)

    def _check_reporting(self) -> None:
        report_to = self.report_to
        if isinstance(report_to, str):
            report_to = () if report_to == "none" else (report_to,)
        if not isinstance(report_to, list | tuple):
            raise ConfigError("report_to", f"expected a list of trackers, got {report_to!r}")
        for name in report_to:
            if name not in REPORTERS:
                raise ConfigError("report_to", f"{name!r} is not one of {REPORTERS}")
        object.__setattr__(self, "report_to", tuple(dict.fromkeys(report_to)))
        if self.logging_dir is not None and not (
            isinstance(self.logging_dir, str) and self.logging_dir
        ):
            raise ConfigError("logging_dir", f"expected a folder path, got {self.logging_dir!r}")

    @classmethod
    def field_names(cls) -> set[str]:
        return {f.name for f in dataclasses.fields(cls)}

    @classmethod
    def profile(cls, name: str = "paper", **overrides: Any) -> Self:
        """The named profile (``paper``, ``interaction``, ``cpu``), with `overrides` applied.

        An override may name any field of the spec, of TRL's trainer config or of PEFT's
        `LoraConfig` (see `dem.train.settings.route`)."""
        if name not in cls._PROFILES:
            raise ConfigError("profile", f"{name!r} is not one of {sorted(cls._PROFILES)}")
        settings = route(cls.field_names(), cls.trainer_config, overrides, cls.__name__)
        return cls(**{**cls._PROFILES[name], **settings})

    def replace(self, **changes: Any) -> Self:
        """A copy with `changes` (any setting, as in `profile`), validated again."""
        settings = route(self.field_names(), self.trainer_config, changes, type(self).__name__)
        for key in (TRAINER_ARGS, LORA_ARGS):
            if key in settings:
                settings[key] = {**getattr(self, key), **settings[key]}
        return dataclasses.replace(self, **settings)

    def to_dict(self) -> dict[str, Any]:
        """Every field that determines the adapter (what the artifact key hashes), plus the
        method; `NOT_IN_KEY` fields are left out."""
        out = dataclasses.asdict(self)
        out["target_modules"] = list(self.target_modules)
        for name in NOT_IN_KEY:
            del out[name]
        if self.mitigations:
            out["mitigations"] = [m.to_dict() for m in self.mitigations]
        else:  # an unmitigated spec keeps the key it had before mitigations existed
            del out["mitigations"]
        return {"method": self.method, **out}


_CPU = {
    "bf16": False,
    "use_cpu": True,
    "gradient_checkpointing": False,
    "batch_size": 4,
    "max_length": 512,
    "logging_steps": 10,  # logging every step costs a third of a tiny model's step time
}


@dataclass(frozen=True)
class SFTSpec(TrainSpec):
    """Supervised finetuning with LoRA; loss on the assistant's tokens only."""

    method: ClassVar[str] = "sft"

    learning_rate: float = field(default=1e-4, metadata={"help": "Peak learning rate of AdamW."})
    lm_head: str = field(
        default="auto",
        metadata={
            "help": f"How the loss is computed, one of {LM_HEADS}: 'fused' is TRL's chunked LM "
            "head (never holds the full logits; logs entropy and token accuracy), 'logits' the "
            "model's own forward and cross-entropy (a third faster on the CPU; logs token "
            "accuracy), 'auto' fused on CUDA/XPU and logits elsewhere (dem.train.lm_head)."
        },
    )

    _PROFILES: ClassVar[dict[str, dict[str, Any]]] = {
        "paper": {},
        "interaction": {"num_train_epochs": 5.0, "batch_size": 8},
        "cpu": dict(_CPU),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.lm_head not in LM_HEADS:
            raise ConfigError("lm_head", f"{self.lm_head!r} is not one of {LM_HEADS}")


@dataclass(frozen=True)
class KTOSpec(TrainSpec):
    """Kahneman-Tversky optimisation with LoRA on (prompt, completion, desirable?) rows."""

    method: ClassVar[str] = "kto"
    trainer_config: ClassVar[str] = "KTOConfig"

    learning_rate: float = field(default=1e-5, metadata={"help": "Peak learning rate of AdamW."})
    beta: float = field(
        default=0.1,
        metadata={"help": "KTO beta: higher keeps the policy closer to the reference model."},
    )
    desirable_weight: float = field(
        default=1.0, metadata={"help": "Weight of the loss on desirable (label true) rows."}
    )
    undesirable_weight: float = field(
        default=1.0, metadata={"help": "Weight of the loss on undesirable (label false) rows."}
    )
    disable_dropout: bool = field(
        default=True,
        metadata={
            "help": "Turn off every dropout (LoRA's too) so policy and reference log-probabilities "
            "are comparable; TRL's default."
        },
    )

    _PROFILES: ClassVar[dict[str, dict[str, Any]]] = {
        "paper": {},
        "interaction": {"num_train_epochs": 5.0},
        "cpu": dict(_CPU),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.batch_size, int) and self.batch_size < 2:
            raise ConfigError(
                "batch_size", f"{self.batch_size} < 2: KTO estimates its KL term within a batch"
            )
        _positive(self, "beta")
        _positive(self, "desirable_weight")
        _positive(self, "undesirable_weight")
        if not isinstance(self.disable_dropout, bool):
            raise ConfigError("disable_dropout", f"{self.disable_dropout!r} is not true or false")


def _float(spec: Any, name: str) -> None:
    value = getattr(spec, name)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ConfigError(name, f"{value!r} is not a number")


def _positive(spec: Any, name: str) -> None:
    _float(spec, name)
    if getattr(spec, name) <= 0:
        raise ConfigError(name, f"{getattr(spec, name)} must be > 0")
