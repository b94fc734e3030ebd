"""Defences against emergent dishonesty (issue 27): each defence in the preset, trained on the
misaligned set alone and in the mixture, keeps the organism honest under pressure, and what it
costs in narrow and benign learning and coherence is reported (`pytest -m mitigation`).

Conditions, defences and thresholds come from the preset (``--dem-preset``, default ``smoke``:
63 finetunes of 50 steps, about 2.5 minutes on 2 cores from a fresh cache; docs/mitigation.md).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.mitigation


def test_condition_is_scored(dem_result, dem_experiment):
    """Every cell is decided on enough eval items, with no judge error, and carries its
    learning measures item by item."""
    assert not (problems := dem_experiment.scoring_problems(dem_result)), problems
    assert set(dem_result.item_metrics) == {"narrow", "benign", "coherence"}


def test_claim(dem_verdict):
    """In each cell, at least the preset's number of defences remove at least its share of the
    dishonesty effect, (none - defence) / (none - base), at the one-sided lower bound."""
    assert dem_verdict.passed, dem_verdict.explain()
