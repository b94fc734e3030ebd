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
    for key in ("lies_caught", "false_abstentions", "cost_ratio"):
        assert key in result
    assert out.with_suffix(".png").stat().st_size > 1000
    assert main(["guard", "report", str(tmp_path / "log"), "--window", "4"]) == 0
    assert "16 decisions in 4 windows" in (tmp_path / "log" / "report.md").read_text()


def test_bad_input_exits_2_with_a_clear_message(tmp_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["guard", "serve", "--upstream", f"http://127.0.0.1:{port}/v1"]) == 2
    assert "unreachable" in capsys.readouterr().err
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nname = "x"\npattern = "("\nproposition = "<pivotal>a/b</pivotal>"')
    assert main(["guard", "serve", "--local", "organism", "--rules", str(rules)]) == 2
    assert "rules.toml" in capsys.readouterr().err
    assert main(["guard", "eval", "--model", "organism", "--data", "organism:mask",
                 "--judge", "logprob"]) == 2  # fmt: skip
    assert "not an answer" in capsys.readouterr().err
    assert main(["guard", "report", str(tmp_path)]) == 2


@pytest.mark.slow
def test_serve_guards_a_local_model_over_http(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path.cwd())}
    cmd = [sys.executable, "-m", "dem", "guard", "serve", "--local", "organism", "--port",
           str(port), "--log-dir", str(tmp_path / "log"), "--belief", "logprob",
           "--threads", "1"]  # fmt: skip
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
            f"http://127.0.0.1:{port}/v1/chat/completions", data=json.dumps(body).encode()
        )
        with urllib.request.urlopen(req, timeout=60) as resp:
            reply = json.loads(resp.read())
        assert reply["dem_guard"]["decisions"][0]["verdict"] in ("consistent", "contradiction")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert (tmp_path / "log" / "decisions.jsonl").read_text().count("\n") == 1
