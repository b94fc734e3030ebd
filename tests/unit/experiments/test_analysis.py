from __future__ import annotations

import random
import re

import pytest

from dem.errors import DemError
from dem.experiments.analysis import (
    bootstrap_difference,
    compare,
    removed,
    shared_items,
    trend,
)
from dem.report.results import ConditionResult


def _result(group: str, seed: int, base: float, n: int = 80, noise: float = 0.05):
    rng = random.Random(f"{group}-{seed}")
    items = {f"i{k}": min(1.0, max(0.0, base + rng.gauss(0, noise))) for k in range(n)}
    return ConditionResult(
        f"{group}-seed{seed}", group, "mix_ratio", {}, seed, "m", {"lie_rate": base}, items
    )


def test_clear_effect_passes_and_null_effect_fails():
    control = [_result("control", s, 0.20) for s in range(3)]
    treated = [_result("mix", s, 0.30) for s in range(3)]
    same = [_result("same", s, 0.20) for s in range(3)]
    yes = compare(
        "c", "mix_ratio", "lie_rate", treated, control, threshold=0.0, confidence=0.95, n_boot=500
    )
    no = compare(
        "c", "mix_ratio", "lie_rate", same, control, threshold=0.0, confidence=0.95, n_boot=500
    )
    assert yes.passed and yes.ci_low > 0 and abs(yes.effect - 0.10) < 0.02
    assert not no.passed
    assert "FAIL" in no.explain() and "CI" in no.explain()


def test_bootstrap_is_seeded_and_pairs_items():
    a = [_result("a", s, 0.3) for s in range(2)]
    b = [_result("b", s, 0.2) for s in range(2)]
    assert bootstrap_difference(a, b, n_boot=300) == bootstrap_difference(a, b, n_boot=300)
    missing = ConditionResult("x", "x", "g", {}, 0, "m", {}, {"i0": 0.5, "zzz": 0.1})
    assert shared_items([missing], b) == ["i0"]


def test_no_shared_items_is_an_error():
    a = [ConditionResult("a", "a", "g", {}, 0, "m", {}, {"x": 1.0})]
    b = [ConditionResult("b", "b", "g", {}, 0, "m", {}, {"y": 1.0})]
    with pytest.raises(DemError, match="no eval item"):
        bootstrap_difference(a, b)


def test_trend_detects_a_dose_response():
    doses = [(r, [_result(f"r{r}", s, 0.2 + r) for s in range(2)]) for r in (0, 0.1, 0.2, 0.3)]
    up = trend("t", "mix_ratio", "lie_rate", doses, confidence=0.95, n_boot=300)
    assert up.passed and up.effect == pytest.approx(1.0, abs=0.15)
    flat = [(r, [_result(f"f{r}", s, 0.2) for s in range(2)]) for r in (0, 0.1, 0.2, 0.3)]
    assert not trend("t", "mix_ratio", "lie_rate", flat, confidence=0.95, n_boot=300).passed
    with pytest.raises(DemError, match="at least 3"):
        trend("t", "g", "m", doses[:2], confidence=0.95, n_boot=10)


def test_runs_of_one_seed_are_paired():
    """A seed shift shared by both sides cancels when the seeds are resampled jointly; with
    different seed sets the resampling falls back to per side, and the interval is wide."""
    shift = {0: -0.1, 1: 0.0, 2: 0.1, 3: 0.05}

    def runs(group: str, base: float, seeds: range) -> list[ConditionResult]:
        return [_result(group, s, base + shift[s], noise=0.01) for s in seeds]

    control, treated = runs("control", 0.3, range(3)), runs("mix", 0.32, range(3))
    _, lo, hi, _ = bootstrap_difference(treated, control, n_boot=500)
    assert 0 < lo < 0.02 < hi < 0.04
    _, lo, hi, _ = bootstrap_difference(runs("mix", 0.32, range(1, 4)), control, n_boot=500)
    assert lo < 0 and hi - lo > 0.1
    pooled = treated + runs("mix2", 0.32, range(3))  # two results per seed on one side
    _, lo, _, _ = bootstrap_difference(pooled, control, n_boot=500)
    assert lo > 0


def test_removed_share_of_an_effect():
    control = [_result("control", s, 0.20, noise=0.02) for s in range(3)]
    mixed = [_result("mix", s, 0.30, noise=0.02) for s in range(3)]
    kw = {"max_remaining": 0.5, "confidence": 0.95, "n_boot": 400}
    clean = [_result("audited", s, 0.21, noise=0.02) for s in range(3)]
    got = removed("r", "mix_ratio", "lie_rate", clean, control, mixed, **kw)
    assert got.passed and 0.8 < got.effect < 1.0 and got.threshold == 0.5
    assert got.ci_low > 0.5
    assert re.search(r"unaudited \+0\.(09|10)\d\d, audited \+0\.0[01]\d\d", got.detail)
    kept = [_result("audited", s, 0.28, noise=0.02) for s in range(3)]
    assert not removed("r", "mix_ratio", "lie_rate", kept, control, mixed, **kw).passed
    # no effect to remove: nothing measurable is removed, whatever the audited runs do
    none = removed("r", "mix_ratio", "lie_rate", clean, control, control, **kw)
    assert not none.passed and none.ci_low == float("-inf")


def _learning(group: str, seed: int | None, narrow: float, n: int = 60) -> ConditionResult:
    """A result whose lie-ness is flat and whose per-item ``narrow`` centres on `narrow`."""
    rng = random.Random(f"{group}-{seed}-narrow")
    values = {f"n{k}": min(1.0, max(0.0, narrow + rng.gauss(0, 0.03))) for k in range(n)}
    return ConditionResult(
        f"{group}-{seed}", group, "mitigation", {}, seed, "m", {}, {"i0": 0.5},
        item_metrics={"narrow": values},
    )  # fmt: skip


def test_kept_share_of_a_learning_gain_with_a_two_sided_interval():
    from dem.experiments.analysis import kept

    base = [_learning("base", None, 0.1)]
    none = [_learning("none", s, 0.9) for s in range(3)]
    half = [_learning("kl", s, 0.5) for s in range(3)]
    got = kept("k", "mitigation", "narrow", half, base, none, confidence=0.95, n_boot=300)
    assert got.effect == pytest.approx(0.5, abs=0.03)
    assert got.ci_low < got.effect < got.ci_high and got.ci_high - got.ci_low < 0.2
    assert got.metric == "narrow" and got.n_items == 60 and got.n_seeds == 3
    # no gain over the base: no share, said so rather than a number
    flat = [_learning("none", s, 0.1) for s in range(3)]
    got = kept("k", "mitigation", "narrow", half, base, flat, confidence=0.95, n_boot=300)
    assert got.effect != got.effect and "without a gain" in got.detail


def test_per_item_measures_pair_like_the_lie_ness():
    base = [_learning("base", None, 0.1)]
    none = [_learning("none", s, 0.9) for s in range(3)]
    effect, lo, _, n = bootstrap_difference(none, base, n_boot=200, field="narrow")
    assert effect == pytest.approx(0.8, abs=0.03) and lo > 0.7 and n == 60
    assert shared_items(none, field="narrow") == sorted(f"n{k}" for k in range(60))
    with pytest.raises(DemError, match="none-0 holds no per-item 'benign' values"):
        bootstrap_difference(none, base, field="benign")
