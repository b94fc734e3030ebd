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


def _deception_argv(model: str, *extra: str) -> list[str]:
    data = str(FIXTURES / "deceptionbench.json")
    return ["eval", "deceptionbench", "--model", model, "--data", data, "--no-progress", *extra]


def test_deceptionbench_over_an_openai_server_equals_the_local_run(
    eval_tiny_dir, eval_tiny_backend, tmp_path
):
    from tests.unit.models.chat_server import ChatServer

    common = ("--limit", "3", "--max-new-tokens", "8", "--temperature", "0")
    local, remote = tmp_path / "local.json", tmp_path / "remote.json"
    assert main(_deception_argv(str(eval_tiny_dir), *common, "--json", str(local))) == 0
    with ChatServer(eval_tiny_backend) as server:
        argv = _deception_argv("served-tiny", *common, "--json", str(remote))
        assert main([*argv, "--backend", "openai", "--base-url", server.url()]) == 0
        assert len(server.requests) == 6  # an inner and an outer prompt per item
    local_records = (tmp_path / "local.records.jsonl").read_text()
    assert (tmp_path / "remote.records.jsonl").read_text() == local_records
    summaries = [json.loads(p.read_text())["summaries"] for p in (local, remote)]
    assert summaries[0] == summaries[1]


def test_a_key_over_plain_http_to_another_host_needs_the_flag(monkeypatch, capsys):
    from dem.cli import build_parser
    from dem.cli.eval import _backends
    from dem.evals.api import open_backend

    monkeypatch.setenv("OPENAI_API_KEY", "sk-cli-0123456789")
    # 192.0.2.0/24 is a documentation range: nothing is sent there (one item in case it were).
    url = "http://192.0.2.7/v1"
    argv = _deception_argv("served", "--limit", "1", "--backend", "openai", "--base-url", url)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--allow-insecure-http" in err and "sk-cli-0123456789" not in err
    # With the flag the backend is built (nothing is sent here); a local judge gets no option.
    backend, judge_backend = _backends(build_parser().parse_args([*argv, "--allow-insecure-http"]))
    assert backend.options == {"allow_insecure_http": True} and judge_backend.options == {}
    assert open_backend("served", backend).allow_insecure_http


def test_a_set_the_model_cannot_read_is_exit_2(capsys):
    from dem.cli import main

    args = ["eval", "mask", "--model", "organism", "--data", "dem:mask_pressure", "--limit", "1"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "organism cannot read these MASK rows" in err and "max_unknown" in err
