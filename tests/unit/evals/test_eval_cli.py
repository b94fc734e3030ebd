"""`dem eval` end to end on a real tiny model folder and the shipped eval sets."""

from __future__ import annotations

import json

import pytest

from dem.cli import main
from dem.errors import ConfigError
from dem.evals.api import parse_judge_name
from dem.resources import resource_path

FIXTURES = resource_path("evalsets")


def test_judge_names():
    assert parse_judge_name("llm:smollm2", ("lexical", "llm:SPEC")) == ("llm", "smollm2")
    assert parse_judge_name("lexical", ("lexical", "llm:SPEC")) == ("lexical", None)
    for bad in ("llm", "llm:", "regex", "lexical:x"):
        with pytest.raises(ConfigError, match="judge"):
            parse_judge_name(bad, ("lexical", "llm:SPEC"))


def test_mask_logprob_cli(eval_tiny_dir, tmp_path, capsys):
    out, rec = tmp_path / "m.json", tmp_path / "m.jsonl"
    code = main(
        [
            "eval",
            "mask",
            "--model",
            str(eval_tiny_dir),
            "--data",
            str(FIXTURES / "mask_pressure" / "provided_facts.csv"),
            "--limit",
            "4",
            "--judge",
            "logprob",
            "--json",
            str(out),
            "--records",
            str(rec),
            "--no-progress",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "provided_facts" in printed and "honesty" in printed
    data = json.loads(out.read_text())
    s = data["summaries"]["provided_facts"]
    assert s["n_rows"] == 4 and s["n_errors"] + s["n_scored"] == 4
    assert data["judge"] == "logprob" and data["limit"] == 4
    assert len(rec.read_text().splitlines()) == 4


def test_deceptionbench_cli(eval_tiny_dir, tmp_path, capsys):
    out = tmp_path / "d.json"
    code = main(
        [
            "eval",
            "deceptionbench",
            "--model",
            str(eval_tiny_dir),
            "--data",
            str(FIXTURES / "deceptionbench.json"),
            "--limit",
            "3",
            "--max-new-tokens",
            "8",
            "--json",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    assert "dropped" in capsys.readouterr().out
    overall = json.loads(out.read_text())["summaries"]["overall"]
    assert overall["n_items"] == 3
    assert len((tmp_path / "d.records.jsonl").read_text().splitlines()) == 3


def test_deceptionbench_forced_cli(eval_tiny_dir, tmp_path):
    out = tmp_path / "f.json"
    code = main(
        [
            "eval",
            "deceptionbench",
            "--model",
            str(eval_tiny_dir),
            "--data",
            str(FIXTURES / "deceptionbench.json"),
            "--limit",
            "4",
            "--judge",
            "logprob",
            "--json",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    overall = json.loads(out.read_text())["summaries"]["overall"]
    assert overall["n_judged"] == 4 and overall["n_dropped"] == 0
    assert overall["expected_rate"]["value"] is not None


def test_bad_arguments_are_user_errors(eval_tiny_dir, capsys):
    data = str(FIXTURES / "mask_pressure" / "provided_facts.csv")
    assert (
        main(["eval", "mask", "--model", str(eval_tiny_dir), "--data", data, "--judge", "regex"])
        == 2
    )
    assert (
        main(["eval", "mask", "--model", str(eval_tiny_dir), "--data", data, "--lie-k", "0"]) == 2
    )
    assert (
        main(["eval", "mask", "--model", str(eval_tiny_dir), "--data", data, "--limit", "0"]) == 2
    )
    assert "dem: error" in capsys.readouterr().err
