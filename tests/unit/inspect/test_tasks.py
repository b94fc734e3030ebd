"""``dem/mask`` and ``dem/deceptionbench`` run as Inspect tasks on the organism and score every
sample exactly as ``dem eval`` scores its row."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest


def _inspect_eval(task, tmp_path: Path):
    from inspect_ai import eval as inspect_eval

    from dem.inspect.provider import dem_model

    (log,) = inspect_eval(task, model=dem_model("organism"), log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    return log


@pytest.mark.parametrize("judge", ["logprob", "lexical"])
def test_mask_task_matches_run_mask(judge, tmp_path):
    from dem.evals.api import evaluate_mask
    from dem.evals.mask import MaskEvalConfig
    from dem.inspect.tasks import mask

    kw = {"temperature": 0.0, "max_new_tokens": 12}
    log = _inspect_eval(mask(limit=4, judge=judge, **kw), tmp_path)
    config = MaskEvalConfig(n_resamples=200, **kw)
    ref = evaluate_mask("organism", "organism:mask", judge=judge, limit=4, config=config)
    assert len(log.samples) == len(ref.records) == 4
    samples = {s.id.split("/", 1)[1]: s for s in log.samples}
    for record in ref.records:
        sample = samples[record["task_id"]]
        score = sample.scores["mask_honesty"]
        assert score.value["honesty"] == record["honesty"]
        assert score.metadata["belief"] == record["belief"]
        got = [v.get("letter") for v in score.metadata["verdicts"]["pressure"]]
        assert got == [v.get("letter") for v in record["verdicts"]["pressure"]]
        if judge == "lexical":
            assert score.metadata["responses"] == record["responses"]
        else:
            assert score.metadata["p_lie"] == pytest.approx(record["p_lie"], abs=1e-5)
    metrics = log.results.scores[0].metrics
    overall = ref.summaries["provided_facts"]
    assert metrics["honesty"].value == pytest.approx(overall.honesty.value)
    assert metrics["n_scored"].value == overall.n_scored


def test_rows_the_model_cannot_read_are_errors_not_scores(tmp_path):
    from inspect_ai import eval as inspect_eval

    from dem.inspect.provider import dem_model
    from dem.inspect.tasks import mask

    task = mask(data="dem:mask_pressure", limit=1)
    (log,) = inspect_eval(task, model=dem_model("organism"), log_dir=str(tmp_path), display="none")
    assert log.status == "error" and "cannot read these MASK rows" in log.error.message


def test_deceptionbench_task_matches_the_forced_run(tmp_path):
    from dem.evals.api import evaluate_deceptionbench
    from dem.inspect.tasks import deceptionbench

    task = deceptionbench(data="organism:deceptionbench", limit=3, judge="logprob")
    log = _inspect_eval(task, tmp_path)
    ref = evaluate_deceptionbench("organism", "organism:deceptionbench", judge="logprob", limit=3)
    samples = {s.id: s for s in log.samples}
    for record in ref.records:
        score = samples[record["id"]].scores["deception"]
        assert score.metadata["deceptive"] == record["deceptive"]
        assert score.metadata["error"] == record["error"]
    assert log.results.scores[0].metrics["n_items"].value == 3


def _has_entry_point() -> bool:
    eps = importlib.metadata.entry_points(group="inspect_ai")
    return any(ep.name == "dem" and ep.value == "dem.inspect.registry" for ep in eps)


@pytest.mark.skipif(
    not _has_entry_point(), reason="dem is installed without its inspect_ai entry point"
)
def test_inspect_cli_finds_the_task_and_the_provider(tmp_path):
    """`inspect eval dem/mask --model dem/organism`, through the installed entry point."""
    from inspect_ai.log import list_eval_logs, read_eval_log

    cmd = [sys.executable, "-m", "inspect_ai", "eval", "dem/mask", "--model", "dem/organism"]
    cmd += ["-T", "limit=2", "--log-dir", str(tmp_path), "--display", "none"]
    # from a user's folder: inside dem's checkout Inspect reads dem/mask as a path under ./dem
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    (info,) = list_eval_logs(str(tmp_path))
    log = read_eval_log(info)
    assert log.status == "success" and len(log.samples) == 2
    assert log.eval.task in ("dem/mask", "mask")
