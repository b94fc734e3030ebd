"""`dem interact run|monitor` on the shipped organism with a small population."""

from __future__ import annotations

import json

import pytest

from dem.cli import main


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    torch.set_num_threads(1)


def test_run_then_monitor(tmp_path, capsys):
    out = tmp_path / "run.json"
    args = ["interact", "run", "--biased", "0.5", "--users", "24", "--trainer", "sft"]
    args += ["--cache", str(tmp_path / "cache"), "--json", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "| biased | 12 |" in printed and "| benign | 12 |" in printed
    assert "interact-vanilla" in printed and "interact-sft-50pct-seed0" in printed
    data = json.loads(out.read_text())
    assert data["spec"]["users"] == 24 and data["spec"]["biased_fraction"] == 0.5
    lie = {r["condition_id"]: r["metrics"]["lie_rate"] for r in data["results"]}
    assert set(lie) == {"interact-vanilla", "interact-sft-50pct-seed0"}
    rollout = data["iterations"][0]["rollout"]

    report = tmp_path / "monitor.json"
    assert main(["interact", "monitor", rollout, "--json", str(report)]) == 0
    assert "precision" in capsys.readouterr().out
    got = json.loads(report.read_text())
    assert got["users"] == 24 and got["true_biased_fraction"] == 0.5
    assert got["precision"] == 1.0


def test_bad_share_is_a_usage_error(tmp_path, capsys):
    args = ["interact", "run", "--biased", "1.5", "--cache", str(tmp_path)]
    assert main(args) == 2
    assert "biased_fraction" in capsys.readouterr().err


def test_monitor_of_a_folder_without_rollouts(tmp_path, capsys):
    assert main(["interact", "monitor", str(tmp_path)]) == 2
    assert "trajectories.jsonl" in capsys.readouterr().err
