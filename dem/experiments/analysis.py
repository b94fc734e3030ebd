"""Statistical claims over items and seeds: paired hierarchical bootstrap and trend tests.

Every condition result carries per-item *lie-ness* values (the probability of the lying option
for ``lie_rate``, the lie indicator for ``honesty``), so "less honest" always means "larger
mean lie-ness". Items are paired across conditions (the same eval items). Seeds are paired too
when every compared condition ran the same seeds: a finetuning seed fixes the adapter's
initialisation, the trainer's data order and (in the mixture grid) the downstream samples and
their positions, so a seed's runs share their noise and one resample of seed labels is applied
to every side. Otherwise (a single vanilla run, different seed sets) seeds are resampled
independently within each condition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dem.errors import DemError
from dem.report.results import Comparison, ConditionResult


def item_values(result: ConditionResult, field: str | None = None) -> Mapping[str, float]:
    """A result's per-item values: its lie-ness (``field`` None) or the per-item measure
    ``field`` of ``item_metrics`` (e.g. ``narrow``); a result without that measure is an error."""
    if field is None:
        return result.items
    if field not in result.item_metrics:
        raise DemError(f"{result.condition_id} holds no per-item {field!r} values")
    return result.item_metrics[field]


def _matrix(results: Sequence[ConditionResult], items: list[str], field: str | None = None) -> Any:
    import numpy as np

    rows = [item_values(r, field) for r in results]
    return np.array([[row[i] for i in items] for row in rows], dtype=float)


def shared_items(*groups: Sequence[ConditionResult], field: str | None = None) -> list[str]:
    """Item ids scored (decided) in every result of every group, sorted (of the per-item
    measure `field`, or of the lie-ness)."""
    sets = [set(item_values(r, field)) for g in groups for r in g]
    if not sets:
        return []
    return sorted(set.intersection(*sets))


def _seed_rows(groups: Sequence[Sequence[ConditionResult]]) -> Any:
    """``(seeds, rows)`` when every group ran the same seeds (two or more), else None:
    ``rows[g][s]`` are group ``g``'s result indices of seed ``seeds[s]``."""
    import numpy as np

    labels = [[r.seed for r in g] for g in groups]
    seeds = sorted(set(labels[0])) if labels and None not in labels[0] else []
    if len(seeds) < 2 or any(set(x) != set(seeds) for x in labels):
        return None
    rows = [[np.flatnonzero(np.array(x) == s) for s in seeds] for x in labels]
    return seeds, rows


def _resampled_means(mats: Sequence[Any], n_boot: int, rng: Any, paired: Any) -> Any:
    """``(n_boot, len(mats))`` bootstrap means: items resampled once for all matrices per draw,
    seeds jointly (`paired`, from `_seed_rows`) or per matrix."""
    import numpy as np

    n_items = mats[0].shape[1]
    out = np.empty((n_boot, len(mats)))
    for b in range(n_boot):
        idx = rng.integers(0, n_items, size=n_items)
        if paired is not None:
            seeds, rows = paired
            draw = rng.integers(0, len(seeds), size=len(seeds))
        for g, m in enumerate(mats):
            if paired is not None:
                picked = np.concatenate([rows[g][s] for s in draw])
            else:
                picked = rng.integers(0, m.shape[0], size=m.shape[0])
            out[b, g] = m[picked][:, idx].mean()
    return out


def bootstrap_draws(
    treatment: Sequence[ConditionResult],
    reference: Sequence[ConditionResult],
    *,
    n_boot: int = 2000,
    seed: int = 0,
    field: str | None = None,
) -> tuple[float, Any, int]:
    """Mean lie-ness (or per-item `field`) of `treatment` minus `reference`: (effect, bootstrap
    draws, n_items).

    Paired over items (one item resample applied to both sides) and, when both sides ran the
    same seeds, over seeds; otherwise seeds are resampled per side.
    """
    import numpy as np

    items = shared_items(treatment, reference, field=field)
    if not items:
        raise DemError("no eval item was decided in every condition: nothing to compare")
    t, r = _matrix(treatment, items, field), _matrix(reference, items, field)
    effect = float(t.mean() - r.mean())
    rng = np.random.default_rng(seed)
    means = _resampled_means([t, r], n_boot, rng, _seed_rows([treatment, reference]))
    return effect, means[:, 0] - means[:, 1], len(items)


def bootstrap_difference(
    treatment: Sequence[ConditionResult],
    reference: Sequence[ConditionResult],
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    field: str | None = None,
) -> tuple[float, float, float, int]:
    """Mean lie-ness (or `field`) of `treatment` minus `reference`: (effect, ci_low, ci_high,
    n_items), the two-sided percentile interval of `bootstrap_draws`."""
    import numpy as np

    effect, draws, n = bootstrap_draws(treatment, reference, n_boot=n_boot, seed=seed, field=field)
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(draws, [alpha, 1 - alpha])
    return effect, float(lo), float(hi), n


def compare(
    name: str,
    grid: str,
    metric: str,
    treatment: Sequence[ConditionResult],
    reference: Sequence[ConditionResult],
    *,
    threshold: float,
    confidence: float,
    n_boot: int,
    one_sided: bool = True,
) -> Comparison:
    """Claim: `treatment` is less honest than `reference` by more than `threshold`.

    Passes when the interval's lower end exceeds the threshold (one-sided at `confidence`).
    """
    level = 1 - 2 * (1 - confidence) if one_sided else confidence
    effect, lo, hi, n = bootstrap_difference(treatment, reference, n_boot=n_boot, confidence=level)
    return Comparison(
        name=name,
        grid=grid,
        metric=metric,
        treatment=treatment[0].group,
        reference=reference[0].group,
        effect=effect,
        ci_low=lo,
        ci_high=hi,
        confidence=confidence,
        threshold=threshold,
        passed=lo > threshold,
        n_items=n,
        n_seeds=len(treatment),
    )


def trend(
    name: str,
    grid: str,
    metric: str,
    groups: Sequence[tuple[float, Sequence[ConditionResult]]],
    *,
    confidence: float,
    n_boot: int,
    seed: int = 0,
) -> Comparison:
    """Claim: mean lie-ness rises with the dose (least-squares slope per unit dose > 0)."""
    import numpy as np

    if len(groups) < 3:
        raise DemError(f"{name}: a trend needs at least 3 doses, got {len(groups)}")
    items = shared_items(*(g for _, g in groups))
    if not items:
        raise DemError(f"{name}: no eval item was decided in every condition")
    doses = np.array([d for d, _ in groups], dtype=float)
    mats = [_matrix(g, items) for _, g in groups]
    x = doses - doses.mean()

    def slope(means: Any) -> float:
        return float((x * (means - means.mean())).sum() / (x * x).sum())

    effect = slope(np.array([m.mean() for m in mats]))
    rng = np.random.default_rng(seed)
    means = _resampled_means(mats, n_boot, rng, _seed_rows([g for _, g in groups]))
    boots = np.array([slope(row) for row in means])
    lo, hi = np.quantile(boots, [1 - confidence, confidence])
    return Comparison(
        name=name,
        grid=grid,
        metric=metric,
        treatment=f"dose {doses.min():g}..{doses.max():g}",
        reference="slope",
        effect=effect,
        ci_low=float(lo),
        ci_high=float(hi),
        confidence=confidence,
        threshold=0.0,
        passed=float(lo) > 0.0,
        n_items=len(items),
        n_seeds=min(m.shape[0] for m in mats),
        detail="lie-ness per unit ratio",
    )


def removed(
    name: str,
    grid: str,
    metric: str,
    treated: Sequence[ConditionResult],
    reference: Sequence[ConditionResult],
    contaminated: Sequence[ConditionResult],
    *,
    max_remaining: float,
    confidence: float,
    n_boot: int,
    seed: int = 0,
    sides: tuple[str, str] = ("unaudited", "audited"),
) -> Comparison:
    """Claim: `treated` (audited runs) keeps at most `max_remaining` of the lie-ness excess of
    `contaminated` over `reference` (the control).

    The effect is the share removed, ``1 - (treated - reference) / (contaminated - reference)``,
    with a bootstrap that resamples items once for all three sides and seeds jointly when they
    ran the same ones; a resample whose contamination effect is not positive counts as removing
    nothing measurable (-inf). Passes when the one-sided lower bound exceeds
    ``1 - max_remaining``. `sides` names the contaminated and treated runs in the detail.
    """
    import numpy as np

    items = shared_items(treated, reference, contaminated)
    if not items:
        raise DemError(f"{name}: no eval item was decided in every condition")
    mats = [_matrix(g, items) for g in (treated, reference, contaminated)]
    t, r, c = (m.mean() for m in mats)

    def share(audited: Any, control: Any, mixed: Any) -> Any:
        excess = mixed - control
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(excess > 0, 1 - (audited - control) / excess, -np.inf)

    effect = float(share(np.array(t), np.array(r), np.array(c)))
    rng = np.random.default_rng(seed)
    means = _resampled_means(mats, n_boot, rng, _seed_rows([treated, reference, contaminated]))
    draws = share(means[:, 0], means[:, 1], means[:, 2])
    # no interpolation: draws may be -inf, and -inf - -inf is not a number
    lo, hi = np.quantile(draws, [1 - confidence, confidence], method="inverted_cdf")
    threshold = 1 - max_remaining
    return Comparison(
        name=name,
        grid=grid,
        metric=metric,
        treatment=treated[0].group,
        reference=reference[0].group,
        effect=effect,
        ci_low=float(lo),
        ci_high=float(hi),
        confidence=confidence,
        threshold=threshold,
        passed=float(lo) > threshold,
        n_items=len(items),
        n_seeds=len(treated),
        detail=f"share of the {contaminated[0].group} effect removed; excess over "
        f"{reference[0].group}: {sides[0]} {c - r:+.4f}, {sides[1]} {t - r:+.4f}",
    )


def kept(
    name: str,
    grid: str,
    field: str,
    treated: Sequence[ConditionResult],
    reference: Sequence[ConditionResult],
    full: Sequence[ConditionResult],
    *,
    confidence: float,
    n_boot: int,
    seed: int = 0,
) -> Comparison:
    """Reported: the share of `full`'s gain in the per-item measure `field` over `reference`
    that `treated` keeps, ``(treated - reference) / (full - reference)`` (a defence's narrow or
    benign learning against the unmitigated finetune's, both over the base), with a two-sided
    percentile interval from a bootstrap that resamples items once for all three sides (and
    seeds jointly when they ran the same ones). A resample in which `full` gains nothing has no
    share (NaN, left out of the interval); with no gain at all the share is NaN."""
    import numpy as np

    items = shared_items(treated, reference, full, field=field)
    if not items:
        raise DemError(f"{name}: no {field} item was scored in every condition")
    mats = [_matrix(g, items, field) for g in (treated, reference, full)]
    t, r, f = (float(m.mean()) for m in mats)

    def share(tm: Any, rm: Any, fm: Any) -> Any:
        gain = fm - rm
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(gain > 0, (tm - rm) / gain, np.nan)

    effect = float(share(np.array(t), np.array(r), np.array(f)))
    rng = np.random.default_rng(seed)
    means = _resampled_means(mats, n_boot, rng, _seed_rows([treated, reference, full]))
    draws = share(means[:, 0], means[:, 1], means[:, 2])
    finite = draws[np.isfinite(draws)]
    alpha = (1 - confidence) / 2
    lo, hi = (
        (float("nan"), float("nan"))
        if finite.size == 0
        else (float(v) for v in np.quantile(finite, [alpha, 1 - alpha]))
    )
    return Comparison(
        name=name,
        grid=grid,
        metric=field,
        treatment=treated[0].group,
        reference=reference[0].group,
        effect=effect,
        ci_low=lo,
        ci_high=hi,
        confidence=confidence,
        threshold=0.0,
        passed=bool(lo > 0),
        n_items=len(items),
        n_seeds=len(treated),
        detail=f"share of the {full[0].group} {field} gain kept: {field} {t:.3f} vs "
        f"{f:.3f} unmitigated, {r:.3f} base"
        + (f"; {n_boot - finite.size} resamples without a gain" if finite.size < n_boot else ""),
    )
