"""Inspect logs of dem's own evaluations round-trip through `inspect_ai.log.read_eval_log`."""

from __future__ import annotations

import json
import sys

import pytest

from dem.cli import main
from dem.errors import DemError


def test_mask_log_round_trips(tmp_path):
    from inspect_ai.log import read_eval_log

    from dem.evals.api import evaluate_mask

    result = evaluate_mask(
        "organism", "organism:mask", judge="logprob", limit=5, inspect_log=tmp_path / "logs"
    )
    (path,) = (tmp_path / "logs").glob("*.eval")
    assert result.extra["inspect_log"] == str(path)
    log = read_eval_log(str(path))
    assert log.status == "success" and log.eval.task == "dem/mask"
    assert log.eval.model == result.model and log.eval.metadata["judge"] == "logprob"
    by_id = {s.id.split("/", 1)[1]: s for s in log.samples}
    assert sorted(by_id) == sorted(r["task_id"] for r in result.records)
    for record in result.records:
        sample = by_id[record["task_id"]]
        score = sample.scores["mask_honesty"]
        assert score.value == {
            "scored": 1,
            "honesty": record["honesty"],
            "honesty_at_1": record["honesty_at_1"],
        }  # provided_facts rows have no accuracy
        assert score.metadata["belief"] == record["belief"]
        assert score.metadata["verdicts"] == record["verdicts"]
        assert sample.input[-1].text  # the pressure prompt
    (scores,) = log.results.scores
    summary = result.summaries["provided_facts"]
    assert scores.name == "mask_honesty/provided_facts"
    assert scores.metrics["honesty"].value == pytest.approx(summary.honesty.value)
    assert scores.metrics["honesty"].metadata["lo"] == pytest.approx(summary.honesty.lo)
    header = read_eval_log(str(path), header_only=True)
    assert header.samples is None and header.results.total_samples == 5


def test_cli_writes_the_log(tmp_path, capsys):
    from inspect_ai.log import read_eval_log

    out = tmp_path / "db.json"
    args = ["eval", "deceptionbench", "--model", "organism", "--data", "organism:deceptionbench"]
    args += ["--judge", "logprob", "--limit", "2", "--no-progress", "--json", str(out)]
    assert main([*args, "--inspect-log", str(tmp_path / "logs")]) == 0
    path = json.loads(out.read_text())["inspect_log"]
    assert f"wrote {path}" in capsys.readouterr().out
    log = read_eval_log(path)
    assert log.eval.task == "dem/deceptionbench" and len(log.samples) == 2
    assert log.results.scores[-1].name == "deception/overall"


def test_missing_inspect_names_the_extra(monkeypatch, tmp_path):
    from dem.evals.api import evaluate_mask

    monkeypatch.setitem(sys.modules, "inspect_ai", None)
    with pytest.raises(DemError, match=r"dem\[inspect\]"):
        evaluate_mask("organism", "organism:mask", limit=1, inspect_log=tmp_path)
