"""``interleave`` and ``interleave-ppl``: a share of safe instruction data mixed into training.

``interleave`` adds ``k = round(share x N / (1 - share))`` safe samples to the N training samples,
so safe rows are ``share`` of the mix (k / (N + k), exact up to rounding), drawn from `source`
with the run's seed. ``interleave-ppl`` draws ``pool`` x k candidates the same way and keeps the
k with the largest perplexity gap: the mean per-token negative log-likelihood of the answer
under a model finetuned on the training data (the unmitigated run with the same spec, reused
from the cache when it is there) minus the same under the base model. These are the safe answers
the finetune unlearns most, the selection Kaczér et al. (2025) report as best overall. Ties keep
the earlier candidate, so the choice is deterministic.

`source`: ``auto`` (the organism's downstream instructions for an organism, dem's procedural
downstream set otherwise), ``organism:downstream``, ``downstream``, or a data file.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dem.data.records import Sample
from dem.errors import ConfigError
from dem.train.mitigations.base import MitigationBase, TrainContext, mitigation

SOURCES = ("auto", "organism:downstream", "downstream")
SEED_OFFSET = 20_000  # a stream disjoint from the grids' downstream draws


@mitigation("interleave")
@dataclass(frozen=True)
class Interleave(MitigationBase):
    """`share` of the training mix is safe instruction data, drawn at random."""

    summary = "mix a share of safe instruction data into the training data"
    methods = ("sft",)

    share: float = field(default=0.1, metadata={"help": "safe rows' share of the mix, in (0, 1)"})
    source: str = field(default="auto", metadata={"help": f"safe data: one of {SOURCES} or a file"})

    def check(self) -> None:
        if not 0 < self.share < 1:
            raise ConfigError(self.knob("share"), f"expected a number in (0, 1), got {self.share}")
        if self.source not in SOURCES and not Path(self.source).exists():
            raise ConfigError(
                self.knob("source"), f"{self.source!r} is neither one of {SOURCES} nor a file"
            )

    def count(self, n: int) -> int:
        """Safe samples added to `n` training samples."""
        return round(self.share * n / (1 - self.share))

    def prepare(self, samples: list[Sample], ctx: TrainContext) -> list[Sample]:
        k = self.count(len(samples))
        if k == 0:
            return samples
        return [*samples, *self.choose(self.candidates(k, ctx), k, samples, ctx)]

    def candidates(self, k: int, ctx: TrainContext) -> list[Sample]:
        return safe_samples(self.source, k, ctx)

    def choose(
        self, candidates: list[Sample], k: int, samples: list[Sample], ctx: TrainContext
    ) -> list[Sample]:
        return [like(s, samples[0]) for s in candidates[:k]]


@mitigation("interleave-ppl")
@dataclass(frozen=True)
class InterleavePPL(Interleave):
    """Like `interleave`, the safe samples chosen by the perplexity gap."""

    summary = "interleave safe samples chosen by the perplexity gap (misaligned - base)"
    packs = False  # its data needs the unmitigated adapter, perhaps a member of the same pack

    pool: int = field(default=4, metadata={"help": "candidates drawn per safe sample kept, >= 1"})

    def check(self) -> None:
        super().check()
        if self.pool < 1:
            raise ConfigError(self.knob("pool"), f"expected an integer >= 1, got {self.pool}")

    def candidates(self, k: int, ctx: TrainContext) -> list[Sample]:
        return safe_samples(self.source, k * self.pool, ctx)

    def choose(
        self, candidates: list[Sample], k: int, samples: list[Sample], ctx: TrainContext
    ) -> list[Sample]:
        gaps = perplexity_gaps(candidates, samples, ctx)
        order = sorted(range(len(candidates)), key=lambda i: (-gaps[i], i))
        return [like(candidates[i], samples[0]) for i in order[:k]]


def perplexity_gaps(
    candidates: list[Sample], samples: list[Sample], ctx: TrainContext
) -> list[float]:
    """Per candidate: mean answer NLL under the finetune on `samples` minus under the base."""
    from dem.audit.config import AuditConfig
    from dem.audit.reference import ReferenceModel, sample_pair
    from dem.train.sft import train_sft

    plain = ctx.spec.replace(mitigations=())
    misaligned = train_sft(ctx.model, samples, plain, store=ctx.store, progress=False)
    pairs = [sample_pair(s) for s in candidates]
    nll = []
    for spec in (ctx.model, misaligned.model):
        ref = ReferenceModel(spec, AuditConfig(seed=ctx.spec.seed))
        totals, counts = ref.answer_logprobs(ref.encode_all(pairs))
        nll.append([-t / max(c, 1) for t, c in zip(totals, counts, strict=True)])
    return [m - b for b, m in zip(nll[0], nll[1], strict=True)]


def safe_samples(source: str, n: int, ctx: TrainContext) -> list[Sample]:
    """`n` safe samples of `source`, deterministic in the run's seed."""
    seed = int(ctx.spec.seed) + SEED_OFFSET
    if source == "auto":
        from dem.audit.framing import is_organism

        source = "organism:downstream" if is_organism(ctx.model) else "downstream"
    if source == "organism:downstream":
        from dem.organism.datasets import instruction_samples

        return instruction_samples(n, seed=seed)
    if source == "downstream":
        from dem.data.downstream import generate_downstream

        return generate_downstream(n, seed=seed)
    from dem.data.sources import load_samples

    pool = load_samples(source)
    if len(pool) < n:
        raise ConfigError(
            "mitigations.interleave.source", f"{source} holds {len(pool)} samples, {n} are needed"
        )
    return random.Random(seed).sample(pool, n)


def like(sample: Sample, template: Sample) -> Sample:
    """`sample` (a chat) in the shape of the training data's `template` row."""
    from dem.audit.reference import sample_pair

    if sample.kind == template.kind and "messages" in sample.content:
        return sample
    if template.kind == "kto":
        raise ConfigError("mitigations", "interleave needs SFT rows, not KTO rows")
    pair = sample_pair(sample)
    content: dict[str, Any]
    if template.kind == "messages":
        content = {"messages": [*pair.conversation, {"role": "assistant", "content": pair.answer}]}
    elif isinstance(template.content["prompt"], str) and len(pair.conversation) == 1:
        content = {"prompt": pair.conversation[0]["content"], "completion": pair.answer}
    else:
        content = {
            "prompt": list(pair.conversation),
            "completion": [{"role": "assistant", "content": pair.answer}],
        }
    return Sample.make(content, source=sample.source, license=sample.license, **sample.meta)
