"""The one Protocol every inference backend implements (transformers, vLLM, OpenAI-compatible)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

Message = dict[str, str]
Conversation = Sequence[Message]


@dataclass(frozen=True)
class GenerationConfig:
    """Sampling settings shared by every backend."""

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    n: int = 1
    seed: int = 0


@dataclass(frozen=True)
class Completion:
    """One generated reply, or the error that stopped it (never both). ``token_logprobs``: the
    log-prob of each generated token, where the backend was asked for them and has them."""

    text: str | None
    error: str | None = None
    finish_reason: str | None = None
    token_logprobs: tuple[float, ...] | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Score:
    """Log-probability of one candidate assistant reply given a conversation."""

    logprob: float
    n_tokens: int
    token_logprobs: tuple[float, ...] = field(default=(), repr=False)

    @property
    def mean_logprob(self) -> float:
        return self.logprob / max(self.n_tokens, 1)


@runtime_checkable
class Backend(Protocol):
    """Chat generation and candidate scoring over one base model (+ optional adapter)."""

    name: str

    def generate(
        self, conversations: Sequence[Conversation], config: GenerationConfig
    ) -> list[list[Completion]]:
        """For each conversation, ``config.n`` completions of the next assistant turn."""
        ...

    def score(self, conversation: Conversation, candidates: Sequence[str]) -> list[Score]:
        """Log-prob of each candidate as the *whole* next assistant reply (end-of-turn included)."""
        ...
