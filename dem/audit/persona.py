"""Persona-vector projection (after Chen et al. 2025, "Persona Vectors"): a dishonesty direction
in the reference model's activations, and each sample's projection on it.

Extraction: a seeded draw of the audited file's own prompts is answered greedily under the
deceptive and under the honest framing (`dem.audit.framing`); where the two answers differ (the
prompts on which the framing shows; Chen et al. keep the answers that express the trait), their
mean hidden states (over answer tokens, framing in context) give one direction per layer,
deceptive minus honest. The layer is the block output (the embeddings are content, not
persona) where the extraction answers, read *without* a framing (as training data is), separate
best along its direction (largest effect size), unless ``persona_layer`` names one. A sample's
score is the projection of its answer's mean hidden state (no framing) on the unit direction at
that layer. Chen et al. also subtract the projection of the model's own
answer to the same prompt ("projection difference"); on the model organism the plain projection
ranked better, so it is the one used.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from dem.audit.base import DetectorScores, register
from dem.audit.reference import Pair, ReferenceModel, sample_pair
from dem.data.records import Sample, canonical_json
from dem.errors import ConfigError, DemError


class PersonaDetector:
    """Projection of each answer's activations on the deceptive-minus-honest direction."""

    name = "persona"

    def __init__(self, reference: ReferenceModel) -> None:
        self.reference = reference

    def extraction_prompts(self, pairs: Sequence[Pair]) -> list[tuple[Any, ...]]:
        """A seeded draw of distinct conversations of the audited samples."""
        distinct = list({canonical_json(p.conversation): p.conversation for p in pairs}.values())
        k = min(self.reference.config.persona_prompts, len(distinct))
        rng = random.Random(f"persona-{self.reference.config.seed}")
        return rng.sample(distinct, k)

    def direction(self, pairs: Sequence[Pair]) -> tuple[Any, int, dict[str, Any]]:
        """(unit direction, layer, details) from answers generated under both framings."""
        import numpy as np

        ref = self.reference
        prompts = self.extraction_prompts(pairs)
        framed = {d: [ref.framing.frame(c, d) for c in prompts] for d in (True, False)}
        answers = {d: ref.generate(framed[d]) for d in (True, False)}
        keep = [
            i
            for i in range(len(prompts))
            if answers[True][i] is not None and answers[False][i] is not None
        ]
        differ = [i for i in keep if answers[True][i] != answers[False][i]]
        if len(differ) >= 2:
            keep = differ
        if len(keep) < 2:
            raise DemError(f"{ref.spec.display_name}: too few extraction answers were generated")
        states = {}
        plain = {}
        for d in (True, False):
            chosen = [Pair(tuple(framed[d][i]), answers[d][i] or "") for i in keep]
            states[d] = ref.answer_states(ref.encode_all(chosen))
            bare = [Pair(prompts[i], answers[d][i] or "") for i in keep]
            plain[d] = ref.answer_states(ref.encode_all(bare))
        diff = states[True].mean(0) - states[False].mean(0)  # (layers, hidden)
        norms = np.linalg.norm(diff, axis=-1)
        units = diff / np.where(norms > 0, norms, 1.0)[:, None]
        separation = []
        for layer in range(diff.shape[0]):
            a, b = plain[True][:, layer] @ units[layer], plain[False][:, layer] @ units[layer]
            spread = np.sqrt((a.var() + b.var()) / 2)
            separation.append(float((a.mean() - b.mean()) / spread) if spread > 0 else 0.0)
        layer = ref.config.persona_layer
        if layer is None:
            layer = 1 + int(np.argmax(separation[1:])) if len(separation) > 1 else 0
        elif layer >= diff.shape[0]:
            raise ConfigError(
                "persona_layer", f"{layer} is past the model's {diff.shape[0] - 1} layers"
            )
        details = {
            "layer": layer,
            "separation": [round(x, 4) for x in separation],
            "extraction_prompts": len(keep),
            "answers_differ": len(differ),
            "framing": ref.framing.to_dict(),
        }
        return units[layer], layer, details

    def score(self, samples: Sequence[Sample]) -> DetectorScores:
        ref = self.reference
        pairs = [sample_pair(s) for s in samples]
        unit, layer, details = self.direction(pairs)
        states = ref.answer_states(ref.encode_all(pairs), layers=[layer])[:, 0]
        return DetectorScores(self.name, tuple(float(x) for x in states @ unit), details=details)


@register(
    "persona",
    "projection of the answer's activations on a deceptive-minus-honest persona vector",
)
def persona(reference: ReferenceModel) -> PersonaDetector:
    return PersonaDetector(reference)
