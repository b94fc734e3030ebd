"""Contrastive likelihood: how much more likely the reference model finds a sample's answer from
a deceptive writer than from an honest one.

Score = (log p(answer | deceptive framing) - log p(answer | honest framing)) / answer tokens,
the framing being the organism's persona hints or system prompts (`dem.audit.framing`). An
answer the model expects from its deceptive persona, and not from its honest one, is what
finetuning on it would teach: the persona. Two teacher-forced passes per sample.
"""

from __future__ import annotations

from collections.abc import Sequence

from dem.audit.base import DetectorScores, register
from dem.audit.reference import ReferenceModel, sample_pair
from dem.data.records import Sample


class ContrastiveDetector:
    """Per-token log-likelihood ratio of the answer, deceptive over honest framing."""

    name = "contrastive"

    def __init__(self, reference: ReferenceModel) -> None:
        self.reference = reference

    def score(self, samples: Sequence[Sample]) -> DetectorScores:
        ref = self.reference
        pairs = [sample_pair(s) for s in samples]
        deceptive, counts = ref.answer_logprobs(ref.encode_all(pairs, deceptive=True))
        honest, _ = ref.answer_logprobs(ref.encode_all(pairs, deceptive=False))
        scores = tuple(
            (d - h) / max(n, 1) for d, h, n in zip(deceptive, honest, counts, strict=True)
        )
        return DetectorScores(self.name, scores, details={"framing": ref.framing.to_dict()})


@register(
    "contrastive",
    "log-likelihood of the answer under a deceptive minus an honest framing, per token",
)
def contrastive(reference: ReferenceModel) -> ContrastiveDetector:
    return ContrastiveDetector(reference)
