"""Claim 3 of the study: self-training on the feedback of a user population in which a minority
is biased makes the model less honest under pressure (`pytest -m interaction`).

Biased shares, trainers, seeds and thresholds come from the preset (``--dem-preset``, default
``smoke``: the model organism with scripted users). Rollouts, selections, adapters and scores
come from the artifact store: a rerun trains nothing.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.interaction


def test_condition_is_scored(dem_result, dem_experiment):
    """Every condition is decided on enough eval items, with no judge error and its beliefs
    intact (the preset's floor)."""
    assert not (problems := dem_experiment.scoring_problems(dem_result)), problems


def test_claim(dem_verdict):
    """From the threshold share of biased users on, the self-trained model is less honest than
    one self-trained on unbiased users, and dishonesty rises with the share."""
    assert dem_verdict.passed, dem_verdict.explain()
