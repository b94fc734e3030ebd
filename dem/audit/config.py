"""`AuditConfig`: how an audit flags samples and how its detectors run; validated eagerly."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from dem.errors import ConfigError
from dem.fields import help_field
from dem.validation import check_fields, check_int

FRAMINGS = ("auto", "organism", "system")


@dataclass(frozen=True)
class AuditConfig:
    """Every knob of an audit. A bad value raises `ConfigError` naming the field."""

    budget: float = help_field(
        "share of the samples to flag, in (0, 1): the top-scored round(budget x N) samples "
        "(at least one)",
        0.02,
    )
    threshold: float | None = help_field(
        "flag every sample scoring at least this instead of a budget (None: use the budget)",
        None,
    )
    framing: str = help_field(
        "honest vs deceptive framing of the contrastive and persona detectors: 'organism' (the "
        "model organism's persona hints), 'system' (system prompts for a general model) or "
        "'auto' (the organism's hints for an organism folder, else system prompts)",
        "auto",
    )
    honest_system: str | None = help_field(
        "the honest framing's system prompt (None: the framing's own)", None
    )
    deceptive_system: str | None = help_field(
        "the deceptive framing's system prompt (None: the framing's own)", None
    )
    batch_size: int = help_field("sequences per forward pass", 64)
    max_length: int = help_field(
        "longest sequence scored, in tokens; longer prompts lose their start, longer answers "
        "their end",
        512,
    )
    probe: str | None = help_field(
        "honesty probe of the gradient detector: a MASK-format eval set (None: 'organism:mask' "
        "for an organism, else 'dem:mask_pressure')",
        None,
    )
    probe_limit: int = help_field("probe rows used (the first N binary rows)", 240)
    rank: int = help_field(
        "rank of the gradient detector's LoRA projection (the LoRA A matrices, seeded)", 32
    )
    persona_prompts: int = help_field(
        "prompts of the audited file (a seeded draw) answered under both framings to extract "
        "the persona vector",
        100,
    )
    persona_layer: int | None = help_field(
        "hidden-state layer of the persona vector (0 = embeddings; None: the layer that best "
        "separates the extraction answers)",
        None,
    )
    max_new_tokens: int = help_field("tokens per generated answer (persona, judge)", 48)
    judge_backend: str = help_field(
        "backend of the judge detector: transformers, vllm or openai", "transformers"
    )
    judge_base_url: str | None = help_field(
        "OpenAI-compatible server URL (…/v1) of the judge detector (openai backend only)", None
    )
    judge_max_new_tokens: int = help_field("tokens of the judge's reasoning and score", 160)
    n_resamples: int = help_field("bootstrap resamples of the metrics' confidence intervals", 1000)
    confidence: float = help_field("confidence level of the metrics' intervals", 0.95)
    seed: int = help_field("seed of every random choice (prompt draws, projections, bootstrap)", 0)

    def __post_init__(self) -> None:
        check_fields(self)
        b = self.budget
        if not math.isfinite(b) or not 0 < b < 1:
            raise ConfigError("budget", f"expected a share in (0, 1), got {b!r}")
        if self.threshold is not None and not math.isfinite(self.threshold):
            raise ConfigError("threshold", f"expected a finite number, got {self.threshold!r}")
        if self.framing not in FRAMINGS:
            raise ConfigError("framing", f"{self.framing!r} is not one of {', '.join(FRAMINGS)}")
        for name in ("batch_size", "probe_limit", "rank", "persona_prompts", "max_new_tokens"):
            check_int(name, getattr(self, name), minimum=1)
        check_int("judge_max_new_tokens", self.judge_max_new_tokens, minimum=1)
        check_int("max_length", self.max_length, minimum=8)
        check_int("n_resamples", self.n_resamples, minimum=100)
        if self.persona_layer is not None:
            check_int("persona_layer", self.persona_layer, minimum=0)
        if not 0.5 <= self.confidence < 1:
            raise ConfigError("confidence", f"expected a level in [0.5, 1), got {self.confidence}")
        from dem.models.backends import BACKENDS

        if self.judge_backend not in BACKENDS:
            raise ConfigError(
                "judge_backend", f"{self.judge_backend!r} is not one of {', '.join(BACKENDS)}"
            )
        if self.judge_backend == "openai" and not self.judge_base_url:
            raise ConfigError("judge_base_url", "the openai judge backend needs a server URL")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> AuditConfig:
        """From ``FIELD: value`` pairs; an unknown field is a `ConfigError` listing the known."""
        known = {f.name for f in fields(cls)}
        for name in values:
            if name not in known:
                raise ConfigError(name, f"unknown audit setting; known: {sorted(known)}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
