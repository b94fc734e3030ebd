"""A hub model on a machine that cannot reach the hub: a fast, clear error, or the local copy."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _offline_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env.update(
        HF_ENDPOINT=f"http://127.0.0.1:{_closed_port()}",
        HF_HUB_CACHE=str(tmp_path / "hub"),
        DEM_CACHE=str(tmp_path / "dem-cache"),
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
    )
    return env


def test_an_unreachable_hub_id_fails_in_seconds_with_exit_2(tmp_path):
    env = _offline_env(tmp_path)
    cmd = [sys.executable, "-m", "dem", "eval", "mask", "--model", "someorg/some-model"]
    start = time.perf_counter()
    proc = subprocess.run(
        [*cmd, "--data", "organism:mask", "--limit", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.perf_counter() - start
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "someorg/some-model is not in the local hub cache" in lines[0]
    assert f"{env['HF_ENDPOINT']} is unreachable" in lines[0]
    assert elapsed < 5, f"took {elapsed:.1f} s"


def test_offline_mode_without_a_cached_copy_is_the_same_error(tmp_path, monkeypatch):
    from huggingface_hub import constants

    from dem.errors import ConfigError
    from dem.models.loading import hub_offline
    from dem.models.spec import ModelSpec

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ConfigError, match="cannot be downloaded: HF_HUB_OFFLINE is set"):
        hub_offline(ModelSpec("someorg/some-model"))


def _cache_as_hub_model(folder: Path, hub: Path, repo: str) -> None:
    """Lay `folder` out as huggingface_hub's cache of `repo` at revision main."""
    commit = "0" * 40
    entry = hub / f"models--{repo.replace('/', '--')}"
    (entry / "refs").mkdir(parents=True)
    (entry / "refs" / "main").write_text(commit)
    shutil.copytree(folder, entry / "snapshots" / commit)


def test_a_cached_hub_model_loads_without_the_network(tmp_path, tiny_dir):
    """Unreachable hub, model in the hub cache: it loads from there at once (no retries)."""
    env = _offline_env(tmp_path)
    _cache_as_hub_model(tiny_dir, Path(env["HF_HUB_CACHE"]), "someorg/tiny")
    script = (
        "import time; start = time.perf_counter()\n"
        "from dem.models.loading import hub_offline, load_model\n"
        "from dem.models.spec import ModelSpec\n"
        "spec = ModelSpec('someorg/tiny', dtype='float32', device='cpu')\n"
        "assert hub_offline(spec)\n"
        "model, tok = load_model(spec)\n"
        "print(type(model).__name__, len(tok), round(time.perf_counter() - start, 1))\n"
    )
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("LlamaForCausalLM ")
    assert "Retrying" not in proc.stderr
    assert elapsed < 30, f"took {elapsed:.1f} s"  # a retry loop alone takes about 50 s


def test_the_gate_refuses_an_unreachable_hub_id_before_the_baseline_runs(tmp_path):
    """`check_model_name` probes the hub when the experiment is created, so `dem gate` stops
    in seconds instead of after scoring the baseline."""
    env = _offline_env(tmp_path)
    cmd = [sys.executable, "-m", "dem", "-q", "gate", "--model", "organism"]
    cmd += ["--baseline", "someorg/released", "--cache", str(tmp_path / "cache")]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 2, proc.stderr
    first = proc.stderr.splitlines()[0]
    assert first.startswith("dem: error: --baseline: someorg/released is not in the local")
    assert elapsed < 5, f"took {elapsed:.1f} s"
    assert not (tmp_path / "cache" / "artifacts").exists()  # nothing was built
