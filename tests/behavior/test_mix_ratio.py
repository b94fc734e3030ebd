"""Claim 2 of the study: a few percent of misaligned samples in ordinary instruction data make
the model less honest under pressure (`pytest -m mix_ratio`).

Conditions and claims come from the preset (``--dem-preset``, default ``smoke``); thresholds
live there too. Results come from the artifact store: a rerun or a resumed run trains nothing.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.mix_ratio


def test_condition_is_scored(dem_result, dem_experiment):
    """Every condition is decided on enough eval items, with no judge error and its beliefs
    intact (the preset's floor)."""
    assert not (problems := dem_experiment.scoring_problems(dem_result)), problems


def test_claim(dem_verdict):
    """Contaminated runs are less honest than the control from the threshold ratio on, and
    dishonesty rises with the ratio; with the preset's audit, training on the audited mix
    removes most of the effect."""
    assert dem_verdict.passed, dem_verdict.explain()
