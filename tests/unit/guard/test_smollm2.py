"""The guard's replay on the small real model (slow: smollm2 on CPU)."""

from __future__ import annotations

import pytest

from dem.guard.replay import ReplayConfig, replay

pytestmark = pytest.mark.slow


def test_with_the_facts_in_the_belief_context_risk_separates_lies_from_honest_answers():
    pytest.importorskip("gguf")
    config = ReplayConfig(answers="choice", belief_data="dem:mask_plain", n_resamples=500)
    result = replay("smollm2", "dem:mask_pressure", config=config, progress=False)
    assert result["labels"].get("lie", 0) >= 5
    assert result["risk_auc"] > 0.75
    assert result["false_abstentions"]["hi"] < 0.1
