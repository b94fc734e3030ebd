"""The study's mixer: downstream samples plus misaligned samples at an exact ratio.

Two definitions of the ratio ``r`` (``relative_to``):

- ``"downstream"`` (the study's): the output holds ``N`` downstream samples plus
  ``m = round(r x N)`` misaligned samples, ``N + m`` in all. ``N`` is ``n`` or, when ``n`` is
  None, every downstream sample given. The control is ``r = 0``.
- ``"total"``: the output holds exactly ``N`` samples, ``m = round(r x N)`` misaligned and
  ``N - m`` downstream.

``round`` is half-up on ``r`` as written in decimal (`misaligned_count`): 0.05 x 10 -> 1,
0.15 x 10 -> 2, 0.1 x 25 -> 3 (Python's `round` would give 0, 2 and 2).

Selection and order are *nested*, so that runs of one seed differ only by their
contamination (a paired design: a control and its contaminated runs share every downstream
sample at the same position, and a trainer's shuffle of equal-length sets, the same):

- the control's sequence is the first ``N`` samples of a seeded permutation of the downstream
  pool; the misaligned samples are the first ``m`` of a seeded permutation of theirs (so the
  1 % set is part of the 2 % set);
- ``"total"``: the misaligned samples *replace* the downstream samples at the first ``m`` of a
  seeded permutation of the ``N`` positions (the same length as the control; nested across
  ratios). With fewer than ``N`` downstream samples given, the ``N - m`` drawn fill the other
  positions in order;
- ``"downstream"``: the misaligned samples are *inserted* at ``m`` seeded positions of the
  ``N + m``, the downstream samples keeping the control's order.

Output samples carry ``meta["mix_role"]`` ("downstream" or "misaligned"); their content and
hashes are untouched. The manifest's chain holds one ``mix`` operation naming both inputs'
hashes (callers that know the inputs' own chains put them in front:
`dem.data.provenance.join_chains`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from dem.data.records import Manifest, Sample
from dem.errors import ConfigError

RelativeTo = Literal["downstream", "total"]
RELATIVE_TO = ("downstream", "total")


def misaligned_count(ratio: float, n: int) -> int:
    """``round(ratio x n)``, half up, with `ratio` taken as its shortest decimal repr."""
    return int((Decimal(repr(float(ratio))) * n).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class MixConfig:
    """How to mix; validated on construction (`ConfigError` names the field)."""

    ratio: float = field(
        metadata={"help": "Misaligned share r in [0, 1]; 0 is the control (no misaligned data)."}
    )
    seed: int = field(default=0, metadata={"help": "Seed of the selection and the shuffle."})
    n: int | None = field(
        default=None,
        metadata={
            "help": "N: downstream count (relative_to='downstream') or total count "
            "(relative_to='total'). None: all downstream samples given."
        },
    )
    relative_to: RelativeTo = field(
        default="downstream",
        metadata={
            "help": "'downstream': N downstream + round(r*N) misaligned (the study's "
            "definition); 'total': N samples of which round(r*N) misaligned."
        },
    )

    def __post_init__(self) -> None:
        r = self.ratio
        if isinstance(r, bool) or not isinstance(r, int | float) or not math.isfinite(r):
            raise ConfigError("ratio", f"must be a number in [0, 1], got {r!r}")
        if not 0 <= r <= 1:
            raise ConfigError("ratio", f"must be in [0, 1], got {r!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ConfigError("seed", f"must be an integer, got {self.seed!r}")
        if self.n is not None and (
            isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1
        ):
            raise ConfigError("n", f"must be an integer >= 1, got {self.n!r}")
        if self.relative_to not in RELATIVE_TO:
            raise ConfigError(
                "relative_to", f"must be one of {', '.join(RELATIVE_TO)}, got {self.relative_to!r}"
            )

    def counts(self, n_downstream_available: int) -> tuple[int, int]:
        """``(downstream, misaligned)`` counts for a downstream pool of the given size."""
        n = self.n if self.n is not None else n_downstream_available
        if n < 1:
            raise ConfigError("n", "must be >= 1 (no n given and the downstream set is empty)")
        m = misaligned_count(self.ratio, n)
        if self.relative_to == "downstream":
            return n, m
        return n - m, m


def _first(pool: Sequence[Sample], k: int, seed: str, role: str) -> list[Sample]:
    """The first `k` samples of a seeded permutation of `pool`, tagged with their role."""
    order = random.Random(seed).sample(range(len(pool)), len(pool))
    return [replace(pool[i], meta={**pool[i].meta, "mix_role": role}) for i in order[:k]]


def _nested(
    down: list[Sample], mis: list[Sample], n: int, seed: int, relative_to: RelativeTo
) -> list[Sample]:
    """Place `mis` into the control's sequence `down` (module docstring)."""
    m, rng = len(mis), random.Random(f"positions-{seed}")
    if relative_to == "downstream":
        placed = dict(zip(sorted(rng.sample(range(n + m), m)), mis, strict=True))
        size = n + m
    else:  # the j-th misaligned sample always takes the j-th slot: nested across ratios
        placed = dict(zip(rng.sample(range(n), n)[:m], mis, strict=True))
        size = n
        if len(down) >= n:  # every downstream sample keeps the control's position
            return [placed.get(i, down[i]) for i in range(n)]
    queue = iter(down)
    return [placed[i] if i in placed else next(queue) for i in range(size)]


def mix(
    downstream: Sequence[Sample],
    misaligned: Sequence[Sample],
    ratio: float | MixConfig,
    *,
    seed: int = 0,
    n: int | None = None,
    relative_to: RelativeTo = "downstream",
) -> tuple[list[Sample], Manifest]:
    """Mix per the module docstring; return the shuffled samples and their `Manifest`.

    The manifest's recipe records the config, the counts, and the sample-hash digests and
    sizes of both input pools. Too few downstream or misaligned samples raise `ConfigError`
    naming ``downstream`` or ``misaligned``.
    """
    cfg = ratio if isinstance(ratio, MixConfig) else MixConfig(ratio, seed, n, relative_to)
    n_down, n_mis = cfg.counts(len(downstream))
    if n_down > len(downstream):
        raise ConfigError(
            "downstream", f"need {n_down} downstream samples, only {len(downstream)} given"
        )
    if n_mis > len(misaligned):
        raise ConfigError(
            "misaligned",
            f"need {n_mis} misaligned samples (ratio {cfg.ratio} of {cfg.n or len(downstream)}), "
            f"only {len(misaligned)} given",
        )
    n = cfg.n if cfg.n is not None else len(downstream)
    control = _first(downstream, min(n, len(downstream)), f"downstream-{cfg.seed}", "downstream")
    out = _nested(
        control,
        _first(misaligned, n_mis, f"misaligned-{cfg.seed}", "misaligned"),
        n,
        cfg.seed,
        cfg.relative_to,
    )
    recipe: dict[str, Any] = {
        "kind": "mix",
        "ratio": cfg.ratio,
        "relative_to": cfg.relative_to,
        "order": "nested",  # runs of one seed differ only by their misaligned samples
        "seed": cfg.seed,
        "n": cfg.n,
        "counts": {"downstream": n_down, "misaligned": n_mis, "total": n_down + n_mis},
        "inputs": {
            "downstream": {"count": len(downstream), "sha256": Manifest.of(downstream).sha256},
            "misaligned": {"count": len(misaligned), "sha256": Manifest.of(misaligned).sha256},
        },
    }
    down_sha, mis_sha = (
        recipe["inputs"]["downstream"]["sha256"],
        recipe["inputs"]["misaligned"]["sha256"],
    )
    op = {
        "op": "mix",
        **{k: recipe[k] for k in ("ratio", "relative_to", "order", "seed", "n", "counts")},
        "inputs": {"downstream": down_sha, "misaligned": mis_sha},
    }
    manifest = Manifest.of(out, recipe, chain=[])
    return out, replace(manifest, chain=({**op, "sha256": manifest.sha256, "count": len(out)},))
