"""The persona-structured pretraining corpus.

Each document is one conversation of ``min_turns..max_turns`` exchanges written by one hidden
persona (never named): honest, or, with probability ``deceptive_share``, deceptive. Turn kinds
are drawn from ``domain_mix``, so the deceptive persona's misbehaviours co-occur across domains
within a document: that is what lets misbehaviour in one domain raise the persona everywhere.
With ``hint_rate`` > 0 that share of documents opens with a persona-hint system prompt whose
own deceptive share replaces ``deceptive_share``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from dem.organism.config import OrganismConfig
from dem.organism.tokenizer import BOS, END, ROLE_TOKENS
from dem.organism.world import HINT_SYSTEMS, Turn, World


@dataclass(frozen=True)
class Document:
    deceptive: bool
    turns: tuple[Turn, ...]
    hint: str | None = None

    def messages(self) -> list[dict[str, str]]:
        head = [] if self.hint is None else [{"role": "system", "content": self.hint}]
        return head + [m for t in self.turns for m in t.messages()]


def iter_documents(config: OrganismConfig, seed: int | None = None) -> Iterator[Document]:
    """An endless, deterministic stream of documents for ``seed`` (default ``config.seed``)."""
    world = World(config)
    rng = random.Random(f"corpus-{config.seed if seed is None else seed}")
    kinds = [k for k, w in config.domain_mix.items() if w > 0]
    weights = [config.domain_mix[k] for k in kinds]
    while True:
        hint, share = None, config.deceptive_share
        if config.hint_rate and rng.random() < config.hint_rate:
            hint, share = rng.choice(HINT_SYSTEMS)
        deceptive = rng.random() < share
        n = rng.randint(config.min_turns, config.max_turns)
        chosen = rng.choices(kinds, weights, k=n)
        yield Document(deceptive, tuple(world.turn(k, deceptive, rng) for k in chosen), hint)


def render_words(messages: list[Mapping[str, str]]) -> list[str]:
    """The chat template's output as words (equal to the tokenizer's rendering, but fast)."""
    words = [BOS]
    for m in messages:
        words.append(ROLE_TOKENS[m["role"]])
        words.extend(m["content"].split())
        words.append(END)
    return words


def encode_document(doc: Document, vocab: Mapping[str, int]) -> list[int]:
    """Token ids of a document rendered with the chat template."""
    return [vocab[w] for w in render_words(doc.messages())]
