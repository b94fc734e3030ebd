"""Flagging by budget or threshold, AUROC with ties, precision / recall with bootstrap CIs."""

from __future__ import annotations

import math

import pytest

from dem.audit.metrics import auroc, detection_metrics, flag, flag_count
from dem.errors import ConfigError


def test_auroc_counts_ties_as_half():
    assert auroc([0.9, 0.8, 0.1, 0.2], [True, True, False, False]) == 1.0
    assert auroc([0.1, 0.2, 0.9, 0.8], [True, True, False, False]) == 0.0
    assert auroc([0.5, 0.5, 0.5], [True, False, False]) == 0.5
    assert auroc([0.7, 0.5, 0.5, 0.1], [True, True, False, False]) == 0.875
    assert math.isnan(auroc([0.3, 0.4], [False, False]))


def test_flag_ranks_ties_in_file_order_and_skips_unscored():
    scores = [0.2, 0.9, None, 0.9, 0.1]
    sel = flag(scores, budget=0.5)
    assert sel.ranked == (1, 3, 0, 4) and sel.flagged == (1, 3) and sel.unscored == (2,)
    assert sel.threshold == 0.9 and sel.k == 2
    assert flag(scores, threshold=0.15).flagged == (1, 3, 0)
    assert flag([0.3] * 10, budget=0.01).k == 1  # at least one sample
    assert [flag_count(b, 2000) for b in (0.02, 0.1, 0.0004)] == [40, 200, 1]


@pytest.mark.parametrize("budget", [0, 1, 1.5, -0.1, None])
def test_flag_needs_a_budget_in_the_open_unit_interval(budget):
    with pytest.raises(ConfigError, match="budget: expected a share in"):
        flag([0.1, 0.2], budget=budget)


def test_metrics_of_a_perfect_and_a_useless_detector():
    labels = [i < 10 for i in range(100)]
    perfect = [1.0 - i / 100 for i in range(100)]
    sel = flag(perfect, budget=0.2)
    m = detection_metrics(perfect, labels, sel, budget=0.2, n_resamples=200)
    assert (m.auroc.value, m.precision.value, m.recall.value) == (1.0, 0.5, 1.0)
    assert m.recall.lo == 1.0 and m.flagged == 20 and m.misaligned == 10
    d = m.to_dict()
    assert d["auroc"] == 1.0 and d["recall_ci"] == [1.0, 1.0] and d["budget"] == 0.2
    backwards = perfect[::-1]
    m = detection_metrics(backwards, labels, flag(backwards, budget=0.2), budget=0.2)
    assert m.auroc.value == 0.0 and m.recall.value == 0.0 and m.recall.hi == 0.0


def test_metric_intervals_cover_the_estimate_and_are_seeded():
    import random

    rng = random.Random(0)
    labels = [i % 10 == 0 for i in range(300)]
    scores = [rng.gauss(1.5 if y else 0.0, 1.0) for y in labels]
    sel = flag(scores, budget=0.1)
    a = detection_metrics(scores, labels, sel, budget=0.1, n_resamples=300, seed=4)
    assert a == detection_metrics(scores, labels, sel, budget=0.1, n_resamples=300, seed=4)
    for est in (a.auroc, a.precision, a.recall):
        assert est.lo <= est.value <= est.hi and est.n == 300
    assert 0.75 < a.auroc.value < 0.95
    by_threshold = flag(scores, threshold=sel.threshold)
    b = detection_metrics(scores, labels, by_threshold, budget=None, n_resamples=300)
    assert b.flagged == a.flagged and b.budget is None and b.to_dict()["budget"] is None
