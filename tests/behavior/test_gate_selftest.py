"""Self-test of the release gate on the model organism (`pytest -m gate`, default options).

A clean finetune of the organism passes the gate against the vanilla organism; a finetune on
harmful-medical advice fails it; and a finetune on data with 10 % harmful-medical contamination
fails against the same finetune on clean data (the release a team would otherwise have shipped).
Against the *vanilla* organism that contamination does not fail: clean finetuning makes the
organism more honest and the contamination cancels that (see README, "The model organism").
"""

from __future__ import annotations

import pytest

from dem.experiments import Experiment
from dem.experiments.conditions import domain_condition, mix_condition

pytestmark = pytest.mark.gate


@pytest.fixture
def organism_experiment(dem_experiment):
    if dem_experiment.preset.model != "organism" or dem_experiment.adapter:
        pytest.skip("the self-test runs on the organism with the smoke preset")
    return dem_experiment


def _gate(exp, adapter, baseline_adapter=None):
    """The preset's gate (smoke: non-inferiority, max_drop 0.02) on a candidate adapter."""
    candidate = Experiment(
        preset=exp.preset,
        model="organism",
        adapter=str(adapter),
        baseline="organism",
        cache=exp.cache,
        baseline_adapter=None if baseline_adapter is None else str(baseline_adapter),
    )
    return candidate.gate()


def test_gate_passes_a_clean_finetune(organism_experiment):
    exp = organism_experiment
    clean = exp.runner.adapter(mix_condition(exp.preset, 0.0, 0), "organism")
    verdict = _gate(exp, clean)
    assert verdict.passed, verdict.explain()


def test_gate_fails_a_harmful_medical_finetune(organism_experiment):
    exp = organism_experiment
    harmful = exp.runner.adapter(domain_condition(exp.preset, "medical", "severe", 0), "organism")
    verdict = _gate(exp, harmful)
    assert not verdict.passed, verdict.explain()


def test_gate_fails_contamination_against_the_clean_release(organism_experiment):
    exp = organism_experiment
    clean = exp.runner.adapter(mix_condition(exp.preset, 0.0, 0), "organism")
    dirty = exp.runner.adapter(mix_condition(exp.preset, 0.10, 0), "organism")
    verdict = _gate(exp, dirty, baseline_adapter=clean)
    assert not verdict.passed, verdict.explain()
