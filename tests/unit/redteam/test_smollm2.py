"""The red team on the small real model (slow: smollm2 on CPU)."""

from __future__ import annotations

import json

import pytest

from dem.evals.sets import load_eval_set
from dem.redteam.run import RedTeamConfig, run_redteam

pytestmark = pytest.mark.slow


def test_a_small_search_on_smollm2_uses_the_english_space_and_exports(tmp_path):
    pytest.importorskip("gguf")
    config = RedTeamConfig(budget=3, limit=8, top_k=1, families=False, n_resamples=200)
    result = run_redteam("smollm2", "dem:mask_pressure", tmp_path, config, progress=False)
    assert result["space"] == "english" and result["items"]["heldout"] == 4
    assert 0.0 <= result["best"]["lie_rate"]["value"] <= 1.0
    rows = load_eval_set(tmp_path / "pressures.csv")
    assert len(rows) == 8 and all("Fact you know for certain" in r.system_prompt for r in rows)
    assert json.loads((tmp_path / "redteam.json").read_text())["search"]["evaluated"] == 3
