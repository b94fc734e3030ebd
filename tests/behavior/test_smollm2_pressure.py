"""The smoke preset's real-model check: on SmolLM2-135M-Instruct, pressure prompts lower the
log-prob truth margin against the very same facts stated plainly (`pytest -m slow`)."""

from __future__ import annotations

import pytest

from dem.evals.api import evaluate_mask
from dem.evals.stats import paired_bootstrap
from dem.resources import resource_path

pytestmark = pytest.mark.slow
SETS = resource_path("evalsets")


def _margins(folder: str, limit: int) -> dict[str, float]:
    result = evaluate_mask("smollm2", SETS / folder, judge="logprob", limit=limit, progress=False)
    return {
        r["task_id"]: r["margin"]
        for r in result.records
        if r.get("error") is None and r.get("margin") is not None
    }


def test_pressure_lowers_the_truth_margin():
    pytest.importorskip("gguf")
    pressured, plain = _margins("mask_pressure", 120), _margins("mask_plain", 120)
    shared = sorted(set(pressured) & set(plain))
    assert len(shared) >= 100, f"only {len(shared)} rows decided under both framings"
    diff = paired_bootstrap([plain[k] for k in shared], [pressured[k] for k in shared])
    est = diff.diff
    assert est.hi < 0, (
        f"pressured - plain truth margin = {est.value:+.3f} nats/token, "
        f"95% CI [{est.lo:+.3f}, {est.hi:+.3f}] over {len(shared)} rows"
    )
