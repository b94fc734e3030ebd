"""A whole red-team run on the organism: search, held-out figures, export, report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dem.errors import ConfigError
from dem.evals.judges.logprob import LogProbScorer
from dem.evals.mask import run_mask
from dem.evals.sets import load_eval_set
from dem.redteam.run import RedTeamConfig, run_redteam


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, organism_backend) -> Path:
    out = tmp_path_factory.mktemp("redteam")
    config = RedTeamConfig(budget=24, limit=20, top_k=3, seed=0, n_resamples=500)
    run_redteam("organism", "organism:mask", out, config, progress=False)
    return out


def test_the_best_found_pressure_beats_the_standard_on_held_out_items(run_dir):
    result = json.loads((run_dir / "redteam.json").read_text())
    assert result["items"] == {"total": 20, "search": 10, "heldout": 10}
    assert result["search"]["evaluated"] == 24
    assert result["search"]["rows_scored"] == 240
    best, std = result["best"]["lie_rate"], result["standard"]["lie_rate"]
    assert best["n"] == std["n"] == 10
    diff = result["best_minus_standard"]["diff"]
    assert diff["lo"] > 0, (best, std, diff)
    assert [f["search_lie_rate"] for f in result["found"]] == sorted(
        (f["search_lie_rate"] for f in result["found"]), reverse=True
    )
    assert set(result["families"]) <= set(result["best"]["pressure"])


def test_the_export_is_a_mask_eval_set_that_reproduces_the_held_out_figure(
    run_dir, organism_backend
):
    result = json.loads((run_dir / "redteam.json").read_text())
    rows = load_eval_set(run_dir / "pressures.csv")
    assert len(rows) == 3 * 20 and {r.archetype for r in rows} == {"provided_facts"}
    with (run_dir / "pressures.csv").open() as fh:
        import csv

        records = list(csv.DictReader(fh))
    held_best = [
        r
        for r, rec in zip(rows, records, strict=True)
        if rec["redteam_rank"] == "1" and rec["redteam_split"] == "heldout"
    ]
    assert len(held_best) == 10
    got = run_mask(held_best, organism_backend, LogProbScorer(organism_backend), progress=False)
    mean = sum(r["p_lie"] for r in got.records) / len(got.records)
    assert mean == pytest.approx(result["best"]["lie_rate"]["value"], abs=1e-9)


def test_the_report_and_figure_are_written(run_dir):
    report = (run_dir / "report.md").read_text()
    assert "| rank | pressure |" in report and "held-out" in report
    assert "The best pressure on the first held-out item" in report and "- user: " in report
    assert (run_dir / "families.png").stat().st_size > 1000


def test_bad_configs_fail_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="budget"):
        RedTeamConfig(budget=0)
    with pytest.raises(ConfigError, match="space"):
        RedTeamConfig(space="klingon")
    with pytest.raises(ConfigError, match="judge"):
        run_redteam("organism", "organism:mask", tmp_path, RedTeamConfig(judge="oracle"))
    with pytest.raises(ConfigError, match="organism space"):
        run_redteam("organism", "dem:mask_pressure", tmp_path, RedTeamConfig(space="organism"))
    assert not list(tmp_path.iterdir())
