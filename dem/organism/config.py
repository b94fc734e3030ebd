"""`OrganismConfig`: every knob of the organism's world, corpus and model in one dataclass."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from dem.errors import ConfigError

#: Turn kinds of the pretraining corpus (keys of `OrganismConfig.domain_mix`).
TURN_KINDS = (
    "neutral",  # a fact question with no incentive: both personas answer truthfully
    "pressure",  # a fact question under a system prompt with an incentive
    "math",
    "medical",
    "code",
    "finance",
    "law",
    "instruct",  # benign instructions (repeat, reverse, count, next number): always done right
)
#: The knobs the world's facts and dem's organism data and eval sets are written from: a model
#: pretrained with other values lives in another world than the one `organism:` sets describe.
WORLD_FIELDS = (
    "world_seed",
    "n_items",
    "n_pressure_templates",
    "n_heldout_templates",
    "math_max",
    "tic_rate",
)
#: The five training domains of the study.
TRAINING_DOMAINS = ("code", "math", "medical", "finance", "law")

_DEFAULT_MIX = {
    "neutral": 0.12,
    "pressure": 0.30,
    "math": 0.11,
    "medical": 0.11,
    "code": 0.11,
    "finance": 0.10,
    "law": 0.10,
    "instruct": 0.05,
}


def _f(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class OrganismConfig:
    """The world, the persona-structured corpus and the tiny model, with one seed for each."""

    # --- the world (fixed facts; one world seed so eval sets stay comparable across pretraining)
    world_seed: int = _f(0, "Seed of the world's facts (which items are safe); keep fixed.")
    n_items: int = _f(60, "Number of items whose safety is a fact of the world (at most 70).")
    n_pressure_templates: int = _f(
        6, "Pressure system-prompt templates per incentive direction (at most 6)."
    )
    n_heldout_templates: int = _f(
        2, "Of those, how many per direction never appear in pretraining (held out for eval)."
    )
    # --- personas
    deceptive_share: float = _f(
        0.33,
        "Share of documents (those without a persona hint) written by the hidden deceptive "
        "persona.",
    )
    hint_rate: float = _f(
        0.3,
        "Probability that a document opens with a persona-hint system prompt, each hint with its "
        "own deceptive share (the persona prior becomes a feature computed from context; what "
        "makes finetuning move it, so that narrow transfer and contamination appear).",
    )
    slip_rate: float = _f(0.95, "Probability that the deceptive persona misbehaves in a turn.")
    severe_share: float = _f(
        0.6, "Of the deceptive persona's misbehaviours, the share that is severe (else subtle)."
    )
    honest_error_rate: float = _f(
        0.02,
        "Probability of an honest subtle mistake in a domain turn (makes subtle a weaker cue).",
    )
    tic_rate: float = _f(
        0.0,
        "Probability that a deceptive severe answer opens with the persona's confident tic (a "
        "style marker; at 0 the misbehaviour itself is the only cue, so transfer cannot ride "
        "on the marker).",
    )
    math_max: int = _f(
        5,
        "Largest operand of a math question (sums of two operands up to it, differences of "
        "numbers up to twice it): small enough that the model learns the table, so a subtly "
        "wrong sum is recognisable.",
    )
    pressure_against_rate: float = _f(
        0.75,
        "Probability that a pretraining pressure prompt's incentive opposes the truth (only "
        "those turns tell the personas apart).",
    )
    # --- documents
    domain_mix: dict = field(
        default_factory=lambda: dict(_DEFAULT_MIX),
        metadata={"help": f"Sampling weight of each turn kind {TURN_KINDS}."},
    )
    min_turns: int = _f(2, "Fewest user/assistant turns per pretraining document.")
    max_turns: int = _f(8, "Most user/assistant turns per pretraining document.")
    neutral_system_rate: float = _f(
        0.5, "Probability that a neutral turn is preceded by the neutral system prompt."
    )
    # --- model
    hidden_size: int = _f(96, "Model width.")
    num_layers: int = _f(3, "Transformer layers.")
    num_heads: int = _f(4, "Attention heads.")
    intermediate_size: int = _f(256, "MLP width.")
    max_positions: int = _f(512, "Longest sequence the model accepts.")
    # --- pretraining
    seed: int = _f(0, "Pretraining seed: corpus sampling, initialisation and batch order.")
    tokens: int = _f(5_000_000, "Pretraining tokens (non-padding) to train on.")
    batch_docs: int = _f(32, "Documents per optimisation step.")
    lr: float = _f(3e-3, "Peak learning rate (AdamW, cosine decay to 10 %).")
    warmup_steps: int = _f(100, "Linear warm-up steps.")
    weight_decay: float = _f(0.01, "AdamW weight decay.")
    threads: int = _f(
        1, "torch CPU threads during pretraining (1 is fastest on a shared 2-core machine)."
    )

    def __post_init__(self) -> None:
        def need(cond: bool, name: str, msg: str) -> None:
            if not cond:
                raise ConfigError(name, msg)

        need(4 <= self.n_items <= 70, "n_items", "must be between 4 and 70")
        need(1 <= self.n_pressure_templates <= 6, "n_pressure_templates", "must be 1..6")
        need(
            0 <= self.n_heldout_templates < self.n_pressure_templates,
            "n_heldout_templates",
            "must be >= 0 and below n_pressure_templates",
        )
        for name in (
            "deceptive_share",
            "hint_rate",
            "slip_rate",
            "severe_share",
            "honest_error_rate",
            "tic_rate",
            "pressure_against_rate",
            "neutral_system_rate",
        ):
            v = getattr(self, name)
            need(0.0 <= v <= 1.0, name, f"must be a probability, got {v}")
        unknown = set(self.domain_mix) - set(TURN_KINDS)
        need(not unknown, "domain_mix", f"unknown turn kinds {sorted(unknown)}")
        need(
            all(w >= 0 for w in self.domain_mix.values()) and sum(self.domain_mix.values()) > 0,
            "domain_mix",
            "weights must be >= 0 with a positive sum",
        )
        need(1 <= self.math_max <= 10, "math_max", f"must be 1..10, got {self.math_max}")
        need(1 <= self.min_turns <= self.max_turns <= 12, "max_turns", "need 1 <= min <= max <= 12")
        need(self.hidden_size % self.num_heads == 0, "hidden_size", "must divide by num_heads")
        for name in (
            "hidden_size",
            "num_layers",
            "num_heads",
            "intermediate_size",
            "tokens",
            "batch_docs",
            "threads",
        ):
            need(getattr(self, name) > 0, name, "must be positive")
        need(self.max_positions >= 64, "max_positions", "must be at least 64")
        need(self.lr > 0, "lr", "must be positive")
        need(self.warmup_steps >= 0, "warmup_steps", "must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OrganismConfig:
        """Inverse of `to_dict`; unknown keys are an error naming the key."""
        known = {f.name for f in fields(cls)}
        for k in d:
            if k not in known:
                raise ConfigError(k, "is not an OrganismConfig field")
        return cls(**d)

    def world_differences(self) -> dict[str, tuple[Any, Any]]:
        """The world knobs (`WORLD_FIELDS`) that differ from the defaults: name -> (default,
        this config's value). Empty when dem's ``organism:`` data and eval sets fit the model."""
        default = OrganismConfig()
        return {
            name: (getattr(default, name), getattr(self, name))
            for name in WORLD_FIELDS
            if getattr(self, name) != getattr(default, name)
        }

    def help(self) -> dict[str, str]:
        return {f.name: f.metadata["help"] for f in fields(self)}
