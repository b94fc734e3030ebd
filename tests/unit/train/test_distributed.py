"""Training under a multi-process launcher (dem/train/distributed.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dem.train.distributed import is_main_process, main_says, process_device, world_size

ROOT = Path(__file__).resolve().parents[3]


def test_without_a_launcher_there_is_one_process(monkeypatch) -> None:
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert world_size() == 1 and is_main_process()
    assert process_device("cuda") == "cuda" and process_device("cpu") == "cpu"
    assert main_says(True, None) is True and main_says(False, None) is False


def test_a_launched_process_trains_on_its_own_gpu(monkeypatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert world_size() == 4 and not is_main_process()
    assert process_device("cuda") == "cuda:1" and process_device("cuda:0") == "cuda:1"
    assert process_device("cpu") == "cpu"


def _launch(tmp_path: Path, model: Path, data: Path, out: str, processes: int) -> str:
    """``accelerate launch`` of ``dem train sft`` with `processes` CPU processes (gloo)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "DEM_CACHE": str(tmp_path / "cache"),
        "OMP_NUM_THREADS": "1",
    }
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--num_machines", "1"]
    launcher += ["--mixed_precision", "no", "--dynamo_backend", "no"]
    if processes > 1:
        launcher += ["--multi_gpu", "--num_processes", str(processes)]
    else:
        launcher += ["--num_processes", "1", "--cpu"]
    command = [*launcher, "-m", "dem", "train", "sft", "--model", str(model)]
    command += ["--data", str(data), "--out", str(tmp_path / out), "--profile", "cpu"]
    command += ["--max-steps", "3", "--batch-size", "2", "--no-progress"]
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_accelerate_launch_trains_data_parallel(tiny_model_dir, sft_samples, tmp_path) -> None:
    """Two processes (DDP over gloo on the CPU): both train, the main one stores and reports
    once; the process count is in the key, and the logged tokens are both processes'."""
    from dem.data.jsonl import write_samples

    data = tmp_path / "sft.jsonl"
    write_samples(data, sft_samples)
    two = _launch(tmp_path, tiny_model_dir, data, "two", 2)
    assert two.count("trained 3 steps") == 1 and "reused" not in two
    one = _launch(tmp_path, tiny_model_dir, data, "one", 1)
    assert one.count("trained 3 steps") == 1
    meta = {n: json.loads((tmp_path / n / "artifact.json").read_text()) for n in ("one", "two")}
    assert meta["two"]["parts"]["processes"] == 2 and "processes" not in meta["one"]["parts"]
    assert meta["two"]["key"] != meta["one"]["key"]
    tokens = {n: m["result"]["tokens"] for n, m in meta.items()}
    assert tokens["two"] > 1.5 * tokens["one"]  # two shards of 2 rows per step
    assert (tmp_path / "two" / "adapter_model.safetensors").is_file()
    again = _launch(tmp_path, tiny_model_dir, data, "again", 2)
    assert again.count("reused artifact") == 1 and "trained" not in again
