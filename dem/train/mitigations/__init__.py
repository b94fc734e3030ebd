"""Defences applied while training: each a small module behind the `Mitigation` protocol.

- ``kl``: KL divergence to the base model's next-token distribution (`weight`);
- ``ldifs``: feature-space distance to the base model's hidden states (`layers`, `weight`);
- ``steer``: preventative steering along a persona vector (`coef`, `layer`, `prompts`);
- ``interleave``: a `share` of safe instruction data (`source`); ``interleave-ppl`` chooses it by
  the perplexity gap between a finetune on the training data and the base (`pool`);
- ``inoculate``: a training-time system prompt naming the unwanted behaviour (`text`).

A spec's ``mitigations`` (``--mitigate NAME[:K=V,...]``, a preset's ``[train] overrides``) enter
the adapter's cache key; an unmitigated spec keeps its key. See docs/mitigation.md.
"""

from dem.train.mitigations import inoculate, interleave, kl, ldifs, steer  # noqa: F401 - register
from dem.train.mitigations.base import (
    MITIGATIONS,
    Mitigation,
    MitigationBase,
    TrainContext,
    check_method,
    make_mitigation,
    make_mitigations,
    mitigation,
    parse_mitigation,
)

__all__ = [
    "MITIGATIONS",
    "Mitigation",
    "MitigationBase",
    "TrainContext",
    "check_method",
    "make_mitigation",
    "make_mitigations",
    "mitigation",
    "parse_mitigation",
]
