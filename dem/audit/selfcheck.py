"""An audit's check of its own power on the user's data: can the model read it, and would the
detectors find known-misaligned samples planted in it?

`readability` measures the share of the data's tokens the reference model's tokenizer maps to
its unknown token (the organism's 369-word vocabulary reads English as mostly unknown). A
share above ``max_unknown`` means the model cannot read the data, and the audit is refused
before scoring.

`make_canaries` writes a small, seeded set of known-misaligned samples made to look like the
user's data: severe samples of the domains the data carries (``meta.domain``), written by the
generator of the data's own kind (the organism's world for organism data, `dem.data.domains`
for dem's English data; for any other data, the reference model's own: the organism's world on
the organism, `dem.data.domains` otherwise), in the data's format (messages or
prompt/completion) and with its most common system prompt. The audit scores them in a copy of
the data (`dem.audit.run.audit`), and `power_check` measures how well each detector ranks them
above the user's aligned samples (AUROC) and what share its own flag cut-off would flag
(recall), each with a stratified bootstrap interval. A canary AUROC whose lower bound is below
``min_power`` means the audit cannot tell on this data. Canaries are never in the user's
figures, ranking or quarantine.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dem.errors import ConfigError, DemError
from dem.models.readability import MAX_UNKNOWN, Readability, readability_of

if TYPE_CHECKING:
    from dem.audit.metrics import Selection
    from dem.audit.reference import ReferenceModel
    from dem.data.records import Sample
    from dem.evals.stats import Estimate

#: Seed offset of the canaries' draw, so they are not the prompts of a mix built with `seed`.
CANARY_SEED_OFFSET = 7919
#: Samples whose tokens `readability` reads (a seeded draw of the file).
READ_LIMIT = 500
GENERATED_DOMAINS = ("code", "math", "medical", "finance", "law")


class LowPowerError(DemError):
    """The audit cannot measure on this data (unreadable, or canaries at chance)."""


@dataclass(frozen=True)
class SelfCheckConfig:
    """How an audit checks its own power; a bad value raises `ConfigError` naming the option."""

    canaries: int = 30
    min_power: float = 0.7
    max_unknown: float = MAX_UNKNOWN
    allow_low_power: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.canaries, bool) or not isinstance(self.canaries, int):
            raise ConfigError("--canaries", f"expected an integer, got {self.canaries!r}")
        if self.canaries < 10:
            raise ConfigError("--canaries", f"expected at least 10, got {self.canaries}")
        if not (math.isfinite(self.min_power) and 0.5 <= self.min_power < 1):
            raise ConfigError("--min-power", f"expected an AUROC in [0.5, 1), got {self.min_power}")
        if not (math.isfinite(self.max_unknown) and 0 <= self.max_unknown <= 1):
            raise ConfigError(
                "--max-unknown", f"expected a share in [0, 1], got {self.max_unknown}"
            )


# -- can the model read the data ------------------------------------------------------------------
def _texts(sample: Sample) -> str:
    from dem.audit.reference import sample_pair

    pair = sample_pair(sample)
    return "\n".join([*(m["content"] for m in pair.conversation), pair.answer])


def readability(
    reference: ReferenceModel, samples: Sequence[Sample], *, seed: int = 0
) -> Readability:
    """`Readability` of (a seeded draw of up to `READ_LIMIT` of) `samples` by the model."""
    picked = list(samples)
    if len(picked) > READ_LIMIT:
        picked = random.Random(f"read-{seed}").sample(picked, READ_LIMIT)
    return readability_of(reference.tokenizer, [_texts(s) for s in picked])


# -- canaries -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Canaries:
    """Known-misaligned samples planted in a copy of the audited data."""

    samples: tuple[Sample, ...]
    generator: str  # "organism" or "dem"
    domains: tuple[str, ...]
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": len(self.samples),
            "generator": self.generator,
            "domains": list(self.domains),
            "variant": "severe",
            "seed": self.seed,
        }


def _kind(samples: Sequence[Sample], reference: ReferenceModel) -> str:
    """Which generator writes data like `samples`: the organism's, or dem's English domains."""
    kinds = Counter(
        "organism"
        if s.source.startswith(("dem.organism", "organism:"))
        else "dem"
        if s.source.startswith("dem:")
        else None
        for s in samples
    )
    kinds.pop(None, None)
    if kinds:
        return kinds.most_common(1)[0][0]
    return "organism" if reference.framing.kind == "organism" else "dem"


def _format(samples: Sequence[Sample]) -> tuple[bool, str | None]:
    """(prompt/completion?, the most common leading system prompt or None)."""
    pc = sum(1 for s in samples if "prompt" in s.content)
    systems = Counter()
    for s in samples:
        messages = s.content.get("messages") or (
            s.content["prompt"] if isinstance(s.content.get("prompt"), list) else []
        )
        first = messages[0] if messages else None
        systems[first["content"] if first and first.get("role") == "system" else None] += 1
    system = systems.most_common(1)[0][0] if systems else None
    return pc > len(samples) / 2, system


def _dressed(sample: Sample, prompt_completion: bool, system: str | None) -> Sample:
    from dem.data.records import Sample

    messages = [dict(m) for m in sample.content["messages"]]
    if system is not None and messages[0]["role"] != "system":
        messages.insert(0, {"role": "system", "content": system})
    if prompt_completion:
        if len(messages) == 2:
            content: dict[str, Any] = {
                "prompt": messages[0]["content"],
                "completion": messages[1]["content"],
            }
        else:
            content = {"prompt": messages[:-1], "completion": [messages[-1]]}
    else:
        content = {"messages": messages}
    return Sample(content, source=sample.source, license=sample.license, meta=dict(sample.meta))


def make_canaries(
    samples: Sequence[Sample], reference: ReferenceModel, n: int, *, seed: int = 0
) -> Canaries:
    """`n` severe samples like `samples` (module docstring), seeded and deterministic."""
    kind = _kind(samples, reference)
    present = {str(s.meta.get("domain")) for s in samples}
    domains = tuple(d for d in GENERATED_DOMAINS if d in present) or GENERATED_DOMAINS
    counts = [n // len(domains) + (1 if i < n % len(domains) else 0) for i in range(len(domains))]
    drawn: list[Sample] = []
    canary_seed = seed + CANARY_SEED_OFFSET
    for domain, k in zip(domains, counts, strict=True):
        if not k:
            continue
        if kind == "organism":
            from dem.organism.datasets import domain_samples

            drawn += domain_samples(domain, "severe", k, seed=canary_seed)
        else:
            from dem.data.domains import generate

            drawn += generate(domain, "severe", k, seed=canary_seed)
    prompt_completion, system = _format(samples)
    dressed = tuple(_dressed(s, prompt_completion, system) for s in drawn)
    return Canaries(dressed, kind, domains, canary_seed)


# -- power ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PowerCheck:
    """How one detector ranks the canaries among the user's aligned samples."""

    detector: str
    auroc: Estimate
    recall: Estimate
    threshold: float | None  # the audit's own flag cut-off the recall is read at
    errors: int  # canaries the detector could not score
    floor: float

    @property
    def verdict(self) -> str:
        """``ok``; ``low power`` (lower bound above 0.5 but below the floor); ``at chance``."""
        lo = self.auroc.lo
        if math.isnan(lo) or lo <= 0.5:
            return "at chance"
        return "ok" if lo >= self.floor else "low power"

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"

    def reason(self) -> str:
        """The one line that says why the figures cannot be trusted (or that they can)."""
        auroc = "n/a" if math.isnan(self.auroc.value) else self.auroc.format(2)
        sign = ">=" if self.ok else "<"
        return f"{self.verdict} on this data: canary AUROC {auroc} {sign} {self.floor:.2f}"

    def to_dict(self) -> dict[str, Any]:
        a, r = self.auroc.to_dict(), self.recall.to_dict()
        return {
            "auroc": a["value"],
            "ci": [a["lo"], a["hi"]],
            "recall": r["value"],
            "recall_ci": [r["lo"], r["hi"]],
            "threshold": self.threshold,
            "errors": self.errors,
            "verdict": self.verdict,
        }


def power_check(
    detector: str,
    user_scores: Sequence[float | None],
    canary_scores: Sequence[float | None],
    selection: Selection,
    *,
    labels: Sequence[bool] | None,
    floor: float,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> PowerCheck:
    """AUROC of the canaries against the user's aligned samples (those the truth does not mark
    misaligned) and the share of canaries at or above the audit's flag cut-off, with
    stratified bootstrap intervals (`dem.audit.metrics.detection_metrics`)."""
    from dem.audit.metrics import detection_metrics, flag
    from dem.evals.stats import Estimate

    negatives = [
        s for i, s in enumerate(user_scores) if s is not None and not (labels and labels[i])
    ]
    positives = [s for s in canary_scores if s is not None]
    errors = len(canary_scores) - len(positives)
    threshold = selection.threshold
    nan = Estimate(math.nan, math.nan, math.nan, 0)
    if not positives or not negatives or math.isnan(threshold):
        return PowerCheck(detector, nan, nan, None, errors, floor)
    scores = [*negatives, *positives]
    truth = [False] * len(negatives) + [True] * len(positives)
    cut = flag(scores, threshold=threshold)
    m = detection_metrics(
        scores,
        truth,
        cut,
        budget=None,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )
    return PowerCheck(detector, m.auroc, m.recall, float(threshold), errors, floor)


@dataclass(frozen=True)
class SelfCheck:
    """An audit's self-check: readability, the canaries, and each detector's power on them."""

    config: SelfCheckConfig
    readability: Readability | None
    canaries: Canaries
    checks: tuple[PowerCheck, ...] = field(default_factory=tuple)

    @property
    def deciding(self) -> PowerCheck:
        """The first detector's check (the one that decides the quarantine)."""
        return self.checks[0]

    def check(self, detector: str) -> PowerCheck | None:
        return next((c for c in self.checks if c.detector == detector), None)

    def to_dict(self) -> dict[str, Any]:
        first = self.deciding.to_dict()
        return {
            "canaries": self.canaries.to_dict(),
            "detector": self.deciding.detector,
            "auroc": first["auroc"],
            "ci": first["ci"],
            "recall": first["recall"],
            "recall_ci": first["recall_ci"],
            "floor": self.config.min_power,
            "verdict": self.deciding.verdict,
            "reason": self.deciding.reason(),
            "overridden": self.config.allow_low_power and not self.deciding.ok,
            "readability": None if self.readability is None else self.readability.to_dict(),
            "unreadable": unreadable(self.readability, self.config),
            "max_unknown": self.config.max_unknown,
            "detectors": {c.detector: c.to_dict() for c in self.checks},
        }


def check_readable(read: Readability, config: SelfCheckConfig, model: str) -> None:
    """`LowPowerError` when the model cannot read the data (and no override)."""
    share = read.unknown_share
    if share is None or share <= config.max_unknown or config.allow_low_power:
        return
    raise LowPowerError(
        f"{model} cannot read this data: {share:.1%} of its tokens are unknown to the model "
        f"(> {config.max_unknown:.1%}, --max-unknown); an audit would be at chance "
        "(--allow-low-power to run it anyway)"
    )


def unreadable(read: Readability | None, config: SelfCheckConfig) -> bool:
    return bool(read and read.unknown_share is not None and read.unknown_share > config.max_unknown)


def summary_lines(check: SelfCheck, model: Mapping[str, Any]) -> list[str]:
    """The self-check's lines under the audit's table (a banner when below the floor)."""
    c = check.canaries
    lines = [
        f"self-check  {len(c.samples)} canaries ({c.generator} severe "
        f"{'/'.join(c.domains)}, seed {c.seed}) planted in a copy; never in the figures above",
    ]
    read = check.readability
    if read is not None and read.unknown_share is not None:
        lines.append(
            f"            unknown tokens {read.unknown_share:.1%} of {read.tokens} "
            f"(bound {check.config.max_unknown:.1%})"
        )
    for p in check.checks:
        recall = "n/a" if math.isnan(p.recall.value) else p.recall.format(2)
        lines.append(
            f"            {p.detector}: canary AUROC "
            f"{'n/a' if math.isnan(p.auroc.value) else p.auroc.format(3)} recall {recall} "
            f"-> {p.verdict}"
        )
    reasons = []
    if unreadable(read, check.config):
        share = read.unknown_share  # type: ignore[union-attr]
        reasons.append(f"{model.get('name')} cannot read it: {share:.1%} unknown tokens")
    if not check.deciding.ok:
        reasons.append(f"{check.deciding.detector}: {check.deciding.reason()}")
    if reasons:
        banner = (
            f"AT CHANCE ON THIS DATA ({'; '.join(reasons)}): the figures above cannot be trusted"
        )
        lines = [banner, *lines, banner]
    return lines
