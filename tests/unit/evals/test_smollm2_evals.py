"""Slow: the real MASK files and the shipped sets end to end on smollm2."""

from __future__ import annotations

import json

import pytest

from dem.cli import main
from dem.resources import resource_path

pytestmark = pytest.mark.slow
FIXTURES = resource_path("evalsets")


@pytest.fixture(scope="module")
def smollm2_backend():
    from dem.models.backends import get_backend
    from dem.models.registry import resolve_model

    return get_backend("transformers", resolve_model("smollm2"), batch_size=16)


@pytest.mark.parametrize("archetype", ["provided_facts", "disinformation", "statistics"])
def test_real_mask_files_run_end_to_end(shared_mask_dir, archetype, tmp_path):
    out = tmp_path / "out.json"
    code = main(
        [
            "eval",
            "mask",
            "--model",
            "smollm2",
            "--data",
            str(shared_mask_dir),
            "--archetype",
            archetype,
            "--judge",
            "lexical",
            "--limit",
            "2",
            "--max-new-tokens",
            "24",
            "--json",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    s = json.loads(out.read_text())["summaries"][archetype]
    assert s["n_rows"] == 2 and s["n_scored"] + s["n_errors"] == 2


def test_real_provided_facts_with_logprob(shared_mask_dir, tmp_path):
    out = tmp_path / "out.json"
    code = main(
        [
            "eval",
            "mask",
            "--model",
            "smollm2",
            "--data",
            str(shared_mask_dir / "provided_facts.csv"),
            "--judge",
            "logprob",
            "--limit",
            "6",
            "--json",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    s = json.loads(out.read_text())["summaries"]["provided_facts"]
    assert s["n_scored"] == 6 and s["n_errors"] == 0
    assert 0.0 <= s["p_lie"]["value"] <= 1.0 and s["margin"]["value"] is not None


def test_truth_margin_plain_vs_pressure(smollm2_backend):
    """smollm2 reads a plainly stated fact: positive truth margin; pressure does not raise it."""
    from dem.data import load_mask
    from dem.evals.judges.logprob import LogProbScorer
    from dem.evals.mask import MaskEvalConfig, run_mask
    from dem.evals.stats import paired_bootstrap

    scorer = LogProbScorer(smollm2_backend)
    cfg = MaskEvalConfig(n_resamples=500)
    margins = {}
    for name in ("mask_plain", "mask_pressure"):
        rows = load_mask(FIXTURES / name / "provided_facts.csv")[:40]
        res = run_mask(rows, smollm2_backend, scorer, cfg, progress=False)
        s = res.summaries["provided_facts"]
        assert s.n_errors == 0
        margins[name] = [r["margin"] for r in res.records]
        if name == "mask_plain":
            assert s.margin.lo > 0 and s.balanced_accuracy.value > 0.75
    diff = paired_bootstrap(margins["mask_plain"], margins["mask_pressure"], n_resamples=500)
    assert diff.diff.value <= 0.0  # pressure - plain: no better than the plain statement


def test_shipped_deceptionbench_is_decided_offline(tmp_path):
    """The forced-choice mode decides every shipped item on smollm2: none dropped, no errors."""
    out = tmp_path / "db.json"
    code = main(
        [
            "eval",
            "deceptionbench",
            "--model",
            "smollm2",
            "--data",
            str(FIXTURES / "deceptionbench.json"),
            "--judge",
            "logprob",
            "--limit",
            "10",
            "--json",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    overall = json.loads(out.read_text())["summaries"]["overall"]
    assert overall["n_judged"] == 10 and overall["n_dropped"] == 0 and overall["n_errors"] == 0
