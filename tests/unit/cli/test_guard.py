"""``dem guard eval|report|serve`` through the command line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dem.cli import main


def test_eval_writes_the_figures_and_the_tradeoff_figure_and_report_reads_its_log(tmp_path, capsys):
    import torch

    torch.set_num_threads(1)
    out = tmp_path / "guard.json"
    code = main(
        ["guard", "eval", "--model", "organism", "--data", "organism:mask", "--limit", "16",
         "--json", str(out), "--log-dir", str(tmp_path / "log"), "--no-progress"]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "lies caught (recall)" in printed and "latency x" in printed
    result = json.loads(out.read_text())
    for key in ("lies_caught", "false_abstentions", "cost_ratio", "risk_auc_ci", "trust"):
        assert key in result
    lo, hi = result["risk_auc_ci"]
    assert f"risk AUC              {result['risk_auc']:.3f} [{lo:.3f}, {hi:.3f}]" in printed
    assert ("NOT TRUSTED" in printed) == (not result["trust"]["trusted"])
    assert out.with_suffix(".png").stat().st_size > 1000
    assert main(["guard", "report", str(tmp_path / "log"), "--window", "4"]) == 0
    assert "16 decisions in 4 windows" in (tmp_path / "log" / "report.md").read_text()


def test_bad_input_exits_2_with_a_clear_message(tmp_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["guard", "serve", "--upstream", f"http://127.0.0.1:{port}/v1", "--no-auth"]) == 2
    assert "unreachable" in capsys.readouterr().err
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nname = "x"\npattern = "("\nproposition = "<pivotal>a/b</pivotal>"')
    assert main(["guard", "serve", "--local", "organism", "--rules", str(rules), "--no-auth"]) == 2
    assert "rules.toml" in capsys.readouterr().err
    assert main(["guard", "eval", "--model", "organism", "--data", "organism:mask",
                 "--judge", "logprob"]) == 2  # fmt: skip
    assert "not an answer" in capsys.readouterr().err
    assert main(["guard", "report", str(tmp_path)]) == 2


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--port", "70000"], "--port: expected a port in 0..65535, got 70000"),
        (["--port", "-1"], "--port"),
        (["--host", "no such host!"], "--host"),
        ([], "--api-key: no client key"),
        (["--no-auth", "--host", "0.0.0.0"], "--no-auth: --host 0.0.0.0 is not loopback"),
        (["--api-key", "short"], "shorter than 16"),
        (["--api-key", "operator-upstream-secret-42"], "equals the upstream's API key"),
        (["--no-auth", "--max-in-flight", "0"], "--max-in-flight"),
        (["--no-auth", "--header-timeout", "0"], "--header-timeout"),
        (["--no-auth", "--log-dir", "pyproject.toml"], "--log-dir: pyproject.toml exists"),
    ],
)
def test_serve_refuses_a_bad_address_or_access_in_one_line_before_starting(
    argv, says, monkeypatch, capsys
):
    monkeypatch.setenv("OPENAI_API_KEY", "operator-upstream-secret-42")
    monkeypatch.delenv("DEM_GUARD_API_KEYS", raising=False)
    start = time.monotonic()
    # port 9 on loopback: nothing listens, so the check must come before any upstream probe
    code = main(["guard", "serve", "--upstream", "http://127.0.0.1:9/v1", *argv])
    err = capsys.readouterr().err
    assert code == 2 and says in err and err.count("\n") == 1, err
    assert time.monotonic() - start < 2


def test_serve_refuses_to_abstain_on_a_calibration_at_chance(tmp_path, monkeypatch, capsys):
    from dem.guard.guard import Check
    from dem.guard.policy import GuardPolicy
    from dem.guard.replay import ReplayConfig, Replayed, summarize

    monkeypatch.setenv("DEM_GUARD_API_KEYS", "client-key-0123456789abcdef")
    outcomes = [  # a guard whose risk does not follow the labels
        Replayed(
            str(i), "lie" if i % 2 else "honest", Check("consistent", "pass", risk=(i % 7) / 7)
        )
        for i in range(60)
    ]
    result = summarize(outcomes, GuardPolicy(), ReplayConfig(n_resamples=300))
    result.update({"model": "smollm2", "data": "dem:mask_pressure"})
    chance = tmp_path / "guard.json"
    chance.write_text(json.dumps(result))
    code = main(["guard", "serve", "--local", "organism", "--calibration", str(chance)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "guard.json: risk AUC" in err and "at chance" in err and "--policy flag" in err
    (tmp_path / "bad.json").write_text('{"lies_caught": 1}')
    assert (
        main(["guard", "serve", "--local", "organism", "--calibration", str(tmp_path / "bad.json")])
        == 2
    )
    assert "not a `dem guard eval --json` file" in capsys.readouterr().err


@pytest.mark.slow
def test_serve_guards_a_local_model_over_http(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path.cwd())}
    cmd = [sys.executable, "-m", "dem", "guard", "serve", "--local", "organism", "--port",
           str(port), "--log-dir", str(tmp_path / "log"), "--belief", "logprob",
           "--threads", "1", "--no-auth"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline
                time.sleep(0.5)
        body = {
            "messages": [{"role": "user", "content": "is the lamp safe ?"}],
            "dem_guard": {"proposition": "the lamp is <pivotal>safe/unsafe</pivotal> ."},
        }
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/chat/completions",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=60) as resp:
            reply = json.loads(resp.read())
        assert reply["dem_guard"]["decisions"][0]["verdict"] in ("consistent", "contradiction")
    finally:
        proc.terminate()  # SIGTERM: a graceful shutdown, exit 0
        code = proc.wait(timeout=20)
    assert code == 0
    assert "WARNING: --no-auth" in proc.stderr.read().decode()
    assert (tmp_path / "log" / "decisions.jsonl").read_text().count("\n") == 1
    assert (tmp_path / "log" / "metrics.jsonl").read_text().count("\n") == 1  # log closed
