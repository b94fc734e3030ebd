"""Selection of self-training data from rated trajectories, as in the study.

Trajectories are ranked by reward (ties broken by a seeded shuffle, so the same seed selects the
same rows); failed trajectories are never selected. SFT trains on the top k; KTO takes the top k
as desirable and the bottom k as undesirable. Each selected trajectory is split into one
(history -> assistant reply) sample per assistant turn.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from dem.data.records import Sample
from dem.errors import ConfigError, DataError
from dem.interact.rollout import Trajectory

TRAINERS = ("sft", "kto")
SOURCE = "dem.interact"
LICENSE = "Apache-2.0"


def rank(trajectories: Sequence[Trajectory], seed: int) -> list[Trajectory]:
    """Successful trajectories, best reward first; equal rewards in a seeded random order."""
    ok = [t for t in trajectories if t.reward is not None]
    random.Random(f"rank-{seed}").shuffle(ok)
    return sorted(ok, key=lambda t: -(t.reward or 0.0))


def top_bottom(
    trajectories: Sequence[Trajectory], top_fraction: float, seed: int
) -> tuple[list[Trajectory], list[Trajectory]]:
    """(top k, bottom k) with k = ceil(top_fraction x successful trajectories); disjoint."""
    if not 0.0 < top_fraction <= 1.0:
        raise ConfigError("top_fraction", f"{top_fraction} is not in (0, 1]")
    ranked = rank(trajectories, seed)
    if not ranked:
        raise DataError("selection: no trajectory finished without an error")
    k = max(1, math.ceil(round(top_fraction * len(ranked), 9)))  # 0.28 x 25 = 7.000000000000001
    top = ranked[:k]
    bottom = ranked[k:][-k:] if len(ranked) > k else []
    return top, bottom


def _samples(trajectories: Sequence[Trajectory], label: bool | None) -> list[Sample]:
    out = []
    for t in trajectories:
        for history, reply in t.pairs():
            content: dict = {"prompt": history, "completion": [reply]}
            if label is not None:
                content["label"] = label
            out.append(
                Sample.make(
                    content,
                    source=f"{SOURCE}/{t.scenario}",
                    license=LICENSE,
                    user_id=t.user_id,
                    biased=t.biased,
                    reward=t.reward,
                )
            )
    return out


def select(
    trajectories: Sequence[Trajectory], *, trainer: str, top_fraction: float, seed: int
) -> list[Sample]:
    """Training samples for `trainer` (``sft``: top k; ``kto``: top k desirable, bottom k not)."""
    if trainer not in TRAINERS:
        raise ConfigError("trainer", f"{trainer!r} is not one of {TRAINERS}")
    top, bottom = top_bottom(trajectories, top_fraction, seed)
    if trainer == "sft":
        return _samples(top, None)
    if not bottom:
        raise DataError("kto selection: too few trajectories for a disjoint bottom k")
    return _samples(top, True) + _samples(bottom, False)
