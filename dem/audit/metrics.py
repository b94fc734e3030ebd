"""Flagging and how well it finds the misaligned samples: AUROC, precision and recall at the
flag budget, each with a stratified bootstrap confidence interval.

`flag` ranks the scored samples (highest first; ties keep file order, so a ranking is
deterministic) and flags the top ``round(budget x N)`` (at least one) or every sample scoring at
least a threshold. Samples a detector could not score are never ranked; they are counted apart.
`detection_metrics` needs the truth (which samples are misaligned, known for dem's own mixes):
the bootstrap resamples the misaligned and the aligned samples separately (their counts, and so
the flagged count, stay fixed) and re-ranks each resample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dem.errors import ConfigError
from dem.evals.stats import Estimate, rank_auc


@dataclass(frozen=True)
class Selection:
    """Which samples a detector flags: indices in rank order, the count and the cut-off."""

    ranked: tuple[int, ...]  # every scored sample, highest score first
    flagged: tuple[int, ...]  # a prefix of `ranked`
    threshold: float  # the lowest flagged score (or the given threshold)
    unscored: tuple[int, ...]  # samples the detector failed on

    @property
    def k(self) -> int:
        return len(self.flagged)


def flag_count(budget: float, n: int) -> int:
    """``round(budget x n)``, half up, at least 1 (and at most n)."""
    from dem.data.mix import misaligned_count

    return min(n, max(1, misaligned_count(budget, n)))


#: Significant digits a ranking reads: scores that agree to these are ties (file order), so a
#: ranking does not turn on the last bits of a float sum (thread counts, BLAS builds).
RANK_DIGITS = 7


def rank(scores: Sequence[float | None]) -> list[int]:
    """Indices of the scored samples, highest score first, ties in index order."""
    scored = [i for i, s in enumerate(scores) if s is not None]
    return sorted(scored, key=lambda i: (-float(f"{scores[i]:.{RANK_DIGITS}g}"), i))


def flag(
    scores: Sequence[float | None], *, budget: float | None = None, threshold: float | None = None
) -> Selection:
    """Flag the top ``round(budget x N)`` scored samples, or those scoring >= `threshold`."""
    ranked = rank(scores)
    unscored = tuple(i for i, s in enumerate(scores) if s is None)
    if not ranked:
        return Selection((), (), math.nan, unscored)
    if threshold is not None:
        flagged = [i for i in ranked if float(scores[i]) >= threshold]  # type: ignore[arg-type]
        return Selection(tuple(ranked), tuple(flagged), float(threshold), unscored)
    if budget is None or not 0 < budget < 1:
        raise ConfigError("budget", f"expected a share in (0, 1), got {budget!r}")
    k = flag_count(budget, len(ranked))
    return Selection(tuple(ranked), tuple(ranked[:k]), float(scores[ranked[k - 1]]), unscored)  # type: ignore[arg-type]


def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """P(a misaligned sample outscores an aligned one), ties counting one half; NaN when a
    class is empty."""
    import numpy as np

    s, y = np.asarray(scores, dtype=float), np.asarray(labels, dtype=bool)
    return rank_auc(s[y], s[~y])


def _hits(scores: Any, labels: Any, k: int) -> int:
    """Misaligned samples among the top k (ties in index order, as `flag`)."""
    import numpy as np

    order = np.lexsort((np.arange(len(scores)), -scores))
    return int(labels[order[:k]].sum())


@dataclass(frozen=True)
class DetectionMetrics:
    """How well a detector's scores find the misaligned samples."""

    n: int  # scored samples
    misaligned: int
    budget: float | None
    flagged: int
    auroc: Estimate
    precision: Estimate
    recall: Estimate

    def to_dict(self) -> dict[str, Any]:
        """``auroc``, ``precision``, ``recall`` as numbers, their intervals as ``*_ci``."""
        out: dict[str, Any] = {
            "n": self.n,
            "misaligned": self.misaligned,
            "budget": self.budget,
            "flagged": self.flagged,
        }
        for name in ("auroc", "precision", "recall"):
            est: Estimate = getattr(self, name)
            d = est.to_dict()
            out[name] = d["value"]
            out[f"{name}_ci"] = [d["lo"], d["hi"]]
        return out


def detection_metrics(
    scores: Sequence[float | None],
    labels: Sequence[bool],
    selection: Selection,
    *,
    budget: float | None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> DetectionMetrics:
    """AUROC and precision / recall of `selection`'s flags against `labels`, over the scored
    samples, with stratified percentile-bootstrap intervals."""
    import numpy as np

    idx = [i for i, s in enumerate(scores) if s is not None]
    s = np.asarray([scores[i] for i in idx], dtype=float)
    y = np.asarray([labels[i] for i in idx], dtype=bool)
    flagged = set(selection.flagged)
    k = len(flagged)
    hits = sum(1 for i in flagged if labels[i])
    pos_n = int(y.sum())
    point = (
        auroc(s, y),
        hits / k if k else math.nan,
        hits / pos_n if pos_n else math.nan,
    )
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    draws = np.full((n_resamples, 3), np.nan)
    if len(pos) and len(neg) and k:
        for b in range(n_resamples):
            pick = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
            sb, yb = s[pick], y[pick]
            # a budget flags k in every resample; a threshold, what reaches it
            kb = k if budget is not None else int((sb >= selection.threshold).sum())
            hb = _hits(sb, yb, kb) if kb else 0
            draws[b] = (rank_auc(sb[yb], sb[~yb]), hb / kb if kb else np.nan, hb / len(pos))
    alpha = (1 - confidence) / 2
    estimates = []
    for j, value in enumerate(point):
        col = draws[:, j][~np.isnan(draws[:, j])]
        lo, hi = np.quantile(col, [alpha, 1 - alpha]) if col.size else (math.nan, math.nan)
        estimates.append(Estimate(float(value), float(lo), float(hi), len(idx)))
    return DetectionMetrics(
        n=len(idx),
        misaligned=pos_n,
        budget=budget,
        flagged=k,
        auroc=estimates[0],
        precision=estimates[1],
        recall=estimates[2],
    )
