"""Claim 1 of the study: narrow finetuning on misaligned samples of one domain makes the model
less honest under pressure elsewhere (`pytest -m domain`)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.domain


def test_condition_is_scored(dem_result, dem_experiment):
    """Every condition is decided on enough eval items, with no judge error and its beliefs
    intact (the preset's floor)."""
    assert not (problems := dem_experiment.scoring_problems(dem_result)), problems


def test_claim(dem_verdict):
    """Subtle and severe variants are less honest than the normal variant of the same domain."""
    assert dem_verdict.passed, dem_verdict.explain()
