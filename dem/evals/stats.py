"""Confidence intervals and paired tests over eval items (numpy imported inside the functions).

Statistics are written over a matrix of resampled row indices, shape ``(B, n)``, and return one
value per resample (shape ``(B,)``): the point estimate is the same function on ``arange(n)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dem.errors import ConfigError

Statistic = Callable[[Any], Any]  # (B, n) int index matrix -> (B,) float array


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its percentile-bootstrap confidence interval over `n` items."""

    value: float
    lo: float
    hi: float
    n: int

    def to_dict(self) -> dict[str, float | int | None]:
        return {
            "value": _clean(self.value),
            "lo": _clean(self.lo),
            "hi": _clean(self.hi),
            "n": self.n,
        }

    def format(self, digits: int = 1) -> str:
        if math.isnan(self.value):
            return "n/a"
        return f"{self.value:.{digits}f} [{self.lo:.{digits}f}, {self.hi:.{digits}f}]"


def _clean(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def _check(n_resamples: int, ci: float) -> None:
    if n_resamples < 1:
        raise ConfigError("n_resamples", f"must be >= 1, got {n_resamples}")
    if not 0.0 < ci < 1.0:
        raise ConfigError("ci", f"must be in (0, 1), got {ci}")


def rank_auc(pos: Any, neg: Any) -> float:
    """P(a positive score exceeds a negative one), ties counting one half (the Mann-Whitney
    AUC of two score arrays); NaN when either is empty."""
    import numpy as np

    if len(pos) == 0 or len(neg) == 0:
        return math.nan
    neg = np.sort(neg)
    below = np.searchsorted(neg, pos, side="left")
    tied = np.searchsorted(neg, pos, side="right") - below
    return float((below + 0.5 * tied).sum() / (len(pos) * len(neg)))


def bootstrap(
    n: int, statistic: Statistic, *, n_resamples: int = 2000, ci: float = 0.95, seed: int = 0
) -> Estimate:
    """Percentile bootstrap of `statistic` over `n` items resampled with replacement (seeded).

    Resamples where the statistic is undefined (NaN, e.g. an empty denominator) are ignored;
    with no items, or no defined resample, the interval is NaN.
    """
    import numpy as np

    _check(n_resamples, ci)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        point = float(np.asarray(statistic(np.arange(n)[None, :]), dtype=float)[0])
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, n, size=(n_resamples, n))
        values = np.asarray(statistic(idx), dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return Estimate(point, math.nan, math.nan, n)
    alpha = (1.0 - ci) / 2.0
    lo, hi = np.quantile(values, [alpha, 1.0 - alpha])
    return Estimate(point, float(lo), float(hi), n)


def mean_stat(values: Sequence[float]) -> Statistic:
    """The mean of `values` (NaNs ignored) as a `Statistic`."""
    import numpy as np

    arr = np.asarray(values, dtype=float)

    def stat(idx: Any) -> Any:
        return np.nanmean(arr[idx], axis=1) if arr.size else np.full(len(idx), np.nan)

    return stat


def bootstrap_mean(
    values: Sequence[float], *, n_resamples: int = 2000, ci: float = 0.95, seed: int = 0
) -> Estimate:
    """Mean of `values` with a percentile-bootstrap CI."""
    return bootstrap(len(values), mean_stat(values), n_resamples=n_resamples, ci=ci, seed=seed)


@dataclass(frozen=True)
class PairedResult:
    """``mean(b - a)`` over paired items, its bootstrap CI and two-sided bootstrap p-value."""

    diff: Estimate
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return {"diff": self.diff.to_dict(), "p_value": _clean(self.p_value)}


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    *,
    n_resamples: int = 2000,
    ci: float = 0.95,
    seed: int = 0,
) -> PairedResult:
    """Paired bootstrap of ``mean(b - a)`` over items scored under two conditions."""
    import numpy as np

    if len(a) != len(b):
        raise ConfigError("b", f"paired samples differ in length ({len(a)} vs {len(b)})")
    d = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    est = bootstrap(len(d), mean_stat(d), n_resamples=n_resamples, ci=ci, seed=seed)
    if len(d) == 0:
        return PairedResult(est, math.nan)
    rng = np.random.default_rng(seed)
    means = np.nanmean(d[rng.integers(0, len(d), size=(n_resamples, len(d)))], axis=1)
    p = 2.0 * min(float(np.mean(means <= 0.0)), float(np.mean(means >= 0.0)))
    return PairedResult(est, min(1.0, p))


def sign_test(wins: int, losses: int) -> float:
    """Exact two-sided binomial (sign / McNemar exact) test p-value; ties are left out."""
    if wins < 0 or losses < 0:
        raise ConfigError("wins", "counts must be non-negative")
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Exact McNemar test on discordant pairs (item passes under A only / under B only)."""
    return sign_test(only_a, only_b)
