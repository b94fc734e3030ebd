"""Bootstrap CIs and exact paired tests."""

from __future__ import annotations

import math

import pytest

from dem.errors import ConfigError
from dem.evals.stats import (
    bootstrap_mean,
    mcnemar_exact,
    paired_bootstrap,
    rank_auc,
    sign_test,
)


def test_bootstrap_mean_is_seeded_and_brackets_the_mean():
    values = [0.0, 1.0] * 50
    a = bootstrap_mean(values, seed=3)
    assert a == bootstrap_mean(values, seed=3)
    assert a.value == 0.5 and a.lo < 0.5 < a.hi and a.n == 100
    assert a.lo > 0.35 and a.hi < 0.65
    assert bootstrap_mean([2.0] * 10).lo == 2.0


def test_empty_and_bad_arguments():
    assert math.isnan(bootstrap_mean([]).value)
    with pytest.raises(ConfigError, match="ci"):
        bootstrap_mean([1.0], ci=1.5)
    with pytest.raises(ConfigError, match="n_resamples"):
        bootstrap_mean([1.0], n_resamples=0)


def test_paired_bootstrap():
    a = [0.0] * 40
    b = [1.0] * 30 + [0.0] * 10
    got = paired_bootstrap(a, b)
    assert got.diff.value == pytest.approx(0.75)
    assert got.diff.lo > 0 and got.p_value < 0.01
    same = paired_bootstrap(a, a)
    assert same.diff.value == 0 and same.p_value == 1.0
    with pytest.raises(ConfigError):
        paired_bootstrap([1.0], [1.0, 2.0])


def test_exact_tests():
    assert sign_test(0, 0) == 1.0
    assert sign_test(5, 5) == 1.0
    assert sign_test(10, 0) == pytest.approx(2 / 2**10)
    assert sign_test(8, 2) == pytest.approx(2 * (1 + 10 + 45) / 1024)
    assert mcnemar_exact(2, 8) == sign_test(8, 2)


def test_rank_auc_counts_ties_half_and_matches_the_pairwise_count():
    import random

    rng = random.Random(0)
    pos = [rng.choice([0.1, 0.2, 0.3, 0.4]) for _ in range(40)]
    neg = [rng.choice([0.0, 0.1, 0.2, 0.3]) for _ in range(30)]
    pairs = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg) / (len(pos) * len(neg))
    assert rank_auc(pos, neg) == pairs
    assert rank_auc([1.0], [1.0]) == 0.5 and rank_auc([2.0], [1.0]) == 1.0
    assert math.isnan(rank_auc([], [1.0])) and math.isnan(rank_auc([1.0], []))
